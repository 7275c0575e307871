"""Synthetic control: Scotland, and each Scottish area, against a weighted mix of English and Welsh areas.

Every Scottish partnership took the Community Planning duty on 1 April 2003, so no Scottish area
is untreated; the donors are the English and Welsh areas of the same level (ITL3, or NUTS3 for
series published on the older geography; ``attribution.did`` names the countries). Scotland as a
whole (its ITL1/NUTS1 row) and each Scottish small area is a treated unit in turn. At the
**district level** (a test's ``area_level: district``) each of the 32 council areas — each
partnership — is a treated unit against England's and Wales's 318 districts, on the ONS's
current-vintage district series; those series carry no whole-Scotland row, so Scotland's own
synthetic controls stay on the ITL1/NUTS1 row.

**Fit.** Outcomes are per-head money, so the design works in **logs**: gaps and the estimate are
in log points (0.05 ≈ 5%; exactly ``exp(estimate) − 1``), every year's gap counts the same however
much nominal values have grown, and the synthetic unit is a weighted *geometric* mean of donors.
The weights ``w`` are non-negative, sum to one and minimise the squared distance between the
treated unit's log path and the weighted donors' paths over **all** pre-event years (outcome-only
matching, every year weighted equally; years ``< event`` are "pre", years ``≥ event`` "post").

**Estimand.** The mean gap, treated − synthetic, over the post-event **window** ``(first, last)``
(inclusive years) passed to :func:`fit`. The ledger passes the primary window of
``attribution.windows`` (2003–2007 for the duty: before the Single Outcome Agreements and the 2008
crisis); ``None`` takes every post-event year (the secondary analysis, whose average also spans
the agreements, the crisis and the pandemic years). Years after the window enter neither the
estimate nor any statistic, the treated unit's or the placebos' (the figures still draw them).

**Non-unique weights and the tie-break.** With 5–6 pre-event years and ~145 donors most units lie
inside the donors' convex hull, where infinitely many weight vectors reproduce the pre-period path
exactly. The fitted pre-period path is unique; the weights, and so the post-period synthetic, are
not. Among all minimisers :func:`simplex_weights` takes the one that puts weight on the donors
nearest the treated unit — it minimises ``Σ_j w_j ‖X1 − X0_j‖²``, the limit λ → 0 of the penalised
synthetic control of Abadie & L'Hour (2021, JASA), proposed for exactly this problem; it is sparse
and (generically) unique.

**Solver: hand-written, not pysyncon.** Measured on this problem (Scotland's GDP per head, 145
donors, 5 pre-years, this machine): pysyncon's ``Synth.fit`` with its nested optimisation of the
predictor weights ``V`` took 15.6 s for the Scottish fit and about 62 s per placebo; with a fixed
equal ``V`` (one SLSQP solve) 0.43 s and about 0.69 s per placebo, and its SLSQP stops at whichever
of the many exact minimisers lies nearest its uniform starting point (dense weights on ~90 donors).
Here: (1) the minimum, by ``scipy.optimize.nnls`` on the system augmented with a heavily weighted
sum-to-one row (0.08 ms); (2) the tie-break, a second NNLS that holds the fitted path and the sum
fixed by heavily weighted rows and minimises ``(Σ_j w_j c_j)²`` — the same minimiser as the linear
programme ``min Σ w_j c_j`` because ``c ≥ 0`` (0.3 ms, against 3 ms for HiGHS ``linprog``). On the
338 real fits (both outcomes, every placebo, Scotland and the 23 areas) the weights agree with the
linear programme's to 10⁻¹¹ in all but one, where two vertices tie to 1.5·10⁻⁵ of the tie-break
objective (TLM84, GDP: weights differ by up to 0.05, the mean post gap by 0.001 log points); where
the minimum is not an exact fit, the pre-period SSR is within 6·10⁻⁹ (relative) of SLSQP run with
exact gradients to ``ftol`` 1e-16. ``tests/attribution/test_synth.py`` checks the solver against pysyncon,
SLSQP and HiGHS. Both NNLS steps treat the years alike: permuting them permutes the residuals.

**Pre-period error ``s``, leave-one-year-out.** Each pre-event year is predicted by weights fitted
on the other pre-event years, and ``s`` is the RMSPE of those predictions. The in-sample pre RMSPE
is zero to rounding error (below 10⁻⁸ log points) for 85 of the 145 placebos of GDP per head and
72 of GDHI per head, so any statistic dividing by it divides by floating-point noise; ``s``
measures how well the synthetic unit predicts years it was not fitted on. The in-sample value is
still reported.

**Test (the verdict's route).** Placebo-in-space: each donor in turn is treated as if treated, with
the remaining donors as its pool (:func:`placebo_distribution`, computed once per outcome and event
and shared by every :func:`fit` and every window). The statistic is the **studentised mean gap**
``T = |ḡ| / s`` (``ḡ`` the mean gap over the window), computed the same way for the treated unit
and every placebo, so the p-value tests the estimand itself: ``p = (1 + #{placebo T ≥ treated T}) /
(1 + n)`` (``estimate_p`` is the same number), never below ``min_p = 1/(n + 1)``. It is exact if,
with no effect, the treated unit's standardised mean gap ``ḡ / s`` is exchangeable with the
placebos'. On simulated panels shaped like the real data the rejection rate at 0.05 is 0.058 (1,200
null units; ``tests/attribution/test_synth.py``).

**Interval.** The test inverted: a constant effect δ over the window is retained when
``|ḡ − δ| / s`` is not rejected. The weights are fitted on pre-event years only, so δ moves the
mean gap and nothing else, and the retained set is exactly ``ḡ ± c·s``, ``c`` the critical value —
the ``m``-th largest placebo statistic, ``m`` the fewest placebos at or above ``T`` that keep
``p > alpha`` (:func:`critical_value`; the test rejects exactly when ``T > c``). With
``1/(n + 1) > alpha`` nothing can be rejected: ``c`` is infinite and the interval the whole line.
``eq_low``/``eq_high`` are the same inversion at ``2·alpha`` (the ``1 − 2α`` interval of the two
one-sided tests of equivalence).

**MDE: the treated unit's own.** Under the design's model a unit's mean gap with a constant effect
δ is ``δ + s·z``, ``s`` the unit's own leave-one-year-out pre RMSPE and ``z`` a draw from the
placebos' standardised mean gaps ``ḡ_j / s_j`` over the same window, taken with both signs (a
two-sided test, so the noise is symmetrised). The test rejects when ``|δ/s + z| > c``, so the power
at δ is the share of the ``2n`` values ``±z_j`` with ``|δ/s ± z_j| > c`` — an exact expectation over
that distribution, without simulation. The MDE is ``s·d*``, ``d*`` the smallest ``d`` beyond which
that share is at least ``power`` (:func:`standardised_mde`, exact over the breakpoints of the step
function). It is deterministic, proportional to the unit's own pre-period fit (a tighter fit, a
smaller MDE), infinite when the placebos cannot reject at ``alpha``, and on simulated panels an
effect of the unit's own MDE is detected in 0.789 of 2,400 trials (target 0.80). The previous MDE
added effects to a random placebo's own gaps, so it was one number for every treated unit — a
typical donor's (0.40 log points for every GDP unit, over all post years), not the unit's.

**Reported beside it** (``inferences``, role ``reported``). (1) The ratio of post-window to
pre-period RMSPE (Abadie, Diamond & Hainmueller 2010), with ``s`` as the pre-period RMSPE, ranked
the same way; its interval inverts that test, ``ḡ ± sqrt((c_r·s)² − var)`` (``c_r`` its critical
ratio, ``var`` the window gaps' population variance; NaN when no constant effect passes). It tests
a departure in any year of the window, not the mean, so it can disagree with the estimate.
(2) **Conformal inference** (Chernozhukov, Wüthrich & Zhu 2021, JASA; :func:`conformal`): under
``H0``: the effect is δ in every window year, the treated unit's window outcomes are lowered by δ,
the synthetic control is refitted on all pre-event and window years (same solver and tie-break),
and the statistic ``|Σ_window û_t| / √T*`` (``T*`` window years; the statistic for an average
effect — the paper's default ``S_1 = Σ|û_t| / √T*`` tests the whole trajectory instead) is ranked
among its values under the ``T`` moving-block (cyclic) permutations of the ``T`` residuals
(``p`` = the share at or above the observed, identity included, as in the authors' code), and
under iid permutations (all ``C(T, T*)`` placements of the window when there are at most
``synth.conformal_iid_permutations``, else that many seeded random draws with ``p = (1 + #≥) /
(1 + draws)``). Each interval inverts its test over a grid of δ about the estimate
(``synth.conformal_grid`` points, widened until the retained set lies inside it, ends refined by
bisection). Moving blocks need stationary, weakly dependent residuals and cannot go below ``1/T``
(0.1 for Scotland's 10 years, so at ``alpha`` 0.05 they reject nothing); iid permutations need
exchangeable residuals. The paper's route for an average effect without a constant-effect null
(the data collapsed into blocks of ``T*`` years) leaves two blocks here and could never reject, so
it is not run. With 145 donors and ten years the all-years refit nearly reproduces the treated
path (exactly, for GDHI per head) and the test is then conservative (rejection rate 0.008 at 0.05
on simulated null panels). pysyncon's ``ConformalInference`` was not used: its refit under ``H0``
keeps the predictors, so the weights, fixed (its interval equals the inversion without refitting,
``tests/attribution/test_synth.py``), and it gives only per-year intervals, no test of a window's average.

**Leave-one-out** (:func:`leave_one_out`; for Scotland's headline fits the ledger passes
``fit(..., loo=True)``): refit dropping, in turn, each donor of weight at least
``synth.loo_min_weight`` and each donor group of ``synth.loo_groups`` (London: ITL1 ``TLI``,
NUTS1 ``UKI``; a donor code's first three characters are its ITL1/NUTS1 region), each run with its
own placebo distribution on its reduced pool (so its p-value is that pool's); one row per run in
``details["leave_one_out"]``, the first the full pool.

**Donor pools** (:class:`PoolRule`). The verdict's rule is **every donor** (all 318 districts for
a council; all English and Welsh ITL3/NUTS3 areas otherwise): the weights already choose among
them, and any narrower pool is a choice made with the outcome data. Because that choice matters
with few pre-event years (interpolation between distant donors; Abadie 2021), each rule of
``synth.robustness_pools`` is reported beside it for every unit: ``nearest`` takes the ``k``
donors nearest the unit by pre-period distance (root mean square log difference over the
pre-event years). The test under a rule is the same test with the rule applied alike to the unit
and to every placebo (each placebo's pool is its own ``k`` nearest among the other donors), so its
placebo distribution is computed once per outcome and rule and shared by every unit and window.
``details["donor_pools"]`` holds one row per rule (:func:`pool_row`; the first the verdict's):
estimate, p-value, interval, MDE, pre-fit and weights by donor code.

**Assumptions** (:func:`assumption_checks`): a good pre-period fit (cross-validated pre RMSPE in
money over the mean pre-period level at most ``synth.max_pre_rmspe_ratio``; the in-sample ratio is
trivially met inside the hull); no effect at a placebo-in-time event ``synth.placebo_time_shift``
years early, fitted on pre-event years only, its studentised mean gap over the years up to the
real event ranked among the donors' placebo-in-time statistics; the treated unit within the donors'
range in every pre-year (a necessary condition for lying in their convex hull); untreated donors —
*not met literally*, untestable, so ``None`` (English Local Strategic Partnerships and Welsh
partnerships: the comparison is between partnership regimes); no spillovers — untestable,
``None``. A check whose statistic cannot be computed is ``None`` with the reason, never ``False``.

**Validation** (``tests/attribution/test_benchmark_basque.py``): Abadie & Gardeazabal's (2003) Basque Country
with this module's method, against the published gap, and pysyncon's predictor-matching ``Synth``
reproducing the paper's weights as a check that the data are read right.

**Cost** (this machine): one outcome's placebo distribution (145 placebos with their
leave-one-year-out and placebo-in-time fits) about 0.3 s; a treated unit's fit with the conformal
route about 0.05 s (0.01 s without it); Scotland's leave-one-out runs 0.7 s (GDP, 4 runs) and
1.9 s (GDHI, 6 runs). At the district level (318 donors) one outcome's placebo distribution takes
1.6 s (GDHI, with the placebo-in-time fits), the 50-nearest rule's 0.3 s, and the 32 councils'
fits 1.2 s over the primary window (0.4 s of it without the conformal route) and about 2.4 s over
the full period; one council-level test, both windows, about 5.5 s. The conformal refits need
only the fitted path, which is unique, so they skip the tie-break (:func:`simplex_fit`: half the
cost, the same results).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import nnls

from analysis.attribution.base import REPORTED, VERDICT, AssumptionCheck, DesignResult, Inference
from analysis.attribution.did import LSP_CAVEAT, area_level, area_types

DESIGN = "synth"
P_KIND = "permutation (placebo-in-space, studentised mean gap)"
SCALE = "log points"
STATISTIC = "|mean gap over the window| / leave-one-year-out pre-period RMSPE"
RATIO_STATISTIC = "post-window RMSPE / leave-one-year-out pre-period RMSPE (Abadie et al. 2010)"
CONFORMAL_STATISTIC = "|sum of window residuals| / sqrt(window years)"
#: Weight of the rows that hold a constraint in the augmented NNLS systems (the gaps are rescaled
#: to at most 1 in absolute value first). Larger is more exact; with 1e8 the tie-break matches the
#: linear programme's solution to 10⁻¹¹ on the real data (module docstring).
CONSTRAINT_WEIGHT = 1e8
#: Weights below this are set to zero (solver rounding) before renormalising.
WEIGHT_FLOOR = 1e-9
#: Conformal statistics within this of the observed one count as ties (log points): residuals of
#: an all-years fit that reproduces the path are rounding noise of about 1e-10, and tie.
CONFORMAL_TIE = 1e-9
#: Level of area → the level of its country (Scotland's whole-country row).
COUNTRY_LEVEL = {"itl3": "itl1", "nuts3": "nuts1"}


# --------------------------------------------------------------------------------------------
# data


@dataclass(frozen=True)
class SynthProblem:
    """One outcome's synthetic-control data: ``wide`` (years × areas, in money) and who is who."""

    outcome: str
    level: str
    wide: pd.DataFrame
    donors: list[str]
    scottish_areas: list[str]
    scotland: str | None   # None at the district level: the district series have no whole-Scotland row


def prepare(panel_df: pd.DataFrame, areas_df: pd.DataFrame, outcome: str, cfg: dict, *,
            level: str | None = None) -> SynthProblem:
    """The wide frame for ``outcome``: donors, the Scottish small areas and Scotland as a whole.

    ``cfg`` is the ``attribution`` settings; ``level`` the level of area (default ``did.area_level``,
    or its equivalent on the other geography: ``gdp_per_head`` ITL3, ``gdhi_per_head`` NUTS3).
    Donors are that level's areas in ``did.comparison_countries``; Scotland is the
    ``did.treated_country`` row of the matching country level (ITL1 ``TLM`` or NUTS1 ``UKM``). At the
    district level (:data:`analysis.attribution.did.DISTRICT`) the treated units are the 32 council
    areas, the donors the English and Welsh districts, and there is no Scotland row (``scotland`` is
    ``None``: the ONS district files carry no country rows into the panel).
    """
    dcfg = cfg["did"]
    level = area_level(panel_df, outcome, level or dcfg["area_level"])
    rows = panel_df[panel_df["indicator"] == outcome]
    country = areas_df.drop_duplicates("area_code").set_index("area_code")["country"]
    small = rows[rows["area_type"].isin(area_types(level))]
    small_country = small["area_code"].map(country)
    donors = sorted(small.loc[small_country.isin(dcfg["comparison_countries"]), "area_code"].unique())
    scottish = sorted(small.loc[small_country == dcfg["treated_country"], "area_code"].unique())
    whole: list[str] = []
    if level in COUNTRY_LEVEL:
        top = rows[rows["area_type"] == COUNTRY_LEVEL[level]]
        whole = list(top.loc[top["area_code"].map(country) == dcfg["treated_country"], "area_code"].unique())
        if len(whole) != 1:
            raise ValueError(f"{outcome}: need one {COUNTRY_LEVEL[level]} row for {dcfg['treated_country']}; found "
                             f"{len(whole)}")
    if not donors or not scottish:
        raise ValueError(f"{outcome}: need {level} areas on both sides; found {len(scottish)} treated and "
                         f"{len(donors)} donor areas")
    chosen = rows[rows["area_code"].isin([*donors, *scottish, *whole])]
    if chosen["breakdown"].nunique() != 1:
        raise ValueError(f"outcome {outcome!r} has {chosen['breakdown'].nunique()} breakdowns; expected one")
    wide = chosen.pivot(index="year", columns="area_code", values="value").sort_index()
    return SynthProblem(outcome, level, wide, donors, scottish, str(whole[0]) if whole else None)


def _logs(wide: pd.DataFrame, units: Sequence[str]) -> pd.DataFrame:
    """``log`` of the named columns, sorted by year; every value must be positive and present."""
    absent = [u for u in units if u not in wide.columns]
    if absent:
        raise ValueError(f"areas not among the columns of the wide frame: {absent[:5]}")
    frame = wide.loc[:, list(units)].sort_index()
    values = frame.to_numpy(dtype=float)
    good = (np.isfinite(values) & (values > 0)).all(axis=0)
    if not good.all():
        bad = [u for u, g in zip(units, good, strict=True) if not g]
        raise ValueError(f"areas with missing or non-positive values: {bad[:5]}")
    return pd.DataFrame(np.log(values), index=frame.index, columns=frame.columns)


def resolve_window(years: np.ndarray, event: int, window: Sequence[int] | None) -> tuple[int, int]:
    """The post-event window ``(first, last)``, inclusive; ``None`` is every year from ``event`` on.

    The window must start at or after the event, end at or after its start, and every year of it
    must be in the data.
    """
    present = {int(t) for t in years}
    if window is None:
        first, last = int(event), max(present)
    else:
        try:
            first, last = window
        except (TypeError, ValueError):
            raise ValueError(f"window must be a pair of years (first, last) or None, got {window!r}") from None
        if not all(isinstance(v, (int, np.integer)) or (isinstance(v, float) and v.is_integer())
                   for v in (first, last)):
            raise ValueError(f"window years must be whole years, got {window!r}")
        first, last = int(first), int(last)
    if first < event:
        raise ValueError(f"window {first}–{last} starts before the event year {event}")
    if last < first:
        raise ValueError(f"window {first}–{last} ends before it starts")
    missing = [t for t in range(first, last + 1) if t not in present]
    if missing:
        raise ValueError(f"window {first}–{last}: no data for {missing}")
    return first, last


# --------------------------------------------------------------------------------------------
# donor-pool rules

ALL, NEAREST = "all", "nearest"
POOL_RULES = (ALL, NEAREST)


@dataclass(frozen=True)
class PoolRule:
    """How a unit's donor pool is drawn from the candidate donors (module docstring, "Donor pools").

    ``all`` (the default, the verdict's): every candidate. ``nearest``: the ``k`` candidates nearest
    the unit by **pre-period distance**, the root mean square difference between the unit's and the
    candidate's log paths over the years before the event (ties go to the lower code); every
    candidate when there are at most ``k``. The same rule draws each placebo's pool from the other
    candidates, so a unit and its placebos are treated alike.
    """

    rule: str = ALL
    k: int | None = None

    def __post_init__(self) -> None:
        if self.rule not in POOL_RULES:
            raise ValueError(f"unknown donor-pool rule {self.rule!r}; the rules are {', '.join(POOL_RULES)}")
        if self.rule == ALL and self.k is not None:
            raise ValueError("the 'all' donor-pool rule takes no k")
        if self.rule == NEAREST and (not isinstance(self.k, int | np.integer) or isinstance(self.k, bool)
                                     or self.k < 2):
            raise ValueError(f"the 'nearest' donor-pool rule needs a whole number k of at least 2, got {self.k!r}")

    @classmethod
    def from_cfg(cls, entry: Mapping[str, object]) -> PoolRule:
        """A rule from one entry of ``synth.robustness_pools`` (``{rule: nearest, k: 50}``)."""
        return cls(str(entry["rule"]), None if entry.get("k") is None else int(entry["k"]))  # type: ignore[arg-type]

    @property
    def key(self) -> str:
        """A short name: ``all`` or ``nearest-50``."""
        return self.rule if self.rule == ALL else f"{self.rule}-{self.k}"

    @property
    def label(self) -> str:
        return ("every donor" if self.rule == ALL else
                f"the {self.k} donors nearest by pre-period distance (RMS log difference before the event)")

    def select(self, logs: pd.DataFrame, unit: str, candidates: Sequence[str], event: int) -> list[str]:
        """``unit``'s pool among ``candidates`` (columns of the log frame ``logs``; pre-period: years < ``event``)."""
        candidates = [c for c in candidates if c != unit]
        if self.rule == ALL or len(candidates) <= int(self.k or 0):
            return candidates
        pre = logs.index.to_numpy() < event
        distance = pre_distance(logs[unit].to_numpy()[pre], logs[candidates].to_numpy()[pre])
        order = np.lexsort((np.array(candidates), distance))
        return [candidates[i] for i in sorted(order[: int(self.k)])]


#: The default donor-pool rule: every donor.
ALL_DONORS = PoolRule()


def pre_distance(target: np.ndarray, paths: np.ndarray) -> np.ndarray:
    """Root mean square difference between ``target`` (years) and each column of ``paths`` (years × units)."""
    return np.sqrt(np.mean((paths - target[:, None]) ** 2, axis=0))


def robustness_rules(cfg: dict) -> list[PoolRule]:
    """The alternative donor-pool rules of ``synth.robustness_pools`` (none when the setting is absent)."""
    return [PoolRule.from_cfg(entry) for entry in cfg["synth"].get("robustness_pools") or []]


# --------------------------------------------------------------------------------------------
# weights


def _augmented_nnls(rows: np.ndarray, target: np.ndarray) -> np.ndarray:
    solution, _ = nnls(rows, target, maxiter=50 * rows.shape[1])
    return solution


def _scaled_gaps(donor_paths: np.ndarray, target: np.ndarray) -> np.ndarray:
    gaps = donor_paths - target[:, None]
    return gaps / max(np.abs(gaps).max(), np.finfo(float).tiny)


def _minimiser(gaps: np.ndarray) -> np.ndarray:
    """Step one of :func:`simplex_weights`: one minimiser of ``‖gaps @ w‖²`` on the simplex."""
    n_years, n_donors = gaps.shape
    big = CONSTRAINT_WEIGHT
    first = _augmented_nnls(np.vstack([gaps, big * np.ones(n_donors)]), np.append(np.zeros(n_years), big))
    return first / first.sum()


def simplex_fit(donor_paths: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The fitted path ``donor_paths @ w`` of :func:`simplex_weights`, without its tie-break.

    The fitted path is the projection of ``target`` onto the donors' convex hull, unique whichever
    minimiser gives it, so it needs only step one (half the cost). Measured on the ledger's conformal
    problems: the 96 ITL3/NUTS3 runs (Scotland and its 23 areas, both outcomes and windows) give the
    same p-values and intervals to the last digit; a council's all-years fit against the 318
    districts the same fitted path to 7·10⁻¹³ (``tests/test_synth.py``).
    """
    return donor_paths @ _minimiser(_scaled_gaps(donor_paths, target))


def simplex_weights(donor_paths: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Weights ``w ≥ 0``, ``Σw = 1`` minimising ``‖target − donor_paths @ w‖²`` (rows: years).

    Of the minimisers, the one minimising ``Σ_j w_j ‖target − donor_paths[:, j]‖²`` (the donors
    nearest the target; see the module docstring). With ``Σw = 1`` the fit is ``‖D w‖²`` for the
    gaps ``D = donor_paths − target``, rescaled to ``max |D| = 1``; both steps are NNLS with the
    constraints as rows of weight :data:`CONSTRAINT_WEIGHT`, and the result is renormalised. Both
    treat the rows alike: permuting the years leaves the weights unchanged.
    """
    gaps = _scaled_gaps(donor_paths, target)
    big = CONSTRAINT_WEIGHT
    ones = np.ones(gaps.shape[1])
    first = _minimiser(gaps)
    distance = (gaps**2).sum(axis=0)
    rows = np.vstack([big * gaps, big * ones, distance])
    weights = _augmented_nnls(rows, np.concatenate([big * (gaps @ first), [big, 0.0]]))
    weights[weights < WEIGHT_FLOOR] = 0.0
    return weights / weights.sum()


def _standardise(mean: float, scale: float) -> float:
    """``mean / scale``; with ``scale`` 0, 0 for a zero mean and ±inf otherwise."""
    if scale > 0:
        return mean / scale
    return 0.0 if mean == 0 else math.copysign(math.inf, mean)


@dataclass(frozen=True)
class WindowStats:
    """A unit's gaps over a post-event window: the mean gap, its studentised value ``z = mean / s``
    (``statistic = |z|``, the test statistic), and the RMSPE ratio reported beside it."""

    mean: float
    z: float
    statistic: float
    post_rmspe: float
    ratio: float


@dataclass(frozen=True)
class UnitFit:
    """One unit's synthetic control, in log points.

    ``gap`` is actual − synthetic in every year of ``years``; ``cv_gap`` (pre-event years) is
    actual − the prediction from weights fitted on the *other* pre-event years, and
    ``cv_pre_rmspe`` (``s``) its RMSPE; ``cv_level_ratio`` the same error in money over the mean
    pre-event level.
    """

    unit: str
    event: int
    years: np.ndarray
    weights: pd.Series
    actual: np.ndarray
    gap: np.ndarray
    cv_gap: np.ndarray
    pre_rmspe: float
    cv_pre_rmspe: float
    cv_level_ratio: float

    @property
    def pre(self) -> np.ndarray:
        return self.years < self.event

    def in_window(self, window: tuple[int, int]) -> np.ndarray:
        return (self.years >= window[0]) & (self.years <= window[1])

    def window_stats(self, window: tuple[int, int]) -> WindowStats:
        gaps = self.gap[self.in_window(window)]
        mean = float(gaps.mean())
        z = _standardise(mean, self.cv_pre_rmspe)
        post = _rmspe(gaps)
        return WindowStats(mean, z, abs(z), post, _ratio(post, self.cv_pre_rmspe))

    def by_year(self, values: np.ndarray) -> dict[int, float]:
        return {int(t): float(v) for t, v in zip(self.years, values, strict=True)}


def _rmspe(gaps: np.ndarray) -> float:
    return float(np.sqrt(np.mean(gaps**2)))


def _ratio(post_rmspe: float, pre_rmspe: float) -> float:
    return post_rmspe / pre_rmspe if pre_rmspe > 0 else math.inf


def fit_unit(logs: pd.DataFrame, unit: str, pool: Sequence[str], event: int) -> UnitFit:
    """Fit ``unit`` (a column of the log frame) on the donors ``pool`` with pre-period ``< event``."""
    if not len(pool):
        raise ValueError(f"{unit}: the donor pool is empty")
    return _fit(unit, logs.index.to_numpy(), logs[unit].to_numpy(), logs[list(pool)].to_numpy(), list(pool), event)


def _fit(unit: str, years: np.ndarray, target: np.ndarray, paths: np.ndarray, pool: list[str],
         event: int) -> UnitFit:
    pre = years < event
    n_pre = int(pre.sum())
    if n_pre < 2 or n_pre == len(pre):
        raise ValueError(f"event {event}: need at least two pre-event years and one post-event year, have {n_pre} "
                         f"of {len(pre)}")
    pre_paths, pre_target = paths[pre], target[pre]
    weights = simplex_weights(pre_paths, pre_target)
    cv = np.empty(n_pre)
    for k in range(n_pre):
        keep = np.arange(n_pre) != k
        cv[k] = pre_target[k] - pre_paths[k] @ simplex_weights(pre_paths[keep], pre_target[keep])
    gap = target - paths @ weights
    level = np.exp(pre_target)
    return UnitFit(
        unit=unit, event=event, years=years, weights=pd.Series(weights, index=pool), actual=target, gap=gap,
        cv_gap=cv, pre_rmspe=_rmspe(gap[pre]), cv_pre_rmspe=_rmspe(cv),
        cv_level_ratio=_rmspe(level - np.exp(pre_target - cv)) / float(level.mean()),
    )


# --------------------------------------------------------------------------------------------
# placebos, the test, its interval and the MDE


def rank_p(statistic: float, null: np.ndarray) -> float:
    """``(1 + #null ≥ statistic) / (1 + len(null))``."""
    return float((1 + np.sum(null >= statistic)) / (1 + len(null)))


def retained_count(n: int, level: float) -> int:
    """The fewest of ``n`` placebo statistics at or above ``T`` that keep :func:`rank_p` above ``level``."""
    if not 0 < level < 1:
        raise ValueError(f"the level must lie in (0, 1), got {level!r}")
    return next(k for k in range(n + 1) if (1 + k) / (1 + n) > level)


def critical_value(null: np.ndarray, level: float) -> float:
    """``c`` with ``rank_p(T, null) ≤ level`` exactly when ``T > c``; ``inf`` when nothing can be rejected.

    ``c`` is the ``m``-th largest placebo statistic, ``m =`` :func:`retained_count`: a statistic
    above it has fewer than ``m`` placebos at or above it; one at or below it has at least ``m``.
    """
    m = retained_count(len(null), level)
    return math.inf if m == 0 else float(np.sort(null)[::-1][m - 1])


def studentised_interval(mean: float, scale: float, critical: float) -> tuple[float, float]:
    """The constant effects δ the test retains, ``|mean − δ| / scale ≤ critical``: ``mean ± critical·scale``."""
    if not math.isfinite(critical):
        return -math.inf, math.inf
    return mean - critical * scale, mean + critical * scale


def ratio_interval(window_gaps: np.ndarray, pre_rmspe: float, critical: float) -> tuple[float, float, str]:
    """Constant effects retained by the RMSPE-ratio test, as ``(low, high, note)`` (module docstring)."""
    if not math.isfinite(critical):
        return -math.inf, math.inf, "the placebos cannot reject at this level: every effect is retained"
    room = (critical * pre_rmspe) ** 2 - float(np.var(window_gaps))
    if room < 0:
        return math.nan, math.nan, ("no constant effect is retained: the window's gaps vary too much about their "
                                    "mean for any constant shift to pass the ratio test")
    centre, half = float(np.mean(window_gaps)), math.sqrt(room)
    return centre - half, centre + half, "retained constant effects (ratio test inverted)"


def standardised_power(z: np.ndarray, critical: float, d: float | np.ndarray) -> float | np.ndarray:
    """The share of ``±z`` (both signs of every placebo's standardised mean gap) with ``|d ± z| > critical``.

    The power of the studentised test against a constant effect ``d`` pre-RMSPEs (module docstring).
    """
    w = np.concatenate([z, -z])
    d = np.asarray(d, dtype=float)
    share = (np.abs(d[..., None] + w) > critical).mean(axis=-1)
    return float(share) if share.ndim == 0 else share


def standardised_mde(z: np.ndarray, critical: float, power: float) -> float:
    """The smallest ``d ≥ 0`` beyond which :func:`standardised_power` is at least ``power`` (in pre-RMSPEs).

    The power is a step function of ``d`` that changes only where ``|d ± z_j| = critical``; it is
    evaluated inside every interval between those points, and the answer is the left end of the
    last run of intervals that reach ``power`` (an infimum: just above it the power is reached).
    ``inf`` when nothing can be rejected (``critical`` infinite).
    """
    if not 0 < power < 1:
        raise ValueError(f"power must lie in (0, 1), got {power!r}")
    if not math.isfinite(critical):
        return math.inf
    w = np.concatenate([z, -z])
    w = w[np.isfinite(w)]
    points = np.concatenate([critical - w, -critical - w])
    edges = np.concatenate([[0.0], np.unique(points[points > 0])])
    probes = np.append((edges[:-1] + edges[1:]) / 2, edges[-1] + 1.0)  # inside (edges[i], edges[i + 1])
    short = np.flatnonzero(standardised_power(z, critical, probes) < power)
    if not len(short):
        return 0.0
    if short[-1] == len(probes) - 1:  # cannot happen for finite z: far out, every draw rejects
        return math.inf
    return float(edges[short[-1] + 1])


@dataclass(frozen=True)
class Placebos:
    """Every placebo unit's fit at ``event`` (each donor on the remaining donors).

    ``in_time_fits`` are the same units' fits at the placebo-in-time event ``in_time_event``, on
    pre-event years only (empty, and the event ``None``, with fewer than two years before it or
    when not asked for). The window statistics are computed from the fits for any window.
    """

    event: int
    donors: tuple[str, ...]
    fits: dict[str, UnitFit]
    in_time_event: int | None
    in_time_fits: dict[str, UnitFit]
    rule: PoolRule = ALL_DONORS
    _stats: dict[tuple[int, int], dict[str, WindowStats]] = field(default_factory=dict, compare=False, repr=False)
    _summaries: dict[tuple[int, int], dict[str, object]] = field(default_factory=dict, compare=False, repr=False)

    def stats(self, window: tuple[int, int]) -> dict[str, WindowStats]:
        """Every placebo's :class:`WindowStats` for ``window`` (computed once per window)."""
        window = (int(window[0]), int(window[1]))
        if window not in self._stats:
            self._stats[window] = {u: f.window_stats(window) for u, f in self.fits.items()}
        return self._stats[window]

    def summary(self, window: tuple[int, int]) -> dict[str, object]:
        """The placebos' statistics for ``window``, as plain data; one object per window, shared by every
        result that uses these placebos (so the cached results hold it once)."""
        window = (int(window[0]), int(window[1]))
        if window in self._summaries:
            return self._summaries[window]
        stats = self.stats(window)
        self._summaries[window] = {
            "event": self.event,
            "window": list(window),
            "n": len(self.fits),
            "pool_rule": self.rule.key,
            "statistic": {u: s.statistic for u, s in stats.items()},
            "z": {u: s.z for u, s in stats.items()},
            "mean_gap": {u: s.mean for u, s in stats.items()},
            "ratio": {u: s.ratio for u, s in stats.items()},
            "cv_pre_rmspe": {u: f.cv_pre_rmspe for u, f in self.fits.items()},
            "gap": {u: f.by_year(f.gap) for u, f in self.fits.items()},
        }
        return self._summaries[window]


def _placebo_units(donors: Sequence[str], cfg: dict) -> list[str]:
    """All donors (``synth.placebos: all``) or a seeded sample of that many."""
    wanted = cfg["synth"]["placebos"]
    if wanted == "all" or int(wanted) >= len(donors):
        return list(donors)
    rng = np.random.default_rng(cfg["seed"])
    return sorted(rng.choice(list(donors), size=int(wanted), replace=False).tolist())


def _placebo_fits(logs: pd.DataFrame, donors: Sequence[str], units: Sequence[str], event: int,
                  rule: PoolRule = ALL_DONORS) -> dict[str, UnitFit]:
    """Each of ``units`` fitted on its pool under ``rule`` from the other donors (pre-period: years < ``event``)."""
    years, values, donors = logs.index.to_numpy(), logs[list(donors)].to_numpy(), list(donors)
    pre = years < event
    fits = {}
    for u in units:
        j = donors.index(u)
        if rule.rule == ALL or len(donors) - 1 <= int(rule.k or 0):
            keep = np.delete(np.arange(len(donors)), j)
        else:  # the k nearest of the other donors (as PoolRule.select, on arrays)
            others = np.delete(np.arange(len(donors)), j)
            distance = pre_distance(values[pre, j], values[pre][:, others])
            keep = np.sort(others[np.lexsort((np.array(donors)[others], distance))[: int(rule.k)]])
        fits[u] = _fit(u, years, values[:, j], values[:, keep], [donors[i] for i in keep], event)
    return fits


def placebo_distribution(wide: pd.DataFrame, donors: Sequence[str], event: int, cfg: dict, *,
                         in_time: bool = True, rule: PoolRule = ALL_DONORS) -> Placebos:
    """The placebo-in-space runs for ``event``, and for the placebo-in-time event; once per outcome and rule.

    ``wide`` is years × areas in money (logged here); ``cfg`` the ``attribution`` settings.
    ``in_time=False`` skips the placebo-in-time runs (the leave-one-out refits and the alternative
    donor pools need only the test). ``rule`` draws each placebo's pool from the other donors
    (:class:`PoolRule`; default every other donor); for the placebo-in-time runs the pools are
    drawn on the years before the placebo-in-time event.
    """
    if len(donors) < 2:
        raise ValueError(f"need at least two donors for placebo runs, have {len(donors)}")
    logs = _logs(wide, donors)
    units = _placebo_units(donors, cfg)
    fits = _placebo_fits(logs, donors, units, event, rule)
    fake = event - int(cfg["synth"]["placebo_time_shift"])
    early = logs[logs.index < event]
    if not in_time or (early.index < fake).sum() < 2:
        return Placebos(event, tuple(donors), fits, None, {}, rule)
    return Placebos(event, tuple(donors), fits, fake, _placebo_fits(early, donors, units, fake, rule), rule)


@dataclass(frozen=True)
class Test:
    """The studentised placebo test of one unit over one window, with its interval and MDE."""

    stats: WindowStats
    null: np.ndarray
    z: np.ndarray
    p_value: float
    critical: float
    ci: tuple[float, float]
    eq: tuple[float, float]
    mde: float
    mde_standardised: float
    ratio_p: float
    ratio_ci: tuple[float, float, str]


def placebo_test(unit: UnitFit, placebos: Placebos, window: tuple[int, int], cfg: dict) -> Test:
    """The verdict's test for ``unit`` over ``window`` against ``placebos`` (module docstring)."""
    alpha = cfg["alpha"]
    stats = unit.window_stats(window)
    placebo_stats = list(placebos.stats(window).values())
    null = np.array([s.statistic for s in placebo_stats])
    z = np.array([s.z for s in placebo_stats])
    critical = critical_value(null, alpha)
    s = unit.cv_pre_rmspe
    d_star = standardised_mde(z, critical, cfg["power"])
    ratios = np.array([p.ratio for p in placebo_stats])
    return Test(
        stats=stats, null=null, z=z, p_value=rank_p(stats.statistic, null), critical=critical,
        ci=studentised_interval(stats.mean, s, critical),
        eq=studentised_interval(stats.mean, s, critical_value(null, 2 * alpha)),
        mde=s * d_star if math.isfinite(d_star) else math.inf, mde_standardised=d_star,
        ratio_p=rank_p(stats.ratio, ratios),
        ratio_ci=ratio_interval(unit.gap[unit.in_window(window)], s, critical_value(ratios, alpha)),
    )


# --------------------------------------------------------------------------------------------
# conformal inference (Chernozhukov, Wüthrich & Zhu 2021)


@dataclass(frozen=True)
class ConformalProblem:
    """The treated unit's and donors' log paths over the pre-event and window years (``post`` last)."""

    y1: np.ndarray
    y0: np.ndarray
    post: np.ndarray

    @classmethod
    def build(cls, logs: pd.DataFrame, treated: str, donors: Sequence[str], event: int,
              window: tuple[int, int]) -> ConformalProblem:
        years = logs.index.to_numpy()
        keep = (years < event) | ((years >= window[0]) & (years <= window[1]))
        return cls(logs.loc[keep, treated].to_numpy(), logs.loc[keep, list(donors)].to_numpy(), years[keep] >= event)

    def residuals(self, delta: float) -> np.ndarray:
        """Residuals of the all-years fit under ``H0``: the effect is ``delta`` in every window year (the
        fitted path is unique, so the tie-break is not needed: :func:`simplex_fit`)."""
        y = self.y1 - delta * self.post
        return y - simplex_fit(self.y0, y)


def moving_blocks(n_years: int, n_post: int) -> np.ndarray:
    """The ``n_years`` cyclic shifts: row ``s`` holds the residual positions ``s, s + 1, … (mod n_years)``
    that shift ``s`` puts in the ``n_post`` window slots. Row ``n_years − n_post`` is the identity."""
    return (np.arange(n_years)[:, None] + np.arange(n_post)[None, :]) % n_years


def iid_placements(n_years: int, n_post: int, limit: int, seed: int) -> tuple[np.ndarray, bool]:
    """Which residuals iid permutations put in the window slots, and whether that is all of them.

    The statistic depends only on the set of residuals in the window, and every set is equally
    likely under all permutations, so with at most ``limit`` sets all ``C(n_years, n_post)`` are
    enumerated (the identity among them, last); otherwise ``limit`` seeded random permutations.
    """
    if math.comb(n_years, n_post) <= limit:
        return np.array(list(itertools.combinations(range(n_years), n_post))), True
    rng = np.random.default_rng(seed)
    return np.sort(rng.random((limit, n_years)).argsort(axis=1)[:, :n_post], axis=1), False


def _conformal_statistic(u: np.ndarray, slots: np.ndarray) -> np.ndarray:
    return np.abs(u[slots].sum(axis=-1)) / math.sqrt(slots.shape[-1])


@dataclass(frozen=True)
class ConformalScheme:
    """One permutation scheme: the residual positions each permutation puts in the window, and
    whether the observed arrangement is among them (exact enumeration) or added (random draws)."""

    name: str
    slots: np.ndarray
    includes_identity: bool

    @property
    def min_p(self) -> float:
        n = len(self.slots)
        return 1 / n if self.includes_identity else 1 / (n + 1)

    def p_value(self, u: np.ndarray, observed: np.ndarray) -> float:
        stat = _conformal_statistic(u, observed)
        hits = int(np.sum(_conformal_statistic(u, self.slots) >= stat - CONFORMAL_TIE))
        n = len(self.slots)
        return hits / n if self.includes_identity else (1 + hits) / (1 + n)


def _invert_grid(p_of, centre: float, half: float, alpha: float, n_grid: int, *, doublings: int = 8,
                 refine: int = 16) -> tuple[float, float, str]:
    """The retained set ``{δ : p_of(δ) > alpha}`` over a grid about ``centre``, as ``(low, high, note)``.

    The grid's half-width doubles (at most ``doublings`` times) until neither end is retained; an
    end still retained is infinite. Each finite end is refined by bisection between the last
    retained and the first rejected grid point. If a rejected grid point lies between two retained
    ones the note says so (the interval is the retained set's hull).
    """
    n_grid += 1 - n_grid % 2  # odd: the centre (the estimate) is a grid point
    for attempt in range(doublings + 1):
        grid = centre + np.linspace(-half, half, n_grid)
        kept = np.array([p_of(d) > alpha for d in grid])
        if not kept.any():
            return math.nan, math.nan, f"no effect on the grid {grid[0]:+.3g} to {grid[-1]:+.3g} is retained"
        if not (kept[0] or kept[-1]) or attempt == doublings:
            break
        half *= 2
    inside = np.flatnonzero(kept)[[0, -1]]
    ends = []
    for side, index in enumerate(inside):
        step = -1 if side == 0 else 1
        if (side == 0 and index == 0) or (side == 1 and index == n_grid - 1):
            ends.append(-math.inf if side == 0 else math.inf)
            continue
        good, bad = grid[index], grid[index + step]
        for _ in range(refine):
            mid = (good + bad) / 2
            good, bad = (mid, bad) if p_of(mid) > alpha else (good, mid)
        ends.append(float(good))
    contiguous = kept[inside[0]:inside[1] + 1].all()
    note = "retained constant effects (grid inversion)"
    if not math.isfinite(ends[0]) or not math.isfinite(ends[1]):
        note += f"; retained up to the edge of the widest grid (±{half:.3g} about the estimate): unbounded there"
    if not contiguous:
        note += "; some effects inside the interval are rejected (the interval is the hull of the retained set)"
    return ends[0], ends[1], note


def conformal(logs: pd.DataFrame, treated: str, donors: Sequence[str], event: int, window: tuple[int, int],
              cfg: dict, *, centre: float, scale: float) -> dict[str, dict[str, object]]:
    """Conformal p-values (δ = 0) and intervals for the window's constant effect, by scheme (module docstring).

    ``centre`` and ``scale`` place the first grid (the estimate and the unit's pre RMSPE). Returns
    ``{"moving_block": {...}, "iid": {...}}``, each with ``p_value``, ``ci_low``, ``ci_high``,
    ``min_p``, ``n_permutations`` and ``note``.
    """
    scfg, alpha = cfg["synth"], cfg["alpha"]
    problem = ConformalProblem.build(logs, treated, donors, event, window)
    n_years, n_post = len(problem.y1), int(problem.post.sum())
    observed = np.arange(n_years - n_post, n_years)
    iid, exact = iid_placements(n_years, n_post, int(scfg["conformal_iid_permutations"]), int(cfg["seed"]))
    schemes = [ConformalScheme("moving_block", moving_blocks(n_years, n_post), True),
               ConformalScheme("iid", iid, exact)]
    cache: dict[float, np.ndarray] = {}

    def residuals(delta: float) -> np.ndarray:
        if delta not in cache:
            cache[delta] = problem.residuals(delta)
        return cache[delta]

    out: dict[str, dict[str, object]] = {}
    half = max(2 * abs(centre), 10 * scale, 0.01)
    for scheme in schemes:
        entry: dict[str, object] = {"p_value": scheme.p_value(residuals(0.0), observed), "min_p": scheme.min_p,
                                    "n_permutations": len(scheme.slots), "enumerated": scheme.includes_identity}
        if scheme.min_p > alpha:
            entry |= {"ci_low": -math.inf, "ci_high": math.inf,
                      "note": f"{len(scheme.slots)} permutations cannot reach p ≤ {alpha}: every effect is retained"}
        else:
            low, high, note = _invert_grid(lambda d, s=scheme: s.p_value(residuals(d), observed), centre, half, alpha,
                                           int(scfg["conformal_grid"]))
            entry |= {"ci_low": low, "ci_high": high, "note": note}
        out[scheme.name] = entry
    zero = residuals(0.0)
    out["fit"] = {"years": n_years, "window_years": n_post, "rmse_at_zero": _rmspe(zero)}
    return out


# --------------------------------------------------------------------------------------------
# leave-one-out


def loo_groups(donors: Sequence[str], cfg: dict) -> dict[str, list[str]]:
    """The donor groups of ``synth.loo_groups`` (label → ITL1/NUTS1 prefixes) present in ``donors``."""
    groups = {}
    for label, prefixes in (cfg["synth"].get("loo_groups") or {}).items():
        members = [d for d in donors if d[:3] in set(prefixes)]
        if members:
            groups[f"{label} ({', '.join(prefixes)})"] = members
    return groups


def leave_one_out(wide: pd.DataFrame, treated: str, donors: Sequence[str], event: int, cfg: dict,
                  window: Sequence[int] | None, *, groups: Mapping[str, Sequence[str]],
                  placebos: Placebos | None = None) -> pd.DataFrame:
    """Refits dropping, in turn, each donor with weight ≥ ``synth.loo_min_weight`` and each group.

    One row per run, the first the full pool (``dropped`` ``"none"``; ``placebos`` for it are
    reused when given): ``dropped``, ``n_dropped``, ``n_donors``, ``estimate``, ``p_value``,
    ``ci_low``, ``ci_high``, ``mde`` and ``weights`` (the non-zero ones). Every run has its own
    placebo distribution on its reduced pool, so its p-value is that pool's.
    """
    donors = list(donors)
    logs = _logs(wide, [treated, *donors])
    window = resolve_window(logs.index.to_numpy(), event, window)
    unknown = {g: [d for d in members if d not in donors] for g, members in groups.items()}
    if any(unknown.values()):
        raise ValueError(f"leave-one-out groups name areas that are not donors: {unknown}")
    full = fit_unit(logs, treated, donors, event)
    floor = float(cfg["synth"]["loo_min_weight"])
    heavy = full.weights[full.weights >= floor].sort_values(ascending=False)
    runs: list[tuple[str, list[str]]] = [("none", []), *((str(d), [str(d)]) for d in heavy.index),
                                         *((g, list(m)) for g, m in groups.items())]
    rows = []
    for label, dropped in runs:
        pool = [d for d in donors if d not in set(dropped)]
        if not dropped and placebos is not None:
            base = placebos
        else:
            base = placebo_distribution(wide, pool, event, cfg, in_time=False)
        unit = full if not dropped else fit_unit(logs, treated, pool, event)
        test = placebo_test(unit, base, window, cfg)
        weights = unit.weights[unit.weights > 0].sort_values(ascending=False)
        rows.append({"dropped": label, "n_dropped": len(dropped), "n_donors": len(pool), "estimate": test.stats.mean,
                     "p_value": test.p_value, "ci_low": test.ci[0], "ci_high": test.ci[1], "mde": test.mde,
                     "weights": {str(k): float(v) for k, v in weights.items()}})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# assumption checks


def _check(name: str, passed: bool, detail: str, statistic: float, p_value: float | None = None) -> AssumptionCheck:
    """A check, or ``None`` ("cannot be tested") when its statistic is not a finite number."""
    values = [statistic] if p_value is None else [statistic, p_value]
    if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in values):
        return AssumptionCheck(name, None, f"cannot be tested: the statistic could not be computed ({detail})",
                               statistic=statistic, p_value=p_value)
    return AssumptionCheck(name, bool(passed), detail, statistic=statistic, p_value=p_value)


def assumption_checks(treated: UnitFit, logs: pd.DataFrame, donors: Sequence[str], placebos: Placebos,
                      cfg: dict) -> tuple[list[AssumptionCheck], dict[str, object] | None]:
    """The design's checks, and the placebo-in-time result (``None`` when it cannot be run).

    ``donors`` is the treated unit's pool; for the placebo-in-time fit the pool is drawn again, by
    the placebos' rule, from their candidates on the years before the placebo-in-time event (the
    same pool unless the rule is ``nearest``)."""
    alpha, limit = cfg["alpha"], cfg["synth"]["max_pre_rmspe_ratio"]
    fit_ratio = treated.cv_level_ratio
    checks = [_check(
        "good pre-period fit", fit_ratio <= limit,
        f"leave-one-year-out pre-period RMSPE is {fit_ratio:.2%} of the mean pre-event level (limit {limit:.0%}); "
        f"in-sample {treated.pre_rmspe:.2g} log points (near zero whenever the unit is inside the donors' hull)",
        fit_ratio,
    )]

    in_time = None
    fake = placebos.in_time_event
    if fake is None:
        checks.append(AssumptionCheck("placebo-in-time shows no effect", None,
                                      "cannot be tested: fewer than two years before the placebo-in-time event"))
    else:
        before = logs[logs.index < placebos.event]
        early_pool = (list(donors) if placebos.rule.rule == ALL
                      else placebos.rule.select(before, treated.unit, placebos.donors, fake))
        early = fit_unit(before, treated.unit, early_pool, fake)
        window = (fake, placebos.event - 1)
        stats = early.window_stats(window)
        null = np.array([f.window_stats(window).statistic for f in placebos.in_time_fits.values()])
        p = rank_p(stats.statistic, null)
        in_time = {"event": fake, "window": list(window), "estimate": stats.mean, "statistic": stats.statistic,
                   "p_value": p, "n_placebos": len(null), "gap": early.by_year(early.gap)}
        checks.append(_check(
            "placebo-in-time shows no effect", p > alpha,
            f"a fake event in {fake} (fitted on years before {placebos.event} only): mean gap {stats.mean:+.3f} log "
            f"points over {fake}–{placebos.event - 1}, studentised {stats.statistic:.2f}, ranked among {len(null)} "
            f"donors' placebo-in-time statistics, p = {p:.3f} (alpha {alpha})",
            stats.statistic, p,
        ))

    pre = treated.pre
    donor_paths = logs[list(donors)].to_numpy()[pre]
    value = treated.actual[pre]
    inside = (donor_paths.min(axis=1) <= value) & (value <= donor_paths.max(axis=1))
    outside = [int(t) for t in treated.years[pre][~inside]]
    checks.append(_check(
        "treated unit within the donors' range", not outside,
        "every pre-event year lies between the donors' minimum and maximum" if not outside
        else f"outside the donors' range in {outside}: no convex combination can reproduce those years",
        float(len(outside)),
    ))
    checks.append(AssumptionCheck("donors untreated", None, LSP_CAVEAT))
    checks.append(AssumptionCheck(
        "no spillovers", None,
        "untestable with these data: Community Planning in Scotland could reach English and Welsh areas through "
        "trade, migration and commuting (border areas most); such spillovers would bias the gap, in either direction",
    ))
    return checks, in_time


# --------------------------------------------------------------------------------------------
# the design


def _inferences(test: Test, conf: dict | None, n: int, window: tuple[int, int]) -> list[Inference]:
    years = f"{window[0]}–{window[1]}"
    routes = [
        Inference(f"placebo-in-space permutation, {STATISTIC}", test.p_value, test.ci[0], test.ci[1],
                  "with no effect, the treated unit's mean gap over the window in units of its own leave-one-year-out "
                  "pre-period RMSPE is exchangeable with the placebos'; the interval assumes a constant effect over "
                  f"{years}", min_p=1 / (n + 1), role=VERDICT),
        Inference(f"placebo-in-space permutation, {RATIO_STATISTIC}", test.ratio_p, test.ratio_ci[0],
                  test.ratio_ci[1],
                  "exchangeable RMSPE ratios under no effect; tests a departure in any year of the window, not its "
                  "mean gap, so it answers a different question from the estimate", min_p=1 / (n + 1), role=REPORTED),
    ]
    if conf is not None:
        needs = {"moving_block": "stationary, weakly dependent residuals of the all-years synthetic control "
                                 "(every cyclic shift equally likely)",
                 "iid": "residuals of the all-years synthetic control exchangeable over time"}
        for name, label in (("moving_block", "moving-block"), ("iid", "iid")):
            entry = conf[name]
            routes.append(Inference(
                f"conformal (Chernozhukov, Wüthrich & Zhu 2021), {label} permutations, {CONFORMAL_STATISTIC}",
                float(entry["p_value"]), float(entry["ci_low"]), float(entry["ci_high"]),
                f"a constant effect in every year of {years} (sharp null) and {needs[name]}",
                min_p=float(entry["min_p"]), role=REPORTED))
    return routes


def pool_row(unit: UnitFit, test: Test, placebos: Placebos, n_candidates: int, cfg: dict) -> dict[str, object]:
    """One donor-pool rule's result for a unit, as plain data (a row of ``details["donor_pools"]``)."""
    rule, limit = placebos.rule, float(cfg["synth"]["max_pre_rmspe_ratio"])
    weights = unit.weights[unit.weights > 0].sort_values(ascending=False)
    return {"rule": rule.key, "label": rule.label, "k": rule.k, "n_candidates": n_candidates,
            "n_donors": len(unit.weights), "n_placebos": len(placebos.fits), "estimate": test.stats.mean,
            "p_value": test.p_value, "min_p": 1 / (len(placebos.fits) + 1), "ci_low": test.ci[0],
            "ci_high": test.ci[1], "mde": test.mde, "cv_pre_rmspe": unit.cv_pre_rmspe,
            "pre_fit_ratio": unit.cv_level_ratio, "pre_fit_ok": bool(unit.cv_level_ratio <= limit),
            "weights": {str(k): float(v) for k, v in weights.items()}}


def pool_robustness(logs: pd.DataFrame, treated: str, donors: Sequence[str], event: int, window: tuple[int, int],
                    cfg: dict, alternatives: Sequence[Placebos]) -> list[dict[str, object]]:
    """The unit's estimate, p-value, interval and MDE under each alternative donor-pool rule.

    ``alternatives`` are placebo distributions, one per rule, over the same candidate donors
    (:func:`placebo_distribution` with ``rule``); each rule draws the unit's pool from ``donors``
    as it drew each placebo's, and the unit is tested against that rule's placebos.
    """
    rows = []
    for placebos in alternatives:
        if placebos.event != event or list(placebos.donors) != list(donors):
            raise ValueError(f"the {placebos.rule.key} placebo distribution was computed for another event or "
                             "candidate pool")
        unit = fit_unit(logs, treated, placebos.rule.select(logs, treated, donors, event), event)
        rows.append(pool_row(unit, placebo_test(unit, placebos, window, cfg), placebos, len(donors), cfg))
    return rows


def fit(wide: pd.DataFrame, treated: str, donors: Sequence[str], event: int, *, outcome: str, cfg: dict,
        placebos: Placebos | None = None, window: Sequence[int] | None = None, loo: bool = False,
        conformal_route: bool = True, rule: PoolRule | None = None,
        alternatives: Sequence[Placebos] = ()) -> DesignResult:
    """Synthetic control for ``treated`` against ``donors`` (columns of ``wide``, years × areas, in money).

    ``cfg`` is the ``attribution`` settings; ``window`` the post-event years ``(first, last)`` the
    estimate averages (``None``: every post-event year). ``donors`` are the candidates; ``rule``
    (default every donor, or the rule ``placebos`` were computed under) draws the unit's pool from
    them. ``placebos`` from :func:`placebo_distribution` for the same candidates, event and rule is
    reused; without it the placebo runs are computed here. ``alternatives``: placebo
    distributions under other rules, each reported beside the verdict's in
    ``details["donor_pools"]`` (:func:`pool_robustness`; the first row is this fit's own rule).
    ``loo=True`` adds the leave-one-out refits (``details["leave_one_out"]``; for the headline fits:
    it costs one placebo distribution per run; the default rule only); ``conformal_route=False``
    skips the conformal route (simulations). The estimate, intervals and MDE are in log points.
    """
    donors = list(donors)
    if treated in donors:
        raise ValueError(f"{treated} is among its own donors")
    if len(set(donors)) != len(donors):
        raise ValueError("the donor list names an area more than once")
    logs = _logs(wide, [treated, *donors])
    window = resolve_window(logs.index.to_numpy(), event, window)
    if placebos is None:
        rule = rule or ALL_DONORS
        placebos = placebo_distribution(wide, donors, event, cfg, rule=rule)
    elif placebos.event != event or list(placebos.donors) != donors:
        raise ValueError("the placebo distribution was computed for another event or donor pool")
    elif rule is not None and rule != placebos.rule:
        raise ValueError(f"the placebo distribution was computed under the {placebos.rule.key} donor-pool rule, "
                         f"not {rule.key}")
    rule = placebos.rule
    if loo and rule != ALL_DONORS:
        raise ValueError("leave-one-out refits are run for the default donor pool (every donor) only")
    pool = rule.select(logs, treated, donors, event)
    unit = fit_unit(logs, treated, pool, event)
    test = placebo_test(unit, placebos, window, cfg)
    checks, in_time = assumption_checks(unit, logs, pool, placebos, cfg)
    conf = (conformal(logs, treated, pool, event, window, cfg, centre=test.stats.mean, scale=unit.cv_pre_rmspe)
            if conformal_route else None)
    n = len(placebos.fits)
    estimate = test.stats.mean
    weights = unit.weights[unit.weights > 0].sort_values(ascending=False)
    in_window = unit.in_window(window)
    if math.isfinite(test.critical):
        ci_note = (f"retained constant effects: mean ± {test.critical:.3g} × the leave-one-year-out pre RMSPE "
                   "(the studentised test inverted)")
    else:
        ci_note = f"{n} placebos cannot reach p ≤ {cfg['alpha']}: every effect is retained"
    details = {
        "statistic": STATISTIC,
        "statistic_value": test.stats.statistic,
        "critical_value": test.critical,
        "window": list(window),
        "weights": {str(k): float(v) for k, v in weights.items()},
        "actual": unit.by_year(np.exp(unit.actual)),
        "synthetic": unit.by_year(np.exp(unit.actual - unit.gap)),
        "gap": unit.by_year(unit.gap),
        "window_gap": {int(t): float(g) for t, g in zip(unit.years[in_window], unit.gap[in_window], strict=True)},
        "estimate_percent": 100 * math.expm1(estimate),
        "pre_rmspe": unit.pre_rmspe,
        "cv_pre_rmspe": unit.cv_pre_rmspe,
        "post_rmspe": test.stats.post_rmspe,
        "rmspe_ratio": test.stats.ratio,
        "rmspe_ratio_p": test.ratio_p,
        "rmspe_ratio_ci": list(test.ratio_ci[:2]),
        "rmspe_ratio_ci_method": test.ratio_ci[2],
        "pre_fit_ratio": unit.cv_level_ratio,
        "ci_method": ci_note,
        "mde_standardised": test.mde_standardised,
        "mde_method": (f"the treated unit's own: {test.mde_standardised:.3g} × its leave-one-year-out pre RMSPE, the "
                       f"smallest constant effect detected with probability {cfg['power']} at alpha {cfg['alpha']} "
                       f"when its standardised noise is drawn from the {n} placebos' standardised mean gaps over "
                       "the window, with both signs (exact over that distribution)"),
        "placebos": placebos.summary(window),
        "placebo_in_time": in_time,
        "conformal": conf,
        "leave_one_out": None,
        "donor_pool": {"rule": rule.key, "label": rule.label, "k": rule.k, "n_candidates": len(donors),
                       "n_donors": len(pool)},
        "donor_pools": [pool_row(unit, test, placebos, len(donors), cfg),
                        *pool_robustness(logs, treated, donors, event, window, cfg, alternatives)],
    }
    if loo:
        frame = leave_one_out(wide, treated, donors, event, cfg, window, groups=loo_groups(donors, cfg),
                              placebos=placebos)
        details["leave_one_out"] = frame.to_dict("records")
    return DesignResult(
        design=DESIGN, outcome=outcome, area=treated, event=int(event), estimate=estimate,
        ci_low=test.ci[0], ci_high=test.ci[1], p_value=test.p_value, p_kind=P_KIND, mde=test.mde,
        n_pre=int(unit.pre.sum()), n_post=int(in_window.sum()), scale=SCALE, checks=checks, details=details,
        estimand=(f"mean gap, treated − synthetic control, over {window[0]}–{window[1]} "
                  "(log points; weights fitted on the pre-event years)"),
        window=window, estimate_p=test.p_value, eq_low=test.eq[0], eq_high=test.eq[1], min_p=1 / (n + 1),
        inferences=_inferences(test, conf, n, window),
    )

