"""Downloads offered with the HTML book: the tidy data, every chapter as a notebook, the book as a PDF.

``python -m analysis.downloads`` (``make downloads``, run by ``make book`` after the HTML build)
writes into ``_build/html/_downloads/``:

``data/``              every table of the tidy data as CSV with its Frictionless ``datapackage.json``,
                       and all of them (with ``DATA-NOTICE.md``) in ``cpp-tidy-data.zip``
``notebooks/``         every page of the table of contents as a Jupyter notebook (converted from its
                       MyST source with Jupytext, without outputs), and all of them in ``notebooks.zip``
``book.pdf``           the whole book, each page printed by the local Chromium (no LaTeX) and merged
                       in table-of-contents order with a bookmark per page

The book's Downloads page (``book/downloads.md``) links to these files with :func:`notebook_table`
and :func:`data_table`, which it calls while the book is built.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import html
import http.server
import io
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import yaml

from . import paths

HTML = paths.ROOT / "_build" / "html"
#: Where the files go inside the HTML output, and the link prefix from a page in ``book/``.
DOWNLOADS = "_downloads"
PAGE_PREFIX = "../" + DOWNLOADS
DATA_ZIP = "cpp-tidy-data.zip"
NOTEBOOK_ZIP = "notebooks.zip"
PDF = "book.pdf"
#: Chromium used to print the PDF (Debian's package); override with the CHROMIUM variable.
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
#: Flags that let headless Chromium run as root on a machine with no network but loopback.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
#: Fixed timestamp for zip members, so the same inputs give the same zip bytes.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


# --------------------------------------------------------------------------------------------
# the table of contents


def _glob_docs(pattern: str, root: Path) -> list[str]:
    """Pages matched by a toc ``glob`` entry, as Sphinx matches them (``*`` stops at ``/``)."""
    from sphinx.util.matching import patfilter

    static = re.split(r"[*?\[]", pattern, maxsplit=1)[0]
    folder = root / static.rsplit("/", 1)[0] if "/" in static else root
    docs = [p.relative_to(root).with_suffix("").as_posix() for p in folder.rglob("*")
            if p.suffix in (".md", ".ipynb") and ".ipynb_checkpoints" not in p.parts]
    return sorted(patfilter(docs, pattern))


def toc_docnames(root: Path = paths.ROOT) -> list[str]:
    """Every page of ``_toc.yml`` in reading order (``book/executive-summary``, ``book/ch01-…``, …).

    ``glob`` entries are expanded as sphinx-external-toc does: matching pages in sorted order, less
    the page that holds the entry and pages an earlier glob took.
    """
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    strip = functools.partial(re.sub, r"\.(md|ipynb)$", "")
    names = [strip(str(toc["root"]))]
    globbed: set[str] = set()

    def walk(entries: list[dict], parent: str) -> None:
        for entry in entries or []:
            current = parent
            if "file" in entry:
                current = strip(str(entry["file"]))
                names.append(current)
            elif "glob" in entry:
                for doc in _glob_docs(str(entry["glob"]), root):
                    if doc != parent and doc not in globbed:
                        globbed.add(doc)
                        names.append(doc)
            for key in ("chapters", "sections"):
                walk(entry.get(key, []), current)

    for part in toc.get("parts", []):
        walk(part.get("chapters", []), names[0])
    walk(toc.get("chapters", []), names[0])
    return names


def page_title(source: Path) -> str:
    """The first level-1 heading of a MyST page (its title in the book)."""
    text = source.read_text(encoding="utf-8")
    text = re.sub(r"\A---\n.*?\n---\n", "", text, flags=re.S)
    for line in text.splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    raise ValueError(f"{source}: no level-1 heading ('# Title') to use as the page title")


def source_of(docname: str, root: Path = paths.ROOT) -> Path:
    path = root / f"{docname}.md"
    if not path.exists():
        raise FileNotFoundError(f"_toc.yml names {docname!r} but {path} does not exist")
    return path


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
# the PDF


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


@contextlib.contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Serve ``directory`` on a free localhost port for the duration; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM", CHROMIUM)
    if not Path(path).exists():
        raise FileNotFoundError(
            f"Chromium not found at {path}: install Debian's package (apt-get install -y chromium) "
            "or set CHROMIUM to a Chromium binary; `make downloads DOWNLOADS_FLAGS=--no-pdf` skips the PDF"
        )
    return path


@contextlib.contextmanager
def browser() -> Iterator[object]:
    """Headless Chromium through Playwright, with its own empty profile."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="cpp-chromium-") as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield context
        finally:
            context.close()


WAIT_FOR_MATHS = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  await document.fonts.ready;
  return true;
}"""


PDF_OPTIONS = {"format": "A4", "print_background": True, "outline": True, "tagged": True,
               "margin": {"top": "15mm", "bottom": "15mm", "left": "15mm", "right": "15mm"}}
#: Open folded prose (dropdowns) so no text is cut; folded code (myst-nb's details.hide) stays
#: folded, as on screen: the notebooks hold all of it.
OPEN_DETAILS = "() => document.querySelectorAll('details:not(.hide)').forEach(d => d.open = true)"


async def _print_pages(urls: list[str], workers: int) -> list[bytes]:
    """Each URL printed to PDF by Chromium, ``workers`` tabs at a time; in the order given.

    Each tab has its own browser context, so Chromium renders the tabs in separate processes
    (tabs of one site in one context would share a renderer and print one after the other).
    """
    import asyncio

    from playwright.async_api import async_playwright

    printed: list[bytes | None] = [None] * len(urls)
    todo = list(enumerate(urls))
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)

        async def tab() -> None:
            context = await browser.new_context()
            page = await context.new_page()
            await page.emulate_media(media="print")
            while todo:
                index, url = todo.pop(0)
                await page.goto(url, wait_until="load")
                await page.evaluate(WAIT_FOR_MATHS)
                await page.evaluate(OPEN_DETAILS)
                printed[index] = await page.pdf(**PDF_OPTIONS)
            await context.close()

        try:
            await asyncio.gather(*(tab() for _ in range(max(1, min(workers, len(urls))))))
        finally:
            await browser.close()
    return [p for p in printed if p is not None]


def write_pdf(target: Path, html_dir: Path = HTML, root: Path = paths.ROOT, workers: int | None = None) -> Path:
    """Print every page of the table of contents with Chromium (one tab per CPU) and merge them
    into ``target`` in contents order, with a bookmark per page."""
    import asyncio

    from pypdf import PdfWriter
    from pypdf.generic import NameObject, TextStringObject

    pages = toc_docnames(root)
    missing = [d for d in pages if not (html_dir / f"{d}.html").exists()]
    if missing:
        raise FileNotFoundError(f"{html_dir} has no HTML for {missing}: build the book first (make book)")
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    with serve(html_dir) as base:
        printed = asyncio.run(_print_pages([base + f"{d}.html" for d in pages], workers or os.cpu_count() or 1))
    if len(printed) != len(pages):
        raise RuntimeError(f"Chromium printed {len(printed)} of the book's {len(pages)} pages")
    writer = PdfWriter()
    for docname, pdf in zip(pages, printed, strict=True):
        writer.append(io.BytesIO(pdf), outline_item=page_title(source_of(docname, root)))
    writer.add_metadata({
        "/Title": config.get("title", "Book"),
        "/Author": config.get("author", ""),
        "/Subject": "The executable book as a PDF, printed from its HTML pages with Chromium",
    })
    writer.root_object[NameObject("/Lang")] = TextStringObject("en")
    writer.page_mode = "/UseOutlines"
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as fh:
        writer.write(fh)
    return target


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
# command line


def _digest(files: dict[str, Path]) -> str:
    """SHA-256 over the named files' contents, and this module's own code."""
    h = hashlib.sha256(Path(__file__).read_bytes())
    for name, path in sorted(files.items()):
        h.update(name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def input_keys(html_dir: Path = HTML, root: Path = paths.ROOT, processed: Path | None = None) -> dict[str, str]:
    """What each kind of download is made from, as a key: unchanged inputs mean nothing to redo."""
    processed = processed or paths.PROCESSED
    config = {name: root / name for name in ("_toc.yml", "_config.yml", "DATA-NOTICE.md") if (root / name).exists()}
    data = {f"processed/{p.name}": p for p in processed.glob("*") if p.is_file()} if processed.exists() else {}
    sources = {d: source_of(d, root) for d in toc_docnames(root)}
    site = {p.relative_to(html_dir).as_posix(): p for p in html_dir.rglob("*")
            if p.is_file() and p.relative_to(html_dir).parts[0] != DOWNLOADS}
    return {
        "data": _digest({**data, **config}),
        "notebooks": _digest({**sources, **config}),
        "pdf": _digest({**site, **config}),
    }


def build(
    html_dir: Path = HTML, pdf: bool = True, root: Path = paths.ROOT, force: bool = False
) -> dict[str, list[Path]]:
    """Write the downloads into ``html_dir/_downloads``, redoing only those whose inputs changed."""
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
        "pdf": lambda: [write_pdf(targets["pdf"], html_dir, root)],
    }
    written: dict[str, list[Path]] = {}
    for kind, target in targets.items():
        if kind == "pdf" and not pdf:
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis.downloads", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--html", type=Path, default=HTML, help="the built HTML book (default: _build/html)")
    parser.add_argument("--no-pdf", action="store_true", help="skip the PDF (it needs Chromium)")
    parser.add_argument("--force", action="store_true", help="remake every download even if its inputs are unchanged")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        written = build(args.html, pdf=not args.no_pdf, force=args.force)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for kind, files in written.items():
        if not files:
            print(f"downloads: {kind}: current (inputs unchanged)")
            continue
        total = sum(f.stat().st_size for f in files)
        print(f"downloads: {kind}: {len(files)} file(s), {total / 1e6:.1f} MB")
    print(f"downloads written to {args.html / DOWNLOADS} in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
