"""Difference-in-differences and event study: Scottish areas against English and Welsh areas, with
the country as the unit of treatment.

Every Scottish partnership took the Community Planning duty on the same day (1 April 2003), so no
Scottish area is an untreated control. The comparison group is areas elsewhere in Great Britain,
at one of two levels (``attribution.did.area_level``, or a test's own ``area_level``):

* ``itl3``: the small statistical areas (ITL3, or NUTS3 for series published on the older
  geography) of England and Wales, against the 23 Scottish ones, which merge partnerships;
* ``district`` (:data:`DISTRICT`): the local authority districts of Great Britain
  (:mod:`analysis.data.districts`): Scotland's 32 council areas, the partnerships themselves (area type
  ``council``), against England's 296 and Wales's 22 districts (area type ``lad``), on the ONS's
  current-vintage district series.

Northern Ireland is left out (settings: ``attribution.did.comparison_countries``). Each area's
region (:func:`region_of`) comes from the ITL hierarchy for ITL/NUTS codes and from the district
table for districts; either way England's nine regions and Wales are the placebo regions. The
settings make the district comparison the primary (confirmatory) one and keep the ITL3/NUTS3 one
beside it as exploratory: the partnership is the unit, and the series are one current vintage on
one set of boundaries for the whole period (the reasons are in the Methods appendix).

**Model** (two-way fixed effects, one common event date, no staggering)::

    y_it = a_i + g_t + b · (treated_i × post_t) + e_it,        post_t = 1[t ≥ event]

with ``y`` the log of the outcome (``attribution.did.log_outcome``), so that ``b`` is in log
points (``exp(b) − 1`` is the proportional change). The event study replaces the single term by
one per year relative to the event, within ``attribution.did.event_window`` (end points binned),
event time −1 the reference; its estimate is the equal-weight mean of the post-event
coefficients. Data after the post-event window (``window``; the primary window of the settings,
or every post-event year) are not used.

**Inference: the country is the unit of treatment.** Treatment is assigned to one country, and
shocks are shared within countries and regions, so errors clustered by area treat 23 (ITL3) or 32 (districts)
correlated Scottish areas as if they were independent: on null panels with region-by-year shocks the
area-clustered test rejects far more often than its nominal level (``tests/attribution/test_did.py``). The
verdict therefore rests on design-based inference across the regions of Great Britain
(:mod:`analysis.data.regions`: England's nine regions and Wales). Each comparison region in turn is
treated as if it were Scotland — the same estimator, its areas as the treated group, the other
comparison regions' areas as controls (Scotland left out) — giving ``R`` placebo estimates whose
spread measures how far a country-level estimate moves with no treatment at all (Conley & Taber
2011). Region sizes differ (ITL3: 7 to 21 areas against Scotland's 23; districts: 12 to 64
against Scotland's 32), so, following Ferman & Pinto
(2019), each placebo estimate is rescaled to Scotland's size with a variance model
``var(b_g) = A + B·h_g``, ``h_g = 1/M_g + 1/M_controls(g)``, fitted to the placebos' squared
estimates by non-negative least squares (``A`` captures region-by-year shocks, which do not
average out within a region; ``B`` idiosyncratic area noise, which does). Two routes:

* **permutation** (reported): ``p = (1 + #{|b̃_r| ≥ |b_S|}) / (R + 1)``. With ``R = 10`` its smallest
  attainable value is 1/11 ≈ 0.091, above the 5% level: it can never reject, and the book says so;
  its ``1 − 2·alpha`` interval (needing p ≤ 0.1) exists and is reported;
* **t-type** (the verdict's route, continuous p-value): ``t = b_S / s`` with ``s² = mean(b̃_r²)``
  referred to Student's t with ``R − 1`` degrees of freedom. Assumption: Scotland's estimation error
  is normal with the variance of a rescaled placebo region's estimate (the placebo estimates are
  exchangeable draws of it). Interval ``b_S ± t·s``; minimum detectable effect
  ``(t_{1−α/2} + t_{power})·s`` on the same degrees of freedom.

Area-clustered errors (linearmodels ``PanelOLS``, both small-sample adjustments) are kept beside
them for comparison only, labelled as such; with a single treated area they cannot be computed and
say so. A statistic that cannot be computed is never a failed check: it is "cannot be tested".

**Assumptions** (:func:`assumption_checks`):

* **parallel trends** — untestable after the event. Before it, the event-study leads are tested
  jointly against the placebo regions' leads (Hotelling's T², an F test on ``k`` and ``R − k + 1``
  degrees of freedom). This is a *diagnostic*, not a gate: conditioning a verdict on passing a
  pre-test biases what survives (Roth 2022). The verdict reads parallel trends through the
  sensitivity analysis of Rambachan & Roth (2023) instead (:mod:`analysis.attribution.honest`),
  with the covariance of the event-study coefficients estimated from the placebo regions;
* **no anticipation** — the duty was trailed before the Local Government in Scotland Bill passed
  (8 January 2003); event time −1 is the reference, so only lead −2 can be inspected (reported);
* **untreated comparison areas** — *not met in the literal sense*: English Local Strategic
  Partnerships were set up from 2001 and Wales had its own community strategies, so the estimate is
  the difference between partnership regimes, not the effect of partnership working against none;
* **stable composition** — the same areas in every year (a balanced panel), checked; the
  design-based inference needs it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from scipy.optimize import nnls

from analysis.attribution.base import LABEL, REPORTED, VERDICT, AssumptionCheck, DesignResult, Inference
from analysis.data import districts, regions, register
from analysis.errors import UnknownAreaError

DID = "did"
EVENT_STUDY = "event_study"
P_KIND = "t-type test against placebo regions (Conley–Taber, Ferman–Pinto rescaling)"
COLUMNS = ["area_code", "country", "region", "year", "y", "treated"]
#: The same level of area on the two geographies (ITL replaced NUTS in the UK in 2021).
LEVEL_EQUIVALENTS = {"itl3": "nuts3", "nuts3": "itl3", "itl2": "nuts2", "nuts2": "itl2", "itl1": "nuts1",
                     "nuts1": "itl1"}
LSP_CAVEAT = (
    "English Local Strategic Partnerships (from 2001) and Welsh community strategy partnerships mean "
    "the comparison areas had partnership regimes of their own: the estimate is the difference "
    "between the Scottish statutory duty and those regimes, not the effect of Community Planning "
    "against no partnership working"
)
#: Fewer placebo regions than this and the design refuses to give inference.
MIN_PLACEBO_REGIONS = 3
#: The level of the council-level comparison: the local authority districts of Great Britain.
DISTRICT = "district"
#: The panel's area types that make up each level (ITL/NUTS levels are one area type each).
LEVEL_TYPES = {DISTRICT: (register.COUNCIL, districts.AREA_TYPE)}


class Refusal(ValueError):
    """The design cannot give valid inference on these data; the message says why."""


# --------------------------------------------------------------------------------------------
# data


def area_types(level: str) -> tuple[str, ...]:
    """The panel's area types of ``level``: ``council`` and ``lad`` for :data:`DISTRICT`, else the level."""
    return LEVEL_TYPES.get(level, (level,))


def area_level(panel_df: pd.DataFrame, outcome: str, level: str) -> str:
    """The level of area to use for ``outcome``: ``level``, or its equivalent on the other geography.

    ``gdp_per_head`` is published for ITL3 areas and ``gdhi_per_head`` (to 2018) for NUTS3 areas;
    the configured level (``itl3``) is matched to whichever of the pair the outcome has. The
    :data:`DISTRICT` level needs both its area types (the Scottish councils and the English and
    Welsh districts) and has no equivalent.
    """
    types = set(panel_df.loc[panel_df["indicator"] == outcome, "area_type"])
    if not types:
        raise ValueError(f"outcome {outcome!r} is not in the panel")
    if level in LEVEL_TYPES:
        if set(LEVEL_TYPES[level]) <= types:
            return level
        raise ValueError(f"outcome {outcome!r} has no {level} areas (area types {', '.join(LEVEL_TYPES[level])}; it "
                         f"has {sorted(types)})")
    for candidate in (level, LEVEL_EQUIVALENTS.get(level)):
        if candidate in types:
            return candidate
    raise ValueError(f"outcome {outcome!r} has no {level} areas (it has {sorted(types)})")


def level_of(cfg: dict, test: dict | None = None) -> str:
    """The level a test compares: its own ``area_level``, else ``attribution.did.area_level``."""
    return str((test or {}).get("area_level") or cfg["did"]["area_level"])


def region_of(codes: pd.Series, level: str) -> pd.Series:
    """The region of Great Britain of each area code of ``level``.

    Districts (:data:`DISTRICT`) take the region of the district table (:func:`analysis.data.districts.table`:
    England's nine regions; Wales and Scotland their own), which ONS codes of districts do not carry
    in their prefix; ITL/NUTS areas take the region of their ITL1/NUTS1 prefix
    (:func:`analysis.data.regions.region_of`). Either way an area in no region of Great Britain raises
    :class:`~analysis.errors.UnknownAreaError`.
    """
    if level != DISTRICT:
        return regions.region_of(codes)
    by_code = districts.table().set_index("code")["region_name"]
    out = codes.astype(str).map(by_code)
    if out.isna().any():
        bad = codes[out.isna()].iloc[0]
        raise UnknownAreaError(f"area {bad} is not a current district of Great Britain, so it has no region",
                               file=districts.LOOKUP_FILE, column="LADCD")
    return out


def prepare(panel_df: pd.DataFrame, areas_df: pd.DataFrame, outcome: str, cfg: dict, *,
            level: str | None = None) -> pd.DataFrame:
    """The long frame for the designs: one row per area and year (columns :data:`COLUMNS`).

    ``cfg`` is the ``attribution`` section of the settings; ``level`` the level of area compared
    (default ``did.area_level``; :data:`DISTRICT` for the council-level comparison). Areas of the
    level in the treated country get ``treated = 1``, those in the comparison countries
    ``treated = 0``; other countries are dropped. ``region`` is each area's region of Great Britain
    (:func:`region_of`). ``y`` is ``log(value)`` when ``did.log_outcome`` is set.

    Raises ``ValueError`` if either group is empty, an area–year appears twice, or a value cannot
    be logged.
    """
    dcfg = cfg["did"]
    level = area_level(panel_df, outcome, level or dcfg["area_level"])
    rows = panel_df[(panel_df["indicator"] == outcome) & panel_df["area_type"].isin(area_types(level))]
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
    frame = frame.assign(treated=(frame["country"] == treated).astype(int),
                         region=region_of(frame["area_code"], level))
    out = frame[COLUMNS].sort_values(["area_code", "year"], ignore_index=True)
    validate(out, f"{outcome} at {level} ({treated} against {', '.join(comparison)})")
    return out


def validate(df: pd.DataFrame, what: str = "the design frame") -> None:
    """Raise ``ValueError`` unless ``df`` can be fitted: both groups present, one row per area–year,
    finite outcomes, treatment and region fixed within each area, treated areas in one region."""
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{what} lacks columns {missing}")
    dup = df.duplicated(["area_code", "year"], keep=False)
    if dup.any():
        first = df[dup].iloc[0]
        raise ValueError(f"{what} has duplicate rows for area {first['area_code']} in {first['year']}")
    if not np.isfinite(df["y"].to_numpy(dtype=float)).all():
        raise ValueError(f"{what} has missing or infinite outcome values")
    per_area = df.groupby("area_code")[["treated", "region"]].nunique()
    if not df["treated"].isin([0, 1]).all() or (per_area > 1).any().any():
        raise ValueError(f"{what}: 'treated' must be 0 or 1, and 'treated' and 'region' fixed within each area")
    groups = df.drop_duplicates("area_code")
    if not (groups["treated"] == 1).any():
        raise ValueError(f"{what} has no treated areas (treated == 1)")
    if not (groups["treated"] == 0).any():
        raise ValueError(f"{what} has no comparison areas (treated == 0)")
    treated_regions = groups.loc[groups["treated"] == 1, "region"].unique()
    if len(treated_regions) != 1 or (groups.loc[groups["treated"] == 0, "region"] == treated_regions[0]).any():
        raise ValueError(f"{what}: the treated areas must make up exactly one region (the treated country)")


def restrict(df: pd.DataFrame, window: tuple[int, int] | None, event: int) -> pd.DataFrame:
    """The frame up to the window's last year (all of it without a window)."""
    if window is None:
        return df
    if window[0] != event:
        raise ValueError(f"the window {window} must start at the event year {event}")
    return df[df["year"] <= window[1]]


# --------------------------------------------------------------------------------------------
# the estimators as linear maps of a balanced panel


@dataclass(frozen=True)
class Layout:
    """A balanced panel as a matrix: ``Y`` (areas × years), each area's region, who is treated."""

    areas: np.ndarray
    years: np.ndarray
    Y: np.ndarray
    region: np.ndarray
    treated: np.ndarray

    @classmethod
    def of(cls, df: pd.DataFrame) -> Layout:
        wide = df.pivot(index="area_code", columns="year", values="y").sort_index()
        if wide.isna().any().any():
            raise Refusal("the panel is unbalanced (some areas miss some years): the region-level inference needs "
                          "every area in every year")
        first = df.drop_duplicates("area_code").set_index("area_code").loc[wide.index]
        return cls(wide.index.to_numpy(), wide.columns.to_numpy(dtype=int), wide.to_numpy(dtype=float),
                   first["region"].to_numpy(), first["treated"].to_numpy(dtype=bool))

    @property
    def treated_region(self) -> str:
        return str(self.region[self.treated][0])

    @property
    def comparison_regions(self) -> list[str]:
        return sorted(set(self.region[~self.treated]))


def _binned(years: np.ndarray, event: int, window: tuple[int, int]) -> np.ndarray:
    lo, hi = window
    return np.clip(years - event, lo, hi)


def event_time_labels(years: np.ndarray, event: int, window: tuple[int, int]) -> list[int]:
    """The event times with a coefficient: every binned event time present, except the reference −1."""
    lo, hi = window
    if not lo < -1 < 0 <= hi:
        raise ValueError(f"event window {window} must start before −1 and end at or after 0")
    present = sorted(set(_binned(years, event, window).tolist()))
    return [k for k in present if k != -1]


def _twfe_map(treated: np.ndarray, years: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """Two-way FE OLS coefficients as linear maps of ``Y`` (k × areas × years) for regressors
    ``treated_i · columns[t, j]`` on the areas where ``treated`` is not NaN (the others get weight 0).

    For a balanced panel the two-way within transformation is exact, so ``b = (D̃'D̃)⁻¹ D̃' y`` with
    ``D̃`` the demeaned regressors (``tests/attribution/test_did.py`` checks this against PanelOLS).
    """
    use = ~np.isnan(treated)
    n, t, k = int(use.sum()), len(years), columns.shape[1]
    d = treated[use][:, None, None] * columns[None, :, :]          # n × t × k
    d = d - d.mean(1, keepdims=True) - d.mean(0, keepdims=True) + d.mean((0, 1), keepdims=True)
    flat = d.reshape(n * t, k)
    maps = np.linalg.solve(flat.T @ flat, flat.T).reshape(k, n, t)
    out = np.zeros((k, len(treated), t))
    out[:, use, :] = maps
    return out


def _assignment(layout: Layout, region: str | None) -> np.ndarray:
    """1 for the treated group, 0 for controls, NaN for areas left out: ``region=None`` is the real
    assignment; a comparison region's name makes it the pseudo-treated group, Scotland left out."""
    if region is None:
        return layout.treated.astype(float)
    out = np.where(layout.region == region, 1.0, 0.0)
    out[layout.treated] = np.nan
    return out


@dataclass(frozen=True)
class Maps:
    """For one design and sample: the estimand's weights and (event study) every coefficient's
    weights on ``Y``, for the real assignment and for each placebo region."""

    design: str
    labels: list[int]                 # event times of the coefficients (event study); [] for DiD
    estimand: dict[str, np.ndarray]   # assignment -> areas × years weights of the estimate
    coefficients: dict[str, np.ndarray]  # assignment -> k × areas × years (event study only)
    n_treated: dict[str, int]
    n_controls: dict[str, int]

    def estimate(self, Y: np.ndarray, who: str) -> np.ndarray:
        """The estimate for assignment ``who`` of one panel (areas × years) or many (… × areas × years)."""
        return np.tensordot(Y, self.estimand[who], axes=([-2, -1], [0, 1]))

    def vector(self, Y: np.ndarray, who: str) -> np.ndarray:
        return np.tensordot(Y, self.coefficients[who], axes=([-2, -1], [1, 2]))


REAL = "real"


def maps(layout: Layout, design: str, event: int, window: tuple[int, int]) -> Maps:
    """The linear maps of :class:`Maps` for ``design`` (``did`` or ``event_study``) on ``layout``."""
    years = layout.years
    post = (years >= event).astype(float)
    if post.all() or not post.any():
        raise ValueError(f"event {event} needs years before and after it; the data run {years.min()}–{years.max()}")
    labels: list[int] = []
    if design == DID:
        columns = post[:, None]
    elif design == EVENT_STUDY:
        if event - 1 not in years:
            raise ValueError(f"the reference year {event - 1} (event time −1) is not in the data")
        rel = _binned(years, event, window)
        labels = event_time_labels(years, event, window)
        columns = np.column_stack([(rel == k).astype(float) for k in labels])
    else:
        raise ValueError(f"unknown design {design!r}")
    who = {REAL: None, **{r: r for r in layout.comparison_regions}}
    estimand, coefficients, n_t, n_c = {}, {}, {}, {}
    for name, region in who.items():
        assignment = _assignment(layout, region)
        m = _twfe_map(assignment, years, columns)
        n_t[name], n_c[name] = int((assignment == 1).sum()), int((assignment == 0).sum())
        if design == DID:
            estimand[name] = m[0]
        else:
            coefficients[name] = m
            post_k = [i for i, k in enumerate(labels) if k >= 0]
            estimand[name] = m[post_k].mean(axis=0)
    return Maps(design, labels, estimand, coefficients, n_t, n_c)


# --------------------------------------------------------------------------------------------
# design-based inference across regions


@dataclass(frozen=True)
class RegionInference:
    """Scotland's estimate against the placebo regions' (arrays broadcast over simulated panels)."""

    estimate: np.ndarray
    placebo: np.ndarray        # … × R, raw
    scaled: np.ndarray         # … × R, rescaled to the treated group's size (Ferman & Pinto)
    scale: np.ndarray          # … × R
    s: np.ndarray              # the t-type test's standard error
    df: int
    p_t: np.ndarray
    p_perm: np.ndarray

    @property
    def n_placebos(self) -> int:
        return self.placebo.shape[-1]

    @property
    def min_p_perm(self) -> float:
        return 1 / (self.n_placebos + 1)


def variance_model(placebo: np.ndarray, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(A, B)`` with ``var(b_g) ≈ A + B·h_g``: non-negative least squares of the placebos' squared
    estimates on ``(1, h_g)`` (Ferman & Pinto 2019), for each simulated panel (rows of ``placebo``)."""
    placebo = np.atleast_2d(placebo)
    X = np.column_stack([np.ones_like(h), h])
    coef = np.array([nnls(X, row**2)[0] for row in placebo])
    return coef[:, 0], coef[:, 1]


def region_inference(estimate: np.ndarray, placebo: np.ndarray, h_treated: float, h_placebo: np.ndarray
                     ) -> RegionInference:
    """The permutation and t-type tests of the module docstring, for one or many panels."""
    estimate = np.atleast_1d(np.asarray(estimate, dtype=float))
    placebo = np.atleast_2d(np.asarray(placebo, dtype=float))
    R = placebo.shape[-1]
    if R < MIN_PLACEBO_REGIONS:
        raise Refusal(f"only {R} comparison regions: at least {MIN_PLACEBO_REGIONS} are needed for inference with the "
                      "country as the unit of treatment")
    A, B = variance_model(placebo, h_placebo)
    v_placebo = A[:, None] + B[:, None] * h_placebo[None, :]
    v_treated = A + B * h_treated
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.sqrt(np.where(v_placebo > 0, v_treated[:, None] / v_placebo, 1.0))
    scaled = placebo * scale
    s = np.sqrt((scaled**2).mean(axis=-1))
    if not (s > 0).all():
        raise Refusal("every placebo region's estimate is zero: the spread of estimates without treatment cannot be "
                      "measured")
    df = R - 1
    p_t = 2 * stats.t.sf(np.abs(estimate) / s, df)
    p_perm = (1 + (np.abs(scaled) >= np.abs(estimate)[:, None]).sum(axis=-1)) / (R + 1)
    return RegionInference(estimate, placebo, scaled, scale, s, df, p_t, p_perm)


def _h(maps_: Maps, who: str) -> float:
    return 1 / maps_.n_treated[who] + 1 / maps_.n_controls[who]


def infer(layout: Layout, maps_: Maps) -> RegionInference:
    """Region-level inference for the real panel."""
    regions_ = [r for r in maps_.estimand if r != REAL]
    placebo = np.array([maps_.estimate(layout.Y, r) for r in regions_])
    h_placebo = np.array([_h(maps_, r) for r in regions_])
    return region_inference(maps_.estimate(layout.Y, REAL), placebo, _h(maps_, REAL), h_placebo)


def permutation_interval(estimate: float, scaled: np.ndarray, level: float) -> tuple[float, float]:
    """Effects δ the permutation test does not reject at ``level``: ``|b − δ|`` must not exceed the
    ``⌈level·(R + 1)⌉``-th largest ``|b̃_r|``; the whole line when the test cannot reject at ``level``."""
    R = len(scaled)
    m = math.floor(level * (R + 1) + 1e-9)
    if m == 0:
        return -math.inf, math.inf
    c = float(np.sort(np.abs(scaled))[::-1][m - 1])
    return estimate - c, estimate + c


# --------------------------------------------------------------------------------------------
# area-clustered errors (labelled: for comparison only)


@dataclass(frozen=True)
class TwfeFit:
    """Coefficients and area-clustered covariance of one two-way FE regression (PanelOLS)."""

    params: pd.Series
    cov: pd.DataFrame
    df: int


def clustered_df(df: pd.DataFrame) -> int:
    """Degrees of freedom for area-clustered t inference: the smaller group's number of areas, less one
    (MacKinnon & Webb 2017). Zero with a single treated area: no clustered inference is possible."""
    groups = df.drop_duplicates("area_code")["treated"]
    return int(min((groups == 1).sum(), (groups == 0).sum())) - 1


def twfe(df: pd.DataFrame, regressors: pd.DataFrame) -> TwfeFit:
    """``y`` on ``regressors`` with area and year effects; covariance clustered by area (PanelOLS,
    ``debiased`` and ``group_debias``: Stata's ``vce(cluster)``)."""
    index = pd.MultiIndex.from_arrays([df["area_code"], df["year"]], names=["area_code", "year"])
    y = pd.Series(df["y"].to_numpy(dtype=float), index=index, name="y")
    x = regressors.set_axis(index).astype(float)
    from linearmodels.panel import PanelOLS  # imported here: it takes over a second, and most callers read the cache

    res = PanelOLS(y, x, entity_effects=True, time_effects=True).fit(
        cov_type="clustered", cluster_entity=True, debiased=True, group_debias=True
    )
    return TwfeFit(params=res.params, cov=res.cov, df=clustered_df(df))


def _clustered(df: pd.DataFrame, layout: Layout, maps_: Maps, event: int, window: tuple[int, int],
               alpha: float) -> Inference:
    """The estimate's area-clustered route, as a label; an explicit refusal with one treated area."""
    method = "area-clustered errors (invalid here: treatment and shocks are by country; for comparison only)"
    dof = clustered_df(df)
    if dof < 1:
        return Inference(method, math.nan, math.nan, math.nan,
                         "cannot be computed: a single treated area leaves no degrees of freedom", role=LABEL)
    if maps_.design == DID:
        regressors = pd.DataFrame({"treated_x_post": df["treated"] * (df["year"] >= event)}, index=df.index)
        weights = np.array([1.0])
    else:
        rel = _binned(df["year"].to_numpy(), event, window)
        regressors = pd.DataFrame({f"es_{k}": df["treated"].to_numpy() * (rel == k) for k in maps_.labels},
                                  index=df.index)
        weights = np.array([1.0 if k >= 0 else 0.0 for k in maps_.labels])
        weights /= weights.sum()
    fit = twfe(df, regressors)
    est = float(weights @ fit.params.to_numpy())
    se = float(np.sqrt(weights @ fit.cov.to_numpy() @ weights))
    q = stats.t.ppf(1 - alpha / 2, dof)
    p = float(2 * stats.t.sf(abs(est / se), dof))
    return Inference(method, p, est - q * se, est + q * se,
                     f"areas independent of one another (t on {dof} df); not met: shocks are shared within countries",
                     role=LABEL)


# --------------------------------------------------------------------------------------------
# event-study coefficients, pre-trends and the covariance for the sensitivity analysis


def coefficient_table(layout: Layout, maps_: Maps, inf: RegionInference, alpha: float) -> pd.DataFrame:
    """Each event-study coefficient with a design-based SE (the rescaled placebo regions' spread)."""
    b = maps_.vector(layout.Y, REAL)
    placebo = np.array([maps_.vector(layout.Y, r) for r in maps_.estimand if r != REAL])   # R × k
    scaled = placebo * inf.scale[0][:, None]
    se = np.sqrt((scaled**2).mean(axis=0))
    q = stats.t.ppf(1 - alpha / 2, inf.df)
    lo, hi = window_ends(maps_.labels)
    rows = []
    for j, k in enumerate(maps_.labels):
        label = f"≤{k}" if k == lo and k < -1 else f"≥{k}" if k == hi and k > 0 else str(k)
        rows.append({"rel_year": k, "label": label, "coef": float(b[j]), "se": float(se[j]),
                     "ci_low": float(b[j] - q * se[j]), "ci_high": float(b[j] + q * se[j]),
                     "p": float(2 * stats.t.sf(abs(b[j] / se[j]), inf.df)) if se[j] > 0 else math.nan})
    return pd.DataFrame(rows)


def window_ends(labels: list[int]) -> tuple[int, int]:
    return min(labels), max(labels)


def placebo_covariance(layout: Layout, maps_: Maps, inf: RegionInference) -> np.ndarray:
    """Design-based covariance of the event-study coefficients: the uncentred covariance of the
    rescaled placebo regions' coefficient vectors (each region's mean is zero without treatment)."""
    placebo = np.array([maps_.vector(layout.Y, r) for r in maps_.estimand if r != REAL])
    scaled = placebo * inf.scale[0][:, None]
    return scaled.T @ scaled / len(scaled)


def pretrend_test(table: pd.DataFrame, cov: np.ndarray, n_placebos: int) -> dict[str, float] | None:
    """Hotelling's T² of the leads against the placebo covariance, an F test with ``k`` and ``R − k``
    degrees of freedom (the ``R`` placebo estimates count as ``R − 1`` independent draws: they share
    their controls); ``None`` when it cannot be computed (no leads, or fewer than ``k + 1`` placebos)."""
    leads = (table["rel_year"] < -1).to_numpy()
    k = int(leads.sum())
    if k == 0 or n_placebos - 1 < k:
        return None
    b = table.loc[leads, "coef"].to_numpy()
    S = cov[np.ix_(leads, leads)]
    if np.linalg.matrix_rank(S) < k:
        return None
    t2 = float(b @ np.linalg.solve(S, b))
    nu = n_placebos - 1   # the placebo estimates share their controls: one degree of freedom is spent
    f = (nu - k + 1) / (k * nu) * t2
    return {"statistic": t2, "f": f, "df": k, "df_denom": nu - k + 1, "p": float(stats.f.sf(f, k, nu - k + 1))}


def sensitivity(table: pd.DataFrame, cov: np.ndarray, n_placebos: int, dof: int, cfg: dict
                ) -> tuple[dict | None, str | None]:
    """The Rambachan–Roth sensitivity analysis of the event-study average, or ``(None, reason)``.

    The coefficients' covariance is the placebo regions' (:func:`placebo_covariance`), scaled by
    ``(t_{1−α/2, R−1} / z_{1−α/2})²`` so that, under exact parallel trends, the robust set of one
    coefficient is the t-type interval the verdict uses rather than a normal one that ignores that
    the covariance was estimated from ``R`` regions. It needs at most ``R − 1`` coefficients (more
    cannot be covaried from ``R`` placebos) and at least one lead.
    """
    alpha = float(cfg["alpha"])
    k = len(table)
    if k > n_placebos - 1:
        return None, (f"{k} event-study coefficients, but their covariance can be estimated from {n_placebos} placebo "
                      f"regions only for at most {n_placebos - 1}")
    num_pre, num_post = int((table["rel_year"] < -1).sum()), int((table["rel_year"] >= 0).sum())
    if num_pre < 1:
        return None, "no pre-event coefficient besides the reference year"
    from analysis.attribution import honest

    scale = (stats.t.ppf(1 - alpha / 2, dof) / stats.norm.ppf(1 - alpha / 2)) ** 2
    scfg = cfg["sensitivity"]
    out = honest.sensitivity(table["coef"].to_numpy(), cov * scale, num_pre, num_post,
                             M_grid=[float(m) for m in scfg["sd_m"]], Mbar_grid=[float(m) for m in scfg["rm_mbar"]],
                             alpha=alpha)
    return {**out, "covariance": "placebo regions", "t_scale": scale, "num_pre": num_pre, "num_post": num_post}, None


# --------------------------------------------------------------------------------------------
# assumption checks


def assumption_checks(df: pd.DataFrame, table: pd.DataFrame, pretrend: dict | None, n_placebos: int,
                      alpha: float) -> list[AssumptionCheck]:
    """Parallel pre-trends (a diagnostic), no anticipation, untreated comparison areas, stable composition."""
    leads = table[table["rel_year"] < -1]
    if pretrend is None:
        why = ("no pre-event year besides the reference year −1" if leads.empty else
               f"{len(leads)} leads but only {n_placebos} placebo regions to estimate their covariance")
        parallel = AssumptionCheck("parallel pre-trends (diagnostic)", None,
                                   f"cannot be tested: {why}. Parallel trends is read through the sensitivity "
                                   "analysis instead.", gate=False)
    else:
        w = pretrend
        verdict = "rejected" if w["p"] < alpha else "not rejected"
        parallel = AssumptionCheck(
            "parallel pre-trends (diagnostic)", bool(w["p"] >= alpha),
            f"joint test that the {w['df']} event-study leads (event times {', '.join(leads['label'])}; reference −1) "
            f"are zero, against the spread of the {n_placebos} placebo regions' leads: Hotelling T² = "
            f"{w['statistic']:.2f}, F({w['df']}, {w['df_denom']}) p = {w['p']:.3g}, {verdict} at {alpha}. A "
            "diagnostic, not a gate: the verdict reads parallel trends through the Rambachan–Roth sensitivity "
            "analysis, because conditioning on passing a pre-test biases what survives (Roth 2022).",
            statistic=w["statistic"], p_value=w["p"], gate=False)
    lead2 = leads[leads["rel_year"] == -2]
    if lead2.empty:
        anticipation = AssumptionCheck("no anticipation", None,
                                       "no event time −2 in the data; anticipation of the duty cannot be inspected")
    else:
        r = lead2.iloc[0]
        anticipation = AssumptionCheck(
            "no anticipation", None,
            "the duty was trailed before the Local Government in Scotland Bill passed (8 January 2003), so any "
            "anticipation falls at event times −2 and −1; −1 is the reference and cannot be tested (a response there "
            f"shifts the baseline). Lead −2: {r['coef']:.4f} (interval {r['ci_low']:.4f} to {r['ci_high']:.4f}).",
            statistic=float(r["coef"]), p_value=float(r["p"]))
    untreated = AssumptionCheck("comparison areas untreated", None, LSP_CAVEAT + ".")
    per_area = df.groupby("area_code")["year"].nunique()
    n_years = df["year"].nunique()
    balanced = bool((per_area == n_years).all())
    composition = AssumptionCheck(
        "stable composition", balanced,
        f"{len(per_area)} areas over {n_years} years ({df['year'].min()}–{df['year'].max()}): "
        + ("every area observed in every year (balanced panel)" if balanced
           else f"{int((per_area < n_years).sum())} areas are missing years (unbalanced panel)"))
    return [parallel, anticipation, untreated, composition]


# --------------------------------------------------------------------------------------------
# the designs


def _window(cfg: dict) -> tuple[int, int]:
    lo, hi = cfg["did"]["event_window"]
    return int(lo), int(hi)


def _scale(cfg: dict) -> str:
    return "log points" if cfg["did"]["log_outcome"] else "level"


def fit_did(df: pd.DataFrame, event: int, *, outcome: str, area: str, cfg: dict,
            window: tuple[int, int] | None = None) -> DesignResult:
    """Two-way fixed-effects difference-in-differences over ``window`` (module docstring)."""
    return _fit(DID, df, event, outcome=outcome, area=area, cfg=cfg, window=window)


def fit_event_study(df: pd.DataFrame, event: int, *, outcome: str, area: str, cfg: dict,
                    window: tuple[int, int] | None = None) -> DesignResult:
    """Event study over ``window``; the estimate is the equal-weight mean of the post-event
    coefficients (module docstring). ``details["coefficients"]`` lists every coefficient."""
    return _fit(EVENT_STUDY, df, event, outcome=outcome, area=area, cfg=cfg, window=window)


def _fit(design: str, df: pd.DataFrame, event: int, *, outcome: str, area: str, cfg: dict,
         window: tuple[int, int] | None) -> DesignResult:
    validate(df)
    df = restrict(df, window, event)
    alpha, power = float(cfg["alpha"]), float(cfg["power"])
    es_window = _window(cfg)
    layout = Layout.of(df)
    est_maps = maps(layout, design, event, es_window)
    inf = infer(layout, est_maps)
    es_maps = est_maps if design == EVENT_STUDY else maps(layout, EVENT_STUDY, event, es_window)
    es_inf = inf if design == EVENT_STUDY else infer(layout, es_maps)
    table = coefficient_table(layout, es_maps, es_inf, alpha)
    cov = placebo_covariance(layout, es_maps, es_inf)
    pretrend = pretrend_test(table, cov, es_inf.n_placebos)
    robust, refusal = sensitivity(table, cov, es_inf.n_placebos, es_inf.df, cfg)

    b, s, dof = float(inf.estimate[0]), float(inf.s[0]), inf.df
    q1, q2 = stats.t.ppf(1 - alpha / 2, dof), stats.t.ppf(1 - alpha, dof)
    mde = float((stats.t.ppf(1 - alpha / 2, dof) + stats.t.ppf(power, dof)) * s)
    scaled = inf.scaled[0]
    perm_ci = permutation_interval(b, scaled, alpha)
    perm_eq = permutation_interval(b, scaled, 2 * alpha)
    regions_ = [r for r in est_maps.estimand if r != REAL]
    inferences = [
        Inference(f"t-type test against {inf.n_placebos} placebo regions (t on {dof} df)", float(inf.p_t[0]),
                  b - q1 * s, b + q1 * s,
                  "Scotland's estimation error is normal with the variance of a placebo region's estimate, once "
                  "rescaled to Scotland's number of areas (Ferman & Pinto 2019); the placebo regions are exchangeable",
                  role=VERDICT),
        Inference(f"permutation across {inf.n_placebos} placebo regions (Conley & Taber 2011)", float(inf.p_perm[0]),
                  *perm_ci, "Scotland's rescaled estimation error is exchangeable with the placebo regions'; no "
                  f"normality. Smallest attainable p = 1/{inf.n_placebos + 1}"
                  + (f" = {inf.min_p_perm:.3f}, above {alpha}: this route cannot reject at the {alpha} level"
                     if inf.min_p_perm >= alpha else ""),
                  min_p=inf.min_p_perm, role=REPORTED),
        _clustered(df, layout, est_maps, event, es_window, alpha),
    ]
    post_years = layout.years[layout.years >= event]
    span = (int(event), int(post_years.max()))
    n_pre, n_post = int((layout.years < event).sum()), int(len(post_years))
    groups = df.drop_duplicates("area_code")["treated"]
    details = {
        "se": s, "df": dof, "n_treated": int((groups == 1).sum()), "n_comparison": int((groups == 0).sum()),
        "n_obs": len(df),
        "placebo_regions": {r: {"estimate": float(inf.placebo[0][i]), "rescaled": float(scaled[i]),
                                "scale": float(inf.scale[0][i]), "n_areas": est_maps.n_treated[r]}
                            for i, r in enumerate(regions_)},
        "coefficients": table.to_dict("records"), "reference_rel_year": -1, "window": list(es_window),
        "pretrend": pretrend, "covariance": cov.tolist(), "caveat": LSP_CAVEAT,
        "permutation_eq_interval": list(perm_eq),
        "sensitivity_refusal": refusal,
        "sensitivity_target": "the event-study average over the window (equal weights on the post-event coefficients)",
        "estimate_is": ("coefficient on treated × post" if design == DID else
                        "equal-weight mean of the post-event coefficients (event times 0 to the binned last)"),
    }
    estimand = ("change in the Scottish areas minus change in the comparison areas, window against pre-event years"
                if design == DID else
                "average of the post-event event-study coefficients (log points, relative to the year before the "
                "event)")
    return DesignResult(
        design=design, outcome=outcome, area=area, event=int(event), estimate=b, ci_low=b - q1 * s,
        ci_high=b + q1 * s, p_value=float(inf.p_t[0]), p_kind=P_KIND, mde=mde, n_pre=n_pre, n_post=n_post,
        scale=_scale(cfg), checks=assumption_checks(df, table, pretrend, es_inf.n_placebos, alpha), details=details,
        estimand=estimand, window=span, estimate_p=float(inf.p_t[0]), eq_low=b - q2 * s, eq_high=b + q2 * s,
        min_p=None, inferences=inferences, sensitivity=robust,
    )
