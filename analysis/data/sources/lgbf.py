"""Parser of the Local Government Benchmarking Framework data (``lgbf_data-Jan22.rds``).

The file (Improvement Service, ``LGBF_Analysis/data/data-Jan22.rds``) is one long data frame of
68,442 records × 27 columns: ``Local Authority``, ``Value``, ``Year``, ``Indicator2`` (the
indicator code), ``Title``, ``Category``, ``Domain``, ``One is high``, ``Key indicator``, the
two family-group columns and six council classifiers. Record numbers (``source_row``) are
1-based positions in the R data frame.

Areas: the 32 councils as the LGBF names them ("Edinburgh City", "Eilean Siar", "Argyll &
Bute", "Perth & Kinross") and a "Scotland" row for every indicator and year, carried with
area level ``scotland``; the rest are ``council``. No codes.

Indicators: ``Indicator2`` holds 210 series. The 139 with a ``Title`` are the published
indicators: 129 key indicators (106 such as CHN1 "Cost per Primary School Pupil" and 23
"-Real" inflation-adjusted twins, at 2020-21 prices) and 10 published denominators such as
"MYE Population", flagged ``Key indicator`` "No". They are carried as ``lgbf_`` + the code in
snake case (``C&L1`` → ``lgbf_c_l1``, ``CORP 3b`` → ``lgbf_corp_3b``, ``MYE Population`` →
``lgbf_mye_population``). The other 71 series, 23,529 records, have no title, category or
domain: they are the numerators and denominators behind the indicators (gross expenditure in
£000s, pupil counts, rent due, …) and are excluded by the filter ``Title`` not blank.
``data/reference/lgbf_indicators.csv`` gives each carried code its title, category, domain and
unit; the parser checks the file's title, category, domain, ``One is high`` and ``Key
indicator`` against it. Values stay as published (``NaN`` where blank: 2,185 records, 1,526 of
them carried). The 44,913 titled records give 42,405 rows once the copies below are resolved.

Periods: ``Year`` "2010-11" is the financial year → period ``2010/11``, year 2010; a longer span
"2010-14" (survey indicators pooled over several years, road condition over 2 or 4 years) →
period ``2010-2014``, year 2010. Years run 2010/11–2020/21; spans start from 2007 (ENV4e
"2007-11"). Other forms raise :class:`~analysis.errors.ParseError`.

The ``...NNNN`` artefact: 4,158 records have ``Year`` values such as "2012-13...1096" — the
column-position suffix R's name repair appends to duplicated column names of the spreadsheet
the frame was built from. They are *all* the records of four denominator series, each copied
into several column blocks of that sheet: "MYE Population" (2,310 records), "Number of Premises
for Refuse Collection" (924), "Rent due in year" (528) and "Properties within scope of SHQS
year end" (396 of its 462). The last two are untitled and excluded anyway. For the two carried
series the suffix is stripped and the copies of each area × indicator × period are resolved
by :func:`_resolve_copies`:

* Premises for refuse collection: 924 records, 2 or 4 copies of each of 363 area-years, all
  identical → 363 kept, 561 identical copies removed.
* MYE Population: 2,310 records, 4–7 copies of each of 363 area-years. In 273 area-years all
  copies agree; in 90 one copy differs: the block ``...1421`` of 2010-11 for all 33 areas
  (e.g. Aberdeen City 220,420 against 217,120 in the three other copies — apparently a later
  year's estimate), block ``...1868`` of 2013-14 for 28 areas and ``...1871`` of 2014-15 for 29
  (revisions of up to a few hundred people). The value held by a strict majority of the copies
  is kept → 363 kept, 1,857 identical copies and 90 differing minority copies removed.

A group without a strict majority, or two records of the same area, indicator and period
neither of which carries the suffix, raise an error. :func:`lgbf_suffix_copies` lists every
copy with its fate, so nothing leaves the data unrecorded.

Family groups (:func:`lgbf_family_groups`): each council's groups in ``Family group (People)``
and ``Family group (Other)`` (1–4; Scotland has 0 and is left out), checked to be constant
over all of its records.
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
    read_rds,
    reference_table,
    slug,
)
from analysis.errors import DuplicateRowError, ParseError

RELPATH = "scotland/lgbf_data-Jan22.rds"
AREA, VALUE, YEAR, CODE, TITLE = "Local Authority", "Value", "Year", "Indicator2", "Title"
FAMILY_GROUPS = {"Family group (People)": "family_group_people", "Family group (Other)": "family_group_other"}
#: file column -> reference column, and how the file's flags are written in the reference table
CHECKED = {"Title": "title", "Category": "category", "Domain": "domain", "One is high": "one_is_high",
           "Key indicator": "key_indicator"}
FLAGS = {"Yes": "yes", "No": "no"}
REQUIRED = [AREA, VALUE, YEAR, CODE, *CHECKED, *FAMILY_GROUPS]
_SUFFIX = re.compile(r"\.\.\.\d+$")
_YEAR = re.compile(r"^(\d{4})-(\d{2})$")
FIRST_YEAR, LAST_YEAR = 2007, 2020


def _with_rows(raw: pd.DataFrame, source: str) -> pd.DataFrame:
    missing = [c for c in REQUIRED if c not in raw.columns]
    if missing:
        raise ParseError(f"missing column {missing[0]!r}", file=source, column=missing[0])
    out = raw.reset_index(drop=True)
    return out.assign(source_row=np.arange(1, len(out) + 1), area_name=out[AREA].str.strip())


def _period(text: str) -> str | None:
    """``2010-11`` → ``2010/11``; ``2010-14`` → ``2010-2014``; ``None`` for anything else."""
    match = _YEAR.match(text)
    if match is None:
        return None
    start, end = int(match.group(1)), int(match.group(2))
    if end == (start + 1) % 100:
        return f"{start}/{end:02d}"
    end += start // 100 * 100
    return f"{start}-{end + 100 if end <= start else end}"


def _periods(df: pd.DataFrame, source: str) -> pd.DataFrame:
    """``period``, ``year`` and whether ``Year`` carried the ``...NNNN`` suffix."""
    stripped = df[YEAR].str.replace(_SUFFIX, "", regex=True)
    periods = map_periods(df, stripped, _period, source=source, column=YEAR, low=FIRST_YEAR, high=LAST_YEAR)
    return periods[["period", "year"]].assign(suffixed=df[YEAR] != stripped)


def _indicators(df: pd.DataFrame, source: str) -> pd.DataFrame:
    """indicator id and unit of each titled record, after checking it against the reference table."""
    ref = reference_table("lgbf_indicators.csv").set_index("code")
    check_allowed(df, CODE, ref.index, source)
    for column, ref_column in CHECKED.items():
        published = df[column].map(lambda v: FLAGS.get(v, v)).fillna("")
        bad = published != df[CODE].map(ref[ref_column])
        if bad.any():
            i = df.index[bad][0]
            raise ParseError(f"{column} {df.at[i, column]!r} of {df.at[i, CODE]!r} differs from "
                             "lgbf_indicators.csv", file=source, row=first_row(df, bad), column=column)
    ids = df[CODE].map(ref["indicator_id"])
    bad = ids != "lgbf_" + df[CODE].map(slug)
    if bad.any():
        raise ParseError(f"lgbf_indicators.csv gives {df.loc[bad, CODE].iloc[0]!r} an id other than "
                         "lgbf_ + its slug", file=source, row=first_row(df, bad), column=CODE)
    return pd.DataFrame({"indicator": ids, "unit": df[CODE].map(ref["unit"])}, index=df.index)


def _titled(raw: pd.DataFrame, source: str) -> pd.DataFrame:
    """The carried (titled) records with period, year, indicator id, unit and area level."""
    df = _with_rows(raw, source)
    df = df[df[TITLE].notna()]
    if not pd.api.types.is_float_dtype(df[VALUE]):
        raise ParseError(f"column holds {df[VALUE].dtype}, not numbers", file=source, column=VALUE)
    df = df.join(_periods(df, source)).join(_indicators(df, source))
    return df.assign(area_level=np.where(df["area_name"] == "Scotland", "scotland", "council"),
                     value=df[VALUE], source=source, source_column=VALUE, breakdown="all", area_code=None)


def _resolve_copies(df: pd.DataFrame, source: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Keep one record per area × indicator × period; return (kept records, every copy with its fate).

    Only records carrying the ``...NNNN`` suffix may repeat a key, and at most one record of a key
    may lack it; the value held by a strict majority of a key's records is kept, on the first
    record holding it.
    """
    key = ["area_name", "indicator", "period"]
    repeated = df[df.duplicated(key, keep=False)].copy()
    plain = repeated[~repeated["suffixed"]]
    if plain.duplicated(key).any():
        raise DuplicateRowError("two records for the same area, indicator and period",
                                file=source, row=first_row(plain, plain.duplicated(key)), column=YEAR)
    repeated["value_key"] = repeated["value"].map(repr)
    size = repeated.groupby(key)["value_key"].transform("size")
    votes = repeated.groupby(key + ["value_key"])["value_key"].transform("size")
    top = votes.groupby([repeated[k] for k in key]).transform("max")
    tied = 2 * top <= size
    if tied.any():
        rows = repeated.loc[tied, "source_row"].tolist()[:4]
        raise ParseError(f"copies of one area, indicator and period disagree with no majority (rows {rows})",
                         file=source, row=rows[0], column=VALUE)
    winner = repeated[votes == top].drop_duplicates(key)
    kept_value = repeated[key].merge(winner[key + ["value_key"]], on=key, how="left")["value_key"].to_numpy()
    repeated["status"] = np.select(
        [repeated["source_row"].isin(winner["source_row"]), repeated["value_key"] == kept_value],
        ["kept", "identical copy"], "differing copy")
    keep = ~df.index.isin(repeated.index) | df["source_row"].isin(winner["source_row"])
    report = repeated.assign(kept_value=repeated["value"].where(repeated["status"] != "differing copy")
                             .groupby([repeated[k] for k in key]).transform("first"))
    columns = ["area_name", CODE, "indicator", YEAR, "period", "value", "status", "kept_value", "source_row"]
    return df[keep], report[columns].reset_index(drop=True)


def lgbf_frame(raw: pd.DataFrame, source: str = Path(RELPATH).name) -> pd.DataFrame:
    """Turn the LGBF data frame (as read from the rds) into the parsed long shape."""
    kept, _ = _resolve_copies(_titled(raw, source), source)
    return as_parsed(kept)


@register_parser(RELPATH)
def parse_lgbf(path: Path) -> pd.DataFrame:
    """Parse the LGBF rds (see the module docstring)."""
    return lgbf_frame(read_rds(path), Path(path).name)


def lgbf_suffix_copies(path: Path) -> pd.DataFrame:
    """Every carried record whose area × indicator × period repeats, with its fate.

    ``status`` is ``kept``, ``identical copy`` or ``differing copy`` (a minority value, removed);
    ``kept_value`` is the value carried for that area, indicator and period.
    """
    source = Path(path).name
    return _resolve_copies(_titled(read_rds(path), source), source)[1]


def family_groups_frame(raw: pd.DataFrame, source: str = Path(RELPATH).name) -> pd.DataFrame:
    """One row per council: its LGBF family groups (People, Other), checked to be constant."""
    df = _with_rows(raw, source)
    df = df[df["area_name"] != "Scotland"]
    for column in FAMILY_GROUPS:
        first = df.groupby("area_name")[column].transform("first")
        bad = df[column] != first
        if bad.any():
            i = df.index[bad][0]
            raise ParseError(f"family group {df.at[i, column]:g} of {df.at[i, 'area_name']} differs from "
                             f"{first[i]:g} on its first record", file=source, row=first_row(df, bad),
                             column=column)
        check_allowed(df, column, [1, 2, 3, 4], source)
    out = df.drop_duplicates("area_name").rename(columns=FAMILY_GROUPS)
    out = out[["area_name", *FAMILY_GROUPS.values()]].astype({c: "int64" for c in FAMILY_GROUPS.values()})
    return out.sort_values("area_name", ignore_index=True)


def lgbf_family_groups(path: Path) -> pd.DataFrame:
    """The 32 councils' LGBF family groups: ``area_name``, ``family_group_people``, ``family_group_other``."""
    return family_groups_frame(read_rds(path), Path(path).name)
