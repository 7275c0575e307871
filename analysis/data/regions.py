"""The regions of Great Britain that serve as units of design-based inference.

Community Planning was a Scottish duty, so Scotland is in effect one treated unit and shocks are
shared within it. Inference that treats the country or region as the unit (Conley & Taber 2011;
Ferman & Pinto 2019) needs the other units: England's nine regions and Wales. They are the ITL1
(formerly NUTS1) areas of Great Britain, so a small area's region is fixed by the ONS ITL hierarchy:
an ITL3 or NUTS3 code begins with the code of its ITL1/NUTS1 area (``TLC11`` is in ``TLC``, North
East).

``data/reference/regions.csv`` gives each region's ITL1 and NUTS1 codes, its ONS region (or
country) code and its name. :func:`table` checks it against two sources with provenance: the
names of the ITL1/NUTS1 areas in the ONS tables of the panel, and the region and country codes
and names in the ONS local-authority lookup (``gb/drkane_la_all_codes.csv``). A mismatch raises
:class:`~analysis.errors.DataError` naming the row and the column.
"""

from __future__ import annotations

import functools

import pandas as pd

from analysis import paths
from analysis.data.sources import la_codes
from analysis.errors import DataError, UnknownAreaError

REFERENCE_FILE = "regions.csv"
#: ITL names that differ from the ONS region name ("East" is the ITL table's name for East of England)
_ITL_NAME_ALIASES = {"East": "East of England"}


@functools.cache
def lookup() -> pd.DataFrame:
    """The parsed local-authority lookup."""
    return la_codes.parse_la_codes(paths.RAW / la_codes.RELPATH)


@functools.cache
def table() -> pd.DataFrame:
    """The regions table, validated against the local-authority lookup (module docstring)."""
    path = paths.REFERENCE / REFERENCE_FILE
    ref = pd.read_csv(path, dtype=str, keep_default_na=False)
    expected = ["itl1_code", "nuts1_code", "region_code", "region_name", "country", "source"]
    if list(ref.columns) != expected:
        raise DataError(f"expected columns {expected}, found {list(ref.columns)}", file=path, row=1)
    la = lookup()
    regions = dict(la.dropna(subset=["region_code"]).drop_duplicates("region_code")[["region_code", "region_name"]]
                   .itertuples(index=False, name=None))
    countries = dict(la.drop_duplicates("country_code")[["country_code", "country"]].itertuples(index=False, name=None))
    for i, r in enumerate(ref.itertuples(index=False), start=2):
        known = regions if r.country == "England" else countries
        if known.get(r.region_code) != r.region_name:
            raise DataError(f"{r.region_code} {r.region_name!r} is not a region or country of the local-authority "
                            f"lookup (it has {known.get(r.region_code)!r})", file=path, row=i, column="region_code")
        if r.country != "England" and r.region_name != r.country:
            raise DataError(f"outside England the region is the country, not {r.region_name!r}", file=path, row=i,
                            column="region_name")
    for column in ("itl1_code", "nuts1_code", "region_code"):
        dup = ref[column].duplicated()
        if dup.any():
            raise DataError(f"{ref.loc[dup, column].iloc[0]} appears twice", file=path,
                            row=int(dup.idxmax()) + 2, column=column)
    missing = set(regions) - set(ref["region_code"])
    if missing:
        raise DataError(f"regions of the lookup missing from the table: {sorted(missing)}", file=path)
    return ref.drop(columns="source")


def check_against_areas(areas: pd.DataFrame) -> None:
    """Every region's ITL1/NUTS1 area is in the panel's area table under the region's name."""
    names = areas.drop_duplicates("area_code").set_index("area_code")["area_name"]
    for r in table().itertuples(index=False):
        for code in (r.itl1_code, r.nuts1_code):
            if code not in names.index:
                raise UnknownAreaError(f"region {r.region_name}: {code} is not an area of the panel",
                                       file=REFERENCE_FILE, column="itl1_code")
            name = _ITL_NAME_ALIASES.get(names[code], names[code])
            if name != r.region_name:
                raise DataError(f"{code} is {names[code]!r} in the ONS tables, not {r.region_name!r}",
                                file=REFERENCE_FILE, column="region_name")


def region_of(codes: pd.Series) -> pd.Series:
    """The region name of each ITL3/NUTS3 (or ITL2/NUTS2) code, from its ITL1/NUTS1 prefix.

    Raises :class:`~analysis.errors.UnknownAreaError` for a code whose prefix is no region of Great
    Britain (Northern Ireland's areas, Extra-Regio, malformed codes).
    """
    ref = table()
    by_prefix = {**dict(zip(ref["itl1_code"], ref["region_name"], strict=True)),
                 **dict(zip(ref["nuts1_code"], ref["region_name"], strict=True))}
    out = codes.astype(str).str[:3].map(by_prefix)
    if out.isna().any():
        bad = codes[out.isna()].iloc[0]
        raise UnknownAreaError(f"area {bad} is in no region of Great Britain", file=REFERENCE_FILE,
                               column="itl1_code")
    return out
