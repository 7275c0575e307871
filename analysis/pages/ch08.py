"""Chapter 8 (expectations of the Executive): monitoring then and now, coverage by source.

All the analyses are descriptive (level 1 of the Maryland Scientific Methods Scale): associations
across the 32 partnerships, never effects of Community Planning.
"""

from __future__ import annotations

import pandas as pd

from analysis.data.panel import Outputs
from analysis.pages import figures
from analysis.pages.common import (
    SOURCE_COLOURS,
    SOURCE_GROUPS,
    PageResult,
    council_indicator_years,
    coverage_by_year,
    event_years,
    page_settings,
)

# --------------------------------------------------------------------------------------------
# Chapter 8: monitoring then and now — coverage by source


#: The three snapshot years of chapter 8, by role: the report's year, the first agreements' and the last read.
SNAPSHOTS = ("report", "soa", "last")


def ch08(outputs: Outputs, *, snapshots: tuple[int, int, int], coverage_from: int) -> PageResult:
    """Council-level coverage by source and year, read at the three ``snapshots`` (:data:`SNAPSHOTS`)."""
    iy = council_indicator_years(outputs.panel)
    years = range(coverage_from, int(iy["year"].max()) + 1)
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
    res = PageResult()
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
    for role, y in zip(SNAPSHOTS, snapshots, strict=True):
        res.text[f"{role}-year"] = str(y)
        res.text[f"n-{role}"] = str(int(coverage.loc[y].sum()))
        for group in SOURCE_GROUPS:
            res.text[f"{group.split()[0].lower()}-{role}"] = str(int(coverage.loc[y, group]))
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
        f"Stacked area chart of indicators with council-level data by year and source: {res.text['n-report']} "
        f"in {snapshots[0]} ({absent_words}), {res.text['n-soa']} in {snapshots[1]} and "
        f"{res.text['n-last']} in {last}; of the indicators measured in {last}, only "
        f"{res.text['n-last-back-to-report']} reach back to {snapshots[0]}."
    )
    figures.glue_figure("fig-ch08-coverage", fig, alt, data=coverage.reset_index())
    return res


def parameters() -> dict:
    """:func:`ch08`'s parameters, from the settings (``pages`` and ``attribution.events``)."""
    cfg = page_settings()
    return {"snapshots": (cfg["report_year"], event_years()["soa"], cfg["last_year"]),
            "coverage_from": cfg["coverage_from"]}


def build(outputs: Outputs | None = None) -> PageResult:
    """The chapter on ``outputs`` (the pipeline's, built if not given), with the settings' parameters."""
    from analysis.data import panel

    return ch08(panel.build() if outputs is None else outputs, **parameters())
