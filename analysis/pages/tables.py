"""The book's HTML tables: accessible, sortable and filterable where asked, numbers right-aligned.

Every table on every page is rendered by :func:`html_table`; :func:`show` wraps it for a notebook
cell. The filter and sort controls are added in the browser by ``book/_static/book-tables.js``
from the attributes written here.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

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
#: tests that read a page's text with its tags taken for spaces (tests/book/test_book_html.py).
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


def show(df: pd.DataFrame, *, source: str = "", **options):
    """:func:`html_table` as a notebook cell's output; ``source`` (the function that made the table)
    is kept in the output's metadata, for the renderer's link to its code."""
    from IPython.display import HTML

    return HTML(html_table(df, **options), metadata={"source": source} if source else None)
