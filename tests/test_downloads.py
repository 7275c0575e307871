"""Downloads offered with the book: the tidy data, the notebooks and the PDF (analysis.downloads).

The first tests run the code on small inputs made here; the ``slow`` ones check the files that
``make book`` wrote into ``_build/html/_downloads`` (skipped, saying so, before a build).
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
import zipfile
from pathlib import Path

import nbformat
import pytest
import yaml

from analysis import downloads, paths

BUILT = paths.ROOT / "_build" / "html" / downloads.DOWNLOADS
needs_build = pytest.mark.skipif(not (paths.ROOT / "_build" / "html" / "index.html").exists(),
                                 reason="_build/html is absent: build the book first (make book)")


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


@pytest.mark.slow
@needs_build
def test_the_built_pdf_holds_every_page_in_order():
    from pypdf import PdfReader

    path = BUILT / downloads.PDF
    assert path.exists(), f"{path} missing: run make downloads (it needs Chromium)"
    reader = PdfReader(path)
    titles = [downloads.page_title(downloads.source_of(n)) for n in downloads.toc_docnames()]
    outline = [item for item in reader.outline if not isinstance(item, list)]
    assert [item.title for item in outline] == titles
    starts = [reader.get_destination_page_number(item) for item in outline]
    assert starts == sorted(starts) and starts[0] == 0
    config = yaml.safe_load((paths.ROOT / "_config.yml").read_text())
    assert reader.metadata.title == config["title"]
    # each page's title is printed at its bookmark (maths and figures are checked in the browser test)
    for item, start, title in zip(outline, starts, titles, strict=True):
        text = " ".join(unicodedata.normalize("NFKC", reader.pages[start].extract_text()).split())
        assert unicodedata.normalize("NFKC", title)[:30] in text, f"{item.title!r}: not on its first PDF page"
