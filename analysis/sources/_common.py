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
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from ..errors import NonNumericValueError, ParseError, YearOutOfRangeError

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

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_BLANKS = {"", "na", "n/a", "nan", ":", ".."}


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
    for col in ["area_name", "area_code", "area_level", "period", "indicator", "breakdown", "unit", "source", "source_column"]:
        df[col] = df[col].astype("object")
    return df
