"""Downloads offered with the HTML book: the tidy data, every chapter as a notebook, the book as a PDF.

``python -m tools.downloads`` (``make downloads``, run by ``make book`` after the HTML build)
writes into ``_build/html/_downloads/``:

``data/``              every table of the tidy data as CSV with its Frictionless ``datapackage.json``,
                       and all of them (with ``DATA-NOTICE.md``) in ``cpp-tidy-data.zip``
``notebooks/``         every page of the table of contents as a Jupyter notebook (converted from its
                       MyST source with Jupytext, without outputs), and all of them in ``notebooks.zip``
``book.pdf``           the whole book as a tagged PDF with a title page, a contents page, running heads
                       and page numbers, printed page by page by the local Chromium (:mod:`tools.pdf`)

The PDF needs Chromium, which not every machine has, and the Downloads page (``book/downloads.md``)
must say whether this build made one before Sphinx builds that page, which is before the PDF can be
printed. So the build decides first: ``python -m tools.downloads --plan`` (run by ``make book``
before Sphinx) records whether this build will print the PDF (``_build/downloads-plan.json``: yes
when Chromium is found and ``--no-pdf`` is not given) and writes what the page says about it,
a download link or a note that the PDF was skipped and how to get it, into ``_build/pdf-status.md``,
which the page includes (Sphinx re-reads the page when that file changes; it is rewritten only
when its text changes). ``python -m tools.downloads`` then follows the plan: it prints the PDF when
the plan says so (failing, exit status 2, if it no longer can) and otherwise says in one line that
the PDF was skipped and how to get it, and removes any older ``book.pdf``, so the page never links
to a missing or stale file.

The page's other tables come from :func:`notebook_table` and :func:`data_table`, which it calls
while the book is built.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import shutil
import sys
import time
import zipfile
from pathlib import Path

from analysis import paths
from tools import pdf
from tools.pdf import CHROMIUM_ARGS, WAIT_FOR_MATHS, chromium_path, serve  # noqa: F401 - used by the browser tests
from tools.toc import TocEntry, page_title, source_of, toc_docnames, toc_entries  # noqa: F401 - part of the API

HTML = paths.ROOT / "_build" / "html"
#: Where the files go inside the HTML output, and the link prefix from a page in ``book/``.
DOWNLOADS = "_downloads"
PAGE_PREFIX = "../" + DOWNLOADS
DATA_ZIP = "cpp-tidy-data.zip"
NOTEBOOK_ZIP = "notebooks.zip"
PDF = "book.pdf"
#: Beside ``_build/html``: the plan made before Sphinx, and the Downloads page's text about the PDF.
PLAN = "downloads-plan.json"
STATUS = "pdf-status.md"
#: The Downloads page's tables, written before Sphinx (the page itself holds no code).
NOTEBOOK_TABLE = "downloads-notebooks.md"
DATA_TABLE = "downloads-data.md"
#: Printed pages, kept between builds (:mod:`tools.pdf`).
PDF_CACHE = ".pdf-cache"
#: Fixed timestamp for zip members, so the same inputs give the same zip bytes.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


# --------------------------------------------------------------------------------------------
# writing files


def _write_zip(target: Path, members: list[tuple[str, Path]]) -> None:
    """A zip whose bytes depend only on the members' names and contents (fixed dates, sorted)."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for name, path in sorted(members):
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, path.read_bytes())


def write_data(out: Path, processed: Path | None = None, root: Path = paths.ROOT) -> list[Path]:
    """Copy the tidy data named by ``datapackage.json`` into ``out`` and zip it with the notice."""
    processed = processed or paths.PROCESSED
    descriptor = processed / "datapackage.json"
    if not descriptor.exists():
        raise FileNotFoundError(f"{descriptor} is missing: run `make data` first")
    package = json.loads(descriptor.read_text(encoding="utf-8"))
    out.mkdir(parents=True, exist_ok=True)
    members = [("datapackage.json", descriptor)]
    for resource in package["resources"]:
        source = processed / resource["path"]
        if not source.exists():
            raise FileNotFoundError(f"{descriptor}: resource {resource['name']!r} names {source}, which is missing")
        members.append((resource["path"], source))
    written = []
    for name, source in members:
        shutil.copyfile(source, out / name)
        written.append(out / name)
    notice = root / "DATA-NOTICE.md"
    if not notice.exists():
        raise FileNotFoundError(f"{notice} is missing: the data's licences require their credits with the data")
    members.append(("DATA-NOTICE.md", notice))
    _write_zip(out / DATA_ZIP, members)
    return [*written, out / DATA_ZIP]


def to_notebook(source: Path, title: str):
    """One MyST page as a notebook without outputs, with a first cell saying how to run it."""
    import jupytext
    import nbformat

    nb = jupytext.read(source, fmt="md:myst")
    intro = nbformat.v4.new_markdown_cell(
        f"*{title}*: a page of the executable book *Under the Skin, re-examined: Community Planning "
        "in Scotland*, as a Jupyter notebook without outputs. Its code calls the book's `analysis` "
        "package: run it from the `book/` folder of the book's repository after `make setup` "
        "(kernel: the repository's `.venv`). Text CC BY 4.0; code MIT; data under the licences in "
        "`DATA-NOTICE.md`."
    )
    nb.cells.insert(0, intro)
    for number, cell in enumerate(nb.cells):  # stable ids: the same page gives the same file
        cell["id"] = f"cell-{number}"
    nb.metadata.pop("jupytext", None)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    nbformat.validate(nb)
    return nb


def write_notebooks(out: Path, root: Path = paths.ROOT) -> list[Path]:
    """Every page of the table of contents as ``<page>.ipynb`` in ``out``, plus ``notebooks.zip``."""
    import nbformat

    out.mkdir(parents=True, exist_ok=True)
    written = []
    for docname in toc_docnames(root):
        source = source_of(docname, root)
        nb = to_notebook(source, page_title(source))
        target = out / f"{Path(docname).name}.ipynb"
        target.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
        written.append(target)
    _write_zip(out / NOTEBOOK_ZIP, [(p.name, p) for p in written])
    return [*written, out / NOTEBOOK_ZIP]


# --------------------------------------------------------------------------------------------
# the Downloads page


def _size(path: Path) -> str:
    size = path.stat().st_size
    return f"{size / 1e6:.1f} MB" if size >= 1e5 else f"{max(1, round(size / 1e3))} kB"


def _table(caption: str, head: list[str], rows: list[list[str]]) -> str:
    th = "".join(f'<th scope="col">{html.escape(h)}</th>' for h in head)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return (f'<table class="table downloads"><caption>{html.escape(caption)}</caption>'
            f"<thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>")


def _link(href: str, text: str) -> str:
    return f'<a href="{html.escape(href)}" download>{html.escape(text)}</a>'


def notebook_table(root: Path = paths.ROOT, prefix: str = PAGE_PREFIX) -> str:
    """HTML table linking every page's notebook (for the Downloads page)."""
    rows = [[_link(f"{prefix}/notebooks/{NOTEBOOK_ZIP}", NOTEBOOK_ZIP), "every page below, in one zip file"]]
    for docname in toc_docnames(root):
        stem = Path(docname).name
        rows.append([_link(f"{prefix}/notebooks/{stem}.ipynb", f"{stem}.ipynb"),
                     html.escape(page_title(source_of(docname, root)))])
    return _table("Every page as a Jupyter notebook (MyST source converted with Jupytext, no outputs)",
                  ["File", "Page"], rows)


def data_table(processed: Path | None = None, prefix: str = PAGE_PREFIX) -> str:
    """HTML table linking every table of the tidy data and its descriptor (for the Downloads page)."""
    processed = processed or paths.PROCESSED
    package = json.loads((processed / "datapackage.json").read_text(encoding="utf-8"))
    rows = [
        [_link(f"{prefix}/data/{DATA_ZIP}", DATA_ZIP),
         "all the tables below with datapackage.json and the data notice", ""],
        [_link(f"{prefix}/data/datapackage.json", "datapackage.json"),
         "Frictionless Data descriptor: every table's columns, types and licences",
         _size(processed / "datapackage.json")],
    ]
    for resource in package["resources"]:
        rows.append([_link(f"{prefix}/data/{resource['path']}", resource["path"]),
                     html.escape(resource.get("description", resource.get("title", ""))),
                     _size(processed / resource["path"])])
    return _table("The tidy data (CSV, UTF-8) with its Frictionless descriptor",
                  ["File", "What it holds", "Size"], rows)


def pdf_link(prefix: str = PAGE_PREFIX) -> str:
    return _link(f"{prefix}/{PDF}", "The whole book as a PDF (book.pdf)")


# --------------------------------------------------------------------------------------------
# whether this build makes the PDF (decided before Sphinx builds the Downloads page)


def make_plan(want_pdf: bool = True) -> dict:
    """``{"pdf": True}`` when this build will print the PDF, else ``{"pdf": False, "reason": ...}``."""
    if not want_pdf:
        return {"pdf": False, "reason": "it was asked not to (--no-pdf)"}
    if pdf.find_chromium() is None:
        return {"pdf": False, "reason": pdf.missing_reason()}
    return {"pdf": True}


def status_markdown(plan: dict, prefix: str = PAGE_PREFIX) -> str:
    """What the Downloads page says about the PDF: a link to it, or that it was skipped and how to get it."""
    if plan["pdf"]:
        return (f"<p>{pdf_link(prefix)}: a title page and a contents page with page numbers, then every page in "
                "the order of the contents, printed from these HTML pages by a headless Chromium browser, with "
                "running heads and page numbers. It is a tagged PDF: its headings, paragraphs, lists, tables and "
                "links are marked for screen readers, each figure carries its alt text, and it has bookmarks for "
                "every page and heading and declares its language. Folded code is left folded; the notebooks "
                "below hold all of it.</p>\n")
    return ("**This copy of the book has no PDF.** The PDF is printed from these pages by a headless Chromium "
            f"browser, and the build that made this copy skipped it: {plan['reason']}. To make it, "
            f"{pdf.HOW_TO_GET}, then build the book again with `make book`.\n")


def write_plan(build_dir: Path, want_pdf: bool = True) -> dict:
    """Record whether this build makes the PDF and write the three parts the Downloads page includes:
    its text about the PDF (``pdf-status.md``) and its tables of notebooks and data. Each is rewritten
    only when its text changes, so Sphinx re-reads the page only then."""
    plan = make_plan(want_pdf)
    build_dir.mkdir(parents=True, exist_ok=True)
    (build_dir / PLAN).write_text(json.dumps(plan, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    _write_if_changed(build_dir / STATUS, status_markdown(plan))
    _write_if_changed(build_dir / NOTEBOOK_TABLE, f"```{{raw}} html\n{notebook_table()}\n```\n")
    _write_if_changed(build_dir / DATA_TABLE, f"```{{raw}} html\n{data_table()}\n```\n")
    return plan


def _write_if_changed(path: Path, text: str) -> None:
    """Write ``text`` unless ``path`` holds it already (Sphinx re-reads the including page only then)."""
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def read_plan(build_dir: Path) -> dict:
    path = build_dir / PLAN
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: the Downloads page is built after it; run `make book`")
    return json.loads(path.read_text(encoding="utf-8"))


def pdf_entries(root: Path = paths.ROOT) -> list[pdf.Entry]:
    """The table of contents as the PDF's contents page lists it."""
    return [pdf.Entry(e.docname, page_title(source_of(e.docname, root)), e.number, e.depth, e.part)
            for e in toc_entries(root)]


# --------------------------------------------------------------------------------------------
# command line


def _digest(files: dict[str, Path]) -> str:
    """SHA-256 over the named files' contents, and the code that makes the downloads."""
    h = hashlib.sha256(Path(__file__).read_bytes() + Path(pdf.__file__).read_bytes())
    for name, path in sorted(files.items()):
        h.update(name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def input_keys(html_dir: Path = HTML, root: Path = paths.ROOT, processed: Path | None = None) -> dict[str, str]:
    """What each kind of download is made from, as a key: unchanged inputs mean nothing to redo."""
    processed = processed or paths.PROCESSED
    config = {name: root / name for name in ("_toc.yml", "_config.yml", "DATA-NOTICE.md") if (root / name).exists()}
    front = {name: root / name for name in ("CITATION.cff", "pyproject.toml") if (root / name).exists()}
    data = {f"processed/{p.name}": p for p in processed.glob("*") if p.is_file()} if processed.exists() else {}
    sources = {d: source_of(d, root) for d in toc_docnames(root)}
    site = {p.relative_to(html_dir).as_posix(): p for p in html_dir.rglob("*")
            if p.is_file() and p.relative_to(html_dir).parts[0] != DOWNLOADS}
    return {
        "data": _digest({**data, **config}),
        "notebooks": _digest({**sources, **config}),
        "pdf": _digest({**site, **config, **front}),
    }


def build(
    html_dir: Path = HTML, pdf: bool = True, root: Path = paths.ROOT, force: bool = False
) -> dict[str, list[Path] | str]:
    """Write the downloads into ``html_dir/_downloads``, redoing only those whose inputs changed.

    ``pdf`` is whether the plan (:func:`write_plan`) says this build makes the PDF. Returns the files
    written for each kind (none when current), or for a skipped PDF the reason it was skipped.
    """
    if not (html_dir / "index.html").exists():
        raise FileNotFoundError(f"{html_dir} holds no built book: run `make book` first")
    out = html_dir / DOWNLOADS
    stamp = html_dir.parent / ".downloads-keys.json"
    previous = json.loads(stamp.read_text()) if stamp.exists() and not force else {}
    keys = input_keys(html_dir, root)
    targets = {"data": out / "data", "notebooks": out / "notebooks", "pdf": out / PDF}
    makers = {
        "data": lambda: write_data(targets["data"], root=root),
        "notebooks": lambda: write_notebooks(targets["notebooks"], root=root),
        "pdf": lambda: [write_book_pdf(targets["pdf"], html_dir, root)],
    }
    written: dict[str, list[Path] | str] = {}
    for kind, target in targets.items():
        if kind == "pdf" and not pdf:
            target.unlink(missing_ok=True)  # no stale PDF beside a page that says there is none
            previous.pop(kind, None)
            stamp.write_text(json.dumps(previous, indent=1, sort_keys=True))
            continue
        if previous.get(kind) == keys[kind] and target.exists():
            written[kind] = []  # current: inputs unchanged since it was made
            continue
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
        previous.pop(kind, None)
        stamp.write_text(json.dumps(previous, indent=1, sort_keys=True))  # no stale key while remaking
        written[kind] = makers[kind]()
        previous[kind] = keys[kind]
        stamp.write_text(json.dumps(previous, indent=1, sort_keys=True))
    return written


def write_book_pdf(target: Path, html_dir: Path = HTML, root: Path = paths.ROOT) -> Path:
    """The book as one PDF (:func:`tools.pdf.write_pdf`), its printed pages cached beside ``html_dir``."""
    entries = pdf_entries(root)
    info = pdf.book_info(root, html_dir / f"{entries[0].docname}.html")
    report = pdf.write_pdf(target, html_dir, entries, info, html_dir.parent / PDF_CACHE)
    timing = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in report.seconds.items())
    print(f"downloads: pdf: {report.pages} pages; {len(report.printed)} document(s) printed, "
          f"{len(report.cached)} from the cache ({timing})", flush=True)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.downloads", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--html", type=Path, default=HTML, help="the built HTML book (default: _build/html)")
    parser.add_argument("--no-pdf", action="store_true", help="skip the PDF (it needs Chromium)")
    parser.add_argument("--plan", action="store_true",
                        help="before Sphinx: decide whether this build makes the PDF and write the Downloads "
                             "page's text about it (make book runs this)")
    parser.add_argument("--force", action="store_true", help="remake every download even if its inputs are unchanged")
    args = parser.parse_args(argv)
    build_dir = args.html.parent
    if args.plan:
        write_plan(build_dir, want_pdf=not args.no_pdf)
        return 0
    start = time.perf_counter()
    try:
        plan = read_plan(build_dir)
        expected = make_plan(want_pdf=not args.no_pdf)
        if plan["pdf"] and not expected["pdf"]:
            raise pdf.BrowserMissing(f"the Downloads page links to the PDF, but {expected['reason']}: "
                                     f"{pdf.HOW_TO_GET}, or run `make book DOWNLOADS_FLAGS=--no-pdf`")
        if expected["pdf"] and not plan["pdf"]:
            raise FileNotFoundError("the Downloads page says this build has no PDF, but it could print one now: "
                                    "run `make book` so that the page links to it")
        written = build(args.html, pdf=plan["pdf"], force=args.force)
    except FileNotFoundError as exc:  # BrowserMissing included
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for kind, files in written.items():
        if not files:
            print(f"downloads: {kind}: current (inputs unchanged)")
            continue
        total = sum(f.stat().st_size for f in files)
        print(f"downloads: {kind}: {len(files)} file(s), {total / 1e6:.1f} MB")
    if not plan["pdf"]:
        print(f"downloads: pdf: SKIPPED, this build has no PDF: {plan['reason']}; to make it, {pdf.HOW_TO_GET}, "
              "then run `make book` again", flush=True)
    print(f"downloads written to {args.html / DOWNLOADS} in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
