"""The local authority districts of Great Britain: the areas of the council-level GB comparison.

The ONS Explore-local-statistics files (:mod:`analysis.data.sources.ons_els`) give one value per
lower-tier local authority district of Great Britain: England's 296 districts (unitary
authorities, non-metropolitan and metropolitan districts, London boroughs and the City), Wales's
22 principal areas and Scotland's 32 council areas, the Community Planning Partnerships. This
module is their area table and their resolver, built from the ONS local-authority lookup
(``gb/drkane_la_all_codes.csv``, parsed by :mod:`analysis.data.sources.la_codes`).

:func:`table` gives one row per current district of Great Britain (:data:`COLUMNS`): its code,
name, panel area type, country, region (England's nine regions; Wales and Scotland are their own
region, as in ``data/reference/regions.csv``), that region's ITL1 code, and the retired codes the
lookup says it succeeded. It checks the counts (:data:`COUNTS`), that every English district's
region is one of the regions table, and that the 32 Scottish districts are the 32 councils of the
partnership register under the register's names. Their area type is the register's ``council``;
the English and Welsh districts have area type :data:`AREA_TYPE` (``lad``).

:func:`resolve_frame` gives each parsed row (``area_level`` ``lad``) its district's current code,
name and area type, **by code**, and checks the published name against it:

* a current code of a district of Great Britain resolves to itself;
* a Scottish council's former code (S12000015 Fife, S12000024 Perth and Kinross, S12000044 North
  Lanarkshire, S12000046 Glasgow City) resolves through the register, as in every other source, and
  the lookup must name the same successor;
* a retired English or Welsh code resolves only if it is one of the codes the source itself flags as
  obsolete (:data:`analysis.data.sources.ons_els.OBSOLETE_CODES`: Barnsley E08000016 → E08000038,
  Sheffield E08000019 → E08000039, one-for-one recodes of 2025) and the lookup agrees. Every other
  retired code (most are districts merged into a new unitary authority, whose value cannot simply
  be carried over) raises :class:`~analysis.errors.UnknownAreaError`, as do unknown codes and the
  districts of Northern Ireland;
* the published name must be the lookup's name of the published code (the register's name or one
  of its variants for a Scottish council), else :class:`~analysis.errors.UnknownAreaError`.

:func:`resolve_nations` does the same for the claimant count's national rows (``area_level``
``nation``): England, Wales, England and Wales and Great Britain, by their GSS codes
(:data:`NATIONS`); each code must be the one the lookup gives every district it covers (its
``CTRYCD``, ``EWCD`` or ``GBCD``). Their area type is :data:`NATION_TYPE` and their country their own name. Scotland's
national row is resolved through the register, as Scotland is everywhere else. Another code raises
:class:`~analysis.errors.UnknownAreaError`, and so does a name that is not the code's.

Errors name the raw file, its row and the raw column (``areacd``/``AREACD``, ``areanm``/``AREANM``).
"""

from __future__ import annotations

import functools

import pandas as pd

from analysis.data import regions, register
from analysis.data.sources import la_codes
from analysis.data.sources.ons_els import AREA_COLUMNS, AREA_LEVEL, NATION_LEVEL, OBSOLETE_CODES
from analysis.errors import DataError, SchemaError, UnknownAreaError

#: Area type of the English and Welsh districts in the panel (Scotland's are ``council``).
AREA_TYPE = "lad"
GB_COUNTRIES = ("England", "Wales", "Scotland")
#: Districts of Great Britain by country (the lookup's current codes).
COUNTS = {"England": 296, "Wales": 22, "Scotland": 32}
N_DISTRICTS = sum(COUNTS.values())
COLUMNS = ["code", "name", "area_type", "country", "region_code", "region_name", "itl1_code", "former_codes"]
LOOKUP_FILE = la_codes.RELPATH.split("/")[-1]
#: The nations of Great Britain other than Scotland, by GSS code, with the countries each covers
#: (ONS's codes: E92 and W92 are countries, K04 England and Wales, K03 Great Britain).
NATIONS = {"E92000001": ("England", ("England",)), "W92000004": ("Wales", ("Wales",)),
           "K04000001": ("England and Wales", ("England", "Wales")),
           "K03000001": ("Great Britain", GB_COUNTRIES)}
#: Area type of a nation's row in the panel (Scotland's is the register's ``scotland``).
NATION_TYPE = "nation"


@functools.cache
def _table() -> pd.DataFrame:
    la = regions.lookup()
    gb = la[la["current"] & la["country"].isin(GB_COUNTRIES)].copy()
    counts = gb.groupby("country").size().to_dict()
    if counts != COUNTS:
        raise DataError(f"expected {COUNTS} current districts, found {counts}", file=LOOKUP_FILE, column="Current")
    reg = regions.table()
    by_region = reg.set_index("region_code")
    english = gb["country"] == "England"
    gb["region_code"] = gb["region_code"].where(english, gb["country_code"])
    unknown = ~gb["region_code"].isin(by_region.index)
    if unknown.any():
        bad = gb[unknown].iloc[0]
        raise DataError(f"region {bad['region_code']} of {bad['code']} is not in {regions.REFERENCE_FILE}",
                        file=LOOKUP_FILE, row=int(bad["source_row"]), column="RGNCD")
    gb["region_name"] = gb["region_code"].map(by_region["region_name"])
    gb["itl1_code"] = gb["region_code"].map(by_region["itl1_code"])
    retired = la[~la["current"]]
    former = retired.groupby("active_code")["code"].agg(lambda s: register.SEP.join(sorted(s)))
    gb["former_codes"] = gb["code"].map(former).fillna("")
    gb["area_type"] = AREA_TYPE
    scottish = gb["country"] == "Scotland"
    gb.loc[scottish, "area_type"] = register.COUNCIL
    councils = set(register.council_codes())
    if set(gb.loc[scottish, "code"]) != councils:
        extra = sorted(set(gb.loc[scottish, "code"]) ^ councils)
        raise DataError(f"the lookup's Scottish districts differ from the partnership register: {extra}",
                        file=LOOKUP_FILE, column="LADCD")
    for code, name, row in gb.loc[scottish, ["code", "name", "source_row"]].itertuples(index=False):
        if register.name_of(code) != name:
            raise DataError(f"{code} is {name!r} in the lookup but {register.name_of(code)!r} in the register",
                            file=LOOKUP_FILE, row=int(row), column="LADNM")
    return gb[COLUMNS].sort_values(["country", "code"], ignore_index=True)


def table() -> pd.DataFrame:
    """The current districts of Great Britain, one row each (module docstring)."""
    return _table().copy()


@functools.cache
def _successors() -> dict[str, str]:
    """Every code that resolves: current district codes, the Scottish councils' former codes and
    the obsolete codes the source flags, each mapped to its current code."""
    la = regions.lookup().set_index("code")
    current = set(_table()["code"])
    out = {code: code for code in current}
    for code in register.load_register()["former_codes"].map(register.split_list).explode().dropna():
        out[code] = register.resolve_code(code, file=register.REGISTER_FILE)[0]
    for old, new in OBSOLETE_CODES.items():
        out[old] = new
    for old, new in out.items():
        if old not in la.index or la.at[old, "active_code"] != new or new not in current:
            raise DataError(f"{old} resolves to {new}, but the lookup gives "
                            f"{la.at[old, 'active_code'] if old in la.index else 'no such code'}",
                            file=LOOKUP_FILE, column="LADCD_ACTIVE")
    return out


def resolve_code(code: str, *, file: str | None = None, row: int | None = None, column: str | None = None) -> str:
    """The current code of a district of Great Britain, from a current or accepted retired code."""
    hit = _successors().get(code)
    if hit is not None:
        return hit
    la = regions.lookup().set_index("code")
    if code not in la.index:
        why = f"unknown district code {code!r} (not in {LOOKUP_FILE})"
    elif la.at[code, "country"] not in GB_COUNTRIES:
        why = f"{code} ({la.at[code, 'name']}) is a district of {la.at[code, 'country']}, not of Great Britain"
    else:
        why = (f"retired code {code} ({la.at[code, 'name']}, succeeded by {la.at[code, 'active_code']} "
               f"{la.at[code, 'active_name']}) is not accepted: only the recodes the source flags "
               f"({', '.join(f'{o}→{n}' for o, n in OBSOLETE_CODES.items())}) and the councils' former codes are")
    raise UnknownAreaError(why, file=file, row=row, column=column)


def _name_matches(published: str, code: str, current: str) -> bool:
    if code[0] == "S":
        try:
            return register.resolve_name(published, file=None)[0] == current
        except UnknownAreaError:
            return False
    names = regions.lookup().set_index("code")["name"]
    return published == names.get(code)


def resolve_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Give each parsed district row its current code, official name and area type (module docstring).

    ``df`` is a parser's frame whose rows all have ``area_level`` ``lad``; codes and names are
    resolved once per distinct pair.
    """
    if df.empty:
        return df.assign(area_type=pd.Series(dtype="object"))
    wrong = df["area_level"].ne(AREA_LEVEL)
    if wrong.any():
        bad = df[wrong].iloc[0]
        raise SchemaError(f"area_level {bad['area_level']!r} is not {AREA_LEVEL!r}", file=bad["source"],
                          row=int(bad["source_row"]), column="area_level")
    pairs = df.drop_duplicates(["area_code", "area_name"])
    current = {}
    for code, name, source, row in pairs[["area_code", "area_name", "source", "source_row"]].itertuples(index=False):
        code_col, name_col = AREA_COLUMNS.get(source, ("area_code", "area_name"))
        hit = resolve_code(code, file=source, row=int(row), column=code_col)
        if not _name_matches(name, code, hit):
            raise UnknownAreaError(f"name {name!r} is not the name of {code} ({_official(hit)})", file=source,
                                   row=int(row), column=name_col)
        current[code] = hit
    districts = _table().set_index("code")
    out = df.copy()
    out["area_code"] = df["area_code"].map(current)
    out["area_name"] = out["area_code"].map(districts["name"])
    out["area_type"] = out["area_code"].map(districts["area_type"])
    return out


def _check_nation_codes() -> None:
    """Each code of :data:`NATIONS` is the one the lookup gives every current district of the countries it
    covers (its ``CTRYCD``, ``EWCD`` or ``GBCD``), and no other district."""
    la = regions.lookup()
    la = la[la["current"]]
    columns = {1: ("country_code", "CTRYCD"), 2: ("ew_code", "EWCD"), 3: ("gb_code", "GBCD")}
    for code, (name, countries) in NATIONS.items():
        column, raw_column = columns[len(countries)]
        given = la.loc[la[column] == code, "country"]
        if set(given) != set(countries) or given.size != la["country"].isin(countries).sum():
            raise DataError(f"{code} ({name}) is not the code the lookup gives the districts of "
                            f"{' and '.join(countries)}", file=LOOKUP_FILE, column=raw_column)


def resolve_nations(df: pd.DataFrame) -> pd.DataFrame:
    """Give each parsed national row (``area_level`` ``nation``) its area type, after checking its code
    and name against :data:`NATIONS` (module docstring)."""
    if df.empty:
        return df.assign(area_type=pd.Series(dtype="object"))
    _check_nation_codes()
    for code, name, level, source, row in df.drop_duplicates(["area_code", "area_name", "area_level"])[
            ["area_code", "area_name", "area_level", "source", "source_row"]].itertuples(index=False):
        code_col, name_col = AREA_COLUMNS.get(source, ("area_code", "area_name"))
        if level != NATION_LEVEL:
            raise SchemaError(f"area_level {level!r} is not {NATION_LEVEL!r}", file=source, row=int(row),
                              column="area_level")
        if code not in NATIONS:
            raise UnknownAreaError(f"unknown national code {code!r} (the nations of Great Britain are Scotland "
                                   f"and {', '.join(f'{c} {n}' for c, (n, _) in NATIONS.items())})",
                                   file=source, row=int(row), column=code_col)
        if name != NATIONS[code][0]:
            raise UnknownAreaError(f"name {name!r} is not the name of {code} ({NATIONS[code][0]})", file=source,
                                   row=int(row), column=name_col)
    return df.assign(area_type=NATION_TYPE)


def _official(code: str) -> str:
    return str(_table().set_index("code").at[code, "name"])


def codes(country: str | None = None) -> tuple[str, ...]:
    """Current codes of the districts of Great Britain (or of one country), sorted."""
    t = _table()
    if country is not None:
        t = t[t["country"] == country]
    return tuple(sorted(t["code"]))
