"""Chapter 7 (challenges and barriers): outcomes by rurality and deprivation family group.

All the analyses are descriptive (level 1 of the Maryland Scientific Methods Scale): associations
across the 32 partnerships, never effects of Community Planning.
"""

from __future__ import annotations

import pandas as pd

from analysis.data import register
from analysis.data.panel import Outputs
from analysis.pages import figures
from analysis.pages.common import (
    PageResult,
    alpha_level,
    council_rows,
    council_values,
    fmt,
    fmt_p,
    mean_difference,
    page_settings,
)

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


def ch07(outputs: Outputs, *, report_period: str) -> PageResult:
    panel = outputs.panel
    reg = register.load_register().set_index("code")
    fig, axes = figures.new_figure(width=8, height=5.3, nrows=2, ncols=2)
    res = PageResult()
    alpha = alpha_level()
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


def parameters() -> dict:
    """:func:`ch07`'s parameters, from the settings (``pages`` and ``attribution.events``)."""
    return {"report_period": page_settings()["report_period"]}


def build(outputs: Outputs | None = None) -> PageResult:
    """The chapter on ``outputs`` (the pipeline's, built if not given), with the settings' parameters."""
    from analysis.data import panel

    return ch07(panel.build() if outputs is None else outputs, **parameters())
