"""Helpers shared by the per-file parsers.

A parser returns a *long* frame with the columns in :data:`PARSED_COLUMNS`:

``area_name``   the area exactly as the source spells it (resolved later through the register)
``area_code``   the GSS / ITL / NUTS code when the source carries one, else ``None``
``area_level``  ``council``, ``scotland``, ``itl3``, ``nuts3``, ``itl2``, ``itl1``, ``country``, ``uk`` …
``period``      the period label as published, normalised (``"2003"``, ``"2004/05"``, ``"2002-2004"``)
``year``        first calendar year the period covers (int)
``indicator``   the book's indicator id (snake_case)
``breakdown``   ``"all"`` or a sub-group, e.g. ``"quintile 1 (most deprived)"``, ``"sii"``
``value``       float; ``NaN`` only where the source cell is explicitly blank or suppressed
``unit``        e.g. ``count``, ``persons``, ``GBP``, ``percent``, ``per 100,000``
``source``      the raw file name
``source_row``  1-based row in the raw file (see :mod:`analysis.errors`)
``source_column`` the column header of the raw cell the value came from

The CSV and spreadsheet parsers build their records row by row and pass them to :func:`frame`.
The parsers of the R data files and of CPOP (:mod:`.scotpho`, :mod:`.lgbf`, :mod:`.cpop`) work on
whole data frames with the helpers that follow it, :func:`read_rds` to :func:`as_parsed`.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable, Collection, Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadr

from analysis.data.reference import reference_table  # noqa: F401 - the parsers read reference tables
from analysis.errors import NonNumericValueError, ParseError, YearOutOfRangeError

PARSED_COLUMNS = [
    "area_name",
    "area_code",
    "area_level",
    "period",
    "year",
    "indicator",
    "breakdown",
    "value",
    "unit",
    "source",
    "source_row",
    "source_column",
]
_STRING_COLUMNS = [c for c in PARSED_COLUMNS if c not in {"year", "value", "source_row"}]

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_BLANKS = {"", "na", "n/a", "nan", ":", ".."}
_PERIOD = re.compile(r"^(\d{4})(?:/(\d{2}))?(?:-(\d{4})(?:/(\d{2}))?)?$")


def read_csv_rows(path: Path, encoding: str = "utf-8-sig") -> list[list[str]]:
    """Read a CSV file as a list of rows of strings; row ``i`` of the list is line ``i + 1``.

    Embedded newlines inside quoted cells would shift line numbers, so the row number reported
    is the physical line on which the record starts.
    """
    text = Path(path).read_bytes().decode(encoding)
    rows: list[list[str]] = []
    reader = csv.reader(io.StringIO(text, newline=""))
    for record in reader:
        rows.append(record)
    return rows


def read_csv_records(path: Path, encoding: str = "utf-8-sig") -> list[tuple[int, list[str]]]:
    """Like :func:`read_csv_rows` but returns ``(line_number, row)`` pairs with true line numbers."""
    text = Path(path).read_bytes().decode(encoding)
    buffer = io.StringIO(text, newline="")
    reader = csv.reader(buffer)
    out: list[tuple[int, list[str]]] = []
    while True:
        start = reader.line_num + 1
        try:
            record = next(reader)
        except StopIteration:
            break
        out.append((start, record))
    return out


def parse_number(
    raw: object,
    *,
    file: Path | str,
    row: int,
    column: str,
    allow_blank: bool = True,
) -> float:
    """Parse one published number.

    Accepts thousands separators (``"1,095"``), surrounding spaces (``"52 "``) and plain numbers.
    A blank cell gives ``NaN`` when ``allow_blank``; anything else raises
    :class:`~analysis.errors.NonNumericValueError` naming the file, row and column.
    """
    if raw is None or (isinstance(raw, float) and math.isnan(raw)):
        if allow_blank:
            return math.nan
        raise NonNumericValueError("blank cell where a number is required", file=file, row=row, column=column)
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return float(raw)
    text = str(raw).strip().replace("\u00a0", "")
    if text.lower() in _BLANKS:
        if allow_blank:
            return math.nan
        raise NonNumericValueError("blank cell where a number is required", file=file, row=row, column=column)
    cleaned = text.replace(",", "")
    if not _NUMBER.match(cleaned):
        raise NonNumericValueError(f"non-numeric value {text!r}", file=file, row=row, column=column)
    return float(cleaned)


def parse_year(raw: object, *, file: Path | str, row: int, column: str, low: int, high: int) -> int:
    """Parse a four-digit year and check it lies in ``[low, high]``."""
    text = str(raw).strip()
    if not re.fullmatch(r"\d{4}(\.0)?", text):
        raise ParseError(f"expected a four-digit year, found {text!r}", file=file, row=row, column=column)
    year = int(float(text))
    check_year(year, file=file, row=row, column=column, low=low, high=high)
    return year


def check_year(year: int, *, file: Path | str, row: int, column: str, low: int, high: int) -> None:
    if not low <= year <= high:
        raise YearOutOfRangeError(
            f"year {year} outside the documented range {low}-{high}", file=file, row=row, column=column
        )


def frame(records: Iterable[dict]) -> pd.DataFrame:
    """Build a parser's output frame with exactly :data:`PARSED_COLUMNS`, typed."""
    df = pd.DataFrame.from_records(list(records), columns=PARSED_COLUMNS)
    df["year"] = df["year"].astype("int64")
    df["value"] = df["value"].astype("float64")
    df["source_row"] = df["source_row"].astype("int64")
    for col in _STRING_COLUMNS:
        df[col] = df[col].astype("object")
    return df


# --- helpers of the data-frame parsers (scotpho.py, lgbf.py, cpop.py) ---------------------------


def read_rds(path: Path) -> pd.DataFrame:
    """Read an R data file holding exactly one data frame."""
    objects = pyreadr.read_r(str(path))
    if len(objects) != 1:
        raise ParseError(f"expected one R object, found {len(objects)}", file=path)
    return next(iter(objects.values()))


def slug(text: str) -> str:
    """Lower-case ``text`` and join its runs of letters and digits with ``_`` ("C&L1" → "c_l1")."""
    return re.sub(r"[^0-9a-z]+", "_", text.lower()).strip("_")


def first_row(df: pd.DataFrame, mask: pd.Series | np.ndarray) -> int:
    """``source_row`` of the first record of ``df`` selected by ``mask``."""
    return int(df.loc[mask, "source_row"].iloc[0])


def check_allowed(df: pd.DataFrame, column: str, allowed: Collection[object], source: str) -> None:
    """Raise :class:`~analysis.errors.ParseError` at the first record whose ``column`` is not allowed."""
    bad = ~df[column].isin(allowed)
    if bad.any():
        raise ParseError(f"unexpected {column} {df.loc[bad, column].iloc[0]!r}", file=source,
                         row=first_row(df, bad), column=column)


def period_bounds(label: str) -> tuple[int, int] | None:
    """First and last calendar year of a normalised period label, or ``None`` if malformed.

    Labels: ``2004`` (a year), ``2004/05`` (a financial or school year), ``2006-2010`` (a span of
    calendar years) and ``2004/05-2006/07`` (a span of financial years). A financial year's
    suffix must be the next year and a span must run forwards; its last year is the first
    calendar year of its last element (``2004/05-2006/07`` → 2004, 2006).
    """
    match = _PERIOD.match(label)
    if match is None:
        return None
    first, first_fy, last, last_fy = match.groups()
    if last is not None and (first_fy is None) != (last_fy is None):
        return None
    start = int(first)
    end = int(last) if last is not None else start
    if any(suffix is not None and int(suffix) != (year + 1) % 100
           for year, suffix in ((start, first_fy), (end, last_fy))):
        return None
    if last is not None and end <= start:
        return None
    return start, end


def map_periods(
    df: pd.DataFrame,
    texts: pd.Series,
    to_label: Callable[[str], str | None],
    *,
    source: str,
    column: str,
    low: int,
    high: int,
) -> pd.DataFrame:
    """``period``, ``year`` (first) and ``last_year`` of each record from its period text.

    ``to_label`` turns a published text into a normalised label (see :func:`period_bounds`) or
    ``None``; a text it cannot read raises :class:`~analysis.errors.ParseError`, and a first year
    outside ``[low, high]`` :class:`~analysis.errors.YearOutOfRangeError`, at the first record
    holding it (``df`` supplies ``source_row``).
    """
    bounds = {}
    for text in texts.unique():
        label = to_label(text)
        found = None if label is None else period_bounds(label)
        row = first_row(df, texts == text)
        if found is None:
            raise ParseError(f"unrecognised period {text!r}", file=source, row=row, column=column)
        check_year(found[0], file=source, row=row, column=column, low=low, high=high)
        bounds[text] = (label, *found)
    columns = {name: texts.map({t: b[i] for t, b in bounds.items()})
               for i, name in enumerate(["period", "year", "last_year"])}
    return pd.DataFrame(columns, index=df.index).astype({"year": "int64", "last_year": "int64"})


def as_parsed(df: pd.DataFrame) -> pd.DataFrame:
    """Select :data:`PARSED_COLUMNS` from ``df`` with the dtypes :func:`frame` gives."""
    out = df[PARSED_COLUMNS].reset_index(drop=True)
    out = out.astype({"year": "int64", "value": "float64", "source_row": "int64"})
    for col in _STRING_COLUMNS:
        out[col] = out[col].astype("object")
    return out
