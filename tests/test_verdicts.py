"""The verdict rules, on constructed cases: each rule fires exactly where it should."""

from __future__ import annotations

import pytest

from analysis.attribution import verdicts as v
from analysis.attribution.base import AssumptionCheck, DesignResult

ALPHA = 0.05


def result(p=0.01, checks=(), estimate=2.0, mde=1.0) -> DesignResult:
    return DesignResult(
        design="did", outcome="y", area="S92000003", event=2003, estimate=estimate, ci_low=estimate - 1,
        ci_high=estimate + 1, p_value=p, p_kind="analytic", mde=mde, n_pre=5, n_post=10, checks=list(checks),
    )


def decide(res, sms=3, reason=None):
    return v.decide(res, sms_level=sms, alpha=ALPHA, min_sms=3, untestable_reason=reason)


def test_no_design_is_untestable_and_must_say_why():
    assert decide(None, sms=1, reason="perception only").verdict == v.UNTESTABLE
    with pytest.raises(ValueError):
        decide(None, sms=1)


def test_a_failed_assumption_refuses_attribution_even_when_significant():
    res = result(p=0.0001, checks=[AssumptionCheck("parallel pre-trends", False, "leads jointly p = 0.001")])
    out = decide(res)
    assert out.verdict == v.ASSUMPTION_FAILS
    assert "parallel pre-trends" in out.reason


def test_insignificant_effect_reports_the_mde():
    out = decide(result(p=0.4, mde=1.23))
    assert out.verdict == v.NOT_DISTINGUISHABLE
    assert "1.23" in out.reason


def test_p_equal_to_alpha_is_not_significant():
    assert decide(result(p=ALPHA)).verdict == v.NOT_DISTINGUISHABLE


def test_significant_level_2_design_cannot_attribute():
    out = decide(result(p=0.001), sms=2)
    assert out.verdict == v.ASSUMPTION_FAILS
    assert "no comparison" in out.reason


def test_significant_level_3_design_with_checks_passing_is_attributable():
    checks = [AssumptionCheck("parallel pre-trends", True, "p = 0.6"),
              AssumptionCheck("untreated donors", None, "LSPs")]
    out = decide(result(p=0.001, checks=checks))
    assert out.verdict == v.ATTRIBUTABLE
    assert "untreated donors" in out.reason


def test_nan_p_value_is_never_significant():
    assert decide(result(p=float("nan"))).verdict == v.NOT_DISTINGUISHABLE


def test_every_verdict_is_one_of_the_four():
    cases = [decide(None, sms=1, reason="x"), decide(result(p=0.5)), decide(result(p=0.001), sms=2),
             decide(result(p=0.001))]
    assert {c.verdict for c in cases} == set(v.VERDICTS)


# ---- end to end: a design on a panel with a built-in flaw, then the rules -----------------


def _pretrend_panel(seed: int = 7, n_treated: int = 20, n_control: int = 60, years=range(1998, 2014)):
    """Log outcomes with area and year effects; treated areas trend up 2% a year faster from the
    start, and there is NO effect of the event: a naive before/after comparison would find one."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_treated + n_control):
        treated = i < n_treated
        base = rng.normal(10, 0.2)
        for t in years:
            trend = 0.02 * (t - years[0]) if treated else 0.0
            rows.append({"area_code": f"A{i:03d}", "country": "Scotland" if treated else "England", "year": t,
                         "y": base + 0.01 * (t - years[0]) + trend + rng.normal(0, 0.01), "treated": int(treated)})
    return pd.DataFrame(rows)


def test_a_built_in_pre_trend_makes_the_verdict_refuse_attribution():
    from analysis import settings
    from analysis.attribution import did

    cfg = settings.load()["attribution"]
    res = did.fit_did(_pretrend_panel(), 2003, outcome="y", area="toy", cfg=cfg)
    assert res.p_value < 0.05  # the naive difference-in-differences is "significant"
    out = v.decide(res, sms_level=3, alpha=cfg["alpha"], min_sms=3)
    assert out.verdict == v.ASSUMPTION_FAILS
    assert "parallel pre-trends" in out.reason


def test_a_curved_pre_trend_makes_the_time_series_verdict_refuse_attribution():
    import numpy as np
    import pandas as pd

    from analysis import settings
    from analysis.attribution import its

    cfg = settings.load()["attribution"]
    years = np.arange(1991, 2020)
    rng = np.random.default_rng(3)
    y = 0.08 * (years - 1991) ** 2 + rng.normal(0, 0.5, len(years))  # accelerating, no event at all
    res = its.fit(pd.Series(y, index=years), 2003, outcome="y", area="toy", cfg=cfg)
    out = v.decide(res, sms_level=2, alpha=cfg["alpha"], min_sms=3)
    assert out.verdict == v.ASSUMPTION_FAILS
    assert "linear pre-event trend" in out.reason
