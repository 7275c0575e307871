"""Unit tests of the chapter analyses (analysis/pages/ch01.py … ch09.py and common.py) on the real
panel, and checks of the built chapter pages."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import paths
from analysis.data import register
from analysis.errors import DataError
from analysis.pages import ch01, ch02, ch03, ch04, ch06, ch07, ch08, ch09, common, figures

CHAPTER_PAGES = [
    "ch01-background-methodology", "ch02-understanding-commitment", "ch03-structures-roles", "ch04-approaches",
    "ch06-aspirations", "ch07-challenges-barriers", "ch08-expectations-executive", "ch09-expectations-task-force",
]
MAX_FIGURE_BYTES = 160_000


@pytest.fixture
def glued(monkeypatch):
    """Capture figures glued by the chapter functions instead of displaying them."""
    captured: dict[str, tuple[int, str]] = {}

    def fake_glue(key, fig, alt, data=None):
        if not alt or len(alt.split()) < 6:
            raise ValueError(f"figure {key!r}: alt text must state the finding in a sentence")
        table = figures.plotted_data(fig) if data is None else data
        if table is None or table.empty:
            raise ValueError(f"figure {key!r}: no plotted data to offer as CSV")
        captured[key] = (len(figures.png_bytes(fig)), alt)

    monkeypatch.setattr(figures, "glue_figure", fake_glue)
    return captured


# --------------------------------------------------------------------------------------------
# chapter 1: the case-study comparison


def test_case_study_comparison_has_9_case_studies_1_pilot_22_others(outputs):
    frame = ch01.case_study_frame(outputs)
    counts = frame["group"].value_counts()
    assert counts[common.GROUP_CASE] == 9
    assert counts[common.GROUP_PILOT] == 1
    assert counts[common.GROUP_OTHER] == 22
    assert len(frame) == 32 and frame.index.is_unique
    assert set(frame.index[frame["group"] == common.GROUP_CASE]) == set(register.case_study_codes())
    assert frame.loc[frame["group"] == common.GROUP_PILOT, "name"].tolist() == ["North Lanarkshire"]
    measures = [m[0] for m in ch01.CH01_MEASURES]
    assert frame[measures].notna().all().all()
    table = ch01.case_study_table(frame)
    assert len(table) == len(ch01.CH01_MEASURES) + 2
    assert any("(9)" in c for c in table.columns) and any("(22)" in c for c in table.columns)


def test_council_values_fails_loudly_when_a_council_is_missing(outputs):
    panel = outputs.panel
    dropped = panel[~((panel["indicator"] == "population") & (panel["period"] == "2002")
                      & (panel["area_code"] == "S12000005"))]
    with pytest.raises(DataError, match="Clackmannanshire"):
        common.council_values(dropped, "population", "2002")


# --------------------------------------------------------------------------------------------
# chapter 2: principles and indicators


def test_principle_mapping_covers_only_indicators_that_exist(outputs):
    mapping = ch02.principle_mapping(outputs)
    council = outputs.panel[outputs.panel["area_type"] == "council"]
    assert set(mapping["indicator"]) <= set(council["indicator"])
    assert mapping["indicator"].is_unique
    assert set(mapping["strand"]) <= {s[0] for s in ch02.STRANDS}
    # nothing measures community participation or partnership working
    assert not (mapping["strand"].isin(["participation", "partnership"])).any()
    # every ScotPHO indicator in the panel is assigned
    scotpho = {i for i in council["indicator"].unique() if i.startswith("scotpho_")}
    assert scotpho <= set(mapping["indicator"])


def test_principle_mapping_rejects_an_indicator_the_panel_lacks(outputs, monkeypatch):
    bad = dict(ch02.EXPLICIT_STRANDS)
    bad["economic"] = bad["economic"] + ("lgbf_no_such_indicator",)
    monkeypatch.setattr(ch02, "EXPLICIT_STRANDS", bad)
    with pytest.raises(DataError, match="lgbf_no_such_indicator"):
        ch02.principle_mapping(outputs)


def test_principle_counts_are_zero_for_unmeasured_principles(outputs):
    mapping = ch02.principle_mapping(outputs)
    counts = ch02.principle_counts(outputs, mapping, range(1995, 2021))
    assert (counts["participation"] == 0).all() and (counts["partnership"] == 0).all()
    assert list(counts.columns) == [s[0] for s in ch02.STRANDS]


# --------------------------------------------------------------------------------------------
# chapter 3: correlation with a confidence interval


def test_correlation_recovers_a_known_correlation():
    rng = np.random.default_rng(1)
    rho = 0.6
    cov = [[1, rho], [rho, 1]]
    x, y = rng.multivariate_normal([0, 0], cov, size=3000).T
    c = common.correlation(x, y, alpha=0.05)
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
        c = common.correlation(x, y, alpha=0.05)
        hits += c.ci_low <= rho <= c.ci_high
    assert 0.91 <= hits / sims <= 0.99


def test_correlation_rejects_missing_values():
    with pytest.raises(ValueError, match="finite"):
        common.correlation([1.0, 2.0, math.nan, 4.0, 5.0], [1.0, 2.0, 3.0, 4.0, 5.0])


def test_strength_reads_an_interval_that_includes_zero():
    c = common.Correlation(r=-0.24, ci_low=-0.54, ci_high=0.12, p=0.19, n=32, rho=0.0, rho_p=0.9,
                             slope=-1.0, slope_ci_low=-2.0, slope_ci_high=0.5)
    assert "includes no association" in common.strength(c)


# --------------------------------------------------------------------------------------------
# chapter 4: the timeline


def test_timeline_is_sorted_and_every_row_has_a_source_address():
    timeline = ch04.load_timeline()
    assert timeline["date"].is_monotonic_increasing
    assert timeline["source"].str.match(r"^https?://\S+$").all()
    assert (timeline["event"].str.strip() != "").all()
    assert timeline["short_label"].is_unique
    assert set(ch04.KEY_EVENTS) <= set(timeline["short_label"])
    dates = dict(zip(timeline["short_label"], timeline["date"].dt.strftime("%Y-%m-%d"), strict=True))
    assert dates["Duty in force"] == "2003-04-01"
    assert dates["Bill passed"] == "2003-01-08"
    assert dates["Part 2 in force"] == "2016-12-20"


def test_timeline_rejects_a_row_without_a_source(tmp_path, monkeypatch):
    frame = pd.read_csv(paths.REFERENCE / common.TIMELINE_FILE, dtype=str, keep_default_na=False)
    frame.loc[3, "source"] = "a book I read"
    frame.to_csv(tmp_path / common.TIMELINE_FILE, index=False)
    monkeypatch.setattr(ch04.paths, "REFERENCE", tmp_path)
    with pytest.raises(DataError, match="row 5"):
        ch04.load_timeline()


def test_timeline_rejects_rows_out_of_order(tmp_path, monkeypatch):
    frame = pd.read_csv(paths.REFERENCE / common.TIMELINE_FILE, dtype=str, keep_default_na=False)
    frame.iloc[[0, 1]] = frame.iloc[[1, 0]].to_numpy()
    frame.to_csv(tmp_path / common.TIMELINE_FILE, index=False)
    monkeypatch.setattr(ch04.paths, "REFERENCE", tmp_path)
    with pytest.raises(DataError, match="date order"):
        ch04.load_timeline()


# --------------------------------------------------------------------------------------------
# chapters 8 and 9: coverage


def test_coverage_by_year_counts_each_indicator_once(outputs):
    years = range(2000, 2017)
    coverage = common.coverage_by_year(outputs.panel, years)
    rows = outputs.panel[(outputs.panel["area_type"] == "council") & (outputs.panel["breakdown"] == "all")]
    for year in (2002, 2008, 2016):
        assert coverage.loc[year].sum() == rows.loc[rows["year"] == year, "indicator"].nunique()
    assert list(coverage.columns) == list(common.SOURCE_GROUPS)
    assert coverage.loc[2002, "CPOP"] == 0 and coverage.loc[2002, "LGBF"] == 0


def test_source_group():
    assert common.source_group("cpop_crime_rate") == "CPOP"
    assert common.source_group("scotpho_crime_rate") == "ScotPHO"
    assert common.source_group("lgbf_chn1") == "LGBF"
    assert common.source_group("population") == "NRS and ONS"


def test_cpop_measures_merge_releases_and_rolling_means(outputs):
    assert ch09.cpop_measure("cpop_employment_rate_3yr") == "cpop_employment_rate"
    assert ch09.cpop_measure("cpop_fragility_r2018") == "cpop_fragility"
    table = ch09.cpop_first_years(outputs, 2008)
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
    module = {"ch01": ch01, "ch02": ch02, "ch03": ch03, "ch04": ch04, "ch06": ch06, "ch07": ch07, "ch08": ch08,
              "ch09": ch09}[name]
    result = ch06.ch06(outputs, _fake_ledger()) if name == "ch06" else module.build(outputs)
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


@pytest.mark.book
def test_each_chapter_page_has_a_figure_with_alt_text():
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


# --------------------------------------------------------------------------------------------
# the chapters read their years and periods from the settings


def test_chapter_parameters_come_from_the_settings(monkeypatch):
    from analysis import settings

    cfg = settings.load()
    pages, events = cfg["pages"], cfg["attribution"]["events"]
    assert ch02.parameters() == {"report_year": pages["report_year"], "coverage_from": pages["coverage_from"]}
    assert ch08.parameters()["snapshots"] == (pages["report_year"], events["soa"], pages["last_year"])
    assert ch09.parameters() == {"before": events["soa"], "duty": events["duty"]}
    assert ch03.parameters()["base"] == pages["size"]["from"]
    changed = {**pages, "case_study_periods": {**pages["case_study_periods"], "population": "2005"}}
    monkeypatch.setattr(common, "page_settings", lambda: changed)
    monkeypatch.setattr(ch01, "page_settings", lambda: changed)
    assert ch01.measure_periods()["population"] == "2005"
    assert ch01.measure_label("population", "2005") == "Population, 2005"


def test_coverage_snapshots_follow_the_years_asked_for(outputs, glued):
    """No snapshot year is typed into chapter 8: other years give other counts under the same keys."""
    res = ch08.ch08(outputs, snapshots=(2004, 2010, 2014), coverage_from=1995)
    coverage = common.coverage_by_year(outputs.panel, range(1995, 2021))
    assert (res.text["report-year"], res.text["soa-year"], res.text["last-year"]) == ("2004", "2010", "2014")
    assert res.text["n-report"] == str(int(coverage.loc[2004].sum()))
    assert res.text["n-last"] == str(int(coverage.loc[2014].sum()))
    assert "With council data for 2010" in res.tables["coverage"].columns
    assert "in 2004" in glued["fig-ch08-coverage"][1]


def test_a_missing_case_study_period_is_a_settings_error(monkeypatch):
    from analysis.settings import SettingsError

    monkeypatch.setattr(ch01, "page_settings", lambda: {"case_study_periods": {"population": "2002"}})
    with pytest.raises(SettingsError, match="pages.case_study_periods: no period for scotpho_income_deprived"):
        ch01.measure_periods()
