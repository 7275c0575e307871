"""The interrupted time series and its inference, calibrated where the book's data are.

The book's series are short (12–29 annual points before the event, a 5-year primary window and up
to 17 post-event years) and persistent: several have residual AR(1) coefficients near 1. So the
size of every reported test (the departure test, the average gap, the level and the slope change)
is measured on null series with AR(1) errors at φ = 0.3, 0.6, 0.9 and a random walk, with 12 and 29
pre-event years and 5 and 17 post-event years, through the same engine the design uses
(:func:`analysis.attribution.its.segmented_fit`'s :class:`~analysis.attribution.ar_bootstrap.Engine`,
same settings and seed). Every simulation is seeded, so every figure below is reproducible; the
measured values are stated next to each tolerance.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis import settings
from analysis.attribution import ar_bootstrap, calibration, its
from analysis.attribution.power import analytic_mde, simulated_mde, simulated_power

CFG = settings.load()["attribution"]
S = its.Settings.from_cfg(CFG)
ALPHA, POWER = S.alpha, S.power
EVENT = 2003
#: the real primary window's length (2003–2007)
WINDOW = 5


def years_for(n_pre: int, n_post: int) -> np.ndarray:
    return np.arange(EVENT - n_pre, EVENT + n_post)


def engine_for(years: np.ndarray) -> ar_bootstrap.Engine:
    return S.engine(its.design_matrix(years, EVENT), its.contrasts(years, EVENT), its.JOINT)


def null_series(years: np.ndarray, phi: float, sims: int, seed: int, *, sd: float = 1.0) -> np.ndarray:
    """``sims`` series (rows) with a trend, no break and AR(1) errors (φ = 1: a random walk)."""
    rng = np.random.default_rng(seed)
    t = (years - EVENT).astype(float)
    return 10 + 0.5 * t + sd * ar_bootstrap.ar1_draws(rng.standard_normal((sims, len(years))), phi)


def series(y: np.ndarray, years: np.ndarray) -> pd.Series:
    return pd.Series(y, index=pd.Index(years, dtype="int64"))


def fit(y: np.ndarray, years: np.ndarray, window: tuple[int, int] | None = None):
    return its.fit(series(y, years), EVENT, outcome="simulated", area="nowhere", cfg=CFG, window=window)


def check(result, name: str):
    return next(c for c in result.checks if c.name == name)


# --------------------------------------------------------------------------------------------
# size where the data are


CELLS = [(n_pre, n_post, phi) for n_pre in calibration.ITS_PRE_YEARS for n_post in calibration.ITS_POST_YEARS
         for phi in calibration.ITS_PHIS]
LOW, HIGH = calibration.SIZE_BAND


@pytest.mark.parametrize(("n_pre", "n_post", "phi"), CELLS)
def test_every_reported_test_has_size_within_the_band_or_the_design_flags_the_series(n_pre, n_post, phi):
    """2,000 null series per cell. For each reported test the rejection rate at 0.05 lies in 0.03–0.07
    (measured over the 16 cells: 0.031–0.070); where the persistence check flags most series, the
    rate of *reported* false detections (rejected and not flagged) is at most 0.07 instead.
    A binomial SD at 0.05 over 2,000 series is 0.005."""
    years = years_for(n_pre, n_post)
    eng = engine_for(years)
    st = eng.design.statistics(null_series(years, phi, calibration.ITS_SERIES,
                                           seed=1000 + 10 * n_pre + n_post + int(100 * phi)))
    from_phi = eng.oversized_from(its.REPORTED_TESTS, ALPHA, S.size_tolerance)
    flagged = eng.phi_hat(st.r1) >= from_phi if from_phi is not None else np.zeros(len(st.r1), dtype=bool)
    for name in its.REPORTED_TESTS:
        rejected = eng.p_value(name, st.statistic(name), st.r1) < ALPHA
        if flagged.mean() < 0.5:
            assert LOW <= rejected.mean() <= HIGH, (name, rejected.mean(), flagged.mean())
        assert (rejected & ~flagged).mean() <= HIGH, (name, (rejected & ~flagged).mean())


def test_the_plug_in_bootstrap_alone_is_over_sized_at_high_persistence():
    """Why the prepivoting step: at φ = 0.9 with 12 + 17 points, a plain AR(1) bootstrap at the
    series' own estimated φ (no calibration) rejects a true null of no slope change far more often
    than 5% (measured 0.15 with a median-unbiased φ). The calibrated test keeps it within 0.07."""
    years = years_for(12, 17)
    eng = ar_bootstrap.Engine(ar_bootstrap.Design(its.design_matrix(years, EVENT), its.contrasts(years, EVENT),
                                                  its.JOINT), draws=999, grid=S.grid, seed=S.seed, phi_quantile=0.5)
    st = eng.design.statistics(null_series(years, 0.9, 2000, seed=7))
    plug_in = eng.plugin_p("slope", st.statistic("slope"), eng.phi_hat(st.r1)) < ALPHA
    calibrated = engine_for(years).p_value("slope", st.statistic("slope"), st.r1) < ALPHA
    assert plug_in.mean() > 0.10 and calibrated.mean() <= 0.07, (plug_in.mean(), calibrated.mean())


def test_a_short_persistent_design_is_flagged_by_the_check():
    """8 years before the event and 4 from it on: the engine finds the calibrated tests over-sized
    near a random walk (measured: the worst test's size 0.076 at φ = 1, from φ = 1.0), and random
    walks observed on those 12 points fail the persistence check, with its reason."""
    years = years_for(8, 4)
    assert engine_for(years).oversized_from(its.REPORTED_TESTS, ALPHA, S.size_tolerance) is not None
    flagged = 0
    for y in null_series(years, 1.0, 12, seed=8):
        c = check(fit(y, years), "errors not too persistent for the design")
        if c.passed is False:
            flagged += 1
            assert "Too persistent for this design at n = 12 (8 before the event)" in c.detail
    assert flagged >= 6, flagged


def test_the_persistence_check_passes_for_a_weakly_autocorrelated_long_series():
    years = years_for(29, 17)
    result = fit(null_series(years, 0.3, 1, seed=9)[0], years)
    c = check(result, "errors not too persistent for the design")
    assert c.passed is True and "simulated size" in c.detail
    assert 0.03 <= c.p_value <= 0.07


# --------------------------------------------------------------------------------------------
# the estimand


def test_a_slope_change_with_no_level_change_is_detected_by_the_departure_test():
    """The case the level-only test missed: the path bends at the event without stepping. 12 + 17
    points, φ = 0.3, slope change −1 a year: the level-change test rejects in 2% of 60 series, the
    departure test in 77% (measured), and the average gap is the bend averaged over the window
    (b3 · mean(t − T0) = −8)."""
    years = years_for(12, 17)
    t = (years - EVENT).astype(float)
    bend = -1.0 * t * (t >= 0)
    results = [fit(y + bend, years) for y in null_series(years, 0.3, 60, seed=10)]
    departure = np.mean([r.p_value < ALPHA for r in results])
    level = np.mean([r.details["level_change"]["p_value"] < ALPHA for r in results])
    assert departure >= 0.65 and level <= 0.15, (departure, level)
    assert abs(np.mean([r.estimate for r in results]) - (-8.0)) < 0.5


def test_the_window_bounds_the_data_and_the_gap():
    years = years_for(12, 17)
    y = null_series(years, 0.3, 1, seed=11)[0]
    result = fit(y, years, window=(EVENT, EVENT + WINDOW - 1))
    assert result.window == (EVENT, EVENT + WINDOW - 1)
    assert result.n_post == WINDOW and max(result.details["counterfactual"]) == EVENT + WINDOW - 1
    # the same as fitting the truncated series without a window
    truncated = fit(y[: 12 + WINDOW], years[: 12 + WINDOW])
    assert (result.estimate, result.p_value) == (truncated.estimate, truncated.p_value)
    with pytest.raises(ValueError, match="must start at the event year"):
        fit(y, years, window=(EVENT + 1, EVENT + 5))


def test_interval_p_value_and_equivalence_interval_agree():
    """p < alpha for the gap exactly when its 1 − alpha interval excludes 0; the 1 − 2·alpha interval
    lies inside the 1 − alpha one (checked on 30 series)."""
    years = years_for(12, WINDOW)
    for y in null_series(years, 0.6, 30, seed=12) + np.where(years >= EVENT, 1.5, 0.0):
        r = fit(y, years)
        excludes = not r.ci_low <= 0 <= r.ci_high
        assert (r.estimate_p < ALPHA) == excludes or abs(r.estimate_p - ALPHA) < 0.005, (r.estimate_p, r.ci_low)
        assert r.ci_low <= r.eq_low <= r.estimate <= r.eq_high <= r.ci_high


def test_interval_covers_a_planted_gap_at_its_nominal_rate():
    """150 series, 12 + 5 points, φ = 0.9, a step of 3 in the window: coverage of the 95% interval
    measured 0.95; band 0.90–0.99 (binomial SD 0.018)."""
    years = years_for(12, WINDOW)
    step = np.where(years >= EVENT, 3.0, 0.0)
    results = [fit(y + step, years) for y in null_series(years, 0.9, 150, seed=13)]
    covered = np.mean([r.ci_low <= 3.0 <= r.ci_high for r in results])
    assert 0.90 <= covered <= 0.99, covered


def test_an_effect_equal_to_the_mde_is_detected_about_power_of_the_time():
    """The MDE is simulated for the calibrated gap test under the series' own estimated error process
    (median-unbiased AR(1) coefficient and innovation SD). A step of that size added to 400 fresh
    series from that process is detected at about the stated power (measured 0.79–0.81 for the
    three series; band 0.72–0.88, binomial SD 0.02, plus the grid interpolation of the power curve)."""
    years = years_for(29, WINDOW)
    eng = engine_for(years)
    for seed in (14, 30, 31):
        result = fit(null_series(years, 0.6, 1, seed=seed)[0], years)
        process = result.details["mde_simulated_under"]
        step = np.where(years >= EVENT, result.mde, 0.0)
        y = null_series(years, process["ar1_phi"], 400, seed=15, sd=process["innovation_sd"]) + step
        st = eng.design.statistics(y)
        detected = float((eng.p_value("gap", st.statistic("gap"), st.r1) < ALPHA).mean())
        assert 0.72 <= detected <= 0.88, (seed, result.mde, detected)


def test_results_are_deterministic():
    years = years_for(12, WINDOW)
    y = null_series(years, 0.6, 1, seed=16)[0]
    first, second = fit(y, years), fit(y, years)
    assert (first.estimate, first.ci_low, first.p_value, first.mde) == (
        second.estimate, second.ci_low, second.p_value, second.mde)


def test_fixed_b_standard_error_is_the_full_bandwidth_bartlett_sandwich():
    """The statistic's SE is Σ_t Σ_s a_t a_s (1 − |t − s|/n), a_t = c_t û_t — computed here by loops."""
    years = years_for(12, 17)
    y = null_series(years, 0.6, 1, seed=17)[0]
    design = engine_for(years).design
    u = design.residuals(y[None, :])[0]
    a = design.rows["gap"] * u
    n = len(y)
    by_hand = math.sqrt(sum(a[t] * a[s] * (1 - abs(t - s) / n) for t in range(n) for s in range(n)))
    assert design.statistics(y).se["gap"][0] == pytest.approx(by_hand, rel=1e-10)


# --------------------------------------------------------------------------------------------
# assumption checks


def test_a_curved_pre_trend_fails_the_linearity_check():
    years = years_for(12, 17)
    rng = np.random.default_rng(18)
    t = (years - EVENT).astype(float)
    curved = 20 + 0.15 * t**2 + 0.5 * rng.standard_normal(len(years))
    straight = 20 + 0.5 * t + 0.5 * rng.standard_normal(len(years))
    assert check(fit(curved, years), "linear pre-event trend").passed is False
    assert check(fit(straight, years), "linear pre-event trend").passed is True


def test_placebo_p_value_is_small_for_a_real_break_and_not_for_none():
    """24 + 17 points (the alcohol series' shape), a step of 4 SDs at the event: the real gap is
    larger than most placebo gaps. Measured means over 15 series: 0.12 with the step, 0.52 without."""
    years = years_for(24, 17)
    step = np.where(years >= EVENT, 4.0, 0.0)
    real = [fit(y + step, years).details["placebo_p"] for y in null_series(years, 0.3, 15, seed=19)]
    none = [fit(y, years).details["placebo_p"] for y in null_series(years, 0.3, 15, seed=20)]
    assert np.mean(real) < 0.3 < 0.4 < np.mean(none), (np.mean(real), np.mean(none))


def test_placebo_events_respect_the_gap_and_the_sides():
    years = years_for(12, 17)
    placebos = its.placebo_events(series(null_series(years, 0.3, 1, seed=21)[0], years), EVENT, CFG)
    first, last = int(years[0]), int(years[-1])
    expected = [*range(first + S.min_pre, min(EVENT - S.min_post, EVENT - S.placebo_min_gap) + 1),
                *range(max(EVENT + S.min_pre, EVENT + S.placebo_min_gap), last - S.min_post + 2)]
    assert placebos["event"].tolist() == expected
    assert list(placebos.columns) == ["event", "estimate", "p_value"]


def test_every_check_is_reported_and_coincident_change_is_untestable():
    years = years_for(12, 17)
    result = fit(null_series(years, 0.3, 1, seed=22)[0], years)
    assert [c.name for c in result.checks] == [
        "enough observations", "linear pre-event trend", "no departure at placebo events",
        "errors not too persistent for the design", "no other change at the same time"]
    assert check(result, "no other change at the same time").passed is None
    assert all(c.gate for c in result.checks)


def test_a_short_side_fails_the_observations_check_but_still_fits():
    years = np.arange(1991, 2006)   # 12 years before 2003, only 3 from it on (4 needed)
    result = fit(null_series(years, 0.3, 1, seed=23)[0], years)
    assert result.n_post == 3
    assert check(result, "enough observations").passed is False
    assert math.isfinite(result.estimate) and math.isfinite(result.mde)


def test_inference_routes_name_the_one_the_verdict_uses():
    years = years_for(12, WINDOW)
    result = fit(null_series(years, 0.3, 1, seed=24)[0], years)
    roles = [i.role for i in result.inferences]
    assert roles.count("verdict") == 1
    verdict = next(i for i in result.inferences if i.role == "verdict")
    assert verdict.p_value == result.p_value and "departure" in verdict.method
    assert any(i.role == "label" and "textbook" in i.method for i in result.inferences)
    assert result.estimand.startswith("average gap") and result.estimate_p is not None


# --------------------------------------------------------------------------------------------
# bad input


def test_a_missing_value_names_its_year():
    years = years_for(12, 17)
    y = null_series(years, 0.3, 1, seed=25)[0]
    y[5] = np.nan
    with pytest.raises(ValueError, match=str(years[5])):
        fit(y, years)


def test_too_few_points_on_a_side_raise():
    with pytest.raises(ValueError, match="at least 3 points"):
        fit(np.arange(6.0), np.arange(2001, 2007))   # 2 years before 2003


def test_unsorted_years_raise():
    years = years_for(12, 17)
    with pytest.raises(ValueError, match="sorted"):
        fit(np.arange(float(len(years))), years[::-1].copy())


def test_engine_rejects_a_bad_grid_and_too_few_draws():
    X = its.design_matrix(years_for(12, 17), EVENT)
    design = ar_bootstrap.Design(X, its.contrasts(years_for(12, 17), EVENT), its.JOINT)
    with pytest.raises(ValueError, match="99 bootstrap draws"):
        ar_bootstrap.Engine(design, draws=10, grid=S.grid, seed=1)
    with pytest.raises(ValueError, match="increasing"):
        ar_bootstrap.Engine(design, draws=199, grid=S.grid[::-1], seed=1)
    with pytest.raises(ValueError, match="positive step"):
        ar_bootstrap.grid_from({"from": 0.5, "to": 0.1, "step": 0.05})


# --------------------------------------------------------------------------------------------
# minimum detectable effects (the shared helpers)


def test_analytic_mde_is_detected_with_the_stated_power():
    rng = np.random.default_rng(26)
    sims, m = 300, 10
    # z-test of a mean with known σ = 1: the formula is exact here.
    effect = analytic_mde(1 / math.sqrt(m), ALPHA, POWER)
    z = rng.normal(effect, 1, (sims, m)).mean(axis=1) * math.sqrt(m)
    detected = np.mean(np.abs(z) > stats.norm.ppf(1 - ALPHA / 2))
    # ±0.07 is 3 binomial SDs (√(0.8·0.2/300) = 0.023).
    assert abs(detected - POWER) <= 0.07, detected
    effect = analytic_mde(1 / math.sqrt(m), ALPHA, POWER, df=m - 1)
    x = rng.normal(effect, 1, (sims, m))
    t = x.mean(axis=1) / (x.std(axis=1, ddof=1) / math.sqrt(m))
    detected = np.mean(np.abs(t) > stats.t.ppf(1 - ALPHA / 2, m - 1))
    assert abs(detected - POWER) <= 0.07, detected


def test_simulated_mde_matches_the_analytic_formula_on_a_z_test():
    m = 10
    crit = stats.norm.ppf(1 - ALPHA / 2)

    def detect(effect: float, rng: np.random.Generator) -> bool:
        return abs(rng.normal(effect, 1, m).mean() * math.sqrt(m)) > crit

    found = simulated_mde(detect, power=POWER, n=400, seed=27, scale=0.1)
    expected = analytic_mde(1 / math.sqrt(m), ALPHA, POWER)
    assert found == pytest.approx(expected, rel=0.10)
    assert simulated_mde(detect, power=POWER, n=400, seed=27, scale=0.1) == found
    assert simulated_power(detect, found, 400, 27) >= POWER
