"""Parser for the local-authority code lookup (``gb/drkane_la_all_codes.csv``).

A lookup, not a panel source: one row per lower-tier local authority district code in use since
2011, with its active successor code, upper tier, combined authority, region (England's nine
regions only), country, and the codes of England and Wales (``EWCD``) and of Great Britain
(``GBCD``) where the district is in them. Derived by the ``drkane/geo-lookups`` repository from ONS Open Geography
lookups (provenance in ``data/raw/provenance/drkane_la_all_codes.csv.yml``).

The parser checks the header word for word, every code's pattern (``E06…``, ``W06…``, ``S12…``,
``N09…``), that each code appears once, that a region is given for every English district and
for no other, that a district's country matches its code's first letter, that ``Current`` is
``TRUE`` or ``FALSE``, and that every active successor is itself a current code in the file.
Each failure raises :class:`~analysis.errors.ParseError` naming the row and the column.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from analysis.data.sources._common import read_csv_records
from analysis.errors import ParseError

RELPATH = "gb/drkane_la_all_codes.csv"
HEADER = ["LADCD", "LADNM", "LADCD_ACTIVE", "LADNM_ACTIVE", "UTLACD", "UTLANM", "CAUTHCD", "CAUTHNM", "RGNCD",
          "RGNNM", "CTRYCD", "CTRYNM", "EWCD", "EWNM", "GBCD", "GBNM", "UKCD", "UKNM", "Current", "LAD20CD",
          "LAD20NM"]
_DISTRICT = re.compile(r"^[ENSW]\d{8}$")
_REGION = re.compile(r"^E12\d{6}$")
COUNTRIES = {"E92000001": "England", "W92000004": "Wales", "S92000003": "Scotland", "N92000002": "Northern Ireland"}
#: output columns
COLUMNS = ["code", "name", "active_code", "active_name", "region_code", "region_name", "country_code", "country",
           "ew_code", "gb_code", "current", "source_row"]


def parse_la_codes(path: Path) -> pd.DataFrame:
    """The lookup as a frame with :data:`COLUMNS` (one row per district code, as published)."""
    records = read_csv_records(path)
    if not records or records[0][1] != HEADER:
        raise ParseError(f"unexpected header {records[0][1] if records else []!r}", file=path, row=1)
    rows, seen = [], {}
    for line, rec in records[1:]:
        if not any(cell.strip() for cell in rec):
            continue
        if len(rec) != len(HEADER):
            raise ParseError(f"expected {len(HEADER)} cells, found {len(rec)}", file=path, row=line)
        cell = dict(zip(HEADER, (c.strip() for c in rec), strict=True))
        for column in ("LADCD", "LADCD_ACTIVE"):
            if not _DISTRICT.match(cell[column]):
                raise ParseError(f"malformed district code {cell[column]!r}", file=path, row=line, column=column)
        if cell["LADCD"] in seen:
            raise ParseError(f"code {cell['LADCD']} appears twice (first on row {seen[cell['LADCD']]})", file=path,
                             row=line, column="LADCD")
        seen[cell["LADCD"]] = line
        country = COUNTRIES.get(cell["CTRYCD"])
        if country is None or cell["CTRYNM"] != country:
            raise ParseError(f"unknown country {cell['CTRYCD']!r} {cell['CTRYNM']!r}", file=path, row=line,
                             column="CTRYCD")
        if cell["LADCD"][0] != cell["CTRYCD"][0]:
            raise ParseError(f"district {cell['LADCD']} is not in {country}", file=path, row=line, column="CTRYCD")
        english = country == "England"
        if english != bool(cell["RGNCD"]) or (english and not _REGION.match(cell["RGNCD"])):
            raise ParseError(f"region {cell['RGNCD']!r} for a district in {country}: England's districts need one of "
                             "the nine regions (E12…), the others none", file=path, row=line, column="RGNCD")
        if cell["Current"] not in ("TRUE", "FALSE"):
            raise ParseError(f"Current must be TRUE or FALSE, not {cell['Current']!r}", file=path, row=line,
                             column="Current")
        rows.append([cell["LADCD"], cell["LADNM"], cell["LADCD_ACTIVE"], cell["LADNM_ACTIVE"], cell["RGNCD"] or None,
                     cell["RGNNM"] or None, cell["CTRYCD"], country, cell["EWCD"] or None, cell["GBCD"] or None,
                     cell["Current"] == "TRUE", line])
    out = pd.DataFrame(rows, columns=COLUMNS)
    current = set(out.loc[out["current"], "code"])
    dangling = ~out["active_code"].isin(current)
    if dangling.any():
        r = out[dangling].iloc[0]
        raise ParseError(f"active successor {r['active_code']} of {r['code']} is not a current code", file=path,
                         row=int(r["source_row"]), column="LADCD_ACTIVE")
    return out
