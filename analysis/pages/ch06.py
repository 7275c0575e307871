"""Chapter 6 (aspirations): health improvement and community safety outcomes over time.

All the analyses are descriptive (level 1 of the Maryland Scientific Methods Scale): associations
across the 32 partnerships, never effects of Community Planning.
"""

from __future__ import annotations

import pandas as pd

from analysis import settings
from analysis.data.panel import Outputs
from analysis.pages import figures
from analysis.pages.common import GROUP_CASE, PageResult, council_rows, fmt, partnership_groups, scotland_series

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
    ax.plot(scot.index, scot.values, color="#000000", lw=2.4, zorder=3, marker="o" if len(wide) < 8 else None, ms=4)
    ax.set_title(title, fontsize=10)
    ax.set_ylabel(unit, fontsize=8.5)
    ax.tick_params(labelsize=8)
    first, last = int(wide.index.min()), int(wide.index.max())
    both = wide.loc[[first, last]].dropna(axis=1)
    return {"first": first, "last": last, "scot_first": float(scot.loc[first]), "scot_last": float(scot.loc[last]),
            "n_fell": int((both.loc[last] < both.loc[first]).sum()), "n": int(both.shape[1]),
            "periods": rows.drop_duplicates("year").set_index("year")["period"].to_dict()}


# --------------------------------------------------------------------------------------------
# the claimant count: Scotland against England and Wales, and the 32 partnerships


def _means_sentence(published: pd.Series, means: pd.Series, year: int, n_scot: int, n_ew: int) -> str:
    """How the unweighted mean of the districts' rates stood against the published rate in ``year``, for
    Scotland and for England and Wales. The published rate weights districts by their working-age
    population, so it exceeds the plain mean exactly when the larger districts have the higher rates."""
    side = {g: ("lower" if means[g] < published[g] else "higher" if means[g] > published[g] else "level")
            for g in ("Scotland", "England and Wales")}
    phrase = {"lower": "runs lower than the published rate", "higher": "runs higher than the published rate",
              "level": "equals the published rate"}
    values = f"{fmt(means['Scotland'], 1)} and {fmt(means['England and Wales'], 1)} in {year}"
    if side["Scotland"] == side["England and Wales"]:
        where = f"{phrase[side['Scotland']]} on both sides of the border ({values})"
        why = {"lower": "larger", "higher": "smaller"}.get(side["Scotland"])
        reason = f", so on both sides the {why} districts had, on average, the higher rates" if why else ""
    else:
        where = (f"{phrase[side['Scotland']]} in Scotland but {side['England and Wales'].replace('level', 'equals it')}"
                 f" in England and Wales ({values})")
        reason = ""
    return (f"A plain mean of the districts' rates, in which each of Scotland's {n_scot} council areas and each of "
            f"England and Wales's {n_ew} districts counts once, {where}{reason}.")


def claimant_figure(key: str, series) -> dict[str, str]:
    """The claimant count (``series``: :func:`analysis.attribution.descriptive.claimant_count`): the
    published rates of Scotland and of England and Wales, every partnership faintly with their
    interquartile range, and the duty year marked; glued under ``key``. Returns the prose's strings."""
    from matplotlib.ticker import MaxNLocator

    national = series.national.pivot(index="year", columns="group", values="published").sort_index()
    means = series.national.pivot(index="year", columns="group", values="mean").sort_index()
    wide = series.councils.pivot(index="year", columns="area_code", values="value").sort_index()
    names = series.councils.drop_duplicates("area_code").set_index("area_code")["area_name"]
    q1, q3 = wide.quantile(0.25, axis=1), wide.quantile(0.75, axis=1)
    scot, ew = national["Scotland"], national["England and Wales"]
    fig, ax = figures.new_figure(width=9, height=4.4)
    for i, code in enumerate(wide.columns):
        ax.plot(wide.index, wide[code], color=OTHER_PALE, lw=0.7, antialiased=False,
                label="each partnership" if i == 0 else "_partnership")
    ax.fill_between(wide.index, q1, q3, color=figures.OKABE_ITO[4], alpha=0.3, lw=0, zorder=2.5,
                    label="middle half of the partnerships")
    n_districts = series.national.groupby("group")["n_districts"].first()
    ax.plot(scot.index, scot.values, color="#000000", lw=2.4, zorder=3, label="Scotland (published rate)")
    ax.plot(ew.index, ew.values, color=figures.OKABE_ITO[1], lw=2.2, ls="--", zorder=3,
            label="England and Wales (published rate)")
    ax.axvline(series.event, color="#555555", lw=1, ls=":")
    ax.annotate("duty", (series.event, 1), xycoords=("data", "axes fraction"), xytext=(3, -12),
                textcoords="offset points", fontsize=8, color="#555555")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=10))
    ax.set_ylabel(series.unit, fontsize=8.5)
    ax.set_title("Claimant count: Scotland's partnerships against England and Wales")
    fig.legend(*ax.get_legend_handles_labels(), loc="lower center", ncol=2, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    first, last = series.first_year, series.last_year
    above = int((scot > ew).sum())
    high, low = wide.loc[last].idxmax(), wide.loc[last].idxmin()
    text = {
        "cc-first": str(first), "cc-last": str(last), "cc-duty": str(series.event),
        "cc-n-pre": str(series.n_pre_event_years),
        "cc-pre-years": " and ".join(str(y) for y in series.pre_event_years) or "none",
        "cc-min-pre": str(series.min_pre_years), "cc-unit": series.unit,
        "cc-scot-first": fmt(scot.loc[first], 1), "cc-scot-last": fmt(scot.loc[last], 1),
        "cc-scot-duty": fmt(scot.loc[series.event], 1), "cc-ew-duty": fmt(ew.loc[series.event], 1),
        "cc-ew-first": fmt(ew.loc[first], 1), "cc-ew-last": fmt(ew.loc[last], 1),
        "cc-above": str(above), "cc-years": str(len(national)),
        "cc-iqr-first": f"{fmt(q1.loc[first], 1)} to {fmt(q3.loc[first], 1)}",
        "cc-iqr-last": f"{fmt(q1.loc[last], 1)} to {fmt(q3.loc[last], 1)}",
        "cc-high": f"{names[high]} ({fmt(wide.loc[last, high], 1)})",
        "cc-low": f"{names[low]} ({fmt(wide.loc[last, low], 1)})",
        "cc-last-compare": "above" if scot.loc[last] > ew.loc[last] else "below" if scot.loc[last] < ew.loc[last]
        else "level with",
        "cc-n-councils": str(wide.shape[1]), "cc-n-ew": str(n_districts["England and Wales"]),
        "cc-means": _means_sentence(national.loc[last], means.loc[last], last, wide.shape[1],
                                    int(n_districts["England and Wales"])),
    }
    alt = (f"Line chart of the claimant count, {first} to {last}, with the duty year {series.event} marked: the "
           f"published rate for Scotland went from {text['cc-scot-first']} to {text['cc-scot-last']} "
           f"per cent and that for England and Wales from {text['cc-ew-first']} to {text['cc-ew-last']}, "
           f"Scotland above England and Wales in {above} of {len(national)} years; the middle half of the "
           f"{wide.shape[1]} partnerships spanned {text['cc-iqr-first']} in {first} and {text['cc-iqr-last']} in "
           f"{last}, when {text['cc-high']} was highest and {text['cc-low']} lowest; only {series.n_pre_event_years} "
           f"years precede the duty.")
    shown = series.national[series.national["group"].isin(["Scotland", "England and Wales"])]
    long = pd.concat([
        shown.rename(columns={"group": "series", "published": "value", "mean": "mean_of_districts",
                              "median": "median_of_districts"})[["series", "year", "value", "mean_of_districts",
                                                                 "median_of_districts", "n_districts"]],
        pd.DataFrame({"series": "partnerships' lower quartile", "year": q1.index, "value": q1.to_numpy()}),
        pd.DataFrame({"series": "partnerships' upper quartile", "year": q3.index, "value": q3.to_numpy()}),
        series.councils.rename(columns={"area_name": "series"})[["series", "area_code", "year", "value"]],
    ], ignore_index=True)
    figures.glue_figure(key, fig, alt, data=long)
    return text


def ch06(outputs: Outputs, ledger: pd.DataFrame | None = None) -> PageResult:
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
    res = PageResult()
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

    from analysis.attribution import descriptive

    res.text.update(claimant_figure("fig-ch06-claimants", descriptive.claimant_count(outputs.panel, outputs.areas)))

    if ledger is not None:
        from analysis.attribution import verdicts as rules

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


def build() -> PageResult:
    """The chapter on the panel and the evidence ledger."""
    from analysis.attribution import ledger
    from analysis.data import panel

    return ch06(panel.build(), ledger.ledger())
