"""The council-level comparison: Scotland's 32 council areas (the partnerships) against England's and
Wales's 318 districts (analysis/attribution/did.py and synth.py at ``area_level: district``).

* **DiD and event study.** Null panels on the real council layout of each outcome (log GDHI per head
  1997–2023, log GDP per head in chained volume 1998–2023; 350 districts in 11 regions, the region of
  each from the district table), with area and year effects, region-by-year AR(1) shocks and
  area-level AR(1) noise whose persistence and sizes are read off the real comparison regions
  (:func:`analysis.attribution.calibration.did_process`), exactly as ``tests/test_did.py`` does for the
  ITL3 layout.
* **Synthetic control.** Simulated panels shaped like the council problem (318 donors, six pre-event
  years, a five-year window), each with 20 null treated units: the studentised placebo test's size
  under the default donor pool (every donor) and under the robustness rule (the 50 nearest by
  pre-period distance, placebos drawn by the same rule).

Every draw is seeded; each tolerance is stated beside its test with the measured value.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from simulated_panels import real_shaped_panel

from analysis import settings
from analysis.attribution import calibration, did, synth
from analysis.data import districts, panel
from analysis.errors import UnknownAreaError

SEED = 20021001
CFG = settings.load()["attribution"]
EVENT = 2003
PRIMARY = (2003, 2007)
ES_WINDOW = tuple(CFG["did"]["event_window"])
OUTCOMES = ("gdhi_per_head_lad", "gdp_cvm_per_head_lad")


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    outputs = panel.build()
    return {o: did.prepare(outputs.panel, outputs.areas, o, CFG, level=did.DISTRICT) for o in OUTCOMES}


# --------------------------------------------------------------------------------------------
# the layout: districts and their regions


def test_regions_of_districts_come_from_the_district_table() -> None:
    """District codes carry no region in their prefix (E06000001 is Hartlepool, in the North East);
    the ITL-prefix route refuses them, the district route answers from the district table."""
    table = districts.table()
    codes = pd.Series(["E06000001", "W06000015", "S12000049", "E09000001"])
    assert did.region_of(codes, did.DISTRICT).tolist() == ["North East", "Wales", "Scotland", "London"]
    with pytest.raises(UnknownAreaError):
        did.region_of(codes, "itl3")
    assert did.region_of(table["code"], did.DISTRICT).tolist() == table["region_name"].tolist()
    with pytest.raises(UnknownAreaError, match="E07000001 is not a current district"):
        did.region_of(pd.Series(["E06000001", "E07000001"]), did.DISTRICT)


@pytest.mark.parametrize("outcome", OUTCOMES)
def test_the_council_frame_is_the_32_councils_against_the_318_districts(frames, outcome) -> None:
    frame = frames[outcome]
    groups = frame.drop_duplicates("area_code").set_index("area_code")
    assert (groups["treated"] == 1).sum() == 32 and (groups["treated"] == 0).sum() == 318
    table = districts.table().set_index("code")
    assert (groups["region"] == table.loc[groups.index, "region_name"]).all()
    layout = did.Layout.of(frame)
    assert layout.treated_region == "Scotland" and len(layout.comparison_regions) == 10
    first = {"gdhi_per_head_lad": 1997, "gdp_cvm_per_head_lad": 1998}[outcome]
    assert (layout.years.min(), layout.years.max()) == (first, 2023)


def test_a_district_level_outcome_without_both_area_types_is_refused() -> None:
    rows = pd.DataFrame({"indicator": "x", "area_type": "lad", "area_code": "E06000001", "year": 2000,
                         "value": 1.0, "breakdown": "all"}, index=[0])
    with pytest.raises(ValueError, match="no district areas"):
        did.area_level(rows, "x", did.DISTRICT)


# --------------------------------------------------------------------------------------------
# size on null panels with the council layout's region-by-year shocks


@pytest.mark.parametrize("outcome", OUTCOMES)
@pytest.mark.parametrize("window", [PRIMARY, None], ids=["primary", "full"])
def test_region_inference_holds_size_on_the_council_layout(frames, outcome, window) -> None:
    """1,000 null panels per outcome and window on the real council layout.

    Measured rejection rates at 0.05 with these seeds (t-type DiD, t-type event study; pre-trend
    diagnostic; area-clustered): GDHI primary 0.063, 0.057; 0.053; 0.493 — full 0.054, 0.049; 0.049;
    0.480. GDP (CVM) primary 0.048, 0.046; 0.053; 0.263 — full 0.068, 0.064; 0.059; 0.243. The
    permutation route never rejects (its smallest p is 1/11). Required: t-type in 0.03–0.07,
    permutation and the pre-trend diagnostic at most 0.07; area clustering rejects more than 0.2
    (with 32 correlated councils it is worse than at ITL3). Binomial SD at 0.05 over 1,000 panels:
    0.007. (5,000 panels per cell, seeds 777000–777004, measured the t-type DiD and event study at
    0.055 and 0.053 — GDHI primary —, 0.055 and 0.048 — GDHI full —, 0.056 and 0.056 — GDP primary —,
    0.050 and 0.056 — GDP full; binomial SD 0.003.)
    """
    frame = frames[outcome]
    process = calibration.did_process(did.Layout.of(frame))
    layout = did.Layout.of(did.restrict(frame, window, EVENT))
    offset = 10 + OUTCOMES.index(outcome) * 2 + (0 if window else 1)
    size = calibration.did_size(layout, process, n=calibration.DID_PANELS, seed=SEED + offset, event=EVENT,
                                es_window=ES_WINDOW, alpha=0.05)
    assert calibration.DID_PANELS >= 1000
    for design in (did.DID, did.EVENT_STUDY):
        assert 0.03 <= size[f"{design}-t"] <= 0.07, size
        assert size[f"{design}-permutation"] <= 0.07, size
    assert size["pretrend"] <= 0.07, size
    assert size["did-clustered"] > 0.2, size


def test_the_council_process_is_persistent_and_shared(frames) -> None:
    """Measured: GDHI regions φ = 0.87, SD 0.0077; areas φ = 0.89, SD 0.015. GDP (CVM) regions
    φ = 0.81, SD 0.011; areas φ = 0.91, SD 0.033."""
    for outcome in OUTCOMES:
        cal = calibration.did_process(did.Layout.of(frames[outcome]))
        assert 0.5 < cal["phi_region"] < 1 and cal["sd_region"] > 0.003, (outcome, cal)
        assert 0 < cal["phi_area"] < 1 and cal["sd_area"] > 0, (outcome, cal)


def test_the_t_type_interval_covers_a_planted_effect_on_the_council_layout(frames) -> None:
    """Effect 0.03 over the primary window, 1,000 panels (GDHI layout): the 95% interval covers it in
    0.92–0.97 (measured 0.933) and the estimate is unbiased to 0.002 (measured +0.0001)."""
    frame = frames["gdhi_per_head_lad"]
    layout = did.Layout.of(did.restrict(frame, PRIMARY, EVENT))
    process = calibration.did_process(did.Layout.of(frame))
    Y = calibration.did_null_panels(layout, process, calibration.DID_PANELS, SEED + 20, event=EVENT, effect=0.03)
    inf = calibration.region_inference_of(did.maps(layout, did.DID, EVENT, ES_WINDOW), Y)
    q = stats.t.ppf(0.975, inf.df)
    covered = float((np.abs(inf.estimate - 0.03) <= q * inf.s).mean())
    assert 0.92 <= covered <= 0.97, covered
    assert abs(inf.estimate.mean() - 0.03) < 0.002


def test_the_real_council_did_uses_ten_placebo_regions(frames) -> None:
    res = did.fit_did(frames["gdhi_per_head_lad"], EVENT, outcome="gdhi_per_head_lad", area="scotland:district",
                      cfg=CFG, window=PRIMARY)
    assert (res.details["n_treated"], res.details["n_comparison"], res.details["df"]) == (32, 318, 9)
    placebo = res.details["placebo_regions"]
    assert set(placebo) == set(districts.table().query("country != 'Scotland'")["region_name"])
    assert {r: v["n_areas"] for r, v in placebo.items()}["South East"] == 64
    assert math.isfinite(res.p_value) and res.ci_low < res.estimate < res.ci_high


# --------------------------------------------------------------------------------------------
# the council synthetic control on simulated panels


def council_shaped_panel(seed: int, *, n_treated: int, n_donors: int = 318, n_pre: int = 6,
                         n_post: int = 8) -> tuple[pd.DataFrame, list[str]]:
    """(wide in money, donor names): ``n_donors`` districts and ``n_treated`` null treated units
    ``N00``, ``N01``, …: :func:`simulated_panels.real_shaped_panel` at the council problem's size."""
    effects = {f"N{i:02d}": np.zeros(n_post) for i in range(n_treated)}
    return real_shaped_panel(seed, n_pre=n_pre, effects=effects, n_donors=n_donors, n_post=n_post)


NEAREST = synth.PoolRule(synth.NEAREST, 50)


@pytest.fixture(scope="module")
def council_simulation() -> pd.DataFrame:
    """12 council-shaped panels (seeds 60000–60011), 20 null units each, window 2003–2007; each unit
    tested under the default pool and the 50-nearest rule. Measured: about 18 s. (A longer run,
    60 panels with seeds 61000–61059, 1,200 null units: see the test below.)"""
    rows = []
    for seed in range(60_000, 60_012):
        wide, donors = council_shaped_panel(seed, n_treated=20)
        placebos = synth.placebo_distribution(wide, donors, EVENT, CFG, in_time=False)
        nearest = synth.placebo_distribution(wide, donors, EVENT, CFG, in_time=False, rule=NEAREST)
        for name in [c for c in wide.columns if c.startswith("N")]:
            res = synth.fit(wide, name, donors, EVENT, outcome="y", cfg=CFG, placebos=placebos, window=PRIMARY,
                            conformal_route=False, alternatives=[nearest])
            default, alternative = res.details["donor_pools"]
            rows.append({"seed": seed, "unit": name, "p_all": default["p_value"], "p_nearest": alternative["p_value"],
                         "n_nearest": alternative["n_donors"], "n_placebos": alternative["n_placebos"],
                         "p_verdict": res.p_value, "rule": alternative["rule"]})
    return pd.DataFrame(rows)


def test_council_synth_size_is_near_nominal_under_both_pool_rules(council_simulation) -> None:
    """240 null units (12 panels × 20). Band: ±3 binomial SEs for 240 tests, as in
    ``tests/test_synth.py``. Measured rejection rate at 0.05: 0.033 (every donor) and 0.033 (50
    nearest); at 0.10: 0.117 and 0.104; share of p ≤ 0.5: 0.492 and 0.492. The longer run (60 panels,
    seeds 61000–61059, 1,200 null units, 89 s) measured at 0.05 0.046 and 0.051, at 0.10 0.102 and
    0.098, p ≤ 0.5 0.526 and 0.516; median MDE 0.077 log points under either rule."""
    sim = council_simulation
    n = len(sim)
    assert n == 240
    assert (sim["p_verdict"] == sim["p_all"]).all()            # the verdict is the default pool's
    assert (sim["n_nearest"] == 50).all() and (sim["n_placebos"] == 318).all()
    assert (sim["rule"] == "nearest-50").all()
    for column in ("p_all", "p_nearest"):
        for level in (0.05, 0.10, 0.5):
            band = 3 * math.sqrt(level * (1 - level) / n)
            assert abs(np.mean(sim[column] <= level) - level) <= band, (column, level)


# --------------------------------------------------------------------------------------------
# the donor-pool rule


def test_the_nearest_rule_takes_the_k_nearest_by_pre_period_distance_ties_to_the_lower_code() -> None:
    years = [2000, 2001, 2002, 2003]
    logs = pd.DataFrame({"T": [0.0, 0.0, 0.0, 5.0], "a": [0.3, 0.3, 0.3, 0.0], "b": [0.1, -0.1, 0.1, 9.0],
                         "c": [-0.1, 0.1, -0.1, -9.0], "d": [1.0, 1.0, 1.0, 0.0]}, index=years)
    rule = synth.PoolRule(synth.NEAREST, 2)
    assert rule.select(logs, "T", ["a", "b", "c", "d"], 2003) == ["b", "c"]   # distance 0.1 each; 2003 unused
    assert synth.PoolRule(synth.NEAREST, 3).select(logs, "T", ["d", "c", "b", "a"], 2003) == ["c", "b", "a"]
    assert synth.PoolRule(synth.NEAREST, 9).select(logs, "T", ["a", "b"], 2003) == ["a", "b"]
    assert synth.ALL_DONORS.select(logs, "T", ["a", "T", "b"], 2003) == ["a", "b"]
    tie = logs.assign(e=logs["b"])          # e, b and c all at distance 0.1: the lower codes win
    assert synth.PoolRule(synth.NEAREST, 2).select(tie, "T", ["e", "c", "b"], 2003) == ["c", "b"]
    assert synth.pre_distance(np.zeros(3), logs[["a", "b"]].to_numpy()[:3]).tolist() == pytest.approx([0.3, 0.1])


def test_each_placebo_gets_its_own_nearest_pool_and_the_same_fit_as_a_treated_unit() -> None:
    """Under the nearest rule a placebo's pool is its own k nearest among the other donors: the
    placebo's fit is the fit a treated unit with that path would get."""
    wide, donors = council_shaped_panel(7, n_treated=1, n_donors=40)
    placebos = synth.placebo_distribution(wide, donors, EVENT, CFG, in_time=False, rule=synth.PoolRule("nearest", 8))
    logs = synth._logs(wide, donors)
    unit = donors[5]
    pool = placebos.rule.select(logs, unit, donors, EVENT)
    assert len(pool) == 8 and unit not in pool
    assert sorted(placebos.fits[unit].weights.index) == sorted(pool)
    alone = synth.fit_unit(logs, unit, pool, EVENT)
    np.testing.assert_allclose(placebos.fits[unit].gap, alone.gap, atol=1e-12)


@pytest.mark.parametrize(("rule", "k", "message"), [("near", 5, "unknown donor-pool rule"),
                                                    ("nearest", None, "needs a whole number k"),
                                                    ("nearest", 1, "at least 2"), ("all", 5, "takes no k")])
def test_a_bad_pool_rule_is_refused(rule, k, message) -> None:
    with pytest.raises(ValueError, match=message):
        synth.PoolRule(rule, k)


def test_fit_reports_every_rule_and_refuses_mismatched_placebos() -> None:
    wide, donors = council_shaped_panel(8, n_treated=1, n_donors=60)
    placebos = synth.placebo_distribution(wide, donors, EVENT, CFG)
    nearest = synth.placebo_distribution(wide, donors, EVENT, CFG, in_time=False, rule=synth.PoolRule("nearest", 20))
    res = synth.fit(wide, "N00", donors, EVENT, outcome="y", cfg=CFG, placebos=placebos, window=PRIMARY,
                    alternatives=[nearest])
    rows = res.details["donor_pools"]
    assert [r["rule"] for r in rows] == ["all", "nearest-20"]
    assert rows[0]["estimate"] == res.estimate and rows[0]["p_value"] == res.p_value
    assert (rows[0]["ci_low"], rows[0]["ci_high"], rows[0]["mde"]) == (res.ci_low, res.ci_high, res.mde)
    assert rows[1]["n_donors"] == 20 and set(rows[1]["weights"]) <= set(donors)
    assert res.details["donor_pool"] == {"rule": "all", "label": synth.ALL_DONORS.label, "k": None,
                                         "n_candidates": 60, "n_donors": 60}
    for key in ("estimate", "p_value", "ci_low", "ci_high", "mde", "min_p", "pre_fit_ok", "n_placebos"):
        assert key in rows[1]
    # the same unit fitted under the nearest rule directly agrees with its robustness row
    direct = synth.fit(wide, "N00", donors, EVENT, outcome="y", cfg=CFG, placebos=nearest, window=PRIMARY,
                       conformal_route=False)
    assert (direct.estimate, direct.p_value, direct.ci_low) == (rows[1]["estimate"], rows[1]["p_value"],
                                                                 rows[1]["ci_low"])
    with pytest.raises(ValueError, match="computed under the nearest-20"):
        synth.fit(wide, "N00", donors, EVENT, outcome="y", cfg=CFG, placebos=nearest, rule=synth.ALL_DONORS)
    with pytest.raises(ValueError, match="default donor pool"):
        synth.fit(wide, "N00", donors, EVENT, outcome="y", cfg=CFG, placebos=nearest, loo=True)
    with pytest.raises(ValueError, match="another event or candidate pool"):
        synth.fit(wide, "N00", donors[1:], EVENT, outcome="y", cfg=CFG, alternatives=[nearest])


def test_the_placebo_summary_is_one_shared_object_per_window() -> None:
    """Every result of one outcome carries the same placebo summary object, so the cached ledger
    stores the 318 placebos' gaps once per window, not once per council."""
    wide, donors = council_shaped_panel(9, n_treated=2, n_donors=30)
    placebos = synth.placebo_distribution(wide, donors, EVENT, CFG, in_time=False)
    a = synth.fit(wide, "N00", donors, EVENT, outcome="y", cfg=CFG, placebos=placebos, window=PRIMARY,
                  conformal_route=False)
    b = synth.fit(wide, "N01", donors, EVENT, outcome="y", cfg=CFG, placebos=placebos, window=PRIMARY,
                  conformal_route=False)
    assert a.details["placebos"] is b.details["placebos"]


def test_synth_prepare_at_the_district_level_has_no_scotland_row() -> None:
    outputs = panel.build()
    problem = synth.prepare(outputs.panel, outputs.areas, "gdhi_per_head_lad", CFG, level=did.DISTRICT)
    assert (problem.level, problem.scotland, len(problem.donors), len(problem.scottish_areas)) == (
        did.DISTRICT, None, 318, 32)
    assert set(problem.donors) == set(districts.codes("England")) | set(districts.codes("Wales"))
    assert list(problem.wide.index) == list(range(1997, 2024))
