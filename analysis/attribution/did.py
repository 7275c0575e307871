"""Difference-in-differences and event study: Scottish areas against English and Welsh areas.

Every Scottish partnership took the Community Planning duty on the same day (1 April 2003), so no
Scottish area is an untreated control. The comparison group is areas elsewhere in Great Britain:
the small statistical areas (ITL3, or NUTS3 for series published on the older geography) of
England and Wales, against the same level of area in Scotland. Northern Ireland is left out
(settings: ``attribution.did.comparison_countries``).

The model (two-way fixed effects, one common event date, no staggering)::

    y_it = a_i + g_t + b · (treated_i × post_t) + e_it,        post_t = 1[t ≥ event]

with ``y`` the log of the outcome (``attribution.did.log_outcome``), so that ``b`` is in **log
points**: ``b ≈ 0.05`` means the treated areas' outcome rose about 5% (exactly ``exp(b) − 1``)
more than the comparison areas' between the pre- and post-event years. The event study replaces
the single ``treated × post`` term by one term per year relative to the event, within
``attribution.did.event_window`` (the end points binned: every year at or before the first, and
at or after the last, share a coefficient), with event time −1 as the omitted reference.

Assumptions, and how each is checked (:func:`assumption_checks`):

* **parallel trends** — without the duty, Scottish and comparison areas would have moved in
  parallel. Untestable after the event; before it, a joint Wald test that the event-study leads
  are zero. Not rejecting is weak evidence: the test only has power against differential
  pre-trends of about the leads' MDE (reported).
* **no anticipation** — nothing changed in Scotland before the duty took effect. The Local
  Government in Scotland Bill passed on 8 January 2003 and the duty was trailed before that, so
  an anticipation response would fall at event times −1 and −2; −1 is the reference, so only the
  −2 lead can be inspected, and the check is reported as untestable with that lead in the detail.
* **untreated comparison areas** — *not met in the literal sense*. English Local Strategic
  Partnerships were set up from 2001 and Wales had its own community strategies and partnership
  duties, so the comparison areas had partnership arrangements of their own. The estimate is the
  difference between the Scottish statutory regime and the English/Welsh partnership regimes,
  not the effect of Community Planning against no partnership working.
* **stable composition** — the same areas in every year (a balanced panel); checked.

Inference: standard errors clustered by area (every area's errors may be serially correlated
over all years), computed by :class:`linearmodels.panel.PanelOLS` with both small-sample
adjustments (``debiased``: n/(n − effects − regressors); ``group_debias``: G/(G − 1)·(n − 1)/n —
Stata's ``vce(cluster)``). Intervals, p-values and the pre-trend F test use min(treated areas,
comparison areas) − 1 degrees of freedom rather than the usual G − 1 (:func:`inference_df`): with
about 20 treated areas, G − 1 left the joint pre-trend test over-sized (0.10 at a nominal 0.05 in
simulation); the choice errs towards wider intervals and towards failing the pre-trend check,
that is, against attributing an effect. Simulated properties are in ``tests/test_did.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .base import AssumptionCheck, DesignResult
from .power import analytic_mde

DID = "did"
EVENT_STUDY = "event_study"
P_KIND = "analytic (area-clustered)"
COLUMNS = ["area_code", "country", "year", "y", "treated"]
#: The same level of area on the two geographies (ITL replaced NUTS in the UK in 2021).
LEVEL_EQUIVALENTS = {
    "itl3": "nuts3",
    "nuts3": "itl3",
    "itl2": "nuts2",
    "nuts2": "itl2",
    "itl1": "nuts1",
    "nuts1": "itl1",
}
LSP_CAVEAT = (
    "English Local Strategic Partnerships (from 2001) and Welsh community strategy partnerships mean "
    "the comparison areas had partnership regimes of their own: the estimate is the difference "
    "between the Scottish statutory duty and those regimes, not the effect of Community Planning "
    "against no partnership working"
)


# --------------------------------------------------------------------------------------------
# data


def area_level(panel_df: pd.DataFrame, outcome: str, level: str) -> str:
    """The level of area to use for ``outcome``: ``level``, or its equivalent on the other geography.

    ``gdp_per_head`` is published for ITL3 areas and ``gdhi_per_head`` (to 2018) for NUTS3 areas;
    the configured level (``itl3``) is matched to whichever of the pair the outcome has.
    """
    types = set(panel_df.loc[panel_df["indicator"] == outcome, "area_type"])
    if not types:
        raise ValueError(f"outcome {outcome!r} is not in the panel")
    for candidate in (level, LEVEL_EQUIVALENTS.get(level)):
        if candidate in types:
            return candidate
    raise ValueError(f"outcome {outcome!r} has no {level} areas (it has {sorted(types)})")


def prepare(panel_df: pd.DataFrame, areas_df: pd.DataFrame, outcome: str, cfg: dict) -> pd.DataFrame:
    """The long frame for the designs: one row per area and year (columns :data:`COLUMNS`).

    ``cfg`` is the ``attribution`` section of the settings. Areas of the configured level (or its
    equivalent, :func:`area_level`) in the treated country get ``treated = 1``, those in the
    comparison countries ``treated = 0``; other countries are dropped. ``y`` is ``log(value)`` when
    ``did.log_outcome`` is set (effects in log points, ≈ proportional changes), else ``value``.

    Raises ``ValueError`` if either group is empty, an area–year appears twice, or a value cannot
    be logged.
    """
    dcfg = cfg["did"]
    level = area_level(panel_df, outcome, dcfg["area_level"])
    rows = panel_df[(panel_df["indicator"] == outcome) & (panel_df["area_type"] == level)]
    breakdowns = rows["breakdown"].unique()
    if len(breakdowns) != 1:
        raise ValueError(f"outcome {outcome!r} has {len(breakdowns)} breakdowns at {level}; expected one")
    country = areas_df.drop_duplicates("area_code").set_index("area_code")["country"]
    frame = rows[["area_code", "year", "value"]].assign(country=rows["area_code"].map(country))
    treated, comparison = dcfg["treated_country"], list(dcfg["comparison_countries"])
    no_country = frame.loc[frame["country"].isna(), "area_code"].unique()
    if len(no_country):
        raise ValueError(f"areas with no country in the areas table: {sorted(no_country)[:5]}")
    frame = frame[frame["country"].isin([treated, *comparison])]
    if dcfg["log_outcome"]:
        if not (frame["value"] > 0).all():
            raise ValueError(f"outcome {outcome!r} has non-positive values and cannot be logged")
        frame = frame.assign(y=np.log(frame["value"]))
    else:
        frame = frame.assign(y=frame["value"])
    frame = frame.assign(treated=(frame["country"] == treated).astype(int))
    out = frame[COLUMNS].sort_values(["area_code", "year"], ignore_index=True)
    validate(out, f"{outcome} at {level} ({treated} against {', '.join(comparison)})")
    return out


def validate(df: pd.DataFrame, what: str = "the design frame") -> None:
    """Raise ``ValueError`` unless ``df`` can be fitted: both groups present, one row per area–year,
    finite outcomes, and treatment fixed within each area."""
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{what} lacks columns {missing}")
    dup = df.duplicated(["area_code", "year"], keep=False)
    if dup.any():
        first = df[dup].iloc[0]
        raise ValueError(f"{what} has duplicate rows for area {first['area_code']} in {first['year']}")
    if not np.isfinite(df["y"].to_numpy(dtype=float)).all():
        raise ValueError(f"{what} has missing or infinite outcome values")
    if not df["treated"].isin([0, 1]).all() or (df.groupby("area_code")["treated"].nunique() > 1).any():
        raise ValueError(f"{what}: 'treated' must be 0 or 1 and fixed within each area")
    groups = df.drop_duplicates("area_code")["treated"]
    if not (groups == 1).any():
        raise ValueError(f"{what} has no treated areas (treated == 1)")
    if not (groups == 0).any():
        raise ValueError(f"{what} has no comparison areas (treated == 0)")


# --------------------------------------------------------------------------------------------
# estimation


@dataclass(frozen=True)
class TwfeFit:
    """Coefficients and clustered covariance of one two-way FE regression, and the degrees of
    freedom for its t and F inference (:func:`inference_df`)."""

    params: pd.Series
    cov: pd.DataFrame
    df: int


def inference_df(df: pd.DataFrame) -> int:
    """Degrees of freedom for t and F inference: the smaller group's number of areas, less one.

    With few treated clusters the cluster-robust variance is only as good as the treated group's
    scores allow (MacKinnon & Webb 2017): the usual G − 1 (G all areas) gave a pre-trend Wald test
    of size 0.10 at a nominal 0.05 with 20 treated areas in 5,000 simulated panels, and t(G − 1)
    tests of size 0.055–0.058; with min(treated, comparison) − 1 they were about 0.06 and 0.045.
    """
    groups = df.drop_duplicates("area_code")["treated"]
    return int(min((groups == 1).sum(), (groups == 0).sum())) - 1


def twfe(df: pd.DataFrame, regressors: pd.DataFrame) -> TwfeFit:
    """``y`` on ``regressors`` with area and year effects; covariance clustered by area.

    :class:`linearmodels.panel.PanelOLS` with ``entity_effects``, ``time_effects``,
    ``cov_type="clustered"``, ``cluster_entity=True``, ``debiased=True`` and ``group_debias=True``.
    """
    index = pd.MultiIndex.from_arrays([df["area_code"], df["year"]], names=["area_code", "year"])
    y = pd.Series(df["y"].to_numpy(dtype=float), index=index, name="y")
    x = regressors.set_axis(index).astype(float)
    from linearmodels.panel import PanelOLS  # imported here: it takes over a second, and most callers read the cache

    res = PanelOLS(y, x, entity_effects=True, time_effects=True).fit(
        cov_type="clustered", cluster_entity=True, debiased=True, group_debias=True
    )
    return TwfeFit(params=res.params, cov=res.cov, df=inference_df(df))


def t_inference(estimate: float, se: float, df: int, alpha: float) -> tuple[float, float, float]:
    """``(ci_low, ci_high, p)``: two-sided, Student's t with ``df`` degrees of freedom."""
    q = stats.t.ppf(1 - alpha / 2, df)
    p = 2 * stats.t.sf(abs(estimate / se), df)
    return float(estimate - q * se), float(estimate + q * se), float(p)


def wald(fit: TwfeFit, names: list[str]) -> dict[str, float]:
    """Joint test that the coefficients ``names`` are all zero.

    ``statistic`` is the Wald χ² form ``b' V⁻¹ b`` with ``df`` = number of coefficients; the p-value
    refers ``statistic / df`` to F(df, ``fit.df``), the small-sample analogue of the t inference.
    """
    b = fit.params[names].to_numpy()
    v = fit.cov.loc[names, names].to_numpy()
    w = float(b @ np.linalg.solve(v, b))
    q = len(names)
    return {"statistic": w, "df": q, "df_denom": fit.df, "p": float(stats.f.sf(w / q, q, fit.df))}


def event_time_dummies(df: pd.DataFrame, event: int, window: tuple[int, int]) -> pd.DataFrame:
    """``treated × 1[binned event time = k]`` for every k in ``window`` except the reference −1.

    Event time is ``year − event``, clipped to ``window`` (so the end points collect every earlier
    or later year). Event times with no observations are left out. Columns are named ``es_<k>``.
    """
    lo, hi = window
    if not lo < -1 < 0 <= hi:
        raise ValueError(f"event window {window} must start before −1 and end at or after 0")
    rel = (df["year"] - event).clip(lo, hi).to_numpy()
    treated = df["treated"].to_numpy()
    present = set(rel)
    return pd.DataFrame(
        {f"es_{k}": treated * (rel == k) for k in range(lo, hi + 1) if k != -1 and k in present},
        index=df.index,
    )


def _check_event(df: pd.DataFrame, event: int) -> tuple[int, int]:
    years = df["year"]
    n_pre, n_post = int(years[years < event].nunique()), int(years[years >= event].nunique())
    if n_pre < 1 or n_post < 1:
        raise ValueError(f"event {event} needs years before and after it; the data run {years.min()}–{years.max()}")
    return n_pre, n_post


@dataclass(frozen=True)
class EventStudy:
    """An event-study fit, its coefficient table and the joint pre-trend test of its leads."""

    fit: TwfeFit
    table: pd.DataFrame  # rel_year, label, coef, se, ci_low, ci_high, p
    pretrend: dict[str, float] | None


def event_study(df: pd.DataFrame, event: int, window: tuple[int, int], alpha: float) -> EventStudy:
    """Fit the event-study regression and test the leads (event times before −1) jointly."""
    if not (df["year"] == event - 1).any():
        raise ValueError(f"the reference year {event - 1} (event time −1) is not in the data")
    dummies = event_time_dummies(df, event, window)
    fit = twfe(df, dummies)
    lo, hi = window
    rows = []
    for name in dummies.columns:
        k = int(name.removeprefix("es_"))
        coef, se = float(fit.params[name]), float(np.sqrt(fit.cov.loc[name, name]))
        ci_low, ci_high, p = t_inference(coef, se, fit.df, alpha)
        label = f"≤{k}" if k == lo else f"≥{k}" if k == hi else str(k)
        rows.append(
            {"rel_year": k, "label": label, "coef": coef, "se": se, "ci_low": ci_low, "ci_high": ci_high, "p": p}
        )
    table = pd.DataFrame(rows)
    leads = [name for name, k in zip(dummies.columns, table["rel_year"], strict=True) if k < -1]
    return EventStudy(fit=fit, table=table, pretrend=wald(fit, leads) if leads else None)


# --------------------------------------------------------------------------------------------
# assumption checks


def assumption_checks(df: pd.DataFrame, es: EventStudy, alpha: float, power: float) -> list[AssumptionCheck]:
    """Parallel pre-trends, no anticipation, untreated comparison areas, stable composition."""
    leads = es.table[es.table["rel_year"] < -1]
    if es.pretrend is None:
        pretrend = AssumptionCheck(
            "parallel pre-trends", None, "no pre-event year besides the reference year −1: pre-trends cannot be tested"
        )
    else:
        w = es.pretrend
        mdes = [analytic_mde(se, alpha, power, df=es.fit.df) for se in leads["se"]]
        verdict = "rejected" if w["p"] < alpha else "not rejected"
        pretrend = AssumptionCheck(
            "parallel pre-trends",
            bool(w["p"] >= alpha),
            f"joint Wald test that the {w['df']} event-study leads (event times {', '.join(leads['label'])}; "
            f"reference −1) are zero: χ² = {w['statistic']:.2f}, p = {w['p']:.3g} (F({w['df']}, {w['df_denom']})), "
            f"{verdict} at {alpha}. Each lead could detect (at {power:.0%} power) a treated–comparison gap, "
            f"relative to event time −1, of {min(mdes):.3g}–{max(mdes):.3g}; smaller ones would go unseen.",
            statistic=w["statistic"],
            p_value=w["p"],
        )
    lead2 = leads[leads["rel_year"] == -2]
    if lead2.empty:
        anticipation = AssumptionCheck(
            "no anticipation", None, "no event time −2 in the data; anticipation of the 2003 duty cannot be inspected"
        )
    else:
        r = lead2.iloc[0]
        anticipation = AssumptionCheck(
            "no anticipation",
            None,
            "the duty was trailed before the Local Government in Scotland Bill passed (8 January 2003), "
            "so any anticipation falls at event times −2 and −1; −1 is the reference and cannot be tested "
            "(a response there shifts the baseline and biases the estimates). "
            f"Lead −2: {r['coef']:.4f} (CI {r['ci_low']:.4f} to {r['ci_high']:.4f}), p = {r['p']:.3g}.",
            statistic=float(r["coef"]),
            p_value=float(r["p"]),
        )
    untreated = AssumptionCheck("comparison areas untreated", None, LSP_CAVEAT + ".")
    per_area = df.groupby("area_code")["year"].nunique()
    n_years = df["year"].nunique()
    balanced = bool((per_area == n_years).all())
    composition = AssumptionCheck(
        "stable composition",
        balanced,
        f"{len(per_area)} areas over {n_years} years ({df['year'].min()}–{df['year'].max()}): "
        + (
            "every area observed in every year (balanced panel)"
            if balanced
            else f"{int((per_area < n_years).sum())} areas are missing years (unbalanced panel)"
        ),
    )
    return [pretrend, anticipation, untreated, composition]


# --------------------------------------------------------------------------------------------
# designs


def _window(cfg: dict) -> tuple[int, int]:
    lo, hi = cfg["did"]["event_window"]
    return int(lo), int(hi)


def _scale(cfg: dict) -> str:
    return "log points" if cfg["did"]["log_outcome"] else "level"


def _sample(df: pd.DataFrame) -> dict[str, int]:
    groups = df.drop_duplicates("area_code")["treated"]
    return {"n_treated": int((groups == 1).sum()), "n_comparison": int((groups == 0).sum()), "n_obs": len(df)}


def fit_did(df: pd.DataFrame, event: int, *, outcome: str, area: str, cfg: dict) -> DesignResult:
    """Two-way fixed-effects difference-in-differences: ``y ~ area + year + treated × post``.

    ``df`` is a frame from :func:`prepare`; ``cfg`` the ``attribution`` settings. The estimate is
    the coefficient on ``treated × post`` (``post = year ≥ event``), in log points when the outcome
    is logged; its interval and p-value use the area-clustered SE with Student's t on
    :func:`inference_df` degrees of freedom; the MDE is
    :func:`~analysis.attribution.power.analytic_mde` of that SE on the same degrees of freedom.
    The parallel pre-trends check comes from the event-study leads on the same data
    (:func:`event_study`), so that both designs are judged by the same pre-trend test. The
    comparison is against English and Welsh partnership regimes, not against no partnership (see
    the module docstring).
    """
    validate(df)
    n_pre, n_post = _check_event(df, event)
    post = (df["year"] >= event).astype(int) * df["treated"]
    fit = twfe(df, pd.DataFrame({"treated_x_post": post}))
    est, se = float(fit.params["treated_x_post"]), float(np.sqrt(fit.cov.loc["treated_x_post", "treated_x_post"]))
    es = event_study(df, event, _window(cfg), cfg["alpha"])
    return _result(DID, df, event, (n_pre, n_post), est, se, fit.df, es, cfg, outcome=outcome, area=area)


def fit_event_study(df: pd.DataFrame, event: int, *, outcome: str, area: str, cfg: dict) -> DesignResult:
    """Event study: ``y ~ area + year + Σ_k treated × 1[event time = k]``, k in the window, k ≠ −1.

    Event times are binned at the window's ends (``≤ first``, ``≥ last``) and −1 is the omitted
    reference, so each coefficient is the treated–comparison gap in that event time relative to
    the gap in the year before the event. The **estimate** is the equal-weight average of the
    post-event coefficients (event times 0 … last, the binned end point counted once), with its
    SE from the clustered covariance (``w' V w``). ``details["coefficients"]`` lists every
    coefficient (rel_year, label, coef, se, ci_low, ci_high, p); ``details["pretrend_wald"]`` is
    the joint test that the leads are zero. Same fixed effects, clustering and caveats as
    :func:`fit_did`.
    """
    validate(df)
    n_pre, n_post = _check_event(df, event)
    es = event_study(df, event, _window(cfg), cfg["alpha"])
    lags = [f"es_{k}" for k in es.table.loc[es.table["rel_year"] >= 0, "rel_year"]]
    w = np.full(len(lags), 1 / len(lags))
    est = float(w @ es.fit.params[lags].to_numpy())
    se = float(np.sqrt(w @ es.fit.cov.loc[lags, lags].to_numpy() @ w))
    return _result(
        EVENT_STUDY, df, event, (n_pre, n_post), est, se, es.fit.df, es, cfg, outcome=outcome, area=area,
        estimate_is="equal-weight mean of the post-event coefficients (event times 0 to the binned last)",
        reference_rel_year=-1, window=list(_window(cfg)), coefficients=es.table.to_dict("records"),
    )


def _result(design: str, df: pd.DataFrame, event: int, n: tuple[int, int], est: float, se: float, dof: int,
            es, cfg: dict, *, outcome: str, area: str, **details) -> DesignResult:
    """The result both designs report: t inference and MDE on ``dof``, the shared pre-trend checks."""
    alpha, power = cfg["alpha"], cfg["power"]
    ci_low, ci_high, p = t_inference(est, se, dof, alpha)
    return DesignResult(
        design=design,
        outcome=outcome,
        area=area,
        event=event,
        estimate=est,
        ci_low=ci_low,
        ci_high=ci_high,
        p_value=p,
        p_kind=P_KIND,
        mde=analytic_mde(se, alpha, power, df=dof),
        n_pre=n[0],
        n_post=n[1],
        scale=_scale(cfg),
        checks=assumption_checks(df, es, alpha, power),
        details={"se": se, "df": dof, **_sample(df), **details, "pretrend_wald": es.pretrend, "caveat": LSP_CAVEAT},
    )
