"""Pre-execution into Jupyter Book's cache (analysis.execute), on a small copy of the book's layout."""

from __future__ import annotations

import shutil

import pytest
from jupyter_cache import get_cache

from analysis import execute, paths


def page(title: str, code: str) -> str:
    return f"{execute.FRONT_MATTER}# {title}\n\nSome prose.\n\n```{{code-cell}} ipython3\n{code}\n```\n"


@pytest.fixture
def book(tmp_path):
    shutil.copy(paths.ROOT / "_config.yml", tmp_path / "_config.yml")
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: book/index\nparts:\n  - caption: Part\n    chapters:\n"
        "      - file: book/chapter\n      - file: book/profiles/index\n        sections:\n"
        "          - glob: book/profiles/*\n"
    )
    (tmp_path / "book" / "profiles").mkdir(parents=True)
    (tmp_path / "book" / "index.md").write_text("# Home\n\nNo code here.\n")
    (tmp_path / "book" / "chapter.md").write_text(
        page("Chapter", "from myst_nb import glue\nglue('answer', str(6 * 7), display=False)"))
    (tmp_path / "book" / "profiles" / "index.md").write_text(page("Profiles", "n = 1"))
    (tmp_path / "book" / "profiles" / "one.md").write_text(
        page("One", "from myst_nb import glue\nglue('name', 'one', display=False)"))
    return tmp_path


def cache_of(book):
    return get_cache(execute.execution_config(book)["cache"])


def glued(book, relpath: str) -> dict[str, str]:
    """Glue keys and their text values in the cached outputs of one page."""
    _, nb = cache_of(book).merge_match_into_notebook(execute.read(book / relpath))
    out = {}
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            if "scrapbook" in o.get("metadata", {}):
                out[o.metadata["scrapbook"]["name"]] = o.data["application/papermill.record/text/plain"]
    return out


def test_only_notebooks_of_the_contents_are_pages(book):
    names = [p.relative_to(book).as_posix() for p in execute.notebook_pages(book)]
    assert names == ["book/chapter.md", "book/profiles/index.md", "book/profiles/one.md"]  # not the prose-only root


def test_pages_run_once_then_come_from_the_cache(book):
    first = execute.execute_pages(book, workers=2)
    assert first.executed == ["book/chapter.md", "book/profiles/index.md", "book/profiles/one.md"]
    assert glued(book, "book/chapter.md") == {"answer": "'42'"}
    assert glued(book, "book/profiles/one.md") == {"name": "'one'"}

    again = execute.execute_pages(book)
    assert again.executed == [] and len(again.cached) == 3

    chapter = book / "book" / "chapter.md"
    chapter.write_text(chapter.read_text().replace("Some prose.", "Other prose."))
    assert execute.execute_pages(book).executed == []  # prose does not force execution

    one = book / "book" / "profiles" / "one.md"
    one.write_text(one.read_text().replace("'one'", "'uno'"))
    edited = execute.execute_pages(book)
    assert edited.executed == ["book/profiles/one.md"]
    assert glued(book, "book/profiles/one.md") == {"name": "'uno'"}


def test_a_failing_page_stops_naming_the_page_with_its_traceback(book):
    (book / "book" / "profiles" / "one.md").write_text(page("One", "raise ValueError('planted failure')"))
    with pytest.raises(execute.PageError, match=r"(?s)profiles/one\.md: code cell \d+ raised ValueError.*planted"):
        execute.execute_pages(book)


def test_nothing_a_page_does_reaches_another(book):
    # the first page changes a module every page imports; each page has its own process
    (book / "book" / "chapter.md").write_text(page("Chapter", "import json\njson.planted = 1"))
    (book / "book" / "profiles" / "index.md").write_text(
        page("Profiles", "import json\nassert not hasattr(json, 'planted')"))
    (book / "book" / "profiles" / "one.md").write_text(page("One", "assert 'json' not in dir()"))
    assert len(execute.execute_pages(book, workers=1).executed) == 3


def test_a_page_that_runs_too_long_stops_the_step(book):
    config = book / "_config.yml"
    config.write_text(config.read_text().replace("timeout: 900", "timeout: 2"))
    (book / "book" / "profiles" / "one.md").write_text(page("One", "import time\ntime.sleep(60)"))
    with pytest.raises(execute.PageError, match=r"profiles/one\.md: no result after 2 s"):
        execute.execute_pages(book)


def test_the_config_must_use_the_cache(book):
    config = book / "_config.yml"
    config.write_text(config.read_text().replace("execute_notebooks: cache", "execute_notebooks: force"))
    with pytest.raises(ValueError, match="execute_notebooks must be 'cache'"):
        execute.execution_config(book)
