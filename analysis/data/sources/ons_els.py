"""Parsers for the ONS "Explore local statistics" files: council-level series for Great Britain.

Three long CSVs from ``ONSdigital/explore-local-statistics-data`` (provenance in
``data/raw/provenance/ons_els_*.yml``), each the latest ONS release laid out on current
(2023-2025) boundaries. One parser each, sharing :func:`_parse_els`:

* ``gb/ons_els_gdhi_per_head_lad_1997_2023.csv``: ``gdhi_per_head_lad``, GBP, 1997-2023;
* ``gb/ons_els_gdp_per_head_lad_1998_2023.csv``: ``gdp_per_head_lad`` (GBP, current prices) and
  ``gdp_cvm_per_head_lad`` (GBP, chained volume measures), 1998-2023. The metadata JSON says the
  chained volume series is "in 2019 money value", but the data say 2022: the two series are equal
  in 2022 for all 350 districts of Great Britain and differ in 2019, so the unit records 2022 prices;
* ``gb/ons_els_claimant_count_lad_2001_2025.csv``: ``claimant_count_pct_lad``, percent of residents
  aged 16-64, 2001-2025 (the denominator is the mid-2023 population in every year: see the metadata
  JSON and the data dictionary), and ``claimant_count_pct_nation``, the same measure as ONS publishes
  it for the nations of Great Britain (below).

Quirks, each handled here and checked cell by cell:

* UTF-8 with a byte-order mark and CRLF line ends (:func:`~._common.read_csv_records` strips the BOM).
* Two header layouts. The household-income and claimant-count files have ``areacd, areanm,
  geography, indicator, period, observation, measure, unit, lci_95, uci_95, status, notes`` and an
  ISO 8601 period (``1997-01-01/P1Y``, a calendar year); the GDP file has ``AREACD, AREANM,
  Geography, Indicator, Observation, Unit, Measure, Period, Lower/Upper Confidence Interval (95%),
  Observation Status``, a plain-year period and no notes. The header is checked word for word.
* The GDP file holds two indicators, told apart by its ``Indicator`` column (current market prices;
  chained volume measures, reference year 2022).
* ``geography`` mixes levels. **The explicit rule for which rows are kept:** rows at
  ``Local Authority District`` level, and rows at ``County or Unitary Authority`` level whose code
  is a lower-tier district (England's 63 unitary authorities, ``E06``, are listed *only* at that
  level, so the districts of Great Britain are the two together). Dropped by rule, without reading
  their values: the other known levels (:data:`OTHER_LEVELS`: Country, Nation, Region, ITL1-3,
  Combined Authority or City Region), counties (``E10`` codes at the county level), and Northern
  Ireland's districts (``N09``), which are outside Great Britain. An unknown level, or a code that
  fits none of these rules, raises :class:`~analysis.errors.ParseError`.
* **National rows of the claimant count.** The claimant-count parser also keeps the rows at the
  ``Nation`` and ``Country`` levels, ONS's published rates for Scotland, England, Wales, England and
  Wales and Great Britain (each the nation's claimants over its own population aged 16-64, so
  weighted by population, unlike a mean of districts), as ``claimant_count_pct_nation``: Scotland's
  row with ``area_level`` ``scotland`` (resolved through the partnership register), the others
  ``nation`` (resolved by :func:`analysis.data.districts.resolve_nations`, which raises on a code it
  does not know). The United Kingdom (``K02000001``) and Northern Ireland (``N92000002``) are dropped
  by rule (:data:`OUTSIDE_GB`): they include Northern Ireland, outside the book's comparison. The
  household-income and GDP parsers keep no national rows.
* A district listed at both kept levels is deduplicated **by code** (never by name): the two rows
  must carry the same value, else :class:`~analysis.errors.DuplicateRowError`; a code repeated at
  the same level and period is a duplicate too. No code appears at both levels in these copies.
* ``status`` (``Observation Status``): blank, or a marker that the cell is not available (``x``) or
  of low reliability (``u``), which in these files always comes with a blank observation. A kept
  row's blank observation must carry a marker (it becomes ``NaN`` and is listed in ``missing.csv``);
  a marker beside a number, or an unknown marker, raises. No district of Great Britain is blank.
* The confidence-limit columns are empty throughout; a kept row with a limit raises (the panel has
  nowhere to carry it, and it must not be dropped silently).
* ``measure``/``unit`` must be ``Pounds``/``£`` (``Percentage``/``%`` for the claimant count).
* ``notes``: on a kept row, blank or the flag of a code obsolete since 2025, which must name the
  successor listed in :data:`OBSOLETE_CODES`; conversely every row of such a code must carry its
  flag. Notes on dropped rows (the 2025 renaming of two ITL3 areas) are not read. The GDP file
  uses the same obsolete codes without any note.

Parsers only read: the published code and name are passed on (``area_level`` ``"lad"``, or for a
national row ``"nation"`` or ``"scotland"``) and are resolved, retired codes included, by
:mod:`analysis.data.districts` (Scotland by the partnership register).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis.data.sources import register_parser
from analysis.data.sources._common import check_year, frame, parse_number, read_csv_records
from analysis.errors import DuplicateRowError, ParseError

GDHI = "gb/ons_els_gdhi_per_head_lad_1997_2023.csv"
GDP = "gb/ons_els_gdp_per_head_lad_1998_2023.csv"
CLAIMANT = "gb/ons_els_claimant_count_lad_2001_2025.csv"
#: ``area_level`` of every row the parsers return: a local authority district of Great Britain.
AREA_LEVEL = "lad"
DISTRICT_LEVEL = "Local Authority District"
UNITARY_LEVEL = "County or Unitary Authority"
#: Geography levels whose rows are dropped by rule (module docstring).
OTHER_LEVELS = frozenset({"Country", "Nation", "Region", "ITL Level 1", "ITL Level 2", "ITL Level 3",
                          "Combined Authority or City Region"})
#: Lower-tier district codes of Great Britain: English unitary authorities (E06), non-metropolitan
#: districts (E07), metropolitan districts (E08), London boroughs and the City (E09), Welsh
#: principal areas (W06) and Scottish council areas (S12).
GB_DISTRICT = re.compile(r"^(E0[6-9]|W06|S12)\d{6}$")
NI_DISTRICT = re.compile(r"^N09\d{6}$")
COUNTY = re.compile(r"^E10\d{6}$")
#: Levels of the national rows the claimant-count parser keeps, and the codes at those levels that are
#: dropped by rule (they include Northern Ireland).
NATIONAL_LEVELS = frozenset({"Country", "Nation"})
OUTSIDE_GB = {"K02000001": "United Kingdom", "N92000002": "Northern Ireland"}
#: ``area_level`` of a national row (Scotland's is the register's ``scotland``).
NATION_LEVEL = "nation"
SCOTLAND_CODE = "S92000003"
#: Status markers (Government Analysis Function symbols): not available, low reliability.
STATUS_MARKERS = frozenset({"x", "u"})

#: Codes the files still use although they have been obsolete since 2025, with the successor the
#: household-income and claimant-count files name in their notes. :mod:`analysis.data.districts` maps
#: these (and only these) retired English codes to their successors, after checking that the
#: local-authority lookup agrees.
OBSOLETE_CODES = {"E08000016": "E08000038", "E08000019": "E08000039"}
_OBSOLETE_NOTE = re.compile(r"^Obsolete code since (\d{4}) \(replaced by ([ENSW]\d{8}) (.+)\)$")


@dataclass(frozen=True)
class _Layout:
    """One file's header and the meaning of its columns."""

    header: tuple[str, ...]
    code: str
    name: str
    level: str
    indicator: str
    period: str
    value: str
    measure: str
    unit: str
    limits: tuple[str, str]
    status: str
    notes: str | None
    iso_period: bool


_LOWER = _Layout(
    header=("areacd", "areanm", "geography", "indicator", "period", "observation", "measure", "unit", "lci_95",
            "uci_95", "status", "notes"),
    code="areacd", name="areanm", level="geography", indicator="indicator", period="period", value="observation",
    measure="measure", unit="unit", limits=("lci_95", "uci_95"), status="status", notes="notes", iso_period=True,
)
_UPPER = _Layout(
    header=("AREACD", "AREANM", "Geography", "Indicator", "Observation", "Unit", "Measure", "Period",
            "Lower Confidence Interval (95%)", "Upper Confidence Interval (95%)", "Observation Status"),
    code="AREACD", name="AREANM", level="Geography", indicator="Indicator", period="Period", value="Observation",
    measure="Measure", unit="Unit",
    limits=("Lower Confidence Interval (95%)", "Upper Confidence Interval (95%)"), status="Observation Status",
    notes=None, iso_period=False,
)

#: Where each file keeps the area's code and name (for errors raised when resolving them).
AREA_COLUMNS = {Path(GDHI).name: ("areacd", "areanm"), Path(CLAIMANT).name: ("areacd", "areanm"),
                Path(GDP).name: ("AREACD", "AREANM")}

_ISO_YEAR = re.compile(r"^(\d{4})-01-01/P1Y$")
_PLAIN_YEAR = re.compile(r"^(\d{4})$")


def _year(text: str, layout: _Layout, *, file: Path, row: int, low: int, high: int) -> int:
    match = (_ISO_YEAR if layout.iso_period else _PLAIN_YEAR).match(text)
    if match is None:
        shape = "an ISO 8601 year (YYYY-01-01/P1Y)" if layout.iso_period else "a four-digit year"
        raise ParseError(f"expected {shape}, found {text!r}", file=file, row=row, column=layout.period)
    year = int(match.group(1))
    check_year(year, file=file, row=row, column=layout.period, low=low, high=high)
    return year


def _check_note(cell: dict[str, str], layout: _Layout, *, file: Path, row: int) -> None:
    """A kept row's note is blank or the documented obsolete-code flag, and the flag is never missing."""
    if layout.notes is None:
        return
    code, note = cell[layout.code], cell[layout.notes]
    if not note:
        if code in OBSOLETE_CODES:
            raise ParseError(f"{code} is obsolete since 2025 but its note does not say so", file=file, row=row,
                             column=layout.notes)
        return
    match = _OBSOLETE_NOTE.match(note)
    if match is None or OBSOLETE_CODES.get(code) != match.group(2):
        raise ParseError(f"unexpected note {note!r} on {code} (only the obsolete-code flags "
                         f"{OBSOLETE_CODES} are documented)", file=file, row=row, column=layout.notes)


def _keep(cell: dict[str, str], layout: _Layout, *, file: Path, row: int, nations: bool) -> str | None:
    """The row-selection rule of the module docstring: the row's ``area_level`` if it is kept (a district
    of Great Britain, or with ``nations`` one of its nations), else ``None``."""
    level, code = cell[layout.level], cell[layout.code]
    if nations and level in NATIONAL_LEVELS:
        if code in OUTSIDE_GB:
            return None
        return "scotland" if code == SCOTLAND_CODE else NATION_LEVEL
    if level in OTHER_LEVELS:
        return None
    if level not in (DISTRICT_LEVEL, UNITARY_LEVEL):
        raise ParseError(f"unknown geography level {level!r}", file=file, row=row, column=layout.level)
    if GB_DISTRICT.match(code):
        return AREA_LEVEL
    if NI_DISTRICT.match(code) or (level == UNITARY_LEVEL and COUNTY.match(code)):
        return None
    raise ParseError(f"code {code!r} is no district of the United Kingdom (nor a county at the {UNITARY_LEVEL!r} "
                     f"level)", file=file, row=row, column=layout.code)


def _parse_els(
    path: Path,
    layout: _Layout,
    *,
    indicators: Mapping[str, tuple[str, str]],
    measure: str,
    unit: str,
    first_year: int,
    last_year: int,
    nations: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Parse one Explore-local-statistics file into the long panel shape (districts of GB, and with
    ``nations`` its nations).

    ``indicators`` maps each published indicator to ``(indicator id, panel unit)``; ``measure``
    and ``unit`` are the values the file's measure and unit columns must hold; ``nations``, if given,
    maps each published indicator to the id its national rows are kept under.
    """
    path = Path(path)
    records = read_csv_records(path)
    if not records or tuple(records[0][1]) != layout.header:
        raise ParseError(f"expected the header {list(layout.header)}, found {records[0][1] if records else []}",
                         file=path, row=1)
    width = len(layout.header)
    out: list[dict] = []
    seen: dict[tuple[str, str, int], tuple[int, str, float]] = {}  # key -> (row, level, value)
    for line, rec in records[1:]:
        if len(rec) != width:
            raise ParseError(f"{len(rec)} cells where the header has {width}", file=path, row=line)
        cell = dict(zip(layout.header, (c.strip() for c in rec), strict=True))
        published = cell[layout.indicator]
        if published not in indicators:
            raise ParseError(f"unknown indicator {published!r}", file=path, row=line, column=layout.indicator)
        area_level = _keep(cell, layout, file=path, row=line, nations=nations is not None)
        if area_level is None:
            continue
        code, name = cell[layout.code], cell[layout.name]
        if not name:
            raise ParseError("blank area name", file=path, row=line, column=layout.name)
        for column, expected in ((layout.measure, measure), (layout.unit, unit)):
            if cell[column] != expected:
                raise ParseError(f"expected {expected!r}, found {cell[column]!r}", file=path, row=line,
                                 column=column)
        for column in layout.limits:
            if cell[column]:
                raise ParseError("a confidence limit is given, but the panel does not carry limits",
                                 file=path, row=line, column=column)
        _check_note(cell, layout, file=path, row=line)
        year = _year(cell[layout.period], layout, file=path, row=line, low=first_year, high=last_year)
        status = cell[layout.status]
        if status and status not in STATUS_MARKERS:
            raise ParseError(f"unknown status marker {status!r}", file=path, row=line, column=layout.status)
        if status and cell[layout.value]:
            raise ParseError(f"status {status!r} beside the value {cell[layout.value]!r}: undocumented", file=path,
                             row=line, column=layout.status)
        value = parse_number(cell[layout.value], file=path, row=line, column=layout.value,
                             allow_blank=bool(status))
        indicator, panel_unit = indicators[published]
        if area_level != AREA_LEVEL:
            indicator = nations[published]
        key = (code, indicator, year)
        if key in seen:
            first_line, first_level, first_value = seen[key]
            same = first_value == value or (math.isnan(first_value) and math.isnan(value))
            if first_level == cell[layout.level] or not same:
                why = ("at the same level" if first_level == cell[layout.level]
                       else f"with a different value ({first_value:g} at {first_level!r})")
                raise DuplicateRowError(f"{code} {indicator} {year} is also on row {first_line} {why}", file=path,
                                        row=line, column=layout.value)
            continue  # a unitary authority listed at both levels with the same value: kept once
        seen[key] = (line, cell[layout.level], value)
        out.append({
            "area_name": name,
            "area_code": code,
            "area_level": area_level,
            "period": str(year),
            "year": year,
            "indicator": indicator,
            "breakdown": "all",
            "value": value,
            "unit": panel_unit,
            "source": path.name,
            "source_row": line,
            "source_column": layout.value,
        })
    return frame(out)


@register_parser(GDHI)
def parse_gdhi_per_head(path: Path) -> pd.DataFrame:
    """ONS gross disposable household income per head, GBP, districts of Great Britain, 1997-2023."""
    return _parse_els(path, _LOWER, indicators={"Gross disposable household income": ("gdhi_per_head_lad", "GBP")},
                      measure="Pounds", unit="£", first_year=1997, last_year=2023)


@register_parser(GDP)
def parse_gdp_per_head(path: Path) -> pd.DataFrame:
    """ONS GDP per head, current market prices and chained volume (2022 money value), GBP, 1998-2023."""
    return _parse_els(
        path, _UPPER,
        indicators={
            "Gross domestic product per head at current market price": ("gdp_per_head_lad", "GBP (current prices)"),
            "Gross domestic product per head in chained volume measure": (
                "gdp_cvm_per_head_lad", "GBP (2022 prices, chained volume)"),
        },
        measure="Pounds", unit="£", first_year=1998, last_year=2023,
    )


@register_parser(CLAIMANT)
def parse_claimant_count(path: Path) -> pd.DataFrame:
    """ONS claimant count as a percentage of residents aged 16-64 (mid-2023 population), 2001-2025: the
    districts of Great Britain and, as published, its nations."""
    return _parse_els(
        path, _LOWER, indicators={"Claimant Count": ("claimant_count_pct_lad", "percent of residents aged 16-64")},
        measure="Percentage", unit="%", first_year=2001, last_year=2025,
        nations={"Claimant Count": "claimant_count_pct_nation"},
    )
