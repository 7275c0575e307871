"""Parser of the ScotPHO inequalities data (``scotpho_deprivation_data_v2023-02_a383822.rds``).

The file is the data frame behind the inequalities module of the ScotPHO profiles tool (Public
Health Scotland): 181,309 records × 33 columns, one record per area × indicator × period ×
deprivation quintile (``quintile`` "1 - most deprived", "2", "3", "4", "5 - least deprived" and
"Total"). Record numbers (``source_row``) are 1-based positions in the R data frame.

Area types and quintile types, and what is carried:

=============  ==========  =======  ==========================================================
areatype       quint_type  records  carried?
=============  ==========  =======  ==========================================================
Council area   ca_quin      67,776  yes: quintiles *within* the council, its total, SII and RII
Scotland       sc_quin       2,184  yes: Scotland's quintiles, total, SII and RII
Council area   sc_quin      57,517  no, except 352 "Total" records (see below): these split a
                                    council by *Scotland-wide* quintiles, so a council may have
                                    no records in a quintile (Scotland quintile 1 is absent in
                                    958 of 9,888 council groups) and its SII/RII measure a
                                    different gradient
Health board   hb_quin      29,652  no: health boards are not a unit of the book
Health board   sc_quin      24,180  no
=============  ==========  =======  ==========================================================

The council's own value (breakdown ``all``) is the ``measure`` of its "Total" record. It is the
same whichever quintile type a record belongs to: where both exist (9,536 council ×
indicator × period groups) the ca_quin and sc_quin "Total" measures are identical, which the
parser checks. One indicator, *Patients per general practitioner*, has no ca_quin records at
all; its 352 council totals (32 councils × 11 periods) are taken from the sc_quin "Total"
records, and it has no within-council quintiles or SII/RII.

Breakdowns: ``quintile 1 (most deprived)``, ``quintile 2``, ``quintile 3``, ``quintile 4``,
``quintile 5 (least deprived)`` and ``all`` (column ``measure``); ``sii``, ``sii_lowci``,
``sii_upci``, ``rii``, ``rii_lowci``, ``rii_upci`` (columns ``sii``, ``lowci_sii``, ``upci_sii``,
``rii``, ``lowci_rii``, ``upci_rii``), emitted once per area × indicator × period from the
"Total" record. The slope index (SII) is in the indicator's unit; the relative index (RII) is
the SII divided by the area's overall value (access deprivation, Scotland 2002: SII −17.7,
total 15.0, RII −1.2) and has unit ``ratio (SII / area total)``. The parser checks that every
non-blank SII/RII cell of an area × indicator × period equals the one on its "Total" record
(:class:`~analysis.errors.ParseError` naming the first record that differs). For five older
indicators (ind_id 4–8: deaths under 75, dying in hospital, mortality amenable to health care,
preventable and repeat emergency hospitalisation) the SII/RII are published on the "Total"
record only, the quintile records being blank (1,760 council groups, and 66 Scotland groups,
which include patients per GP); RII is blank on the "Total" record too in 2 council groups
(access deprivation 2007, Dundee City and Glasgow City, whose total is 0 so that SII / total is
undefined), which are emitted as ``NaN``. Confidence intervals of quintile values, ``par``,
``abs_range``, ``rel_range`` and the ``rii_int`` columns are not carried.

Suppression: column ``supression`` is "Y" on all 35,170 records of eight indicators (drug-related
deaths, psychiatric hospitalisations, anxiety/depression/psychosis prescribing and the five older
indicators), meaning that small counts are withheld (``supress_less_than`` 5 or 10). What is
withheld is the *numerator* — blank on 4,559 records of drug-related deaths and psychiatric
hospitalisations (1,707 of them carried council records) — while ``measure``, ``lowci`` and
``upci`` are published on every record of the file: there is no blank ``measure``. The parser
carries ``measure`` as published and never the numerator, so no suppressed count becomes a number;
a blank ``measure`` would be emitted as ``NaN``.

Periods come from ``def_period``; each format maps to a normalised label and first year:

=====================================================  ==================  ====
def_period                                             period              year
=====================================================  ==================  ====
2002 calendar year                                     2002                2002
2002/03 financial year                                 2002/03             2002
2002 to 2004 calendar years; 3-year aggregates         2002-2004           2002
2002/03 to 2004/05 financial years; 3-year aggregates  2002/03-2004/05     2002
2014/15 to 2016/17 school years; 3-year aggregates     2014/15-2016/17     2014
2002/04-2004/05 financial years; 3-year aggregates     2002/03-2004/05     2002
=====================================================  ==================  ====

The last line is a misprint used by two indicators (dying in hospital and patients per GP, 11
periods each, 3,102 + 2,987 = 6,089 records): the first financial year is written with the start
year of the *last* year ("2002/04" for 2002/03); it is read as the 3-year window it states. The
parser checks every period against the file's own ``year`` column, which holds the middle year of
the window (the year itself for single years). ``trend_axis`` is not used: it repeats the period
but misprints 2009/10-2011/12 as "2009/10-2011/10" for four indicators (1,128 records).

Codes are 2019 GSS codes: S12xxxxxx for the 32 councils (Fife S12000047, Perth & Kinross
S12000048, Glasgow City S12000049, North Lanarkshire S12000050), S00000001 for Scotland; a code
of another form raises :class:`~analysis.errors.ParseError`. Names as published, e.g.
"Argyll & Bute", "City of Edinburgh", "Na h-Eileanan Siar", "Perth & Kinross".

Indicators map to the book's ids through ``data/reference/scotpho_indicators.csv``; the
parser checks the file's ``ind_id``, ``type_definition`` and ``interpret`` against it.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.data.sources import register_parser
from analysis.data.sources._common import (
    as_parsed,
    check_allowed,
    first_row,
    map_periods,
    period_bounds,
    read_rds,
    reference_table,
)
from analysis.data.sources._common import slug as slug  # re-exported: tests call scotpho.slug
from analysis.errors import DuplicateRowError, ParseError

RELPATH = "scotland/scotpho_deprivation_data_v2023-02_a383822.rds"

QUINTILES = {
    "1 - most deprived": "quintile 1 (most deprived)",
    "2": "quintile 2",
    "3": "quintile 3",
    "4": "quintile 4",
    "5 - least deprived": "quintile 5 (least deprived)",
    "Total": "all",
}
#: column -> breakdown of the area-level inequality measures.
INEQUALITY = {
    "sii": "sii",
    "lowci_sii": "sii_lowci",
    "upci_sii": "sii_upci",
    "rii": "rii",
    "lowci_rii": "rii_lowci",
    "upci_rii": "rii_upci",
}
RII_UNIT = "ratio (SII / area total)"
#: "areatype / quint_type" pairs the file may hold, and the area level each one is carried as.
SELECTIONS = {
    "Council area / ca_quin": "council",
    "Scotland / sc_quin": "scotland",
    "Council area / sc_quin": None,  # only totals missing from ca_quin (patients per GP)
    "Health board / hb_quin": None,
    "Health board / sc_quin": None,
}
CODE_PATTERNS = {"Council area": r"S12\d{6}", "Scotland": r"S00000001", "Health board": r"S08\d{6}"}
TEXT_COLUMNS = ["code", "areaname", "areatype", "quint_type", "quintile", "indicator", "type_definition",
                "interpret", "def_period"]
REQUIRED = [*TEXT_COLUMNS, "ind_id", "year", "measure", *INEQUALITY]
GROUP = ["code", "indicator", "def_period"]
_YEAR, _FY, _AGGREGATES = r"\d{4}", r"\d{4}/\d{2}", r"(?P<n>\d)-year aggregates"
_DEF_PERIOD = [
    (re.compile(rf"^(?P<a>{_YEAR}) calendar year$"), "{a}"),
    (re.compile(rf"^(?P<a>{_FY}) financial year$"), "{a}"),
    (re.compile(rf"^(?P<a>{_YEAR}) to (?P<b>{_YEAR}) calendar years; {_AGGREGATES}$"), "{a}-{b}"),
    (re.compile(rf"^(?P<a>{_FY}) to (?P<b>{_FY}) (?:financial|school) years; {_AGGREGATES}$"), "{a}-{b}"),
]
#: "2002/04-2004/05 financial years; 3-year aggregates": the first year misprinted (see above)
_MISPRINTED = re.compile(rf"^(?P<a>{_YEAR})/(?P<m>\d{{2}})-(?P<b>{_FY}) financial years; {_AGGREGATES}$")
FIRST_YEAR, LAST_YEAR = 2002, 2020


def _def_period_label(text: str) -> str | None:
    """Normalised label of one ``def_period`` text; ``None`` if unrecognised or inconsistent."""
    for pattern, template in _DEF_PERIOD:
        match = pattern.match(text)
        if match:
            label, years = template.format(**match.groupdict()), match.groupdict().get("n")
            break
    else:
        match = _MISPRINTED.match(text)
        if match is None or int(match["m"]) != int(match["b"][:4]) % 100:
            return None
        first = int(match["a"])
        label, years = f"{first}/{(first + 1) % 100:02d}-{match['b']}", match["n"]
    bounds = period_bounds(label)
    if bounds is None or (years is not None and bounds[1] - bounds[0] + 1 != int(years)):
        return None
    return label


def _periods(raw: pd.DataFrame, source: str) -> pd.DataFrame:
    """``period`` and ``year`` of each record, checked against the file's middle ``year``."""
    periods = map_periods(raw, raw["def_period"], _def_period_label, source=source, column="def_period",
                          low=FIRST_YEAR, high=LAST_YEAR)
    bad = raw["year"] != (periods["year"] + periods["last_year"]) // 2
    if bad.any():
        i = raw.index[bad][0]
        raise ParseError(f"year {raw.at[i, 'year']:g} is not the middle of {raw.at[i, 'def_period']!r}",
                         file=source, row=first_row(raw, bad), column="year")
    return periods[["period", "year"]]


def _check_layout(raw: pd.DataFrame, source: str) -> None:
    """Categories, codes and uniqueness of the records."""
    for column in TEXT_COLUMNS:
        blank = raw[column].isna()
        if blank.any():
            raise ParseError(f"blank {column}", file=source, row=first_row(raw, blank), column=column)
    check_allowed(raw, "areatype", {s.split(" / ")[0] for s in SELECTIONS}, source)
    check_allowed(raw, "quint_type", {s.split(" / ")[1] for s in SELECTIONS}, source)
    check_allowed(raw, "quintile", QUINTILES, source)
    check_allowed(raw.assign(**{"areatype / quint_type": raw["areatype"] + " / " + raw["quint_type"]}),
                  "areatype / quint_type", SELECTIONS, source)
    pairs = zip(raw["areatype"], raw["code"], strict=True)
    bad = ~np.array([re.fullmatch(CODE_PATTERNS[a], c) is not None for a, c in pairs], dtype=bool)
    if bad.any():
        i = raw.index[bad][0]
        raise ParseError(f"code {raw.at[i, 'code']!r} does not fit areatype {raw.at[i, 'areatype']!r}",
                         file=source, row=first_row(raw, bad), column="code")
    names = raw.drop_duplicates(["code", "areaname"])
    clash = names["code"].duplicated()
    if clash.any():
        raise ParseError(f"code {names.loc[clash, 'code'].iloc[0]} carries a second areaname", file=source,
                         row=first_row(names, clash), column="areaname")
    dup = raw.duplicated([*GROUP, "quint_type", "quintile"])
    if dup.any():
        raise DuplicateRowError("second record for the same area, indicator, period and quintile",
                                file=source, row=first_row(raw, dup), column="quintile")


def _indicators(raw: pd.DataFrame, source: str) -> pd.DataFrame:
    """Indicator id and unit of each record, after checking the file against the reference table."""
    ref = reference_table("scotpho_indicators.csv").set_index("published_name")
    unknown = ~raw["indicator"].isin(ref.index)
    if unknown.any():
        name = raw.loc[unknown, "indicator"].iloc[0]
        raise ParseError(f"indicator {name!r} is not in scotpho_indicators.csv", file=source,
                         row=first_row(raw, unknown), column="indicator")
    published = {"ind_id": raw["ind_id"].map(lambda x: f"{x:g}"), "type_definition": raw["type_definition"],
                 "interpret": raw["interpret"]}
    for column, values in published.items():
        bad = values != raw["indicator"].map(ref[column])
        if bad.any():
            i = raw.index[bad][0]
            raise ParseError(f"{column} {values[i]!r} of {raw.at[i, 'indicator']!r} differs from "
                             "scotpho_indicators.csv", file=source, row=first_row(raw, bad), column=column)
    return pd.DataFrame({"indicator_id": raw["indicator"].map(ref["indicator_id"]),
                         "unit": raw["indicator"].map(ref["unit"])}, index=raw.index)


def _carried(raw: pd.DataFrame, area_level: str, source: str) -> pd.DataFrame:
    """Carried records with their area level, period, first year, indicator id and unit."""
    return (raw.drop(columns="year").join(_periods(raw, source)).join(_indicators(raw, source))
            .assign(area_level=area_level))


def _check_inequality_constant(carried: pd.DataFrame, totals: pd.DataFrame, source: str) -> None:
    """Every non-blank SII/RII cell must equal the one on its group's "Total" record."""
    joined = carried[[*GROUP, *INEQUALITY, "source_row"]].merge(
        totals[[*GROUP, *INEQUALITY, "source_row"]], on=GROUP, how="left", suffixes=("", "_total"),
        validate="many_to_one")
    for column in INEQUALITY:
        cell, total = joined[column], joined[f"{column}_total"]
        bad = cell.notna() & (cell != total)
        if bad.any():
            i = joined.index[bad][0]
            raise ParseError(f"{column} {cell[i]:g} differs from {total[i]:g} on the Total record (row "
                             f"{joined.at[i, 'source_row_total']:g}) of the same area, indicator and period",
                             file=source, row=int(joined.at[i, "source_row"]), column=column)


def _totals_without_quintiles(raw: pd.DataFrame, totals: pd.DataFrame, source: str) -> pd.DataFrame:
    """Council "Total" records of quint_type sc_quin whose group has no ca_quin records.

    Where both exist the two "Total" measures must be equal (they are, in 9,536 groups).
    """
    scot_quin = raw[(raw["areatype"] == "Council area") & (raw["quint_type"] == "sc_quin")
                    & (raw["quintile"] == "Total")]
    both = scot_quin.merge(totals[[*GROUP, "measure"]], on=GROUP, how="left", suffixes=("", "_ca"),
                           indicator=True, validate="one_to_one")
    same = (both["measure"] == both["measure_ca"]) | (both["measure"].isna() & both["measure_ca"].isna())
    differ = (both["_merge"] == "both") & ~same
    if differ.any():
        raise ParseError("council Total measure differs between quint_type sc_quin and ca_quin",
                         file=source, row=first_row(both, differ), column="measure")
    return scot_quin[(both["_merge"] == "left_only").to_numpy()]


def scotpho_frame(raw: pd.DataFrame, source: str = Path(RELPATH).name) -> pd.DataFrame:
    """Turn the ScotPHO data frame (as read from the rds) into the parsed long shape."""
    missing = [c for c in REQUIRED if c not in raw.columns]
    if missing:
        raise ParseError(f"missing column {missing[0]!r}", file=source, column=missing[0])
    raw = raw.reset_index(drop=True)
    raw = raw.assign(**{c: raw[c].astype("object") for c in TEXT_COLUMNS},
                     source_row=np.arange(1, len(raw) + 1))
    _check_layout(raw, source)
    raw["areaname"] = raw["areaname"].str.strip()

    level = (raw["areatype"] + " / " + raw["quint_type"]).map(SELECTIONS)
    carried = pd.concat([_carried(raw[level == lvl], lvl, source) for lvl in ("council", "scotland")])
    totals = carried[carried["quintile"] == "Total"]
    _check_inequality_constant(carried, totals, source)
    extra = _carried(_totals_without_quintiles(raw, totals, source), "council", source)

    values = pd.concat([carried, extra]).assign(breakdown=lambda d: d["quintile"].map(QUINTILES),
                                                value=lambda d: d["measure"], source_column="measure")
    inequality = totals.melt(id_vars=[c for c in totals.columns if c not in INEQUALITY],
                             value_vars=list(INEQUALITY), var_name="source_column", value_name="value")
    inequality["breakdown"] = inequality["source_column"].map(INEQUALITY)
    inequality.loc[inequality["breakdown"].str.startswith("rii"), "unit"] = RII_UNIT
    out = pd.concat([values, inequality]).sort_values(["source_row", "source_column"], kind="stable")
    return as_parsed(out.assign(area_name=out["areaname"], area_code=out["code"],
                                indicator=out["indicator_id"], source=source))


@register_parser(RELPATH)
def parse_scotpho_deprivation(path: Path) -> pd.DataFrame:
    """Parse the ScotPHO inequalities rds (see the module docstring)."""
    return scotpho_frame(read_rds(path), Path(path).name)
