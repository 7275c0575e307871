"""Unit tests of the chapter analyses (analysis/chapters.py) on the real panel, and checks of the
built chapter pages."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import chapters, figures, paths, register
from analysis.errors import DataError

CHAPTER_PAGES = [
    "ch01-background-methodology", "ch02-understanding-commitment", "ch03-structures-roles", "ch04-approaches",
    "ch06-aspirations", "ch07-challenges-barriers", "ch08-expectations-executive", "ch09-expectations-task-force",
]
MAX_FIGURE_BYTES = 160_000


@pytest.fixture
def glued(monkeypatch):
    """Capture figures glued by the chapter functions instead of displaying them."""
    captured: dict[str, tuple[int, str]] = {}

    def fake_glue(key, fig, alt):
        if not alt or len(alt.split()) < 6:
            raise ValueError(f"figure {key!r}: alt text must state the finding in a sentence")
        captured[key] = (len(figures.png_bytes(fig)), alt)

    monkeypatch.setattr(figures, "glue_figure", fake_glue)
    return captured


# --------------------------------------------------------------------------------------------
# chapter 1: the case-study comparison


def test_case_study_comparison_has_9_case_studies_1_pilot_22_others(outputs):
    frame = chapters.case_study_frame(outputs)
    counts = frame["group"].value_counts()
    assert counts[chapters.GROUP_CASE] == 9
    assert counts[chapters.GROUP_PILOT] == 1
    assert counts[chapters.GROUP_OTHER] == 22
    assert len(frame) == 32 and frame.index.is_unique
    assert set(frame.index[frame["group"] == chapters.GROUP_CASE]) == set(register.case_study_codes())
    assert frame.loc[frame["group"] == chapters.GROUP_PILOT, "name"].tolist() == ["North Lanarkshire"]
    measures = [m[0] for m in chapters.CH01_MEASURES]
    assert frame[measures].notna().all().all()
    table = chapters.case_study_table(frame)
    assert len(table) == len(chapters.CH01_MEASURES) + 2
    assert any("(9)" in c for c in table.columns) and any("(22)" in c for c in table.columns)


def test_council_values_fails_loudly_when_a_council_is_missing(outputs):
    panel = outputs.panel
    dropped = panel[~((panel["indicator"] == "population") & (panel["period"] == "2002")
                      & (panel["area_code"] == "S12000005"))]
    with pytest.raises(DataError, match="Clackmannanshire"):
        chapters.council_values(dropped, "population", "2002")


# --------------------------------------------------------------------------------------------
# chapter 2: principles and indicators


def test_principle_mapping_covers_only_indicators_that_exist(outputs):
    mapping = chapters.principle_mapping(outputs)
    council = outputs.panel[outputs.panel["area_type"] == "council"]
    assert set(mapping["indicator"]) <= set(council["indicator"])
    assert mapping["indicator"].is_unique
    assert set(mapping["strand"]) <= {s[0] for s in chapters.STRANDS}
    # nothing measures community participation or partnership working
    assert not (mapping["strand"].isin(["participation", "partnership"])).any()
    # every ScotPHO indicator in the panel is assigned
    scotpho = {i for i in council["indicator"].unique() if i.startswith("scotpho_")}
    assert scotpho <= set(mapping["indicator"])


def test_principle_mapping_rejects_an_indicator_the_panel_lacks(outputs, monkeypatch):
    bad = dict(chapters.EXPLICIT_STRANDS)
    bad["economic"] = bad["economic"] + ("lgbf_no_such_indicator",)
    monkeypatch.setattr(chapters, "EXPLICIT_STRANDS", bad)
    with pytest.raises(DataError, match="lgbf_no_such_indicator"):
        chapters.principle_mapping(outputs)


def test_principle_counts_are_zero_for_unmeasured_principles(outputs):
    mapping = chapters.principle_mapping(outputs)
    counts = chapters.principle_counts(outputs, mapping, range(1995, 2021))
    assert (counts["participation"] == 0).all() and (counts["partnership"] == 0).all()
    assert list(counts.columns) == [s[0] for s in chapters.STRANDS]


# --------------------------------------------------------------------------------------------
# chapter 3: correlation with a confidence interval


def test_correlation_recovers_a_known_correlation():
    rng = np.random.default_rng(1)
    rho = 0.6
    cov = [[1, rho], [rho, 1]]
    x, y = rng.multivariate_normal([0, 0], cov, size=3000).T
    c = chapters.correlation(x, y, alpha=0.05)
    assert abs(c.r - rho) < 0.03
    assert c.ci_low < rho < c.ci_high
    assert c.ci_low < c.r < c.ci_high
    assert c.n == 3000 and c.p < 1e-6
    # the OLS slope of y on x is rho when both have unit variance
    assert c.slope_ci_low < rho < c.slope_ci_high


def test_correlation_interval_has_nominal_coverage():
    rng = np.random.default_rng(2)
    rho, n, sims = -0.3, 32, 400
    cov = [[1, rho], [rho, 1]]
    hits = 0
    for _ in range(sims):
        x, y = rng.multivariate_normal([0, 0], cov, size=n).T
        c = chapters.correlation(x, y, alpha=0.05)
        hits += c.ci_low <= rho <= c.ci_high
    assert 0.91 <= hits / sims <= 0.99


def test_correlation_rejects_missing_values():
    with pytest.raises(ValueError, match="finite"):
        chapters.correlation([1.0, 2.0, math.nan, 4.0, 5.0], [1.0, 2.0, 3.0, 4.0, 5.0])


def test_strength_reads_an_interval_that_includes_zero():
    c = chapters.Correlation(r=-0.24, ci_low=-0.54, ci_high=0.12, p=0.19, n=32, rho=0.0, rho_p=0.9,
                             slope=-1.0, slope_ci_low=-2.0, slope_ci_high=0.5)
    assert "includes no association" in chapters.strength(c)


# --------------------------------------------------------------------------------------------
# chapter 4: the timeline


def test_timeline_is_sorted_and_every_row_has_a_source_address():
    timeline = chapters.load_timeline()
    assert timeline["date"].is_monotonic_increasing
    assert timeline["source"].str.match(r"^https?://\S+$").all()
    assert (timeline["event"].str.strip() != "").all()
    assert timeline["short_label"].is_unique
    assert set(chapters.KEY_EVENTS) <= set(timeline["short_label"])
    dates = dict(zip(timeline["short_label"], timeline["date"].dt.strftime("%Y-%m-%d"), strict=True))
    assert dates["Duty in force"] == "2003-04-01"
    assert dates["Bill passed"] == "2003-01-08"
    assert dates["Part 2 in force"] == "2016-12-20"


def test_timeline_rejects_a_row_without_a_source(tmp_path, monkeypatch):
    frame = pd.read_csv(paths.REFERENCE / chapters.TIMELINE_FILE, dtype=str, keep_default_na=False)
    frame.loc[3, "source"] = "a book I read"
    frame.to_csv(tmp_path / chapters.TIMELINE_FILE, index=False)
    monkeypatch.setattr(chapters.paths, "REFERENCE", tmp_path)
    with pytest.raises(DataError, match="row 5"):
        chapters.load_timeline()


def test_timeline_rejects_rows_out_of_order(tmp_path, monkeypatch):
    frame = pd.read_csv(paths.REFERENCE / chapters.TIMELINE_FILE, dtype=str, keep_default_na=False)
    frame.iloc[[0, 1]] = frame.iloc[[1, 0]].to_numpy()
    frame.to_csv(tmp_path / chapters.TIMELINE_FILE, index=False)
    monkeypatch.setattr(chapters.paths, "REFERENCE", tmp_path)
    with pytest.raises(DataError, match="date order"):
        chapters.load_timeline()


# --------------------------------------------------------------------------------------------
# chapters 8 and 9: coverage


def test_coverage_by_year_counts_each_indicator_once(outputs):
    years = range(2000, 2017)
    coverage = chapters.coverage_by_year(outputs.panel, years)
    rows = outputs.panel[(outputs.panel["area_type"] == "council") & (outputs.panel["breakdown"] == "all")]
    for year in (2002, 2008, 2016):
        assert coverage.loc[year].sum() == rows.loc[rows["year"] == year, "indicator"].nunique()
    assert list(coverage.columns) == list(chapters.SOURCE_GROUPS)
    assert coverage.loc[2002, "CPOP"] == 0 and coverage.loc[2002, "LGBF"] == 0


def test_source_group():
    assert chapters.source_group("cpop_crime_rate") == "CPOP"
    assert chapters.source_group("scotpho_crime_rate") == "ScotPHO"
    assert chapters.source_group("lgbf_chn1") == "LGBF"
    assert chapters.source_group("population") == "NRS and ONS"


def test_cpop_measures_merge_releases_and_rolling_means(outputs):
    assert chapters.cpop_measure("cpop_employment_rate_3yr") == "cpop_employment_rate"
    assert chapters.cpop_measure("cpop_fragility_r2018") == "cpop_fragility"
    table = chapters.cpop_first_years(outputs)
    assert table["measure"].is_unique
    assert (table["first"] <= table["last"]).all()
    assert (table["pre"] >= 0).all()
    assert table["pre"].max() <= 2008 - table["first"].min()


# --------------------------------------------------------------------------------------------
# every chapter function: glued strings and small figures with alt text


def _fake_ledger() -> pd.DataFrame:
    return pd.DataFrame({
        "chapter": [6, 6, 6, 5],
        "outcome": ["alcohol_specific_death_rate", "alcohol_specific_death_rate", "employment_rate", "gdp"],
        "design": ["its", "its", "its", "did"],
        "role": ["confirmatory", "exploratory", "exploratory", "confirmatory"],
        "verdict_key": ["inconclusive", "assumption", "equivalent", "attributable"],
    })


@pytest.mark.parametrize("name", ["ch01", "ch02", "ch03", "ch04", "ch06", "ch07", "ch08", "ch09"])
def test_chapter_functions_glue_small_figures_with_findings(outputs, glued, name):
    func = getattr(chapters, name)
    result = func(outputs, _fake_ledger()) if name == "ch06" else func(outputs)
    assert glued, f"{name} glued no figure"
    for key, (size, alt) in glued.items():
        assert key.startswith(f"fig-{name}-"), key
        assert size <= MAX_FIGURE_BYTES, f"{key} is {size} bytes"
        assert len(alt.split()) >= 12, alt
        assert "nan" not in alt.lower().split()
    for key, value in result.text.items():
        assert isinstance(value, str) and value, key
        assert value.lower() not in {"nan", "none"}, key
    if name == "ch06":
        assert result.text["ledger-n"] == "3"
        assert (result.text["ledger-confirmatory-n"], result.text["ledger-exploratory-n"]) == ("1", "2")
        assert result.text["ledger-confirmatory-verdicts"] == "inconclusive: 1"
        assert result.text["ledger-exploratory-verdicts"] == ("a named assumption fails: 1; "
                                                              "no effect larger than the margin: 1")


# --------------------------------------------------------------------------------------------
# the built pages


def _page(name: str) -> Path:
    return paths.ROOT / "_build" / "html" / "book" / f"{name}.html"


def test_each_chapter_page_has_a_figure_with_alt_text():
    if not _page(CHAPTER_PAGES[0]).exists():
        pytest.skip("the book has not been built (_build/html/book/ch01-background-methodology.html)")
    from bs4 import BeautifulSoup

    for name in CHAPTER_PAGES:
        html = _page(name).read_text(encoding="utf-8")
        soup = BeautifulSoup(html, "html.parser")
        main = soup.find("main") or soup
        images = main.find_all("img")
        described = [img for img in images if len((img.get("alt") or "").split()) >= 6]
        assert described, f"{name}: no image with alt text of six words or more"
        assert "<Figure size" not in html and "&lt;Figure size" not in html, f"{name}: a figure was printed, not shown"
        citations = [a for a in main.find_all("a", href=True) if "references.html#" in a["href"]]
        assert citations, f"{name}: no citation links to the bibliography"
        for img in images:
            src = (_page(name).parent / img["src"]).resolve()
            if src.exists() and src.suffix == ".png":
                assert src.stat().st_size <= MAX_FIGURE_BYTES, f"{name}: {img['src']} is too large"
