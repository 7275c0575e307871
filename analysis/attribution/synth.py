"""Synthetic control: Scotland, and each Scottish area, against a weighted mix of English and Welsh areas.

Every Scottish partnership took the Community Planning duty on 1 April 2003, so no Scottish area
is untreated; the donors are the English and Welsh areas of the same level (ITL3, or NUTS3 for
series published on the older geography; ``attribution.did`` names the countries). Scotland as a
whole (its ITL1/NUTS1 row) and each Scottish small area is a treated unit in turn.

**Method.** Outcomes are per-head money, so the design works in **logs**: gaps and the estimate are
in log points (0.05 ≈ 5%; exactly ``exp(estimate) − 1``), every year's gap counts the same however
much nominal values have grown, and the synthetic unit is a weighted *geometric* mean of donors.
The weights ``w`` are non-negative, sum to one and minimise the squared distance between the
treated unit's log path and the weighted donors' paths over **all** pre-event years (outcome-only
matching, every year weighted equally; years ``< event`` are "pre", years ``≥ event`` "post").
The estimate is the mean post-event gap, treated − synthetic.

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
equal ``V`` (one SLSQP solve) 0.43 s and about 0.69 s per placebo — about 2 minutes for the ~170
fits a book run needs, before the leave-one-year-out fits below — and its SLSQP stops at whichever
of the many exact minimisers lies nearest its uniform starting point (dense weights on ~90 donors).
Here: (1) the minimum, by ``scipy.optimize.nnls`` on the system augmented with a heavily weighted
sum-to-one row (0.08 ms); (2) the tie-break, a second NNLS that holds the fitted path and the sum
fixed by heavily weighted rows and minimises ``(Σ_j w_j c_j)²`` — the same minimiser as the linear
programme ``min Σ w_j c_j`` because ``c ≥ 0`` (0.3 ms, against 3 ms for HiGHS ``linprog``). On the
338 real fits (both outcomes, every placebo, Scotland and the 23 areas) the weights agree with the
linear programme's to 10⁻¹¹ in all but one, where two vertices tie to 1.5·10⁻⁵ of the tie-break
objective (TLM84, GDP: weights differ by up to 0.05, the mean post gap by 0.001 log points); where
the minimum is not an exact fit, the pre-period SSR is within 6·10⁻⁹ (relative) of SLSQP run with
exact gradients to ``ftol`` 1e-16. ``tests/test_synth.py`` checks the solver against pysyncon,
SLSQP and HiGHS. One outcome — 145 placebos with their leave-one-year-out and placebo-in-time fits,
the MDE search, Scotland and the 23 areas — takes about 1 s.

**Inference.** Placebo-in-space: each donor in turn is treated as if treated, with the remaining
donors as its pool (:func:`placebo_distribution`, computed once per outcome and event and passed to
every :func:`fit`). The statistic is the ratio of post- to pre-period RMSPE (Abadie, Diamond &
Hainmueller 2010), with one change: the pre-period RMSPE is **leave-one-year-out** (each pre-year
predicted by weights fitted on the other pre-years). The in-sample pre RMSPE is zero to rounding
error (below 10⁻⁸ log points) for 85 of the 145 placebos of GDP per head and 72 of GDHI per head,
so the textbook ratio divides by floating-point noise and ranks those units at random; the
cross-validated RMSPE measures what the ratio is meant to — how well the synthetic unit predicts
years it was not fitted on. The in-sample value is still reported. The p-value is
``(1 + #placebo ratios ≥ treated ratio) / (1 + n_placebos)``.

The interval inverts that test: a constant effect δ is retained when the p-value of the treated
unit with δ subtracted from its post-period gaps exceeds ``alpha``. The weights are fitted on the
pre-period only, so only the post RMSPE moves, and the retained set is the closed interval
``mean ± sqrt((c · pre)² − var)`` with ``c`` the critical placebo ratio and ``mean``, ``var`` the
post-gaps' mean and (population) variance. When ``var`` alone exceeds ``(c · pre)²`` no constant
effect is consistent with the gaps and the interval is NaN, with the reason in ``details``.

The MDE (:func:`power.simulated_mde`, common random numbers from ``attribution.seed``,
``attribution.power_simulations`` draws) is the smallest constant effect δ detected with
probability ``power`` at ``alpha``: a draw picks a placebo at random and a random sign, adds ±δ to
its post-period gaps, forms its ratio with its own cross-validated pre RMSPE and ranks it among the
other placebos' ratios. It depends only on the placebos, so it is the design's MDE for a unit
typical of the donor pool and is the same for every treated unit of an outcome.

**Assumptions** (:func:`assumption_checks`): a good pre-period fit (cross-validated pre RMSPE in
money over the mean pre-period level at most ``synth.max_pre_rmspe_ratio``; the in-sample ratio is
trivially met inside the hull); no effect at a placebo-in-time event ``synth.placebo_time_shift``
years early, fitted on pre-event years only and ranked among the donors' placebo-in-time ratios;
the treated unit within the donors' range in every pre-year (a necessary condition for lying in
their convex hull); untreated donors — *not met literally*, untestable, so ``None`` (English Local
Strategic Partnerships and Welsh partnerships: the comparison is between partnership regimes); no
spillovers — untestable, ``None``. The post-event period runs to the last year of data, so it also
contains the Single Outcome Agreements (2008), the financial crisis and the pandemic years: the
estimate is the average gap over all of them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import nnls

from .base import AssumptionCheck, DesignResult
from .did import LSP_CAVEAT, area_level
from .power import Detector, simulated_mde

DESIGN = "synth"
P_KIND = "permutation (placebo-in-space)"
SCALE = "log points"
STATISTIC = "post-period RMSPE / leave-one-year-out pre-period RMSPE"
#: Weight of the rows that hold a constraint in the augmented NNLS systems (the gaps are rescaled
#: to at most 1 in absolute value first). Larger is more exact; with 1e8 the tie-break matches the
#: linear programme's solution to 10⁻¹¹ on the real data (module docstring).
CONSTRAINT_WEIGHT = 1e8
#: Weights below this are set to zero (solver rounding) before renormalising.
WEIGHT_FLOOR = 1e-9
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
    scotland: str


def prepare(panel_df: pd.DataFrame, areas_df: pd.DataFrame, outcome: str, cfg: dict) -> SynthProblem:
    """The wide frame for ``outcome``: donors, the Scottish small areas and Scotland as a whole.

    ``cfg`` is the ``attribution`` settings. The level is ``did.area_level`` or its equivalent on
    the other geography (``gdp_per_head`` ITL3, ``gdhi_per_head`` NUTS3); donors are that level's
    areas in ``did.comparison_countries``; Scotland is the ``did.treated_country`` row of the
    matching country level (ITL1 ``TLM`` or NUTS1 ``UKM``).
    """
    dcfg = cfg["did"]
    level = area_level(panel_df, outcome, dcfg["area_level"])
    rows = panel_df[panel_df["indicator"] == outcome]
    country = areas_df.drop_duplicates("area_code").set_index("area_code")["country"]
    small = rows[rows["area_type"] == level]
    small_country = small["area_code"].map(country)
    donors = sorted(small.loc[small_country.isin(dcfg["comparison_countries"]), "area_code"].unique())
    scottish = sorted(small.loc[small_country == dcfg["treated_country"], "area_code"].unique())
    top = rows[rows["area_type"] == COUNTRY_LEVEL[level]]
    whole = top.loc[top["area_code"].map(country) == dcfg["treated_country"], "area_code"].unique()
    if len(whole) != 1 or not donors or not scottish:
        raise ValueError(
            f"{outcome}: need one {COUNTRY_LEVEL[level]} row for {dcfg['treated_country']} and {level} areas on both "
            f"sides; found {len(whole)} country rows, {len(scottish)} treated and {len(donors)} donor areas"
        )
    chosen = rows[rows["area_code"].isin([*donors, *scottish, whole[0]])]
    if chosen["breakdown"].nunique() != 1:
        raise ValueError(f"outcome {outcome!r} has {chosen['breakdown'].nunique()} breakdowns; expected one")
    wide = chosen.pivot(index="year", columns="area_code", values="value").sort_index()
    return SynthProblem(outcome, level, wide, donors, scottish, str(whole[0]))


def _logs(wide: pd.DataFrame, units: Sequence[str]) -> pd.DataFrame:
    """``log`` of the named columns, sorted by year; every value must be positive and present."""
    frame = wide.loc[:, list(units)].sort_index()
    bad = [u for u in units if not (frame[u].notna().all() and (frame[u] > 0).all())]
    if bad:
        raise ValueError(f"areas with missing or non-positive values: {bad[:5]}")
    return np.log(frame)


# --------------------------------------------------------------------------------------------
# weights


def _augmented_nnls(rows: np.ndarray, target: np.ndarray) -> np.ndarray:
    solution, _ = nnls(rows, target, maxiter=50 * rows.shape[1])
    return solution


def simplex_weights(donor_paths: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Weights ``w ≥ 0``, ``Σw = 1`` minimising ``‖target − donor_paths @ w‖²`` (rows: years).

    Of the minimisers, the one minimising ``Σ_j w_j ‖target − donor_paths[:, j]‖²`` (the donors
    nearest the target; see the module docstring). With ``Σw = 1`` the fit is ``‖D w‖²`` for the
    gaps ``D = donor_paths − target``, rescaled to ``max |D| = 1``; both steps are NNLS with the
    constraints as rows of weight :data:`CONSTRAINT_WEIGHT`, and the result is renormalised.
    """
    gaps = donor_paths - target[:, None]
    gaps = gaps / max(np.abs(gaps).max(), np.finfo(float).tiny)
    n_years, n_donors = gaps.shape
    big = CONSTRAINT_WEIGHT
    ones = np.ones(n_donors)
    first = _augmented_nnls(np.vstack([gaps, big * ones]), np.append(np.zeros(n_years), big))
    first /= first.sum()
    distance = (gaps**2).sum(axis=0)
    rows = np.vstack([big * gaps, big * ones, distance])
    weights = _augmented_nnls(rows, np.concatenate([big * (gaps @ first), [big, 0.0]]))
    weights[weights < WEIGHT_FLOOR] = 0.0
    return weights / weights.sum()


@dataclass(frozen=True)
class UnitFit:
    """One unit's synthetic control, in log points.

    ``gap`` is actual − synthetic in every year of ``years``; ``cv_gap`` (pre-event years) is
    actual − the prediction from weights fitted on the *other* pre-event years. ``ratio`` is the
    test statistic, ``post_rmspe / cv_pre_rmspe``; ``cv_level_ratio`` the cross-validated
    pre-period RMSPE in money over the mean pre-event level.
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
    post_rmspe: float
    ratio: float
    cv_level_ratio: float

    @property
    def post(self) -> np.ndarray:
        return self.years >= self.event

    @property
    def post_gaps(self) -> np.ndarray:
        return self.gap[self.post]

    def by_year(self, values: np.ndarray) -> dict[int, float]:
        return {int(t): float(v) for t, v in zip(self.years, values, strict=True)}


def _rmspe(gaps: np.ndarray) -> float:
    return float(np.sqrt(np.mean(gaps**2)))


def _ratio(post_gaps: np.ndarray, pre_rmspe: float) -> float:
    return _rmspe(post_gaps) / pre_rmspe if pre_rmspe > 0 else math.inf


def fit_unit(logs: pd.DataFrame, unit: str, pool: Sequence[str], event: int) -> UnitFit:
    """Fit ``unit`` (a column of the log frame) on the donors ``pool`` with pre-period ``< event``."""
    years = logs.index.to_numpy()
    pre = years < event
    n_pre = int(pre.sum())
    if n_pre < 2 or n_pre == len(pre):
        raise ValueError(f"event {event}: need at least two pre-event years and one post-event year, have {n_pre} "
                         f"of {len(pre)}")
    paths, target = logs[list(pool)].to_numpy(), logs[unit].to_numpy()
    pre_paths, pre_target = paths[pre], target[pre]
    weights = simplex_weights(pre_paths, pre_target)
    cv = np.empty(n_pre)
    for k in range(n_pre):
        keep = np.arange(n_pre) != k
        cv[k] = pre_target[k] - pre_paths[k] @ simplex_weights(pre_paths[keep], pre_target[keep])
    gap = target - paths @ weights
    level = np.exp(pre_target)
    cv_pre = _rmspe(cv)
    return UnitFit(
        unit=unit, event=event, years=years, weights=pd.Series(weights, index=list(pool)), actual=target, gap=gap,
        cv_gap=cv, pre_rmspe=_rmspe(gap[pre]), cv_pre_rmspe=cv_pre, post_rmspe=_rmspe(gap[~pre]),
        ratio=_ratio(gap[~pre], cv_pre),
        cv_level_ratio=_rmspe(level - np.exp(pre_target - cv)) / float(level.mean()),
    )


# --------------------------------------------------------------------------------------------
# placebos and inference


def rank_p(statistic: float, null: np.ndarray) -> float:
    """``(1 + #null ≥ statistic) / (1 + len(null))``."""
    return float((1 + np.sum(null >= statistic)) / (1 + len(null)))


def _ratios(fits: dict[str, UnitFit]) -> np.ndarray:
    return np.array([f.ratio for f in fits.values()])


@dataclass(frozen=True)
class Placebos:
    """Every placebo unit's fit at ``event`` (each donor on the remaining donors), and the MDE.

    ``in_time_fits`` are the same units' fits at the placebo-in-time event ``in_time_event``, on
    pre-event years only (empty, and the event ``None``, with fewer than two years before it).
    """

    event: int
    donors: tuple[str, ...]
    fits: dict[str, UnitFit]
    mde: float
    in_time_event: int | None
    in_time_fits: dict[str, UnitFit]

    def summary(self) -> dict[str, object]:
        return {
            "event": self.event,
            "n": len(self.fits),
            "ratio": {u: f.ratio for u, f in self.fits.items()},
            "cv_pre_rmspe": {u: f.cv_pre_rmspe for u, f in self.fits.items()},
            "gap": {u: f.by_year(f.gap) for u, f in self.fits.items()},
        }


def _placebo_units(donors: Sequence[str], cfg: dict) -> list[str]:
    """All donors (``synth.placebos: all``) or a seeded sample of that many."""
    wanted = cfg["synth"]["placebos"]
    if wanted == "all" or int(wanted) >= len(donors):
        return list(donors)
    rng = np.random.default_rng(cfg["seed"])
    return sorted(rng.choice(list(donors), size=int(wanted), replace=False).tolist())


def mde_detector(fits: Sequence[UnitFit], alpha: float) -> Detector:
    """The simulated test for :func:`power.simulated_mde` (see the module docstring)."""
    post = [f.post_gaps for f in fits]
    pre = np.array([f.cv_pre_rmspe for f in fits])
    ratios = np.array([f.ratio for f in fits])

    def detect(effect: float, rng: np.random.Generator) -> bool:
        i = int(rng.integers(len(fits)))
        sign = 1.0 if rng.random() < 0.5 else -1.0
        shifted = _ratio(post[i] + sign * effect, pre[i])
        return rank_p(shifted, np.delete(ratios, i)) <= alpha

    return detect


def _placebo_fits(logs: pd.DataFrame, donors: Sequence[str], units: Sequence[str], event: int) -> dict[str, UnitFit]:
    return {u: fit_unit(logs, u, [d for d in donors if d != u], event) for u in units}


def placebo_distribution(wide: pd.DataFrame, donors: Sequence[str], event: int, cfg: dict) -> Placebos:
    """The placebo-in-space runs for ``event``, and for the placebo-in-time event; once per outcome.

    ``wide`` is years × areas in money (logged here); ``cfg`` the ``attribution`` settings.
    """
    logs = _logs(wide, donors)
    units = _placebo_units(donors, cfg)
    fits = _placebo_fits(logs, donors, units, event)
    scale = float(np.median([f.post_rmspe for f in fits.values()]))
    mde = simulated_mde(mde_detector(list(fits.values()), cfg["alpha"]), power=cfg["power"],
                        n=int(cfg["power_simulations"]), seed=int(cfg["seed"]), scale=scale)
    fake = event - int(cfg["synth"]["placebo_time_shift"])
    early = logs[logs.index < event]
    if (early.index < fake).sum() < 2:
        return Placebos(event, tuple(donors), fits, mde, None, {})
    return Placebos(event, tuple(donors), fits, mde, fake, _placebo_fits(early, donors, units, fake))


def permutation_interval(post_gaps: np.ndarray, pre_rmspe: float, null: np.ndarray,
                         alpha: float) -> tuple[float, float, str]:
    """Constant effects not rejected by the placebo test, as ``(low, high, note)`` (see module docstring)."""
    n = len(null)
    m = math.floor(alpha * (n + 1))  # retain δ iff at least m placebo ratios are ≥ its ratio
    if m == 0:
        return -math.inf, math.inf, f"{n} placebos cannot reject at alpha = {alpha}: every effect is retained"
    critical = np.sort(null)[::-1][m - 1]
    room = (critical * pre_rmspe) ** 2 - float(np.var(post_gaps))
    if room < 0:
        return math.nan, math.nan, ("no constant effect is retained: the post-period gaps vary too much about "
                                    "their mean for any constant shift to pass the placebo test")
    centre, half = float(np.mean(post_gaps)), math.sqrt(room)
    return centre - half, centre + half, "retained constant effects (test inversion)"


# --------------------------------------------------------------------------------------------
# assumption checks


def assumption_checks(treated: UnitFit, logs: pd.DataFrame, donors: Sequence[str], placebos: Placebos,
                      cfg: dict) -> tuple[list[AssumptionCheck], dict[str, object] | None]:
    """The design's checks, and the placebo-in-time result (``None`` when it cannot be run)."""
    alpha, limit = cfg["alpha"], cfg["synth"]["max_pre_rmspe_ratio"]
    fit_ratio = treated.cv_level_ratio
    checks = [AssumptionCheck(
        "good pre-period fit", fit_ratio <= limit,
        f"leave-one-year-out pre-period RMSPE is {fit_ratio:.2%} of the mean pre-event level (limit {limit:.0%}); "
        f"in-sample {treated.pre_rmspe:.2g} log points (near zero whenever the unit is inside the donors' hull)",
        statistic=fit_ratio,
    )]

    in_time = None
    fake = placebos.in_time_event
    if fake is None:
        checks.append(AssumptionCheck("placebo-in-time shows no effect", None,
                                      "fewer than two years before the placebo-in-time event"))
    else:
        early = fit_unit(logs[logs.index < placebos.event], treated.unit, donors, fake)
        n_in_time = len(placebos.in_time_fits)
        p = rank_p(early.ratio, _ratios(placebos.in_time_fits))
        in_time = {"event": fake, "estimate": float(early.post_gaps.mean()), "ratio": early.ratio, "p_value": p,
                   "n_placebos": n_in_time, "gap": early.by_year(early.gap)}
        checks.append(AssumptionCheck(
            "placebo-in-time shows no effect", p > alpha,
            f"a fake event in {fake} (fitted on years before {placebos.event} only): mean gap "
            f"{in_time['estimate']:+.3f} log points, ratio ranked among {n_in_time} donors' "
            f"placebo-in-time ratios, p = {p:.3f} (alpha {alpha})",
            statistic=early.ratio, p_value=p,
        ))

    pre = ~treated.post
    donor_paths = logs[list(donors)].to_numpy()[pre]
    value = treated.actual[pre]
    inside = (donor_paths.min(axis=1) <= value) & (value <= donor_paths.max(axis=1))
    outside = [int(t) for t in treated.years[pre][~inside]]
    checks.append(AssumptionCheck(
        "treated unit within the donors' range", not outside,
        "every pre-event year lies between the donors' minimum and maximum" if not outside
        else f"outside the donors' range in {outside}: no convex combination can reproduce those years",
        statistic=float(len(outside)),
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


def fit(wide: pd.DataFrame, treated: str, donors: Sequence[str], event: int, *, outcome: str, cfg: dict,
        placebos: Placebos | None = None) -> DesignResult:
    """Synthetic control for ``treated`` against ``donors`` (columns of ``wide``, years × areas, in money).

    ``cfg`` is the ``attribution`` settings. ``placebos`` from :func:`placebo_distribution` for the
    same donors and event is reused; without it the placebo runs are computed here. The estimate,
    interval and MDE are in log points.
    """
    donors = list(donors)
    if treated in donors:
        raise ValueError(f"{treated} is among its own donors")
    if placebos is None:
        placebos = placebo_distribution(wide, donors, event, cfg)
    elif placebos.event != event or list(placebos.donors) != donors:
        raise ValueError("the placebo distribution was computed for another event or donor pool")
    logs = _logs(wide, [treated, *donors])
    unit = fit_unit(logs, treated, donors, event)
    alpha, null = cfg["alpha"], _ratios(placebos.fits)
    ci_low, ci_high, ci_note = permutation_interval(unit.post_gaps, unit.cv_pre_rmspe, null, alpha)
    checks, in_time = assumption_checks(unit, logs, donors, placebos, cfg)
    estimate = float(unit.post_gaps.mean())
    weights = unit.weights[unit.weights > 0].sort_values(ascending=False)
    details = {
        "statistic": STATISTIC,
        "weights": {str(k): float(v) for k, v in weights.items()},
        "actual": unit.by_year(np.exp(unit.actual)),
        "synthetic": unit.by_year(np.exp(unit.actual - unit.gap)),
        "gap": unit.by_year(unit.gap),
        "estimate_percent": 100 * math.expm1(estimate),
        "pre_rmspe": unit.pre_rmspe,
        "cv_pre_rmspe": unit.cv_pre_rmspe,
        "post_rmspe": unit.post_rmspe,
        "rmspe_ratio": unit.ratio,
        "pre_fit_ratio": unit.cv_level_ratio,
        "ci_method": ci_note,
        "mde_method": (f"simulated: {cfg['power_simulations']} draws of a random placebo's post-period gaps "
                       f"± δ ranked among the other placebos (seed {cfg['seed']})"),
        "placebos": placebos.summary(),
        "placebo_in_time": in_time,
    }
    return DesignResult(
        design=DESIGN, outcome=outcome, area=treated, event=int(event), estimate=estimate,
        ci_low=ci_low, ci_high=ci_high, p_value=rank_p(unit.ratio, null), p_kind=P_KIND, mde=placebos.mde,
        n_pre=int((~unit.post).sum()), n_post=int(unit.post.sum()), scale=SCALE, checks=checks, details=details,
    )
