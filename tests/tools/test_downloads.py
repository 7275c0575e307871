"""Downloads offered with the book: the tidy data, the notebooks and the PDF (tools.downloads).

The first tests run the code on small inputs made here; the ``slow`` ones check the files that
``make book`` wrote into ``_build/html/_downloads`` (skipped, saying so, before a build). The built
PDF's tests are skipped when the build skipped the PDF for want of Chromium, except in CI and
under ``make test``, where that fails them (:func:`tools.pdf.browser_required`).
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import unicodedata
import zipfile
from pathlib import Path

import nbformat
import pytest
import yaml

from analysis import paths
from tools import downloads, pdf

BUILT = paths.ROOT / "_build" / "html" / downloads.DOWNLOADS
needs_build = pytest.mark.book


# --------------------------------------------------------------------------------------------
# the code, on inputs made here


def test_toc_pages_follow_the_toc():
    names = downloads.toc_docnames()
    toc_text = (paths.ROOT / "_toc.yml").read_text()
    toc = yaml.safe_load(toc_text)
    assert names[0] == toc["root"]
    assert len(names) == len(set(names))
    files = re.findall(r"- file: (\S+)", toc_text)
    assert [n for n in names if n in files] == files  # every file entry, in the toc's order
    for name in names:
        assert downloads.page_title(downloads.source_of(name))


def test_toc_pages_read_nested_sections_and_globs(tmp_path):
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: a\nchapters:\n  - file: b\n    sections:\n      - file: c.md\n"
        "  - file: g/index\n    sections:\n      - glob: g/*\n  - file: d\n")
    (tmp_path / "g" / "sub").mkdir(parents=True)
    for name in ("index", "z", "m"):
        (tmp_path / "g" / f"{name}.md").write_text("# t\n")
    (tmp_path / "g" / "sub" / "deeper.md").write_text("# t\n")  # `*` does not cross `/`
    assert downloads.toc_docnames(tmp_path) == ["a", "b", "c", "g/index", "g/m", "g/z", "d"]


def test_a_page_without_a_title_is_an_error(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("---\nkernelspec: {}\n---\nNo heading here.\n")
    with pytest.raises(ValueError, match="no level-1 heading"):
        downloads.page_title(page)


def test_each_page_becomes_a_valid_notebook_with_all_its_code(tmp_path):
    out = tmp_path / "nb"
    written = downloads.write_notebooks(out)
    names = downloads.toc_docnames()
    expected = [f"{Path(n).name}.ipynb" for n in names] + [downloads.NOTEBOOK_ZIP]
    assert sorted(p.name for p in written) == sorted(expected)
    for name in names:
        source = downloads.source_of(name).read_text()
        nb = nbformat.read(out / f"{Path(name).name}.ipynb", as_version=4)
        nbformat.validate(nb)
        assert nb.cells[0].cell_type == "markdown" and "analysis" in nb.cells[0].source
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert len(code) == source.count("```{code-cell}")
        assert all(not c.outputs for c in code)
    with zipfile.ZipFile(out / downloads.NOTEBOOK_ZIP) as zf:
        assert sorted(zf.namelist()) == sorted(f"{Path(n).name}.ipynb" for n in names)


def test_notebooks_and_zips_are_byte_identical_when_remade(tmp_path):
    digests = []
    for run in ("a", "b"):
        files = downloads.write_notebooks(tmp_path / run)
        digests.append({p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files})
    assert digests[0] == digests[1]


@pytest.fixture
def processed(tmp_path) -> Path:
    folder = tmp_path / "processed"
    folder.mkdir()
    (folder / "one.csv").write_text("a,b\n1,2\n")
    (folder / "two.csv").write_text("c\nx\n")
    (folder / "manifest.json").write_text("{}")  # not a resource: not offered
    package = {"name": "p", "resources": [
        {"name": "one", "path": "one.csv", "description": "First <table>"},
        {"name": "two", "path": "two.csv", "description": "Second"},
    ]}
    (folder / "datapackage.json").write_text(json.dumps(package))
    return folder


def test_the_data_are_copied_with_their_descriptor_and_zipped(processed, tmp_path):
    out = tmp_path / "data"
    downloads.write_data(out, processed=processed)
    assert sorted(p.name for p in out.iterdir()) == ["cpp-tidy-data.zip", "datapackage.json", "one.csv", "two.csv"]
    assert (out / "one.csv").read_bytes() == (processed / "one.csv").read_bytes()
    with zipfile.ZipFile(out / downloads.DATA_ZIP) as zf:
        names = zf.namelist()
        assert {"datapackage.json", "one.csv", "two.csv", "DATA-NOTICE.md"} <= set(names)
        assert zf.read("two.csv") == b"c\nx\n"


def test_a_resource_missing_from_the_data_is_an_error(processed, tmp_path):
    (processed / "two.csv").unlink()
    with pytest.raises(FileNotFoundError, match="two"):
        downloads.write_data(tmp_path / "data", processed=processed)


def test_the_downloads_page_tables_link_every_file(processed):
    table = downloads.data_table(processed)
    for href in ("../_downloads/data/one.csv", "../_downloads/data/two.csv", "../_downloads/data/datapackage.json",
                 f"../_downloads/data/{downloads.DATA_ZIP}"):
        assert f'href="{href}"' in table
    assert "First &lt;table&gt;" in table  # descriptions are escaped
    assert "<caption>" in table and 'scope="col"' in table
    notebooks = downloads.notebook_table()
    for name in downloads.toc_docnames():
        assert f'href="../_downloads/notebooks/{Path(name).name}.ipynb"' in notebooks
    assert 'href="../_downloads/book.pdf"' in downloads.pdf_link()


def test_the_build_without_a_book_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="make book"):
        downloads.build(tmp_path, pdf=False)


def test_a_missing_chromium_says_how_to_install_it(monkeypatch):
    monkeypatch.setenv("CHROMIUM", "/nonexistent/chromium")
    with pytest.raises(FileNotFoundError, match="apt-get install -y chromium"):
        downloads.chromium_path()


def test_the_numbered_part_is_numbered_as_the_html_book_numbers_it():
    entries = downloads.toc_entries()
    assert [e.docname for e in entries] == downloads.toc_docnames()
    numbered = [e for e in entries if e.number]
    assert [e.number for e in numbered] == [str(n) for n in range(1, len(numbered) + 1)]
    assert all(e.docname.startswith("book/ch0") for e in numbered)
    toc = yaml.safe_load((paths.ROOT / "_toc.yml").read_text())
    assert [e.part for e in entries if e.part] == [part["caption"] for part in toc["parts"]]
    profiles = [e for e in entries if e.docname.startswith("book/profiles/") and e.docname != "book/profiles/index"]
    assert profiles and all(e.depth == 1 for e in profiles)


def test_the_plan_without_chromium_says_the_pdf_is_skipped_and_how_to_get_it(monkeypatch, tmp_path):
    monkeypatch.setenv("CHROMIUM", str(tmp_path / "no-chromium"))
    plan = downloads.write_plan(tmp_path)
    assert plan == {"pdf": False, "reason": pdf.missing_reason()}
    assert json.loads((tmp_path / downloads.PLAN).read_text()) == plan
    text = (tmp_path / downloads.STATUS).read_text()
    assert downloads.PDF not in text and "href" not in text  # no link to a PDF that is not there
    assert "has no PDF" in text and "apt-get install -y chromium" in text and "make book" in text
    asked = downloads.status_markdown(downloads.make_plan(want_pdf=False))
    assert "--no-pdf" in asked and "href" not in asked


def test_the_plan_with_chromium_links_the_pdf_and_is_rewritten_only_on_change(monkeypatch, tmp_path):
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("CHROMIUM", str(fake))
    assert downloads.write_plan(tmp_path) == {"pdf": True}
    status = tmp_path / downloads.STATUS
    assert 'href="../_downloads/book.pdf" download' in status.read_text()
    before = status.stat().st_mtime_ns
    downloads.write_plan(tmp_path)
    assert status.stat().st_mtime_ns == before  # unchanged: Sphinx need not re-read the Downloads page
    downloads.write_plan(tmp_path, want_pdf=False)
    assert status.stat().st_mtime_ns != before and "href" not in status.read_text()


def test_the_downloads_step_says_in_one_line_that_the_pdf_was_skipped(monkeypatch, tmp_path, capsys):
    html_dir = tmp_path / "html"
    html_dir.mkdir()
    monkeypatch.setenv("CHROMIUM", str(tmp_path / "no-chromium"))
    downloads.write_plan(tmp_path)
    calls = []
    monkeypatch.setattr(downloads, "build", lambda html, pdf, force: calls.append(pdf) or {"data": []})
    assert downloads.main(["--html", str(html_dir)]) == 0
    assert calls == [False]
    out = capsys.readouterr().out
    skipped = [line for line in out.splitlines() if "pdf" in line]
    assert len(skipped) == 1 and "SKIPPED" in skipped[0] and "apt-get install -y chromium" in skipped[0]


def test_the_downloads_step_refuses_a_plan_it_cannot_keep(monkeypatch, tmp_path, capsys):
    html_dir = tmp_path / "html"
    html_dir.mkdir()
    assert downloads.main(["--html", str(html_dir)]) == 2  # no plan: the page was not built by make book
    assert "run `make book`" in capsys.readouterr().err
    (tmp_path / downloads.PLAN).write_text(json.dumps({"pdf": True}))
    monkeypatch.setenv("CHROMIUM", str(tmp_path / "no-chromium"))
    assert downloads.main(["--html", str(html_dir)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "links to the PDF" in err[0] and "Traceback" not in err[0]


def test_a_skipped_pdf_leaves_no_stale_file(tmp_path, monkeypatch):
    html_dir = tmp_path / "html"
    (html_dir / downloads.DOWNLOADS).mkdir(parents=True)
    (html_dir / "index.html").write_text("<html></html>")
    stale = html_dir / downloads.DOWNLOADS / downloads.PDF
    stale.write_bytes(b"%PDF-1.7 old")
    monkeypatch.setattr(downloads, "write_data", lambda target, root: [])
    monkeypatch.setattr(downloads, "write_notebooks", lambda target, root: [])
    written = downloads.build(html_dir, pdf=False)
    assert "pdf" not in written and not stale.exists()


# --------------------------------------------------------------------------------------------
# the files a build wrote


@pytest.mark.slow
@needs_build
def test_the_built_data_match_the_processed_data():
    package = json.loads((paths.PROCESSED / "datapackage.json").read_text())
    for name in ["datapackage.json", *(r["path"] for r in package["resources"])]:
        built = BUILT / "data" / name
        assert built.exists(), f"{built} missing: run make downloads"
        assert built.read_bytes() == (paths.PROCESSED / name).read_bytes(), f"{built} is stale: run make downloads"
    with zipfile.ZipFile(BUILT / "data" / downloads.DATA_ZIP) as zf:
        assert zf.testzip() is None
        assert "DATA-NOTICE.md" in zf.namelist()


@pytest.mark.slow
@needs_build
def test_the_built_notebooks_cover_every_page():
    for name in downloads.toc_docnames():
        path = BUILT / "notebooks" / f"{Path(name).name}.ipynb"
        assert path.exists(), f"{path} missing: run make downloads"
        nbformat.validate(nbformat.read(path, as_version=4))


def _built_pdf() -> Path:
    """The built book.pdf, or a skip (a failure where the browser is required) when the build skipped it."""
    path = BUILT / downloads.PDF
    plan_file = paths.ROOT / "_build" / downloads.PLAN
    plan = json.loads(plan_file.read_text()) if plan_file.exists() else {"pdf": True}
    if not plan["pdf"] and not pdf.browser_required():
        pytest.skip(f"the build skipped the PDF: {plan['reason']}")
    assert path.exists(), f"{path} missing: run make downloads (it needs Chromium)"
    return path


@pytest.fixture(scope="module")
def built():
    """The built PDF read by pypdf (text, labels, outline) and by pikepdf (structure)."""
    import pikepdf
    from pypdf import PdfReader

    path = _built_pdf()
    return PdfReader(path), pikepdf.open(path)


def _starts(reader) -> list[int]:
    return [reader.get_destination_page_number(item) for item in reader.outline if not isinstance(item, list)]


@pytest.mark.slow
@needs_build
def test_the_built_pdf_holds_every_page_in_order(built):
    reader, _ = built
    titles = [downloads.page_title(downloads.source_of(n)) for n in downloads.toc_docnames()]
    outline = [item for item in reader.outline if not isinstance(item, list)]
    assert [item.title for item in outline] == titles
    starts = _starts(reader)
    assert starts == sorted(starts) and starts[0] == reader.page_labels.index("1")  # after the front matter
    config = yaml.safe_load((paths.ROOT / "_config.yml").read_text())
    assert reader.metadata.title == config["title"]
    # each page's title is printed at its bookmark (maths and figures are checked in the browser test)
    for item, start, title in zip(outline, starts, titles, strict=True):
        text = " ".join(unicodedata.normalize("NFKC", reader.pages[start].extract_text()).split())
        assert unicodedata.normalize("NFKC", title)[:30] in text, f"{item.title!r}: not on its first PDF page"


@pytest.mark.slow
@needs_build
def test_the_built_pdf_is_tagged_with_language_metadata_and_alt_text(built):
    import pikepdf

    reader, book = built
    root = book.Root
    assert "/StructTreeRoot" in root and bool(root.MarkInfo.Marked)
    lang = re.search(r'<html[^>]*lang="([^"]+)"', (paths.ROOT / "_build/html/book/downloads.html").read_text())
    assert str(root.Lang) == lang.group(1)
    assert bool(root.ViewerPreferences.DisplayDocTitle)
    info = pdf.book_info()
    assert reader.metadata.author == ", ".join(info.authors) and reader.metadata.subject == info.subject
    with book.open_metadata() as meta:
        assert meta["dc:title"] == info.title
    # every element is of a standard PDF 1.7 type, or role-mapped to one; all point into this PDF
    role_map = {str(k)[1:]: str(v)[1:] for k, v in (root.StructTreeRoot.get("/RoleMap") or {}).items()}
    pages = {p.obj.objgen for p in book.pages}
    alts, stack, types = [], [root.StructTreeRoot.K], set()
    while stack:
        node = stack.pop()
        if isinstance(node, pikepdf.Array):
            stack.extend(node)
        elif isinstance(node, pikepdf.Dictionary) and "/S" in node:
            types.add(str(node.S)[1:])
            assert "/Pg" not in node or node.Pg.objgen in pages
            if node.S == "/Figure":
                alts.append(" ".join(str(node.get("/Alt", "")).split()))
            if "/K" in node:
                stack.append(node.K)
    assert {role_map.get(t, t) for t in types} <= pdf.STANDARD_TYPES, types - pdf.STANDARD_TYPES - set(role_map)
    assert {"Document", "Part", "H1", "H2", "P", "L", "Table", "TH", "Figure", "Link"} <= types
    # the figures are tagged with the alt text of the images in the HTML pages, and none without
    html_alts = []
    for name in downloads.toc_docnames():
        page = (paths.ROOT / "_build" / "html" / f"{name}.html").read_text()
        html_alts += [" ".join(html.unescape(a).split()) for a in re.findall(r'<img[^>]*\balt="([^"]+)"', page)]
    assert alts and all(alts), "a Figure element without alt text"
    assert sorted(alts) == sorted(html_alts)


@pytest.mark.slow
@needs_build
def test_the_built_pdf_has_a_title_page_contents_page_numbers_and_running_heads(built):
    reader, book = built
    labels = reader.page_labels
    front = labels.index("1")
    assert labels == [pdf.roman(n) for n in range(1, front + 1)] + [str(n) for n in range(1, len(labels) - front + 1)]
    info = pdf.book_info()
    title_page = " ".join(reader.pages[0].extract_text().split())
    for text in (info.title, f"Version {info.version}", "How to cite", info.citation, "Licences"):
        assert " ".join(text.split()) in title_page
    # the contents lists every page with the number of the page it starts on
    contents = " ".join(unicodedata.normalize("NFKC", " ".join(reader.pages[i].extract_text()
                                                                for i in range(1, front))).split())
    assert contents.startswith("Contents")
    position = 0
    entries = downloads.pdf_entries()
    for entry, start in zip(entries, _starts(reader), strict=True):
        found = re.compile(re.escape(unicodedata.normalize("NFKC", entry.heading)) + r"\s+(\d+)\b").search(contents,
                                                                                                      position)
        assert found, f"{entry.heading!r} is not in the contents after position {position}"
        assert found.group(1) == labels[start], f"{entry.heading!r}: contents says {found.group(1)}, starts on "
        position = found.end()
    # every page but the title page ends with its running head and its number (laid over it)
    heads = {}
    for entry, start in zip(entries, _starts(reader), strict=True):
        heads[start] = entry.heading
    head = None
    for i in range(1, len(reader.pages)):
        head = heads.get(i, head) if i >= front else "Contents"
        text = " ".join(unicodedata.normalize("NFKC", reader.pages[i].extract_text()).split())
        assert text.endswith(" " + labels[i]), f"page {i + 1}: no page number {labels[i]} at its foot"
        assert unicodedata.normalize("NFKC", head)[:25] in text, f"page {i + 1}: no running head {head!r}"


@pytest.mark.slow
@needs_build
def test_the_built_pdf_links_inside_itself_and_to_nothing_local(built):
    import pikepdf

    _, book = built
    dests = {str(k) for k in pikepdf.NameTree(book.Root.Names.Dests).keys()}
    internal = 0
    for page in book.pages:
        for annot in page.obj.get("/Annots", []):
            assert str(annot.get("/Contents", "")).strip(), "a link without a description (Contents)"
            if "/Dest" in annot:
                assert str(annot.Dest) in dests
                internal += 1
            elif "/A" in annot and "/URI" in annot.A:
                assert "127.0.0.1" not in str(annot.A.URI), str(annot.A.URI)
    assert internal > len(downloads.toc_docnames())  # the contents page alone links every page
