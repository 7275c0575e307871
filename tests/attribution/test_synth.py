"""Synthetic control (analysis.attribution.synth): solver, estimand, inference, MDE, conformal route and
leave-one-out, on simulated panels.

Two simulated panels. :func:`factor_panel` (the small-problem tests): a three-factor model in logs
(random-walk factors, loadings in [0, 1], common growth, idiosyncratic noise of the stated size);
the treated unit's latent path is a convex combination of three donors' latent paths, plus its own
noise and the true effect from the event. :func:`real_shaped_panel` (size, coverage and power):
shaped like the book's problem — 145 donors, 5 or 6 pre-event years, a 5-year primary window and
3 more post years, log GDP per head with persistent factors (random walks, sd 0.03 a year) and a
persistent idiosyncratic part (a random walk of sd 0.01 a year plus noise of sd 0.005). On it
(medians over the first 20 panels of the simulation below) the placebos' median leave-one-year-out
pre RMSPE is 0.0145 log points and the critical value of the studentised test 4.7 (real data, GDP
per head 2003–2007: 0.0147 and 5.5), and a treated unit's MDE 0.07 log points (0.080 over all 240
null units; Scotland, GDP per head: 0.083). Every random draw is seeded, so
every number below is reproducible. Measured wall time of this file: 26 s on this machine (43 s
when other jobs shared its two cores), the size, coverage and power simulation 20 s of it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog, minimize
from simulated_panels import EVENT, real_shaped_panel

from analysis import settings
from analysis.attribution import synth
from analysis.attribution.base import REPORTED, VERDICT

CFG = settings.load()["attribution"]
ALPHA = CFG["alpha"]


def factor_panel(seed: int, n_donors: int, n_pre: int, n_post: int, noise: float, *, effect: float = 0.0,
                 shift: float = 0.0) -> tuple[pd.DataFrame, list[str], pd.Series]:
    """(wide in money, donor names, the true weights) for one simulated panel; the treated unit is ``T``."""
    rng = np.random.default_rng(seed)
    years = np.arange(EVENT - n_pre, EVENT + n_post)
    factors = np.cumsum(rng.normal(0, 0.03, (len(years), 3)), axis=0)
    loadings = rng.uniform(0, 1, (n_donors, 3))
    latent = rng.normal(math.log(20_000), 0.2, n_donors) + factors @ loadings.T + 0.02 * (years - years[0])[:, None]
    weights = np.zeros(n_donors)
    weights[rng.choice(n_donors, 3, replace=False)] = rng.dirichlet(np.ones(3))
    treated = latent @ weights + rng.normal(0, noise, len(years)) + effect * (years >= EVENT) + shift
    donors = latent + rng.normal(0, noise, latent.shape)
    names = [f"D{j:03d}" for j in range(n_donors)]
    wide = pd.DataFrame(np.exp(np.column_stack([donors, treated])), index=years, columns=[*names, "T"])
    return wide, names, pd.Series(weights, index=names)


def check(result, name: str):
    return next(c for c in result.checks if c.name == name)


def window_years(result) -> np.ndarray:
    return np.array([g for t, g in result.details["gap"].items() if result.window[0] <= t <= result.window[1]])


# --------------------------------------------------------------------------------------------
# the solver


def test_solver_matches_slsqp_and_pysyncon_on_a_problem_with_unique_weights():
    """12 years, 6 donors, treated off the donors' hull: one minimiser. Weights within 1e-6 of SLSQP
    run to ftol 1e-15 (measured 2.7e-8), within 1e-4 of pysyncon at its default SLSQP tolerance
    (measured 1.0e-5), and no worse a fit."""
    pysyncon = pytest.importorskip("pysyncon")
    rng = np.random.default_rng(7)
    paths = rng.normal(0, 1, (12, 6)).cumsum(axis=0)
    target = paths[:, :3] @ np.array([0.5, 0.3, 0.2]) + rng.normal(0, 0.3, 12)
    ours = synth.simplex_weights(paths, target)

    reference = minimize(lambda w: np.sum((target - paths @ w) ** 2), np.full(6, 1 / 6), method="SLSQP",
                         bounds=[(0, 1)] * 6, constraints={"type": "eq", "fun": lambda w: w.sum() - 1},
                         options={"ftol": 1e-15, "maxiter": 1000}).x
    np.testing.assert_allclose(ours, reference, atol=1e-6)

    years = [f"y{t}" for t in range(12)]
    z0, z1 = pd.DataFrame(paths, index=years, columns=list("abcdef")), pd.Series(target, index=years, name="t")
    variance = pd.concat([z0, z1], axis=1).std(axis=1).to_numpy() ** 2  # undoes pysyncon's row scaling
    model = pysyncon.Synth()
    model.fit(X0=z0, X1=z1, Z0=z0, Z1=z1, custom_V=variance)
    np.testing.assert_allclose(ours, model.W, atol=1e-4)
    assert np.sum((target - paths @ ours) ** 2) <= np.sum((target - paths @ model.W) ** 2) + 1e-12


def test_tie_break_is_the_nearest_donor_linear_programme_among_exact_fits():
    """4 years, 25 donors, target inside the hull: infinitely many exact fits. Ours fits exactly and
    equals the linear programme min Σ w_j ‖x − x_j‖² over them (HiGHS), within 1e-6 (measured 8e-9)."""
    rng = np.random.default_rng(3)
    paths = rng.normal(0, 1, (4, 25))
    target = paths @ rng.dirichlet(np.ones(25))
    ours = synth.simplex_weights(paths, target)
    assert ours.min() >= 0 and ours.sum() == pytest.approx(1, abs=1e-12)
    assert np.sum((target - paths @ ours) ** 2) < 1e-14
    gaps = paths - target[:, None]
    lp = linprog((gaps**2).sum(axis=0), A_eq=np.vstack([gaps, np.ones(25)]), b_eq=np.append(np.zeros(4), 1),
                 bounds=(0, None), method="highs")
    np.testing.assert_allclose(ours, lp.x, atol=1e-6)
    assert np.count_nonzero(ours) <= 5  # a vertex: at most years + 1 donors


def test_weights_recover_the_true_combination_when_noise_is_small():
    """8 donors on their own random walks (sd 0.03 a year), 20 pre-years; the treated unit is
    0.5/0.3/0.2 of three of them plus noise 0.001: every weight within 0.02 of the truth (measured
    largest error 0.008; the factor panels cannot be used here — their donors' paths are collinear
    up to noise, so many combinations reproduce the treated unit equally well)."""
    rng = np.random.default_rng(11)
    years = np.arange(EVENT - 20, EVENT + 5)
    logs = math.log(20_000) + rng.normal(0, 0.03, (len(years), 8)).cumsum(axis=0)
    truth = np.array([0.5, 0.3, 0.2, 0, 0, 0, 0, 0])
    treated = logs @ truth + rng.normal(0, 0.001, len(years))
    names = [f"D{j}" for j in range(8)]
    wide = pd.DataFrame(np.exp(np.column_stack([logs, treated])), index=years, columns=[*names, "T"])
    result = synth.fit(wide, "T", names, EVENT, outcome="y", cfg=CFG)
    recovered = pd.Series(result.details["weights"]).reindex(names, fill_value=0.0)
    np.testing.assert_allclose(recovered, truth, atol=0.02)


# --------------------------------------------------------------------------------------------
# the estimand and its window


def test_years_after_the_window_enter_nothing():
    """Every value after the window (treated and donors) multiplied by a random factor in [0.5, 2]:
    the estimate, p-value, both intervals, the MDE, every placebo statistic and the conformal route
    are unchanged (to 1e-12); only the drawn gaps after the window move."""
    wide, donors, _ = factor_panel(21, 30, 6, 9, 0.01, effect=0.05)
    window = (2003, 2006)
    later = wide.index > window[1]
    changed = wide.copy()
    changed.loc[later] *= np.random.default_rng(0).uniform(0.5, 2, (int(later.sum()), wide.shape[1]))
    a, b = (synth.fit(w, "T", donors, EVENT, outcome="y", cfg=CFG, window=window) for w in (wide, changed))
    for field in ("estimate", "p_value", "ci_low", "ci_high", "eq_low", "eq_high", "mde", "estimate_p", "min_p"):
        assert getattr(a, field) == pytest.approx(getattr(b, field), abs=1e-12), field
    for key in ("statistic", "ratio", "z"):
        np.testing.assert_allclose(list(a.details["placebos"][key].values()), list(b.details["placebos"][key].values()),
                                   atol=1e-12)
    for scheme in ("moving_block", "iid"):
        for key in ("p_value", "ci_low", "ci_high"):
            assert a.details["conformal"][scheme][key] == pytest.approx(b.details["conformal"][scheme][key], abs=1e-12)
    assert a.details["gap"][2010] != pytest.approx(b.details["gap"][2010])
    assert a.n_post == 4 and a.window == window
    assert a.estimate == pytest.approx(window_years(a).mean(), abs=1e-15)


def test_the_result_states_its_estimand_window_and_routes():
    """The result names its estimand and window; ``estimate_p`` is the p-value; ``min_p`` is 1/(n + 1);
    the verdict's route carries the result's own p and interval; ``None`` is every post year."""
    wide, donors, _ = factor_panel(4, 30, 6, 6, 0.01, effect=0.05)
    placebos = synth.placebo_distribution(wide, donors, EVENT, CFG)
    result = synth.fit(wide, "T", donors, EVENT, outcome="y", cfg=CFG, placebos=placebos, window=[2003, 2005])
    assert result.window == (2003, 2005) and "2003–2005" in result.estimand and "mean gap" in result.estimand
    assert result.estimate_p == result.p_value and result.min_p == pytest.approx(1 / 31)
    verdict = [r for r in result.inferences if r.role == VERDICT]
    assert len(verdict) == 1 and (verdict[0].p_value, verdict[0].ci_low, verdict[0].ci_high) == (
        result.p_value, result.ci_low, result.ci_high)
    assert verdict[0].min_p == result.min_p
    reported = [r.method for r in result.inferences if r.role == REPORTED]
    assert len(reported) == 3 and any("Abadie" in m for m in reported) and sum("conformal" in m for m in reported) == 2
    every = synth.fit(wide, "T", donors, EVENT, outcome="y", cfg=CFG, placebos=placebos)
    explicit = synth.fit(wide, "T", donors, EVENT, outcome="y", cfg=CFG, placebos=placebos, window=(2003, 2008))
    assert every.window == (2003, 2008) and (every.estimate, every.p_value, every.ci_low) == (
        explicit.estimate, explicit.p_value, explicit.ci_low)


@pytest.mark.parametrize(("window", "message"), [
    ((2002, 2005), "starts before the event"),
    ((2005, 2004), "ends before it starts"),
    ((2003, 2012), "no data for"),
    ((2003,), "pair of years"),
    ("2003-2005", "pair of years"),
    ((2003.5, 2005), "whole years"),
])
def test_a_bad_window_is_refused_by_name(window, message):
    wide, donors, _ = factor_panel(4, 12, 6, 6, 0.01)
    with pytest.raises(ValueError, match=message):
        synth.fit(wide, "T", donors, EVENT, outcome="y", cfg=CFG, window=window)


def test_bad_areas_are_refused_by_name():
    wide, donors, _ = factor_panel(4, 12, 6, 6, 0.01)
    with pytest.raises(ValueError, match="not among the columns"):
        synth.fit(wide, "X", donors, EVENT, outcome="y", cfg=CFG)
    with pytest.raises(ValueError, match="more than once"):
        synth.fit(wide, "T", [*donors, donors[0]], EVENT, outcome="y", cfg=CFG)
    with pytest.raises(ValueError, match="among its own donors"):
        synth.fit(wide, donors[0], donors, EVENT, outcome="y", cfg=CFG)
    bad = wide.copy()
    bad.loc[2001, donors[3]] = -1.0
    with pytest.raises(ValueError, match="non-positive"):
        synth.fit(bad, "T", donors, EVENT, outcome="y", cfg=CFG)


# --------------------------------------------------------------------------------------------
# the test and its interval


def test_the_critical_value_is_exactly_where_the_test_starts_to_reject():
    """For placebo nulls of 16, 30 and 145 statistics (with ties) and levels 0.05, 0.10, 0.20:
    ``rank_p(T) ≤ level`` exactly when ``T > critical_value``, at every null value and between them."""
    rng = np.random.default_rng(5)
    for n in (16, 30, 145):
        null = np.round(np.abs(rng.standard_t(3, n)), 1)  # rounding makes ties
        probes = np.unique(np.concatenate([null, null + 1e-9, null - 1e-9, [0.0, 99.0]]))
        for level in (0.05, 0.10, 0.20):
            c = synth.critical_value(null, level)
            if 1 / (n + 1) > level:
                assert c == math.inf
            for t in probes:
                assert (synth.rank_p(t, null) <= level) == (t > c)


@pytest.mark.parametrize("seed", range(5))
def test_a_true_effect_is_recovered_and_covered(seed):
    """40 donors, 8 pre- and 10 post-years, noise 0.01, effect 0.10 log points, every post year:
    the estimate within 0.04 of it and inside the interval. Measured errors for seeds 0–4: +0.007,
    +0.014, −0.005, −0.003, −0.028 (largest over seeds 0–19: 0.029)."""
    wide, donors, _ = factor_panel(seed, 40, 8, 10, 0.01, effect=0.10)
    result = synth.fit(wide, "T", donors, EVENT, outcome="y", cfg=CFG)
    assert result.scale == "log points" and result.p_kind == synth.P_KIND
    assert result.estimate == pytest.approx(0.10, abs=0.04)
    assert result.ci_low <= 0.10 <= result.ci_high
    assert (result.n_pre, result.n_post) == (8, 10)


def test_the_interval_and_the_equivalence_interval_invert_the_studentised_test():
    """Just inside each end of the interval a constant effect is retained (p > alpha), just outside
    rejected; the same at 2·alpha for ``eq_low``/``eq_high``; both are mean ± c·s."""
    wide, donors, _ = factor_panel(2, 40, 8, 10, 0.01, effect=0.10)
    result = synth.fit(wide, "T", donors, EVENT, outcome="y", cfg=CFG, window=(2003, 2007))
    gaps, s = window_years(result), result.details["cv_pre_rmspe"]
    null = np.array(list(result.details["placebos"]["statistic"].values()))

    def p(delta: float) -> float:
        return synth.rank_p(abs(gaps.mean() - delta) / s, null)

    for low, high, level in ((result.ci_low, result.ci_high, ALPHA), (result.eq_low, result.eq_high, 2 * ALPHA)):
        for end, inward in ((low, 1), (high, -1)):
            assert p(end + inward * 1e-9) > level >= p(end - inward * 1e-9)
    assert result.ci_low < result.eq_low < result.estimate < result.eq_high < result.ci_high
    c = result.details["critical_value"]
    assert (result.ci_low, result.ci_high) == pytest.approx((gaps.mean() - c * s, gaps.mean() + c * s), abs=1e-15)
    assert p(0.0) == result.p_value


def test_too_few_placebos_to_reject_give_an_infinite_interval_and_mde():
    """10 donors: the smallest attainable p is 1/11 > 0.05, so nothing is rejected: the interval is
    the whole line, the MDE infinite, and at alpha 0.10 (1/11 ≤ 0.10) both are finite."""
    wide, donors, _ = factor_panel(8, 10, 6, 5, 0.01)
    result = synth.fit(wide, "T", donors, EVENT, outcome="y", cfg=CFG)
    assert result.min_p == pytest.approx(1 / 11) and result.p_value >= 1 / 11
    assert (result.ci_low, result.ci_high, result.mde) == (-math.inf, math.inf, math.inf)
    looser = synth.fit(wide, "T", donors, EVENT, outcome="y", cfg=CFG | {"alpha": 0.10})
    assert all(math.isfinite(v) for v in (looser.ci_low, looser.ci_high, looser.mde))


# --------------------------------------------------------------------------------------------
# the MDE


def test_the_mde_is_the_units_own_and_scales_with_its_pre_fit():
    """Two treated units against the same placebos, one with three times the idiosyncratic noise:
    each MDE is the same number of its own pre RMSPEs (d*, from the placebos), so the MDEs are in the
    ratio of the units' pre RMSPEs (to 1e-12) — the old MDE was one number for both; deterministic."""
    wide, donors, _ = factor_panel(9, 30, 6, 8, 0.01)
    noisy = wide["T"] * np.exp(np.random.default_rng(1).normal(0, 0.03, len(wide)))
    wide = wide.assign(U=noisy)
    placebos = synth.placebo_distribution(wide, donors, EVENT, CFG)
    a, b = (synth.fit(wide, u, donors, EVENT, outcome="y", cfg=CFG, placebos=placebos, window=(2003, 2007))
            for u in ("T", "U"))
    assert a.details["mde_standardised"] == b.details["mde_standardised"]
    assert a.mde / b.mde == pytest.approx(a.details["cv_pre_rmspe"] / b.details["cv_pre_rmspe"], rel=1e-12)
    assert b.details["cv_pre_rmspe"] > 1.5 * a.details["cv_pre_rmspe"] and b.mde > 1.5 * a.mde
    again = synth.fit(wide, "T", donors, EVENT, outcome="y", cfg=CFG, window=(2003, 2007))
    assert again.mde == a.mde


def test_the_mde_is_the_smallest_effect_with_the_stated_power():
    """On the placebos of a 145-donor real-shaped panel: just above d* the power over the placebos'
    standardised gaps (both signs) is at least 0.80, just below it is less; 20,000 seeded random
    draws (placebo, sign) at d* reject in a share within 0.01 of the exact power (measured 0.805
    against 0.800)."""
    wide, donors = real_shaped_panel(31, n_pre=5, effects={"T": np.zeros(8)})
    placebos = synth.placebo_distribution(wide, donors, EVENT, CFG, in_time=False)
    result = synth.fit(wide, "T", donors, EVENT, outcome="y", cfg=CFG, placebos=placebos, window=(2003, 2007),
                       conformal_route=False)
    z = np.array(list(result.details["placebos"]["z"].values()))
    c, d_star, power = result.details["critical_value"], result.details["mde_standardised"], CFG["power"]
    assert synth.standardised_power(z, c, d_star * (1 + 1e-9)) >= power
    assert synth.standardised_power(z, c, d_star * (1 - 1e-6)) < power
    assert result.mde == pytest.approx(d_star * result.details["cv_pre_rmspe"], rel=1e-15)
    rng = np.random.default_rng(CFG["seed"])
    draws = rng.choice(z, 20_000) * rng.choice([-1.0, 1.0], 20_000)
    simulated = np.mean(np.abs(d_star * (1 + 1e-9) + draws) > c)
    assert simulated == pytest.approx(synth.standardised_power(z, c, d_star * (1 + 1e-9)), abs=0.01)


# --------------------------------------------------------------------------------------------
# size, coverage and power on panels shaped like the real data


@pytest.fixture(scope="module")
def simulation() -> pd.DataFrame:
    """60 real-shaped panels (seeds 40000–40059; 5 pre-years for even seeds, 6 for odd), each with four
    null treated units and two with a rising effect (0.01, 0.03, 0.05, 0.07, 0.09 over the window,
    mean 0.05, then 1.0 after it, which must not matter); window 2003–2007. For each null unit the
    effect ± its own MDE is then added to its window years and the unit refitted. Measured: about
    20 s. (A longer run of the same design, 300 panels with seeds 50000–50299, measured: rejection
    at 0.05 0.058 of 1,200 null units — 0.062 with 5 pre-years, 0.053 with 6 —, at 0.10 0.102;
    coverage 0.955 of 600; power at the own MDE 0.789; conformal iid rejection 0.008.)"""
    ramp = np.array([0.01, 0.03, 0.05, 0.07, 0.09, 1.0, 1.0, 1.0])
    effects = {**{f"N{i}": np.zeros(8) for i in range(4)}, "R0": ramp, "R1": ramp}
    rows = []
    for seed in range(40_000, 40_060):
        wide, donors = real_shaped_panel(seed, n_pre=5 + seed % 2, effects=effects)
        placebos = synth.placebo_distribution(wide, donors, EVENT, CFG, in_time=False)
        logs = synth._logs(wide, list(wide.columns))
        for name in effects:
            res = synth.fit(wide, name, donors, EVENT, outcome="y", cfg=CFG, placebos=placebos, window=(2003, 2007),
                            conformal_route=False)
            row = {"seed": seed, "unit": name, "null": name.startswith("N"), "p": res.p_value,
                   "ratio_p": res.details["rmspe_ratio_p"], "covered": res.ci_low <= 0.05 <= res.ci_high,
                   "mde": res.mde}
            if row["null"]:
                problem = synth.ConformalProblem.build(logs, name, donors, EVENT, (2003, 2007))
                n_years, n_post = len(problem.y1), int(problem.post.sum())
                slots, exact = synth.iid_placements(n_years, n_post, CFG["synth"]["conformal_iid_permutations"], 0)
                row["conformal_iid_p"] = synth.ConformalScheme("iid", slots, exact).p_value(
                    problem.residuals(0.0), np.arange(n_years - n_post, n_years))
                window = (wide.index >= 2003) & (wide.index <= 2007)
                for sign in (1, -1):
                    shifted = wide.copy()
                    shifted.loc[window, name] *= math.exp(sign * res.mde * (1 + 1e-9))
                    test = synth.placebo_test(synth.fit_unit(synth._logs(shifted, [name, *donors]), name, donors,
                                                             EVENT), placebos, (2003, 2007), CFG)
                    row[f"detected_{sign:+d}"] = test.p_value <= ALPHA
            rows.append(row)
    return pd.DataFrame(rows)


def test_size_null_p_values_are_about_uniform(simulation):
    """240 null units. Band: ±3 binomial standard errors for 240 tests (the within-panel correlation
    is small: the panel-clustered standard error of the rejection rate measured 0.017 against the
    binomial 0.014; over 300 panels 0.0068 against 0.0063). Measured rejection rate at alpha 0.05:
    0.071 (required in [0.008, 0.092]); at 0.10: 0.125 (required in [0.042, 0.158]); share of
    p ≤ 0.5: 0.513 (required within 0.097 of 0.5); the RMSPE-ratio test (reported) 0.063 at 0.05
    (same band)."""
    null = simulation[simulation["null"]]
    n = len(null)
    assert n == 240

    def band(level: float) -> float:
        return 3 * math.sqrt(level * (1 - level) / n)

    for level in (0.05, 0.10, 0.5):
        assert abs(np.mean(null["p"] <= level) - level) <= band(level), level
    assert abs(np.mean(null["ratio_p"] <= 0.05) - 0.05) <= band(0.05)


def test_coverage_of_the_interval_for_the_mean_effect(simulation):
    """120 units with a rising effect (mean 0.05 over the window, 1.0 after it): the 95% interval
    covers 0.05 in 0.933 of them (measured; required ≥ 0.95 − 3 binomial SEs = 0.89)."""
    ramp = simulation[~simulation["null"]]
    assert len(ramp) == 120
    assert ramp["covered"].mean() >= 0.95 - 3 * math.sqrt(0.95 * 0.05 / len(ramp))


def test_power_at_the_units_own_mde_is_the_stated_power(simulation):
    """240 null units each given its own MDE (both signs, 480 refits): the test detects it in a share
    within 3 binomial SEs (0.077) of 0.80 — measured 0.794. The conformal iid route (reported)
    rejects 0.0125 of the null units at 0.05 (required ≤ 0.05 + 3 SEs: it is conservative here,
    because the all-years fit with 145 donors nearly reproduces the treated path)."""
    null = simulation[simulation["null"]]
    detected = pd.concat([null["detected_+1"], null["detected_-1"]])
    assert abs(detected.mean() - CFG["power"]) <= 3 * math.sqrt(0.8 * 0.2 / len(null))
    assert np.isfinite(null["mde"]).all()
    assert np.mean(null["conformal_iid_p"] <= 0.05) <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / len(null))


# --------------------------------------------------------------------------------------------
# conformal inference


def _small_conformal_problem():
    """13 years (12 pre, 1 post), 6 donors, treated off the donors' hull: unique weights on any years."""
    rng = np.random.default_rng(7)
    paths = rng.normal(0, 1, (13, 6)).cumsum(axis=0)
    target = paths[:, :3] @ np.array([0.5, 0.3, 0.2]) + rng.normal(0, 0.3, 13)
    target[-1] += 1.0
    years = list(range(2000, 2013))
    frame = pd.DataFrame(paths, index=years, columns=list("abcdef")).assign(t=target)
    return frame, years


def test_permuting_residuals_is_permuting_data_for_this_solver():
    """The all-years fit treats every year alike: refitted on rows permuted at random (5 seeded
    permutations of a real-shaped 10-year, 145-donor problem), the residuals are the permuted
    residuals, to 1e-8 — what licenses permuting residuals instead of refitting (CWZ 2021)."""
    wide, donors = real_shaped_panel(3, n_pre=5, effects={"T": np.full(8, 0.03)})
    problem = synth.ConformalProblem.build(synth._logs(wide, ["T", *donors]), "T", donors, EVENT, (2003, 2007))
    u = problem.residuals(0.02)
    y = problem.y1 - 0.02 * problem.post
    rng = np.random.default_rng(0)
    for _ in range(5):
        order = rng.permutation(len(y))
        refit = y[order] - problem.y0[order] @ synth.simplex_weights(problem.y0[order], y[order])
        np.testing.assert_allclose(refit, u[order], atol=1e-8)


@pytest.mark.parametrize("n_donors", [145, 318])
def test_the_conformal_refit_needs_no_tie_break(n_donors):
    """The all-years fit's path is the projection onto the donors' hull, unique whichever minimiser
    gives it: step one alone (:func:`synth.simplex_fit`, half the cost) gives the tie-broken fit's
    path to 1e-10 over 21 effects δ on a real-shaped problem (ITL3- and council-sized pools;
    measured largest difference about 1e-12)."""
    wide, donors = real_shaped_panel(5, n_pre=6, effects={"T": np.full(8, 0.02)}, n_donors=n_donors)
    problem = synth.ConformalProblem.build(synth._logs(wide, ["T", *donors]), "T", donors, EVENT, (2003, 2007))
    for delta in np.linspace(-0.2, 0.2, 21):
        y = problem.y1 - delta * problem.post
        full = problem.y0 @ synth.simplex_weights(problem.y0, y)
        np.testing.assert_allclose(synth.simplex_fit(problem.y0, y), full, rtol=0, atol=1e-10)
        np.testing.assert_allclose(problem.residuals(delta), y - full, rtol=0, atol=1e-10)


def test_conformal_agrees_with_the_authors_procedure_and_inverts():
    """On the 13-year problem with its last year as the window: the weights under H0 are constrained
    least squares on all years (SLSQP to ftol 1e-15: residuals within 1e-6); the moving-block p is the
    authors' (kwuthrich/scinference, conformal.R: the share of the 13 cyclic shifts whose window
    statistic is at least the observed; with one window year their S_1 and this average-effect
    statistic coincide); the iid p over all 13 placements is the same; and the interval inverts the
    test (p > alpha just inside each end, ≤ alpha just outside)."""
    frame, years = _small_conformal_problem()
    logs = frame
    problem = synth.ConformalProblem.build(logs, "t", list("abcdef"), 2012, (2012, 2012))
    for delta in (0.0, 0.7, 1.5):
        u = problem.residuals(delta)
        y = problem.y1 - delta * problem.post
        w = minimize(lambda w, y=y: np.sum((y - problem.y0 @ w) ** 2), np.full(6, 1 / 6), method="SLSQP",
                     bounds=[(0, 1)] * 6, constraints={"type": "eq", "fun": lambda w: w.sum() - 1},
                     options={"ftol": 1e-15, "maxiter": 1000}).x
        np.testing.assert_allclose(u, y - problem.y0 @ w, atol=1e-6)
        doubled = np.concatenate([u, u])  # the authors' moving blocks, literally
        s_vec = np.array([np.sum(np.abs(doubled[s:s + 1])) for s in range(13)])
        authors = np.mean(s_vec >= s_vec[12])
        observed = np.array([12])
        blocks = synth.ConformalScheme("moving_block", synth.moving_blocks(13, 1), True)
        slots, exact = synth.iid_placements(13, 1, 5000, 0)
        assert exact and blocks.p_value(u, observed) == pytest.approx(authors, abs=1e-15)
        assert synth.ConformalScheme("iid", slots, exact).p_value(u, observed) == pytest.approx(authors, abs=1e-15)
    out = synth.conformal(logs, "t", list("abcdef"), 2012, (2012, 2012), CFG | {"alpha": 0.10}, centre=0.9,
                          scale=0.3)["moving_block"]
    blocks = synth.ConformalScheme("moving_block", synth.moving_blocks(13, 1), True)

    def p(delta: float) -> float:
        return blocks.p_value(problem.residuals(delta), np.array([12]))

    assert p(out["ci_low"] + 1e-4) > 0.10 >= p(out["ci_low"] - 1e-4)
    assert p(out["ci_high"] - 1e-4) > 0.10 >= p(out["ci_high"] + 1e-4)
    assert out["min_p"] == pytest.approx(1 / 13) and out["ci_low"] < out["ci_high"]


def test_pysyncon_conformal_was_not_used_because_it_does_not_refit_the_weights():
    """pysyncon 1.7.0's ``confidence_interval`` (method 'conformal') on the same problem, outcome-only
    (predictors = the pre-period outcomes, V undoing its scaling, as in the solver test): its refit
    under H0 keeps the predictors — so the weights — fixed, and only the adjusted outcome's own
    residual moves. Its interval equals the inversion with weights fitted on the pre-period only
    (within its tol 1e-4; measured 1.7e-5 and 8.3e-5), not the CWZ refit on all years, whose interval differs by
    more than 0.09 at each end (measured 0.097 and 0.138). It also gives only per-year intervals
    (one post year at a time): no test of a window's average effect, which the book needs."""
    pysyncon = pytest.importorskip("pysyncon")
    frame, years = _small_conformal_problem()
    pre, post = years[:-1], [years[-1]]
    z0, z1 = frame[list("abcdef")], frame["t"]
    x0, x1 = z0.loc[pre], z1.loc[pre]
    variance = pd.concat([x0, x1], axis=1).std(axis=1).to_numpy() ** 2
    model = pysyncon.Synth()
    model.fit(X0=x0, X1=x1, Z0=x0, Z1=x1, custom_V=variance)
    theirs = model.confidence_interval(alpha=0.1, time_periods=post, pre_periods=pre, X0=x0, X1=x1, Z0=z0, Z1=z1,
                                       custom_V=variance, tol=1e-4, step_sz=0.05, max_iter=500, verbose=False)
    their_low, their_high = float(theirs["lower_ci"].iloc[0]), float(theirs["upper_ci"].iloc[0])

    paths, target = z0.to_numpy(), z1.to_numpy()
    fixed = target - paths @ synth.simplex_weights(paths[:-1], target[:-1])
    blocks = synth.ConformalScheme("moving_block", synth.moving_blocks(13, 1), True)
    last = np.r_[np.zeros(12), 1.0]
    no_refit = synth._invert_grid(lambda d: blocks.p_value(fixed - d * last, np.array([12])), fixed[-1], 2.0, 0.1, 41)
    assert (their_low, their_high) == pytest.approx(no_refit[:2], abs=1e-4)
    cwz = synth.conformal(frame, "t", list("abcdef"), 2012, (2012, 2012), CFG | {"alpha": 0.10}, centre=fixed[-1],
                          scale=0.3)["moving_block"]
    assert abs(cwz["ci_low"] - their_low) > 0.09 and abs(cwz["ci_high"] - their_high) > 0.09


def test_a_path_the_all_years_fit_reproduces_cannot_be_rejected():
    """Treated = an exact mix of donors in every year (no effect): the all-years residuals are rounding
    noise, which ties, so both conformal p-values are 1."""
    rng = np.random.default_rng(2)
    years = np.arange(1998, 2008)
    donors = [f"D{j}" for j in range(30)]
    logs = pd.DataFrame(math.log(20_000) + rng.normal(0, 0.03, (10, 30)).cumsum(axis=0), index=years, columns=donors)
    logs["T"] = logs[donors].to_numpy() @ rng.dirichlet(np.ones(30))
    out = synth.conformal(logs, "T", donors, 2003, (2003, 2007), CFG, centre=0.0, scale=0.01)
    assert out["fit"]["rmse_at_zero"] < 1e-8
    assert out["moving_block"]["p_value"] == 1.0 and out["iid"]["p_value"] == 1.0


# --------------------------------------------------------------------------------------------
# leave-one-out


def _london_panel():
    """30 donors named as ITL3 areas, five of them in London (TLI); treated ``T`` (seed 12)."""
    wide, donors, _ = factor_panel(12, 30, 6, 6, 0.01, effect=0.03)
    codes = [f"TLI{j:02d}" if j < 5 else f"TLC{j:02d}" for j in range(30)]
    return wide.rename(columns=dict(zip(donors, codes, strict=True))), codes


def test_leave_one_out_drops_heavy_donors_and_groups():
    """Every donor of weight ≥ loo_min_weight is dropped in turn, then the London group: dropping a
    donor that carries the fit changes the weights (it is gone, others take its place); dropping a
    group whose donors have zero weight leaves the weights and the estimate exactly as they were
    (only the p-value moves, because the placebo pool shrinks)."""
    wide, donors = _london_panel()
    groups = synth.loo_groups(donors, CFG)
    assert groups == {"London (TLI, UKI)": donors[:5]}
    full = synth.fit(wide, "T", donors, EVENT, outcome="y", cfg=CFG, window=(2003, 2006))
    heavy = [d for d, w in full.details["weights"].items() if w >= CFG["synth"]["loo_min_weight"]]
    zero = [d for d in donors if d not in full.details["weights"]][:2]
    frame = synth.leave_one_out(wide, "T", donors, EVENT, CFG, (2003, 2006), groups={"zero-weight": zero})
    assert list(frame["dropped"]) == ["none", *heavy, "zero-weight"]
    base = frame.iloc[0]
    assert (base["estimate"], base["p_value"], base["ci_low"]) == pytest.approx(
        (full.estimate, full.p_value, full.ci_low), abs=1e-15)
    for _, row in frame.iloc[1:-1].iterrows():
        assert row["dropped"] not in row["weights"] and row["weights"] != base["weights"]
        assert row["n_donors"] == 29
    last = frame.iloc[-1]
    assert last["weights"].keys() == base["weights"].keys()
    np.testing.assert_allclose(list(last["weights"].values()), list(base["weights"].values()), atol=1e-10)
    assert last["estimate"] == pytest.approx(base["estimate"], abs=1e-10) and last["n_donors"] == 28
    with pytest.raises(ValueError, match="not donors"):
        synth.leave_one_out(wide, "T", donors, EVENT, CFG, None, groups={"bad": ["nowhere"]})


def test_fit_reports_leave_one_out_only_when_asked():
    wide, donors = _london_panel()
    plain = synth.fit(wide, "T", donors, EVENT, outcome="y", cfg=CFG)
    assert plain.details["leave_one_out"] is None
    asked = synth.fit(wide, "T", donors, EVENT, outcome="y", cfg=CFG, loo=True)
    rows = asked.details["leave_one_out"]
    assert rows[0]["dropped"] == "none" and rows[-1]["dropped"] == "London (TLI, UKI)" and rows[-1]["n_donors"] == 25
    assert {"dropped", "estimate", "p_value", "weights"} <= rows[0].keys()


# --------------------------------------------------------------------------------------------
# assumption checks


def test_placebo_in_time_passes_on_null_series():
    """20 null panels (40 donors, 8 pre-years so the fake 2000 event has 5 before it): the
    placebo-in-time check passes in at least 17 (measured: 19)."""
    passed = []
    for seed in range(2000, 2020):
        wide, donors, _ = factor_panel(seed, 40, 8, 6, 0.01)
        passed.append(check(synth.fit(wide, "T", donors, EVENT, outcome="y", cfg=CFG, conformal_route=False),
                            "placebo-in-time shows no effect").passed)
    assert all(isinstance(x, bool) for x in passed)
    assert sum(passed) >= 17


def test_a_treated_unit_outside_the_donors_range_fails_the_range_and_fit_checks():
    """The treated unit 0.5 log points (65%) above its latent mix: above every donor in every pre-year."""
    wide, donors, _ = factor_panel(5, 30, 8, 6, 0.01, shift=0.5)
    wide["T"] = wide["T"] * np.exp(0.5 + np.log(wide[donors].max(axis=1) / wide["T"]).clip(lower=0))
    result = synth.fit(wide, "T", donors, EVENT, outcome="y", cfg=CFG)
    in_range = check(result, "treated unit within the donors' range")
    assert in_range.passed is False and in_range.statistic == 8
    assert check(result, "good pre-period fit").passed is False
    assert result.failed_checks


def test_a_well_fitted_unit_passes_and_untestable_assumptions_are_none():
    wide, donors, _ = factor_panel(6, 40, 8, 6, 0.01)
    result = synth.fit(wide, "T", donors, EVENT, outcome="y", cfg=CFG)
    assert check(result, "good pre-period fit").passed is True
    assert check(result, "treated unit within the donors' range").passed is True
    assert check(result, "donors untreated").passed is None
    assert check(result, "no spillovers").passed is None


def test_a_check_that_cannot_be_computed_is_none_not_false():
    """Too few years before the placebo-in-time event, or a statistic that is not a finite number:
    ``passed`` is ``None`` with the reason, never ``False``."""
    wide, donors, _ = factor_panel(6, 20, 4, 6, 0.01)  # 4 pre-years: the fake 2000 event has 1 before it
    result = synth.fit(wide, "T", donors, EVENT, outcome="y", cfg=CFG)
    in_time = check(result, "placebo-in-time shows no effect")
    assert in_time.passed is None and "cannot be tested" in in_time.detail
    for value in (math.nan, math.inf):
        made = synth._check("good pre-period fit", False, "ratio", value)
        assert made.passed is None and "cannot be tested" in made.detail
    assert synth._check("x", False, "fine", 0.3, 0.2).passed is False


# --------------------------------------------------------------------------------------------
# the API


def test_placebos_are_shared_and_must_match_the_donor_pool():
    wide, donors, _ = factor_panel(4, 30, 6, 6, 0.01, effect=0.05)
    placebos = synth.placebo_distribution(wide, donors, EVENT, CFG)
    shared = synth.fit(wide, "T", donors, EVENT, outcome="y", cfg=CFG, placebos=placebos)
    alone = synth.fit(wide, "T", donors, EVENT, outcome="y", cfg=CFG)
    assert (shared.estimate, shared.p_value, shared.ci_low, shared.mde) == (
        alone.estimate, alone.p_value, alone.ci_low, alone.mde)
    assert shared.details["placebos"]["n"] == 30
    with pytest.raises(ValueError, match="another event or donor pool"):
        synth.fit(wide, "T", donors[1:], EVENT, outcome="y", cfg=CFG, placebos=placebos)


def test_prepare_picks_donors_scottish_areas_and_scotland():
    rows = []
    for code, kind in [("TLC11", "itl3"), ("TLL11", "itl3"), ("TLN0A", "itl3"), ("TLM50", "itl3"), ("TLM", "itl1"),
                       ("TLC", "itl1")]:
        rows += [{"area_code": code, "area_type": kind, "indicator": "gdp_per_head", "breakdown": "all",
                  "year": year, "value": 100.0 + year - 2000} for year in range(2000, 2004)]
    panel_df = pd.DataFrame(rows)
    areas_df = pd.DataFrame({"area_code": ["TLC11", "TLL11", "TLN0A", "TLM50", "TLM", "TLC"],
                             "country": ["England", "Wales", "Northern Ireland", "Scotland", "Scotland", "England"]})
    problem = synth.prepare(panel_df, areas_df, "gdp_per_head", CFG)
    assert (problem.level, problem.donors, problem.scottish_areas, problem.scotland) == (
        "itl3", ["TLC11", "TLL11"], ["TLM50"], "TLM")
    assert list(problem.wide.columns) == ["TLC11", "TLL11", "TLM", "TLM50"] and list(problem.wide.index) == [
        2000, 2001, 2002, 2003]
