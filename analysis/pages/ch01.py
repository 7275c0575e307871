"""Chapter 1 (background and methodology): were the case studies like the other partnerships?

All the analyses are descriptive (level 1 of the Maryland Scientific Methods Scale): associations
across the 32 partnerships, never effects of Community Planning.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from analysis import settings
from analysis.data import register
from analysis.data.panel import Outputs
from analysis.pages import figures
from analysis.pages.common import (
    GROUP_CASE,
    GROUP_COLOURS,
    GROUP_ORDER,
    GROUP_OTHER,
    GROUP_PILOT,
    PageResult,
    alpha_level,
    council_values,
    fmt,
    fmt_int,
    fmt_p,
    names_list,
    page_settings,
    partnership_groups,
    population_axis,
)
from analysis.settings import SettingsError

# --------------------------------------------------------------------------------------------
# Chapter 1: were the case studies like the other partnerships?

#: (column, indicator, label with the period's place, unit label for figures); each measure is read
#: in the period ``pages.case_study_periods`` gives its indicator.
CH01_MEASURES = (
    ("population", "population", "Population, {period}", "thousand people (log scale)"),
    ("income_deprived", "scotpho_income_deprived", "Population income deprived, {period} (%)", "% income deprived"),
    ("alcohol", "alcohol_specific_death_rate_pooled", "Alcohol-specific deaths per 100,000, {period} pooled",
     "deaths per 100,000 (crude)"),
    ("gva", "gva_per_head", "Gross value added per head, {period} (£)", "£ per head"),
)
#: Short panel titles for the chapter 1 figure.
CH01_TITLES = {"population": "Population", "income_deprived": "Income deprived",
               "alcohol": "Alcohol-specific deaths", "gva": "GVA per head"}



def measure_periods() -> dict[str, str]:
    """The period each measure of :data:`CH01_MEASURES` is read in, by column (``pages.case_study_periods``)."""
    periods = page_settings()["case_study_periods"]
    missing = [indicator for _, indicator, _, _ in CH01_MEASURES if indicator not in periods]
    if missing:
        raise SettingsError(f"pages.case_study_periods: no period for {missing[0]}; chapter 1 compares "
                            f"{', '.join(m[1] for m in CH01_MEASURES)}", file=settings.SETTINGS_FILE)
    return {column: periods[indicator] for column, indicator, _, _ in CH01_MEASURES}


def measure_label(column: str, period: str) -> str:
    label = next(m[2] for m in CH01_MEASURES if m[0] == column)
    return label.format(period=period.replace("-", "–"))


def case_study_frame(outputs: Outputs) -> pd.DataFrame:
    """One row per partnership: its group (case study, pilot, other), family groups and the
    measures of :data:`CH01_MEASURES`, each in its period (:func:`measure_periods`)."""
    reg = register.load_register().set_index("code").sort_index()
    frame = pd.DataFrame({"name": reg["name"], "group": partnership_groups()})
    frame["fg_people"] = reg["lgbf_family_group_people"].astype(int)
    frame["fg_other"] = reg["lgbf_family_group_other"].astype(int)
    periods = measure_periods()
    for column, indicator, _, _ in CH01_MEASURES:
        frame[column] = council_values(outputs.panel, indicator, periods[column])
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
    periods = measure_periods()
    for column, _, _, _ in CH01_MEASURES:
        f = formatters[column]
        label = measure_label(column, periods[column])
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
    periods = measure_periods()
    for ax, (column, _, _, unit) in zip(axes, CH01_MEASURES, strict=True):
        period = periods[column]
        for group in GROUP_ORDER:
            vals = frame.loc[frame["group"] == group, column]
            jitter = rng.uniform(-0.12, 0.12, len(vals)) if len(vals) > 1 else np.zeros(len(vals))
            ax.scatter(vals, ypos[group] + jitter, s=28, color=GROUP_COLOURS[group], alpha=0.85,
                       edgecolor="white", linewidth=0.5, zorder=3)
            if len(vals) > 1:
                ax.plot([vals.median()] * 2, [ypos[group] - 0.3, ypos[group] + 0.3], color="#000000", lw=2, zorder=4)
        if column == "population":
            population_axis(ax)
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
    alpha = alpha_level()
    words = []
    for column, what in (("population", "population"), ("income_deprived", "income-deprived share"),
                         ("alcohol", "alcohol-specific death rate"), ("gva", "GVA per head")):
        p = float(stats.mannwhitneyu(case[column], other[column], alternative="two-sided").pvalue)
        words.append(_compare(p, alpha, case[column].median() > other[column].median(), what))
    alt = (
        f"Dot plots of the {len(frame)} partnerships around {page_settings()['report_year']} by group. "
        f"The {len(case)} case studies had a median "
        f"population of {facts['pop_case']} against {facts['pop_other']} for the other {len(other)}, a median "
        f"income-deprived share of {facts['inc_case']}% against {facts['inc_other']}%, a median pooled "
        f"alcohol-specific death rate of {facts['alc_case']} against {facts['alc_other']} per 100,000, and median GVA "
        f"per head of £{facts['gva_case']} against £{facts['gva_other']}. By a rank test at the {alpha} level the "
        f"case studies had {', '.join(words[:-1])} and {words[-1]}."
    )
    figures.glue_figure(key, fig, alt, data=frame[["name", "group", *(m[0] for m in CH01_MEASURES)]].reset_index())
    return facts


def case_study_map(key: str) -> dict[str, str]:
    """Map of the case studies and the pilot (drawn by the shared mapping module)."""
    from analysis.pages import maps

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
        f"Map of Scotland's {len(groups)} council areas with the {len(case)} case-study partnerships "
        f"({names_list(case)}) "
        f"and the North Lanarkshire pilot shaded and outlined; {urban} of the {per_group} most urban councils and "
        f"{rural} of the {per_group} most rural (LGBF area-type groups) are case studies."
    )
    shown = pd.DataFrame({"area_code": groups.index, "name": groups.index.map(register.name_of),
                          "part in the report": groups.map(labels).to_numpy()})
    figures.glue_figure(key, fig, alt, data=shown)
    return {"credit": maps.MAP_CREDIT, "rural": str(rural), "urban": str(urban)}


def _compare(p: float, alpha: float, higher: bool, what: str) -> str:
    if p >= alpha:
        return f"a similar {what}"
    return f"a {'higher' if higher else 'lower'} {what}"


def ch01(outputs: Outputs) -> PageResult:
    frame = case_study_frame(outputs)
    res = PageResult()
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


def build(outputs: Outputs | None = None) -> PageResult:
    """The chapter on ``outputs`` (the pipeline's, built if not given), with the settings' parameters."""
    from analysis.data import panel

    return ch01(panel.build() if outputs is None else outputs)
