"""The book as one accessible PDF: printed page by page by headless Chromium, cached, merged with its tags.

:func:`write_pdf` (called by ``python -m tools.downloads``, that is ``make downloads``, after
Sphinx has built ``_build/html``) makes ``_build/html/_downloads/book.pdf`` in five steps.

1. **Each page, printed.** Every page of the table of contents is served from ``_build/html`` on a
   localhost port and printed by Chromium through Playwright (one tab per CPU, each tab in its own
   browser context, so in its own renderer), with the print style sheet, its maths typeset and its
   folded prose opened, as a *tagged* PDF with an outline of its headings (``page.pdf(tagged=True,
   outline=True)``): headings, paragraphs, lists, tables with their header cells, links, and each
   figure with its alt text. Each printed page is kept in ``_build/.pdf-cache/<key>.pdf``. The key
   is a SHA-256 of the page's HTML, of every local file the HTML loads (style sheets, scripts,
   images), of the print settings below and of Chromium's version, so an edit to one page reprints
   that page only.
2. **Front matter.** A title page (title, authors, version, date, abstract, licences and how to
   cite, read from ``CITATION.cff``, ``_config.yml`` and the package's version) and a contents page
   listing every page with the number of the page it starts on (known once step 1 is done) are
   written as one HTML document and printed the same way, cached on that HTML.
3. **Running heads and page numbers.** One HTML document with a sheet per page of the PDF, holding
   only that page's running head (the page's title and the book's) and its number, is printed
   untagged in one pass (cached on its HTML) and laid over the printed pages as pagination
   artifacts, which keeps them out of the tag tree as PDF/UA asks. The book is numbered 1, 2, ...
   from its first page and the front matter i, ii, ...; the PDF's page labels say the same.
4. **Merge** with pikepdf (pypdf's merge drops the structure tree): the pages in order; each
   printed part's structure tree becomes a ``Part`` element of one ``Document`` element, its parent
   tree keys renumbered and its element IDs prefixed so that table cells still name their own
   header cells; its named destinations are prefixed with the page's name. Chromium prints links to
   other pages of the book as links to the local server: they become links inside the PDF, to the
   anchor when Chromium made a destination for it and else to the start of that page. Links to
   files only the website serves (the downloads) are removed, leaving their text. Every link is
   given a description of where it goes (its ``Contents``, as PDF/UA asks).
5. **Catalogue.** An outline (bookmarks) with one entry per page and Chromium's entries for that
   page's headings below it, the page labels, the document language (the HTML's ``lang``),
   ``MarkInfo``, the title, author, subject and keywords in the document information and the XMP
   metadata, and a viewer setting to show the title rather than the file name.

Chromium is Debian's package (``/usr/bin/chromium``) or the binary named by ``CHROMIUM``;
``python -m tools.pdf browser`` (``make browser``) installs Debian's package when it is absent
and this runs as root. No PyPI package ships a Chromium that works here: Playwright's and
pyppeteer's download their browser at run time, and the wheels that do bundle one (kaleido 0.2)
bundle a special build without the DevTools printing this needs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import functools
import hashlib
import html
import http.server
import importlib.metadata
import io
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from analysis import paths

# --------------------------------------------------------------------------------------------
# the browser

#: Debian's Chromium, which ``make browser`` installs when it is absent and it runs as root.
DEBIAN_CHROMIUM = "/usr/bin/chromium"
#: Other names a Chromium goes by on PATH, tried after Debian's path when CHROMIUM is not set.
OTHER_NAMES = ("chromium", "chromium-browser", "google-chrome-stable", "google-chrome", "chrome-headless-shell")
#: Flags that let headless Chromium run as root on a machine with no network but loopback.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
HOW_TO_GET = ("as root, run `apt-get install -y chromium` (or `make book`, which does), "
              "or set CHROMIUM to a Chromium binary")


class BrowserMissing(FileNotFoundError):
    """No Chromium to print with; the message says why and how to get one."""


def browser_required() -> bool:
    """Whether a missing browser must fail the tests rather than skip them: in CI, and under ``make test``."""
    return any(os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")
               for name in ("CI", "CPP_REQUIRE_BROWSER"))


def _executable(path: str) -> bool:
    return Path(path).is_file() and os.access(path, os.X_OK)


def find_chromium() -> str | None:
    """The Chromium to use: ``CHROMIUM`` if it is set (and only that), else Debian's, else one on PATH."""
    explicit = os.environ.get("CHROMIUM", "").strip()
    if explicit:
        return explicit if _executable(explicit) else None
    for candidate in (DEBIAN_CHROMIUM, *(shutil.which(name) for name in OTHER_NAMES)):
        if candidate and _executable(candidate):
            return candidate
    return None


def missing_reason() -> str:
    """Why :func:`find_chromium` found nothing (and, not being root, cannot install it), in a few words."""
    explicit = os.environ.get("CHROMIUM", "").strip()
    if explicit:
        return f"CHROMIUM={explicit} is not an executable file"
    reason = f"no Chromium at {DEBIAN_CHROMIUM} or on PATH"
    return reason if os.geteuid() == 0 else reason + ", and only root can install Debian's package"


def chromium_path() -> str:
    """The Chromium to print with, or :class:`BrowserMissing` saying how to get one."""
    found = find_chromium()
    if found is None:
        raise BrowserMissing(f"{missing_reason()}: {HOW_TO_GET}")
    return found


def can_install() -> bool:
    """Debian's package can be installed here: running as root, with apt-get, and CHROMIUM not set elsewhere."""
    return os.geteuid() == 0 and shutil.which("apt-get") is not None and not os.environ.get("CHROMIUM", "").strip()


def install_debian_chromium() -> str | None:
    """``apt-get update`` then ``apt-get install -y chromium``, non-interactive; the error's last line, if any."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        result = subprocess.run(command, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            lines = (result.stderr or result.stdout).strip().splitlines() or ["(no output)"]
            return f"`{' '.join(command)}` failed (exit {result.returncode}): {lines[-1]}"
    return None


def ensure_browser(require: bool = False) -> str | None:
    """Chromium's path, installing Debian's package first when it is absent and that is possible.

    Quick when Chromium is present (nothing is run). When it cannot be had, returns None (the
    downloads step then says that the PDF was skipped), or with ``require`` raises
    :class:`BrowserMissing`.
    """
    found = find_chromium()
    if found:
        return found
    reason = missing_reason()
    if can_install():
        print("browser: installing Debian's chromium (apt-get install -y chromium) ...", flush=True)
        failure = install_debian_chromium()
        found = find_chromium()
        if found:
            print(f"browser: {found} installed", flush=True)
            return found
        reason = failure or f"apt-get installed chromium but {DEBIAN_CHROMIUM} is still absent"
    if require:
        raise BrowserMissing(f"{reason}: {HOW_TO_GET}")
    return None


# --------------------------------------------------------------------------------------------
# printing


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass

    def end_headers(self) -> None:
        # The files do not change while they are served, so each tab's browser context keeps what it
        # has loaded (the theme's style sheets and scripts, the same on every page) instead of asking
        # again for every page it prints.
        self.send_header("Cache-Control", "max-age=3600")
        super().end_headers()


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


WAIT_FOR_MATHS = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  await document.fonts.ready;
  return true;
}"""
#: Before printing a page of the book: open folded prose (dropdowns) so no text is cut, while folded
#: code (myst-nb's details.hide) stays folded, as on screen (the notebooks hold all of it); and make
#: each <figure> around an image a group, so that the image is the PDF's Figure element, with its alt
#: text, beside its Caption (left alone, Chromium tags the <figure> as a second Figure without one).
PREPARE_PAGE = """() => {
  document.querySelectorAll('details:not(.hide)').forEach(d => d.open = true);
  document.querySelectorAll('figure').forEach(f => {
    if (f.querySelector('img[alt]:not([alt=""])')) f.setAttribute('role', 'group');
  });
}"""
#: Margins leave room above and below the text for the running head and the page number.
MARGIN = {"top": "18mm", "bottom": "17mm", "left": "15mm", "right": "15mm"}
PAGE_OPTIONS = {"format": "A4", "print_background": True, "outline": True, "tagged": True, "margin": MARGIN}
HEADS_OPTIONS = {"format": "A4", "print_background": False, "outline": False, "tagged": False,
                 "prefer_css_page_size": True, "margin": {"top": "0", "bottom": "0", "left": "0", "right": "0"}}
#: Where the generated documents (front matter, running heads) are served from, on the local server.
FRONT_URL = "pdf-front-matter.html"
HEADS_URL = "pdf-running-heads.html"
#: Local files whose bytes go into a page's cache key (what the HTML loads; not the pages it links to).
ASSET_SUFFIXES = {".css", ".js", ".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".woff", ".woff2", ".ttf"}
#: Loaded by every page but printed by none: Sphinx's search index changes with any page's text, and
#: keying on it would reprint every page after an edit to one.
NOT_PRINTED = {"searchindex.js"}


@dataclass
class Job:
    """One document to print: the page at ``url`` (or ``html`` served there from memory)."""

    name: str
    url: str
    options: dict
    key: str = ""
    html: str | None = None
    prepare: bool = True
    pdf: bytes | None = None


async def _print_one(page, job: Job) -> bytes:
    if job.html is not None:
        body = job.html.encode("utf-8")

        async def from_memory(route) -> None:
            await route.fulfill(body=body, content_type="text/html; charset=utf-8")

        await page.route(job.url, from_memory)
    try:
        await page.goto(job.url, wait_until="load")
        await page.evaluate(WAIT_FOR_MATHS)
        if job.prepare:
            await page.evaluate(PREPARE_PAGE)
        return await page.pdf(**job.options)
    finally:
        if job.html is not None:
            await page.unroute(job.url)


async def _print_jobs(browser, jobs: list[Job], workers: int) -> None:
    """Print every job (into ``job.pdf``), ``workers`` tabs at a time, each tab in its own context."""
    queue = list(jobs)

    async def tab() -> None:
        context = await browser.new_context()
        page = await context.new_page()
        await page.emulate_media(media="print")
        try:
            while queue:
                job = queue.pop(0)
                job.pdf = await _print_one(page, job)
        finally:
            await context.close()

    if jobs:
        await asyncio.gather(*(tab() for _ in range(max(1, min(workers, len(jobs))))))


class PdfCache:
    """Printed documents in ``folder/<key>.pdf``; :meth:`prune` removes those this build did not use."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.used: set[str] = set()

    def get(self, key: str) -> bytes | None:
        self.used.add(key)
        path = self.folder / f"{key}.pdf"
        return path.read_bytes() if path.exists() else None

    def put(self, key: str, data: bytes) -> None:
        self.used.add(key)
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f".{key}.{os.getpid()}.tmp"
        tmp.write_bytes(data)
        tmp.replace(self.folder / f"{key}.pdf")

    def prune(self) -> None:
        for path in self.folder.glob("*.pdf"):
            if path.stem not in self.used:
                path.unlink()


def _sha(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()


def page_key(page: Path, html_dir: Path, settings: str, assets: dict[Path, bytes] | None = None) -> str:
    """Cache key of one printed page: its HTML, the local files it loads, the print settings."""
    assets = {} if assets is None else assets
    text = page.read_bytes()
    parts = [settings.encode(), text]
    for ref in sorted(set(re.findall(rb'(?:src|href)="([^"#?]+)', text))):
        target = (page.parent / ref.decode("utf-8", "replace")).resolve()
        if (target.suffix.lower() not in ASSET_SUFFIXES or target.name in NOT_PRINTED
                or not target.is_relative_to(html_dir.resolve())):
            continue
        if target not in assets:
            assets[target] = hashlib.sha256(target.read_bytes()).digest() if target.is_file() else b"missing"
        parts += [ref, assets[target]]
    return _sha(*parts)


def print_settings(chromium_version: str) -> str:
    """Everything besides the page that decides what Chromium prints."""
    return json.dumps({"chromium": chromium_version, "args": CHROMIUM_ARGS, "options": PAGE_OPTIONS,
                       "heads": HEADS_OPTIONS, "scripts": [WAIT_FOR_MATHS, PREPARE_PAGE]}, sort_keys=True)


# --------------------------------------------------------------------------------------------
# what the title page says


@dataclass(frozen=True)
class Entry:
    """One page of the table of contents."""

    docname: str
    title: str
    number: str = ""  # "3" for the third chapter of a numbered part
    depth: int = 0  # 0 for a chapter, 1 for a section of one
    part: str = ""  # the caption of the part this page opens

    @property
    def heading(self) -> str:
        return f"{self.number}. {self.title}" if self.number else self.title


#: Names of the SPDX licence identifiers CITATION.cff uses (an unknown identifier is shown as it is).
SPDX_NAMES = {
    "MIT": "MIT License",
    "CC-BY-4.0": "Creative Commons Attribution 4.0 International (CC BY 4.0)",
    "OGL-UK-3.0": "Open Government Licence v3.0",
}


@dataclass(frozen=True)
class BookInfo:
    """What the title page and the PDF's metadata say, read from the repository's own files."""

    title: str
    authors: list[str]
    version: str
    date: datetime.date
    abstract: str
    licences: list[str]
    licence_note: str
    cite_message: str
    citation: str
    references: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    lang: str = "en"

    @property
    def subject(self) -> str:
        """The abstract's first sentence."""
        return re.split(r"(?<=[.!?])\s+", self.abstract, maxsplit=1)[0]


def package_version(root: Path = paths.ROOT) -> str:
    """The version of the book's Python package (the installed metadata, else pyproject.toml)."""
    try:
        return importlib.metadata.version("cpp-analysis")
    except importlib.metadata.PackageNotFoundError:
        import tomllib

        return tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


def build_date() -> datetime.date:
    """Today, or SOURCE_DATE_EPOCH's date when that is set (reproducible builds)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        return datetime.datetime.fromtimestamp(int(epoch), tz=datetime.UTC).date()
    return datetime.date.today()


def _people(people: list[dict]) -> list[str]:
    names = []
    for person in people or []:
        if "name" in person:
            names.append(str(person["name"]))
        else:
            names.append(" ".join(str(person[k]) for k in ("given-names", "family-names") if k in person))
    return names


def _author(person: dict) -> str:
    """A person as "Stevenson, R."; an organisation or a group by its name."""
    if "family-names" not in person:
        return str(person.get("name", ""))
    initials = " ".join(f"{name[0]}." for name in str(person.get("given-names", "")).split())
    return f"{person['family-names']}, {initials}" if initials else str(person["family-names"])


def _reference(ref: dict) -> str:
    """One entry of CITATION.cff's references as a citation (authors, year, title, institution)."""
    authors = [_author(person) for person in ref.get("authors", [])]
    institution = (ref.get("institution") or {}).get("name", "")
    text = f"{' and '.join(authors)} ({ref.get('year', 'n.d.')}). {' '.join(str(ref['title']).split())}."
    return f"{text} {institution}." if institution else text


def book_info(root: Path = paths.ROOT, page: Path | None = None) -> BookInfo:
    """The title page's facts: CITATION.cff (title, authors, abstract, licences, how to cite), the
    package version, the build date, _config.yml's footer (which licence covers what) and the language
    of the HTML ``page`` (``<html lang>``; "en" without a page)."""
    cff_path = root / "CITATION.cff"
    if not cff_path.exists():
        raise FileNotFoundError(f"{cff_path} is missing: the title page reads the title, authors and licences from it")
    cff = yaml.safe_load(cff_path.read_text(encoding="utf-8"))
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    footer = re.sub(r"<[^>]+>", " ", str((config.get("html") or {}).get("extra_footer", "")))
    sentences = re.split(r"(?<=\.)\s+", " ".join(footer.split()))
    footer = " ".join(s for s in sentences if s and not s.startswith("Book version"))  # the version is shown apart
    version = package_version(root)
    date = build_date()
    authors = _people(cff.get("authors", []))
    title = " ".join(str(cff.get("title") or config.get("title", "")).split())
    released = cff.get("date-released")
    year = released.year if isinstance(released, datetime.date) else date.year
    citation = f"{' and '.join(authors)} ({year}). {title}. Version {version}."
    lang = "en"
    if page is not None:
        match = re.search(r'<html[^>]*\blang="([^"]+)"', page.read_text(encoding="utf-8", errors="replace"))
        lang = match.group(1) if match else lang
    return BookInfo(
        title=title, authors=authors, version=version, date=date,
        abstract=" ".join(str(cff.get("abstract", "")).split()),
        licences=[SPDX_NAMES.get(str(spdx), str(spdx)) for spdx in cff.get("license", [])],
        licence_note=footer, cite_message=" ".join(str(cff.get("message", "")).split()), citation=citation,
        references=[_reference(r) for r in cff.get("references", [])],
        keywords=[str(k) for k in cff.get("keywords", [])], lang=lang,
    )


# --------------------------------------------------------------------------------------------
# the generated documents: front matter and running heads

FRONT_CSS = """
@page { size: A4; }
body { font-family: sans-serif; color: #1a1a1a; font-size: 10.5pt; line-height: 1.45; margin: 0; }
.title-page { break-after: page; padding-top: 30mm; }
.title-page h1 { font-size: 26pt; line-height: 1.2; margin: 0 0 6mm; }
.title-page .authors { font-size: 13pt; margin: 0 0 2mm; }
.title-page .version { font-size: 11pt; color: #333; margin: 0 0 14mm; }
.title-page h2 { font-size: 11pt; margin: 7mm 0 1.5mm; }
.title-page p { margin: 0 0 2mm; }
.contents h1 { font-size: 20pt; margin: 0 0 6mm; }
.contents ol { list-style: none; margin: 0; padding: 0; }
.contents ol ol { padding-left: 6mm; }
.contents .part { font-size: 11pt; margin: 4mm 0 1mm; break-after: avoid; }
.contents a { break-inside: avoid; display: flex; align-items: baseline; gap: 2mm; color: inherit;
              text-decoration: none; padding: 0.4mm 0; }
.contents .leader { flex: 1; border-bottom: 0.6pt dotted #777; }
.contents .page { min-width: 8mm; text-align: right; }
"""

HEADS_CSS = """
@page { size: A4; margin: 0; }
html, body { margin: 0; padding: 0; }
body { font-family: sans-serif; color: #444; }
.sheet { position: relative; width: 210mm; height: 296mm; overflow: hidden; break-after: page; }
.sheet:last-child { break-after: auto; }
.head { position: absolute; top: 8mm; left: 15mm; right: 15mm; display: flex; justify-content: space-between;
        gap: 8mm; font-size: 8pt; border-bottom: 0.4pt solid #999; padding-bottom: 1.2mm; }
.head span { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.foot { position: absolute; bottom: 8mm; left: 0; right: 0; text-align: center; font-size: 9pt; color: #222; }
"""


def roman(number: int) -> str:
    """1 → i, 4 → iv, 14 → xiv (lower case, as the page labels show the front matter)."""
    out = ""
    for value, letters in ((1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"), (50, "l"),
                           (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")):
        count, number = divmod(number, value)
        out += letters * count
    return out


def _document(lang: str, title: str, css: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="{html.escape(lang)}"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title><style>{css}</style></head>\n<body>\n{body}\n</body></html>\n")


def front_matter_html(info: BookInfo, entries: list[Entry], starts: dict[str, int]) -> str:
    """The title page and the contents (each page's title and the number of the page it starts on)."""
    e = html.escape
    licences = "; ".join(e(name) for name in info.licences)
    references = "".join(f"<p>{e(ref)}</p>" for ref in info.references)
    title_page = f"""<section class="title-page" aria-label="Title page">
<h1>{e(info.title)}</h1>
<p class="authors">{e(", ".join(info.authors))}</p>
<p class="version">Version {e(info.version)}, printed on {info.date.day} {info.date:%B %Y}</p>
<p>{e(info.abstract)}</p>
<h2>Licences</h2>
<p>{licences}. {e(info.licence_note)}</p>
<h2>How to cite</h2>
<p>{e(info.cite_message)}</p>
<p>{e(info.citation)}</p>
{references}
</section>"""
    groups: list[tuple[str, list]] = []  # (part caption or "", its chapters); a chapter is (entry, sections)
    path: list[tuple[Entry, list]] = []  # the chapter and sections the last entry sits in
    for entry in entries:
        if entry.part or not groups:
            groups.append((entry.part, []))
        node: tuple[Entry, list] = (entry, [])
        siblings = groups[-1][1] if entry.depth == 0 or not path else path[min(entry.depth, len(path)) - 1][1]
        siblings.append(node)
        path[entry.depth:] = [node]

    def listed(nodes: list) -> str:
        return "".join(
            f'<li><a href="{e(entry.docname)}.html"><span class="title">{e(entry.heading)}</span>'
            f'<span class="leader" aria-hidden="true"></span><span class="page">{starts[entry.docname]}</span></a>'
            + (f"<ol>{listed(sections)}</ol>" if sections else "") + "</li>"
            for entry, sections in nodes)

    items = "".join(f'<li><h2 class="part">{e(caption)}</h2><ol>{listed(nodes)}</ol></li>' if caption
                    else listed(nodes) for caption, nodes in groups)
    contents = f"""<nav class="contents" aria-labelledby="contents-title">
<h1 id="contents-title">Contents</h1>
<ol>{items}</ol>
</nav>"""
    return _document(info.lang, f"{info.title}: title page and contents", FRONT_CSS, title_page + "\n" + contents)


@dataclass(frozen=True)
class Sheet:
    """What is printed over one page of the PDF: a running head (left, right) and a page number."""

    left: str = ""
    right: str = ""
    number: str = ""


def running_heads_html(sheets: list[Sheet], lang: str, title: str) -> str:
    """One A4 sheet per page of the PDF, with only its running head and its number on it."""
    e = html.escape
    body = "\n".join(
        '<div class="sheet">'
        + (f'<div class="head"><span>{e(s.left)}</span><span>{e(s.right)}</span></div>' if s.left or s.right else "")
        + (f'<div class="foot">{e(s.number)}</div>' if s.number else "")
        + "</div>"
        for s in sheets)
    return _document(lang, f"{title}: running heads", HEADS_CSS, body)


# --------------------------------------------------------------------------------------------
# merging, with the structure tree

#: The standard structure types of PDF 1.7, the version this PDF declares.
STANDARD_TYPES = frozenset(
    "Document Part Art Sect Div BlockQuote Caption TOC TOCI Index NonStruct Private P H H1 H2 H3 H4 H5 H6 L LI Lbl "
    "LBody Table TR TH TD THead TBody TFoot Span Quote Note Reference BibEntry Code Link Annot Ruby RB RT RP Warichu "
    "WT WP Figure Formula Form".split())
#: Types Chromium takes from PDF 2.0, mapped (the structure tree's RoleMap) to the PDF 1.7 types they refine.
PDF2_TYPES = {"Strong": "Span", "Em": "Span", "Sub": "Span", "Title": "P", "Aside": "Div", "FENote": "Note",
              "DocumentFragment": "Div"}
#: A link Chromium printed to a page on the local server (any port: cached pages keep an old one).
LOCAL_URL = re.compile(r"^http://127\.0\.0\.1:\d+/([^#?]*)(?:\?[^#]*)?(?:#(.*))?$")


@dataclass
class Part:
    """One printed document to merge: its name (the prefix of its destinations) and its PDF."""

    name: str
    title: str
    pdf: bytes
    outline: bool = True  # give it an entry in the outline (the front matter has none)


def _kids(element) -> list:
    import pikepdf

    kids = element.get("/K")
    if kids is None:
        return []
    return list(kids) if isinstance(kids, pikepdf.Array) else [kids]


def _struct_elements(element) -> Iterator:
    """``element`` and every structure element below it (not marked-content ids or object references)."""
    import pikepdf

    stack = [element]
    while stack:
        node = stack.pop()
        if isinstance(node, pikepdf.Dictionary) and "/S" in node:
            yield node
            stack.extend(reversed(_kids(node)))


def _renumber_struct_parents(page, offset: int) -> None:
    """Shift a page's, its annotations' and its form XObjects' keys into the merged parent tree."""
    import pikepdf

    obj = page.obj
    if "/StructParents" in obj:
        obj.StructParents = int(obj.StructParents) + offset
    for annot in obj.get("/Annots", []):
        if "/StructParent" in annot:
            annot.StructParent = int(annot.StructParent) + offset
    seen: set = set()
    stack = [obj.get("/Resources")]
    while stack:
        resources = stack.pop()
        if not isinstance(resources, pikepdf.Dictionary):
            continue
        for xobject in (resources.get("/XObject") or {}).values():
            if xobject.objgen in seen:
                continue
            seen.add(xobject.objgen)
            if "/StructParents" in xobject:
                xobject.StructParents = int(xobject.StructParents) + offset
            stack.append(xobject.get("/Resources"))


def _outline_items(items, page_map: dict) -> list:
    """Chromium's outline items of one part, leading to the merged document's copies of its pages."""
    import pikepdf

    out = []
    for item in items:
        dest = item.destination
        if isinstance(dest, pikepdf.Array) and len(dest) and dest[0].objgen in page_map:
            target = pikepdf.Array([page_map[dest[0].objgen], *list(dest)[1:]])
        else:
            target = None
        copy = pikepdf.OutlineItem(str(item.title), target)
        copy.children.extend(_outline_items(item.children, page_map))
        out.append(copy)
    return out


def _unlink(page, annot, parent_tree) -> None:
    """Remove a link annotation, keeping its text: its Link element becomes a Span without the annotation."""
    import pikepdf

    key = int(annot.get("/StructParent", -1))
    element = parent_tree.get(key) if key >= 0 else None
    if isinstance(element, pikepdf.Dictionary):
        kept = [k for k in _kids(element) if not (
            isinstance(k, pikepdf.Dictionary) and k.get("/Type") == "/OBJR" and k.Obj.objgen == annot.objgen)]
        element.K = pikepdf.Array(kept)
        if element.S == "/Link":
            element.S = pikepdf.Name.Span
        del parent_tree[key]
    page.obj.Annots = pikepdf.Array([a for a in page.obj.Annots if a.objgen != annot.objgen])


class _Merger:
    """The merged PDF being built: its pages, structure tree, destinations and outline (see :func:`merge`)."""

    def __init__(self, lang: str):
        import pikepdf
        from pikepdf import Array, Dictionary, Name, String

        self.out = pikepdf.new()
        self.sources: list = []  # the printed parts stay open until the merged file is written: it reads them then
        self.tree_root = self.out.make_indirect(Dictionary(Type=Name.StructTreeRoot))
        self.document = self.out.make_indirect(Dictionary(Type=Name.StructElem, S=Name.Document, P=self.tree_root,
                                                          K=Array(), Lang=String(lang)))
        self.tree_root.K = Array([self.document])
        self.parent_tree = pikepdf.NumberTree.new(self.out)
        self.ids = pikepdf.NameTree.new(self.out)
        self.dests = pikepdf.NameTree.new(self.out)
        self.role_map = Dictionary()
        self.next_key = 0
        self.outline: list = []

    def add(self, part: Part) -> None:
        """Append a printed part: its pages, its tags, its named destinations and its outline."""
        import pikepdf
        from pikepdf import Array, Name

        src = pikepdf.open(io.BytesIO(part.pdf))
        self.sources.append(src)
        first = len(self.out.pages)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", pikepdf.PageCopyWarning)  # this merge carries the destinations itself
            self.out.pages.extend(src.pages)
        pages = self.out.pages[first:]
        page_map = {s.obj.objgen: p.obj for s, p in zip(src.pages, pages, strict=True)}
        self.dests[part.name] = Array([pages[0].obj, Name.XYZ, 0, float(pages[0].mediabox[3]), 0])
        if "/StructTreeRoot" in src.Root:
            self._add_tags(self.out.copy_foreign(src.Root.StructTreeRoot), part, pages)
        self._add_dests(src, part, page_map, pages)
        if part.outline:
            item = pikepdf.OutlineItem(part.title, first)
            with src.open_outline() as src_outline:
                roots = list(src_outline.root)
                below = roots[0].children if len(roots) == 1 else roots  # under the page's own title
                item.children.extend(_outline_items(below, page_map))
            self.outline.append(item)

    def _add_tags(self, copied, part: Part, pages) -> None:
        """The part's structure tree as a Part element, its parent tree keys moved past the earlier parts'."""
        import pikepdf
        from pikepdf import Array, Dictionary, Name, String

        offset = self.next_key
        for element in _kids(copied):
            element.P = self.document
            if element.get("/S") == "/Document":
                element.S = Name.Part
                element.T = String(part.title)
            self.document.K.append(element)
            for node in _struct_elements(element):  # IDs unique across parts; table cells keep their headers
                if "/ID" in node:
                    node.ID = String(f"{part.name}:{node.ID}")
                attributes = node.get("/A")
                for attr in (attributes if isinstance(attributes, Array) else [attributes]):
                    if isinstance(attr, Dictionary) and "/Headers" in attr:
                        attr.Headers = Array([String(f"{part.name}:{h}") for h in attr.Headers])
        if "/ParentTree" in copied:
            for key, value in pikepdf.NumberTree(copied.ParentTree).items():
                self.parent_tree[key + offset] = value
        if "/IDTree" in copied:
            for key, value in pikepdf.NameTree(copied.IDTree).items():
                self.ids[f"{part.name}:{key}"] = value
        for role, standard in (copied.get("/RoleMap") or {}).items():
            self.role_map[role] = standard
        for page in pages:
            _renumber_struct_parents(page, offset)
        self.next_key = offset + int(copied.get("/ParentTreeNextKey", 0))

    def _add_dests(self, src, part: Part, page_map: dict, pages) -> None:
        """The part's named destinations, and its pages' links to them, prefixed with the part's name."""
        import pikepdf
        from pikepdf import Array, Dictionary, Name, String

        named = dict(src.Root.get("/Dests") or {})
        if "/Names" in src.Root and "/Dests" in src.Root.Names:
            named.update({f"/{k}": v for k, v in pikepdf.NameTree(src.Root.Names.Dests).items()})
        for name, dest in named.items():
            dest = dest.get("/D") if isinstance(dest, Dictionary) else dest
            if isinstance(dest, Array) and len(dest) and dest[0].objgen in page_map:
                self.dests[f"{part.name}#{str(name)[1:]}"] = Array([page_map[dest[0].objgen], *list(dest)[1:]])
        for page in pages:
            for annot in page.obj.get("/Annots", []):
                if isinstance(annot.get("/Dest"), Name):
                    annot.Dest = String(f"{part.name}#{str(annot.Dest)[1:]}")

    def link_pages(self, docnames: set[str], titles: dict[str, str], book_title: str) -> None:
        """Links to the book's pages on the local server become links inside the PDF; links to other local
        files are removed; every link is described (its Contents, which PDF/UA asks of links)."""
        from pikepdf import Dictionary, String

        dest_names = {str(k) for k in self.dests.keys()}
        for page in self.out.pages:
            for annot in list(page.obj.get("/Annots", [])):
                action = annot.get("/A")
                has_uri = isinstance(action, Dictionary) and "/URI" in action
                match = LOCAL_URL.match(str(action.URI)) if has_uri else None
                if not match:
                    continue
                path, anchor = match.group(1), match.group(2)
                docname = path.removesuffix(".html") if path.endswith(".html") else None
                if docname in docnames:
                    del annot.A
                    annot.Dest = String(f"{docname}#{anchor}" if f"{docname}#{anchor}" in dest_names else docname)
                else:
                    _unlink(page, annot, self.parent_tree)
        for page in self.out.pages:
            for annot in page.obj.get("/Annots", []):
                if annot.get("/Subtype") != "/Link" or "/Contents" in annot:
                    continue
                if "/Dest" in annot:
                    name, _, anchor = str(annot.Dest).partition("#")
                    where = titles.get(name, book_title)
                    annot.Contents = String(f"Go to {where}" + (f", section {anchor}" if anchor else ""))
                elif isinstance(annot.get("/A"), Dictionary) and "/URI" in annot.A:
                    annot.Contents = String(f"Open {annot.A.URI}")

    def lay_heads(self, heads: bytes) -> None:
        """Each sheet of the running-heads PDF over its page, as pagination artifacts (outside the tag tree)."""
        import pikepdf
        from pikepdf import Name

        stamps = pikepdf.open(io.BytesIO(heads))
        self.sources.append(stamps)
        if len(stamps.pages) != len(self.out.pages):
            raise RuntimeError(f"the running heads have {len(stamps.pages)} pages for the book's {len(self.out.pages)}")
        for page, stamp in zip(self.out.pages, stamps.pages, strict=True):
            if not stamp.obj.get("/Contents"):
                continue
            xobject = self.out.copy_foreign(stamp.as_form_xobject())
            name = page.add_resource(xobject, Name.XObject, prefix="Pagination")
            page.contents_add(b"q\n", prepend=True)
            page.contents_add(f"\nQ\n/Artifact <</Type /Pagination>> BDC\nq {name} Do Q\nEMC\n".encode())

    def write(self, target: Path, info: BookInfo, front_pages: int, creator: str) -> int:
        """The catalogue (step 5 of the module's docstring), then the file; returns its number of pages."""
        import pikepdf
        from pikepdf import Dictionary, Name, String

        out, tree_root = self.out, self.tree_root
        tree_root.ParentTree = self.parent_tree.obj
        tree_root.ParentTreeNextKey = self.next_key
        if len(self.ids.keys()):
            tree_root.IDTree = self.ids.obj
        used = {str(node.S)[1:] for node in _struct_elements(self.document)}
        for name in sorted(used - STANDARD_TYPES):
            if f"/{name}" not in self.role_map and name in PDF2_TYPES:
                self.role_map[Name(f"/{name}")] = Name(f"/{PDF2_TYPES[name]}")
        if len(self.role_map.keys()):
            tree_root.RoleMap = self.role_map
        root = out.Root
        root.StructTreeRoot = tree_root
        root.MarkInfo = Dictionary(Marked=True)
        root.Lang = String(info.lang)
        root.ViewerPreferences = Dictionary(DisplayDocTitle=True)
        root.Names = Dictionary(Dests=self.dests.obj)
        root.PageMode = Name.UseOutlines
        labels = pikepdf.NumberTree.new(out)
        if front_pages:
            labels[0] = Dictionary(S=Name.r)
        labels[front_pages] = Dictionary(S=Name.D, St=1)
        root.PageLabels = labels.obj
        with out.open_outline() as pdf_outline:
            pdf_outline.root.extend(self.outline)
        out.docinfo[Name.Title] = String(info.title)
        out.docinfo[Name.Author] = String(", ".join(info.authors))
        out.docinfo[Name.Subject] = String(info.subject)
        out.docinfo[Name.Keywords] = String(", ".join(info.keywords))
        out.docinfo[Name.Creator] = String(creator)
        with out.open_metadata(set_pikepdf_as_editor=False) as meta:
            meta["dc:title"] = info.title
            meta["dc:creator"] = info.authors
            meta["dc:description"] = info.subject
            meta["dc:language"] = [info.lang]
            meta["pdf:Keywords"] = ", ".join(info.keywords)
            meta["xmp:CreatorTool"] = creator
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        out.save(tmp, min_version="1.7", object_stream_mode=pikepdf.ObjectStreamMode.generate, compress_streams=True)
        tmp.replace(target)
        pages = len(out.pages)
        for pdf in (out, *self.sources):
            pdf.close()
        return pages


def merge(parts: list[Part], info: BookInfo, docnames: set[str], heads: bytes | None, front_pages: int,
          target: Path, chromium: str = "") -> int:
    """Write ``target``: one tagged PDF of ``parts``, in order, with their structure trees, links and outlines
    (the module's docstring, steps 4 and 5); ``heads`` is laid over the pages; the first ``front_pages`` are
    labelled i, ii, ... Returns its number of pages."""
    merger = _Merger(info.lang)
    for part in parts:
        merger.add(part)
    merger.link_pages(docnames, {part.name: part.title for part in parts}, info.title)
    if heads is not None:
        merger.lay_heads(heads)
    return merger.write(target, info, front_pages, f"tools.pdf with {chromium or 'Chromium'}")


# --------------------------------------------------------------------------------------------
# the whole step


@dataclass
class Report:
    pages: int = 0
    printed: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


def _sheets(entries: list[Entry], counts: dict[str, int], front_pages: int, book_title: str) -> list[Sheet]:
    """The running head and number of every page: none on the title page; i, ii, ... on the contents."""
    sheets = [Sheet()] + [Sheet("Contents", book_title, roman(n)) for n in range(2, front_pages + 1)]
    number = 1
    for entry in entries:
        for _ in range(counts[entry.docname]):
            sheets.append(Sheet(entry.heading, book_title, str(number)))
            number += 1
    return sheets


def write_pdf(target: Path, html_dir: Path, entries: list[Entry], info: BookInfo, cache_dir: Path,
              workers: int | None = None) -> Report:
    """Print, cache and merge the book into ``target`` (see the module's docstring)."""
    import pikepdf
    from playwright.async_api import async_playwright

    missing = [e.docname for e in entries if not (html_dir / f"{e.docname}.html").exists()]
    if missing:
        raise FileNotFoundError(f"{html_dir} has no HTML for {missing}: build the book first (make book)")
    executable = chromium_path()
    workers = workers or os.cpu_count() or 1
    cache = PdfCache(cache_dir)
    report = Report()
    docnames = {e.docname for e in entries}

    async def run(base: str) -> tuple[list[Part], bytes, int, str]:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
            try:
                settings = print_settings(browser.version)
                assets: dict[Path, bytes] = {}
                jobs = [Job(e.docname, base + f"{e.docname}.html", PAGE_OPTIONS,
                            key=page_key(html_dir / f"{e.docname}.html", html_dir, settings, assets)) for e in entries]

                async def fetch(batch: list[Job]) -> None:
                    todo = []
                    for job in batch:
                        job.pdf = cache.get(job.key)
                        (report.cached if job.pdf is not None else report.printed).append(job.name)
                        if job.pdf is None:
                            todo.append(job)
                    await _print_jobs(browser, todo, workers)
                    for job in todo:
                        cache.put(job.key, job.pdf)

                start = time.perf_counter()
                await fetch(jobs)
                report.seconds["pages"] = round(time.perf_counter() - start, 2)
                counts = {job.name: len(pikepdf.open(io.BytesIO(job.pdf)).pages) for job in jobs}
                starts, number = {}, 1
                for entry in entries:
                    starts[entry.docname] = number
                    number += counts[entry.docname]
                start = time.perf_counter()
                front_html = front_matter_html(info, entries, starts)
                front = Job("front matter", base + FRONT_URL, PAGE_OPTIONS, key=_sha(settings.encode(),
                            front_html.encode()), html=front_html, prepare=False)
                await fetch([front])
                front_pages = len(pikepdf.open(io.BytesIO(front.pdf)).pages)
                heads_html = running_heads_html(_sheets(entries, counts, front_pages, info.title), info.lang,
                                                info.title)
                heads = Job("running heads", base + HEADS_URL, HEADS_OPTIONS,
                            key=_sha(settings.encode(), heads_html.encode()), html=heads_html, prepare=False)
                await fetch([heads])
                report.seconds["front matter and running heads"] = round(time.perf_counter() - start, 2)
                parts = [Part("_front", "Title page and contents", front.pdf, outline=False)]
                parts += [Part(e.docname, e.title, job.pdf) for e, job in zip(entries, jobs, strict=True)]
                return parts, heads.pdf, front_pages, f"Chromium {browser.version}"
            finally:
                await browser.close()

    with serve(html_dir) as base:
        parts, heads, front_pages, chromium = asyncio.run(run(base))
    start = time.perf_counter()
    report.pages = merge(parts, info, docnames, heads, front_pages, target, chromium)
    report.seconds["merge"] = round(time.perf_counter() - start, 2)
    cache.prune()
    return report


# --------------------------------------------------------------------------------------------
# command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.pdf", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    get = sub.add_parser("browser", help="find Chromium; install Debian's package when it is absent and this is root")
    get.add_argument("--require", action="store_true",
                     help="exit 2 if no Chromium can be had (make test: the browser tests need it)")
    args = parser.parse_args(argv)
    try:
        ensure_browser(require=args.require)
    except BrowserMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
