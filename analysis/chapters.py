"""Analyses, tables and figures for the report chapters (1-4 and 6-9).

Every chapter page calls one function here, ``chNN(outputs)``, which glues that chapter's figures
(house style, alt text stating the finding) and returns a :class:`ChapterResult`: the strings the
page glues for its prose and the tables it shows. The pages hold no computation.

All the analyses are descriptive. Where two things are compared across the 32 partnerships the
result is an association at one point or over one period (level 1 of the Maryland Scientific
Methods Scale), never an effect of Community Planning.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from . import figures, paths, register, settings
from .errors import DataError
from .panel import Outputs

#: Source groups of the indicators, by indicator-id prefix (anything else is NRS or ONS data
#: republished by the Scottish Government, or derived from it).
SOURCE_GROUPS = ("NRS and ONS", "ScotPHO", "CPOP", "LGBF")
SOURCE_COLOURS = dict(zip(SOURCE_GROUPS, [figures.OKABE_ITO[0], figures.OKABE_ITO[1], figures.OKABE_ITO[2],
                                          figures.OKABE_ITO[3]], strict=True))

GROUP_CASE, GROUP_PILOT, GROUP_OTHER = "case study", "pilot", "other"
GROUP_ORDER = (GROUP_CASE, GROUP_PILOT, GROUP_OTHER)
GROUP_COLOURS = {GROUP_CASE: figures.OKABE_ITO[0], GROUP_PILOT: figures.OKABE_ITO[5], GROUP_OTHER: "#7F7F7F"}

TIMELINE_FILE = "timeline.csv"


@dataclass
class ChapterResult:
    """What a chapter page needs: strings to glue and tables to show."""

    text: dict[str, str] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# small helpers


def source_group(indicator: str) -> str:
    """The source group of an indicator id."""
    for prefix, name in (("scotpho_", "ScotPHO"), ("cpop_", "CPOP"), ("lgbf_", "LGBF")):
        if indicator.startswith(prefix):
            return name
    return "NRS and ONS"


def fmt_int(x: float) -> str:
    return f"{int(round(float(x))):,}"


def fmt(x: float, digits: int = 1) -> str:
    return f"{float(x):,.{digits}f}"


def fmt_p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _alpha() -> float:
    return float(settings.load()["attribution"]["alpha"])


def council_rows(panel: pd.DataFrame, indicator: str, breakdown: str = "all") -> pd.DataFrame:
    rows = panel[(panel["area_type"] == register.COUNCIL) & (panel["indicator"] == indicator)
                 & (panel["breakdown"] == breakdown)]
    if rows.empty:
        raise DataError(f"the panel has no council rows for indicator {indicator!r}, breakdown {breakdown!r}")
    return rows


def council_values(panel: pd.DataFrame, indicator: str, period: str, breakdown: str = "all") -> pd.Series:
    """One value per council for one indicator and period, indexed by council code.

    Raises if any of the 32 councils has no value: a comparison of partnerships must not silently
    drop one of them.
    """
    rows = council_rows(panel, indicator, breakdown)
    rows = rows[rows["period"] == period]
    values = rows.set_index("area_code")["value"].astype(float)
    absent = sorted(set(register.council_codes()) - set(values.index))
    if absent:
        raise DataError(f"{indicator} {period}: no value for {', '.join(register.name_of(c) for c in absent)}",
                        column="value")
    return values.reindex(sorted(values.index))


def scotland_series(panel: pd.DataFrame, indicator: str, breakdown: str = "all") -> pd.Series:
    rows = panel[(panel["area_type"] == register.SCOTLAND) & (panel["indicator"] == indicator)
                 & (panel["breakdown"] == breakdown)]
    return rows.set_index("year")["value"].astype(float).sort_index()


def partnership_groups() -> pd.Series:
    """'case study', 'pilot' or 'other' for each council code, from the register."""
    reg = register.load_register().set_index("code")
    group = pd.Series(GROUP_OTHER, index=reg.index, dtype=object)
    group[reg["case_study"].astype(bool)] = GROUP_CASE
    group[reg["pilot"].astype(bool)] = GROUP_PILOT
    return group.sort_index()


def _names(codes) -> str:
    names = sorted(register.name_of(c) for c in codes)
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


# --------------------------------------------------------------------------------------------
# correlation with a confidence interval


@dataclass(frozen=True)
class Correlation:
    """Pearson correlation with a Fisher-z interval, Spearman's rho and the OLS slope."""

    r: float
    ci_low: float
    ci_high: float
    p: float
    n: int
    rho: float
    rho_p: float
    slope: float
    slope_ci_low: float
    slope_ci_high: float


def correlation(x, y, alpha: float = 0.05) -> Correlation:
    """Pearson's r of ``x`` and ``y`` with a (1 - alpha) interval from Fisher's z transform.

    Pairs with a missing value raise an error rather than being dropped.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError("x and y must be one-dimensional and of equal length")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("x and y must be finite: missing pairs are not dropped silently")
    n = len(x)
    if n < 4:
        raise ValueError("a correlation interval needs at least 4 pairs")
    r, p = stats.pearsonr(x, y)
    z = math.atanh(max(min(r, 1 - 1e-12), -1 + 1e-12))
    half = stats.norm.ppf(1 - alpha / 2) / math.sqrt(n - 3)
    rho, rho_p = stats.spearmanr(x, y)
    fit = stats.linregress(x, y)
    t = stats.t.ppf(1 - alpha / 2, n - 2)
    return Correlation(
        r=float(r), ci_low=math.tanh(z - half), ci_high=math.tanh(z + half), p=float(p), n=n,
        rho=float(rho), rho_p=float(rho_p), slope=float(fit.slope),
        slope_ci_low=float(fit.slope - t * fit.stderr), slope_ci_high=float(fit.slope + t * fit.stderr),
    )


def strength(c: Correlation) -> str:
    """A plain-words reading of a correlation and its interval."""
    size = "weak" if abs(c.r) < 0.3 else "moderate" if abs(c.r) < 0.5 else "strong"
    sign = "negative" if c.r < 0 else "positive"
    if c.ci_low <= 0 <= c.ci_high:
        return f"a {size} {sign} association whose interval includes no association at all"
    return f"a {size} {sign} association whose interval excludes zero"


def mean_difference(a, b, alpha: float = 0.05) -> tuple[float, float, float, float]:
    """Difference of means ``mean(a) - mean(b)`` with a Welch interval and p-value."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    res = stats.ttest_ind(a, b, equal_var=False)
    ci = res.confidence_interval(1 - alpha)
    return float(a.mean() - b.mean()), float(ci.low), float(ci.high), float(res.pvalue)


# --------------------------------------------------------------------------------------------
# indicator coverage (chapters 4, 8 and 9)


def council_indicator_years(panel: pd.DataFrame) -> pd.DataFrame:
    """One row per (indicator, year) with council-level data (breakdown 'all'): the indicator's
    source group and the number of councils with a value. A period is dated by its first year."""
    rows = panel[(panel["area_type"] == register.COUNCIL) & (panel["breakdown"] == "all")]
    out = rows.groupby(["indicator", "year"])["area_code"].nunique().rename("councils").reset_index()
    out["source_group"] = out["indicator"].map(source_group)
    return out.sort_values(["indicator", "year"], ignore_index=True)


def coverage_by_year(panel: pd.DataFrame, years: range | None = None) -> pd.DataFrame:
    """Number of indicators with council-level data in each year, by source group (years × groups)."""
    iy = council_indicator_years(panel)
    table = iy.groupby(["year", "source_group"])["indicator"].nunique().unstack(fill_value=0)
    table = table.reindex(columns=list(SOURCE_GROUPS), fill_value=0)
    if years is None:
        years = range(int(iy["year"].min()), int(iy["year"].max()) + 1)
    table = table.reindex(list(years), fill_value=0)
    table.index.name = "year"
    table.columns.name = None
    return table.astype(int)


# --------------------------------------------------------------------------------------------
# Chapter 1: were the case studies like the other partnerships?

#: (column, indicator, period, label, unit label for figures)
CH01_MEASURES = (
    ("population", "population", "2002", "Population, 2002", "thousand people (log scale)"),
    ("income_deprived", "scotpho_income_deprived", "2004", "Population income deprived, 2004 (%)", "% income deprived"),
    ("alcohol", "alcohol_specific_death_rate_pooled", "2000-2002",
     "Alcohol-specific deaths per 100,000, 2000–2002 pooled", "deaths per 100,000 (crude)"),
    ("gva", "gva_per_head", "2002", "Gross value added per head, 2002 (£)", "£ per head"),
)
#: Short panel titles for the chapter 1 figure.
CH01_TITLES = {"population": "Population", "income_deprived": "Income deprived",
               "alcohol": "Alcohol-specific deaths", "gva": "GVA per head"}


def _population_axis(ax) -> None:
    """A log-scale x axis labelled in thousands of people."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    ax.set_xscale("log")
    ax.xaxis.set_major_locator(FixedLocator([20_000, 50_000, 100_000, 200_000, 500_000]))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1000:,.0f}"))


def case_study_frame(outputs: Outputs) -> pd.DataFrame:
    """One row per partnership: its group (case study, pilot, other), family groups and the
    measures of :data:`CH01_MEASURES`."""
    reg = register.load_register().set_index("code").sort_index()
    frame = pd.DataFrame({"name": reg["name"], "group": partnership_groups()})
    frame["fg_people"] = reg["lgbf_family_group_people"].astype(int)
    frame["fg_other"] = reg["lgbf_family_group_other"].astype(int)
    for column, indicator, period, _, _ in CH01_MEASURES:
        frame[column] = council_values(outputs.panel, indicator, period)
    frame.index.name = "area_code"
    return frame


def _median_range(values: pd.Series, fmt_fn) -> str:
    return f"{fmt_fn(values.median())} ({fmt_fn(values.min())}–{fmt_fn(values.max())})"


def _fg_counts(values: pd.Series) -> str:
    counts = values.value_counts().reindex(list(register.FAMILY_GROUPS), fill_value=0)
    return " / ".join(str(int(c)) for c in counts)


def case_study_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The comparison table: case studies, the pilot and the others, with a rank test."""
    case = frame[frame["group"] == GROUP_CASE]
    pilot = frame[frame["group"] == GROUP_PILOT]
    other = frame[frame["group"] == GROUP_OTHER]
    formatters = {"population": fmt_int, "income_deprived": lambda v: fmt(v, 1), "alcohol": lambda v: fmt(v, 1),
                  "gva": fmt_int}
    rows = []
    for column, _, _, label, _ in CH01_MEASURES:
        f = formatters[column]
        test = stats.mannwhitneyu(case[column], other[column], alternative="two-sided")
        rows.append({
            "Measure": label,
            f"Case studies ({len(case)}): median (range)": _median_range(case[column], f),
            "Pilot (North Lanarkshire)": ", ".join(f(v) for v in pilot[column]),
            f"Other partnerships ({len(other)}): median (range)": _median_range(other[column], f),
            "Rank test, case studies against others": fmt_p(float(test.pvalue)),
        })
    fg_rows = (
        ("fg_people", "LGBF deprivation family group (1 least deprived … 4 most): councils in 1 / 2 / 3 / 4"),
        ("fg_other", "LGBF area-type family group (1 most rural … 4 most urban): councils in 1 / 2 / 3 / 4"),
    )
    for column, label in fg_rows:
        table = pd.crosstab(frame["group"] == GROUP_CASE, frame[column])
        p = stats.chi2_contingency(table).pvalue if table.shape == (2, 4) else float("nan")
        rows.append({
            "Measure": label,
            f"Case studies ({len(case)}): median (range)": _fg_counts(case[column]),
            "Pilot (North Lanarkshire)": ", ".join(str(int(v)) for v in pilot[column]),
            f"Other partnerships ({len(other)}): median (range)": _fg_counts(other[column]),
            "Rank test, case studies against others": f"χ² {fmt_p(p)} (approximate)",
        })
    return pd.DataFrame(rows)


def case_study_figure(frame: pd.DataFrame, key: str) -> dict[str, str]:
    """Dot plot of each measure by group; glue it and return the facts its caption uses."""
    fig, axes = figures.new_figure(width=10.5, height=3.4, ncols=len(CH01_MEASURES))
    rng = np.random.default_rng(int(settings.load()["attribution"]["seed"]))
    ypos = {g: i for i, g in enumerate(GROUP_ORDER)}
    for ax, (column, _, period, _label, unit) in zip(axes, CH01_MEASURES, strict=True):
        for group in GROUP_ORDER:
            vals = frame.loc[frame["group"] == group, column]
            jitter = rng.uniform(-0.12, 0.12, len(vals)) if len(vals) > 1 else np.zeros(len(vals))
            ax.scatter(vals, ypos[group] + jitter, s=28, color=GROUP_COLOURS[group], alpha=0.85,
                       edgecolor="white", linewidth=0.5, zorder=3)
            if len(vals) > 1:
                ax.plot([vals.median()] * 2, [ypos[group] - 0.3, ypos[group] + 0.3], color="#000000", lw=2, zorder=4)
        if column == "population":
            _population_axis(ax)
        ax.set_yticks(range(len(GROUP_ORDER)))
        n_in = {g: int((frame["group"] == g).sum()) for g in GROUP_ORDER}
        ax.set_yticklabels([f"{g}\n(n = {n_in[g]})" for g in GROUP_ORDER] if ax is axes[0] else [])
        ax.set_ylim(len(GROUP_ORDER) - 0.5, -0.5)
        ax.set_title(CH01_TITLES[column], fontsize=9.5)
        ax.set_xlabel(f"{unit}, {period}", fontsize=8.5)
        ax.tick_params(axis="x", labelsize=8)
    fig.tight_layout()
    case = frame[frame["group"] == GROUP_CASE]
    other = frame[frame["group"] == GROUP_OTHER]
    facts = {
        "pop_case": fmt_int(case["population"].median()), "pop_other": fmt_int(other["population"].median()),
        "inc_case": fmt(case["income_deprived"].median()), "inc_other": fmt(other["income_deprived"].median()),
        "alc_case": fmt(case["alcohol"].median()), "alc_other": fmt(other["alcohol"].median()),
        "gva_case": fmt_int(case["gva"].median()), "gva_other": fmt_int(other["gva"].median()),
    }
    alpha = _alpha()
    words = []
    for column, what in (("population", "population"), ("income_deprived", "income-deprived share"),
                         ("alcohol", "alcohol-specific death rate"), ("gva", "GVA per head")):
        p = float(stats.mannwhitneyu(case[column], other[column], alternative="two-sided").pvalue)
        words.append(_compare(p, alpha, case[column].median() > other[column].median(), what))
    alt = (
        f"Dot plots of the {len(frame)} partnerships around 2002 by group. The {len(case)} case studies had a median "
        f"population of {facts['pop_case']} against {facts['pop_other']} for the other {len(other)}, a median "
        f"income-deprived share of {facts['inc_case']}% against {facts['inc_other']}%, a median pooled "
        f"alcohol-specific death rate of {facts['alc_case']} against {facts['alc_other']} per 100,000, and median GVA "
        f"per head of £{facts['gva_case']} against £{facts['gva_other']}. By a rank test at the {alpha} level the "
        f"case studies had {', '.join(words[:-1])} and {words[-1]}."
    )
    figures.glue_figure(key, fig, alt)
    return facts


def case_study_map(key: str) -> dict[str, str]:
    """Map of the case studies and the pilot (drawn by the shared mapping module)."""
    from . import maps

    groups = partnership_groups()
    labels = {GROUP_CASE: "case study", GROUP_PILOT: "pilot (North Lanarkshire)", GROUP_OTHER: "other partnership"}
    # order the series so that the categories take the palette in the order case study, pilot, other
    order = {g: i for i, g in enumerate(GROUP_ORDER)}
    ordered = groups.iloc[sorted(range(len(groups)), key=lambda i: (order[groups.iloc[i]], groups.index[i]))]
    values = ordered.map(labels)
    highlight = tuple(groups.index[groups != GROUP_OTHER])
    fig, _ = maps.choropleth(values, title="The report's case-study partnerships and pilot",
                             label="partnership", highlight=highlight, categorical=True)
    reg = register.load_register().set_index("code")
    case = groups.index[groups == GROUP_CASE]
    rural = int((reg.loc[case, "lgbf_family_group_other"] == 1).sum())
    urban = int((reg.loc[case, "lgbf_family_group_other"] == 4).sum())
    per_group = register.COUNCILS_PER_FAMILY_GROUP
    alt = (
        f"Map of Scotland's {len(groups)} council areas with the {len(case)} case-study partnerships ({_names(case)}) "
        f"and the North Lanarkshire pilot shaded and outlined; {urban} of the {per_group} most urban councils and "
        f"{rural} of the {per_group} most rural (LGBF area-type groups) are case studies."
    )
    figures.glue_figure(key, fig, alt)
    return {"credit": maps.MAP_CREDIT, "rural": str(rural), "urban": str(urban)}


def _compare(p: float, alpha: float, higher: bool, what: str) -> str:
    if p >= alpha:
        return f"a similar {what}"
    return f"a {'higher' if higher else 'lower'} {what}"


def ch01(outputs: Outputs) -> ChapterResult:
    frame = case_study_frame(outputs)
    res = ChapterResult()
    counts = frame["group"].value_counts()
    res.text.update({
        "n-case": str(int(counts.get(GROUP_CASE, 0))), "n-pilot": str(int(counts.get(GROUP_PILOT, 0))),
        "n-other": str(int(counts.get(GROUP_OTHER, 0))), "n-all": str(len(frame)),
    })
    facts = case_study_figure(frame, key="fig-ch01-case-studies")
    res.text.update({f"fig-{k}": v for k, v in facts.items()})
    case = frame[frame["group"] == GROUP_CASE]
    other = frame[frame["group"] == GROUP_OTHER]
    pilot = frame[frame["group"] == GROUP_PILOT].iloc[0]
    share_pop = case["population"].sum() / frame["population"].sum()
    res.text["case-pop-share"] = f"{share_pop:.0%}"
    res.text["case-share-partnerships"] = f"{len(case) / len(frame):.0%}"
    res.text["case-fg4-people"] = str(int((case["fg_people"] == 4).sum()))
    res.text["case-fg1-people"] = str(int((case["fg_people"] == 1).sum()))
    res.text["case-fg4-other"] = str(int((case["fg_other"] == 4).sum()))
    res.text["case-fg1-other"] = str(int((case["fg_other"] == 1).sum()))
    res.text["pilot-pop"] = fmt_int(pilot["population"])
    res.text["pilot-inc"] = fmt(pilot["income_deprived"])
    res.text["pilot-fg-people"] = str(int(pilot["fg_people"]))
    res.text["pilot-fg-other"] = str(int(pilot["fg_other"]))
    pop_test = stats.mannwhitneyu(case["population"], other["population"], alternative="two-sided")
    inc_test = stats.mannwhitneyu(case["income_deprived"], other["income_deprived"], alternative="two-sided")
    alc_test = stats.mannwhitneyu(case["alcohol"], other["alcohol"], alternative="two-sided")
    gva_test = stats.mannwhitneyu(case["gva"], other["gva"], alternative="two-sided")
    res.text["pop-p"] = fmt_p(float(pop_test.pvalue))
    res.text["inc-p"] = fmt_p(float(inc_test.pvalue))
    res.text["alc-p"] = fmt_p(float(alc_test.pvalue))
    res.text["gva-p"] = fmt_p(float(gva_test.pvalue))
    n_end = register.COUNCILS_PER_FAMILY_GROUP  # compare with the largest and smallest eight
    largest = frame["population"].nlargest(n_end).index
    smallest = frame["population"].nsmallest(n_end).index
    res.text["n-end"] = str(n_end)
    res.text["n-largest-case"] = str(int(frame.loc[largest, "group"].eq(GROUP_CASE).sum()))
    res.text["n-smallest-case"] = str(int(frame.loc[smallest, "group"].eq(GROUP_CASE).sum()))
    res.text["inc-range-case"] = f"{fmt(case['income_deprived'].min())}–{fmt(case['income_deprived'].max())}%"
    res.text["inc-range-other"] = f"{fmt(other['income_deprived'].min())}–{fmt(other['income_deprived'].max())}%"
    res.tables["comparison"] = case_study_table(frame)
    map_facts = case_study_map(key="fig-ch01-map")
    res.text["map-credit"] = map_facts["credit"]
    res.text["map-rural"] = map_facts["rural"]
    res.text["map-urban"] = map_facts["urban"]
    return res


# --------------------------------------------------------------------------------------------
# Chapter 2: the three principles against the indicators that could track them

#: Strands of the report's three principles (para 2.1), in display order:
#: (strand id, principle, what the indicators track, role). "measure" rows track the aim itself;
#: "proxy" rows track outcomes the aim is meant to change, not the aim.
STRANDS = (
    ("economic", "1. A shared vision", "economic needs", "measure of the need"),
    ("social", "1. A shared vision", "social needs", "measure of the need"),
    ("environmental", "1. A shared vision", "environmental needs", "measure of the need"),
    ("participation", "2. Community participation", "participation in setting priorities and planning", "measure"),
    ("participation_proxy", "2. Community participation", "service users' say in their own care",
     "nearest proxy, not a measure"),
    ("partnership", "3. Partnership working", "joint working between organisations", "measure"),
    ("integration_proxy", "3. Partnership working", "outcomes integrated health and care services aim to change",
     "nearest proxy, not a measure"),
)

#: ScotPHO indicators are assigned by their dictionary theme (data/reference/scotpho_indicators.csv);
#: income and employment deprivation are economic, emergency hospital care a proxy for integration.
SCOTPHO_THEME_STRAND = {
    "Alcohol": "social", "Drugs": "social", "Mortality": "social", "Cancer": "social",
    "Long-term conditions": "social", "Crime": "social", "Road safety": "social", "Mental health": "social",
    "Maternal and child health": "social", "Immunisation": "social", "Primary care": "social",
    "End of life care": "social", "Deprivation": "social", "Hospital care": "integration_proxy",
}
SCOTPHO_ID_STRAND = {"scotpho_income_deprived": "economic", "scotpho_employment_deprived": "economic"}

#: Every other mapped indicator, by explicit id. Counts of deaths are left out (their rates are in);
#: so are costs, volumes, satisfaction with services, council corporate measures and population.
EXPLICIT_STRANDS = {
    "economic": (
        "gva_per_head", "employment_rate", "unemployment_rate",
        "cpop_employment_rate", "cpop_employment_rate_3yr", "cpop_median_weekly_earnings",
        "cpop_median_weekly_earnings_3yr", "cpop_business_survival", "cpop_out_of_work_benefits_r2017",
        "cpop_out_of_work_benefits_r2018",
        # ONS district series for all of Great Britain: back-casts on today's boundaries, published long after 2002
        "gdhi_per_head_lad", "gdp_per_head_lad", "gdp_cvm_per_head_lad", "claimant_count_pct_lad",
        "lgbf_econ7", "lgbf_econ8", "lgbf_econ9", "lgbf_econ11", "lgbf_econ12a", "lgbf_econ12b",
    ),
    "social": (
        "alcohol_specific_death_rate", "alcohol_specific_death_rate_pooled", "drug_related_death_rate",
        "drug_related_death_rate_pooled",
        "cpop_healthy_birthweight", "cpop_healthy_birthweight_3yr", "cpop_p1_healthy_bmi", "cpop_p1_healthy_bmi_3yr",
        "cpop_positive_destinations", "cpop_s4_tariff", "cpop_s4_tariff_3yr", "cpop_child_poverty",
        "cpop_crime_rate", "cpop_dwelling_fires", "cpop_early_mortality", "cpop_early_mortality_5yr",
        "cpop_fuel_poverty", "cpop_wellbeing", "cpop_fragility_r2017", "cpop_fragility_r2018", "cpop_depopulation",
        "lgbf_chn4", "lgbf_chn5", "lgbf_chn6", "lgbf_chn7", "lgbf_chn11", "lgbf_chn12a", "lgbf_chn12b",
        "lgbf_chn12c", "lgbf_chn12d", "lgbf_chn12e", "lgbf_chn12f", "lgbf_chn13a", "lgbf_chn13b", "lgbf_chn14a",
        "lgbf_chn14b", "lgbf_chn17", "lgbf_chn19a", "lgbf_chn19b", "lgbf_chn20a", "lgbf_chn20b", "lgbf_chn21",
        "lgbf_chn22", "lgbf_chn23", "lgbf_chn24", "lgbf_hsn3",
    ),
    "environmental": (
        "cpop_co2_emissions", "lgbf_clim1", "lgbf_clim2", "lgbf_env6", "lgbf_env3c", "lgbf_hsn5", "lgbf_hsn5a",
    ),
    "participation": (),
    "participation_proxy": ("lgbf_sw4d",),
    "partnership": (),
    "integration_proxy": (
        "cpop_emergency_admissions", "cpop_emergency_admissions_3yr", "cpop_unplanned_attendances",
        "lgbf_sw3a", "lgbf_sw6", "lgbf_sw8",
    ),
}


def _scotpho_dictionary() -> pd.DataFrame:
    return pd.read_csv(paths.REFERENCE / "scotpho_indicators.csv", dtype=str, keep_default_na=False)


def principle_mapping(outputs: Outputs) -> pd.DataFrame:
    """One row per (strand, indicator) for the indicators the panel holds at council level.

    Raises if the mapping names an indicator the panel does not hold, or a ScotPHO theme the
    mapping does not cover.
    """
    council = outputs.panel[(outputs.panel["area_type"] == register.COUNCIL)]
    held = set(council["indicator"].unique())
    rows = []
    for strand, ids in EXPLICIT_STRANDS.items():
        for indicator in ids:
            if indicator not in held:
                raise DataError(f"principle mapping names {indicator!r}, which has no council data in the panel")
            rows.append((strand, indicator))
    dictionary = _scotpho_dictionary()
    for indicator, theme in zip(dictionary["indicator_id"], dictionary["theme"], strict=True):
        if indicator not in held:
            continue
        strand = SCOTPHO_ID_STRAND.get(indicator) or SCOTPHO_THEME_STRAND.get(theme)
        if strand is None:
            raise DataError(f"ScotPHO theme {theme!r} of {indicator} has no strand", file="scotpho_indicators.csv",
                            column="theme")
        rows.append((strand, indicator))
    mapping = pd.DataFrame(rows, columns=["strand", "indicator"])
    if mapping["indicator"].duplicated().any():
        dup = mapping.loc[mapping["indicator"].duplicated(), "indicator"].iloc[0]
        raise DataError(f"indicator {dup!r} is mapped to more than one strand")
    mapping["source_group"] = mapping["indicator"].map(source_group)
    return mapping.sort_values(["strand", "indicator"], ignore_index=True)


def principle_counts(outputs: Outputs, mapping: pd.DataFrame, years: range) -> pd.DataFrame:
    """Indicators with council data in each year, by strand (years × strands, every strand shown)."""
    iy = council_indicator_years(outputs.panel).merge(mapping[["indicator", "strand"]], on="indicator")
    table = iy.groupby(["year", "strand"])["indicator"].nunique().unstack(fill_value=0)
    table = table.reindex(index=list(years), columns=[s[0] for s in STRANDS], fill_value=0).fillna(0).astype(int)
    table.index.name = "year"
    table.columns.name = None
    return table


def principle_table(outputs: Outputs, mapping: pd.DataFrame, year: int) -> pd.DataFrame:
    iy = council_indicator_years(outputs.panel)
    spans = iy.groupby("indicator")["year"].agg(["min", "max"])
    in_year = set(iy.loc[iy["year"] == year, "indicator"])
    rows = []
    for strand, principle, tracks, role in STRANDS:
        m = mapping[mapping["strand"] == strand]
        row = {"Principle (para 2.1)": principle, "What the indicators track": tracks, "Role": role}
        for group in SOURCE_GROUPS:
            ids = m.loc[m["source_group"] == group, "indicator"]
            if ids.empty:
                row[group] = "–"
            else:
                row[group] = f"{len(ids)} ({int(spans.loc[ids, 'min'].min())}–{int(spans.loc[ids, 'max'].max())})"
        row[f"With council data for {year}"] = str(int(m["indicator"].isin(in_year).sum()))
        rows.append(row)
    return pd.DataFrame(rows)


STRAND_STYLE = {
    "economic": (figures.OKABE_ITO[0], "-"), "social": (figures.OKABE_ITO[1], "-"),
    "environmental": (figures.OKABE_ITO[2], "-"), "participation": (figures.OKABE_ITO[3], "-"),
    "participation_proxy": (figures.OKABE_ITO[3], "--"), "partnership": (figures.OKABE_ITO[5], "-"),
    "integration_proxy": (figures.OKABE_ITO[5], "--"),
}


def ch02(outputs: Outputs, report_year: int = 2002) -> ChapterResult:
    mapping = principle_mapping(outputs)
    iy = council_indicator_years(outputs.panel)
    years = range(1991, int(iy["year"].max()) + 1)
    counts = principle_counts(outputs, mapping, years)
    first = {s: (int(counts.index[counts[s] > 0].min()) if (counts[s] > 0).any() else None) for s in counts.columns}

    fig, ax = figures.new_figure(width=9, height=5.2)
    labels = {s[0]: f"{s[1].split('. ')[1]}: {s[2]}" + (" (proxy)" if "proxy" in s[3] else "") for s in STRANDS}
    for strand in counts.columns:
        colour, style = STRAND_STYLE[strand]
        ax.plot(counts.index, counts[strand], color=colour, ls=style, lw=2 if style == "-" else 1.6,
                label=labels[strand], drawstyle="steps-mid")
    ax.axvline(report_year, color="#000000", lw=1, ls=":")
    ax.text(report_year - 0.3, ax.get_ylim()[1] * 0.95, "the report", fontsize=8, va="top", ha="right")
    ax.set_ylim(-6, None)
    ax.text(years[0], -3.6, "no indicator measures community participation or partnership working (lines at zero)",
            fontsize=8, va="center")
    ax.set_xlabel("year (first year of each period)")
    ax.set_ylabel("indicators with council data")
    ax.set_title("Indicators that could track each principle, by year")
    ax.legend(fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False)
    at = counts.loc[report_year]
    res = ChapterResult()
    res.text.update({
        "year": str(report_year),
        "econ-2002": str(int(at["economic"])), "social-2002": str(int(at["social"])),
        "env-2002": str(int(at["environmental"])),
        "n-mapped": str(len(mapping)),
        "n-unmapped": str(int(iy["indicator"].nunique() - len(mapping))),
        "n-council-indicators": str(int(iy["indicator"].nunique())),
        "env-first": str(first["environmental"]),
        "participation-proxy-first": str(first["participation_proxy"]),
        "integration-proxy-first": str(first["integration_proxy"]),
        "latest": str(years[-1]),
        "econ-latest": str(int(counts.iloc[-1]["economic"])), "social-latest": str(int(counts.iloc[-1]["social"])),
    })
    in_year = mapping[mapping["indicator"].isin(set(iy.loc[iy["year"] == report_year, "indicator"]))]
    titles = outputs.indicators.set_index("indicator")["title"]
    econ = in_year.loc[in_year["strand"] == "economic", "indicator"]
    res.text["econ-2002-names"] = ", ".join(sorted(titles.get(i, i).lower() for i in econ)) or "none"
    res.text["econ-2002-indicators"] = f"{len(econ)} indicator{'' if len(econ) == 1 else 's'}"
    backcast = econ[econ.str.endswith("_lad")]
    res.text["econ-2002-backcast"] = str(len(backcast))
    social = in_year[in_year["strand"] == "social"]
    res.text["social-2002-scotpho"] = str(int((social["source_group"] == "ScotPHO").sum()))
    res.text["social-2002-nrs"] = str(int((social["source_group"] == "NRS and ONS").sum()))
    peak_year = int(counts[["economic", "social", "environmental"]].sum(axis=1).idxmax())
    res.text["peak-year"] = str(peak_year)
    res.text["peak-total"] = str(int(counts.loc[peak_year, ["economic", "social", "environmental"]].sum()))
    alt = (
        f"Line chart of indicators with council data by year for each strand of the report's three principles. "
        f"In {report_year} the panel held {res.text['econ-2002']} for economic needs, {res.text['social-2002']} "
        f"for social needs and {res.text['env-2002']} for environmental needs, and none at any date that measures "
        f"community participation or partnership working; the nearest proxies begin in "
        f"{res.text['integration-proxy-first']} (integrated care outcomes) and {res.text['participation-proxy-first']} "
        f"(users' say in their own care)."
    )
    figures.glue_figure("fig-ch02-principles", fig, alt)
    res.tables["principles"] = principle_table(outputs, mapping, report_year)
    return res


# --------------------------------------------------------------------------------------------
# Chapter 3: what differs between partnerships that the data can show

def ch03(outputs: Outputs, size_year: str = "2002", base: str = "2000-2002", end: str = "2015-2017",
         small: int = 100_000, large: int = 300_000) -> ChapterResult:
    reg = register.load_register().set_index("code").sort_index()
    panel = outputs.panel
    pop = council_values(panel, "population", size_year)
    alc0 = council_values(panel, "alcohol_specific_death_rate_pooled", base)
    alc1 = council_values(panel, "alcohol_specific_death_rate_pooled", end)
    change = alc1 - alc0
    logpop = np.log10(pop)
    alpha = _alpha()
    corr_change = correlation(logpop, change.loc[logpop.index], alpha)
    corr_level = correlation(logpop, alc0.loc[logpop.index], alpha)
    groups = partnership_groups()

    res = ChapterResult()
    conf = f"{1 - alpha:.0%}"
    res.text.update({
        "size-year": size_year, "base": base, "end": end, "conf": conf,
        "pop-min": fmt_int(pop.min()), "pop-min-name": register.name_of(pop.idxmin()),
        "pop-max": fmt_int(pop.max()), "pop-max-name": register.name_of(pop.idxmax()),
        "pop-ratio": fmt_int(pop.max() / pop.min()), "pop-median": fmt_int(pop.median()),
        "small": fmt_int(small), "large": fmt_int(large),
        "n-small": str(int((pop < small).sum())), "n-large": str(int((pop > large).sum())),
        "r-reading": strength(corr_change),
        "r-level-reading": strength(corr_level),
        "r": f"{corr_change.r:.2f}", "r-ci": f"{corr_change.ci_low:.2f} to {corr_change.ci_high:.2f}",
        "r-p": fmt_p(corr_change.p), "n": str(corr_change.n),
        "rho": f"{corr_change.rho:.2f}", "rho-p": fmt_p(corr_change.rho_p),
        "slope": fmt(corr_change.slope, 1),
        "slope-ci": f"{corr_change.slope_ci_low:.1f} to {corr_change.slope_ci_high:.1f}",
        "r-level": f"{corr_level.r:.2f}", "r-level-ci": f"{corr_level.ci_low:.2f} to {corr_level.ci_high:.2f}",
        "r-level-p": fmt_p(corr_level.p),
        "change-median": fmt(change.median(), 1), "n-fell": str(int((change < 0).sum())),
        "n-rose": str(int((change > 0).sum())),
    })
    # ITL3 geography
    n_parts = reg["itl3_codes"].map(lambda s: len(register.split_list(s)))
    split = reg.index[n_parts > 1]
    shared = reg.index[reg["itl3_shared"].astype(bool)]
    whole = reg.index[(n_parts == 1) & ~reg["itl3_shared"].astype(bool)]
    res.text.update({
        "n-split": str(len(split)), "split-names": _names(split),
        "n-shared": str(len(shared)), "n-whole": str(len(whole)),
        "n-itl3": str(len({c for s in reg["itl3_codes"] for c in register.split_list(s)})),
    })
    fg = pd.crosstab(reg["lgbf_family_group_people"], reg["lgbf_family_group_other"])
    fg = fg.reindex(index=list(register.FAMILY_GROUPS), columns=list(register.FAMILY_GROUPS), fill_value=0)
    res.text["fg-diagonal"] = str(int(np.trace(fg.to_numpy())))
    res.text["fg-people4-other4"] = str(int(fg.loc[4, 4]))
    res.text["fg-people4-other1"] = str(int(fg.loc[4, 1]))
    res.text["fg-people4-other12"] = str(int(fg.loc[4, 1] + fg.loc[4, 2]))
    res.text["fg-people1-other4"] = str(int(fg.loc[1, 4]))
    fg_table = fg.copy()
    ends = {1: " (least deprived)", 4: " (most deprived)"}
    fg_table.index = [f"deprivation group {i}{ends.get(i, '')}" for i in fg.index]
    fg_table.columns = [f"area type {i}" + (" (most rural)" if i == 1 else " (most urban)" if i == 4 else "")
                        for i in fg.columns]
    res.tables["family_groups"] = fg_table.reset_index(names="LGBF family group")
    geo = pd.DataFrame({
        "Partnership": reg["name"],
        "ITL3 area(s)": reg["itl3_names"].map(lambda s: "; ".join(register.split_list(s))),
        "Split across ITL3 areas": np.where(n_parts > 1, "yes", ""),
        "ITL3 area shared with another council": np.where(reg["itl3_shared"].astype(bool), "yes", ""),
        f"Population {size_year}": pop.reindex(reg.index).map(fmt_int),
    })
    res.tables["geography"] = geo[(n_parts > 1) | reg["itl3_shared"].astype(bool)].sort_values("Partnership",
                                                                                                 ignore_index=True)

    fig, ax = figures.new_figure(width=7.5, height=4.6)
    for group in GROUP_ORDER:
        idx = groups.index[groups == group]
        ax.scatter(pop[idx], change[idx], s=40, color=GROUP_COLOURS[group], edgecolor="white", linewidth=0.6,
                   label=f"{group} ({len(idx)})", zorder=3)
    xs = np.linspace(logpop.min(), logpop.max(), 50)
    intercept = change.mean() - corr_change.slope * logpop.mean()
    ax.plot(10 ** xs, intercept + corr_change.slope * xs, color="#000000", lw=1.2, ls="--", label="least-squares line")
    ax.axhline(0, color="#000000", lw=0.6)
    _population_axis(ax)
    for code in list(pop.nlargest(2).index) + list(pop.nsmallest(2).index) + [change.idxmax(), change.idxmin()]:
        ax.annotate(register.name_of(code), (pop[code], change[code]), fontsize=7.5, xytext=(4, 3),
                    textcoords="offset points")
    ax.set_xlabel(f"population, {size_year} (thousands, log scale)")
    ax.set_ylabel(f"change in deaths per 100,000\n({base} to {end}, pooled)")
    ax.set_title("Partnership size and the change in alcohol-specific deaths")
    ax.legend(fontsize=8, loc="best")
    alt = (
        f"Scatter plot of the 32 partnerships: population in {size_year} (log scale) against the change in the "
        f"pooled alcohol-specific death rate from {base} to {end}. The correlation is r = {res.text['r']} "
        f"({conf} interval {res.text['r-ci']}): {strength(corr_change)}; "
        f"{res.text['n-fell']} partnerships saw the rate fall and {res.text['n-rose']} saw it rise."
    )
    figures.glue_figure("fig-ch03-size", fig, alt)
    return res


# --------------------------------------------------------------------------------------------
# Chapter 4: timeline of events and the data's coverage


def load_timeline() -> pd.DataFrame:
    """``data/reference/timeline.csv``, validated: dates parse, every row has an http(s) source,
    rows are in date order."""
    path = paths.REFERENCE / TIMELINE_FILE
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    required = ["date", "precision", "event", "short_label", "source"]
    if list(frame.columns) != required:
        raise DataError(f"columns are {list(frame.columns)}, expected {required}", file=path)
    for i, row in frame.iterrows():
        line = int(i) + 2
        if not row["source"].startswith(("http://", "https://")):
            raise DataError("source is not a web address", file=path, row=line, column="source")
        if row["precision"] not in {"day", "month"}:
            raise DataError(f"precision {row['precision']!r} is not 'day' or 'month'", file=path, row=line,
                            column="precision")
        if not row["event"].strip():
            raise DataError("event is empty", file=path, row=line, column="event")
    try:
        frame["date"] = pd.to_datetime(frame["date"], format="%Y-%m-%d")
    except ValueError as exc:
        raise DataError(f"a date does not parse: {exc}", file=path, column="date") from exc
    if frame["short_label"].duplicated().any():
        dup = frame.loc[frame["short_label"].duplicated(), "short_label"].iloc[0]
        raise DataError(f"short label {dup!r} is used twice", file=path, column="short_label")
    if not frame["date"].is_monotonic_increasing:
        raise DataError("rows are not in date order", file=path, column="date")
    return frame


def timeline_table(timeline: pd.DataFrame) -> pd.DataFrame:
    def when(d, precision):
        return d.strftime("%-d %B %Y") if precision == "day" else d.strftime("%B %Y")

    return pd.DataFrame({
        "Date": [when(d, p) for d, p in zip(timeline["date"], timeline["precision"], strict=True)],
        "Event": timeline["event"],
        "Source": timeline["source"],
    })


#: Timeline events marked by a dashed line across both panels of the chapter 4 figure.
KEY_EVENTS = ("Duty in force", "First SOAs")


def _decimal_year(dates: pd.Series) -> pd.Series:
    return dates.dt.year + (dates.dt.day_of_year - 1) / 365.25


def _label_levels(x: pd.Series, labels: pd.Series, n_levels: int, years_per_char: float) -> list[int]:
    """Greedy stacking: each label takes the lowest level on which it does not overlap a label
    already placed (label widths estimated from their length)."""
    ends = [-math.inf] * n_levels
    out = []
    for xi, label in zip(x, labels, strict=True):
        width = (len(label) + 2) * years_per_char
        level = next((i for i in range(n_levels) if ends[i] < xi), int(np.argmin(ends)))
        ends[level] = xi + width
        out.append(level)
    return out


def ch04(outputs: Outputs, first: int = 1998, last: int = 2016) -> ChapterResult:
    timeline = load_timeline()
    coverage = coverage_by_year(outputs.panel, range(first, last + 1))
    total = coverage.sum(axis=1)
    events = settings.load()["attribution"]["events"]
    duty, soa = int(events["duty"]), int(events["soa"])
    missing = [k for k in KEY_EVENTS if k not in set(timeline["short_label"])]
    if missing:
        raise DataError(f"timeline has no event labelled {missing[0]!r}", file=TIMELINE_FILE, column="short_label")

    import matplotlib.pyplot as plt

    figures.apply_style()
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6.4), sharex=True, gridspec_kw={"height_ratios": [1.5, 1]})
    x = _decimal_year(timeline["date"])
    n_levels = 6
    levels = _label_levels(x, timeline["short_label"], n_levels, years_per_char=0.14)
    for xi, label, level in zip(x, timeline["short_label"], levels, strict=True):
        y = 0.12 + 0.85 * level / (n_levels - 1)
        top.plot([xi, xi], [0, y], color="#7F7F7F", lw=0.7)
        top.scatter([xi], [0], s=18, color=figures.OKABE_ITO[0], zorder=3)
        top.text(xi + 0.05, y, label, fontsize=7.5, va="center")
    top.set_ylim(-0.06, 1.06)
    top.set_yticks([])
    top.set_title("Community Planning events (above) and council-level data coverage (below)")
    top.grid(False)
    # a bar for year Y spans [Y, Y + 1), so events and data share one time axis
    bottom.bar(coverage.index + 0.5, total, color=figures.OKABE_ITO[4], width=0.85)
    for label in KEY_EVENTS:
        xi = float(x[timeline["short_label"] == label].iloc[0])
        for ax in (top, bottom):
            ax.axvline(xi, color=figures.OKABE_ITO[5], lw=1.2, ls="--")
    bottom.set_ylabel("indicators with\ncouncil data")
    bottom.set_xlabel("year (data periods dated by their first year)")
    bottom.set_xlim(first, last + 1.9)
    ticks = list(range(first, last + 2, 2))
    bottom.set_xticks(ticks)
    bottom.set_xticklabels([str(t) for t in ticks])
    fig.tight_layout()
    res = ChapterResult()
    res.text.update({
        "first": str(first), "last": str(last), "n-events": str(len(timeline)),
        "n-report-year": str(int(total.loc[2002])), "n-duty": str(int(total.loc[duty])),
        "n-soa": str(int(total.loc[soa])), "n-last": str(int(total.loc[last])),
        "n-first": str(int(total.loc[first])), "duty": str(duty), "soa": str(soa),
        "n-events-before-report": str(int((timeline["date"] < pd.Timestamp("2002-10-01")).sum())),
        "lgbf-first": str(int(coverage.index[coverage["LGBF"] > 0].min())),
        "cpop-first": str(int(coverage.index[coverage["CPOP"] > 0].min())),
        "scotpho-first": str(int(coverage.index[coverage["ScotPHO"] > 0].min())),
        "peak-year": str(int(total.idxmax())), "peak": str(int(total.max())),
    })
    res.text["multiple-last"] = f"{total.loc[last] / total.loc[2002]:.0f}"
    alt = (
        f"Timeline of {len(timeline)} Community Planning events from {int(x.min())} to {int(x.max())} above a bar "
        f"chart of indicators with council-level data: {res.text['n-report-year']} in 2002, when the report "
        f"appeared, {res.text['n-duty']} in {duty}, when the duty began, {res.text['n-soa']} in {soa}, when the first "
        f"Single Outcome Agreements were produced, and {res.text['n-last']} in {last}, when the 2015 Act's community "
        f"planning part came fully into force."
    )
    figures.glue_figure("fig-ch04-timeline", fig, alt)
    res.tables["timeline"] = timeline_table(timeline)
    return res


# --------------------------------------------------------------------------------------------
# Chapter 6: health improvement and community safety outcomes over time

CH06_PANELS = (
    ("alcohol_specific_death_rate_pooled", "Alcohol-specific deaths (3-year pooled)", "per 100,000 (crude)"),
    ("scotpho_deaths_all_ages", "Deaths, all ages (3-year)", "per 100,000 (age-sex standardised)"),
    ("scotpho_crime_rate", "Recorded crime (survey years only)", "per 1,000 people"),
    ("cpop_dwelling_fires", "Dwelling fires", "per 100,000 people"),
)


CASE_PALE = "#7FB3D8"  # Okabe-Ito blue mixed half-and-half with white
OTHER_PALE = "#C4C4C4"


def _spaghetti(ax, panel: pd.DataFrame, indicator: str, title: str, unit: str, groups: pd.Series) -> dict:
    rows = council_rows(panel, indicator)
    wide = rows.pivot_table(index="year", columns="area_code", values="value", aggfunc="first").sort_index()
    from matplotlib.ticker import MaxNLocator

    # opaque pale colours (not transparency) keep the PNG small
    for code in wide.columns:
        colour = CASE_PALE if groups.get(code) == GROUP_CASE else OTHER_PALE
        ax.plot(wide.index, wide[code], color=colour, lw=0.7, marker="." if len(wide) < 8 else None, ms=2.5,
                antialiased=False)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
    scot = scotland_series(panel, indicator).reindex(wide.index)
    ax.plot(scot.index, scot.values, color="#000000", lw=2.4, marker="o" if len(wide) < 8 else None, ms=4)
    ax.set_title(title, fontsize=10)
    ax.set_ylabel(unit, fontsize=8.5)
    ax.tick_params(labelsize=8)
    first, last = int(wide.index.min()), int(wide.index.max())
    both = wide.loc[[first, last]].dropna(axis=1)
    return {"first": first, "last": last, "scot_first": float(scot.loc[first]), "scot_last": float(scot.loc[last]),
            "n_fell": int((both.loc[last] < both.loc[first]).sum()), "n": int(both.shape[1]),
            "periods": rows.drop_duplicates("year").set_index("year")["period"].to_dict()}


def ch06(outputs: Outputs, ledger: pd.DataFrame | None = None) -> ChapterResult:
    panel = outputs.panel
    groups = partnership_groups()
    fig, axes = figures.new_figure(width=9, height=6, nrows=2, ncols=2)
    facts = {}
    for ax, (indicator, title, unit) in zip(axes.flat, CH06_PANELS, strict=True):
        facts[indicator] = _spaghetti(ax, panel, indicator, title, unit, groups)
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color="#000000", lw=2.4, label="Scotland"),
               Line2D([], [], color=CASE_PALE, lw=1.2, label="case-study partnership"),
               Line2D([], [], color=OTHER_PALE, lw=1.2, label="other partnership")]
    fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=8.5, frameon=False)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    res = ChapterResult()
    short = {"alcohol_specific_death_rate_pooled": "alc", "scotpho_deaths_all_ages": "deaths",
             "scotpho_crime_rate": "crime", "cpop_dwelling_fires": "fires"}
    for indicator, f in facts.items():
        k = short[indicator]
        res.text.update({
            f"{k}-first": f["periods"][f["first"]], f"{k}-last": f["periods"][f["last"]],
            f"{k}-scot-first": fmt(f["scot_first"], 1), f"{k}-scot-last": fmt(f["scot_last"], 1),
            f"{k}-scot-change": f"{(f['scot_last'] / f['scot_first'] - 1):+.0%}",
            f"{k}-n-fell": str(f["n_fell"]), f"{k}-n": str(f["n"]),
        })
    # the peak of the pooled alcohol series
    scot_alc = scotland_series(panel, "alcohol_specific_death_rate_pooled")
    peak = int(scot_alc.idxmax())
    res.text["alc-peak"] = council_rows(panel, "alcohol_specific_death_rate_pooled").drop_duplicates("year").set_index(
        "year").loc[peak, "period"]
    res.text["alc-peak-value"] = fmt(scot_alc.max(), 1)
    alt = (
        f"Four small-multiple line charts, one line per partnership and Scotland in black. Scotland's pooled "
        f"alcohol-specific death rate went from {res.text['alc-scot-first']} ({res.text['alc-first']}) to a peak of "
        f"{res.text['alc-peak-value']} ({res.text['alc-peak']}), then {res.text['alc-scot-last']} "
        f"({res.text['alc-last']}); all-age deaths changed by {res.text['deaths-scot-change']} between "
        f"{res.text['deaths-first']} and {res.text['deaths-last']}; recorded crime changed "
        f"{res.text['crime-scot-change']} between {res.text['crime-first']} and {res.text['crime-last']}; "
        f"dwelling fires changed {res.text['fires-scot-change']} from {res.text['fires-first']} to "
        f"{res.text['fires-last']}."
    )
    figures.glue_figure("fig-ch06-outcomes", fig, alt)

    # within-area inequality: RII of alcohol-related hospital admissions
    ind = "scotpho_alcohol_admissions"
    rii = council_rows(panel, ind, "rii")
    wide = rii.pivot_table(index="year", columns="area_code", values="value", aggfunc="first").sort_index()
    scot_rii = scotland_series(panel, ind, "rii").reindex(wide.index)
    periods = rii.drop_duplicates("year").set_index("year")["period"]
    fig2, ax = figures.new_figure(width=9, height=4)
    ax.boxplot([wide.loc[y].dropna().to_numpy() for y in wide.index], positions=list(wide.index), widths=0.6,
               patch_artist=True, boxprops={"facecolor": figures.OKABE_ITO[4], "alpha": 0.6},
               medianprops={"color": "#000000"}, flierprops={"markersize": 3})
    ax.plot(scot_rii.index, scot_rii.values, color=figures.OKABE_ITO[5], lw=2, marker="o", ms=4, label="Scotland")
    ax.axhline(0, color="#000000", lw=0.6)
    ax.set_xticks(list(wide.index))
    ax.set_xticklabels([periods[y] for y in wide.index], rotation=60, fontsize=7.5)
    ax.set_ylabel("relative index of inequality")
    ax.set_title("Within-area inequality in alcohol-related hospital admissions, by council")
    ax.legend(fontsize=8, loc="upper right")
    y0, y1 = int(wide.index.min()), int(wide.index.max())
    med0, med1 = float(wide.loc[y0].median()), float(wide.loc[y1].median())
    res.text.update({
        "rii-first": periods[y0], "rii-last": periods[y1],
        "rii-med-first": fmt(med0, 2), "rii-med-last": fmt(med1, 2),
        "rii-scot-first": fmt(scot_rii.loc[y0], 1), "rii-scot-last": fmt(scot_rii.loc[y1], 1),
        "rii-min-last": fmt(wide.loc[y1].min(), 1), "rii-max-last": fmt(wide.loc[y1].max(), 1),
        "rii-med-change": f"{med1 - med0:+.2f}",
        "rii-n-positive-last": str(int((wide.loc[y1] > 0).sum())), "rii-n-last": str(int(wide.loc[y1].notna().sum())),
    })
    alt2 = (
        f"Box plots of the 32 councils' relative index of inequality in alcohol-related hospital admissions for each "
        f"year from {periods[y0]} to {periods[y1]}: the median council's index moved from {res.text['rii-med-first']} "
        f"to {res.text['rii-med-last']} and Scotland's from {res.text['rii-scot-first']} to "
        f"{res.text['rii-scot-last']}; in {periods[y1]} {res.text['rii-n-positive-last']} of {res.text['rii-n-last']} "
        f"councils still had higher admission rates in their more deprived areas."
    )
    figures.glue_figure("fig-ch06-rii", fig2, alt2)

    if ledger is not None:
        from .attribution import verdicts as rules

        rows = ledger[ledger["chapter"] == 6]
        res.text["ledger-n"] = str(len(rows))
        res.text["ledger-outcomes"] = str(int(rows.loc[rows["outcome"] != "", "outcome"].nunique()))
        names = rules.labels(settings.load()["attribution"])
        for role in ("confirmatory", "exploratory"):
            counts = rows.loc[rows["role"] == role, "verdict_key"].value_counts()
            res.text[f"ledger-{role}-n"] = str(int(counts.sum()))
            res.text[f"ledger-{role}-verdicts"] = "; ".join(
                f"{names[k]}: {int(counts[k])}" for k in rules.KEYS if k in counts) or "none"
        named = rows.assign(verdict=rows["verdict_key"].map(names))
        table = named.groupby(["outcome", "design", "role", "verdict"]).size().rename("claims").reset_index()
        titles = outputs.indicators.set_index("indicator")["title"]
        table["outcome"] = [titles.get(o, o) if o else "(report claim)" for o in table["outcome"]]
        res.tables["ledger"] = table.rename(columns={"outcome": "Outcome", "design": "Design", "role": "Role",
                                                     "verdict": "Verdict", "claims": "Claims"})
    return res


# --------------------------------------------------------------------------------------------
# Chapter 7: outcomes by rurality and deprivation family group

CH07_OUTCOMES = (
    ("alcohol_specific_death_rate_pooled", "deaths per 100,000 (3-year pooled)"),
    ("employment_rate", "% of people aged 16-64 in work"),
)
FG_COLUMNS = (("lgbf_family_group_people", "deprivation family group", ("least deprived", "most deprived")),
              ("lgbf_family_group_other", "area-type family group", ("most rural", "most urban")))


def family_group_means(panel: pd.DataFrame, indicator: str, fg_column: str) -> pd.DataFrame:
    """Unweighted mean of the councils in each family group, by year (years × groups 1-4)."""
    reg = register.load_register().set_index("code")
    rows = council_rows(panel, indicator).copy()
    rows["fg"] = rows["area_code"].map(reg[fg_column]).astype(int)
    return rows.pivot_table(index="year", columns="fg", values="value", aggfunc="mean").sort_index()


def _gap_words(gap: float, unit: str, more: str, less: str) -> str:
    """'12.9 per 100,000 above' or '6.9 points lower': the size of a gap and its direction."""
    return " ".join(w for w in (fmt(abs(gap), 1), unit, more if gap >= 0 else less) if w)


def ch07(outputs: Outputs, report_period: str = "2000-2002") -> ChapterResult:
    panel = outputs.panel
    reg = register.load_register().set_index("code")
    fig, axes = figures.new_figure(width=8, height=5.3, nrows=2, ncols=2)
    res = ChapterResult()
    alpha = _alpha()
    short_titles = {"alcohol_specific_death_rate_pooled": "Alcohol deaths", "employment_rate": "Employment"}
    for i, (indicator, ylabel) in enumerate(CH07_OUTCOMES):
        periods = council_rows(panel, indicator).drop_duplicates("year").set_index("year")["period"]
        for j, (fg_column, fg_label, ends) in enumerate(FG_COLUMNS):
            ax = axes[i, j]
            means = family_group_means(panel, indicator, fg_column)
            for g, colour in zip(register.FAMILY_GROUPS, figures.OKABE_ITO, strict=False):
                lab = f"{g}" + (f" ({ends[0]})" if g == 1 else f" ({ends[1]})" if g == 4 else "")
                ax.plot(means.index, means[g], color=colour, lw=1.6, label=lab)
            ax.set_title(f"{short_titles[indicator]} by {fg_label.replace(' family', '')}", fontsize=9.5)
            ax.set_ylabel(ylabel if j == 0 else "", fontsize=8)
            ax.tick_params(labelsize=8)
            if i == 0:
                ax.legend(fontsize=7, title=fg_label, title_fontsize=7, loc="upper left")
            y0, y1 = int(means.index.min()), int(means.index.max())
            k = f"{'alc' if i == 0 else 'emp'}-{'people' if j == 0 else 'other'}"
            gap0 = float(means.loc[y0, 4] - means.loc[y0, 1])
            gap1 = float(means.loc[y1, 4] - means.loc[y1, 1])
            # council-level change by group: group 4 against group 1 (Welch interval)
            v0 = council_values(panel, indicator, periods[y0])
            v1 = council_values(panel, indicator, periods[y1])
            ch = v1 - v0
            fg = reg[fg_column].reindex(ch.index).astype(int)
            diff, lo, hi, p = mean_difference(ch[fg == 4], ch[fg == 1], alpha)
            res.text.update({
                f"{k}-first": periods[y0], f"{k}-last": periods[y1],
                f"{k}-gap-first": fmt(gap0, 1), f"{k}-gap-last": fmt(gap1, 1),
                f"{k}-g4-first": fmt(means.loc[y0, 4], 1), f"{k}-g1-first": fmt(means.loc[y0, 1], 1),
                f"{k}-g4-last": fmt(means.loc[y1, 4], 1), f"{k}-g1-last": fmt(means.loc[y1, 1], 1),
                f"{k}-dchange": fmt(diff, 1), f"{k}-dchange-ci": f"{lo:.1f} to {hi:.1f}", f"{k}-dchange-p": fmt_p(p),
                f"{k}-gap-trend": "widened" if abs(gap1) > abs(gap0) else "narrowed",
                f"{k}-dchange-reading": ("an interval that excludes zero" if lo > 0 or hi < 0
                                         else "an interval that includes zero"),
            })
            if indicator == "alcohol_specific_death_rate_pooled":
                yr = int(periods[periods == report_period].index[0])
                res.text[f"{k}-gap-report"] = fmt(means.loc[yr, 4] - means.loc[yr, 1], 1)
                peak = int((means[4] - means[1]).idxmax())
                res.text[f"{k}-gap-peak"] = fmt(float((means[4] - means[1]).max()), 1)
                res.text[f"{k}-gap-peak-period"] = periods[peak]
    res.text["report-period"] = report_period
    res.text["conf"] = f"{1 - alpha:.0%}"
    for g in register.FAMILY_GROUPS:
        res.text[f"case-in-people-{g}"] = str(int((reg["case_study"] & (reg["lgbf_family_group_people"] == g)).sum()))
        res.text[f"case-in-other-{g}"] = str(int((reg["case_study"] & (reg["lgbf_family_group_other"] == g)).sum()))
    fig.tight_layout()
    t = res.text

    def gap(key: str, unit: str, more: str, less: str) -> str:
        return _gap_words(float(t[key]), unit, more, less)

    alt = (
        f"Four line charts of family-group averages. The most deprived group's pooled alcohol-specific death rate was "
        f"{gap('alc-people-gap-first', 'per 100,000', 'above', 'below')} the least deprived group's in "
        f"{t['alc-people-first']}, {gap('alc-people-gap-report', '', 'above', 'below')} in {report_period} and "
        f"{gap('alc-people-gap-last', '', 'above', 'below')} in {t['alc-people-last']}; its employment rate was "
        f"{gap('emp-people-gap-first', 'points', 'higher', 'lower')} in {t['emp-people-first']} and "
        f"{gap('emp-people-gap-last', 'points', 'higher', 'lower')} in {t['emp-people-last']}. "
        f"The most urban group's employment rate was {gap('emp-other-gap-first', 'points', 'higher', 'lower')} than "
        f"the most rural group's in {t['emp-other-first']} and "
        f"{gap('emp-other-gap-last', 'points', 'higher', 'lower')} in {t['emp-other-last']}."
    )
    figures.glue_figure("fig-ch07-family-groups", fig, alt)
    return res


# --------------------------------------------------------------------------------------------
# Chapter 8: monitoring then and now — coverage by source


def ch08(outputs: Outputs, snapshots: tuple[int, ...] = (2002, 2008, 2016)) -> ChapterResult:
    iy = council_indicator_years(outputs.panel)
    years = range(1991, int(iy["year"].max()) + 1)
    coverage = coverage_by_year(outputs.panel, years)
    fig, ax = figures.new_figure(width=9, height=4.4)
    ax.stackplot(coverage.index, [coverage[g] for g in SOURCE_GROUPS], labels=list(SOURCE_GROUPS),
                 colors=[SOURCE_COLOURS[g] for g in SOURCE_GROUPS], alpha=0.85)
    for y in snapshots:
        ax.axvline(y, color="#000000", lw=0.8, ls=":")
        ax.text(y + 0.15, ax.get_ylim()[1] * 0.97, str(y), fontsize=8, va="top")
    ax.set_xlabel("year (first year of each data period)")
    ax.set_ylabel("indicators with council data")
    ax.set_title("Council-level indicators available, by source and year")
    ax.legend(loc="upper left", fontsize=8)
    ax.set_xlim(years[0], years[-1])
    res = ChapterResult()
    rows = []
    for group in SOURCE_GROUPS:
        ids = iy.loc[iy["source_group"] == group]
        row = {"Source": group, "Indicators in the panel": str(ids["indicator"].nunique()),
               "First year with council data": str(int(ids["year"].min()))}
        for y in snapshots:
            row[f"With council data for {y}"] = str(int(coverage.loc[y, group]))
        rows.append(row)
    total = {"Source": "All sources", "Indicators in the panel": str(iy["indicator"].nunique()),
             "First year with council data": str(int(iy["year"].min()))}
    for y in snapshots:
        total[f"With council data for {y}"] = str(int(coverage.loc[y].sum()))
    rows.append(total)
    res.tables["coverage"] = pd.DataFrame(rows)
    for y in snapshots:
        res.text[f"n-{y}"] = str(int(coverage.loc[y].sum()))
        for group in SOURCE_GROUPS:
            res.text[f"{group.split()[0].lower()}-{y}"] = str(int(coverage.loc[y, group]))
    # how much of what was measured in the last snapshot year reaches back to the report
    last = snapshots[-1]
    measured_last = set(iy.loc[iy["year"] == last, "indicator"])
    back = iy[iy["indicator"].isin(measured_last)].groupby("indicator")["year"].min()
    res.text["n-last-measured"] = str(len(measured_last))
    res.text["n-last-back-to-report"] = str(int((back <= snapshots[0]).sum()))
    res.text["share-last-back-to-report"] = f"{(back <= snapshots[0]).mean():.0%}"
    res.text["n-last-from-soa"] = str(int((back >= snapshots[1]).sum()))
    res.text["share-last-from-soa"] = f"{(back >= snapshots[1]).mean():.0%}"
    res.text["ratio"] = f"{coverage.loc[last].sum() / coverage.loc[snapshots[0]].sum():.0f}"
    for group in SOURCE_GROUPS:
        res.text[f"{group.split()[0].lower()}-first"] = str(int(iy.loc[iy["source_group"] == group, "year"].min()))
    absent = [g for g in SOURCE_GROUPS if coverage.loc[snapshots[0], g] == 0]
    absent_words = ("none from " + " or ".join(absent)) if absent else "some from every source"
    res.text["absent-first"] = " or ".join(absent) if absent else "none"
    alt = (
        f"Stacked area chart of indicators with council-level data by year and source: {res.text[f'n-{snapshots[0]}']} "
        f"in {snapshots[0]} ({absent_words}), {res.text[f'n-{snapshots[1]}']} in {snapshots[1]} and "
        f"{res.text[f'n-{last}']} in {last}; of the indicators measured in {last}, only "
        f"{res.text['n-last-back-to-report']} reach back to {snapshots[0]}."
    )
    figures.glue_figure("fig-ch08-coverage", fig, alt)
    return res


# --------------------------------------------------------------------------------------------
# Chapter 9: CPOP themes — when council data begin

CPOP_MEASURE_SUFFIXES = ("_3yr", "_5yr", "_r2017", "_r2018")


def cpop_measure(indicator: str) -> str:
    """The CPOP measure an indicator id belongs to (releases and rolling means merged)."""
    for suffix in CPOP_MEASURE_SUFFIXES:
        if indicator.endswith(suffix):
            return indicator[: -len(suffix)]
    return indicator


def cpop_first_years(outputs: Outputs, before: int = 2008) -> pd.DataFrame:
    """One row per CPOP measure: its theme (as the dictionary records it), first and last year of
    council data, and the number of years of council data before ``before``."""
    dictionary = pd.read_csv(paths.REFERENCE / "cpop_indicators.csv", dtype=str, keep_default_na=False)
    names = dictionary.drop_duplicates("indicator_id", keep="last").set_index("indicator_id")["published_name"]
    themes = (dictionary.assign(measure=dictionary["indicator_id"].map(cpop_measure))
              .groupby("measure")["theme"].agg(lambda s: next((t for t in s if t), "")))
    iy = council_indicator_years(outputs.panel)
    cp = iy[iy["source_group"] == "CPOP"].copy()
    cp["measure"] = cp["indicator"].map(cpop_measure)
    rows = []
    for measure, grp in cp.groupby("measure"):
        years = sorted(grp["year"].unique())
        rows.append({
            "measure": measure,
            "name": names.get(measure, names.get(grp["indicator"].iloc[0], measure)),
            "theme": themes.get(measure, "") or "theme not recorded",
            "first": int(years[0]), "last": int(years[-1]),
            "pre": int(sum(1 for y in years if y < before)),
        })
    return pd.DataFrame(rows).sort_values(["theme", "first", "measure"], ignore_index=True)


def ch09(outputs: Outputs, before: int = 2008, duty: int | None = None) -> ChapterResult:
    duty = duty or int(settings.load()["attribution"]["events"]["duty"])
    table = cpop_first_years(outputs, before)
    themes = list(dict.fromkeys(table["theme"]))
    colours = {t: figures.OKABE_ITO[i % len(figures.OKABE_ITO)] for i, t in enumerate(themes)}
    fig, ax = figures.new_figure(width=9, height=0.3 * len(table) + 2.0)
    for i, row in table.iterrows():
        ax.plot([row["first"], row["last"]], [i, i], color=colours[row["theme"]], lw=5, solid_capstyle="butt")
    ax.set_yticks(range(len(table)))
    ax.set_yticklabels(table["name"], fontsize=8)
    ax.invert_yaxis()
    ax.axvline(duty, color="#000000", lw=1, ls="--")
    ax.axvline(before, color="#000000", lw=1, ls=":")
    ax.set_xlim(min(duty, int(table["first"].min())) - 1.5, int(table["last"].max()) + 0.5)
    ax.text(duty + 0.1, -0.8, "duty", fontsize=8)
    ax.text(before + 0.1, -0.8, "first SOAs", fontsize=8)
    from matplotlib.patches import Patch

    ax.legend(handles=[Patch(color=colours[t], label=t) for t in themes], fontsize=7.5, loc="upper center",
              bbox_to_anchor=(0.4, -0.09), ncol=3, frameon=False)
    ax.set_xlabel("years with council data (first year of each period)")
    ax.set_title("CPOP measures: the years each covers at council level")
    res = ChapterResult()
    res.text.update({
        "n-measures": str(len(table)), "n-themes": str(len([t for t in themes if t != "theme not recorded"])),
        "n-no-theme": str(int((table["theme"] == "theme not recorded").sum())),
        "n-before-duty": str(int((table["first"] < duty).sum())),
        "n-pre-soa": str(int((table["pre"] > 0).sum())),
        "median-pre": f"{table['pre'].median():.0f}", "max-pre": str(int(table["pre"].max())),
        "earliest": str(int(table["first"].min())), "median-first": f"{table['first'].median():.0f}",
        "before": str(before), "duty": str(duty),
    })
    n_before = int((table["first"] < duty).sum())
    res.text["reach-words"] = ("None of the profile reaches back to the years before the duty." if n_before == 0 else
                               "Little of the profile reaches back to the years before the duty.")
    alt = (
        f"Horizontal bars for the {len(table)} CPOP measures, coloured by theme, showing the years each covers: "
        f"the earliest begins in {res.text['earliest']}, and {res.text['n-before-duty']} cover the report or the "
        f"start of the duty in {duty}; "
        f"{res.text['n-pre-soa']} have any council data before {before}, at most {res.text['max-pre']} years of it."
    )
    figures.glue_figure("fig-ch09-cpop", fig, alt)
    out = table.rename(columns={"name": "CPOP measure", "theme": "Theme (as recorded)", "first": "First year",
                                "last": "Last year", "pre": f"Years of data before {before}"})
    res.tables["cpop"] = out.drop(columns="measure")
    return res
