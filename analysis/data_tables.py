"""Tables and figures for the Data appendix, computed from the pipeline's outputs."""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from . import districts, figures, paths, provenance
from .panel import Outputs

#: Groups of indicators for the coverage heat map, by indicator-id prefix or source.
FAMILIES = [
    ("ScotPHO", lambda d: d["indicator"].str.startswith("scotpho_")),
    ("CPOP", lambda d: d["indicator"].str.startswith("cpop_")),
    ("LGBF", lambda d: d["indicator"].str.startswith("lgbf_")),
]


def sources_table(outputs: Outputs) -> pd.DataFrame:
    """One row per raw file: publisher, years, coverage, licence, checksum and what the panel holds."""
    prov = provenance.load_provenance()
    panel = outputs.panel
    per_source = panel.groupby("source").agg(rows=("value", "size"), indicators=("indicator", "nunique"))
    prov["name"] = prov["file"].str.split("/").str[-1]
    prov = prov.merge(per_source, left_on="name", right_index=True, how="left")
    prov["rows"] = prov["rows"].fillna(0).astype(int)
    prov["indicators"] = prov["indicators"].fillna(0).astype(int)
    prov["sha256"] = prov["sha256"].str[:16] + "…"
    return prov[["file", "publisher", "years", "coverage", "licence", "sha256", "rows", "indicators"]].rename(
        columns={"rows": "panel rows", "indicators": "panel indicators", "sha256": "SHA-256 (first 16)"}
    )


def dictionary_table(outputs: Outputs) -> pd.DataFrame:
    cols = ["indicator", "title", "unit", "area_types", "first_year", "last_year", "rows", "sources"]
    return outputs.indicators[cols].sort_values("indicator", ignore_index=True)


def coverage_matrix(outputs: Outputs) -> pd.DataFrame:
    """Share of the 32 councils with a value, by indicator (rows, titled) and year (columns).

    ScotPHO, CPOP and LGBF indicators are summarised as one row per family: the share of the
    family's (indicator, council) pairs with a value in that year.
    """
    panel = outputs.panel
    rows = panel[(panel["area_type"] == "council") & (panel["breakdown"] == "all")]
    n_councils = rows["area_code"].nunique()
    family_of = pd.Series("", index=rows.index)
    for name, rule in FAMILIES:
        family_of[rule(rows)] = name
    titles = outputs.indicators.set_index("indicator")["title"]
    series = {}
    for indicator, grp in rows[family_of == ""].groupby("indicator"):
        series[titles.get(indicator) or indicator] = grp.groupby("year")["area_code"].nunique() / n_councils
    for name, _ in FAMILIES:
        fam = rows[family_of == name]
        if fam.empty:
            continue
        n_ind = fam["indicator"].nunique()
        pairs = fam[["year", "indicator", "area_code"]].drop_duplicates().groupby("year").size()
        series[f"{name} ({n_ind} indicators)"] = pairs / (n_ind * n_councils)
    matrix = pd.DataFrame(series).T
    years = range(int(rows["year"].min()), int(rows["year"].max()) + 1)
    return matrix.reindex(columns=list(years)).fillna(0.0)


def coverage_figure(outputs: Outputs, key: str = "fig-coverage", event: int = 2003) -> dict[str, str]:
    """Glue the coverage heat map and return facts for its caption."""
    import seaborn as sns

    matrix = coverage_matrix(outputs)
    first_year = matrix.apply(lambda r: r[r > 0].index.min(), axis=1)
    pre = int((first_year < event).sum())
    long_pre = int((first_year <= event - 5).sum())
    total = len(matrix)
    fig, ax = figures.new_figure(width=10.5, height=0.3 * total + 1.8)
    sns.heatmap(
        matrix,
        ax=ax,
        cmap=figures.SEQUENTIAL,
        vmin=0,
        vmax=1,
        cbar_kws={"label": "share of councils with a value"},
        linewidths=0.2,
        linecolor="white",
    )
    ax.axvline(list(matrix.columns).index(event), color="#D55E00", lw=2.5)
    ax.set_xlabel("year (first year of the period)")
    ax.set_ylabel("")
    ax.set_title("Council-level coverage by indicator and year")
    alt = (
        f"Heat map of council coverage for {total} indicator rows by year. {pre} rows have some council "
        f"data before {event}, when the community planning duty began, but only {long_pre} have five or more "
        f"years of it; the others begin in or after {event - 1}."
    )
    figures.glue_figure(key, fig, alt)
    return {"rows": str(total), "pre": str(pre), "long_pre": str(long_pre), "event": str(event)}


def district_coverage_matrix(outputs: Outputs) -> pd.DataFrame:
    """Share of the districts of Great Britain with a value, by GB district series and country (rows)
    and year (columns): the series with district rows (area type ``lad``), each split into England's
    296, Wales's 22 and Scotland's 32 (the councils)."""
    panel = outputs.panel
    table = districts.table()
    per_country = table.groupby("country").size()
    country_of = table.set_index("code")["country"]
    ids = sorted(panel.loc[panel["area_type"] == districts.AREA_TYPE, "indicator"].unique())
    rows = panel[panel["indicator"].isin(ids) & (panel["breakdown"] == "all")]
    rows = rows.assign(country=rows["area_code"].map(country_of))
    titles = outputs.indicators.set_index("indicator")["title"]
    series = {}
    for indicator in ids:
        one = rows[rows["indicator"] == indicator]
        title = (titles.get(indicator) or indicator).removesuffix(", districts of Great Britain")
        for country in districts.GB_COUNTRIES:
            n = int(per_country[country])
            here = one[one["country"] == country]
            series[f"{title}: {country} ({n})"] = here.groupby("year")["area_code"].nunique() / n
    matrix = pd.DataFrame(series).T
    years = range(int(rows["year"].min()), int(rows["year"].max()) + 1)
    return matrix.reindex(columns=list(years)).fillna(0.0)


def district_coverage_figure(outputs: Outputs, key: str = "fig-coverage-gb", event: int = 2003) -> dict[str, str]:
    """Glue the heat map of the GB district series and return facts for its caption."""
    import seaborn as sns

    matrix = district_coverage_matrix(outputs)
    n_series = len(matrix) // len(districts.GB_COUNTRIES)
    first_year = matrix.apply(lambda r: r[r > 0].index.min(), axis=1)
    pre_years = (event - first_year).clip(lower=0).astype(int)
    complete = bool(((matrix == 1) | (matrix == 0)).all().all())
    fig, ax = figures.new_figure(width=10.5, height=0.3 * len(matrix) + 1.8)
    sns.heatmap(matrix, ax=ax, cmap=figures.SEQUENTIAL, vmin=0, vmax=1,
                cbar_kws={"label": "share of the country's districts with a value"}, linewidths=0.2,
                linecolor="white")
    ax.axvline(list(matrix.columns).index(event), color="#D55E00", lw=2.5)
    ax.set_xlabel("year")
    ax.set_ylabel("")
    ax.set_title(f"District-level coverage across Great Britain ({districts.N_DISTRICTS} districts)")
    held = ("every district has a value in every year each series covers" if complete
            else "some districts lack a value in some years")
    alt = (f"Heat map of {n_series} council-level series for the {districts.N_DISTRICTS} districts of Great "
           f"Britain, by country and year: {held}; the series begin between {int(first_year.min())} and "
           f"{int(first_year.max())}, giving {int(pre_years.min())} to {int(pre_years.max())} years before {event}.")
    figures.glue_figure(key, fig, alt)
    return {"series": str(n_series), "districts": str(districts.N_DISTRICTS), "event": str(event), "complete": held,
            "first": str(int(first_year.min())), "last-first": str(int(first_year.max())),
            "pre-min": str(int(pre_years.min())), "pre-max": str(int(pre_years.max()))}


def missing_summary(outputs: Outputs) -> pd.DataFrame:
    missing = outputs.missing
    if missing.empty:
        return pd.DataFrame(columns=["source", "reason", "cells"])
    return (
        missing.groupby(["source", "reason"], dropna=False).size().rename("cells").reset_index()
        .sort_values(["source", "reason"], ignore_index=True)
    )


def known_gaps() -> pd.DataFrame:
    return pd.read_csv(paths.REFERENCE / "known_gaps.csv").rename(
        columns={"gap": "What is missing", "consequence_for_attribution": "What it means for attribution",
                 "source": "Source"}
    )


def panel_size(outputs: Outputs) -> dict[str, str]:
    panel = outputs.panel
    return {
        "rows": f"{len(panel):,}",
        "indicators": f"{panel['indicator'].nunique():,}",
        "areas": f"{panel['area_code'].nunique():,}",
        "first_year": str(int(panel["year"].min())),
        "last_year": str(int(panel["year"].max())),
        "missing": f"{len(outputs.missing):,}",
        "superseded": f"{len(outputs.superseded):,}",
        "substitutions": f"{len(outputs.substitutions):,}",
    }


# --------------------------------------------------------------------------------------------
# HTML tables
#
# Every table the book's pages show is written by html_table: a plain table, inside a box
# (.cpp-table-scroll), whose cells wrap (book/_static/book.css). book/_static/book-tables.js shows a
# table that still cannot fit its column stacked, one card per row (without JS the box scrolls
# sideways instead), and adds controls to a table that asks for them: ``sortable`` (every header
# becomes a sort button) and ``filters`` (a labelled drop-down per named column). The script reads
# only what the markup carries: ``data-cpp-filters`` (the filterable columns, by name),
# ``data-cpp-sortable``, each header's ``data-cpp-column`` and ``data-cpp-type`` ("number" or
# "text"), each numeric cell's ``data-sort-value``, and the classes ``cpp-num`` (a numeric column)
# and ``cpp-prose`` (a column of long text); so it knows no column of any particular table.

#: A cell that reads as a number: "0.57", "-1,712", "−0.03", "1.2e-05", "12%", "< 0.001" or an
#: interval "-0.146 to 1.29". Its sort key is the first number.
_NUMBER = r"[-+\u2212]?(?:\d[\d,]*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?%?"
_NUMERIC_CELL = re.compile(rf"^(?P<cmp>[<>\u2264\u2265]\s*)?(?P<num>{_NUMBER})(?:\s*(?:to|\u2013)\s*{_NUMBER})?$")
#: Characters after which a long identifier (a file path or URL, an indicator id) may break across
#: lines. Not ":" or ".", so that claim ids ("gdp-did:scotland:itl3") keep their text whole for
#: tests that read a page's text with its tags taken for spaces (tests/test_book_html.py).
_BREAK_AFTER = re.compile(r"(?<=[_/])(?=[^\s])")
_LONG_TOKEN = 16
#: A text column whose cells average this many characters or more reads as prose: when the table is
#: shown stacked (book-tables.js) its cells take a whole line.
_PROSE = 40


def _cell_text(x: object) -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)) or x is pd.NA or x is pd.NaT:
        return ""
    if isinstance(x, float | np.floating):
        return f"{x:,.4g}"
    return str(x)


def sort_key(text: str) -> float | None:
    """The number a numeric cell sorts by (its first number; just below it for "< x"), else None."""
    match = _NUMERIC_CELL.match(text.strip())
    if not match:
        return None
    value = float(match["num"].replace(",", "").replace("\u2212", "-").rstrip("%"))
    cmp = (match["cmp"] or "").strip()
    if cmp in ("<", "\u2264"):
        return math.nextafter(value, -math.inf)
    if cmp in (">", "\u2265"):
        return math.nextafter(value, math.inf)
    return value


def _sort_keys(column: pd.Series, texts: list[str]) -> list[float | None] | None:
    """Each cell's numeric sort key if the column is numeric (None for a blank cell), else None.

    A column is numeric if its dtype is (not bool), or if every non-blank cell reads as a number.
    """
    if pd.api.types.is_bool_dtype(column):
        return None
    if pd.api.types.is_numeric_dtype(column):
        return [float(x) if t else None for x, t in zip(column, texts, strict=True)]
    keys = [sort_key(t) if t.strip() else None for t in texts]
    if all(k is None for k in keys) or any(k is None and t.strip() for k, t in zip(keys, texts, strict=True)):
        return None
    return keys


def _breakable(text: str) -> str:
    """``text`` escaped, with a line-break opportunity (<wbr>) inside each long identifier."""
    out = []
    for part in re.split(r"(\s+)", text):
        pieces = _BREAK_AFTER.split(part) if len(part) >= _LONG_TOKEN else [part]
        out.append("<wbr>".join(html.escape(piece) for piece in pieces))
    return "".join(out)


def _attrs(**attrs: str | None) -> str:
    """HTML attributes, escaped; a value of "" gives a bare attribute, None leaves it out."""
    return "".join(f" {name.rstrip('_').replace('_', '-')}" + (f'="{html.escape(value)}"' if value else "")
                   for name, value in attrs.items() if value is not None)


def html_table(df: pd.DataFrame, *, label: str | None = None, sortable: bool = False,
               filters: Sequence[str] = ()) -> str:
    """An accessible HTML table: header cells marked, no index, numbers right-aligned.

    ``label`` names the table for assistive technology (and its filter controls). ``sortable``
    lets a reader sort by any column; ``filters`` names the columns a reader can filter the rows
    by (each must be a column). Numeric columns (numbers, or formatted numbers such as "1,712",
    "< 0.001" or "-0.1 to 0.2") sort by the number, carried in each cell's ``data-sort-value``.
    """
    columns = [str(c) for c in df.columns]
    if len(set(columns)) != len(columns):
        raise ValueError(f"duplicate column names: {columns}")
    missing = [f for f in filters if f not in columns]
    if missing:
        raise ValueError(f"no column {missing} to filter by; the table has {columns}")
    texts = [[_cell_text(x) for x in df.iloc[:, i]] for i in range(len(columns))]
    keys = [_sort_keys(df.iloc[:, i], texts[i]) for i in range(len(columns))]
    kinds = ["cpp-num" if k else "cpp-prose" if t and sum(map(len, t)) >= _PROSE * len(t) else None
             for t, k in zip(texts, keys, strict=True)]

    table = _attrs(class_="table cpp-table", aria_label=label, data_cpp_sortable="" if sortable else None,
                   data_cpp_filters=json.dumps(list(filters)) if filters else None)
    head = "".join(
        "<th" + _attrs(scope="col", class_=kind, data_cpp_column=c, data_cpp_type="number" if k else "text")
        + f">{_breakable(c)}</th>"
        for c, k, kind in zip(columns, keys, kinds, strict=True)
    )
    rows = []
    for r in range(len(df)):
        cells = []
        for text, k, kind in zip((t[r] for t in texts), keys, kinds, strict=True):
            if k:
                key = None if k[r] is None else repr(k[r])
                cells.append(f"<td{_attrs(class_=kind, data_sort_value=key)}>{html.escape(text)}</td>")
            else:
                cells.append(f"<td{_attrs(class_=kind)}>{_breakable(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    body = "\n".join(rows)
    return (f'<div class="cpp-table-scroll">\n<table{table}>\n<thead><tr>{head}</tr></thead>\n'
            f"<tbody>\n{body}\n</tbody>\n</table>\n</div>")
