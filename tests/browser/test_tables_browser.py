"""The book's tables: what ``tables.html_table`` writes, and what a reader meets in a browser.

The first tests check the renderer on small frames (no book needed). The others (marked ``slow``,
skipped until ``make book`` has built ``_build/html``) load the built book in Debian's Chromium,
as ``tests/browser/test_browser.py`` does, and check:

- at 1366 px wide no table on any page scrolls sideways or sticks out of the text column;
- at 390 px (a phone) no page is wider than the screen, and every box that scrolls can be reached
  by keyboard (tabindex=0), has a role and a name, and shows where focus is;
- the evidence ledger's filters (chapter, outcome, design, area, verdict) show exactly the rows
  whose cell holds the chosen value, alone and combined, compared with the table's own cells and
  with the table in the HTML file; sorting orders numbers as numbers and text as text, and marks
  the sorted header with aria-sort; the controls work from the keyboard alone; the status line
  (a live region) says "n of N rows shown"; without JS the whole table is there;
- axe-core finds no serious or critical WCAG 2.1 A/AA violation on the ledger page with the
  controls in use, wide and narrow.
"""

from __future__ import annotations

import html
import json
import math
import re
from html.parser import HTMLParser

import pandas as pd
import pytest

from analysis import paths
from analysis.pages import tables
from tools import downloads

HTML = paths.ROOT / "_build" / "html"
LEDGER_PAGE = "book/attribution.html"
LEDGER = "table.cpp-table[data-cpp-filters]"
LEDGER_FILTERS = {"chapter", "outcome", "design", "area", "verdict"}
WIDE, NARROW = {"width": 1366, "height": 900}, {"width": 390, "height": 844}
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

built = pytest.mark.book


# --------------------------------------------------------------------------------------------
# the renderer


class _Cells(HTMLParser):
    """The header names, the cells' text and attributes of the tables in an HTML text."""

    def __init__(self):
        super().__init__()
        self.tables: list[dict] = []
        self._cell: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self.tables.append({"attrs": attrs, "head": [], "rows": []})
        elif tag == "tr" and self.tables:
            self.tables[-1]["rows"].append([])
        elif tag in ("th", "td") and self.tables:
            self._cell = {"tag": tag, "attrs": attrs, "text": ""}

    def handle_endtag(self, tag):
        if tag in ("th", "td") and self._cell is not None:
            cell, self._cell = self._cell, None
            cell["text"] = " ".join(cell["text"].split())
            table = self.tables[-1]
            (table["head"] if tag == "th" else table["rows"][-1]).append(cell)
        elif tag == "table" and self.tables:
            self.tables[-1]["rows"] = [r for r in self.tables[-1]["rows"] if r]

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data


def parse_tables(text: str) -> list[dict]:
    parser = _Cells()
    parser.feed(text)
    return parser.tables


def test_html_table_keeps_every_cell_and_marks_headers():
    df = pd.DataFrame({"name": ["a <b> & c", "scotpho_alcohol_specific_death_rate", None],
                       "n": [1, 20, 3], "share": [0.5, float("nan"), 1234.5]})
    (table,) = parse_tables(tables.html_table(df))
    assert [h["text"] for h in table["head"]] == ["name", "n", "share"]
    assert all(h["attrs"]["scope"] == "col" for h in table["head"])
    assert [[c["text"] for c in row] for row in table["rows"]] == [
        ["a <b> & c", "1", "0.5"], ["scotpho_alcohol_specific_death_rate", "20", ""], ["", "3", "1,234"]]
    # a long identifier may break after "_"; the break adds no text
    assert "scotpho_<wbr>alcohol_<wbr>specific_<wbr>death_<wbr>rate" in tables.html_table(df)
    assert "data-cpp-sortable" not in tables.html_table(df)


def test_numeric_columns_carry_sort_keys():
    df = pd.DataFrame({"estimate": ["0.57", "-120", "1,712", ""], "p": ["< 0.001", "0.117", "0.001", ""],
                       "interval": ["-0.146 to 1.29", "-2 to 3", "", "10 to 11"], "chapter": [5, 1, 10, 2],
                       "claim": ["x-its:S1", "2 partners", "a", "b"]})
    (table,) = parse_tables(tables.html_table(df, sortable=True))
    types = {h["text"]: h["attrs"]["data-cpp-type"] for h in table["head"]}
    assert types == {"estimate": "number", "p": "number", "interval": "number", "chapter": "number",
                     "claim": "text"}
    keys = {h["text"]: [row[i]["attrs"].get("data-sort-value") for row in table["rows"]]
            for i, h in enumerate(table["head"])}
    assert [None if k is None else float(k) for k in keys["estimate"]] == [0.57, -120.0, 1712.0, None]
    p = [None if k is None else float(k) for k in keys["p"]]
    assert p[0] < 0.001 == p[2] < p[1] and p[3] is None  # "< 0.001" sorts just below 0.001
    assert [None if k is None else float(k) for k in keys["interval"]] == [-0.146, -2.0, None, 10.0]
    assert [float(k) for k in keys["chapter"]] == [5, 1, 10, 2]
    assert keys["claim"] == [None] * 4


def test_options_are_written_for_the_script():
    df = pd.DataFrame({"chapter": [1, 2], "verdict": ["a", "b"], "what is claimed": ["x" * 50, "y" * 60]})
    out = tables.html_table(df, label="The ledger", sortable=True, filters=["chapter", "verdict"])
    (table,) = parse_tables(out)
    assert table["attrs"]["aria-label"] == "The ledger"
    assert "data-cpp-sortable" in table["attrs"]
    assert json.loads(html.unescape(table["attrs"]["data-cpp-filters"])) == ["chapter", "verdict"]
    assert [h["attrs"]["data-cpp-column"] for h in table["head"]] == ["chapter", "verdict", "what is claimed"]
    assert table["head"][2]["attrs"]["class"] == "cpp-prose"  # long text: a whole line when stacked
    assert out.startswith('<div class="cpp-table-scroll">')


def test_a_filter_must_name_a_column():
    with pytest.raises(ValueError, match="no column"):
        tables.html_table(pd.DataFrame({"a": [1]}), filters=["outcome"])


# --------------------------------------------------------------------------------------------
# in the browser


def pages() -> list[str]:
    return [*(f"{d}.html" for d in downloads.toc_docnames()), "search.html", "genindex.html"]


@pytest.fixture(scope="module")
def base_url():
    with downloads.serve(HTML) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=downloads.chromium_path(), args=downloads.CHROMIUM_ARGS,
                                     headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, base_url):
    """A fresh page at 1366 px; its script errors fail the test."""
    context = browser.new_context(viewport=WIDE)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.base_url = base_url
    yield page
    context.close()
    assert not errors, f"script errors: {errors}"


#: Tables that stick out of their scrolling box or of the text column, in the page as it is shown.
WIDE_TABLES = """() => {
  const article = document.querySelector('article.bd-article');
  const right = article ? article.getBoundingClientRect().right : document.documentElement.clientWidth;
  const found = [];
  for (const table of document.querySelectorAll('article table')) {
    if (!table.getClientRects().length) continue;
    for (let box = table.parentElement; box && box !== article; box = box.parentElement) {
      const style = getComputedStyle(box);
      if (['auto', 'scroll'].includes(style.overflowX) && box.scrollWidth > box.clientWidth + 1) {
        found.push(`${table.getAttribute('aria-label') || table.tHead?.textContent.trim().slice(0, 40)}: `
                   + `${box.scrollWidth} px in a ${box.clientWidth} px box`);
      }
    }
    const r = table.getBoundingClientRect().right;
    if (r > right + 1) found.push(`${table.tHead?.textContent.trim().slice(0, 40)}: right edge ${r} > ${right}`);
  }
  return found;
}"""

#: Every box on the page that scrolls (either way), with what makes it reachable and named.
SCROLL_BOXES = """() => {
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const style = getComputedStyle(el);
    const x = ['auto', 'scroll'].includes(style.overflowX) && el.scrollWidth > el.clientWidth;
    const y = ['auto', 'scroll'].includes(style.overflowY) && el.scrollHeight > el.clientHeight;
    if (!(x || y) || !el.getClientRects().length || style.visibility === 'hidden') continue;
    el.setAttribute('data-test-box', String(out.length));
    out.push({what: el.tagName + '.' + String(el.className).slice(0, 40), tabindex: el.getAttribute('tabindex'),
              role: el.getAttribute('role'),
              name: el.getAttribute('aria-label') || (el.getAttribute('aria-labelledby') || '').split(/\\s+/)
                .map(id => document.getElementById(id)?.textContent || '').join(' ').trim()});
  }
  return out;
}"""

FOCUS_SHOWN = """(el) => {
  const style = getComputedStyle(el);
  return document.activeElement === el && el.matches(':focus-visible')
    && ((style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0) || style.boxShadow !== 'none');
}"""


@pytest.mark.slow
@built
def test_no_table_scrolls_sideways_at_1366_px(browser, base_url):
    context = browser.new_context(viewport=WIDE)
    found = {}
    for name in pages():
        page = context.new_page()
        page.goto(base_url + name, wait_until="networkidle")
        wide = page.evaluate(WIDE_TABLES)
        if wide:
            found[name] = wide
        page.close()
    context.close()
    assert not found, "tables that need sideways scrolling at 1366 px:\n" + json.dumps(found, indent=1)


@pytest.mark.slow
@built
def test_no_page_overflows_at_390_px_and_scrolling_boxes_take_focus(browser, base_url):
    context = browser.new_context(viewport=NARROW)
    overflow, unreachable = {}, {}
    for name in pages():
        page = context.new_page()
        page.goto(base_url + name, wait_until="networkidle")
        width = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        if width[0] > width[1]:
            overflow[name] = width
        # unfold the folded code cells, as a reviewer would: their code must then be usable too
        page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
        for i, box in enumerate(page.evaluate(SCROLL_BOXES)):
            problems = [p for p, bad in (("no tabindex=0", box["tabindex"] != "0"), ("no role", not box["role"]),
                                         ("no name", not box["name"])) if bad]
            if not problems:
                element = page.locator(f"[data-test-box='{i}']")
                page.keyboard.press("Shift")  # the last input was a key: focus is shown as for Tab
                element.focus()
                if not element.evaluate(FOCUS_SHOWN):
                    problems.append("focus not visible")
            if problems:
                unreachable.setdefault(name, []).append(f"{box['what']}: {', '.join(problems)}")
        page.close()
    context.close()
    assert not overflow, f"pages wider than a 390 px screen (scrollWidth, clientWidth): {overflow}"
    assert not unreachable, "scrolling boxes a keyboard cannot use:\n" + json.dumps(unreachable, indent=1)


# --------------------------------------------------------------------------------------------
# the evidence ledger


def static_ledger() -> dict:
    """The ledger as the HTML file holds it (what a reader without JS gets)."""
    tables = [t for t in parse_tables((HTML / LEDGER_PAGE).read_text(encoding="utf-8"))
              if "data-cpp-filters" in t["attrs"]]
    assert len(tables) == 1, "the ledger page should hold one filterable table"
    return tables[0]


#: The enhanced table in the page: column names, every row's cells (in the table's current order,
#: with whether it is shown) and the status line.
READ = """(selector) => {
  const table = document.querySelector(selector);
  const cells = row => [...row.cells].map(c => c.textContent.replace(/\\s+/g, ' ').trim());
  return {
    columns: [...table.tHead.rows[0].cells].map(th => th.getAttribute('data-cpp-column')),
    sorted: [...table.tHead.rows[0].cells].filter(th => th.hasAttribute('aria-sort'))
      .map(th => [th.getAttribute('data-cpp-column'), th.getAttribute('aria-sort')]),
    rows: [...table.tBodies[0].rows].map(row => ({cells: cells(row), shown: row.getClientRects().length > 0})),
    status: document.querySelector('.cpp-table-status')?.textContent.trim(),
  };
}"""


def read(page) -> dict:
    return page.evaluate(READ, LEDGER)


def shown_rows(state: dict) -> list[tuple]:
    return [tuple(r["cells"]) for r in state["rows"] if r["shown"]]


def status_says(state: dict, n: int, total: int) -> bool:
    return (state["status"] or "").startswith(f"{n} of {total} rows shown")


def open_ledger(page, viewport=WIDE):
    page.set_viewport_size(viewport)
    page.goto(page.base_url + LEDGER_PAGE, wait_until="networkidle")
    page.locator(".cpp-table-tools select").first.wait_for()
    return read(page)


def select_for(page, column: str):
    return page.locator(f".cpp-table-tools select[data-cpp-column='{column}']")


@pytest.mark.slow
@built
def test_the_ledger_is_whole_and_unchanged_in_the_browser(page):
    static = static_ledger()
    state = open_ledger(page)
    assert state["columns"] == [h["attrs"]["data-cpp-column"] for h in static["head"]]
    assert [tuple(r["cells"]) for r in state["rows"]] == [tuple(c["text"] for c in row) for row in static["rows"]]
    assert all(r["shown"] for r in state["rows"])
    assert status_says(state, len(state["rows"]), len(state["rows"]))
    status = page.locator(".cpp-table-status")
    assert status.get_attribute("role") == "status" and status.get_attribute("aria-live") == "polite"


@pytest.mark.slow
@built
def test_each_filter_shows_exactly_the_matching_rows(page):
    state = open_ledger(page)
    filters = set(json.loads(page.locator(LEDGER).get_attribute("data-cpp-filters")))
    assert LEDGER_FILTERS <= filters, f"the ledger should be filterable by {sorted(LEDGER_FILTERS - filters)}"
    rows = [tuple(r["cells"]) for r in state["rows"]]
    total = len(rows)
    for column in sorted(filters):
        i = state["columns"].index(column)
        select = select_for(page, column)
        label = page.locator(f"label[for='{select.get_attribute('id')}']").text_content().strip()
        assert label, f"the {column} filter has no label"
        options = select.locator("option").all_text_contents()
        values = {r[i] for r in rows}
        assert options[0] == "All"
        assert sorted(options[1:]) == sorted("(blank)" if v == "" else v for v in values), column
        for option in options[1:]:
            select.select_option(label=option)
            want = "" if option == "(blank)" else option
            expected = [r for r in rows if r[i] == want]
            now = read(page)
            assert shown_rows(now) == expected, f"{column} = {option!r}"
            assert status_says(now, len(expected), total), now["status"]
        select.select_option(label="All")
        assert len(shown_rows(read(page))) == total


@pytest.mark.slow
@built
def test_filters_combine(page):
    state = open_ledger(page)
    rows = [tuple(r["cells"]) for r in state["rows"]]
    col = {c: state["columns"].index(c) for c in LEDGER_FILTERS}
    # the chapter and verdict whose rows overlap least completely: both filters must narrow the rows
    pairs = [(len([r for r in rows if r[col["chapter"]] == c and r[col["verdict"]] == v]), c, v)
             for c in {r[col["chapter"]] for r in rows} for v in {r[col["verdict"]] for r in rows}]
    pairs = [(n, c, v) for n, c, v in pairs
             if 0 < n < min(sum(r[col["chapter"]] == c for r in rows), sum(r[col["verdict"]] == v for r in rows))]
    assert pairs, "no chapter and verdict narrow each other"
    _, chapter, verdict = max(pairs)
    select_for(page, "chapter").select_option(label=chapter)
    select_for(page, "verdict").select_option(label=verdict)
    expected = [r for r in rows if r[col["chapter"]] == chapter and r[col["verdict"]] == verdict]
    now = read(page)
    assert shown_rows(now) == expected
    assert status_says(now, len(expected), len(rows))
    # a third filter on top: one area among those rows
    area = expected[0][col["area"]]
    select_for(page, "area").select_option(label=area or "(blank)")
    assert shown_rows(read(page)) == [r for r in expected if r[col["area"]] == area]
    # the reset button restores every row in its first order
    page.locator(".cpp-table-reset").click()
    now = read(page)
    assert [tuple(r["cells"]) for r in now["rows"]] == rows and all(r["shown"] for r in now["rows"])
    assert all(select_for(page, c).input_value() == "" for c in LEDGER_FILTERS)


def number(text: str) -> float | None:
    """The test's own reading of a formatted number ("1,712", "-0.03", "< 0.001", "-1 to 2")."""
    match = re.match(r"^\s*([<>]?)\s*([-+\u2212]?[\d,]*\.?\d+(?:[eE][-+]?\d+)?)", text)
    if not match:
        return None
    value = float(match[2].replace(",", "").replace("\u2212", "-"))
    return value - 1e-12 if match[1] == "<" else value


def sort_button(page, column: str):
    return page.locator(f"{LEDGER} th[data-cpp-column='{column}'] button")


@pytest.mark.slow
@built
def test_sorting_orders_numbers_as_numbers_and_marks_the_header(page):
    state = open_ledger(page)
    numeric = page.eval_on_selector_all(f"{LEDGER} th[data-cpp-type='number']",
                                        "ths => ths.map(th => th.getAttribute('data-cpp-column'))")
    assert {"estimate", "p", "MDE"} <= set(numeric), numeric
    for column in numeric:
        i = state["columns"].index(column)
        for direction in ("ascending", "descending"):
            sort_button(page, column).click()
            now = read(page)
            assert now["sorted"] == [[column, direction]]
            texts = [r["cells"][i] for r in now["rows"]]
            filled = [t for t in texts if t]
            assert texts == filled + [""] * (len(texts) - len(filled)), f"{column}: blanks should come last"
            values = [number(t) for t in filled]
            assert None not in values, f"{column}: cells that are not numbers: {filled}"
            ordered = sorted(values, reverse=direction == "descending")
            assert values == ordered, f"{column} {direction}: {filled}"
            assert direction in now["status"]
    # the estimate column, sorted as text, would not be in numeric order: the check above can fail
    estimates = [t for t in (r["cells"][state["columns"].index("estimate")] for r in state["rows"]) if t]
    assert sorted(estimates) != sorted(estimates, key=number)


@pytest.mark.slow
@built
def test_sorting_text_and_sorting_a_filtered_table(page):
    state = open_ledger(page)
    i = state["columns"].index("claim")
    sort_button(page, "claim").click()
    claims = [r["cells"][i] for r in read(page)["rows"]]
    collated = page.evaluate("(xs) => [...xs].sort(new Intl.Collator(undefined, {numeric: true, "
                             "sensitivity: 'base'}).compare)", claims)
    assert claims == collated
    # a filter then a sort: the same rows, in the new order
    c = state["columns"].index("chapter")
    chapter = state["rows"][-1]["cells"][c]
    select_for(page, "chapter").select_option(label=chapter)
    sort_button(page, "estimate").click()
    now = read(page)
    assert sorted(shown_rows(now)) == sorted(tuple(r["cells"]) for r in state["rows"] if r["cells"][c] == chapter)


def _tab_to(page, selector: str, limit: int = 60) -> bool:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"() => document.activeElement.matches({selector!r})"):
            return True
    return False


@pytest.mark.slow
@built
def test_the_controls_work_from_the_keyboard(page):
    state = open_ledger(page)
    total = len(state["rows"])
    # start from the text just before the ledger, as a reader reading down the page would
    page.locator(".cpp-table-tools").evaluate("el => el.previousElementSibling?.scrollIntoView()")
    page.locator("#the-evidence-ledger p").first.click()
    assert _tab_to(page, ".cpp-table-tools select"), "Tab does not reach the filters"
    page.keyboard.press("ArrowDown")  # the first value of the focused drop-down
    now = read(page)
    assert 0 < len(shown_rows(now)) < total and status_says(now, len(shown_rows(now)), total), now["status"]
    page.keyboard.press("Home")  # back to "All"
    assert len(shown_rows(read(page))) == total
    assert _tab_to(page, f"{LEDGER} th button"), "Tab does not reach the sort buttons"
    column = page.evaluate("() => document.activeElement.closest('th').getAttribute('data-cpp-column')")
    page.keyboard.press("Enter")
    assert read(page)["sorted"] == [[column, "ascending"]]
    page.keyboard.press("Space")
    assert read(page)["sorted"] == [[column, "descending"]]
    assert _tab_to(page, f"{LEDGER} th button"), "Tab does not move on to the next sort button"
    page.keyboard.press("Enter")
    assert read(page)["sorted"][0][0] != column


@pytest.mark.slow
@built
def test_without_javascript_the_whole_ledger_is_there(browser, base_url):
    context = browser.new_context(viewport=WIDE, java_script_enabled=False)
    page = context.new_page()
    page.goto(base_url + LEDGER_PAGE)
    rows = page.locator(f"{LEDGER} tbody tr")
    assert rows.count() == len(static_ledger()["rows"]) > 0
    assert page.locator(".cpp-table-tools").count() == 0
    assert all(rows.nth(i).is_visible() for i in (0, rows.count() - 1))
    context.close()


def _axe(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]})
    return [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']]} — {v['help']}"
            for v in results.response["violations"] if v["impact"] in {"serious", "critical"}]


@pytest.mark.slow
@built
@pytest.mark.parametrize("viewport", [WIDE, NARROW], ids=["1366px", "390px"])
def test_axe_is_clean_on_the_ledger_with_its_controls_in_use(page, viewport):
    state = open_ledger(page, viewport)
    verdict = state["rows"][0]["cells"][state["columns"].index("verdict")]
    select_for(page, "verdict").select_option(label=verdict)
    sort_button(page, "estimate").click()
    page.wait_for_timeout(200)  # the scroll boxes are relabelled after a change
    assert read(page)["sorted"] == [["estimate", "ascending"]]
    violations = _axe(page)
    assert not violations, "\n".join(violations)


def test_number_reads_formatted_numbers():
    assert [number(t) for t in ("1,712", "-0.03", "0.5 to 1", "1.2e-05", "x")] == [1712, -0.03, 0.5, 1.2e-05, None]
    assert number("< 0.001") < 0.001 and math.isclose(number("< 0.001"), 0.001)
