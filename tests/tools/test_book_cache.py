"""The book's execution step: what its key covers, and which pages it runs."""

from __future__ import annotations

import re
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


# --------------------------------------------------------------------------------------------
# execution: pages run one after another in a warm kernel, exactly as each would in a new kernel

FRONT = "---\nkernelspec:\n  display_name: Python 3\n  language: python\n  name: python3\n---\n\n# {title}\n\n"
PAGES = {
    # a first page that leaves a variable, an open figure and a changed folder behind
    "first.md": ("import os, json\nimport matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
                 "left_behind = 41\nplt.figure()\nos.chdir('/')\nprint('first ran')",
                 "left_behind + 1"),
    # a second page, in another folder, that looks for what the first left
    "sub/second.md": ("import os, sys\nimport matplotlib.pyplot as plt\n"
                      "print('left_behind' in globals(), len(plt.get_fignums()), os.path.basename(os.getcwd()))",
                      "6 * 7"),
}


def _write_pages(root: Path) -> list[Path]:
    pages = []
    for name, cells in PAGES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        body = "".join(f"```{{code-cell}} ipython3\n{code}\n```\n\n" for code in cells)
        path.write_text(FRONT.format(title=name) + body, encoding="utf-8")
        pages.append(path)
    return pages


def _outputs(store) -> dict[str, list]:
    return {Path(r.uri).name: [(c.get("execution_count"), c.get("outputs")) for c in
                               store.get_cache_bundle(r.pk).nb.cells if c.cell_type == "code"]
            for r in store.list_cache_records()}


def test_pages_run_in_one_warm_kernel_give_what_a_new_kernel_gives(tmp_path, capfd):
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn
    from jupyter_cache.executors.utils import single_nb_execution

    pages = _write_pages(tmp_path / "book")
    report = book_cache.execute(pages, tmp_path / "warm", timeout=120, workers=1)  # one kernel runs both
    assert sorted(Path(u).name for u in report.executed) == ["first.md", "second.md"]
    # the lanes' kernels talk over local sockets (IPC), so the kernel prints no warning into the build's log
    captured = capfd.readouterr()
    assert "WARNING" not in captured.err and "without encryption" not in captured.err + captured.out
    warm = _outputs(get_cache(str(tmp_path / "warm")))

    fresh_store = get_cache(str(tmp_path / "fresh"))  # the reference: a new kernel per page, jupyter-cache's way
    for page in pages:
        record = fresh_store.add_nb_to_project(str(page.resolve()), read_data=book_cache.READ_DATA)
        nb = fresh_store.get_project_notebook(record.pk).nb
        result = single_nb_execution(nb, cwd=str(page.parent), timeout=120, allow_errors=False)
        assert result.err is None
        fresh_store.cache_notebook_bundle(CacheBundleIn(nb, record.uri), check_validity=False, overwrite=True)
    fresh = _outputs(fresh_store)

    assert warm == fresh
    # and each page is found in the cache as myst-nb reads it, so Sphinx renders it without running it
    store = get_cache(str(tmp_path / "warm"))
    for record in store.list_project_records():
        assert store.match_cache_notebook(store.get_project_notebook(record.pk).nb).uri == record.uri
    # and what that means: no variable, no figure and no folder carried over, the counter restarted
    second = warm["second.md"]
    assert second[0][1][0]["text"] == "False 0 sub\n"
    assert [count for count, _ in second] == [1, 2] and second[1][1][0]["execution_count"] == 2


def test_a_failing_page_stops_the_step_naming_the_page_with_its_traceback(tmp_path):
    import pytest

    page = tmp_path / "broken.md"
    page.write_text(FRONT.format(title="broken") + "```{code-cell} ipython3\nraise ValueError('no such table')\n```\n",
                    encoding="utf-8")
    with pytest.raises(book_cache.PageError) as raised:
        book_cache.execute([page], tmp_path / "cache", timeout=120, workers=2)
    message = re.sub(r"\x1b\[[0-9;]*m", "", str(raised.value))  # the traceback keeps IPython's colours
    assert message.splitlines()[0].endswith("broken.md failed to execute:")
    assert "raise ValueError('no such table')" in message and "ValueError: no such table" in message
