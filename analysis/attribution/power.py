"""Minimum detectable effects (MDE): analytic, and by simulation for any design.

The MDE of a design is the smallest *true* effect that a two-sided test at level ``alpha`` would
detect (reject "no effect") in a share ``power`` of repeated samples. A result that is "not
significant" is only informative about effects at least as large as the MDE: smaller effects could
be present and the design would usually miss them.

Two routes:

* :func:`analytic_mde` — the textbook formula, valid when the estimator is approximately normal
  and its standard error is estimated consistently (see its docstring);
* :func:`simulated_mde` — for designs where no such formula holds (synthetic control, permutation
  inference): simulate the design with a known effect, count how often it detects it
  (:func:`simulated_power`), and search for the smallest effect whose detection rate reaches the
  target power.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy import stats

#: A detector: given a true effect and a random generator, simulate one data set with that effect,
#: run the design's test on it and say whether it rejected "no effect".
Detector = Callable[[float, np.random.Generator], bool]


def analytic_mde(se: float, alpha: float, power: float, df: float | None = None) -> float:
    """The minimum detectable effect of a two-sided test: ``(q(1 − alpha/2) + q(power)) · se``.

    ``q`` is the standard normal quantile function, or Student's t with ``df`` degrees of freedom
    when ``df`` is given. The result is the true effect that a two-sided test at level ``alpha``
    detects with probability ``power`` (ignoring the negligible chance of rejecting with the wrong
    sign), on the scale of ``se``.

    The formula is valid when

    * the estimator is (approximately) normal and unbiased, so that ``estimate / se`` is
      approximately N(effect / se, 1) (or t with ``df`` degrees of freedom), and
    * ``se`` is a consistent estimate of the estimator's true standard error, and would be about
      the same had the true effect been the MDE (the effect shifts the estimate, not its spread).

    When either fails — few observations with autocorrelated errors, permutation p-values, a
    small donor pool — use :func:`simulated_mde` instead.
    """
    if not se >= 0 or not math.isfinite(se):
        raise ValueError(f"the standard error must be finite and non-negative, got {se!r}")
    if not 0 < alpha < 1 or not 0 < power < 1:
        raise ValueError(f"alpha and power must lie in (0, 1), got alpha={alpha!r}, power={power!r}")
    dist = stats.norm if df is None else stats.t(df)
    return float((dist.ppf(1 - alpha / 2) + dist.ppf(power)) * se)


def simulated_power(detect: Detector, effect: float, n: int, seed: int) -> float:
    """The share of ``n`` simulated data sets with true effect ``effect`` in which ``detect`` rejects.

    Replicate ``i`` always receives the same random stream (the ``i``-th child of ``seed``), whatever
    the effect: comparisons between effects use common random numbers, so the estimated power is
    deterministic and, for a detector whose rejection is monotone in the effect, monotone in the
    effect as well.
    """
    if n < 1:
        raise ValueError(f"need at least one simulation, got n={n}")
    streams = np.random.SeedSequence(seed).spawn(n)
    hits = sum(bool(detect(effect, np.random.default_rng(s))) for s in streams)
    return hits / n


def smallest_effect(
    power_at: Callable[[float], float],
    power: float,
    *,
    scale: float,
    rel_tol: float = 0.01,
    max_doublings: int = 30,
) -> float:
    """The smallest effect ``e ≥ 0`` with ``power_at(e) ≥ power``, for a power curve rising in ``e``.

    The upper end of the bracket starts at ``scale`` — a rough guess at the answer, such as the
    estimator's standard error — and doubles until the power is reached; the bracket is then
    halved until its width is within ``rel_tol`` of its upper end, and the upper end (an effect
    known to reach the power) is returned. ``power_at`` must be deterministic (simulate with a
    fixed seed). Returns 0.0 when a zero effect already reaches the power (a badly over-sized
    test), and ``math.inf`` when no effect up to ``scale · 2**(max_doublings − 1)`` reaches it.
    """
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale!r}")
    if not 0 < power < 1:
        raise ValueError(f"power must lie in (0, 1), got {power!r}")
    if power_at(0.0) >= power:
        return 0.0
    low, high = 0.0, scale
    for _ in range(max_doublings):
        if power_at(high) >= power:
            break
        low, high = high, 2 * high
    else:
        return math.inf
    while high - low > rel_tol * high:
        mid = (low + high) / 2
        if power_at(mid) >= power:
            high = mid
        else:
            low = mid
    return high


def simulated_mde(
    detect: Detector,
    *,
    power: float,
    n: int,
    seed: int,
    scale: float,
    rel_tol: float = 0.01,
    max_doublings: int = 30,
) -> float:
    """The smallest effect whose simulated detection rate (:func:`simulated_power`) reaches ``power``.

    Effects are searched on ``[0, ∞)`` by :func:`smallest_effect` (the detector is expected to
    test two-sided, so the sign of the effect does not matter; ``scale`` is a rough guess at the
    MDE). The significance level lives inside ``detect``. Every evaluation uses the same ``seed``
    (common random numbers), so the search is deterministic and the simulated power curve it
    bisects is monotone for a detector that is monotone in the effect.
    """
    return smallest_effect(lambda effect: simulated_power(detect, effect, n, seed), power, scale=scale,
                           rel_tol=rel_tol, max_doublings=max_doublings)
