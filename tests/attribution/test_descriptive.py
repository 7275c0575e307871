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
    assert "unweighted" in d.note
    assert descriptive.claimant_count(event=2010).n_pre_event_years == 9


def _claimant_panel(years_by_area: dict[str, list[int]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = [{"indicator": descriptive.OUTCOME, "breakdown": "all", "area_code": code, "area_name": code,
             "area_type": "council" if code.startswith("S") else "lad", "year": y, "value": 2.0, "unit": "%"}
            for code, years in years_by_area.items() for y in years]
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
