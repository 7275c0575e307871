"""Chapter 4 (approaches): the timeline of events and the data's coverage.

All the analyses are descriptive (level 1 of the Maryland Scientific Methods Scale): associations
across the 32 partnerships, never effects of Community Planning.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analysis import paths, settings
from analysis.data.panel import Outputs
from analysis.errors import DataError
from analysis.pages import figures
from analysis.pages.common import TIMELINE_FILE, PageResult, coverage_by_year, page_settings

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


#: The timeline's labels of the report's publication and of the 2015 Act's community planning part in force.
REPORT_EVENT, PART2_EVENT = "The report", "Part 2 in force"


def ch04(outputs: Outputs, *, first: int, last: int, report_year: int) -> PageResult:
    """The timeline of events from ``first`` above the council-level data coverage of each year to ``last``."""
    timeline = load_timeline()
    coverage = coverage_by_year(outputs.panel, range(first, last + 1))
    total = coverage.sum(axis=1)
    events = settings.load()["attribution"]["events"]
    duty, soa = int(events["duty"]), int(events["soa"])
    missing = [k for k in (*KEY_EVENTS, REPORT_EVENT, PART2_EVENT) if k not in set(timeline["short_label"])]
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
    dates = timeline.set_index("short_label")["date"]
    published, part2 = dates[REPORT_EVENT], int(dates[PART2_EVENT].year)
    res = PageResult()
    res.text.update({
        "first": str(first), "last": str(last), "n-events": str(len(timeline)),
        "n-report-year": str(int(total.loc[report_year])), "report-year": str(report_year),
        "n-duty": str(int(total.loc[duty])),
        "n-soa": str(int(total.loc[soa])), "n-last": str(int(total.loc[last])),
        "n-first": str(int(total.loc[first])), "duty": str(duty), "soa": str(soa),
        "n-events-before-report": str(int((timeline["date"] < published).sum())),
        "lgbf-first": str(int(coverage.index[coverage["LGBF"] > 0].min())),
        "cpop-first": str(int(coverage.index[coverage["CPOP"] > 0].min())),
        "scotpho-first": str(int(coverage.index[coverage["ScotPHO"] > 0].min())),
        "peak-year": str(int(total.idxmax())), "peak": str(int(total.max())),
    })
    res.text["multiple-last"] = f"{total.loc[last] / total.loc[report_year]:.0f}"
    alt = (
        f"Timeline of {len(timeline)} Community Planning events from {int(x.min())} to {int(x.max())} above a bar "
        f"chart of indicators with council-level data: {res.text['n-report-year']} in {report_year}, when the "
        f"report appeared, {res.text['n-duty']} in {duty}, when the duty began, {res.text['n-soa']} in {soa}, "
        f"when the first "
        f"Single Outcome Agreements were produced, and {res.text['n-last']} in {last}"
        + (", when the 2015 Act's community planning part came fully into force." if last == part2 else ".")
    )
    figures.glue_figure("fig-ch04-timeline", fig, alt)
    res.tables["timeline"] = timeline_table(timeline)
    return res


def parameters() -> dict:
    """:func:`ch04`'s parameters, from the settings (``pages`` and ``attribution.events``)."""
    cfg = page_settings()
    return {"first": cfg["timeline_from"], "last": cfg["last_year"], "report_year": cfg["report_year"]}


def build(outputs: Outputs | None = None) -> PageResult:
    """The chapter on ``outputs`` (the pipeline's, built if not given), with the settings' parameters."""
    from analysis.data import panel

    return ch04(panel.build() if outputs is None else outputs, **parameters())
