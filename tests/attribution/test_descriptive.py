"""The claimant count (analysis/attribution/descriptive.py): a descriptive series with no design, whose
number of pre-duty years is computed from the data."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis import settings
from analysis.attribution import descriptive

CFG = settings.load()["attribution"]


def test_the_claimant_count_has_two_pre_duty_years_and_cannot_support_attribution():
    d = descriptive.claimant_count()
    assert d.pre_event_years == (2001, 2002) and d.n_pre_event_years == 2
    assert not d.supports_attribution and "2001, 2002" in d.why_not and str(CFG["its"]["min_pre_periods"]) in d.why_not
    assert (d.first_year, d.last_year, d.event) == (2001, 2025, 2003)
    counts = d.national.groupby("group")["n_districts"].unique().map(lambda v: v.tolist()).to_dict()
    assert counts == {"England and Wales": [318], "Great Britain": [350], "Scotland": [32]}
    assert d.councils["area_code"].nunique() == 32 and len(d.councils) == 32 * 25
    scot = d.national[d.national["group"] == "Scotland"].set_index("year")["mean"]
    assert scot.loc[2001] == pytest.approx(d.councils[d.councils["year"] == 2001]["value"].mean())
    assert "each district counting once" in d.note and "published" in d.note
    assert descriptive.claimant_count(event=2010).n_pre_event_years == 9


def test_the_national_series_are_the_published_rates_not_means_of_districts():
    """``published`` is ONS's own national row (the raw file's Nation and Country rows), for every year; a
    rate of Great Britain must lie between those of its three nations (it is their weighted mean), and
    England and Wales's between England's and Wales's."""
    d = descriptive.claimant_count()
    pub = d.national.pivot(index="year", columns="group", values="published")
    assert pub.notna().all().all() and list(pub.index) == list(range(2001, 2026))
    # the raw file's rows (ons_els_claimant_count_lad_2001_2025.csv): 2001 and 2025
    first = (pub.at[2001, "Scotland"], pub.at[2001, "England and Wales"], pub.at[2001, "Great Britain"])
    assert first == (3.3, 2.5, 2.6)
    assert (pub.at[2025, "Scotland"], pub.at[2025, "Great Britain"]) == (3.0, 3.9)
    from analysis.data import panel
    p = panel.read().panel
    nations = p[p["indicator"] == descriptive.NATIONAL].pivot(index="year", columns="area_name", values="value")
    lo = nations[["Scotland", "England", "Wales"]].min(axis=1)
    hi = nations[["Scotland", "England", "Wales"]].max(axis=1)
    assert ((nations["Great Britain"] >= lo - 0.05) & (nations["Great Britain"] <= hi + 0.05)).all()
    ew = nations[["England", "Wales"]]
    assert nations["England and Wales"].between(ew.min(axis=1) - 0.05, ew.max(axis=1) + 0.05).all()
    # the unweighted means are a different quantity: in 2025 they differ from the published rates by more
    # than the published rounding
    mean = d.national.pivot(index="year", columns="group", values="mean")
    assert (pub.loc[2025] - mean.loc[2025]).abs().min() > 0.05


def _claimant_panel(years_by_area: dict[str, list[int]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = [{"indicator": descriptive.OUTCOME, "breakdown": "all", "area_code": code, "area_name": code,
             "area_type": "council" if code.startswith("S") else "lad", "year": y, "value": 2.0, "unit": "%"}
            for code, years in years_by_area.items() for y in years]
    years = sorted({y for ys in years_by_area.values() for y in ys})
    rows += [{"indicator": descriptive.NATIONAL, "breakdown": "all", "area_code": code, "area_name": code,
              "area_type": "nation", "year": y, "value": 2.5, "unit": "%"}
             for _, code in descriptive.GROUPS.values() for y in years]
    areas = pd.DataFrame({"area_code": list(years_by_area),
                          "country": ["Scotland" if c.startswith("S") else "England" for c in years_by_area]})
    return pd.DataFrame(rows), areas


def test_the_claimant_count_refuses_an_unbalanced_panel_or_a_missing_series():
    panel_df, areas = _claimant_panel({"S12000005": [2001, 2002, 2003], "E06000001": [2001, 2003]})
    with pytest.raises(ValueError, match="same districts in every year"):
        descriptive.claimant_count(panel_df, areas, CFG)
    panel_df, areas = _claimant_panel({"S12000005": [2001, 2002, 2003], "E06000001": [2001, 2002, 2003]})
    d = descriptive.claimant_count(panel_df, areas, CFG)
    assert d.n_pre_event_years == 2 and d.unit == "%"
    with pytest.raises(ValueError, match="no country"):
        descriptive.claimant_count(panel_df, areas.iloc[:1], CFG)
    with pytest.raises(ValueError, match="no claimant_count_pct_lad rows"):
        descriptive.claimant_count(panel_df.assign(indicator="x"), areas, CFG)
    assert (d.national["published"] == 2.5).all() and (d.national["mean"] == 2.0).all()
    gb_2002 = (panel_df["area_code"] == "K03000001") & (panel_df["year"] == 2002)
    with pytest.raises(ValueError, match=r"no published claimant_count_pct_nation for Great Britain \(K03000001\) "
                                         r"in \[2002\]"):
        descriptive.claimant_count(panel_df[~gb_2002], areas, CFG)
