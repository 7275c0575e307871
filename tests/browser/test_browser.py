"""The built book in a real browser: Debian's Chromium, headless, driven by Playwright.

The test serves ``_build/html`` from localhost (``http.server`` in a thread) and checks what a reader
meets: every page of the table of contents loads with no console error and no script error; every
image loads and every figure has alt text; next/previous links walk the contents in order; the search
page finds a word of the book; every download link works; axe-core finds no serious or critical
WCAG 2.1 A/AA violation on any page; and the book asks no host but the local server for anything.

Run it after ``make book``. Without a built book or without Chromium it is skipped, saying so,
except in CI and under ``make test`` (:func:`tools.pdf.browser_required`), where either fails it.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from analysis import paths
from tools import downloads, pdf

pytestmark = [pytest.mark.slow, pytest.mark.book]

HTML = paths.ROOT / "_build" / "html"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = {"serious", "critical"}
SEARCH_WORD = "partnership"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}

def pages() -> list[str]:
    return downloads.toc_docnames()


@pytest.fixture(scope="module")
def base_url():
    with downloads.serve(HTML) as url:
        yield url


#: Every URL the browser requested during this module, across all tests (checked by the last test).
REQUESTS: list[str] = []


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    try:
        executable = downloads.chromium_path()
    except FileNotFoundError as exc:
        if pdf.browser_required():
            pytest.fail(f"the browser tests must run here (CI or make test): {exc}")
        pytest.skip(f"no Chromium: {exc}")
    with sync_playwright() as pw:
        # launch() gives the browser a new, empty profile (user data directory) of its own
        browser = pw.chromium.launch(executable_path=executable, args=downloads.CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    context.on("request", lambda request: REQUESTS.append(request.url))
    yield context
    context.close()


class PageRecord:
    """What one page load showed: console errors, script errors, failed requests, images."""

    def __init__(self, page):
        self.errors: list[str] = []
        page.on("console", lambda msg: self.errors.append(f"console.{msg.type}: {msg.text}")
                if msg.type == "error" else None)
        page.on("pageerror", lambda exc: self.errors.append(f"script error: {exc}"))
        page.on("requestfailed", lambda req: self.errors.append(f"request failed: {req.url} ({req.failure})"))
        page.on("response", lambda resp: self.errors.append(f"HTTP {resp.status}: {resp.url}")
                if resp.status >= 400 else None)


@pytest.fixture(scope="module")
def loaded(browser, base_url):
    """Load every page of the contents (and the search and index pages) once; record what happened."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.on("request", lambda request: REQUESTS.append(request.url))
    records = {}
    for name in [*(f"{d}.html" for d in pages()), "search.html", "genindex.html"]:
        page = context.new_page()
        record = PageRecord(page)
        page.goto(base_url + name, wait_until="networkidle")
        page.evaluate(downloads.WAIT_FOR_MATHS)
        record.images = page.evaluate(
            """() => Array.from(document.images).map(img => ({
                   src: img.currentSrc || img.src, loaded: img.complete && img.naturalWidth > 0,
                   alt: img.getAttribute('alt'), figure: !!img.closest('figure, .cell_output')}))"""
        )
        record.download_links = _download_links(page)
        record.maths = page.evaluate("() => document.querySelectorAll('mjx-container').length")
        record.has_maths_source = page.evaluate("() => document.querySelectorAll('.math').length")
        records[name] = record
        page.close()
    context.close()
    return records


def test_the_root_redirects_to_the_first_page(context, base_url):
    page = context.new_page()
    page.goto(base_url, wait_until="networkidle")
    assert page.url == base_url + f"{pages()[0]}.html"


def test_every_page_loads_without_errors(loaded):
    problems = {name: r.errors for name, r in loaded.items() if r.errors}
    assert not problems, ("pages with console errors, script errors or failed requests:\n"
                          + json.dumps(problems, indent=1))


def test_every_image_loads_and_every_figure_has_alt_text(loaded):
    broken = [(name, img["src"]) for name, r in loaded.items() for img in r.images if not img["loaded"]]
    assert not broken, f"images that did not load: {broken}"
    no_alt = [(name, img["src"]) for name, r in loaded.items() for img in r.images
              if img["figure"] and not (img["alt"] or "").strip()]
    assert not no_alt, f"figures without alt text: {no_alt}"
    assert sum(len(r.images) for r in loaded.values()) > 0, "the book shows no image at all"


def test_maths_is_typeset_offline(loaded):
    with_maths = {name: r for name, r in loaded.items() if r.has_maths_source}
    assert with_maths, "no page has maths; the Methods appendix should"
    untypeset = [name for name, r in with_maths.items() if r.maths == 0]
    assert not untypeset, f"MathJax did not typeset the maths on {untypeset}"


def _walk(page, selector: str) -> list[str]:
    visited = [urlsplit(page.url).path.lstrip("/")]
    for _ in range(len(pages()) + 1):
        link = page.locator(selector)
        if link.count() == 0:
            break
        link.first.click()
        page.wait_for_load_state("load")
        visited.append(urlsplit(page.url).path.lstrip("/"))
    return visited


def test_next_and_previous_links_walk_the_contents_in_order(context, base_url):
    expected = [f"{d}.html" for d in pages()]
    page = context.new_page()
    page.goto(base_url + expected[0])
    assert _walk(page, "a.right-next") == expected
    assert _walk(page, "a.left-prev") == expected[::-1]


def _settle(page, seconds: float = 30.0) -> None:
    """Wait until the page has had no request in flight for half a second."""
    pending: set = set()
    page.on("request", lambda request: pending.add(request))
    page.on("requestfinished", lambda request: pending.discard(request))
    page.on("requestfailed", lambda request: pending.discard(request))
    quiet_since, deadline = time.monotonic(), time.monotonic() + seconds
    while time.monotonic() < deadline:
        page.wait_for_timeout(100)
        if pending:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= 0.5:
            return
    raise AssertionError(f"requests still in flight after {seconds} s: {[r.url for r in pending]}")


def _search_results(page):
    """The search page's results, once it has finished (it then fetches each result's summary)."""
    page.locator("#search-results p.search-summary", has_text="Search finished").wait_for(timeout=30_000)
    _settle(page)
    return page.locator("#search-results ul.search li")


def test_search_finds_a_word_of_the_book(context, base_url):
    page = context.new_page()
    record = PageRecord(page)
    page.goto(base_url + f"search.html?q={SEARCH_WORD}")
    results = _search_results(page)
    assert results.count() >= 1
    # a result opens its page
    results.first.locator("a").first.click()
    page.wait_for_load_state("load")
    assert "search.html" not in page.url
    assert not record.errors, record.errors


def test_the_search_box_on_a_page_leads_to_results(context, base_url):
    page = context.new_page()
    page.goto(base_url + f"{pages()[1]}.html")
    page.keyboard.press("Control+k")  # the theme's shortcut opens its search dialog
    box = page.locator("input[name='q']:visible").first
    box.fill(SEARCH_WORD)
    box.press("Enter")
    page.wait_for_url("**/search.html?*")
    assert _search_results(page).count() >= 1


def _download_links(page) -> list[str]:
    return page.eval_on_selector_all("a[href*='_downloads/']", "links => links.map(a => a.href)")


def _check_download(url: str, body: bytes) -> None:
    assert body, f"{url} is empty"
    name = urlsplit(url).path
    if name.endswith(".pdf"):
        from pypdf import PdfReader

        assert body.startswith(b"%PDF"), url
        reader = PdfReader(io.BytesIO(body))
        assert len(reader.pages) >= len(pages()), f"{url}: {len(reader.pages)} pages"
        assert [o.title for o in reader.outline if not isinstance(o, list)] == [
            downloads.page_title(downloads.source_of(d)) for d in pages()]
    elif name.endswith(".ipynb"):
        import nbformat

        nbformat.validate(nbformat.reads(body.decode("utf-8"), as_version=4))
    elif name.endswith(".json"):
        descriptor = json.loads(body)
        assert descriptor["resources"], url
    elif name.endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(body)) as zf:
            assert zf.testzip() is None, url
            assert zf.namelist(), url
    elif name.endswith(".csv"):
        header = body.split(b"\n", 1)[0].decode("utf-8")
        assert "," in header, f"{url}: no CSV header"
    else:
        pytest.fail(f"unexpected download {url}")


def test_every_download_link_works(loaded, context, base_url):
    linking = [name for name, record in loaded.items() if record.download_links]
    assert linking, ("no page links to _downloads/: add book/downloads to _toc.yml "
                     "(the Downloads page lists the PDF, the notebooks and the data)")
    hrefs = sorted({href for name in linking for href in loaded[name].download_links})
    paths_linked = {urlsplit(h).path for h in hrefs}
    expected = {f"/{downloads.DOWNLOADS}/{downloads.PDF}", f"/{downloads.DOWNLOADS}/data/datapackage.json",
                f"/{downloads.DOWNLOADS}/data/{downloads.DATA_ZIP}",
                f"/{downloads.DOWNLOADS}/notebooks/{downloads.NOTEBOOK_ZIP}"}
    expected |= {f"/{downloads.DOWNLOADS}/notebooks/{Path(d).name}.ipynb" for d in pages()}
    assert expected <= paths_linked, f"not linked: {sorted(expected - paths_linked)}"
    for href in hrefs:
        response = context.request.get(href)
        assert response.status == 200, f"{href}: HTTP {response.status}"
        _check_download(href, response.body())
    # and a reader's click on the PDF link gives a download
    page = context.new_page()
    offering_pdf = next(name for name in linking
                        if any(urlsplit(h).path.endswith(f"/{downloads.PDF}") for h in loaded[name].download_links))
    page.goto(base_url + offering_pdf)
    with page.expect_download() as info:
        page.locator(f"a[href$='{downloads.PDF}']").first.click()
    assert info.value.suggested_filename == downloads.PDF


def _axe_violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]})
    return [
        f"{v['id']} ({v['impact']}): {[node['target'] for node in v['nodes']]} — {v['help']}"
        for v in results.response["violations"] if v["impact"] in BLOCKING
    ]


def test_axe_finds_no_serious_or_critical_violation(context, base_url):
    found = {}
    for name in [*(f"{d}.html" for d in pages()), f"search.html?q={SEARCH_WORD}", "genindex.html"]:
        page = context.new_page()
        page.goto(base_url + name, wait_until="networkidle")
        if name.startswith("search.html"):
            assert _search_results(page).count() >= 1
        page.evaluate(downloads.WAIT_FOR_MATHS)
        violations = _axe_violations(page)
        if violations:
            found[name] = violations
        page.close()
    # the narrow (phone) layout, where the navigation becomes a drawer
    page = context.new_page()
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(base_url + f"{pages()[0]}.html", wait_until="networkidle")
    violations = _axe_violations(page)
    if violations:
        found["narrow viewport: first page"] = violations
    report = "\n".join(f"{name}:\n  " + "\n  ".join(v) for name, v in found.items())
    print(report)
    assert not found, "axe-core found serious or critical WCAG 2.1 A/AA violations:\n" + report


def test_no_request_leaves_the_local_server(loaded):
    """Runs last: every request made by every test above went to the local server."""
    assert REQUESTS, "no request was recorded"
    foreign = sorted({url for url in REQUESTS
                      if urlsplit(url).scheme not in ("data", "blob", "about")
                      and urlsplit(url).hostname not in LOCAL_HOSTS})
    assert not foreign, f"the book asked other hosts for: {foreign}"
