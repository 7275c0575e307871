"""The verdict taxonomy and its rules, on constructed cases: each rule fires exactly where it should,
and the multiplicity adjustments agree with statsmodels'."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from analysis import settings
from analysis.attribution import verdicts as v
from analysis.attribution.base import AssumptionCheck, DesignResult

CFG = settings.load()["attribution"]
RULES = v.Rules.from_cfg(CFG)
ALPHA = RULES.alpha


def result(p=0.01, checks=(), estimate=2.0, mde=1.0, design="did", eq=None, sensitivity="survives",
           window=(2003, 2007)) -> DesignResult:
    eq_low, eq_high = eq if eq is not None else (estimate - 0.8, estimate + 0.8)
    sens = {"breakdown_rm": 1.5, "breakdown_sd": 0.01} if sensitivity == "survives" else sensitivity
    return DesignResult(
        design=design, outcome="y", area="S92000003", event=2003, estimate=estimate, ci_low=estimate - 1,
        ci_high=estimate + 1, p_value=p, p_kind="t", mde=mde, n_pre=5, n_post=5, checks=list(checks),
        estimand="an average", window=window, eq_low=eq_low, eq_high=eq_high, sensitivity=sens,
    )


def decide(res, sms=3, reason=None, p_adjusted=None, rules=RULES):
    return v.decide(res, sms_level=sms, rules=rules, p_adjusted=p_adjusted, untestable_reason=reason)


def test_the_taxonomy_lives_in_the_settings_and_covers_every_key():
    labels = v.labels(CFG)
    assert list(labels) == list(v.KEYS) and len(set(labels.values())) == len(v.KEYS)
    with pytest.raises(ValueError, match="exactly the verdicts"):
        v.labels({"verdicts": {k: k for k in v.KEYS[:-1]}})
    with pytest.raises(ValueError, match="same label"):
        v.labels({"verdicts": dict.fromkeys(v.KEYS, "same")})


def test_no_design_is_untestable_and_must_say_why():
    assert decide(None, sms=1, reason="perception only").key == v.UNTESTABLE
    with pytest.raises(ValueError):
        decide(None, sms=1)


def test_a_failed_gating_check_names_the_assumption_even_when_significant():
    res = result(p=0.0001, checks=[AssumptionCheck("linear pre-event trend", False, "curves, p = 0.001")])
    out = decide(res)
    assert out.key == v.ASSUMPTION and "linear pre-event trend" in out.reason


def test_a_failed_diagnostic_never_decides_on_its_own():
    """The pre-trend test is a diagnostic (gate=False): failing it does not make the verdict
    'a named assumption fails' — the sensitivity analysis decides instead (Roth 2022)."""
    diag = AssumptionCheck("parallel pre-trends (diagnostic)", False, "rejected", gate=False)
    assert decide(result(p=0.001, checks=[diag])).key == v.ATTRIBUTABLE
    assert decide(result(p=0.001, checks=[diag], sensitivity={"breakdown_rm": 0.4})).key == v.DETECTED


def test_a_significant_level_2_design_is_detected_not_attributable():
    out = decide(result(p=0.001, design="its"), sms=2)
    assert out.key == v.DETECTED and "no comparison group" in out.why


def test_a_detected_change_must_survive_the_sensitivity_analysis():
    out = decide(result(p=0.001, sensitivity={"breakdown_rm": 0.5}))
    assert out.key == v.DETECTED and "M̄ = 0.5" in out.why
    out = decide(result(p=0.001, sensitivity={"breakdown_rm": None}))
    assert out.key == v.DETECTED
    missing = result(p=0.001, sensitivity=None)
    missing.details["sensitivity_refusal"] = "too few placebo regions"
    out = decide(missing)
    assert out.key == v.DETECTED and "too few placebo regions" in out.why
    # the synthetic control has no parallel-trends assumption to read through the sensitivity analysis
    assert decide(result(p=0.001, design="synth", sensitivity=None)).key == v.ATTRIBUTABLE


def test_attributable_states_the_regime_comparison_and_the_untested_assumptions():
    checks = [AssumptionCheck("comparison areas untreated", None, "LSPs")]
    out = decide(result(p=0.001, checks=checks))
    assert out.key == v.ATTRIBUTABLE
    assert "partnership regimes" in out.why and "comparison areas untreated" in out.why


def test_equivalence_needs_the_equivalence_interval_inside_the_margin():
    inside = result(p=0.4, estimate=0.1, mde=1.0, eq=(-0.5, 0.7))
    assert decide(inside).key == v.EQUIVALENT and "no effect larger than 1" in decide(inside).why
    reaching = result(p=0.4, estimate=0.1, mde=1.0, eq=(-0.5, 1.2))
    assert decide(reaching).key == v.INCONCLUSIVE
    at_margin = result(p=0.4, estimate=0.1, mde=1.0, eq=(-1.0, 0.7))   # strict: -margin < eq_low
    assert decide(at_margin).key == v.INCONCLUSIVE
    stated = v.Rules.from_cfg(CFG, margin=0.6)
    assert decide(inside, rules=stated).key == v.INCONCLUSIVE   # a tighter stated margin is not met


def test_the_verdict_uses_the_adjusted_p_value():
    res = result(p=0.01)
    assert decide(res).key == v.ATTRIBUTABLE
    assert decide(res, p_adjusted=0.08).key != v.ATTRIBUTABLE
    assert decide(result(p=ALPHA)).key != v.ATTRIBUTABLE   # p = alpha is not below it


def test_nan_p_values_never_detect():
    assert decide(result(p=float("nan"))).key in (v.EQUIVALENT, v.INCONCLUSIVE)


def test_every_verdict_key_is_reachable():
    cases = [decide(None, sms=1, reason="x"),
             decide(result(p=0.001)),
             decide(result(p=0.001, design="its"), sms=2),
             decide(result(p=0.001, checks=[AssumptionCheck("a", False, "b")])),
             decide(result(p=0.5, estimate=0.0, eq=(-0.3, 0.3))),
             decide(result(p=0.5, estimate=0.0, eq=(-3, 3)))]
    assert {c.key for c in cases} == set(v.KEYS)


@pytest.mark.parametrize("seed", range(5))
def test_holm_and_benjamini_hochberg_match_statsmodels(seed):
    p = list(np.random.default_rng(seed).uniform(0, 0.2, 9))
    p[3] = math.nan
    finite = [x for x in p if not math.isnan(x)]
    holm = [x for x in v.holm(p) if not math.isnan(x)]
    bh = [x for x in v.benjamini_hochberg(p) if not math.isnan(x)]
    np.testing.assert_allclose(holm, multipletests(finite, method="holm")[1], atol=1e-12)
    np.testing.assert_allclose(bh, multipletests(finite, method="fdr_bh")[1], atol=1e-12)
    assert math.isnan(v.holm(p)[3]) and math.isnan(v.benjamini_hochberg(p)[3])


# ---- end to end: designs on panels with a built-in flaw, then the rules ---------------------


def _pretrend_panel(seed: int = 7) -> pd.DataFrame:
    """Log outcomes with area and year effects and region-level shocks; the treated country's areas
    trend up 2% a year faster from the start, and there is NO effect of the event: a naive
    before/after comparison would find one."""
    rng = np.random.default_rng(seed)
    years = range(1998, 2008)
    rows = []
    for region, n in {"Scotland": 20, **{f"R{j}": 12 for j in range(10)}}.items():
        shock = rng.normal(0, 0.005, len(years)).cumsum()
        for i in range(n):
            base = rng.normal(10, 0.2)
            for k, t in enumerate(years):
                trend = 0.02 * k if region == "Scotland" else 0.0
                rows.append({"area_code": f"{region}-{i:02d}", "country": "Scotland" if region == "Scotland"
                             else "England", "region": region, "year": t, "treated": int(region == "Scotland"),
                             "y": base + 0.01 * k + trend + shock[k] + rng.normal(0, 0.01)})
    return pd.DataFrame(rows)


def test_a_built_in_pre_trend_is_detected_but_not_attributed():
    """The difference-in-differences is 'significant', but the event study's leads carry the same
    trend, so under relative magnitudes the change is explained by a continuation of the pre-event
    violation: the verdict is 'change detected, not attributable' with a breakdown value below 1,
    and the pre-trend diagnostic flags it."""
    from analysis.attribution import did

    res = did.fit_did(_pretrend_panel(), 2003, outcome="y", area="toy", cfg=CFG, window=(2003, 2007))
    assert res.p_value < ALPHA
    out = decide(res)
    assert out.key == v.DETECTED, out
    assert res.sensitivity is not None and (res.sensitivity["breakdown_rm"] or 0) < RULES.attribution_mbar
    diagnostic = next(c for c in res.checks if c.name.startswith("parallel pre-trends"))
    assert diagnostic.passed is False and diagnostic.gate is False


def test_a_curved_pre_trend_makes_the_time_series_verdict_name_the_assumption():
    from analysis.attribution import its

    years = np.arange(1991, 2020)
    rng = np.random.default_rng(3)
    y = 0.08 * (years - 1991) ** 2 + rng.normal(0, 0.5, len(years))  # accelerating, no event at all
    res = its.fit(pd.Series(y, index=years), 2003, outcome="y", area="toy", cfg=CFG)
    out = decide(res, sms=2)
    assert out.key == v.ASSUMPTION and "linear pre-event trend" in out.reason
