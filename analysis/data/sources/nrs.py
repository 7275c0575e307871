"""Parsers for National Records of Scotland (NRS) tables.

Two CSV files are spreadsheet tables saved in publication layout (title, blank rows, multi-row
headers, footnotes), and one workbook holds population by council, sex and single year of age.

Both CSV files are Windows/latin-1 text: the only non-ASCII byte in either is ``0xA9`` in the
footer line ``© Crown Copyright 2020``, which is invalid UTF-8. Latin-1 decodes it as ``©``; every
area name is plain ASCII, so the encoding cannot alter a name. Their footers are recognised line
by line (:func:`_body_rows`): a ``Footnote`` heading, numbered notes ``"1) …"`` and the copyright
line. Any other non-blank line after the footer has begun, and any body line that is not a title,
header or data row, raises :class:`~analysis.errors.ParseError`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from python_calamine import CalamineWorkbook

from analysis.data.sources import register_parser
from analysis.data.sources._common import check_year, frame, parse_number, parse_year, read_csv_records
from analysis.errors import DuplicateRowError, ParseError

_ENCODING = "latin-1"
_FOOTNOTE_HEADING = "Footnote"
_FOOTNOTE = re.compile(r"\d+\) \S.*", re.DOTALL)
_COPYRIGHT = re.compile(r"© Crown Copyright \d{4}")

Row = list[str]


def _is_blank(cells: list[str]) -> bool:
    return not any(cell.strip() for cell in cells)


def _is_footer(row: Row) -> bool:
    """A footer line: ``Footnote``, a numbered note or the copyright line, alone in the first cell."""
    first = row[0].strip()
    known = first == _FOOTNOTE_HEADING or _FOOTNOTE.fullmatch(first) or _COPYRIGHT.fullmatch(first)
    return bool(known) and _is_blank(row[1:])


def _body_rows(path: Path, records: list[tuple[int, Row]], first_column: str) -> Iterator[tuple[int, Row]]:
    """Yield the non-blank lines before the footer, and check that the footer holds only known lines."""
    in_footer = False
    for line, row in records:
        if _is_blank(row):
            continue
        if _is_footer(row):
            in_footer = True
        elif in_footer:
            raise ParseError(f"unrecognised line {row[0]!r} in the footer", file=path, row=line,
                             column=first_column)
        else:
            yield line, row


def _check_title(path: Path, records: list[tuple[int, Row]], prefix: str) -> None:
    line, row = records[0] if records else (1, [""])
    if not row[0].startswith(prefix) or not _is_blank(row[1:]):
        raise ParseError(f"expected a title starting {prefix!r}, found {row[0]!r}", file=path, row=line)


def _record(area: str, level: str, period: str, year: int, indicator: str, breakdown: str, value: float,
            unit: str, path: Path, line: int, column: str) -> dict:
    return {
        "area_name": area,
        "area_code": None,
        "area_level": level,
        "period": period,
        "year": year,
        "indicator": indicator,
        "breakdown": breakdown,
        "value": value,
        "unit": unit,
        "source": path.name,
        "source_row": line,
        "source_column": column,
    }


# --- alcohol-specific deaths ---------------------------------------------------------------------

_ALCOHOL_FIRST, _ALCOHOL_LAST = 1979, 2019
_ALCOHOL_SCOTLAND = "All Scotland1"
_ALCOHOL_YEAR_COLUMN = "Year"
_ALCOHOL_REPEAT_COLUMN = "Year (repeated in the last column)"
_ALCOHOL_AVERAGES_LABEL = "5-year moving annual averages"
_ALCOHOL_NOT_PUBLISHED = "."
_YEAR = re.compile(r"\d{4}")
_MOVING_AVERAGE = re.compile(r"(\d{4}) to (\d{4})")


def _alcohol_areas(path: Path, line: int, row: Row) -> list[tuple[int, str]]:
    """Check the area header line and return ``(column index, area as published)`` pairs."""
    if len(row) < 3 or row[0].strip() or row[1].strip() != _ALCOHOL_SCOTLAND or row[-1].strip():
        raise ParseError(f"expected the area header (blank, {_ALCOHOL_SCOTLAND!r}, …, blank), "
                         f"found {row[:2]}", file=path, row=line, column=_ALCOHOL_SCOTLAND)
    areas = [(index, cell.strip()) for index, cell in enumerate(row[1:-1], start=1)]
    for index, area in areas:
        if not area:
            raise ParseError(f"blank area header in column {index + 1}", file=path, row=line)
    return areas


@register_parser("scotland/nrs_alcohol_specific_deaths_by_council_1979_2019.csv")
def parse_alcohol_specific_deaths(path: Path) -> pd.DataFrame:
    """NRS Table 5: alcohol-specific deaths (new National Statistics definition) by council, 1979-2019.

    Layout (latin-1): title line, blank line, the area header line, blank line, a ``Year`` label
    line, 41 annual lines ``1979``…``2019``, a ``5-year moving annual averages`` label line (the
    label repeated in the last cell), 37 lines ``1979 to 1983``…``2015 to 2019``, then the footer.

    * Area headers are kept as published, hyphenation artefacts included (``Aberdeen-shire``,
      ``Clackma-nnanshire``, ``East Dunbart-onshire``); ``All Scotland1`` is Scotland with the
      marker of footnote 1 (for 1979-90 the Scotland total may include deaths whose council is
      unknown: it exceeds the sum of the councils by 1-7 in 10 of those 12 years; from 1991 it
      equals the sum exactly) -> ``area_level`` ``scotland``, every other column ``council``.
    * The last cell of each data line repeats the first; a mismatch raises ``ParseError``.
    * Scotland totals of 1,000 or more carry thousands commas (``"1,095"``).
    * One cell, Shetland Islands 2012, holds ``"."``. The file gives no key to the symbol: the
      Scotland total for 2012 equals the sum of the other councils (consistent with nil), but the
      five moving averages that include 2012 cannot all be met by any single count (2008-2012
      needs 5-9, 2012-2016 needs 0-3), so the cell is emitted as ``NaN`` (explicitly missing)
      rather than guessed. Any other non-number raises ``NonNumericValueError``.

    Annual lines give ``alcohol_specific_deaths`` (``count``, period ``"1979"``); moving-average
    lines give ``alcohol_specific_deaths_5yr_avg`` (``deaths per year``, period ``"2015-2019"``,
    year = first year of the window).
    """
    path = Path(path)
    records = read_csv_records(path, _ENCODING)
    _check_title(path, records, "Table 5: Alcohol-specific deaths")
    areas: list[tuple[int, str]] | None = None
    width = 0
    out = []
    for line, row in _body_rows(path, records[1:], _ALCOHOL_YEAR_COLUMN):
        first = row[0].strip()
        if areas is None:
            areas, width = _alcohol_areas(path, line, row), len(row)
            continue
        if len(row) != width:
            raise ParseError(f"{len(row)} cells where the header has {width}", file=path, row=line)
        if first == _ALCOHOL_YEAR_COLUMN and _is_blank(row[1:]):
            continue
        if first == _ALCOHOL_AVERAGES_LABEL and row[-1].strip() == first and _is_blank(row[1:-1]):
            continue
        if _YEAR.fullmatch(first):
            year = parse_year(first, file=path, row=line, column=_ALCOHOL_YEAR_COLUMN,
                              low=_ALCOHOL_FIRST, high=_ALCOHOL_LAST)
            period, indicator, unit = first, "alcohol_specific_deaths", "count"
        elif match := _MOVING_AVERAGE.fullmatch(first):
            year, end = int(match[1]), int(match[2])
            for bound in (year, end):
                check_year(bound, file=path, row=line, column=_ALCOHOL_YEAR_COLUMN,
                           low=_ALCOHOL_FIRST, high=_ALCOHOL_LAST)
            if end != year + 4:
                raise ParseError(f"{first!r} is not a 5-year window", file=path, row=line,
                                 column=_ALCOHOL_YEAR_COLUMN)
            period, indicator, unit = f"{year}-{end}", "alcohol_specific_deaths_5yr_avg", "deaths per year"
        else:
            raise ParseError(f"unrecognised line starting {row[0]!r}", file=path, row=line,
                             column=_ALCOHOL_YEAR_COLUMN)
        if row[-1].strip() != first:
            raise ParseError(f"last cell {row[-1]!r} does not repeat the first cell {first!r}",
                             file=path, row=line, column=_ALCOHOL_REPEAT_COLUMN)
        for index, area in areas:
            cell = row[index]
            value = (math.nan if cell.strip() == _ALCOHOL_NOT_PUBLISHED
                     else parse_number(cell, file=path, row=line, column=area, allow_blank=False))
            level = "scotland" if area == _ALCOHOL_SCOTLAND else "council"
            out.append(_record(area, level, period, year, indicator, "all", value, unit, path, line, area))
    if areas is None:
        raise ParseError("no area header line", file=path)
    return frame(out)


# --- drug-related deaths -------------------------------------------------------------------------

_DRUG_AREA_COLUMN = "Council area1"


@dataclass(frozen=True)
class _DrugColumn:
    """A carried column of Table C1: where it is, what it says and what it becomes."""

    index: int
    group: str  # the heading above it (spanning, in the published sheet, several columns)
    header: str  # its own heading in the "Council area1" line
    indicator: str
    breakdown: str
    first_year: int
    last_year: int

    @property
    def source_column(self) -> str:
        return f"{self.group} {self.header}".strip()

    @property
    def period(self) -> str:
        if self.first_year == self.last_year:
            return str(self.first_year)
        return f"{self.first_year}-{self.last_year}"

    @property
    def unit(self) -> str:
        """Single-year columns are counts; multi-year columns are annual averages over the window."""
        return "count" if self.first_year == self.last_year else "deaths per year"


_DRUG_COLUMNS = (
    [_DrugColumn(index, "", str(year), "drug_related_deaths", "all", year, year)
     for index, year in enumerate(range(2009, 2020), start=1)]
    + [_DrugColumn(13, "Annual averages", "2005 to 2009", "drug_related_deaths_5yr_avg", "all", 2005, 2009),
       _DrugColumn(14, "Annual averages", "2015 to 2019", "drug_related_deaths_5yr_avg", "all", 2015, 2019)]
    + [_DrugColumn(index, sex.capitalize(), str(year), "drug_related_deaths", sex, year, year)
       for sex, start in (("males", 19), ("females", 22))
       for index, year in enumerate((2009, 2019), start=start)]
)
#: Every non-blank cell of the group-heading line and of the column-heading line, by column index.
_DRUG_GROUP_CELLS: Mapping[int, str] = {13: "Annual averages", 17: "2015-2019", 19: "Males", 22: "Females"}
_DRUG_HEADER_CELLS: Mapping[int, str] = {
    0: _DRUG_AREA_COLUMN,
    **{column.index: column.header for column in _DRUG_COLUMNS},
    16: "Population in 2017",
    17: "average deaths per 1,000 population",
}
_DRUG_WIDTH = 26


def _expect_cells(path: Path, line: int, row: Row, expected: Mapping[int, str]) -> None:
    """Check a heading line cell by cell: the expected text where given, blank elsewhere."""
    if len(row) != _DRUG_WIDTH:
        raise ParseError(f"{len(row)} cells where {_DRUG_WIDTH} are expected", file=path, row=line)
    for index, cell in enumerate(row):
        want, found = expected.get(index, ""), cell.strip()
        if found != want:
            raise ParseError(f"expected heading {want!r} in column {index + 1}, found {found!r}",
                             file=path, row=line, column=want or found)


@register_parser("scotland/nrs_drug_related_deaths_by_council_2009_2019_tableC1.csv")
def parse_drug_related_deaths(path: Path) -> pd.DataFrame:
    """NRS Table C1: drug-related deaths by council area, 2009-2019 (latin-1, publication layout).

    Layout: title line; a group-heading line (``Annual averages``, ``2015-2019``, ``Males``,
    ``Females``); the column-heading line starting ``Council area1`` (footnote 1 explains the
    2016 change of name order); blank lines; the ``Scotland`` line (-> ``area_level`` ``scotland``);
    32 council lines, names as published (``Argyll & Bute``, ``Dumfries & Galloway``,
    ``Perth & Kinross``); then the footer, whose note spans several physical lines inside one
    quoted cell. Both heading lines are checked cell by cell against the expected layout.

    Counts may carry a trailing space and thousands commas (``"52 "``, ``"1,187 "``). Emitted:

    * ``drug_related_deaths`` (``count``), breakdown ``all``, each year 2009-2019;
    * the same indicator with breakdown ``males`` / ``females`` for 2009 and 2019
      (``source_column`` ``"Males 2009"`` etc.);
    * ``drug_related_deaths_5yr_avg`` (``deaths per year``) for 2005-2009 and 2015-2019
      (period ``"2005-2009"``, year 2005; ``source_column`` ``"Annual averages 2005 to 2009"``).

    Not carried, deliberately: ``Population in 2017`` (column 17) and the 2015-2019 ``average deaths
    per 1,000 population`` (column 18); the book derives rates from the NRS population series.
    Their headings are still verified to sit where expected, so a shifted layout cannot go unseen.
    """
    path = Path(path)
    records = read_csv_records(path, _ENCODING)
    _check_title(path, records, "Table C1: Drug-related deaths by Council area")
    body = _body_rows(path, records[1:], _DRUG_AREA_COLUMN)
    for expected in (_DRUG_GROUP_CELLS, _DRUG_HEADER_CELLS):
        line, row = next(body, (None, None))
        if row is None:
            raise ParseError("file ends before the heading lines", file=path)
        _expect_cells(path, line, row, expected)

    out = []
    for line, row in body:
        if len(row) != _DRUG_WIDTH:
            raise ParseError(f"{len(row)} cells where {_DRUG_WIDTH} are expected", file=path, row=line)
        area = row[0].strip()
        if not area:
            raise ParseError("blank area name", file=path, row=line, column=_DRUG_AREA_COLUMN)
        level = "scotland" if area == "Scotland" else "council"
        for column in _DRUG_COLUMNS:
            value = parse_number(row[column.index], file=path, row=line, column=column.source_column,
                                 allow_blank=False)
            out.append(_record(area, level, column.period, column.first_year, column.indicator,
                               column.breakdown, value, column.unit, path, line, column.source_column))
    return frame(out)


# --- population by single year of age and sex ----------------------------------------------------

_MYE_HEADER = ("Area", "Year", "Sex", "Age", "Population")
_MYE_FIRST, _MYE_LAST = 1998, 2018
_MYE_SEXES = frozenset({"F", "M"})
_MYE_MAX_AGE = 90
POPULATION_AGE_SEX_COLUMNS = ["area_name", "year", "sex", "age", "population", "source", "source_row"]


def _whole_number(value: object) -> int | None:
    """The value as an int if the cell holds a whole number (not a bool or text), else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


@register_parser("scotland/nrs_mye_single_year_age_sex_council_1998_2018.xlsx")
def parse_population_age_sex(path: Path) -> pd.DataFrame:
    """NRS mid-year population estimates by council, sex and single year of age, 1998-2018.

    **Returns the age-sex table, not the long panel shape**: columns
    :data:`POPULATION_AGE_SEX_COLUMNS` = ``area_name`` (as published), ``year`` (int), ``sex``
    (``"F"``/``"M"``), ``age`` (int 0-90, 90 meaning 90 and over), ``population`` (float),
    ``source`` (file name) and ``source_row`` (sheet row, header = row 1). It is registered in
    :data:`~analysis.data.sources.PARSERS` like every other raw file so that each file has one parser.

    The workbook has one sheet, header ``Area, Year, Sex, Age, Population`` and 126,126 data rows:
    33 areas (the 32 councils, named as NRS names them, e.g. "City of Edinburgh",
    "Na h-Eileanan Siar", **plus a ``Scotland`` total row** per year, sex and age) x 21 years x
    2 sexes x 91 ages. It is a different revision from the dashboard tables in :mod:`.sgred`.

    Read with python-calamine (pandas' own fast Excel engine; half a second, where openpyxl takes
    seven), every row from A1 so that each value keeps its true sheet row number. Each cell is
    validated: area non-blank text, year a whole number in 1998-2018
    (:class:`~analysis.errors.YearOutOfRangeError`), sex ``F``/``M``, age a whole number 0-90
    (:class:`~analysis.errors.ParseError`), population a non-negative number
    (:class:`~analysis.errors.NonNumericValueError` / ``ParseError``), each naming the sheet row and
    column. Wholly empty sheet rows are ignored; a repeated (area, year, sex, age) raises
    :class:`~analysis.errors.DuplicateRowError`.
    """
    path = Path(path)
    workbook = CalamineWorkbook.from_path(str(path))
    if len(workbook.sheet_names) != 1:
        raise ParseError(f"expected one sheet, found {workbook.sheet_names}", file=path)
    # Every row from A1 (blank rows and columns kept, so list position = sheet row); a blank cell is ''.
    sheet = workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
    rows = ([None if v == "" else v for v in row] for row in sheet)
    header = tuple(next(rows, ()))
    if header[: len(_MYE_HEADER)] != _MYE_HEADER or any(v is not None for v in header[len(_MYE_HEADER):]):
        raise ParseError(f"expected the header {_MYE_HEADER}, found {header}", file=path, row=1)
    columns: dict[str, list] = {name: [] for name in POPULATION_AGE_SEX_COLUMNS}
    for sheet_row, values in enumerate(rows, start=2):
        if all(v is None for v in values):
            continue
        if any(v is not None for v in values[len(_MYE_HEADER):]):
            raise ParseError("a cell to the right of the table is filled", file=path, row=sheet_row)
        area, year_cell, sex, age_cell, population_cell = (values + [None] * len(_MYE_HEADER))[: len(_MYE_HEADER)]
        if not isinstance(area, str) or not area.strip():
            raise ParseError(f"expected an area name, found {area!r}", file=path, row=sheet_row,
                             column="Area")
        year = _whole_number(year_cell)
        if year is None:
            raise ParseError(f"expected a whole-number year, found {year_cell!r}", file=path,
                             row=sheet_row, column="Year")
        check_year(year, file=path, row=sheet_row, column="Year", low=_MYE_FIRST, high=_MYE_LAST)
        if sex not in _MYE_SEXES:
            raise ParseError(f"expected sex F or M, found {sex!r}", file=path, row=sheet_row,
                             column="Sex")
        age = _whole_number(age_cell)
        if age is None or not 0 <= age <= _MYE_MAX_AGE:
            raise ParseError(f"expected a whole-number age 0-{_MYE_MAX_AGE}, found {age_cell!r}",
                             file=path, row=sheet_row, column="Age")
        population = parse_number(population_cell, file=path, row=sheet_row, column="Population",
                                  allow_blank=False)
        if population < 0:
            raise ParseError(f"negative population {population_cell!r}", file=path, row=sheet_row,
                             column="Population")
        columns["area_name"].append(area.strip())
        columns["year"].append(year)
        columns["sex"].append(sex)
        columns["age"].append(age)
        columns["population"].append(population)
        columns["source_row"].append(sheet_row)

    columns["source"] = [path.name] * len(columns["source_row"])
    table = pd.DataFrame(columns, columns=POPULATION_AGE_SEX_COLUMNS).astype(
        {"area_name": object, "year": "int64", "sex": object, "age": "int64", "population": "float64",
         "source": object, "source_row": "int64"}
    )
    duplicated = table.duplicated(["area_name", "year", "sex", "age"])
    if duplicated.any():
        first = table[duplicated].iloc[0]
        raise DuplicateRowError(
            f"{first['area_name']} {first['year']} {first['sex']} age {first['age']} appears twice",
            file=path, row=int(first["source_row"]),
        )
    return table
