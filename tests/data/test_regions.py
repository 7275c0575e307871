"""The local-authority lookup's parser and the regions of Great Britain used as inference units.

Bad input raises the named error with its file, row and column; the real files parse to the counts
documented in the provenance record.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis import paths
from analysis.data import panel, regions
from analysis.data.sources import la_codes
from analysis.errors import DataError, ParseError, UnknownAreaError

RAW = paths.RAW / la_codes.RELPATH


def tampered(tmp_path: Path, line: int, old: str, new: str) -> Path:
    lines = RAW.read_text(encoding="utf-8-sig").splitlines(keepends=True)
    assert old in lines[line - 1], lines[line - 1]
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    out = tmp_path / RAW.name
    out.write_text("".join(lines), encoding="utf-8")
    return out


def test_the_lookup_parses_to_its_documented_counts():
    la = la_codes.parse_la_codes(RAW)
    assert len(la) == 415 and int(la["current"].sum()) == 361
    assert la["region_code"].dropna().nunique() == 9
    assert set(la["country"]) == {"England", "Wales", "Scotland", "Northern Ireland"}
    current = la[la["current"]]
    assert (current.groupby("country").size().to_dict()
            == {"England": 296, "Wales": 22, "Scotland": 32, "Northern Ireland": 11})
    # retired codes point at a current successor (Barnsley's 2025 code change, for one)
    assert la.set_index("code").loc["E08000016", "active_code"] == "E08000038"


@pytest.mark.parametrize(("line", "old", "new", "column", "message"), [
    (2, "E06000001,Hartlepool,E06000001", "E0600001,Hartlepool,E06000001", "LADCD", "malformed district code"),
    (2, "E12000001,North East", ",", "RGNCD", "region"),
    (2, "E92000001,England", "E92000001,Englund", "CTRYCD", "unknown country"),
    (2, ",TRUE,", ",yes,", "Current", "TRUE or FALSE"),
])
def test_a_bad_cell_raises_a_parse_error_naming_row_and_column(tmp_path, line, old, new, column, message):
    path = tampered(tmp_path, line, old, new)
    with pytest.raises(ParseError, match=message) as err:
        la_codes.parse_la_codes(path)
    assert (err.value.file, err.value.row, err.value.column) == (RAW.name, line, column)


def test_a_duplicate_code_raises(tmp_path):
    lines = RAW.read_text(encoding="utf-8-sig").splitlines(keepends=True)
    out = tmp_path / RAW.name
    out.write_text("".join([*lines, lines[1]]), encoding="utf-8")
    with pytest.raises(ParseError, match="appears twice") as err:
        la_codes.parse_la_codes(out)
    assert err.value.row == len(lines) + 1 and err.value.column == "LADCD"


def test_the_regions_table_matches_the_lookup_and_the_ons_tables():
    table = regions.table()
    assert len(table) == 11 and set(table["country"]) == {"England", "Wales", "Scotland"}
    regions.check_against_areas(panel.read().areas)


def test_a_region_name_that_disagrees_with_the_lookup_raises(tmp_path, monkeypatch):
    ref = pd.read_csv(paths.REFERENCE / regions.REFERENCE_FILE, dtype=str, keep_default_na=False)
    ref.loc[0, "region_name"] = "North-East England"
    (tmp_path / regions.REFERENCE_FILE).write_text(ref.to_csv(index=False))
    monkeypatch.setattr(paths, "REFERENCE", tmp_path)
    regions.table.cache_clear()
    try:
        with pytest.raises(DataError, match="not a region or country") as err:
            regions.table()
        assert err.value.row == 2 and err.value.column == "region_code"
    finally:
        regions.table.cache_clear()


def test_every_small_area_of_great_britain_has_a_region_and_others_raise():
    areas = panel.read().areas
    gb = areas[areas["area_type"].isin(["itl3", "nuts3"]) & areas["country"].isin(["England", "Wales", "Scotland"])]
    named = regions.region_of(gb["area_code"])
    assert named.notna().all() and named.nunique() == 11
    with pytest.raises(UnknownAreaError, match="TLN01 is in no region"):
        regions.region_of(pd.Series(["TLC11", "TLN01"]))
