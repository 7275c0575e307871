"""Chapter 9 (expectations of the Task Force): CPOP themes and when council data begin.

All the analyses are descriptive (level 1 of the Maryland Scientific Methods Scale): associations
across the 32 partnerships, never effects of Community Planning.
"""

from __future__ import annotations

import pandas as pd

from analysis import paths
from analysis.data.panel import Outputs
from analysis.pages import figures
from analysis.pages.common import PageResult, council_indicator_years, event_years

# --------------------------------------------------------------------------------------------
# Chapter 9: CPOP themes — when council data begin

CPOP_MEASURE_SUFFIXES = ("_3yr", "_5yr", "_r2017", "_r2018")


def cpop_measure(indicator: str) -> str:
    """The CPOP measure an indicator id belongs to (releases and rolling means merged)."""
    for suffix in CPOP_MEASURE_SUFFIXES:
        if indicator.endswith(suffix):
            return indicator[: -len(suffix)]
    return indicator


def cpop_first_years(outputs: Outputs, before: int) -> pd.DataFrame:
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


def ch09(outputs: Outputs, *, before: int, duty: int) -> PageResult:
    """The years each CPOP measure covers, against the duty and ``before`` (the first agreements)."""
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
    res = PageResult()
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



def parameters() -> dict:
    """:func:`ch09`'s parameters, from the settings (``pages`` and ``attribution.events``)."""
    events = event_years()
    return {"before": events["soa"], "duty": events["duty"]}


def build(outputs: Outputs | None = None) -> PageResult:
    """The chapter on ``outputs`` (the pipeline's, built if not given), with the settings' parameters."""
    from analysis.data import panel

    return ch09(panel.build() if outputs is None else outputs, **parameters())
