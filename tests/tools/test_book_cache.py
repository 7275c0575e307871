"""The book's execution step: what its key covers, and which pages it runs."""

from __future__ import annotations

from pathlib import Path

from analysis import cache, paths
from tools import book_cache


def _covered(parts: tuple[str, ...]) -> set[str]:
    package = paths.ROOT / "analysis"
    return {p.relative_to(package).as_posix() for p in package.rglob("*.py")
            if "__pycache__" not in p.parts and p.relative_to(package).as_posix().startswith(parts)}


def test_the_key_covers_every_module_a_page_can_import_and_no_build_tool():
    every = _covered(("",))
    assert _covered(book_cache.PAGE_CODE) == every - {"__main__.py"}
    assert any(f.startswith("pages/") for f in every) and any(f.startswith("attribution/") for f in every)
    # the build tools live outside the package, so the key's code digest never reads them
    assert not any(Path(f).parts[0] == "tools" for f in every)
    assert (paths.ROOT / "tools" / "bench.py").exists()


def test_the_key_changes_when_a_page_module_changes(monkeypatch):
    before = cache.code_digest(book_cache.PAGE_CODE)
    real = cache._hash_files

    def with_an_edit(files, base):
        hashes = real(files, base)
        return {k: ("edited" if k == "pages/ch03.py" else v) for k, v in hashes.items()}

    monkeypatch.setattr(cache, "_hash_files", with_an_edit)
    assert cache.code_digest(book_cache.PAGE_CODE) != before


def test_the_notebook_pages_are_the_chapters_and_appendices_not_the_profiles():
    pages = [p.relative_to(paths.ROOT).as_posix() for p in book_cache.notebook_pages()]
    assert "book/ch03-structures-roles.md" in pages and "book/appendix-methods.md" in pages
    assert not any(p.startswith("book/profiles/") for p in pages)
    assert "book/downloads.md" not in pages  # plain MyST: it includes the build's tables, runs no code
