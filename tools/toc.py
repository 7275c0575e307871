"""The book's table of contents (``_toc.yml``): its pages in reading order, their sources and titles.

Read by the execution step (:mod:`tools.book_cache`), the downloads (:mod:`tools.downloads`), the
PDF (:mod:`tools.pdf`) and the build benchmark (:mod:`tools.bench`).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from analysis import paths

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


@dataclass(frozen=True)
class TocEntry:
    """One page of ``_toc.yml``: its name, its depth (0 for a chapter), its number in a numbered part
    (``"3"``; ``"3.1"`` for a section of it) and the caption of the part it opens, if it opens one."""

    docname: str
    depth: int = 0
    number: str = ""
    part: str = ""


def toc_entries(root: Path = paths.ROOT) -> list[TocEntry]:
    """Every page of ``_toc.yml`` in reading order, with its place in the contents.

    ``glob`` entries are expanded as sphinx-external-toc does: matching pages in sorted order, less
    the page that holds the entry and pages an earlier glob took. Chapters of parts marked
    ``numbered`` are numbered as Sphinx numbers them, on from one numbered part to the next.
    """
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    strip = functools.partial(re.sub, r"\.(md|ipynb)$", "")
    entries = [TocEntry(strip(str(toc["root"])))]
    globbed: set[str] = set()
    chapters = 0  # numbered chapters so far

    def walk(items: list[dict], parent: str, depth: int, numbered: bool, prefix: str, caption: str) -> None:
        nonlocal chapters
        sections = 0
        for item in items or []:
            current, number = parent, prefix
            if "file" in item:
                docs = [strip(str(item["file"]))]
            elif "glob" in item:
                docs = [d for d in _glob_docs(str(item["glob"]), root) if d != parent and d not in globbed]
                globbed.update(docs)
            else:
                docs = []
            for doc in docs:
                if numbered and depth == 0:
                    chapters += 1
                    number = str(chapters)
                elif numbered:
                    sections += 1
                    number = f"{prefix}.{sections}"
                entries.append(TocEntry(doc, depth, number if numbered else "", caption))
                caption = ""
                if "file" in item:
                    current = doc
            for key in ("chapters", "sections"):
                walk(item.get(key, []), current, depth + 1, numbered, number, "")

    default = bool((toc.get("defaults") or {}).get("numbered", False))
    for part in toc.get("parts", []):
        walk(part.get("chapters", []), entries[0].docname, 0, bool(part.get("numbered", default)),
             "", str(part.get("caption", "")))
    walk(toc.get("chapters", []), entries[0].docname, 0, default, "", "")
    return entries


def toc_docnames(root: Path = paths.ROOT) -> list[str]:
    """Every page of ``_toc.yml`` in reading order (``book/executive-summary``, ``book/ch01-…``, …)."""
    return [entry.docname for entry in toc_entries(root)]


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


