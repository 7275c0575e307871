"""Parsers for the ONS regional tables covering the whole UK (ITL and NUTS regions).

Five files, one shape, handled by :func:`_parse_gb_wide`: a header
``<level column>,<code column>,Region name,<year>,…`` followed by one row per region at every
level (UK, England, ITL1/NUTS1, ITL2/NUTS2, ITL3/NUTS3). Numbers may carry thousands separators
(``"58,474,943"``). The published level is mapped to ``area_level``; any level not listed in the
layout raises :class:`~analysis.errors.ParseError`.

ITL files (``DanOlner/ukcompare``, ONS regional GDP and population, 1998-2021, 2021 ITL codes):

* level column ``ITL`` with values ``UK``, ``Other``, ``ITL1``, ``ITL2``, ``ITL3``; in the
  population table England's level is ``"Other "`` with a trailing space (stripped);
* two ``UK`` rows: ``UK`` United Kingdom and ``UKX`` United Kingdom less Extra-Regio. The GDP tables
  also have ``Other``/``TLZ`` Extra-Regio (offshore activity not assigned to a region), which
  therefore gets ``area_level`` ``country`` although it is no country: select England by its code
  ``TLB``. Current-price ITL3 GDP sums to ``UKX``, not ``UK``; chained-volume GDP is not additive
  (the ITL3 sum departs from ``UKX`` by up to 3 % away from the 2019 reference year); for
  population ``UK`` and ``UKX`` are equal;
* 179 ITL3 areas: Scotland (TLM) 23, England 133, Wales (TLL) 12, Northern Ireland (TLN) 11;
* no footer.

NUTS files (``NearAndDistant/ruk``, ONS gross disposable household income, 1997-2018, NUTS 2016):

* level column ``NUTS level`` with ``UK``, ``Other`` (England only), ``NUTS1``, ``NUTS2``, ``NUTS3``;
* 179 NUTS3 areas (UKM Scotland 23, UKL Wales 12, UKN Northern Ireland 11, England 133);
* the table ends with a row of ``NA`` and the ONS footnotes, each padded with ``NA`` cells:
  ``1 Provisional.`` (per-head file) or ``1 Components may not sum to totals as a result of
  rounding.`` and ``2 Provisional.`` (household file). These footer rows are checked word for word
  and dropped. No year header carries the footnote marker (the headers are plain ``1997``…``2018``),
  so which years ONS marked provisional cannot be recovered from these copies; a marked header
  such as ``"2018 2"`` would fail the four-digit year check rather than be silently accepted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis.data.sources import register_parser
from analysis.data.sources._common import frame, parse_number, parse_year, read_csv_records
from analysis.errors import ParseError

_NAME_COLUMN = "Region name"


@dataclass(frozen=True)
class _Layout:
    """What one family of ONS tables looks like."""

    level_column: str
    code_column: str
    levels: Mapping[str, str]  # published level (stripped) -> area_level
    first_year: int
    last_year: int


_ITL = _Layout(
    level_column="ITL",
    code_column="ITL code",
    levels={"UK": "uk", "Other": "country", "ITL1": "itl1", "ITL2": "itl2", "ITL3": "itl3"},
    first_year=1998,
    last_year=2021,
)

_NUTS = _Layout(
    level_column="NUTS level",
    code_column="NUTS code",
    levels={"UK": "uk", "Other": "country", "NUTS1": "nuts1", "NUTS2": "nuts2", "NUTS3": "nuts3"},
    first_year=1997,
    last_year=2018,
)


def _parse_gb_wide(
    path: Path,
    layout: _Layout,
    *,
    indicator: str,
    unit: str,
    footer: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Parse one wide ONS regional table into the long panel shape.

    ``footer`` lists, in order, the first cells of the rows that must close the file; each must be
    followed only by ``NA`` cells. Every other row is a region row and must have a known level, a
    code, a name and a number in every year column.
    """
    path = Path(path)
    records = [(line, row) for line, row in read_csv_records(path) if any(cell.strip() for cell in row)]
    if not records:
        raise ParseError("empty file", file=path)
    header_line, header = records[0]
    fixed = [layout.level_column, layout.code_column, _NAME_COLUMN]
    for index, expected in enumerate(fixed):
        found = header[index].strip() if index < len(header) else ""
        if found != expected:
            raise ParseError(f"expected header {expected!r}, found {found!r}",
                             file=path, row=header_line, column=found or expected)
    columns = [cell.strip() for cell in header[len(fixed):]]
    years = [
        parse_year(column, file=path, row=header_line, column=column,
                   low=layout.first_year, high=layout.last_year)
        for column in columns
    ]
    if years != list(range(layout.first_year, layout.last_year + 1)):
        raise ParseError(f"expected the years {layout.first_year}-{layout.last_year} in order, "
                         f"found {columns}", file=path, row=header_line)

    body = records[1:]
    split = next((i for i, (_, row) in enumerate(body) if footer and row[0].strip() == footer[0]), len(body))
    for index, (line, row) in enumerate(body[split:]):
        expected = footer[index] if index < len(footer) else None
        if row[0].strip() != expected or any(cell.strip() != "NA" for cell in row[1:]):
            wanted = f"footer row {expected!r} then NA cells" if expected else "no row after the footer"
            raise ParseError(f"expected {wanted}, found {row[0]!r}", file=path, row=line,
                             column=layout.level_column)
    if len(body) - split < len(footer):
        raise ParseError(f"file ends before the footer row {footer[len(body) - split]!r}", file=path)

    out = []
    for line, row in body[:split]:
        if len(row) != len(header):
            raise ParseError(f"{len(row)} cells where the header has {len(header)}", file=path, row=line)
        level = row[0].strip()
        if level not in layout.levels:
            raise ParseError(f"unknown {layout.level_column} value {row[0]!r}",
                             file=path, row=line, column=layout.level_column)
        code, name = row[1].strip(), row[2].strip()
        for column_name, cell in ((layout.code_column, code), (_NAME_COLUMN, name)):
            if not cell:
                raise ParseError("blank cell", file=path, row=line, column=column_name)
        for year, column, cell in zip(years, columns, row[len(fixed):], strict=True):
            out.append({
                "area_name": name,
                "area_code": code,
                "area_level": layout.levels[level],
                "period": str(year),
                "year": year,
                "indicator": indicator,
                "breakdown": "all",
                "value": parse_number(cell, file=path, row=line, column=column, allow_blank=False),
                "unit": unit,
                "source": path.name,
                "source_row": line,
                "source_column": column,
            })
    return frame(out)


@register_parser("gb/ukcompare_itl_gdp_current_1998_2021.csv")
def parse_itl_gdp_current(path: Path) -> pd.DataFrame:
    """ONS regional GDP at current market prices, GBP million, all ITL regions, 1998-2021."""
    return _parse_gb_wide(path, _ITL, indicator="gdp", unit="GBP million")


@register_parser("gb/ukcompare_itl_gdp_cvm2019_1998_2021.csv")
def parse_itl_gdp_cvm2019(path: Path) -> pd.DataFrame:
    """ONS regional GDP, chained volume measures in 2019 money value, GBP million, 1998-2021."""
    return _parse_gb_wide(path, _ITL, indicator="gdp_cvm2019", unit="GBP million (2019 prices)")


@register_parser("gb/ukcompare_itl_population_1998_2021.csv")
def parse_itl_population(path: Path) -> pd.DataFrame:
    """ONS total resident population by ITL region, persons, 1998-2021 (England's level is "Other ")."""
    return _parse_gb_wide(path, _ITL, indicator="population", unit="persons")


@register_parser("gb/ruk_ons_perhead_gdhi_nuts_1997_2018.csv")
def parse_nuts_gdhi_per_head(path: Path) -> pd.DataFrame:
    """ONS gross disposable household income per head, GBP, all NUTS regions, 1997-2018."""
    return _parse_gb_wide(path, _NUTS, indicator="gdhi_per_head", unit="GBP",
                          footer=("NA", "1 Provisional."))


@register_parser("gb/ruk_ons_household_gdhi_nuts_1997_2018.csv")
def parse_nuts_gdhi(path: Path) -> pd.DataFrame:
    """ONS gross disposable household income, GBP million, all NUTS regions, 1997-2018."""
    return _parse_gb_wide(
        path, _NUTS, indicator="gdhi", unit="GBP million",
        footer=("NA", "1 Components may not sum to totals as a result of rounding.", "2 Provisional."),
    )
