"""Interrupted time series (ITS): did a series depart from its own prior trend after the event?

The model (segmented regression) for a series observed in years ``t`` with the event in year T0:

    y_t = b0 + b1·(t − T0) + b2·post_t + b3·(t − T0)·post_t + e_t,    post_t = 1 if t ≥ T0 else 0

``b1`` is the pre-event slope, ``b2`` the change in level at T0 and ``b3`` the change in slope;
``b0 + b1·(t − T0)`` carried past T0 is the counterfactual: the pre-event trend extrapolated.

**Estimand.** The claim is that the series *departed from its extrapolated pre-event trend*. Two
quantities say so, and both are reported:

* the **departure test** (the detection test, ``p_value``): the level and the slope change
  jointly, ``b2 = b3 = 0``, one Wald test;
* the **average gap** (the ``estimate``): the mean over the post-event window's years of the
  series' fitted path minus the extrapolated trend, ``b2 + b3·k̄`` with ``k̄`` the mean of
  ``t − T0`` over those years — in the outcome's own units, with its interval, p-value
  (``estimate_p``) and minimum detectable effect.

The window (``window``; the primary window of ``settings.yml`` ``attribution.windows``, or every
post-event year for the secondary analysis) also bounds the data: years after it are not used, so
a later event cannot bend the post-event segment. The level and slope changes are reported too.

**Inference** (:mod:`analysis.attribution.ar_bootstrap`): fixed-b HAC statistics (Bartlett kernel,
bandwidth = sample size; Kiefer & Vogelsang 2005) referred to an AR(1) parametric bootstrap on a
grid of AR(1) coefficients, with the coefficient set at a one-sided upper confidence point of the
residual autocorrelation's simulated distribution (``its.phi_quantile``; 0.5 would be Andrews'
1993 median-unbiased estimate), then prepivoted (Beran 1988) so that the p-value is what the whole
procedure delivers at that persistence. Intervals invert the calibrated tests. Simulated size
(``tests/attribution/test_its.py``): within 0.03–0.07 for every reported test at φ = 0.3, 0.6, 0.9 and a random
walk, with 12 and 29 pre-event years and 5 or 17 post-event years; with 6 pre-event years it is
not, and the persistence check below flags the series.

**Minimum detectable effect**: the smallest constant shift of the window's years (a step in level)
that the calibrated test of the average gap detects with probability ``power``, simulated on the
bootstrap's own draws at the series' median-unbiased AR(1) coefficient and innovation variance
(:meth:`~analysis.attribution.ar_bootstrap.Engine.power`).

Assumptions, each checked (or stated as untestable) in :func:`fit`:

* enough points on each side of the event (``its.min_pre_periods``, ``its.min_post_periods``);
* the pre-event trend is linear (a squared term added to the pre-event years, same inference);
* the series does not depart from its trend at years when nothing happened (placebo events, the
  same departure test, binomial rule);
* the errors are not too persistent for this design: the calibrated test's simulated size at the
  series' estimated AR(1) coefficient, for this number of points, is within ``its.size_tolerance``
  (this check can fail; it fails, for example, for a near random walk observed on 11 points);
* nothing else changed in the same year — not testable with one series.

Years may have gaps (the trend uses calendar years); the error model treats consecutive
observations as one step apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import binom
from statsmodels.stats.diagnostic import acorr_ljungbox
from statsmodels.stats.stattools import durbin_watson

from analysis.attribution import ar_bootstrap
from analysis.attribution.base import LABEL, REPORTED, VERDICT, AssumptionCheck, DesignResult, Inference
from analysis.attribution.power import smallest_effect

#: Fewer points than this on either side of the event and the design cannot be fitted at all.
MIN_POINTS = 3
#: The quadratic pre-trend test needs its three coefficients plus two residual degrees of freedom.
MIN_POINTS_QUADRATIC = 5
#: Fewer placebo events than this and the placebo check is not attempted.
MIN_PLACEBOS = 3

DESIGN = "its"
P_KIND = "joint level-and-slope test (fixed-b HAC Wald, prepivoted AR(1) bootstrap)"
ESTIMAND = "average gap between the series and its extrapolated pre-event trend over the window"
CONTRASTS = ("pre_slope", "level", "slope", "gap")
JOINT = {"departure": ("level", "slope")}
REPORTED_TESTS = ("level", "slope", "gap", "departure")


@dataclass(frozen=True)
class Settings:
    """The ITS settings (``attribution`` and ``attribution.its`` in ``settings.yml``)."""

    alpha: float
    power: float
    seed: int
    draws: int
    check_draws: int
    grid: np.ndarray
    phi_quantile: float
    size_tolerance: float
    min_pre: int
    min_post: int
    placebo_min_gap: int

    @classmethod
    def from_cfg(cls, cfg: dict) -> Settings:
        its = cfg["its"]
        return cls(alpha=float(cfg["alpha"]), power=float(cfg["power"]), seed=int(cfg["seed"]),
                   draws=int(its["bootstrap_draws"]), check_draws=int(its["check_draws"]),
                   grid=ar_bootstrap.grid_from(its["phi_grid"]), phi_quantile=float(its["phi_quantile"]),
                   size_tolerance=float(its["size_tolerance"]), min_pre=int(its["min_pre_periods"]),
                   min_post=int(its["min_post_periods"]), placebo_min_gap=int(its["placebo_min_gap"]))

    def engine(self, X: np.ndarray, contrasts: dict, joint: dict, *, draws: int | None = None) -> ar_bootstrap.Engine:
        return ar_bootstrap.engine(X, contrasts, joint, draws=draws or self.draws, grid=self.grid, seed=self.seed,
                                   phi_quantile=self.phi_quantile)


# --------------------------------------------------------------------------------------------
# the segmented regression


def _validate(series: pd.Series, event: int) -> tuple[np.ndarray, np.ndarray]:
    """Years and values of ``series``, after checking it can carry an ITS at ``event``."""
    if not pd.api.types.is_integer_dtype(series.index):
        raise ValueError(f"the series must be indexed by integer years, not {series.index.dtype}")
    years = series.index.to_numpy(dtype=np.int64)
    if len(years) > 1 and not (np.diff(years) > 0).all():
        raise ValueError("the series' years must be sorted and unique")
    missing = series.index[series.isna().to_numpy()]
    if len(missing):
        raise ValueError(f"the series has no value in {', '.join(str(int(y)) for y in missing)}")
    n_pre, n_post = int((years < event).sum()), int((years >= event).sum())
    if min(n_pre, n_post) < MIN_POINTS:
        raise ValueError(f"an interrupted time series needs at least {MIN_POINTS} points on each side of "
                         f"{event}; this series has {n_pre} before and {n_post} from {event} on")
    return years, series.to_numpy(dtype=float)


def design_matrix(years: np.ndarray, event: int) -> np.ndarray:
    """Columns 1, t − T0, post, (t − T0)·post."""
    t = (years - event).astype(float)
    post = (years >= event).astype(float)
    return np.column_stack([np.ones_like(t), t, post, t * post])


def contrasts(years: np.ndarray, event: int) -> dict[str, np.ndarray]:
    """The named linear combinations of (b0, b1, b2, b3) the design reports."""
    kbar = float((years[years >= event] - event).mean())
    e = np.eye(4)
    return {"pre_slope": e[1], "level": e[2], "slope": e[3], "gap": e[2] + kbar * e[3]}


def restrict(series: pd.Series, window: tuple[int, int] | None) -> pd.Series:
    """The series up to the window's last year (all of it without a window)."""
    return series if window is None else series[series.index <= window[1]]


@dataclass(frozen=True)
class Test:
    """One calibrated test: the estimate (for a contrast), its fixed-b SE, the statistic and p-value,
    and the intervals that invert the test at ``1 − alpha`` and ``1 − 2·alpha``."""

    estimate: float
    se: float
    statistic: float
    p_value: float
    ci: tuple[float, float]
    ci_eq: tuple[float, float]

    def summary(self) -> dict[str, float]:
        return {"estimate": self.estimate, "se": self.se, "ci_low": self.ci[0], "ci_high": self.ci[1],
                "p_value": self.p_value}


@dataclass(frozen=True)
class SegmentedFit:
    years: np.ndarray
    y: np.ndarray
    event: int
    engine: ar_bootstrap.Engine
    params: np.ndarray
    resid: np.ndarray
    r1: float
    phi: float
    tests: dict[str, Test]


def segmented_fit(years: np.ndarray, y: np.ndarray, event: int, s: Settings, *, draws: int | None = None,
                  intervals: bool = True) -> SegmentedFit:
    """Fit the segmented regression and run every calibrated test (module docstring)."""
    X = design_matrix(years, event)
    eng = s.engine(X, contrasts(years, event), JOINT, draws=draws)
    design = eng.design
    resid = design.residuals(y[None, :])[0]
    if not (resid @ resid) > 1e-12 * max(float(y @ y), 1.0):
        raise ValueError("the series lies exactly on the fitted lines: no residual variation to test against")
    st = design.statistics(y)
    r1 = float(st.r1[0])
    phi = float(eng.phi_hat(r1))
    tests = {}
    for name in design.tests:
        stat = float(st.statistic(name)[0])
        p = float(eng.p_value(name, stat, r1)[0])
        if name in design.rows:
            est, se = float(st.estimate[name][0]), float(st.se[name][0])
            if intervals:
                c1 = eng.critical_value(name, phi, s.alpha)
                c2 = eng.critical_value(name, phi, 2 * s.alpha)
                ci, ci_eq = (est - c1 * se, est + c1 * se), (est - c2 * se, est + c2 * se)
            else:
                ci = ci_eq = (math.nan, math.nan)
        else:
            est = se = math.nan
            ci = ci_eq = (math.nan, math.nan)
        tests[name] = Test(est, se, stat, p, ci, ci_eq)
    params = np.linalg.lstsq(X, y, rcond=None)[0]
    return SegmentedFit(years, y, event, eng, params, resid, r1, phi, tests)


def placebo_events(series: pd.Series, event: int, cfg: dict) -> pd.DataFrame:
    """Departures from trend estimated at years when nothing is known to have happened.

    A placebo event is every observed year at least ``its.placebo_min_gap`` years from ``event``
    that leaves ``its.min_pre_periods`` points before it and ``its.min_post_periods`` from it on —
    counted within one side of the real event only: placebos before the event are fitted on the
    pre-event years alone, placebos after it on the post-event years alone, so the real event's
    break never enters a placebo fit. Each is tested exactly as the real event is (the departure
    test, same calibration; ``its.check_draws`` bootstrap draws). Returns one row per placebo:
    ``event`` (its year), ``estimate`` (average gap), ``p_value`` (departure test).
    """
    years, y = _validate(series, event)
    s = Settings.from_cfg(cfg)
    rows = []
    for side in (years < event, years >= event):
        seg_years, seg_y = years[side], y[side]
        for tau in seg_years:
            if (abs(int(tau) - event) < s.placebo_min_gap or (seg_years < tau).sum() < s.min_pre
                    or (seg_years >= tau).sum() < s.min_post):
                continue
            f = segmented_fit(seg_years, seg_y, int(tau), s, draws=s.check_draws, intervals=False)
            rows.append({"event": int(tau), "estimate": f.tests["gap"].estimate,
                         "p_value": f.tests["departure"].p_value})
    return pd.DataFrame(rows, columns=["event", "estimate", "p_value"])


# --------------------------------------------------------------------------------------------
# the assumption checks


def _check_observations(n_pre: int, n_post: int, s: Settings, event: int) -> AssumptionCheck:
    passed = n_pre >= s.min_pre and n_post >= s.min_post
    verdict = "enough" if passed else "too few"
    return AssumptionCheck(
        "enough observations", passed,
        f"{n_pre} years before {event} (at least {s.min_pre} needed) and {n_post} from {event} on (at least "
        f"{s.min_post} needed): {verdict} to estimate a trend on each side.",
    )


def _check_linear_pre_trend(years: np.ndarray, y: np.ndarray, event: int, s: Settings) -> AssumptionCheck:
    name = "linear pre-event trend"
    pre = years < event
    n_pre = int(pre.sum())
    if n_pre < MIN_POINTS_QUADRATIC:
        return AssumptionCheck(name, None, f"Only {n_pre} years before {event}: too few to test whether the "
                               f"pre-event trend curves (at least {MIN_POINTS_QUADRATIC} needed).")
    t = (years[pre] - years[pre].mean()).astype(float)
    X = np.column_stack([np.ones_like(t), t, t**2])
    eng = s.engine(X, {"curve": np.eye(3)[2]}, {}, draws=s.check_draws)
    st = eng.design.statistics(y[pre])
    curve, p = float(st.estimate["curve"][0]), float(eng.p_value("curve", st.t["curve"][0], st.r1[0])[0])
    passed = not p < s.alpha
    if passed:
        detail = (f"A curve (a squared-year term) added to the {n_pre} pre-event years is not significant "
                  f"(coefficient {curve:.3g}, p = {p:.3g} ≥ {s.alpha}): a straight line is a fair description of "
                  "the prior trend, so carrying it on is a usable counterfactual. With few points this is weak "
                  "evidence: a gentle curve would go unseen.")
    else:
        detail = (f"The {n_pre} pre-event years curve (squared-year coefficient {curve:.3g}, p = {p:.3g} < "
                  f"{s.alpha}): the prior trend is not a straight line, so the line carried past {event} is not a "
                  "credible counterfactual and the departure from it is not interpretable.")
    return AssumptionCheck(name, passed, detail, statistic=curve, p_value=p)


def _check_placebos(placebos: pd.DataFrame, estimate: float, alpha: float, event: int) -> tuple[AssumptionCheck, float]:
    """The placebo check and the placebo rank p-value of the real average gap (NaN without placebos)."""
    name = "no departure at placebo events"
    n = len(placebos)
    larger = int((placebos["estimate"].abs() >= abs(estimate)).sum()) if n else 0
    rank_p = (1 + larger) / (n + 1) if n else math.nan
    if n < MIN_PLACEBOS:
        return AssumptionCheck(name, None, f"Only {n} placebo years fit the series (at least {MIN_PLACEBOS} needed): "
                               "whether it departs from trend when nothing happened cannot be checked."), rank_p
    k = int((placebos["p_value"] < alpha).sum())
    # If the test is valid, each placebo is significant with probability alpha; the check fails when
    # k or more significant placebos out of n would be that unlikely (binomial tail below alpha).
    tail = float(binom.sf(k - 1, n, alpha))
    passed = tail >= alpha
    meaning = ("as many as a valid test would give by chance, so its p-values behave as they should" if passed else
               f"more than a valid test would give by chance (binomial p = {tail:.3g}), so the series departs from "
               "trend often when nothing happened and its p-values cannot be trusted")
    detail = (f"Tested at {n} years with no known event, the departure test rejects at {k} of them ({k / n:.0%}): "
              f"{meaning}. The real average gap at {event} is exceeded in size by {larger} of the {n} placebo gaps: "
              f"placebo p = {rank_p:.3g} (the real event counted among them).")
    return AssumptionCheck(name, passed, detail, statistic=k / n, p_value=rank_p), rank_p


def _check_no_coincident_change(event: int) -> AssumptionCheck:
    return AssumptionCheck(
        "no other change at the same time", None,
        f"Not testable: a single series cannot separate the event from anything else that changed in {event}. "
        "Every partnership took on the duty on the same day, so there is no untreated comparison series.",
    )


def _check_persistence(f: SegmentedFit, s: Settings, n_pre: int) -> tuple[AssumptionCheck, dict]:
    """Can the calibrated tests be trusted at this series' persistence, for this number of points?"""
    eng = f.engine
    n = len(f.years)
    dw = float(durbin_watson(f.resid))
    lags = min(2, n // 4)
    lb_p = float(acorr_ljungbox(f.resid, lags=lags)["lb_pvalue"].iloc[-1])
    sizes = {name: eng.size_at(name, f.phi, s.alpha) for name in REPORTED_TESTS}
    from_phi = eng.oversized_from(REPORTED_TESTS, s.alpha, s.size_tolerance)
    worst = max(sizes, key=sizes.get)
    diag = {"durbin_watson": dw, "ljung_box_p": lb_p, "ljung_box_lags": lags,
            "residual_lag1_autocorrelation": f.r1, "ar1_phi": f.phi, "phi_quantile": s.phi_quantile,
            "simulated_size": sizes, "oversized_from_phi": from_phi, "n": n}
    mu = float(eng.phi_median_unbiased(f.r1))
    diag["ar1_phi_median_unbiased"] = mu
    described = (f"Residual lag-1 autocorrelation {f.r1:.2f} (Durbin–Watson {dw:.2f}, Ljung–Box p = {lb_p:.3g} for "
                 f"lags 1–{lags}); AR(1) coefficient {mu:.2f} median-unbiased, {f.phi:.2f} as used by the bootstrap "
                 f"(where the observed autocorrelation is the {s.phi_quantile:.0%} quantile of its simulated "
                 "distribution: with so few points the data rarely rule out a random walk).")
    passed = from_phi is None or f.phi < from_phi
    if passed:
        detail = (f"{described} At that persistence the calibrated tests' simulated size is "
                  f"{min(sizes.values()):.3f}–{max(sizes.values()):.3f} at a nominal {s.alpha} (tolerance "
                  f"{s.size_tolerance}), so their p-values can be used.")
    else:
        detail = (f"Too persistent for this design at n = {n} ({n_pre} before the event): {described} From "
                  f"φ = {from_phi:.2f} on, a test on {n} points rejects a true null more often than "
                  f"{s.size_tolerance:.0%} of the time (here the {worst} test: simulated size {sizes[worst]:.3f} at a "
                  f"nominal {s.alpha}), so its p-values cannot be trusted.")
    return AssumptionCheck("errors not too persistent for the design", passed, detail, statistic=f.phi,
                           p_value=sizes[worst]), diag


# --------------------------------------------------------------------------------------------
# the design


def _mde(f: SegmentedFit, s: Settings) -> tuple[float, dict[str, float]]:
    """Smallest constant step over the window detected by the gap test with probability ``power``,
    and the error process it was simulated under (AR(1) coefficient and innovation SD)."""
    eng, se = f.engine, f.tests["gap"].se
    # power is a statement about the series as it is: simulate at the median-unbiased φ (the test
    # inside each draw still uses that draw's own, conservative, coefficient)
    phi = float(eng.phi_median_unbiased(f.r1))
    sigma = eng.innovation_sd(f.resid, phi)
    shift = (f.years >= f.event).astype(float)   # a step in level from the event: moves the gap one-for-one

    def power_at(effect: float) -> float:
        return eng.power("gap", effect / sigma, phi, s.alpha, shift)

    mde = smallest_effect(power_at, s.power, scale=max(se, 1e-12))
    return mde, {"ar1_phi": phi, "innovation_sd": sigma}


def fit(series: pd.Series, event: int, *, outcome: str, area: str, cfg: dict,
        window: tuple[int, int] | None = None) -> DesignResult:
    """Interrupted time series of ``series`` at ``event`` over ``window`` (module docstring).

    ``series``: values indexed by integer year, sorted, no NaN (``ValueError`` naming the year
    otherwise), at least :data:`MIN_POINTS` years on each side of ``event`` once restricted to the
    window (``ValueError`` otherwise; fewer than ``its.min_pre_periods``/``its.min_post_periods``
    still fits, but the "enough observations" check fails). ``cfg``: the ``attribution`` settings.
    ``window``: the post-event years ``(first, last)``; years after ``last`` are dropped; ``None``
    uses every year.
    """
    s = Settings.from_cfg(cfg)
    if window is not None and window[0] != event:
        raise ValueError(f"the window {window} must start at the event year {event}")
    series = restrict(series, window)
    years, y = _validate(series, event)
    f = segmented_fit(years, y, event, s)
    post = years >= event
    n_pre, n_post = int((~post).sum()), int(post.sum())
    gap, departure = f.tests["gap"], f.tests["departure"]
    mde, mde_process = _mde(f, s)

    placebos = placebo_events(series, event, cfg)
    placebo_check, rank_p = _check_placebos(placebos, gap.estimate, s.alpha, event)
    persistence_check, diagnostics = _check_persistence(f, s, n_pre)
    checks = [
        _check_observations(n_pre, n_post, s, event),
        _check_linear_pre_trend(years, y, event, s),
        placebo_check,
        persistence_check,
        _check_no_coincident_change(event),
    ]

    def by_year(values: np.ndarray, mask: np.ndarray) -> dict[int, float]:
        return {int(t): float(v) for t, v in zip(years[mask], values[mask], strict=True)}

    X = f.engine.design.X
    fitted = X @ f.params
    counterfactual = X[:, :2] @ f.params[:2]
    observed = set(years.tolist())
    last = int(years[-1])
    span = (int(event), last)
    inferences = [
        Inference("departure test: level and slope change jointly (fixed-b HAC Wald, prepivoted AR(1) bootstrap)",
                  departure.p_value, math.nan, math.nan,
                  "AR(1) errors; the size check above holds at this persistence", min_p=1 / (s.draws + 1),
                  role=VERDICT),
        Inference("average gap (fixed-b HAC t, prepivoted AR(1) bootstrap)", gap.p_value, *gap.ci,
                  "AR(1) errors; the size check above holds at this persistence", min_p=1 / (s.draws + 1),
                  role=REPORTED),
        Inference("level change alone", f.tests["level"].p_value, *f.tests["level"].ci, "as above", role=REPORTED),
        Inference("slope change alone", f.tests["slope"].p_value, *f.tests["slope"].ci, "as above", role=REPORTED),
        Inference("level change, textbook Newey–West t with a normal reference (for comparison only)",
                  *_textbook(y, X, 2, s.alpha), "long series with weakly autocorrelated errors: not met here",
                  role=LABEL),
    ]
    details = {
        "model": "y = b0 + b1·(t − T0) + b2·post + b3·(t − T0)·post + e",
        "inference": (f"fixed-b HAC statistics (Bartlett, bandwidth {len(years)}); reference distributions from "
                      f"{s.draws} AR(1) bootstrap series per grid coefficient in each of three sets (seed {s.seed}); "
                      f"prepivoted p-values"),
        "departure": {"statistic": departure.statistic, "p_value": departure.p_value},
        "gap": gap.summary(),
        "level_change": f.tests["level"].summary(),
        "slope_change": f.tests["slope"].summary(),
        "pre_slope": f.tests["pre_slope"].summary(),
        "fitted_pre": by_year(fitted, ~post),
        "fitted_post": by_year(fitted, post),
        "counterfactual": by_year(counterfactual, post),
        "placebos": placebos.to_dict("records"),
        "placebo_p": rank_p,
        "autocorrelation": diagnostics,
        "missing_years": [t for t in range(int(years[0]), last + 1) if t not in observed],
        "mde_simulated_under": mde_process,
    }
    return DesignResult(
        design=DESIGN, outcome=outcome, area=area, event=int(event),
        estimate=gap.estimate, ci_low=gap.ci[0], ci_high=gap.ci[1], p_value=departure.p_value,
        p_kind=P_KIND, mde=mde, n_pre=n_pre, n_post=n_post, scale="level", checks=checks, details=details,
        estimand=ESTIMAND, window=span, estimate_p=gap.p_value, eq_low=gap.ci_eq[0], eq_high=gap.ci_eq[1],
        min_p=1 / (s.draws + 1), inferences=inferences,
    )


def _textbook(y: np.ndarray, X: np.ndarray, j: int, alpha: float) -> tuple[float, float, float]:
    """(p, ci_low, ci_high) of coefficient ``j`` by statsmodels' Newey–West (2 lags), normal reference."""
    import statsmodels.api as sm

    res = sm.OLS(y, X).fit(cov_type="HAC", cov_kwds={"maxlags": 2})
    low, high = res.conf_int(alpha)[j]
    return float(res.pvalues[j]), float(low), float(high)
