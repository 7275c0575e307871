"""Interrupted time series (ITS): did a series break from its own prior trend at the event?

The model (segmented regression) for a series observed in years ``t`` with the event in year T0:

    y_t = b0 + b1·(t − T0) + b2·post_t + b3·(t − T0)·post_t + e_t,    post_t = 1 if t ≥ T0 else 0

``b1`` is the pre-event slope, ``b2`` the change in level at T0 (the estimate this design reports),
``b3`` the change in slope, and ``b0 + b1·(t − T0)`` for post-event years the counterfactual: the
pre-event trend carried on. It is fitted by OLS (statsmodels) with Newey–West (HAC, Bartlett
kernel) standard errors, ``its.hac_maxlags`` lags.

Inference. Newey–West standard errors are consistent as the series grows, but in series of the
length available here (≈ 30 annual points, four coefficients) they are biased down: with AR(1)
errors (φ = 0.3) the nominal 95% interval for ``b2`` covers the truth in only about 76% of
simulated series with a normal reference and about 78% with Student's t on n − 4 degrees of
freedom (``tests/test_its.py`` measures this). So the Newey–West t-statistic is kept but its
reference distribution is simulated: a parametric bootstrap draws :data:`BOOTSTRAP_DRAWS` series
of AR(1) errors (φ the median-unbiased estimate from the OLS residuals, :func:`median_unbiased_phi`),
refits the same regression on each and recomputes the Newey–West t-statistic. The interval is
``b ± c·SE`` with ``c`` the (1 − alpha) point of the simulated |t|, and the p-value is the share
of simulated |t| at least as large as the observed one (counting the observed one); the
t-statistic does not depend on the error variance, so only φ needs estimating. The textbook
(normal-reference) Newey–West interval and p-value are kept in ``details`` for comparison.

Minimum detectable effect. Found by simulation on the same bootstrap draws: the smallest effect
that, added to the simulated series (errors scaled to the residual variance), the test above
detects in a share ``power`` of them (:func:`~analysis.attribution.power.smallest_effect`). The
analytic formula of :func:`~analysis.attribution.power.analytic_mde` applied to the Newey–West SE
would understate it by about half (its SE is biased down and variable). The simulation treats φ as
known; because the test estimates φ, an effect equal to the reported MDE is detected a little less
often than ``power`` (measured in ``tests/test_its.py``: 73% rather than 80% at φ = 0.3, 29 points).

Assumptions, each checked (or stated as untestable) in :func:`fit`:

* enough points on each side of the event (``its.min_pre_periods``, ``its.min_post_periods``);
* the pre-event trend is linear, so carrying it on is a credible counterfactual;
* the series does not "break" at years when nothing happened (placebo events);
* nothing else changed in the same year — not testable with one series;
* the errors are at most weakly autocorrelated in the way the AR(1) reference assumes
  (Durbin–Watson and Ljung–Box reported).

Years may have gaps (the trend uses calendar years); the error model treats consecutive
observations as one step apart.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy.signal import lfilter
from scipy.stats import binom
from statsmodels.stats.diagnostic import acorr_ljungbox
from statsmodels.stats.stattools import durbin_watson

from .base import AssumptionCheck, DesignResult
from .power import smallest_effect

#: Simulated series in each bootstrap reference distribution.
BOOTSTRAP_DRAWS = 999
#: The AR(1) coefficient used by the bootstrap is kept within ±this, so the errors stay stationary.
PHI_BOUND = 0.95
#: Precision of the median-unbiased AR(1) coefficient.
PHI_TOLERANCE = 1e-3
#: Fewer points than this on either side of the event and the design cannot be fitted at all.
MIN_POINTS = 3
#: The quadratic pre-trend test needs its three coefficients plus two residual degrees of freedom.
MIN_POINTS_QUADRATIC = 5
#: Fewer placebo events than this and the placebo check is not attempted.
MIN_PLACEBOS = 3

DESIGN = "its"
P_KIND = "Newey-West t, AR(1) bootstrap reference"


@dataclass(frozen=True)
class Coefficient:
    """One OLS coefficient with its Newey–West SE and bootstrap-calibrated inference."""

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    mde: float
    #: The textbook Newey–West interval and p-value (normal reference), for comparison.
    analytic_ci_low: float
    analytic_ci_high: float
    analytic_p_value: float

    def summary(self) -> dict[str, float]:
        return {"estimate": self.estimate, "se": self.se, "ci_low": self.ci_low, "ci_high": self.ci_high,
                "p_value": self.p_value}


@dataclass(frozen=True)
class NeweyWestFit:
    """An OLS fit with Newey–West inference calibrated by an AR(1) parametric bootstrap."""

    coefficients: dict[int, Coefficient]
    params: np.ndarray
    fitted: np.ndarray
    resid: np.ndarray
    r1: float   # lag-1 autocorrelation of the OLS residuals
    phi: float  # the median-unbiased AR(1) coefficient the bootstrap uses


def _lag1(u: np.ndarray) -> np.ndarray:
    """Lag-1 autocorrelation of each row of ``u`` (0 for a row of zeros)."""
    num = (u[..., 1:] * u[..., :-1]).sum(-1)
    den = (u * u).sum(-1)
    return np.divide(num, den, out=np.zeros_like(num, dtype=float), where=den > 0)


def _ar1_draws(innovations: np.ndarray, phi: float) -> np.ndarray:
    """Stationary AR(1) series (one per row) driven by standard normal ``innovations``."""
    e = innovations.copy()
    e[:, 0] /= np.sqrt(1 - phi**2)
    return lfilter([1.0], [1.0, -phi], e, axis=1)


def median_unbiased_phi(r1: float, residualize: Callable[[np.ndarray], np.ndarray], innovations: np.ndarray) -> float:
    """The AR(1) coefficient whose simulated OLS residuals have median lag-1 autocorrelation ``r1``.

    The lag-1 autocorrelation of residuals from a regression on trends is biased towards zero —
    strongly so in short series (for 29 years and the segmented model, AR(1) errors with φ = 0.3
    give residual autocorrelations with mean ≈ 0.07). Inverting its median, as in Andrews (1993,
    *Econometrica* 61:139–165) but simulated for the regression actually fitted, gives a
    median-unbiased φ. ``residualize`` maps series (rows) to their OLS residuals; ``innovations`` (draws ×
    n standard normals, reused for every φ so the median is monotone in φ) drive the simulation.
    The search is confined to ±:data:`PHI_BOUND`.
    """

    def median_r1(phi: float) -> float:
        return float(np.median(_lag1(residualize(_ar1_draws(innovations, phi)))))

    low, high = -PHI_BOUND, PHI_BOUND
    if median_r1(low) >= r1:
        return low
    if median_r1(high) <= r1:
        return high
    while high - low > PHI_TOLERANCE:
        mid = (low + high) / 2
        if median_r1(mid) < r1:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def _critical_value(t_abs: np.ndarray, alpha: float) -> float:
    """The simulated |t| beyond which the bootstrap p-value ``(1 + #{|t*| ≥ |t|}) / (B + 1)`` is below ``alpha``.

    It is the ``k``-th largest simulated |t| with ``k = ⌈alpha·(B + 1)⌉ − 1``, so that "p < alpha"
    and "the interval ``b ± crit·SE`` excludes 0" are the same statement.
    """
    k = math.ceil(round(alpha * (len(t_abs) + 1), 9)) - 1
    if k < 1:
        raise ValueError(f"{len(t_abs)} bootstrap draws cannot give a p-value below alpha = {alpha}")
    return float(np.sort(t_abs)[-k])


def _nw_se(u: np.ndarray, c: np.ndarray, maxlags: int) -> np.ndarray:
    """Newey–West SE of the coefficient ``c'y`` (``c`` a row of (X'X)⁻¹X') for each residual row of ``u``.

    Identical to statsmodels' ``cov_type="HAC"`` (Bartlett weights ``1 − l/(maxlags + 1)``, no
    small-sample correction) for that coefficient, computed for many series at once.
    """
    a = u * c
    s = (a * a).sum(-1)
    for lag in range(1, maxlags + 1):
        s = s + 2 * (1 - lag / (maxlags + 1)) * (a[..., lag:] * a[..., :-lag]).sum(-1)
    return np.sqrt(s)


def newey_west(y: np.ndarray, X: np.ndarray, coefs: Sequence[int], *, maxlags: int, alpha: float,
               power: float, seed: int) -> NeweyWestFit:
    """Fit ``y = Xb + e`` by OLS and test ``b_j = 0`` for each ``j`` in ``coefs`` (module docstring).

    The point estimates and Newey–West SEs are statsmodels'; the reference distribution of each
    t-statistic is simulated under AR(1) errors with the median-unbiased coefficient of
    :func:`median_unbiased_phi`. ``seed`` fixes the draws, so the result is deterministic.
    """
    n = len(y)
    res = sm.OLS(y, X).fit(cov_type="HAC", cov_kwds={"maxlags": maxlags})
    resid = np.asarray(res.resid)
    if not (resid @ resid) > 1e-12 * max(float(y @ y), 1.0):
        raise ValueError("the series lies exactly on the fitted lines: no residual variation to test against")
    proj = np.linalg.pinv(X)   # rows: each coefficient as a linear map of y

    def residualize(u: np.ndarray) -> np.ndarray:
        """OLS residuals of each row (low-rank form: small products, no multithreaded BLAS)."""
        return u - (u @ proj.T) @ X.T

    rng = np.random.default_rng(seed)
    r1 = float(_lag1(resid))
    phi = median_unbiased_phi(r1, residualize, rng.standard_normal((BOOTSTRAP_DRAWS, n)))
    errors = _ar1_draws(rng.standard_normal((BOOTSTRAP_DRAWS, n)), phi)   # unit innovation variance
    boot_resid = residualize(errors)
    # innovation SD matching the observed residual variance (needed only for the MDE)
    sigma = float(np.sqrt((resid @ resid) / (boot_resid**2).sum(axis=1).mean()))
    out: dict[int, Coefficient] = {}
    for j in coefs:
        b, se = float(res.params[j]), float(res.bse[j])
        boot_b, boot_se = errors @ proj[j], _nw_se(boot_resid, proj[j], maxlags)
        t_abs = np.abs(boot_b) / boot_se
        crit = _critical_value(t_abs, alpha)
        p = (1 + np.count_nonzero(t_abs >= abs(b) / se)) / (BOOTSTRAP_DRAWS + 1)

        def power_at(effect: float, boot_b: np.ndarray = boot_b, boot_se: np.ndarray = boot_se,
                     crit: float = crit) -> float:
            return float(np.mean(np.abs(effect / sigma + boot_b) > crit * boot_se))

        a_low, a_high = res.conf_int(alpha)[j]
        out[j] = Coefficient(
            estimate=b, se=se, ci_low=b - crit * se, ci_high=b + crit * se, p_value=float(p),
            mde=smallest_effect(power_at, power, scale=se), analytic_ci_low=float(a_low),
            analytic_ci_high=float(a_high), analytic_p_value=float(res.pvalues[j]),
        )
    return NeweyWestFit(out, np.asarray(res.params), np.asarray(res.fittedvalues), resid, r1, phi)


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


def _fit_settings(cfg: dict) -> dict:
    return {"maxlags": int(cfg["its"]["hac_maxlags"]), "alpha": float(cfg["alpha"]),
            "power": float(cfg["power"]), "seed": int(cfg["seed"])}


def placebo_events(series: pd.Series, event: int, cfg: dict) -> pd.DataFrame:
    """Level changes estimated at years when nothing is known to have happened.

    A placebo event is every observed year at least ``its.placebo_min_gap`` years from ``event``
    that leaves ``its.min_pre_periods`` points before it and ``its.min_post_periods`` from it on —
    counted within one side of the real event only: placebos before the event are fitted on the
    pre-event years alone, placebos after it on the post-event years alone, so the real event's
    break never enters a placebo fit. Each is fitted exactly as the real event is (same model,
    same inference). Returns one row per placebo: ``event`` (its year), ``estimate`` (level change)
    and ``p_value``; an empty frame when none fits.
    """
    years, y = _validate(series, event)
    its_cfg, kw = cfg["its"], _fit_settings(cfg)
    rows = []
    for side in (years < event, years >= event):
        seg_years, seg_y = years[side], y[side]
        for tau in seg_years:
            if (abs(int(tau) - event) < its_cfg["placebo_min_gap"]
                    or (seg_years < tau).sum() < its_cfg["min_pre_periods"]
                    or (seg_years >= tau).sum() < its_cfg["min_post_periods"]):
                continue
            level = newey_west(seg_y, design_matrix(seg_years, int(tau)), [2], **kw).coefficients[2]
            rows.append({"event": int(tau), "estimate": level.estimate, "p_value": level.p_value})
    return pd.DataFrame(rows, columns=["event", "estimate", "p_value"])


# --------------------------------------------------------------------------------------------
# the assumption checks


def _check_observations(n_pre: int, n_post: int, its_cfg: dict, event: int) -> AssumptionCheck:
    need_pre, need_post = its_cfg["min_pre_periods"], its_cfg["min_post_periods"]
    passed = n_pre >= need_pre and n_post >= need_post
    verdict = "enough" if passed else "too few"
    return AssumptionCheck(
        "enough observations", passed,
        f"{n_pre} years before {event} (at least {need_pre} needed) and {n_post} from {event} on (at least "
        f"{need_post} needed): {verdict} to estimate a trend on each side.",
    )


def _check_linear_pre_trend(years: np.ndarray, y: np.ndarray, event: int, kw: dict) -> AssumptionCheck:
    name = "linear pre-event trend"
    pre = years < event
    n_pre = int(pre.sum())
    if n_pre < MIN_POINTS_QUADRATIC:
        return AssumptionCheck(name, None, f"Only {n_pre} years before {event}: too few to test whether the "
                               f"pre-event trend curves (at least {MIN_POINTS_QUADRATIC} needed).")
    s = (years[pre] - years[pre].mean()).astype(float)
    curve = newey_west(y[pre], np.column_stack([np.ones_like(s), s, s**2]), [2], **kw).coefficients[2]
    alpha = kw["alpha"]
    passed = not curve.p_value < alpha
    if passed:
        detail = (f"A curve (a squared-year term) added to the {n_pre} pre-event years is not significant "
                  f"(coefficient {curve.estimate:.3g}, p = {curve.p_value:.3g} ≥ {alpha}): a straight line is a "
                  "fair description of the prior trend, so carrying it on is a usable counterfactual. With few "
                  "points this is weak evidence: a gentle curve would go unseen.")
    else:
        detail = (f"The {n_pre} pre-event years curve (squared-year coefficient {curve.estimate:.3g}, "
                  f"p = {curve.p_value:.3g} < {alpha}): the prior trend is not a straight line, so the line carried "
                  f"past {event} is not a credible counterfactual and the level change is not interpretable.")
    return AssumptionCheck(name, passed, detail, statistic=curve.estimate, p_value=curve.p_value)


def _check_placebos(placebos: pd.DataFrame, estimate: float, alpha: float, event: int) -> tuple[AssumptionCheck, float]:
    """The placebo check and the placebo rank p-value of the real estimate (NaN without placebos)."""
    name = "no level shift at placebo events"
    n = len(placebos)
    if n == 0:
        rank_p = float("nan")
    else:
        rank_p = (1 + int((placebos["estimate"].abs() >= abs(estimate)).sum())) / (n + 1)
    if n < MIN_PLACEBOS:
        return AssumptionCheck(name, None, f"Only {n} placebo years fit the series (at least {MIN_PLACEBOS} needed): "
                               "whether it shifts when nothing happened cannot be checked."), rank_p
    k = int((placebos["p_value"] < alpha).sum())
    share = k / n
    # If the test is valid, each placebo is significant with probability alpha; the check fails when
    # k or more significant placebos out of n would be that unlikely (binomial tail below alpha).
    tail = float(binom.sf(k - 1, n, alpha))
    passed = tail >= alpha
    meaning = ("as many as a valid test would give by chance, so its p-values behave as they should" if passed else
               f"more than a valid test would give by chance (binomial p = {tail:.3g}), so the series shifts "
               "often when nothing happened and its p-values cannot be trusted")
    detail = (f"Fitted at {n} years with no known event, the model finds a significant level shift at "
              f"{k} of them ({share:.0%}): {meaning}. The real shift at {event} is "
              f"exceeded in size by {int((placebos['estimate'].abs() >= abs(estimate)).sum())} of the {n} placebo "
              f"shifts: placebo p = {rank_p:.3g} (the real event counted among them).")
    return AssumptionCheck(name, passed, detail, statistic=share, p_value=rank_p), rank_p


def _check_no_coincident_change(event: int) -> AssumptionCheck:
    return AssumptionCheck(
        "no other change at the same time", None,
        f"Not testable: a single series cannot separate the event from anything else that changed in {event}. "
        "Every partnership took on the duty on the same day, so there is no untreated comparison series.",
    )


def _check_autocorrelation(nw: NeweyWestFit, maxlags: int) -> tuple[AssumptionCheck, dict]:
    dw = float(durbin_watson(nw.resid))
    lb = acorr_ljungbox(nw.resid, lags=maxlags)
    lb_p = {int(lag): float(p) for lag, p in lb["lb_pvalue"].items()}
    diag = {"durbin_watson": dw, "ljung_box_p": lb_p, "residual_lag1_autocorrelation": nw.r1,
            "ar1_phi_median_unbiased": nw.phi}
    detail = (f"Residuals: Durbin–Watson {dw:.2f} (2 means none), Ljung–Box p = {lb_p[maxlags]:.3g} for lags "
              f"1–{maxlags}, "
              f"lag-1 autocorrelation {nw.r1:.2f} (AR(1) coefficient {nw.phi:.2f} once its small-sample bias is "
              f"removed). Allowed for: Newey–West standard errors ({maxlags} lags) with a reference distribution "
              "simulated under AR(1) errors with that coefficient.")
    return AssumptionCheck("residual autocorrelation handled", True, detail, statistic=dw, p_value=lb_p[maxlags]), diag


# --------------------------------------------------------------------------------------------
# the design


def fit(series: pd.Series, event: int, *, outcome: str, area: str, cfg: dict) -> DesignResult:
    """Interrupted time series of ``series`` at ``event`` (module docstring for model and inference).

    ``series``: values indexed by integer year, sorted, no NaN (``ValueError`` naming the year
    otherwise), at least :data:`MIN_POINTS` years on each side of ``event`` (``ValueError``
    otherwise; fewer than ``its.min_pre_periods``/``its.min_post_periods`` still fits, but the
    "enough observations" check fails). ``cfg``: the ``attribution`` settings.

    The estimate is the level change ``b2`` at ``event`` with its interval, p-value and minimum
    detectable effect. ``details`` holds the slope change ``b3`` and pre-event slope ``b1``
    (estimate, SE, interval, p), the fitted values before and after the event, the counterfactual
    (the pre-event line carried on over the post-event years), the placebo events and placebo
    p-value, residual autocorrelation diagnostics and the textbook Newey–West interval and p-value.
    """
    years, y = _validate(series, event)
    kw = _fit_settings(cfg)
    its_cfg, alpha = cfg["its"], kw["alpha"]
    X = design_matrix(years, event)
    nw = newey_west(y, X, [1, 2, 3], **kw)
    pre_slope, level, slope_change = (nw.coefficients[j] for j in (1, 2, 3))
    post = years >= event
    n_pre, n_post = int((~post).sum()), int(post.sum())

    placebos = placebo_events(series, event, cfg)
    placebo_check, rank_p = _check_placebos(placebos, level.estimate, alpha, event)
    autocorrelation_check, diagnostics = _check_autocorrelation(nw, kw["maxlags"])
    checks = [
        _check_observations(n_pre, n_post, its_cfg, event),
        _check_linear_pre_trend(years, y, event, kw),
        placebo_check,
        _check_no_coincident_change(event),
        autocorrelation_check,
    ]

    def by_year(values: np.ndarray, mask: np.ndarray) -> dict[int, float]:
        return {int(t): float(v) for t, v in zip(years[mask], values[mask], strict=True)}

    counterfactual = X[:, :2] @ nw.params[:2]
    observed = set(years.tolist())
    details = {
        "model": "y = b0 + b1·(t − T0) + b2·post + b3·(t − T0)·post + e",
        "inference": (f"OLS; Newey–West SEs ({kw['maxlags']} lags); reference distribution of the t-statistic "
                      f"from {BOOTSTRAP_DRAWS} AR(1) bootstrap series (seed {kw['seed']})"),
        "level_change": level.summary(),
        "slope_change": slope_change.summary(),
        "pre_slope": pre_slope.summary(),
        "level_change_analytic": {"ci_low": level.analytic_ci_low, "ci_high": level.analytic_ci_high,
                                  "p_value": level.analytic_p_value, "reference": "normal"},
        "fitted_pre": by_year(nw.fitted, ~post),
        "fitted_post": by_year(nw.fitted, post),
        "counterfactual": by_year(counterfactual, post),
        "placebos": placebos.to_dict("records"),
        "placebo_p": rank_p,
        "autocorrelation": diagnostics,
        "missing_years": [t for t in range(int(years[0]), int(years[-1]) + 1) if t not in observed],
    }
    return DesignResult(
        design=DESIGN, outcome=outcome, area=area, event=int(event),
        estimate=level.estimate, ci_low=level.ci_low, ci_high=level.ci_high, p_value=level.p_value,
        p_kind=P_KIND, mde=level.mde, n_pre=n_pre, n_post=n_post, scale="level", checks=checks, details=details,
    )
