"""The PDF pipeline (tools.pdf): getting the browser, the generated pages, and printing and merging.

The first tests need no browser: finding Chromium, installing Debian's package as root (with a
stand-in apt-get), the no-browser path, the title page's facts and the contents page. The ``slow``
ones print a small three-page site with the real Chromium and check the merged PDF: the tags kept
through the merge, links turned into links inside the PDF, and the cache reprinting only an edited
page. Without Chromium they are skipped, saying so, except in CI and under ``make test``, where they
fail (:func:`tools.pdf.browser_required`).
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tools import pdf


@pytest.fixture
def no_chromium(monkeypatch, tmp_path):
    """A machine without Chromium: not at Debian's path, not on PATH, CHROMIUM unset."""
    monkeypatch.delenv("CHROMIUM", raising=False)
    monkeypatch.setattr(pdf, "DEBIAN_CHROMIUM", str(tmp_path / "usr-bin-chromium"))
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    return tmp_path


def _fake_executable(path: Path, body: str = "exit 0") -> Path:
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


# --------------------------------------------------------------------------------------------
# the browser


def test_chromium_named_by_the_variable_is_used_and_only_it(monkeypatch, tmp_path):
    fake = _fake_executable(tmp_path / "my-chromium")
    monkeypatch.setenv("CHROMIUM", str(fake))
    assert pdf.find_chromium() == str(fake)
    monkeypatch.setenv("CHROMIUM", str(tmp_path / "nowhere"))
    assert pdf.find_chromium() is None  # no fallback to another browser when one is named
    assert "CHROMIUM=" in pdf.missing_reason()


def test_chromium_is_found_on_path(no_chromium, monkeypatch):
    bin_dir = no_chromium / "bin"
    bin_dir.mkdir()
    fake = _fake_executable(bin_dir / "chromium-browser")
    monkeypatch.setenv("PATH", str(bin_dir))
    assert pdf.find_chromium() == str(fake)


def test_not_root_and_no_chromium_skips_or_fails_with_how_to_get_it(no_chromium, monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert pdf.ensure_browser() is None
    with pytest.raises(pdf.BrowserMissing) as info:
        pdf.ensure_browser(require=True)
    message = str(info.value)
    assert "only root can install" in message and "apt-get install -y chromium" in message and "CHROMIUM" in message
    assert pdf.missing_reason() in message


def test_as_root_debian_chromium_is_installed_once(no_chromium, monkeypatch):
    """The root branch with a stand-in apt-get that logs its calls and 'installs' the binary."""
    target = Path(pdf.DEBIAN_CHROMIUM)
    log = no_chromium / "apt.log"
    bin_dir = no_chromium / "bin"
    bin_dir.mkdir()
    _fake_executable(bin_dir / "apt-get", f'echo "$DEBIAN_FRONTEND $*" >> {log}\n'
                     f'if [ "$1" = install ]; then printf "#!/bin/sh\\n" > {target}; /bin/chmod 755 {target}; fi')
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert pdf.ensure_browser(require=True) == str(target)
    assert log.read_text().splitlines() == ["noninteractive update -qq", "noninteractive install -y -qq chromium"]
    assert pdf.ensure_browser(require=True) == str(target)  # present now: apt-get is not run again
    assert len(log.read_text().splitlines()) == 2


def test_a_failing_apt_get_is_reported_in_one_line(no_chromium, monkeypatch):
    bin_dir = no_chromium / "bin"
    bin_dir.mkdir()
    _fake_executable(bin_dir / "apt-get", 'echo "E: Could not resolve the archive" >&2; exit 100')
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert pdf.ensure_browser() is None
    with pytest.raises(pdf.BrowserMissing, match=r"apt-get update -qq.*exit 100.*Could not resolve"):
        pdf.ensure_browser(require=True)


def test_the_browser_command_exits_2_with_one_line_when_required(tmp_path):
    env = {**os.environ, "CHROMIUM": str(tmp_path / "nowhere")}
    result = subprocess.run([sys.executable, "-m", "tools.pdf", "browser", "--require"], env=env,
                            capture_output=True, text=True)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: CHROMIUM=") and "Traceback" not in result.stderr
    ok = subprocess.run([sys.executable, "-m", "tools.pdf", "browser"], env=env, capture_output=True, text=True)
    assert ok.returncode == 0 and not ok.stderr  # `make book` goes on without it


def test_ci_and_make_test_require_the_browser(monkeypatch):
    for name in ("CI", "CPP_REQUIRE_BROWSER"):
        monkeypatch.delenv(name, raising=False)
    assert not pdf.browser_required()
    monkeypatch.setenv("CI", "true")
    assert pdf.browser_required()
    monkeypatch.setenv("CI", "false")
    assert not pdf.browser_required()
    monkeypatch.setenv("CPP_REQUIRE_BROWSER", "1")
    assert pdf.browser_required()


# --------------------------------------------------------------------------------------------
# the title page and the contents


def test_the_title_page_reads_the_repository_files():
    from analysis import paths

    info = pdf.book_info(paths.ROOT)
    cff = yaml.safe_load((paths.ROOT / "CITATION.cff").read_text())
    config = yaml.safe_load((paths.ROOT / "_config.yml").read_text())
    assert info.title == cff["title"] == config["title"]
    # one version everywhere: the package, CITATION.cff and the Sphinx release
    assert info.version == str(cff["version"]) == str(config["sphinx"]["config"]["release"])
    assert info.authors == [a["name"] for a in cff["authors"]]
    assert "Creative Commons Attribution 4.0 International (CC BY 4.0)" in info.licences
    assert info.subject and info.abstract.startswith(info.subject)
    assert info.references and "Stevenson" in info.references[0]
    page = pdf.front_matter_html(info, [pdf.Entry("a", "First")], {"a": 1})
    for text in (info.title, info.version, info.cite_message, info.citation, "How to cite", "Licences"):
        assert pdf.html.escape(text) in page


def test_the_build_date_follows_source_date_epoch(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert str(pdf.build_date()) == "2023-11-14"


def test_the_contents_lists_every_page_with_its_number_in_its_part():
    entries = [pdf.Entry("a", "Summary"), pdf.Entry("b", "One", "1", part="Part & more"),
               pdf.Entry("c", "Two", "2"), pdf.Entry("d", "Profiles", part="Places"), pdf.Entry("d/x", "X", depth=1),
               pdf.Entry("d/y", "Y", depth=1), pdf.Entry("e", "Appendix", part="Back")]
    starts = {"a": 1, "b": 3, "c": 9, "d": 12, "d/x": 13, "d/y": 15, "e": 20}
    page = pdf.front_matter_html(pdf.book_info(), entries, starts)
    contents = page[page.index("<nav"):]
    found = re.findall(r'<a href="([^"]+)\.html"><span class="title">([^<]+)</span>.*?<span class="page">(\d+)<',
                       contents)
    assert found == [(e.docname, pdf.html.escape(e.heading), str(starts[e.docname])) for e in entries]
    assert "<h2 class=\"part\">Part &amp; more</h2>" in contents
    # the two profiles are a list inside the Profiles entry, which is inside its part
    assert re.search(r"Profiles</span>.*?</a><ol><li><a href=\"d/x.html\".*?d/y.html.*?</li></ol></li></ol></li>",
                     contents)


def test_running_heads_number_every_page_but_the_title_page():
    entries = [pdf.Entry("a", "Summary"), pdf.Entry("b", "Background", "1")]
    sheets = pdf._sheets(entries, {"a": 2, "b": 1}, front_pages=3, book_title="Book")
    assert [s.number for s in sheets] == ["", "ii", "iii", "1", "2", "3"]
    assert [s.left for s in sheets] == ["", "Contents", "Contents", "Summary", "Summary", "1. Background"]
    html_text = pdf.running_heads_html(sheets, "en", "Book")
    assert html_text.count('class="sheet"') == len(sheets)
    assert [pdf.roman(n) for n in (1, 4, 9, 14, 40, 1994)] == ["i", "iv", "ix", "xiv", "xl", "mcmxciv"]


# --------------------------------------------------------------------------------------------
# printing and merging a small site with the real Chromium

PAGE = """<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8"><title>{title}</title>
<link rel="stylesheet" href="{up}style.css"><script src="{up}searchindex.js"></script></head><body><main>
<h1>{title}</h1>{body}</main></body></html>
"""
SVG = ('<svg xmlns="http://www.w3.org/2000/svg" width="120" height="60"><rect width="120" height="60" '
       'fill="#36c"/></svg>')
TABLE = ("<table><thead><tr><th>Area</th><th>Rate</th></tr></thead>"
         "<tbody><tr><td>Fife</td><td>12</td></tr><tr><td>Moray</td><td>9</td></tr></tbody></table>")


def _site(folder: Path) -> tuple[Path, list[pdf.Entry]]:
    (folder / "b").mkdir(parents=True)
    (folder / "style.css").write_text("body { font-family: sans-serif; }\n")
    (folder / "chart.svg").write_text(SVG)
    (folder / "data.csv").write_text("a,b\n1,2\n")
    (folder / "searchindex.js").write_text("Search.setIndex({})")
    (folder / "index.html").write_text("<!DOCTYPE html><html lang=\"en-GB\"><title>r</title></html>")
    pages = {
        "a": ("Alpha page", "", '<p>To <a href="b/c.html#later">a section of C</a>, <a href="b/c.html">C itself</a>, '
              '<a href="data.csv">the data</a> and <a href="https://example.org/">elsewhere</a>.</p>'
              '<figure><img src="chart.svg" alt="A blue bar standing for the alpha chart"><figcaption>The chart'
              f"</figcaption></figure>{TABLE}"),
        "b/c": ("Charlie page", "../", '<p><a href="#later">Below</a>.</p>' + "<p>Filler text.</p>" * 60
                + f'<h2 id="later">Later section</h2>{TABLE}<figure><img src="../chart.svg" '
                'alt="A second chart, for charlie"><figcaption>Another</figcaption></figure>'),
        "d": ("Delta page", "", "<p>Short.</p>"),
    }
    for name, (title, up, body) in pages.items():
        (folder / f"{name}.html").write_text(PAGE.format(title=title, up=up, body=body))
    entries = [pdf.Entry("a", "Alpha page"), pdf.Entry("b/c", "Charlie page", "1", part="Numbered"),
               pdf.Entry("d", "Delta page")]
    return folder, entries


@pytest.fixture(scope="module")
def chromium():
    try:
        return pdf.chromium_path()
    except pdf.BrowserMissing as exc:
        if pdf.browser_required():
            pytest.fail(f"the browser is required here (CI or make test): {exc}")
        pytest.skip(f"no Chromium: {exc}")


def _elements(node):
    import pikepdf

    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, pikepdf.Array):
            stack.extend(item)
        elif isinstance(item, pikepdf.Dictionary) and "/S" in item:
            yield item
            if "/K" in item:
                stack.append(item.K)


@pytest.mark.slow
def test_a_small_site_prints_merges_and_reprints_only_the_edited_page(chromium, tmp_path):
    import pikepdf
    from pypdf import PdfReader

    html_dir, entries = _site(tmp_path / "html")
    info = pdf.book_info(page=html_dir / "a.html")
    target, cache = tmp_path / "book.pdf", tmp_path / "cache"
    first = pdf.write_pdf(target, html_dir, entries, info, cache, workers=2)
    assert sorted(first.printed) == sorted(["a", "b/c", "d", "front matter", "running heads"])

    book = pikepdf.open(target)
    root = book.Root
    assert str(root.Lang) == "en-GB" and bool(root.MarkInfo.Marked)
    elements = list(_elements(root.StructTreeRoot.K))
    document = root.StructTreeRoot.K[0]
    assert document.S == "/Document" and all(p.S == "/Part" for p in document.K)
    assert [str(p.T) for p in document.K] == ["Title page and contents", "Alpha page", "Charlie page", "Delta page"]
    page_ids = {p.obj.objgen for p in book.pages}
    assert all(e.Pg.objgen in page_ids for e in elements if "/Pg" in e)
    # every page's marked content and every annotation has its entry in the merged parent tree
    parent_tree = dict(pikepdf.NumberTree(root.StructTreeRoot.ParentTree).items())
    keys = [int(p.obj.StructParents) for p in book.pages]
    keys += [int(a.StructParent) for p in book.pages for a in p.obj.get("/Annots", []) if "/StructParent" in a]
    assert len(keys) == len(set(keys)) and set(keys) <= set(parent_tree)
    figures = sorted(str(e.Alt) for e in elements if e.S == "/Figure")
    assert figures == ["A blue bar standing for the alpha chart", "A second chart, for charlie"]
    # table cells still name header cells of their own table after the IDs were made unique
    ids = dict(pikepdf.NameTree(root.StructTreeRoot.IDTree).items())
    headers = [str(h) for e in elements if e.S == "/TD" for a in e.get("/A", []) if "/Headers" in a
               for h in a.Headers]
    assert headers and all(h in ids for h in headers)
    assert {h.split(":")[0] for h in headers} == {"a", "b/c"}

    reader = PdfReader(target)
    front = reader.page_labels.index("1")
    assert reader.page_labels[:front] == [pdf.roman(n) for n in range(1, front + 1)]
    dests = dict(pikepdf.NameTree(root.Names.Dests).items())
    links = [a for p in book.pages for a in p.obj.get("/Annots", [])]
    uris = [str(a.A.URI) for a in links if "/A" in a and "/URI" in a.A]
    assert uris == ["https://example.org/"]  # local links became internal, the data file's link was removed
    internal = [str(a.Dest) for a in links if "/Dest" in a]
    assert set(internal) <= set(dests)
    assert {"b/c", "b/c#later", "a", "d"} <= set(internal)  # from the contents page and from the pages
    described = {str(a.Contents) for a in links}
    assert len(described) > 1 and all("/Contents" in a for a in links)
    assert {"Open https://example.org/", "Go to Charlie page, section later", "Go to Delta page"} <= described
    # the contents gives each page's first page number, and the outline goes there
    with book.open_outline() as outline:
        titles = [str(item.title) for item in outline.root]
        index = {p.obj.objgen: i for i, p in enumerate(book.pages)}
        starts = [index[item.destination[0].objgen] for item in outline.root]
    assert titles == ["Alpha page", "Charlie page", "Delta page"] and starts[0] == front
    contents = " ".join(" ".join(reader.pages[i].extract_text() for i in range(1, front)).split())
    for entry, start in zip(entries, starts, strict=True):
        assert re.search(re.escape(entry.heading) + r"\s+" + re.escape(reader.page_labels[start]) + r"\b", contents)
    # running heads and numbers, laid over each page after its own text
    for i in range(1, len(reader.pages)):
        text = reader.pages[i].extract_text().split()
        assert text[-1] == reader.page_labels[i], f"page {i}: {text[-6:]}"

    # unchanged (but for the search index, which every page loads): nothing is printed; one page edited: that page
    (html_dir / "searchindex.js").write_text("Search.setIndex({'changed': 1})")
    again = pdf.write_pdf(target, html_dir, entries, info, cache, workers=2)
    assert again.printed == [] and len(again.cached) == 5
    page_d = html_dir / "d.html"
    page_d.write_text(page_d.read_text().replace("Short.", "Short, and edited."))
    edited = pdf.write_pdf(target, html_dir, entries, info, cache, workers=2)
    assert edited.printed == ["d"]
    assert "edited" in PdfReader(target).pages[-1].extract_text()
    assert len(list(cache.glob("*.pdf"))) == 5  # the old print of d.html was pruned


def test_a_page_is_keyed_on_what_it_loads_and_not_on_what_it_links_to(tmp_path):
    html_dir, _ = _site(tmp_path / "html")
    key = functools.partial(pdf.page_key, html_dir / "b" / "c.html", html_dir, "settings")
    first = key()
    assert key() == first  # stable
    (html_dir / "a.html").write_text("<html>another page, linked from c</html>")
    (html_dir / "searchindex.js").write_text("Search.setIndex({'other': 1})")
    assert key() == first
    (html_dir / "chart.svg").write_text(SVG.replace("#36c", "#c63"))  # an image it shows
    changed = key()
    assert changed != first
    (html_dir / "style.css").write_text("body { color: red; }\n")  # its style sheet
    assert key() != changed
    assert pdf.page_key(html_dir / "b" / "c.html", html_dir, "other settings") != key()


@pytest.mark.slow
def test_a_missing_page_is_an_error(chromium, tmp_path):
    html_dir, entries = _site(tmp_path / "html")
    (html_dir / "d.html").unlink()
    with pytest.raises(FileNotFoundError, match="make book"):
        pdf.write_pdf(tmp_path / "book.pdf", html_dir, entries, pdf.book_info(), tmp_path / "cache")



def test_the_print_server_serves_the_files_with_a_cache_lifetime(tmp_path):
    """Each tab's context may keep the style sheets and scripts it has loaded: the local server says so,
    and serves the file's own bytes."""
    import urllib.request

    (tmp_path / "style.css").write_text("body { color: black; }\n")
    with pdf.serve(tmp_path) as base, urllib.request.urlopen(base + "style.css") as response:
        assert response.status == 200 and response.read() == b"body { color: black; }\n"
        assert response.headers["Cache-Control"] == "max-age=3600"
