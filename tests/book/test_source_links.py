"""In the built book, every figure and table of an executed page links to the code that made it,
and every figure offers the data it plots as a CSV (issue 11, point 4)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from analysis import paths
from tools import book_cache

pytestmark = pytest.mark.book

HTML = paths.ROOT / "_build" / "html"


def executed_pages() -> list[Path]:
    return [HTML / p.relative_to(paths.ROOT).with_suffix(".html") for p in book_cache.notebook_pages()]


def _soup(page: Path):
    from bs4 import BeautifulSoup

    return BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")


def _check_source(page: Path, line) -> str:
    link = line.find("a", class_="cpp-source")
    assert link is not None, f"{page.name}: no link to the code that made it: {line}"
    target, _, anchor = link["href"].partition("#")
    source = (page.parent / target).resolve()
    assert source.exists(), f"{page.name}: {link['href']} does not exist"
    assert _soup(source).find(id=anchor) is not None, f"{page.name}: {link['href']} has no anchor {anchor!r}"
    return link.get_text()


def test_every_figure_links_to_its_maker_and_offers_its_data():
    checked = 0
    for page in executed_pages():
        for figure in _soup(page).find_all("figure"):
            if figure.find("img") is None:
                continue
            line = figure.find(class_="cpp-provenance")
            assert line is not None, f"{page.name}: figure {figure.get('id')} has no source or data line"
            _check_source(page, line)
            download = line.find("a", class_="download")
            assert download is not None, f"{page.name}: figure {figure.get('id')} offers no CSV"
            data = (page.parent / download["href"]).resolve()
            rows = list(csv.DictReader(io.StringIO(data.read_text(encoding="utf-8"))))
            assert rows, f"{page.name}: {download['href']} holds no rows"
            checked += 1
    assert checked >= 25, f"only {checked} figures checked"


def test_every_table_links_to_its_maker():
    checked = 0
    for page in executed_pages():
        for table in _soup(page).find_all("table", class_="cpp-table"):
            line = table.find_next(class_="cpp-provenance")
            assert line is not None, f"{page.name}: a table has no source line"
            assert "analysis.pages." in _check_source(page, line)
            checked += 1
    assert checked >= 20, f"only {checked} tables checked"


def test_the_source_pages_are_offline_and_highlighted():
    modules = HTML / "_modules" / "analysis" / "pages"
    page = modules / "ch03.html"
    text = page.read_text(encoding="utf-8")
    assert "def ch03(" in _soup(page).get_text()
    assert 'class="highlight"' in text and "viewcode-block" in text
    assert "https://" not in "".join(tag.get("src", "") for tag in _soup(page).find_all("script"))
