"""Parsers for the council tables of the Scottish Government regional economic dashboard (SGRED).

The five files come from ``DataScienceScotland/sg-regional-economic-dashboard``
(``www/local_authorities/t*.csv``). They share one shape, handled by :func:`_parse_sgred_wide`:

* line 1 is the header ``Area,<year>,<year>,…`` with consecutive four-digit years;
* one row per council, 32 rows, named as NRS names them ("City of Edinburgh",
  "Na h-Eileanan Siar"); there is **no Scotland row**;
* plain ASCII numbers without thousands separators; the only blank cells are Dundee City 2003
  in the three population tables, emitted as ``NaN`` (explicitly missing);
* a published ``0`` is a missing-value placeholder, not a measurement: none of these measures
  (population, GVA per head, employment or unemployment rate of a council) can be zero. It occurs
  once, Dundee City 2010 in the GVA table (between 19,942 in 2009 and 20,571 in 2011), and is
  emitted as ``NaN`` like the blanks, so that it reaches the pipeline's table of missing values
  instead of entering averages as a real zero.

Years outside a table's documented range raise :class:`~analysis.errors.YearOutOfRangeError`.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from analysis.data.sources import register_parser
from analysis.data.sources._common import frame, parse_number, parse_year, read_csv_records
from analysis.errors import ParseError

_AREA_COLUMN = "Area"


def _parse_sgred_wide(
    path: Path,
    *,
    indicator: str,
    unit: str,
    first_year: int,
    last_year: int,
    scale: float = 1.0,
) -> pd.DataFrame:
    """Parse one wide ``Area,<years>`` table into the long panel shape.

    ``scale`` multiplies every published value (100 turns a proportion into a percent); the product
    is rounded to 9 decimal places so that binary noise such as ``0.74 * 100 = 74.00000000000001``
    does not leak into the tables. The header must list exactly the years
    ``first_year..last_year`` in order.
    """
    path = Path(path)
    records = read_csv_records(path)
    if not records:
        raise ParseError("empty file", file=path)
    header_line, header = records[0]
    if not header or header[0].strip() != _AREA_COLUMN:
        found = header[0] if header else ""
        raise ParseError(f"expected {_AREA_COLUMN!r} as the first header, found {found!r}",
                         file=path, row=header_line, column=found)
    columns = [cell.strip() for cell in header[1:]]
    years = [
        parse_year(column, file=path, row=header_line, column=column, low=first_year, high=last_year)
        for column in columns
    ]
    if years != list(range(first_year, last_year + 1)):
        raise ParseError(f"expected the years {first_year}-{last_year} in order, found {columns}",
                         file=path, row=header_line)

    out = []
    for line, row in records[1:]:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise ParseError(f"{len(row)} cells where the header has {len(header)}", file=path, row=line)
        area = row[0].strip()
        if not area:
            raise ParseError("blank area name", file=path, row=line, column=_AREA_COLUMN)
        for year, column, cell in zip(years, columns, row[1:], strict=True):
            value = parse_number(cell, file=path, row=line, column=column)
            if value == 0:
                value = math.nan  # a zero placeholder: see the module docstring
            out.append({
                "area_name": area,
                "area_code": None,
                "area_level": "council",
                "period": str(year),
                "year": year,
                "indicator": indicator,
                "breakdown": "all",
                "value": round(value * scale, 9),
                "unit": unit,
                "source": path.name,
                "source_row": line,
                "source_column": column,
            })
    return frame(out)


@register_parser("scotland/sgred_la_t20.csv")
def parse_population(path: Path) -> pd.DataFrame:
    """NRS mid-year population estimates, all ages, persons, 1991-2019 (dashboard table t20).

    A different NRS revision from the single-year-of-age workbook parsed in :mod:`.nrs`
    (e.g. Glasgow City 2003: 572,270 here, 572,260 there). Dundee City 2003 is blank -> ``NaN``.
    """
    return _parse_sgred_wide(path, indicator="population", unit="persons", first_year=1991, last_year=2019)


@register_parser("scotland/sgred_la_t21.csv")
def parse_population_16plus(path: Path) -> pd.DataFrame:
    """NRS mid-year population estimates, aged 16 and over, persons, 1991-2019 (table t21).

    Dundee City 2003 is blank -> ``NaN``.
    """
    return _parse_sgred_wide(path, indicator="population_16plus", unit="persons",
                             first_year=1991, last_year=2019)


@register_parser("scotland/sgred_la_t22.csv")
def parse_population_16_64(path: Path) -> pd.DataFrame:
    """NRS mid-year population estimates, aged 16-64, persons, 1991-2019 (table t22).

    Dundee City 2003 is blank -> ``NaN``.
    """
    return _parse_sgred_wide(path, indicator="population_16_64", unit="persons",
                             first_year=1991, last_year=2019)


@register_parser("scotland/sgred_la_t1.csv")
def parse_gva_per_head(path: Path) -> pd.DataFrame:
    """ONS GVA (balanced) per head, GBP, current prices, 1998-2018 (table t1).

    Dundee City 2010 is published as ``0`` -> ``NaN`` (a placeholder; see the module docstring).

    Workplace-based: output is divided by *resident* population, so councils with large inward
    commuting or offshore-linked output (Aberdeen City) are inflated and commuter councils deflated.
    """
    return _parse_sgred_wide(path, indicator="gva_per_head", unit="GBP", first_year=1998, last_year=2018)


@register_parser("scotland/sgred_la_t14a.csv")
def parse_employment_rate(path: Path) -> pd.DataFrame:
    """Employment rate (Annual Population Survey), 2004-2019 (table t14a).

    Published as a proportion (``0.74``); **multiplied by 100** and emitted in ``percent`` (``74.0``).
    """
    return _parse_sgred_wide(path, indicator="employment_rate", unit="percent",
                             first_year=2004, last_year=2019, scale=100.0)


@register_parser("scotland/sgred_la_t17b.csv")
def parse_unemployment_rate(path: Path) -> pd.DataFrame:
    """Unemployment rate (ONS model-based estimates), 2004-2019 (table t17b).

    Published as a proportion (``0.052``); **multiplied by 100** and emitted in ``percent`` (``5.2``).
    """
    return _parse_sgred_wide(path, indicator="unemployment_rate", unit="percent",
                             first_year=2004, last_year=2019, scale=100.0)
