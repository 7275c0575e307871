"""Inference for regressions on short, persistent annual series: fixed-b HAC statistics calibrated
by a prepivoted AR(1) parametric bootstrap.

The problem. The interrupted time series fits a trend regression to 12–41 annual points whose
errors are strongly autocorrelated (the residuals' AR(1) coefficient is near 1 for several of the
book's series). Textbook Newey–West inference is badly over-sized there, and so is a bootstrap
that plugs in an estimate of the autocorrelation: with 17 points and AR(1) errors with φ = 0.9 a
plug-in AR(1) bootstrap of the slope-change test rejects a true null in about 15% of series at a
nominal 5%. Three established devices, used together, bring the size back to about 5% where that is
possible, and :func:`Engine.size_at` says where it is not:

1. **Fixed-b HAC statistics** (Kiefer & Vogelsang 2005). The long-run variance is estimated with
   the Bartlett kernel and a bandwidth equal to the sample size (b = 1), which makes the
   statistic's null distribution far less sensitive to the strength of the autocorrelation than
   a small-bandwidth Newey–West statistic. Its reference distribution is not the fixed-b
   asymptotic one (these samples are too short and trend regressors change it) but is simulated.
2. **An AR(1) parametric bootstrap with a median-unbiased coefficient** (Andrews 1993). The
   residuals' lag-1 autocorrelation is biased towards zero in short trend regressions; the φ whose
   simulated residuals have that median lag-1 autocorrelation *for this design* is median-unbiased.
   Reference distributions are simulated for every φ on a grid (``grid``: from a negative value to
   1, the random walk, included), with the same innovations at every φ, so every quantity is
   smooth and monotone in φ and is read off by linear interpolation.
3. **Prepivoting** (Beran 1987, 1988; the iterated bootstrap of Davison & Hinkley 1997, §3.9). The
   plug-in p-value ignores that φ was estimated. A second, independent set of draws at every grid φ
   gives the distribution of the plug-in p-value itself (each draw with its own estimated φ); the
   calibrated p-value is the share of those plug-in p-values at or below the observed one, at the
   observed series' φ. It is what a test at this design and this persistence actually delivers.

Where even that is not enough. With few points and near-unit-root errors no method based on one
series can keep the size: the estimated φ is too uncertain. A third independent set of draws
measures the calibrated test's size at every grid φ (:meth:`Engine.size_at`); a design's series is
flagged by the interrupted time series' persistence check when its estimated φ lies where that size
exceeds the tolerance in the settings. ``tests/attribution/test_its.py`` measures size at φ = 0.3, 0.6, 0.9 and
a random walk with 12 and 29 pre-event years.

Everything depends only on the design matrix, the contrasts, the draws and the seed, never on the
data, so an :class:`Engine` is built once per design (:func:`engine`, cached) and serves every
series observed on the same years — the 32 councils and Scotland share one.

Statistics. For a scalar contrast ``c'b`` (``c`` a row of the OLS projection): ``|c'b| / se`` with
``se² = Σ_t Σ_s a_t a_s k(|t − s|)``, ``a_t = c_t û_t``, Bartlett weights ``k(j) = 1 − j/n``. For a
joint hypothesis on several contrasts, the Wald statistic ``b' V⁻¹ b`` with the same kernel. Both are
invariant to the error variance, so the bootstrap needs only φ.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

#: The size set (simulated sizes and powers) has this many times the draws of the other two, so that
#: the persistence check's comparison of a simulated size with its tolerance is not decided by noise.
SIZE_SET_FACTOR = 4


def ar1_draws(innovations: np.ndarray, phi: float) -> np.ndarray:
    """AR(1) series (one per row) driven by ``innovations``: stationary for |φ| < 1, a random walk at 1."""
    e = np.array(innovations, dtype=float, copy=True)
    if abs(phi) < 1:
        e[..., 0] /= np.sqrt(1 - phi**2)  # stationary start; a random walk or an explosive series starts at 0
    return lfilter([1.0], [1.0, -phi], e, axis=-1)


def lag1(u: np.ndarray) -> np.ndarray:
    """Lag-1 autocorrelation of each row of ``u`` (0 for a row of zeros)."""
    num = (u[..., 1:] * u[..., :-1]).sum(-1)
    den = (u * u).sum(-1)
    return np.divide(num, den, out=np.zeros_like(num, dtype=float), where=den > 0)


def bartlett_weights(n: int) -> np.ndarray:
    """The n × n matrix of Bartlett weights with bandwidth n (fixed-b, b = 1): ``1 − |t − s| / n``."""
    lags = np.abs(np.subtract.outer(np.arange(n), np.arange(n)))
    return 1.0 - lags / n


@dataclass(frozen=True)
class Statistics:
    """Statistics of many series at once (rows): each contrast's estimate, HAC SE and |t|; each
    joint test's Wald statistic; the residuals' lag-1 autocorrelation."""

    estimate: dict[str, np.ndarray]
    se: dict[str, np.ndarray]
    t: dict[str, np.ndarray]
    wald: dict[str, np.ndarray]
    r1: np.ndarray

    def statistic(self, name: str) -> np.ndarray:
        """The test statistic called ``name``: |t| of a contrast, or a joint test's Wald statistic."""
        return self.t[name] if name in self.t else self.wald[name]


class Design:
    """A regression design with named contrasts and joint tests, and its fixed-b statistics."""

    def __init__(self, X: np.ndarray, contrasts: dict[str, np.ndarray], joint: dict[str, tuple[str, ...]]):
        X = np.asarray(X, dtype=float)
        n, k = X.shape
        if np.linalg.matrix_rank(X) < k:
            raise ValueError("the design matrix is rank deficient")
        if n <= k:
            raise ValueError(f"{n} observations cannot fit {k} coefficients with residual variation left")
        self.X = X
        self.n = n
        self.proj = np.linalg.pinv(X)  # rows: coefficients as linear maps of y
        self.rows = {name: np.asarray(c, dtype=float) @ self.proj for name, c in contrasts.items()}
        unknown = {m for members in joint.values() for m in members} - set(self.rows)
        if unknown:
            raise ValueError(f"joint tests name unknown contrasts {sorted(unknown)}")
        self.joint = {name: tuple(members) for name, members in joint.items()}
        self.weights = bartlett_weights(n)

    def residuals(self, y: np.ndarray) -> np.ndarray:
        return y - (y @ self.proj.T) @ self.X.T

    def _cov(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """``Σ_t Σ_s a_t b_s (1 − |t − s|/n)`` for each row, by partial sums: for scores that sum to zero
        (``a_t = c_t û_t`` with ``c`` a row of the OLS projection, so ``Σ a_t = c'û = 0``) it equals
        ``(2/n) Σ_{t<n} A_t B_t`` with ``A``, ``B`` the partial sums (Kiefer & Vogelsang 2005)."""
        sa, sb = np.cumsum(a, axis=-1)[..., :-1], np.cumsum(b, axis=-1)[..., :-1]
        return (2.0 / self.n) * (sa * sb).sum(-1)

    def statistics(self, y: np.ndarray) -> Statistics:
        """Fixed-b statistics of each row of ``y`` (or of the single series ``y``)."""
        y = np.atleast_2d(np.asarray(y, dtype=float))
        u = self.residuals(y)
        scores = {name: u * row for name, row in self.rows.items()}
        est = {name: y @ row for name, row in self.rows.items()}
        se = {name: np.sqrt(np.maximum(self._cov(a, a), 0.0)) for name, a in scores.items()}
        t = {name: np.abs(est[name]) / se[name] for name in self.rows}
        wald = {}
        for name, members in self.joint.items():
            b = np.stack([est[m] for m in members], axis=-1)
            v = np.empty((*b.shape[:-1], len(members), len(members)))
            for i, mi in enumerate(members):
                for j, mj in enumerate(members[i:], start=i):
                    v[..., i, j] = v[..., j, i] = self._cov(scores[mi], scores[mj])
            wald[name] = np.einsum("...i,...i->...", b, np.linalg.solve(v, b[..., None])[..., 0])
        return Statistics(est, se, t, wald, lag1(u))

    @property
    def tests(self) -> tuple[str, ...]:
        return (*self.rows, *self.joint)


def _bracket(grid: np.ndarray, phi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each φ, the index of the grid point at or below it and the interpolation weight of the next one."""
    idx = np.clip(np.searchsorted(grid, phi, side="right") - 1, 0, len(grid) - 2)
    w = np.clip((phi - grid[idx]) / (grid[idx + 1] - grid[idx]), 0.0, 1.0)
    return idx, w


def _interp_counts(sorted_rows: np.ndarray, values: np.ndarray, idx: np.ndarray, w: np.ndarray,
                   side: str) -> np.ndarray:
    """``searchsorted`` of each value in the sorted row of its grid point and the next, interpolated by ``w``.

    Only the two grid points around each item are searched, so the cost is linear in the items.
    """
    out = np.empty(len(values))
    for g in np.unique(idx):
        sel = idx == g
        v = values[sel]
        low = np.searchsorted(sorted_rows[g], v, side=side)
        high = np.searchsorted(sorted_rows[g + 1], v, side=side)
        out[sel] = (1 - w[sel]) * low + w[sel] * high
    return out


def _interp_rows(table: np.ndarray, grid: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """Linear interpolation in φ of per-grid values ``table`` (G × N, column i for item i) at ``phi`` (N)."""
    idx, w = _bracket(grid, phi)
    cols = np.arange(table.shape[1])
    return (1 - w) * table[idx, cols] + w * table[idx + 1, cols]


class Engine:
    """Reference distributions for one :class:`Design` on a grid of φ (module docstring).

    Three independent sets of ``draws`` standard-normal innovation rows (seeded by ``seed``):
    the reference set (plug-in p-values and the median lag-1 autocorrelation), the prepivoting set
    (the distribution of the plug-in p-value) and the size set (the calibrated test's size and the
    power behind the minimum detectable effect).
    """

    def __init__(self, design: Design, *, draws: int, grid: np.ndarray, seed: int, phi_quantile: float = 0.5):
        if draws < 99:
            raise ValueError(f"at least 99 bootstrap draws are needed, got {draws}")
        self.design = design
        self.grid = np.asarray(grid, dtype=float)
        if not (np.diff(self.grid) > 0).all() or self.grid[-1] > 1.2 or self.grid[0] <= -1:
            raise ValueError("the φ grid must be increasing, above −1 and end at or below 1.2")
        self.draws = draws
        streams = np.random.SeedSequence(seed).spawn(3)
        n = design.n
        # the size set is larger: the persistence check compares its rates with a tolerance
        self._innovations = [np.random.default_rng(s).standard_normal((k * draws, n))
                             for s, k in zip(streams, (1, 1, SIZE_SET_FACTOR), strict=True)]
        self._sets = [self._simulate(e) for e in self._innovations[:2]]
        self._size_table: dict[str, np.ndarray] = {}
        self._draw_crit: dict[tuple, np.ndarray] = {}
        ref = self._sets[0]
        # median lag-1 autocorrelation of the residuals at each φ, made non-decreasing for inversion
        self.inversion_r1 = np.maximum.accumulate(np.quantile(ref["r1"], phi_quantile, axis=1))
        self.median_r1 = np.maximum.accumulate(np.median(ref["r1"], axis=1))
        self._sorted = {name: np.sort(ref["stat"][name], axis=1) for name in design.tests}
        # prepivoting: each draw's plug-in p-value at its own estimated φ, sorted per grid point
        prepivot = self._sets[1]
        self._plugin_sorted = {name: np.sort(self._plugin_grid(prepivot, name), axis=1) for name in design.tests}

    def _simulate(self, innovations: np.ndarray) -> dict[str, object]:
        G, B = len(self.grid), len(innovations)
        errors = np.concatenate([ar1_draws(innovations, phi) for phi in self.grid])  # (G·B) × n
        st = self.design.statistics(errors)
        shape = (G, B)
        rss = (self.design.residuals(errors) ** 2).sum(axis=1).reshape(shape)
        return {
            "rss_mean": rss.mean(axis=1),
            "r1": st.r1.reshape(shape),
            "stat": {name: st.statistic(name).reshape(shape) for name in self.design.tests},
            "estimate": {name: v.reshape(shape) for name, v in st.estimate.items()},
            "se": {name: v.reshape(shape) for name, v in st.se.items()},
        }

    # -- the three steps -----------------------------------------------------------------------

    def phi_hat(self, r1: np.ndarray | float) -> np.ndarray:
        """The bootstrap's φ for observed lag-1 residual autocorrelations ``r1``: where ``r1`` is the
        ``phi_quantile`` quantile of the simulated residual autocorrelation (clipped to the grid)."""
        return np.interp(np.asarray(r1, dtype=float), self.inversion_r1, self.grid)

    def phi_median_unbiased(self, r1: np.ndarray | float) -> np.ndarray:
        """The median-unbiased φ (Andrews 1993) for observed lag-1 residual autocorrelations ``r1``."""
        return np.interp(np.asarray(r1, dtype=float), self.median_r1, self.grid)

    def plugin_p(self, name: str, stat: np.ndarray, phi: np.ndarray) -> np.ndarray:
        """Plug-in bootstrap p-values of statistics ``stat`` at AR(1) coefficients ``phi`` (arrays of N)."""
        stat, phi = np.atleast_1d(stat).astype(float), np.atleast_1d(phi).astype(float)
        idx, w = _bracket(self.grid, phi)
        below = _interp_counts(self._sorted[name], stat, idx, w, side="left")
        return (1 + self.draws - below) / (self.draws + 1)

    def _plugin_grid(self, sim: dict, name: str) -> np.ndarray:
        """G × B: each simulated draw's plug-in p-value at its own estimated φ."""
        stat, r1 = sim["stat"][name], sim["r1"]
        flat = self.plugin_p(name, stat.ravel(), self.phi_hat(r1.ravel()))
        return flat.reshape(stat.shape)

    def calibrated_p(self, name: str, plugin: np.ndarray, phi: np.ndarray) -> np.ndarray:
        """Prepivoted p-values: the share of plug-in p-values at or below ``plugin`` under φ = ``phi``."""
        plugin, phi = np.atleast_1d(plugin).astype(float), np.atleast_1d(phi).astype(float)
        idx, w = _bracket(self.grid, phi)
        at_or_below = _interp_counts(self._plugin_sorted[name], plugin * (1 + 1e-12), idx, w, side="right")
        return np.minimum((1 + at_or_below) / (self.draws + 1), 1.0)

    def p_value(self, name: str, stat: np.ndarray | float, r1: np.ndarray | float) -> np.ndarray:
        """The calibrated p-value of statistics ``stat`` of series whose residual lag-1 autocorrelation is ``r1``."""
        phi = self.phi_hat(r1)
        return self.calibrated_p(name, self.plugin_p(name, stat, phi), phi)

    def critical_values(self, name: str, phi: np.ndarray | float, level: float) -> np.ndarray:
        """The statistic above which the calibrated p-value at each ``phi`` is below ``level``.

        Inverting the two steps: the plug-in p-value must fall below ``q``, the ``level``-quantile of
        the plug-in p-values at ``phi``; and the plug-in p-value falls below ``q`` when the statistic
        exceeds the ``1 − q`` quantile of the reference statistics at ``phi``. Both are read off the
        two grid points around each ``phi`` and interpolated, as the p-values are.
        """
        phi = np.atleast_1d(np.asarray(phi, dtype=float))
        idx, w = _bracket(self.grid, phi)
        qs = np.quantile(self._plugin_sorted[name], level, axis=1)
        q = (1 - w) * qs[idx] + w * qs[idx + 1]
        srt = self._sorted[name]
        k = np.clip(np.ceil((1 - q) * (self.draws - 1)).astype(int), 0, self.draws - 1)
        return (1 - w) * srt[idx, k] + w * srt[idx + 1, k]

    def critical_value(self, name: str, phi: float, level: float) -> float:
        """:meth:`critical_values` at one ``phi``."""
        return float(self.critical_values(name, phi, level)[0])

    # -- what the calibrated test delivers --------------------------------------------------------

    @functools.cached_property
    def _size_set(self) -> dict[str, object]:
        """The third, independent set of draws: simulated only when a size or a power is asked for."""
        return self._simulate(self._innovations[2])

    def rejection_rates(self, name: str, alpha: float) -> np.ndarray:
        """The calibrated test's rejection rate at ``alpha`` under the null, at every grid φ (size set)."""
        key = f"{name}@{alpha}"
        if key not in self._size_table:
            sim = self._size_set
            stat, r1 = sim["stat"][name], sim["r1"]
            p = self.p_value(name, stat.ravel(), r1.ravel()).reshape(stat.shape)
            self._size_table[key] = (p < alpha).mean(axis=1)
        return self._size_table[key]

    def size_at(self, name: str, phi: float, alpha: float) -> float:
        """The calibrated test's simulated size at AR(1) coefficient ``phi`` (interpolated on the grid)."""
        return float(np.interp(phi, self.grid, self.rejection_rates(name, alpha)))

    def oversized_from(self, names: tuple[str, ...], alpha: float, tolerance: float) -> float | None:
        """The smallest grid φ from which (and at every larger grid φ) some test in ``names`` is
        over-sized: its simulated size, averaged over three neighbouring grid points, exceeds
        ``tolerance`` by more than its Monte Carlo error (one-sided 95%, so that simulation noise
        alone does not decide). ``None`` when no test is over-sized anywhere on the grid."""
        worst = np.max([self.rejection_rates(n, alpha) for n in names], axis=0)
        smooth = np.convolve(np.pad(worst, 1, mode="edge"), np.ones(3) / 3, mode="valid")
        draws = 3 * len(self._innovations[2])
        noise = 1.645 * np.sqrt(tolerance * (1 - tolerance) / draws)
        ok = smooth <= tolerance + noise
        if ok.all():
            return None
        within = np.flatnonzero(ok)
        last_ok = within[-1] if len(within) else -1
        return float(self.grid[last_ok + 1]) if last_ok + 1 < len(self.grid) else None

    def _draw_critical_values(self, name: str, alpha: float, g: int) -> np.ndarray:
        """Each size-set draw's critical statistic at grid point ``g`` (at its own estimated φ)."""
        key = (name, alpha, g)
        if key not in self._draw_crit:
            r1 = self._size_set["r1"][g]
            self._draw_crit[key] = self.critical_values(name, self.phi_hat(r1), alpha)
        return self._draw_crit[key]

    def power(self, name: str, effect_in_sd: float, phi: float, alpha: float, shift: np.ndarray) -> float:
        """Power of the calibrated test of contrast ``name`` against a shift ``effect_in_sd · shift``.

        ``shift`` is a column in the design's span (for example the post-event indicator), so the
        residuals, and with them each draw's estimated φ, its SE and its critical value, are those
        of the null draws; only the contrast's estimate moves, by ``effect_in_sd · (row · shift)``.
        Draws: the size set at the two grid points around ``phi``, interpolated.
        """
        sim = self._size_set
        move = effect_in_sd * float(self.design.rows[name] @ shift)
        est, se = sim["estimate"][name], sim["se"][name]
        idx, w = _bracket(self.grid, np.array([phi], dtype=float))
        idx, w = int(idx[0]), float(w[0])
        rates = [float((np.abs(est[g] + move) / se[g] > self._draw_critical_values(name, alpha, g)).mean())
                 for g in (idx, idx + 1)]
        return (1 - w) * rates[0] + w * rates[1]

    def innovation_sd(self, resid: np.ndarray, phi: float) -> float:
        """The AR(1) innovation SD at which simulated residuals match the observed residual sum of squares."""
        simulated = float(np.interp(phi, self.grid, self._sets[0]["rss_mean"]))
        return float(np.sqrt((resid @ resid) / simulated))


def grid_from(spec: tuple[float, float, float] | list[float] | dict) -> np.ndarray:
    """The φ grid from a ``(start, stop, step)`` triple (stop included) or a ``{from, to, step}`` mapping."""
    if isinstance(spec, dict):
        spec = (spec["from"], spec["to"], spec["step"])
    start, stop, step = (float(v) for v in spec)
    if not step > 0 or not start < stop:
        raise ValueError(f"a φ grid needs start < stop and a positive step, got {spec}")
    return np.round(np.arange(start, stop + step / 2, step), 10)


@functools.lru_cache(maxsize=64)
def _cached(key: tuple) -> Engine:
    X_bytes, shape, contrasts, joint, draws, grid, seed, phi_quantile = key
    X = np.frombuffer(X_bytes, dtype=float).reshape(shape)
    design = Design(X, {n: np.array(c) for n, c in contrasts}, {n: m for n, m in joint})
    return Engine(design, draws=draws, grid=np.array(grid), seed=seed, phi_quantile=phi_quantile)


def engine(X: np.ndarray, contrasts: dict[str, np.ndarray], joint: dict[str, tuple[str, ...]], *, draws: int,
           grid: np.ndarray, seed: int, phi_quantile: float) -> Engine:
    """The :class:`Engine` for this design, built once per process and reused (it depends on nothing else)."""
    X = np.ascontiguousarray(X, dtype=float)
    key = (X.tobytes(), X.shape, tuple((n, tuple(np.asarray(c, float).tolist())) for n, c in contrasts.items()),
           tuple((n, tuple(m)) for n, m in joint.items()), int(draws), tuple(np.asarray(grid, float).tolist()),
           int(seed), float(phi_quantile))
    return _cached(key)
