"""Parsers of the Community Planning Outcomes Profile (CPOP) data, two releases, and their union.

Both files come from ``Improvement-Service/CommunityPlanningOutcomesProfiler``
(``CPPcleandata.csv``): the September 2017 release (commit af041bf, 8,580 records, columns
``CPP,Indicator,Type,Year,value``, UTF-8 with a byte-order mark) and the May 2018 release
(commit 7f46429, 7,029 records, the same columns plus ``FG``, the family group the profile
compares the CPP with for that indicator — not carried). Each has one row per CPP (32 councils
and "Scotland", named as the CPOP names them: "Argyll and Bute", "Edinburgh, City of", "Eilean
Siar", "Perth and Kinross") × indicator × year. Rows are numbered by line, header = line 1.

Only observations are carried: ``Type`` is "Raw data", "Imputed" or "Projected", and the filter
``Type == "Raw data"`` excludes the profile's modelled values — 1,848 imputed and 1,749 projected
records of 2017 (3,597 of 8,580; 4,983 kept), 891 imputed and 792 projected of 2018 (1,683 of
7,029; 5,346 kept). Any other ``Type`` raises :class:`~analysis.errors.ParseError`. The 2017
"Total Crime Rate" has no "Raw data" record (363 imputed, 132 projected), so nothing of it is
carried.

``value`` is a plain number or ``NA`` (82 records of 2017 and 47 of 2018, all P1 healthy-BMI
observations), which is emitted as ``NaN``; anything else raises
:class:`~analysis.errors.NonNumericValueError`.

``Year`` formats (leading spaces, on 957 records of 2017, are stripped; every record is
checked, observed or not):

=====================  ==================  ====
Year                   period              year
=====================  ==================  ====
2004                   2004                2004
2004/05                2004/05             2004
2006-2010              2006-2010           2006
2004/05 - 2006/07      2004/05-2006/07     2004
2004/05-2006/07        2004/05-2006/07     2004
=====================  ==================  ====

Anything else (e.g. "2004/5x", or a financial year whose suffix is not the next year) raises
:class:`~analysis.errors.ParseError` naming the line.

Indicators map to the book's ids through ``data/reference/cpop_indicators.csv``, keyed by
(release, published name, ``periods``: ``single`` for a year or financial year, ``span`` for a
multi-year period). The two releases share an id only where the values show the same measure;
comparing them where both have "Raw data" for a CPP and year:

* identical or revised, same id: CO2 emissions (330 of 330 overlaps identical), business survival
  (231 of 231), fuel poverty (33 of 33), child poverty (165 of 165 identical, but labelled
  2009–2013 in 2017 and 2009/10–2013/14 in 2018), dwelling fires (229 of 231 equal to 1 part in
  a million, 2 revised), positive destinations (106 of 165: 2008/09–2010/11 identical,
  2011/12–2012/13 revised by up to 1 point), well-being (132 of 132: 2018 = the 2017 value
  rounded to a whole number, relabelled from 2012 to 2012/13), emergency admissions (231,
  revised: 2018 / 2017 between 0.987 and 1.037; 2017 labels calendar years), unplanned hospital
  attendances (231, median difference 0.05%, but see below);
* different measures, different ids: the 2018 healthy birthweight, P1 healthy BMI and
  employment rate are 3-year rolling means labelled by their last year (``_3yr`` ids); the
  2018 median earnings a 3-year mean; fragility, out-of-work benefits, early mortality and S4
  tariff differ without a rolling-mean explanation (see the notes column of the table).

The 2017 release also carries, under the one name "Emergency Admissions Rate", annual values
(periods 2004–2012) and their 3-year means (2004/05-2006/07 … 2010/11-2012/13, 231 of 231 equal
to the mean of three annual values); the means get their own id,
``cpop_emergency_admissions_3yr``.

In the 2017 release the 2015/16 and 2016/17 unplanned-hospital-attendance values of 14 councils
are assigned to the wrong council: each carries the value the 2018 release gives the next
council in the order Dumfries and Galloway, Dundee City, East Ayrshire, East Dunbartonshire, East
Lothian, East Renfrewshire, Falkirk, Fife, Glasgow City, Highland, Inverclyde, Midlothian, Moray,
Eilean Siar, Dumfries and Galloway — as if the values had been sorted with "Na h-Eileanan Siar"
and the names with "Eilean Siar". The 2017 series jump accordingly (Highland 18,113 in 2014/15,
36,801 in 2015/16); the 2018 series are continuous. The 2018 precedence of :func:`combine_cpop`
replaces all 28 values.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.data.sources import register_parser
from analysis.data.sources._common import (
    PARSED_COLUMNS,
    as_parsed,
    check_allowed,
    first_row,
    map_periods,
    read_csv_records,
    reference_table,
)
from analysis.errors import DuplicateRowError, NonNumericValueError, ParseError

RELPATH_2017 = "scotland/cpop_CPPcleandata_v2017-09_af041bf.csv"
RELPATH_2018 = "scotland/cpop_CPPcleandata_v2018-05_7f46429.csv"
COLUMNS = ["CPP", "Indicator", "Type", "Year", "value"]
OBSERVED, MODELLED = "Raw data", {"Imputed", "Projected"}
BLANK = "NA"
_FY_SPAN = re.compile(r"^(\d{4}/\d{2})\s*-\s*(\d{4}/\d{2})$")
_PLAIN = re.compile(r"^\d{4}(?:/\d{2}|-\d{4})?$")
FIRST_YEAR, LAST_YEAR = 2004, 2020


def _read(path: Path) -> pd.DataFrame:
    """The CSV as strings with whitespace stripped, plus ``source_row`` (line number)."""
    records = read_csv_records(path)
    if not records:
        raise ParseError("empty file", file=path)
    header = [cell.strip() for cell in records[0][1]]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise ParseError(f"missing column {missing[0]!r}", file=path, row=records[0][0], column=missing[0])
    for line, row in records[1:]:
        if len(row) != len(header):
            raise ParseError(f"{len(row)} cells where the header has {len(header)}", file=path, row=line)
    table = pd.DataFrame([row for _, row in records[1:]], columns=header, dtype="object")
    table = table[COLUMNS].apply(lambda s: s.str.strip())
    return table.assign(source_row=[line for line, _ in records[1:]])


def _period(text: str) -> str | None:
    """Normalised period label of one ``Year`` cell (spaces around a span's dash dropped)."""
    span = _FY_SPAN.match(text)
    return f"{span.group(1)}-{span.group(2)}" if span else text if _PLAIN.match(text) else None


def _values(table: pd.DataFrame, source: str) -> pd.Series:
    blank = table["value"] == BLANK
    value = pd.to_numeric(table["value"].where(~blank), errors="coerce")
    bad = ~blank & ~np.isfinite(value)
    if bad.any():
        raise NonNumericValueError(f"non-numeric value {table.loc[bad, 'value'].iloc[0]!r}", file=source,
                                   row=first_row(table, bad), column="value")
    return value.astype("float64")


def cpop_frame(table: pd.DataFrame, source: str, version: str) -> pd.DataFrame:
    """Parsed long shape of one release, from its cells (as strings) and line numbers."""
    check_allowed(table, "Type", {OBSERVED, *MODELLED}, source)
    periods = map_periods(table, table["Year"], _period, source=source, column="Year", low=FIRST_YEAR,
                          high=LAST_YEAR)
    table = table.join(periods[["period", "year"]]).assign(value=_values(table, source))
    table = table[table["Type"] == OBSERVED]

    ref = reference_table("cpop_indicators.csv").query("version == @version")
    ref = ref.set_index(ref["published_name"] + "|" + ref["periods"])
    lookup = table["Indicator"] + "|" + np.where(table["period"].str.contains("-"), "span", "single")
    unknown = ~lookup.isin(ref.index)
    if unknown.any():
        raise ParseError(f"indicator|periods {lookup[unknown].iloc[0]!r} of release {version} is not in "
                         "cpop_indicators.csv", file=source, row=first_row(table, unknown),
                         column="Indicator")
    dup = table.duplicated(["CPP", "Indicator", "period"])
    if dup.any():
        raise DuplicateRowError("second observation of the same CPP, indicator and year", file=source,
                                row=first_row(table, dup), column="Year")
    out = table.assign(
        area_name=table["CPP"],
        area_code=None,
        area_level=np.where(table["CPP"] == "Scotland", "scotland", "council"),
        indicator=lookup.map(ref["indicator_id"]),
        unit=lookup.map(ref["unit"]),
        breakdown="all",
        source=source,
        source_column="value",
    )
    return as_parsed(out)


@register_parser(RELPATH_2017)
def parse_cpop_2017(path: Path) -> pd.DataFrame:
    """Parse the September 2017 CPOP release (see the module docstring)."""
    return cpop_frame(_read(path), Path(path).name, "2017-09")


@register_parser(RELPATH_2018)
def parse_cpop_2018(path: Path) -> pd.DataFrame:
    """Parse the May 2018 CPOP release (see the module docstring)."""
    return cpop_frame(_read(path), Path(path).name, "2018-05")


def _match_key(frame: pd.DataFrame) -> pd.Series:
    """Area, indicator, breakdown and period, a single year ``2009`` written as ``2009/10``.

    The 2017 release labels some series by calendar year where the 2018 release labels the same
    values by financial year (child poverty, well-being, emergency admissions), so ``2009`` and
    ``2009/10`` of one indicator are the same observation.
    """
    single = frame["period"].str.fullmatch(r"\d{4}")
    as_fy = frame["year"].map(lambda y: f"{y}/{(y + 1) % 100:02d}")
    period = frame["period"].where(~single, as_fy)
    return frame["area_name"] + "|" + frame["indicator"] + "|" + frame["breakdown"] + "|" + period


def combine_cpop(v2017: pd.DataFrame, v2018: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The union of the two releases, the 2018 one taking precedence; and the 2017 rows it replaces.

    A 2017 row is superseded when the 2018 release has a row of the same area, indicator,
    breakdown and period (a calendar year matching the financial year that starts in it, see
    :func:`_match_key`). Returns ``(combined, superseded)``: ``combined`` has
    :data:`~._common.PARSED_COLUMNS`; ``superseded`` holds the replaced 2017 rows with the
    replacing ``period_2018``, ``value_2018`` and ``source_row_2018``. A key repeated within one
    release raises :class:`~analysis.errors.DuplicateRowError`.
    """
    keys = []
    for frame in (v2017, v2018):
        key = _match_key(frame)
        dup = key.duplicated()
        if dup.any():
            i = key.index[dup][0]
            raise DuplicateRowError(f"two rows for {key[i]!r}", file=frame.at[i, "source"],
                                    row=int(frame.at[i, "source_row"]), column="Year")
        keys.append(key)
    key2017, key2018 = keys
    replaced = key2017.isin(key2018)
    by_key = v2018.set_index(key2018.to_numpy())
    superseded = v2017[replaced].assign(
        period_2018=key2017[replaced].map(by_key["period"]),
        value_2018=key2017[replaced].map(by_key["value"]),
        source_row_2018=key2017[replaced].map(by_key["source_row"]),
    )
    combined = pd.concat([v2017[~replaced], v2018], ignore_index=True)[PARSED_COLUMNS]
    return combined, superseded.reset_index(drop=True)
