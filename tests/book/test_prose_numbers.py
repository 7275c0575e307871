"""No typed numbers in the prose of chapters 1–4 and 6–9.

Chapter 5, the executive summary and the attribution page are checked on the built book by
``test_book_html.test_no_typed_numbers_in_prose``. This applies its rules to the markdown of the
other chapters, so it needs no build: :func:`test_book_html.prose` drops code cells, front matter,
labels, roles (glue, citations with their paragraph numbers, cross-references), dates and
paragraph references, and :data:`test_book_html.ALLOWED` accepts years. Numbers that only name a
part of a document are removed as well (:data:`REFERENCES`). Whatever is left was typed.
"""

from __future__ import annotations

import re

import pytest
from test_book_html import ALLOWED, prose

from analysis import paths

CHAPTERS = sorted(p for p in (paths.ROOT / "book").glob("ch0[1-9]-*.md") if not p.name.startswith("ch05-"))
#: A number as ``test_book_html.test_no_typed_numbers_in_prose`` finds it.
NUMBER = re.compile(r"(?<![\w.])\d[\d,.]*\d?(?![\w])")
#: Names of parts, not results: a part or section of an Act, a chapter of this book, a family
#: group of the benchmarking framework (1 to 4).
REFERENCES = re.compile(r"\b(Part|sections?|Chapters?|groups?) \(?\d+( to \d+)?\)?")
def typed_numbers(md: str) -> list[str]:
    """The numbers typed in the prose of a markdown page, in order."""
    numbers = NUMBER.findall(REFERENCES.sub(" ", prose(md)))
    return [n for n in numbers if not ALLOWED.match(n.strip(".,"))]


def test_the_eight_chapters_are_checked():
    assert [p.name[:4] for p in CHAPTERS] == ["ch01", "ch02", "ch03", "ch04", "ch06", "ch07", "ch08", "ch09"]


@pytest.mark.parametrize("source", CHAPTERS, ids=lambda p: p.name)
def test_no_typed_numbers_in_chapter_prose(source):
    assert typed_numbers(source.read_text()) == []


def test_check_catches_a_planted_typed_number():
    page = ("---\njupytext: 1\n---\n(ch-x)=\n# Chapter\n\n"
            "In 2003, under section 15 of the Act, the rate fell by 12.5 per cent {cite:p}`stevenson2002{para 5.1}`, "
            "or {glue:text}`drop` on 4 March 2003 (paragraphs 5.1–5.3; Paragraphs 5.4 and 5.6) in 2009–10."
            "\n\n```{code-cell}\nx = 42\n```\n")
    assert typed_numbers(page) == ["12.5"]
    clean = CHAPTERS[0].read_text()
    assert typed_numbers(clean) == []
    assert typed_numbers(clean + "\nThe rate fell by 17 points in 1,250 areas.\n") == ["17", "1,250"]
