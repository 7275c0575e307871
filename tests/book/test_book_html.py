"""Tests on the built book (skipped until `make book` has built _build/html).

They check what a reader sees: that the numbers shown are the ledger's, that every figure is a
real image with alt text, and that the chapter cites every paragraph it paraphrases.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from analysis import paths
from analysis.pages import attribution, claims

HTML_DIR = paths.ROOT / "_build" / "html"
BOOK = HTML_DIR / "book"
pytestmark = pytest.mark.book

CH05 = BOOK / "ch05-achievements-benefits.html"
EXEC = BOOK / "executive-summary.html"
ATTR = BOOK / "attribution.html"


def pasted(page: Path) -> set[str]:
    """The glued text values shown on a page."""
    text = page.read_text()
    return {html.unescape(re.sub(r"<[^>]+>", "", m)).strip()
            for m in re.findall(r'<span class="pasted-text">(.*?)</span>', text, flags=re.S)}


def visible_text(page: Path) -> str:
    text = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", page.read_text(), flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", text))


@pytest.fixture(scope="module")
def headline():
    return claims.headline_values()


def squeeze(text: str) -> str:
    """Whitespace collapsed, and none before closing punctuation or after an opening bracket (tags
    around a bold phrase leave such spaces in the page's text)."""
    text = " ".join(text.replace("\u2019", "'").split())   # typographic apostrophes as typed
    return re.sub(r"\( ", "(", re.sub(r" ([:;,.)])", r"\1", text))


def shown(page: Path) -> str:
    """The page's visible text, squeezed."""
    return squeeze(visible_text(page))


@pytest.mark.parametrize("key", [
    "gva-estimate", "gva-ci", "gva-verdict", "gdp-did-estimate", "gdp-did-ci", "gdp-did-verdict", "gdp-es-estimate",
    "gdhi-did-estimate", "gdhi-did-ci", "gdhi-did-verdict", "gdhi-es-estimate", "gdp-synth-estimate",
    "gdhi-synth-mde", "gdhi-synth-verdict", "gdhi-synth-p-holm",
    # the ITL3/NUTS3 rows shown beside the council-level comparison
    "gdp-did-itl3-estimate", "gdp-did-itl3-verdict", "gdhi-did-itl3-estimate", "gdhi-es-itl3-estimate",
])
def test_chapter_five_shows_the_ledgers_values(headline, key):
    assert headline[key] in shown(CH05)


@pytest.mark.parametrize("key", ["gdp-did-estimate", "gdhi-did-estimate", "gdp-synth-estimate", "gdhi-synth-estimate",
                                 "gdp-synth-mde", "gdhi-synth-mde", "alcohol-estimate", "alcohol-mde",
                                 "alcohol-verdict"])
def test_executive_summary_shows_the_ledgers_values(headline, key):
    assert headline[key] in shown(EXEC)


def test_every_confirmatory_claim_is_described_by_its_own_sentence_in_chapter_five():
    from analysis.attribution import ledger

    led = ledger.ledger()
    rows = led[(led["role"] == ledger.CONFIRMATORY)
               & led["outcome"].isin(["gva_per_head", "cpop_median_weekly_earnings", *claims.GB_OUTCOMES])]
    text = shown(CH05)
    for _, row in rows.iterrows():
        sentence = squeeze(claims.claim_sentence(row).replace("**", ""))
        assert sentence[:120] in text, sentence[:120]


def test_no_sentence_compares_outcomes_without_a_computed_comparison():
    for page in (CH05, EXEC, ATTR):
        assert "behaves the same way" not in shown(page) and "rules out large effects" not in shown(page)


def test_verdict_counts_shown_equal_the_ledgers():
    counts = claims.verdict_counts()
    for page in (EXEC, ATTR):
        shown = pasted(page)
        for key in ("n-claims", "n-tests"):
            assert counts[key] in shown, (page.name, key)


def test_attribution_page_lists_every_ledger_row():
    from analysis.attribution import ledger

    text = visible_text(ATTR)
    for claim_id in ledger.ledger()["claim_id"]:
        assert claim_id in text, claim_id


def test_conclusions_are_the_ledgers():
    text = " ".join(visible_text(ATTR).split()).replace("\u2019", "'")  # typographic apostrophes
    for sentence in attribution.conclusions():
        assert sentence[:60] in text


def test_every_paragraph_of_chapter_five_is_cited():
    text = visible_text(CH05)
    cited: set[int] = set()
    for first, last in re.findall(r"paras? 5\.(\d)(?:\s*[–-]\s*5\.(\d))?", text):
        cited.update(range(int(first), int(last or first) + 1))
    for extra in re.findall(r"paras 5\.\d(?:, 5\.\d)+", text):
        cited.update(int(n) for n in re.findall(r"5\.(\d)", extra))
    assert cited >= set(range(1, 9)), sorted(set(range(1, 9)) - cited)


def all_pages() -> list[Path]:
    return sorted(BOOK.rglob("*.html"))


def test_no_figure_placeholders_anywhere():
    for page in all_pages():
        assert "&lt;Figure size" not in page.read_text() and "<Figure size" not in page.read_text(), page.name


def test_every_image_exists_and_has_alt_text_stating_something():
    checked = 0
    for page in all_pages():
        for tag in re.findall(r"<img [^>]*>", page.read_text()):
            src = re.search(r'src="([^"]+)"', tag).group(1)
            alt = re.search(r'alt="([^"]*)"', tag)
            if src.startswith(("data:", "http")) or "_static" in src:
                continue
            assert (page.parent / src).resolve().exists(), (page.name, src)
            assert alt and len(alt.group(1).split()) >= 6, (page.name, src)
            assert not alt.group(1).endswith(".png"), (page.name, alt.group(1))
            checked += 1
    assert checked >= 10


def test_chapter_five_has_at_least_four_figures():
    assert len(re.findall(r"<figure", CH05.read_text())) >= 4


SOURCES = [paths.ROOT / "book" / name for name in
           ("ch05-achievements-benefits.md", "executive-summary.md", "attribution.md")]
#: Numbers allowed as typed text: years, the report's paragraph numbers, days of a month, and the
#: number of partnerships (a definition, not a result).
ALLOWED = re.compile(r"^(19|20)\d\d$|^32$")


def prose(md: str) -> str:
    md = re.sub(r"```.*?```", " ", md, flags=re.S)  # code cells and directives with their captions' roles
    md = re.sub(r"\{[a-z:]+\}`[^`]*`", " ", md)  # roles: glue, cite, numref, doc, ref
    md = re.sub(r"^\(.*\)=$", " ", md, flags=re.M)  # labels
    md = re.sub(r"^---.*?---", " ", md, flags=re.S)  # front matter
    md = re.sub(r"\$[^$]*\$", " ", md)  # mathematics: definitions (M = 0), not results
    md = re.sub(r"\b\d{1,2} (January|February|March|April|May|June|July|August|September|October|November|December)",
                " ", md)
    md = re.sub(r"\b(paras?|paragraphs?) [\d.,–\- ]+(and [\d.]+)?", " ", md, flags=re.I)
    md = re.sub(r"\b(19|20)\d\d[–-]\d\d\b", " ", md)  # financial years: 2009–10
    # definitions and conventions, not results: list markers, scale levels, interval levels, rate units
    md = re.sub(r"^\d+\. ", " ", md, flags=re.M)
    md = re.sub(r"\b(level|levels|SMS)[- ]\d( and \d)?\b", " ", md)
    md = re.sub(r"\(from 1, .*?to 5, .*?\)", " ", md, flags=re.S)
    md = re.sub(r"\b95% interval", " ", md)
    md = re.sub(r"per 100,000", " ", md)
    return md


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_no_typed_numbers_in_prose(source):
    numbers = re.findall(r"(?<![\w.])\d[\d,.]*\d?(?![\w])", prose(source.read_text()))
    typed = [n for n in numbers if not ALLOWED.match(n.strip(".,"))]
    assert not typed, typed
