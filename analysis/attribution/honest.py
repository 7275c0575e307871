"""Robust confidence sets for event studies when parallel trends may fail (Rambachan & Roth 2023).

An event study estimates coefficients ``betahat = (β_pre, β_post)`` around an event, with the
period just before it (event time −1 in the usual coding) omitted as the reference and normalised
to zero. Rambachan & Roth (2023, RR) write the population coefficients as

    β = δ + (0, τ_post),

where ``τ_post`` are the causal effects after the event and ``δ`` is the difference in trends that
would have occurred anyway: the violation of parallel trends, with ``δ_pre`` identified by the
pre-period coefficients. The target is a linear combination ``θ = l'τ_post`` (default: the average
post-event effect, ``l = 1/num_post``). Exact parallel trends (``δ_post = 0``) gives the
conventional interval ``l'β̂_post ± z·se`` (:func:`conventional_ci`). RR instead bound ``δ`` by a set
``Δ`` and report confidence sets that cover ``θ`` for every ``δ`` in ``Δ``; letting the bound grow
gives a *sensitivity analysis* and a *breakdown value* (the largest bound at which the conclusion
"θ ≠ 0" survives).

Indexing. Below, event times are relabelled as in RR: pre-periods ``t = −num_pre … −1``, the
reference period ``t = 0`` (``δ_0 = 0``), post-periods ``t = 1 … num_post``. With the usual coding
(reference at event time −1) this is a shift by one; only consecutive periods matter.

Two restrictions are implemented.

**Smoothness, ΔSD(M)** (:func:`sd_flci`). ``|(δ_{t+1} − δ_t) − (δ_t − δ_{t−1})| ≤ M`` for every
interior period of the whole sequence, reference included: the slope of the differential trend may
change by at most ``M`` per period (``M`` is in the outcome's units per period²). ``M = 0`` allows
exactly linear trends; any linear trend is allowed for every ``M``. RR recommend the optimal
*fixed-length confidence interval* (FLCI) of Armstrong & Kolesár (2018, 2020) for ΔSD. It uses an
affine estimator ``θ̂ = v'β̂``; unbounded post effects force ``v_post = l``, and symmetry of ΔSD
makes a zero intercept optimal, so only the pre-period weights ``v_pre`` are free. Writing ``δ`` as a
linear trend plus the accumulated second differences ``d`` (``δ = s·t + G d``, ``|d_j| ≤ M``), the
bias ``v'δ`` is bounded iff ``v't = 0`` (the linear trend is neutralised), and then its maximum over
ΔSD(M) is ``M·‖G'v‖₁``: ``M`` times an L1 norm of an affine map of ``v_pre``. The FLCI is
``θ̂ ± sd·cv_α(maxbias/sd)``, with ``cv_α(b)`` the ``1 − α`` quantile of ``|N(b, 1)|`` (solved
exactly, not simulated), minimised over ``v_pre``. The half-length ``sd·cv(B/sd)`` is the
perspective of the convex, increasing ``cv_α``, hence jointly convex and increasing in
``(B, sd)``; both are convex in ``v_pre`` (an L1 norm, a Euclidean norm), so the problem is convex.
It is solved with SLSQP over ``(v_pre, u)`` with ``−u ≤ G'v ≤ u`` (smooth objective, linear
constraints), on the subspace ``v't = 0``, from two starting points (the ``M = 0`` optimum and the
minimum-bias weights from a linear programme), keeping the shorter. ``M = 0`` has the closed form
of generalised least squares: the best linear-trend-adjusted estimator.

**Relative magnitudes, ΔRM(M̄)** (:func:`rm_ci`). ``max_{t ≥ 0} |δ_{t+1} − δ_t| ≤
M̄·max_{s < 0} |δ_{s+1} − δ_s|``: no post-period step of the differential trend is larger than
``M̄`` times the largest pre-period step, the step into the reference period (``δ_0 − δ_{−1}``)
included. ``M̄ = 1``: post violations no bigger than the worst pre-period one. ΔRM is a finite union
of polyhedra ``P(s, ±) = {δ : |δ_{t+1} − δ_t| ≤ ±M̄·(δ_{s+1} − δ_s) for all post t}``, one per
pre-period step ``s`` and sign; each is contained in ΔRM and together they cover it. (Adding "step
``s`` is the largest" to ``P(s, ±)``, as in RR's definition, leaves the union unchanged; like the R
package's default ``postPeriodMomentsOnly = TRUE`` we test only the moments that involve
post-period coefficients.) The confidence set is the union of the sets for each polyhedron, so it
covers ``θ`` whenever ``δ ∈ ΔRM``. For each polyhedron, ``θ₀`` is tested with the
*conditional-least-favourable hybrid* of Andrews, Roth & Pakes (2023, ARP), which RR recommend for
ΔRM:

1. The moments are ``Y = Aβ̂`` with ``E[Y] − (τ terms) ≤ 0``; the nuisance is ``τ_post`` given
   ``l'τ_post = θ₀``. The statistic is ARP's linear programme
   ``η̂ = min_{η, τ} η  s.t.  Y − (τ terms) ≤ η·sd(Y)`` (moments normalised by their standard
   deviations).
2. First stage: reject if ``η̂`` exceeds the least-favourable critical value, the ``1 − κ``
   quantile (``κ = α/10``) of ``η̂`` when every moment binds (``Y ~ N(0, AΣA')``), simulated.
3. Second stage: conditional on the optimal vertex ``γ*`` of the dual programme and on the part of
   ``Y`` independent of ``γ*'Y``, the statistic ``η̂ = γ*'Y`` is normal truncated to
   ``[V_lo, V_up]``; ``V_up`` is capped at the first-stage critical value (the hybrid) and the test
   rejects if ``η̂/sd(γ*'Y)`` exceeds ``max(0, q)``, ``q`` the ``1 − α̃`` quantile of that truncated
   normal, ``α̃ = (α − κ)/(1 − κ)``.

For these polyhedra the linear programme has a closed-form solution, used here instead of an LP
solver (and checked against :func:`scipy.optimize.linprog` in the tests). With ``e_t = τ_t −
τ_{t−1}`` and ``L_j = Σ_{t ≥ j} l_t`` (so ``θ = Σ L_j e_j``), the post-step ``t`` enters only two
moments, ``y_{t+} − e_t`` and ``y_{t−} + e_t``; at level ``η`` each ``e_t`` ranges over an interval
that widens linearly in ``η``, and ``θ₀`` is attainable iff it lies between two linear functions
of ``η``. Hence ``η̂`` is the maximum of ``num_post + 2`` linear forms ``g_k'Y + h_k θ₀`` whose
weights ``g_k`` are feasible points of the dual (non-negative, normalised, orthogonal to the
nuisance directions): "``θ₀`` too low", "``θ₀`` too high", and one "interval empty" form per
post-period. The maximum over all dual vertices equals the maximum over these forms for every
``Y``, so ARP's truncation points are those of the selected form against the others, in closed
form: ``(g_j'b − 1)c ≤ (h_k − h_j)θ₀ − g_j'S`` for every ``j``, with ``b = Σ_Y g_k/σ_k²`` and
``S = Y − b·g_k'Y`` (ARP's Lemma). This replaces the LP, its dual and the bisection for
``V_lo, V_up`` of ARP's appendix, and it handles their degenerate cases exactly: moments that are
exact negatives of each other (``M̄ = 0``), duplicate or tied forms (``g_j'b = 1``, no constraint),
and forms with zero variance (a deterministic value; if selected, reject iff ``η̂ > 0``, as in the R
package). The least-favourable critical value is the ``1 − κ`` quantile of the maximum of the same
forms at ``Y ~ N(0, Σ_Y)``; it is estimated by importance sampling of the union of the tail events
(see :func:`_lf_critical_value`), and computed once per pre-period step (the polyhedra ``P(s, +)``
and ``P(s, −)`` are reflections of each other, ``δ → −δ``, with the same least-favourable law).
The acceptance region of each polyhedron lies within the interval where the first stage does not
reject, ``[θ_min, θ_max]``, known in closed form; it is inverted on a grid over that interval (plus
the point where ``η̂`` is smallest), and the outermost accepted points are refined by repeated
subdivision down to about 1e-6 of the grid step. The reported set is ``[min, max]`` of the accepted
values over all polyhedra: the convex hull of the union, which is conservative if the union has
gaps.

Why ``rm_ci`` at ``M̄ = 0`` is the conventional interval. Then ``P(s, ±) = {δ_post = 0}``; the
"θ₀ too low/high" forms are ``±(θ̂ − θ₀)/P`` and the others are identically 0, so (for θ₀ ≠ θ̂) the
truncation is ``[0, ∞)`` capped at ``lf = z_{1−κ/2}·sd(θ̂)/P``, and the ``1 − α̃`` quantile of
N(0, 1) truncated to ``[0, z_{1−κ/2}]`` is exactly ``z_{1−α/2}``. So the hybrid reproduces
``θ̂ ± z_{1−α/2}·sd(θ̂)`` with an exact critical value; with the simulated one it differs by the
simulation error (measured: < 3e-5 of the half-length).

What is approximate or conservative
* The least-favourable critical value is simulated (``lf_sims = 1000`` draws per form, fixed
  ``seed``, so results are deterministic). Its relative error is about 0.1–0.2% (the R package's
  plain 1,000 draws: about 4–5%); it moves the hybrid's first stage and cap, which bind mostly away
  from the endpoints.
* Acceptance is tested on a grid (``grid_points``) and refined at the outer boundaries; an accepted
  island narrower than a grid step inside a rejected stretch would be missed. The set is reported as
  the convex hull of accepted points.
* The FLCI is optimised numerically (SLSQP on a convex problem, from two starts); the tests check
  it against closed forms, independent minimisers and the R package.
* Neither the FLCI nor the hybrid set is guaranteed to be nested in ``M`` / ``M̄`` (the FLCI's
  centre moves; the hybrid test is not monotone by construction); both are in the examples tested.
  Breakdown values are found by bisection between the last grid value that excludes 0 and the
  first that includes it, which assumes one crossing in between.
* ``rm_ci`` returns ``(nan, nan)`` when every ``θ`` is rejected (the data reject ΔRM(M̄)).
* Only ΔSD (FLCI) and ΔRM (hybrid) are implemented; not the sign/monotonicity variants, ΔSDRM, nor
  the conditional/FLCI-hybrid sets for ΔSD.

Speed, measured on the 2-core development machine (numpy 2.4, scipy 1.17) while other jobs kept
it loaded (load average 2–6 on 2 cores), over random problems with ``num_pre = 6, num_post = 11``:
``sd_flci`` median 8 ms (max 110 ms), ``rm_ci`` median 60 ms (max 300 ms); on the package's
5 + 2 period Medicaid example 4 ms and 17 ms. A full :func:`sensitivity` call (6 values of ``M``,
7 of ``M̄``, both breakdown values) takes 0.3–0.4 s there and 1.3 s at ``num_pre = 6,
num_post = 11``.

References
* Rambachan, A. and Roth, J. (2023). A More Credible Approach to Parallel Trends. *Review of
  Economic Studies* 90(5), 2555–2591. doi:10.1093/restud/rdad018.
* Andrews, I., Roth, J. and Pakes, A. (2023). Inference for Linear Conditional Moment
  Inequalities. *Review of Economic Studies* 90(6).
* Armstrong, T. B. and Kolesár, M. (2018). Optimal Inference in a Class of Regression Models.
  *Econometrica* 86(2), 655–683; and (2020) Simple and Honest Confidence Intervals in Nonparametric
  Regression. *Quantitative Economics* 11(1), 1–39.
* Owen, A. B., Maximov, Y. and Chertkov, M. (2019). Importance sampling the union of rare events
  with an application to power systems analysis. arXiv:1710.06965.
* The R package HonestDiD (Rambachan & Roth; MIT licence), whose conventions this module follows
  and whose published examples the tests reproduce. No code was copied from it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
from scipy import optimize, special

__all__ = ["conventional_ci", "rm_ci", "sd_flci", "sensitivity", "SD_UNIT"]

#: What ``M`` measures, for reports.
SD_UNIT = (
    "M bounds the change in slope of the differential trend between consecutive periods: it is in the "
    "outcome's units per period² (e.g. percentage points per year per year)."
)

_SYM_TOL = 1e-8  # relative asymmetry allowed in sigma (then symmetrised)
_PSD_TOL = 1e-10  # relative negative eigenvalue allowed in sigma
_ZERO_VAR = 1e-14  # a form with variance below this share of the largest is deterministic
_UNIT_TOL = 1e-10  # |g_j'b − 1| below this: form j does not truncate (duplicate / tie direction)


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------


def _count(name: str, value: Any, minimum: int, why: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum} ({why}), got {value}")
    return int(value)


def _inputs(
    betahat: Any, sigma: Any, num_pre: Any, num_post: Any, l_vec: Any, *, pre_why: str
) -> tuple[np.ndarray, np.ndarray, int, int, np.ndarray]:
    """Validated ``(betahat, sigma, num_pre, num_post, l_vec)`` as float arrays."""
    k = _count("num_pre", num_pre, 1, pre_why)
    t = _count("num_post", num_post, 1, "the target is a combination of post-period effects")
    n = k + t
    b = np.asarray(betahat, dtype=float)
    if b.ndim == 2 and 1 in b.shape:
        b = b.reshape(-1)
    if b.ndim != 1 or b.size != n:
        raise ValueError(
            f"betahat must be a vector of num_pre + num_post = {n} coefficients, got shape {np.shape(betahat)}"
        )
    if not np.all(np.isfinite(b)):
        raise ValueError("betahat must be finite")
    s = np.asarray(sigma, dtype=float)
    if s.shape != (n, n):
        raise ValueError(f"sigma must be a {n} x {n} covariance matrix, got shape {s.shape}")
    if not np.all(np.isfinite(s)):
        raise ValueError("sigma must be finite")
    scale = float(np.max(np.abs(s))) if s.size else 0.0
    if scale == 0.0:
        raise ValueError("sigma is zero: the coefficients need a non-degenerate covariance matrix")
    if np.max(np.abs(s - s.T)) > _SYM_TOL * scale:
        raise ValueError("sigma must be symmetric")
    s = (s + s.T) / 2
    eig = np.linalg.eigvalsh(s)
    if eig[0] < -_PSD_TOL * max(eig[-1], 0.0):
        raise ValueError(f"sigma must be positive semi-definite (smallest eigenvalue {eig[0]:.3g})")
    if l_vec is None:
        lv = np.full(t, 1.0 / t)
    else:
        lv = np.asarray(l_vec, dtype=float).reshape(-1)
        if lv.size != t:
            raise ValueError(f"l_vec must have num_post = {t} weights, got {lv.size}")
        if not np.all(np.isfinite(lv)) or not np.any(lv != 0):
            raise ValueError("l_vec must be finite and not all zero")
    return b, s, k, t, lv


def _level(alpha: Any) -> float:
    a = float(alpha)
    if not 0 < a < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha!r}")
    return a


def _bound(name: str, value: Any) -> float:
    x = float(value)
    if not (math.isfinite(x) and x >= 0):
        raise ValueError(f"{name} must be finite and non-negative, got {value!r}")
    return x


def conventional_ci(
    betahat: Any, sigma: Any, num_pre: int, num_post: int, l_vec: Any = None, alpha: float = 0.05
) -> tuple[float, float]:
    """The conventional interval ``l'β̂_post ± z_{1−α/2}·sd`` for ``θ``, valid under exact parallel trends."""
    b, s, k, _, lv = _inputs(betahat, sigma, num_pre, num_post, l_vec, pre_why="the event study has pre-periods")
    a = _level(alpha)
    est = float(lv @ b[k:])
    se = math.sqrt(max(float(lv @ s[k:, k:] @ lv), 0.0))
    z = float(special.ndtri(1 - a / 2))
    return est - z * se, est + z * se


# --------------------------------------------------------------------------------------------
# ΔSD: the optimal fixed-length confidence interval
# --------------------------------------------------------------------------------------------


def _cv_alpha(b: float, alpha: float) -> tuple[float, float]:
    """``cv_α(b)``, the ``1 − α`` quantile of ``|N(b, 1)|``, and its derivative in ``b``."""
    b = abs(b)
    lo = b + float(special.ndtri(1 - alpha))
    hi = b + float(special.ndtri(1 - alpha / 2))

    def coverage_gap(x: float) -> float:
        return special.ndtr(x - b) - special.ndtr(-x - b) - (1 - alpha)

    if special.ndtr(-lo - b) < 1e-17:  # the far tail is negligible: cv = b + z_{1−α}
        c = lo
    elif coverage_gap(hi) <= 0:  # b ≈ 0: cv = z_{1−α/2} (to rounding)
        c = hi
    else:
        c = optimize.brentq(coverage_gap, lo, hi, xtol=1e-14, rtol=1e-15)
    p, m = math.exp(-0.5 * (c - b) ** 2), math.exp(-0.5 * (c + b) ** 2)
    return c, (p - m) / (p + m)


def _sd_operator(k: int, t: int) -> np.ndarray:
    """``G`` with ``δ = s·t + G d`` for ``δ_0 = 0``, slope ``s = δ_1 − δ_0`` and second differences ``d``.

    Rows: the ``k + t`` non-reference periods; columns: the ``k + t − 1`` interior second differences
    of the whole sequence ``(δ_{−k}, …, δ_{−1}, δ_0, δ_1, …, δ_t)``.
    """
    n = k + t + 1
    op = np.zeros((n, n))
    for j in range(1, n - 1):
        op[j - 1, j - 1 : j + 2] = (1.0, -2.0, 1.0)
    op[n - 2, k] = 1.0  # δ_0 = 0
    op[n - 1, k], op[n - 1, k + 1] = -1.0, 1.0  # slope δ_1 − δ_0
    g = np.linalg.solve(op, np.eye(n))[:, : n - 2]
    return np.delete(g, k, axis=0)


class FLCI(NamedTuple):
    """An FLCI: estimate ``v'β̂``, half-length, the estimator's sd and worst-case bias, weights ``v``."""

    lb: float
    ub: float
    estimate: float
    half_length: float
    sd: float
    max_bias: float
    weights: np.ndarray


def _flci(b: np.ndarray, s: np.ndarray, k: int, t: int, lv: np.ndarray, m_bound: float, alpha: float) -> FLCI:
    g = _sd_operator(k, t)
    a_pre, c_post = g[:k].T, g[k:].T @ lv  # max bias = M·‖a_pre v + c_post‖₁
    # Second differences after the reference move only δ_post (their weights are l's alone); those
    # at and before it move only δ_pre. Only the latter k terms depend on v_pre.
    free = np.abs(a_pre).max(axis=1) > 1e-9
    if free.sum() != k:  # pragma: no cover - a property of _sd_operator
        raise RuntimeError("unexpected structure of the second-difference operator")
    fixed = float(np.abs(c_post[~free]).sum())
    a_pre, c_post = a_pre[free], c_post[free]
    t_pre = np.arange(-k, 0, dtype=float)
    rhs = -float(np.arange(1, t + 1) @ lv)  # t_pre'v = rhs neutralises linear trends
    s_pp, s_pq, s_qq = s[:k, :k], s[:k, k:] @ lv, float(lv @ s[k:, k:] @ lv)
    v_part = t_pre * rhs / float(t_pre @ t_pre)
    null = np.linalg.svd(t_pre[None, :])[2][1:].T  # k × (k − 1), orthonormal, ⟂ t_pre

    def variance(v: np.ndarray) -> float:
        return float(v @ s_pp @ v + 2 * v @ s_pq + s_qq)

    # M = 0: generalised least squares over the trend-neutral weights.
    if k > 1:
        h = null.T @ s_pp @ null
        w0 = np.linalg.lstsq(h, -null.T @ (s_pp @ v_part + s_pq), rcond=None)[0]
    else:
        w0 = np.zeros(0)
    s0 = math.sqrt(max(variance(v_part + null @ w0), 0.0)) or 1.0

    def half_length(w: np.ndarray) -> tuple[float, float, float]:
        v = v_part + null @ w
        sd = math.sqrt(max(variance(v), 0.0))
        bias = m_bound * (fixed + float(np.abs(a_pre @ v + c_post).sum()))
        if sd <= 1e-300:
            return bias, sd, bias
        return sd * _cv_alpha(bias / sd, alpha)[0], sd, bias

    best = w0
    if m_bound > 0 and k > 1:
        best = _flci_optimise(
            a_pre,
            c_post,
            fixed,
            v_part,
            null,
            s_pp / s0**2,
            s_pq / s0**2,
            s_qq / s0**2,
            m_bound / s0,
            alpha,
            w0,
            half_length,
        )
    hl, sd, bias = half_length(best)
    v = np.concatenate([v_part + null @ best, lv])
    est = float(v @ b)
    return FLCI(est - hl, est + hl, est, hl, sd, bias, v)


def _flci_optimise(a_pre, c_post, fixed, v_part, null, s_pp, s_pq, s_qq, m_scaled, alpha, w0, half_length):
    """Minimise ``sd·cv(M(fixed + ‖a v + c‖₁)/sd)`` over trend-neutral ``v = v_part + null·w``.

    ``sigma`` and ``M`` arrive scaled so that the ``M = 0`` optimum has sd 1; ``u`` bounds ``|a v + c|``.
    """
    nw, nu = null.shape[1], a_pre.shape[0]
    an, a0 = a_pre @ null, a_pre @ v_part + c_post

    def parts(z: np.ndarray) -> tuple[float, np.ndarray]:
        w, u = z[:nw], z[nw:]
        v = v_part + null @ w
        var = float(v @ s_pp @ v + 2 * v @ s_pq + s_qq)
        sd = math.sqrt(max(var, 1e-300))
        bias = m_scaled * (fixed + float(u.sum()))
        c, dc = _cv_alpha(bias / sd, alpha)
        grad_sd = null.T @ (s_pp @ v + s_pq) / sd
        grad = np.concatenate([(c - bias / sd * dc) * grad_sd, np.full(nu, m_scaled * dc)])
        return sd * c, grad

    cons = [
        {"type": "ineq", "fun": lambda z: z[nw:] - (an @ z[:nw] + a0), "jac": lambda z: np.hstack([-an, np.eye(nu)])},
        {"type": "ineq", "fun": lambda z: z[nw:] + (an @ z[:nw] + a0), "jac": lambda z: np.hstack([an, np.eye(nu)])},
    ]
    starts = [w0]
    # Minimum worst-case bias: min ‖an w + a0‖₁ as a linear programme in (w, u).
    lp = optimize.linprog(
        np.concatenate([np.zeros(nw), np.ones(nu)]),
        A_ub=np.block([[an, -np.eye(nu)], [-an, -np.eye(nu)]]),
        b_ub=np.concatenate([-a0, a0]),
        bounds=[(None, None)] * nw + [(0, None)] * nu,
        method="highs",
    )
    if lp.status == 0:
        starts.append(lp.x[:nw])
    best, best_hl = w0, half_length(w0)[0]
    for w_start in starts:
        z0 = np.concatenate([w_start, np.abs(an @ w_start + a0) * (1 + 1e-9) + 1e-12])
        f0 = max(parts(z0)[0], 1e-12)
        res = optimize.minimize(
            lambda z, f0=f0: tuple(x / f0 for x in parts(z)),
            z0,
            jac=True,
            method="SLSQP",
            constraints=cons,
            options={"ftol": 1e-10, "maxiter": 500},
        )
        for w in (res.x[:nw], w_start):
            hl = half_length(w)[0]
            if hl < best_hl:
                best, best_hl = w, hl
    return best


def sd_flci(
    betahat: Any,
    sigma: Any,
    num_pre: int,
    num_post: int,
    l_vec: Any = None,
    M: float = 0.0,
    alpha: float = 0.05,
) -> tuple[float, float]:
    """The optimal fixed-length confidence interval for ``θ = l'τ_post`` under ΔSD(M).

    ``betahat`` (``num_pre + num_post`` coefficients, earliest pre-period first, reference period
    omitted), its covariance ``sigma``, and ``l_vec`` (default: the average post-period effect).
    ``M ≥ 0`` bounds the change in slope of the differential trend between consecutive periods, in
    the outcome's units per period². Needs ``num_pre ≥ 1``: at least one pre-period is required to
    estimate, and remove, a linear differential trend. Returns ``(lb, ub)``.
    """
    b, s, k, t, lv = _inputs(
        betahat, sigma, num_pre, num_post, l_vec, pre_why="ΔSD needs a pre-period to estimate and remove a linear trend"
    )
    res = _flci(b, s, k, t, lv, _bound("M", M), _level(alpha))
    return res.lb, res.ub


# --------------------------------------------------------------------------------------------
# ΔRM: the conditional-least-favourable hybrid of ARP for each polyhedron
# --------------------------------------------------------------------------------------------


class _Polyhedron(NamedTuple):
    """The ARP problem for one polyhedron P(s, ±): moments ``Y = Aβ̂`` and the linear forms of η̂."""

    y: np.ndarray  # moments A β̂, (2T,)
    a: np.ndarray  # moment matrix A, (2T, K+T)
    u: np.ndarray  # g_k'Y for each form, (F,)
    h: np.ndarray  # θ coefficient of each form, (F,)
    g: np.ndarray  # form weights, (F, 2T)
    var: np.ndarray  # variance of g_k'Y, (F,)
    cov: np.ndarray  # covariance of the forms, (F, F)
    lf_cv: float  # least-favourable critical value (η units)


def _first_differences(k: int, t: int) -> np.ndarray:
    """Rows: the ``k + t`` steps ``δ_{j+1} − δ_j`` (pre steps, the step into δ_0 last, then post) as maps of δ."""
    n = k + t + 1
    d = np.zeros((n - 1, n))
    for j in range(n - 1):
        d[j, j], d[j, j + 1] = -1.0, 1.0
    return np.delete(d, k, axis=1)


def _rm_forms(k: int, t: int, lv: np.ndarray, mbar: float, step: int, sign: float, s: np.ndarray):
    """Moment matrix ``A`` and the forms ``(g, h)`` with ``η̂(θ) = max_k g_k'Aβ̂ + h_k θ`` for P(step, sign)."""
    d = _first_differences(k, t)
    post, pre = d[k:], d[step]
    a = np.vstack([post - sign * mbar * pre, -post - sign * mbar * pre])  # rows t+, then t−
    sd = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", a, s, a), 0.0))
    if not np.all(sd > 1e-12 * max(float(sd.max()), 1e-300)):
        raise ValueError("sigma gives a ΔRM moment zero variance; the ARP test needs moments with positive variance")
    p, q = sd[:t], sd[t:]
    big = np.cumsum(lv[::-1])[::-1]  # L_j = Σ_{t ≥ j} l_t, so θ = Σ L_j (τ_j − τ_{j−1})
    big = np.where(np.abs(big) <= 1e-14 * np.abs(big).max(), 0.0, big)
    pos, neg = big > 0, big < 0
    cap_p = float(big[pos] @ p[pos] - big[neg] @ q[neg])
    cap_q = float(big[pos] @ q[pos] - big[neg] @ p[neg])
    g = np.zeros((t + 2, 2 * t))
    g[0, :t][pos] = big[pos] / cap_p  # θ too low:  (Σ|L_j| y_{j,sgn L_j} − θ)/P
    g[0, t:][neg] = -big[neg] / cap_p
    g[1, t:][pos] = big[pos] / cap_q  # θ too high: (Σ|L_j| y_{j,−sgn L_j} + θ)/Q
    g[1, :t][neg] = -big[neg] / cap_q
    idx = np.arange(t)
    g[2 + idx, idx] = g[2 + idx, t + idx] = 1.0 / (p + q)  # interval for step j empty
    h = np.zeros(t + 2)
    h[0], h[1] = -1.0 / cap_p, 1.0 / cap_q
    return a, g, h


def _rm_polyhedron(b, s, k, t, lv, mbar, step, sign, kappa, draws, lf_cv=None) -> _Polyhedron:
    a, g, h = _rm_forms(k, t, lv, mbar, step, sign, s)
    y = a @ b
    cov = g @ (a @ s @ a.T) @ g.T
    if lf_cv is None:
        lf_cv = _lf_critical_value(cov, kappa, draws)
    return _Polyhedron(y, a, g @ y, h, g, np.diag(cov).copy(), cov, float(lf_cv))


def _lf_draws(forms: int, sims: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The fixed random numbers of the least-favourable simulation, per form: stratified uniforms, normals."""
    rng = np.random.default_rng(seed)
    cells = np.argsort(rng.random((forms, sims)), axis=1)  # a random permutation of the cells per form
    unif = (cells + rng.random((forms, sims))) / sims  # one uniform in each cell [i/sims, (i+1)/sims)
    return unif, rng.standard_normal((forms, sims, forms))


def _lf_critical_value(cov: np.ndarray, kappa: float, draws: tuple[np.ndarray, np.ndarray]) -> float:
    """The ``1 − κ`` quantile of ``max_k W_k``, ``W ~ N(0, cov)``: η̂ under the least-favourable null.

    Under the least-favourable null every moment binds, so ``η̂ = max_k g_k'ξ`` with ``ξ ~ N(0, Σ_Y)``
    (θ and the nuisance drop out). Its upper tail is a union of half-space events, estimated with
    the ALOE importance sampler (Owen, Maximov & Chertkov 2019, arXiv:1710.06965): with
    ``A_k = {W_k > c₀}``, ``P(max W > c) = Σ_k P(A_k)·E[1{max W > c}/#{j : A_j} | A_k]`` for every
    ``c ≥ c₀``. ``P(A_k)`` is exact; ``sims`` draws from each conditional law (``W_k`` from its
    normal tail by inversion of a stratified uniform, the other forms from their regression on
    ``W_k``) give the tail at every ``c ≥ c₀`` at once, and the quantile is read off the weighted
    draws. ``c₀ = max_k sd_k·z_{1−κ}`` lies below the quantile (``P(max W > c₀) ≥ max_k P(A_k) =
    κ``). Accuracy: about 0.1–0.2% of the quantile with 1,000 draws per form (plain simulation at
    κ = 0.005 needs ~10⁶ draws for that).
    Forms with zero variance are identically 0 and never exceed ``c₀ > 0``.
    """
    sd = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    if sd.max() <= 0:
        return 0.0
    act = sd > math.sqrt(_ZERO_VAR) * sd.max()
    c_act, sd = cov[np.ix_(act, act)], sd[act]
    f = sd.size
    unif, normals = draws[0][:f], draws[1][:f, :, :f]
    sims = unif.shape[1]
    w, vecs = np.linalg.eigh(c_act)
    z = normals @ (vecs * np.sqrt(np.clip(w, 0.0, None))).T  # W ~ N(0, C), per stratum
    slope = c_act / np.diag(c_act)[None, :]  # column k: regression of W on W_k
    own = np.arange(f)
    c0 = float(sd.max() * special.ndtri(1 - kappa))
    p = special.ndtr(-c0 / sd)  # P(A_k)
    wk = -sd[:, None] * special.ndtri(unif * p[:, None])  # W_k | W_k > c₀
    x = z + (wk - z[own, :, own])[:, :, None] * slope.T[:, None, :]
    x[own, :, own] = wk
    hits = np.maximum((x > c0).sum(axis=2), 1)  # ≥ 1: W_k > c₀ in stratum k
    top = x.max(axis=2).ravel()
    weight = (p[:, None] / (sims * hits)).ravel()
    order = np.argsort(-top)
    tail = np.cumsum(weight[order])  # tail[j] = estimated P(max W ≥ top[order[j]])
    j = int(np.searchsorted(tail, kappa))  # first point whose tail exceeds κ
    if j >= tail.size:  # the estimate of P(max W > c₀) fell below κ: c₀ is the quantile
        return c0
    upper = top[order[j - 1]] if j > 0 else top[order[0]]
    lower = top[order[j]]
    before = tail[j - 1] if j > 0 else 0.0
    share = (kappa - before) / (tail[j] - before) if tail[j] > before else 1.0
    return float(max(upper - share * (upper - lower), c0))


def _tn_quantile(p: float, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The ``p`` quantile of N(0, 1) truncated to ``[lo, hi]``, stable in both tails."""
    with np.errstate(divide="ignore", invalid="ignore"):
        upper = lo >= 0
        log_sf = np.logaddexp(math.log1p(-p) + special.log_ndtr(-lo), math.log(p) + special.log_ndtr(-hi))
        log_cdf = np.logaddexp(math.log1p(-p) + special.log_ndtr(lo), math.log(p) + special.log_ndtr(hi))
        q = np.where(upper, -special.ndtri_exp(np.minimum(log_sf, 0.0)), special.ndtri_exp(np.minimum(log_cdf, 0.0)))
    return np.clip(q, lo, hi)


class _Conditional(NamedTuple):
    """ARP's conditional quantities at each θ₀: ``η̂``, sd of the selected form, ``[V_lo, V_up]`` (η units)."""

    eta: np.ndarray
    sd: np.ndarray
    v_lo: np.ndarray
    v_up: np.ndarray
    deterministic: np.ndarray  # the selected form has zero variance


def _rm_conditional(poly: _Polyhedron, theta: np.ndarray) -> _Conditional:
    """``η̂(θ₀)``, the selected dual vertex's sd and the truncation points of ARP's conditional test.

    The form ``k`` attaining ``η̂`` stays the maximum along ``Y(c) = S + b·c`` (``c = g_k'Y``,
    ``b = Σ_Y g_k/σ_k²``, ``S`` independent of ``c``) iff for every other form ``j``
    ``(g_j'b − 1)·c ≤ (h_k − h_j)θ₀ − g_j'S``; forms with ``g_j'b = 1`` (duplicates, ties) do not
    bound ``c``. ``V_lo``/``V_up`` are the resulting bounds shifted to ``η = c + h_k θ₀``.
    """
    theta = np.atleast_1d(np.asarray(theta, dtype=float))
    vals = poly.u[:, None] + poly.h[:, None] * theta[None, :]
    sel = np.argmax(vals, axis=0)
    eta = vals[sel, np.arange(theta.size)]
    var_k = poly.var[sel]
    deterministic = var_k <= _ZERO_VAR * max(float(poly.var.max()), 1e-300)
    safe_var = np.where(deterministic, 1.0, var_k)
    m = poly.cov[:, sel] / safe_var[None, :]  # g_j'b
    gs = poly.u[:, None] - m * poly.u[sel][None, :]  # g_j'S
    r = (poly.h[sel][None, :] - poly.h[:, None]) * theta[None, :] - gs
    coef = m - 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        bound = r / coef
    c_lo = np.max(np.where(coef < -_UNIT_TOL, bound, -np.inf), axis=0)
    c_up = np.min(np.where(coef > _UNIT_TOL, bound, np.inf), axis=0)
    shift = poly.h[sel] * theta
    return _Conditional(eta, np.sqrt(safe_var), c_lo + shift, c_up + shift, deterministic)


def _rm_reject(poly: _Polyhedron, theta: np.ndarray, alpha: float, kappa: float) -> np.ndarray:
    """Whether the conditional-least-favourable hybrid rejects ``θ₀ = theta`` (vector) for one polyhedron."""
    cond = _rm_conditional(poly, theta)
    first = cond.eta > poly.lf_cv  # first stage: least-favourable test at level κ
    z = cond.eta / cond.sd
    z_lo = cond.v_lo / cond.sd
    z_up = np.minimum(cond.v_up, poly.lf_cv) / cond.sd  # hybrid: condition also on passing the first stage
    alpha_2 = (alpha - kappa) / (1 - kappa)
    inside = (z >= z_lo - 1e-9) & (z <= z_up + 1e-9) & (z_lo < z_up)  # outside: numerical failure, accept (as R)
    cv = np.maximum(0.0, _tn_quantile(1 - alpha_2, np.where(inside, z_lo, 0.0), np.where(inside, z_up, 1.0)))
    second = inside & (z > cv)
    eta_tol = 1e-12 * max(1.0, float(np.abs(poly.u).max()))
    return np.where(cond.deterministic, first | (cond.eta > eta_tol), first | second)


def _rm_accepted(poly: _Polyhedron, alpha: float, kappa: float, grid_points: int) -> tuple[float, float] | None:
    """``[min, max]`` of the accepted ``θ`` for one polyhedron, or None when all are rejected."""
    lf = poly.lf_cv
    if np.any(poly.u[2:] > lf):  # some step's interval is empty at level lf: the first stage rejects every θ
        return None
    th_min = (poly.u[0] - lf) / -poly.h[0]  # "θ too low" form equals lf
    th_max = (lf - poly.u[1]) / poly.h[1]  # "θ too high" form equals lf
    if not th_min <= th_max:
        return None
    th_mid = (poly.u[0] - poly.u[1]) / (poly.h[1] - poly.h[0])  # where η̂ is smallest
    grid = np.unique(np.concatenate([np.linspace(th_min, th_max, grid_points), [th_mid]]))
    acc = ~_rm_reject(poly, grid, alpha, kappa)
    if not acc.any():
        return None
    i0, i1 = int(np.argmax(acc)), int(len(acc) - 1 - np.argmax(acc[::-1]))
    lo = grid[i0] if i0 == 0 else _refine(poly, grid[i0 - 1], grid[i0], alpha, kappa)
    hi = grid[i1] if i1 == len(grid) - 1 else _refine(poly, grid[i1 + 1], grid[i1], alpha, kappa)
    return float(lo), float(hi)


def _refine(poly: _Polyhedron, rejected: float, accepted: float, alpha: float, kappa: float) -> float:
    """The accepted end of a rejected → accepted transition, located to ~1e-6 of the initial gap."""
    for _ in range(4):
        pts = np.linspace(rejected, accepted, 33)
        acc = ~_rm_reject(poly, pts, alpha, kappa)
        j = int(np.argmax(acc))  # first accepted point walking from the rejected end (acc[-1] is True)
        if j == 0:
            return float(rejected)
        rejected, accepted = pts[j - 1], pts[j]
    return float((rejected + accepted) / 2)


def rm_ci(
    betahat: Any,
    sigma: Any,
    num_pre: int,
    num_post: int,
    l_vec: Any = None,
    Mbar: float = 0.0,
    alpha: float = 0.05,
    *,
    grid_points: int = 1000,
    lf_sims: int = 1000,
    seed: int = 0,
    theta_grid: Any = None,
) -> tuple[float, float]:
    """The robust confidence set for ``θ = l'τ_post`` under ΔRM(M̄), by the ARP hybrid test.

    Inputs as for :func:`sd_flci`. ``Mbar ≥ 0`` bounds each post-period step of the differential
    trend by ``Mbar`` times the largest pre-period step (the step into the reference period
    included). Needs ``num_pre ≥ 1``: ΔRM needs at least one pre-period step, and ``δ_0 − δ_{−1}``
    is one. Returns ``(lb, ub)``, the hull of the union over polyhedra; ``(nan, nan)`` if every θ is
    rejected.

    ``grid_points``: θ values tested per polyhedron before the boundaries are refined. ``lf_sims``
    and ``seed``: draws per form for the least-favourable critical value and their seed (fixed, so
    results are deterministic). ``theta_grid``: test exactly these θ values instead (no refinement)
    and return the smallest and largest accepted one, the R package's convention.
    """
    b, s, k, t, lv = _inputs(
        betahat, sigma, num_pre, num_post, l_vec, pre_why="ΔRM needs at least one pre-period step; δ_0 − δ_−1 is one"
    )
    mbar, a = _bound("Mbar", Mbar), _level(alpha)
    if int(grid_points) < 10 or int(lf_sims) < 100:
        raise ValueError("grid_points must be at least 10 and lf_sims at least 100")
    kappa = a / 10
    draws = _lf_draws(t + 2, int(lf_sims), int(seed))
    if theta_grid is not None:
        theta = np.asarray(theta_grid, dtype=float).reshape(-1)
        if theta.size == 0 or not np.all(np.isfinite(theta)):
            raise ValueError("theta_grid must be a non-empty vector of finite values")
    lows, highs = [], []
    for step in range(k):
        lf_cv = None  # P(step, −) is P(step, +) reflected (δ → −δ): same least-favourable law
        for sign in (1.0, -1.0):
            poly = _rm_polyhedron(b, s, k, t, lv, mbar, step, sign, kappa, draws, lf_cv)
            lf_cv = poly.lf_cv
            if theta_grid is not None:
                acc = theta[~_rm_reject(poly, theta, a, kappa)]
                got = (float(acc.min()), float(acc.max())) if acc.size else None
            else:
                got = _rm_accepted(poly, a, kappa, int(grid_points))
            if got is not None:
                lows.append(got[0])
                highs.append(got[1])
    if not lows:
        return math.nan, math.nan
    return min(lows), max(highs)


# --------------------------------------------------------------------------------------------
# Sensitivity analysis and breakdown values
# --------------------------------------------------------------------------------------------


def _excludes_zero(ci: tuple[float, float]) -> bool:
    lb, ub = ci
    if math.isnan(lb):  # empty set
        return True
    return lb > 0 or ub < 0


def _breakdown(
    ci_at, grid: Sequence[float], cis: Sequence[tuple[float, float]], *, rel_tol: float, doublings: int
) -> float:
    """Largest bound at which the set excludes 0, by bisection between the last excluding and first including value.

    The search starts from the grid results; if no grid value includes 0, the largest grid value
    is doubled (up to ``doublings`` times; from 1 if the grid is all zero) until one does, and
    ``math.inf`` means the set still excluded 0 at that search bound.
    """
    pairs = sorted(zip(grid, cis, strict=True))
    if 0.0 not in [g for g, _ in pairs]:
        pairs.insert(0, (0.0, ci_at(0.0)))
    if not _excludes_zero(pairs[0][1]):
        return 0.0
    lo, hi = 0.0, None
    for g, ci in pairs:
        if _excludes_zero(ci):
            lo = g
        else:
            hi = g
            break
    if hi is None:
        hi = 2 * lo if lo > 0 else 1.0
        for _ in range(doublings):
            if not _excludes_zero(ci_at(hi)):
                break
            lo, hi = hi, 2 * hi
        else:
            return math.inf
    while hi - lo > rel_tol * hi:
        mid = (lo + hi) / 2
        if _excludes_zero(ci_at(mid)):
            lo = mid
        else:
            hi = mid
    return float(lo)


def sensitivity(
    betahat: Any,
    sigma: Any,
    num_pre: int,
    num_post: int,
    *,
    l_vec: Any = None,
    M_grid: Sequence[float],
    Mbar_grid: Sequence[float],
    alpha: float = 0.05,
    rel_tol: float = 1e-3,
    doublings: int = 30,
) -> dict[str, Any]:
    """Robust sets over grids of ``M`` (ΔSD, FLCI) and ``M̄`` (ΔRM, hybrid), and both breakdown values.

    Returns a dict with

    * ``original``: ``{"lb", "ub"}``, the conventional interval under exact parallel trends;
    * ``sd``: ``[{"M", "lb", "ub"}, …]`` and ``rm``: ``[{"Mbar", "lb", "ub"}, …]``, in grid order;
    * ``breakdown_sd`` / ``breakdown_rm``: the largest ``M`` (``M̄``) at which the robust set still
      excludes 0, located by bisection to a relative precision ``rel_tol`` (the value returned is the
      largest one verified to exclude 0). ``None`` when the conventional interval already includes
      0; ``0.0`` when it excludes 0 but the robust set at ``M = 0`` (``M̄ = 0``) does not (the
      ``M = 0`` FLCI removes a linear trend, so it can); ``math.inf`` when the set still excludes 0
      at the search bound, the largest grid value doubled ``doublings`` times;
    * ``sd_unit``: what ``M`` measures; ``alpha`` and ``l_vec`` as used.
    """
    b, s, k, t, lv = _inputs(
        betahat, sigma, num_pre, num_post, l_vec, pre_why="ΔSD and ΔRM need at least one pre-period"
    )
    a = _level(alpha)
    ms = [_bound("M", m) for m in M_grid]
    mbars = [_bound("Mbar", m) for m in Mbar_grid]
    original = conventional_ci(b, s, k, t, lv, a)

    def sd_at(m: float) -> tuple[float, float]:
        return sd_flci(b, s, k, t, lv, m, a)

    def rm_at(m: float) -> tuple[float, float]:
        return rm_ci(b, s, k, t, lv, m, a)

    sd_cis = [sd_at(m) for m in ms]
    rm_cis = [rm_at(m) for m in mbars]
    significant = _excludes_zero(original)
    kw = {"rel_tol": rel_tol, "doublings": doublings}
    return {
        "original": {"lb": original[0], "ub": original[1]},
        "sd": [{"M": m, "lb": ci[0], "ub": ci[1]} for m, ci in zip(ms, sd_cis, strict=True)],
        "rm": [{"Mbar": m, "lb": ci[0], "ub": ci[1]} for m, ci in zip(mbars, rm_cis, strict=True)],
        "breakdown_sd": _breakdown(sd_at, ms, sd_cis, **kw) if significant else None,
        "breakdown_rm": _breakdown(rm_at, mbars, rm_cis, **kw) if significant else None,
        "sd_unit": SD_UNIT,
        "alpha": a,
        "l_vec": lv.tolist(),
    }
