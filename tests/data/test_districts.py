"""The area table of the districts of Great Britain and the resolution of the ONS district files.

The table has the documented counts and regions and joins the partnership register by code; every
district code in every ONS file resolves through it (retired codes only where the source flags them);
anything else raises :class:`~analysis.errors.UnknownAreaError` naming the file, row and column.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis.data import districts, regions, register
from analysis.data.sources import PARSERS, ons_els
from analysis.errors import SchemaError, UnknownAreaError
from analysis.paths import RAW

FILES = (ons_els.GDHI, ons_els.GDP, ons_els.CLAIMANT)


@pytest.fixture(scope="module")
def resolved() -> dict[str, pd.DataFrame]:
    return {rel: districts.resolve_frame(_districts_only(PARSERS[rel](RAW / rel))) for rel in FILES}


def _districts_only(df: pd.DataFrame) -> pd.DataFrame:
    """The district rows of a parsed file (the claimant count's national rows resolve separately)."""
    return df[df["area_level"] == ons_els.AREA_LEVEL]


def _nations() -> pd.DataFrame:
    df = PARSERS[ons_els.CLAIMANT](RAW / ons_els.CLAIMANT)
    return df[df["area_level"] == districts.NATION_LEVEL]


def test_the_claimant_counts_national_rows_resolve_to_the_four_nations():
    out = districts.resolve_nations(_nations())
    assert (out["area_type"] == districts.NATION_TYPE).all()
    names = out.drop_duplicates("area_code").set_index("area_code")["area_name"].to_dict()
    assert names == {c: n for c, (n, _) in districts.NATIONS.items()}
    assert out.groupby("area_code")["year"].nunique().eq(25).all()


def test_an_unknown_national_code_raises_naming_file_row_and_column():
    df = _nations().copy()
    label = df.index[3]
    df.loc[label, "area_code"] = "K02000001"  # the United Kingdom: not a nation of Great Britain
    with pytest.raises(UnknownAreaError, match="unknown national code 'K02000001'") as err:
        districts.resolve_nations(df)
    assert (err.value.file, err.value.row, err.value.column) == (
        Path(ons_els.CLAIMANT).name, int(df.at[label, "source_row"]), "areacd")


def test_a_national_name_that_is_not_the_codes_raises():
    df = _nations().copy()
    label = df.index[df["area_code"] == "K04000001"][0]
    df.loc[label, "area_name"] = "Great Britain"
    with pytest.raises(UnknownAreaError, match="'Great Britain' is not the name of K04000001") as err:
        districts.resolve_nations(df)
    assert err.value.column == "areanm"


def test_the_nations_codes_are_the_lookups(monkeypatch):
    """Each national code is the one the local-authority lookup gives the districts it covers: a wrong
    code in the nations table is caught against the lookup (its EWCD column, for England and Wales)."""
    districts._check_nation_codes()
    wrong = {**districts.NATIONS, "K04000002": districts.NATIONS["K04000001"]}
    del wrong["K04000001"]
    monkeypatch.setattr(districts, "NATIONS", wrong)
    with pytest.raises(Exception, match="K04000002 \\(England and Wales\\) is not the code") as err:
        districts._check_nation_codes()
    assert err.value.column == "EWCD"


def test_the_table_has_350_districts_296_english_22_welsh_32_scottish():
    t = districts.table()
    assert list(t.columns) == districts.COLUMNS
    assert len(t) == districts.N_DISTRICTS == 350 and t["code"].is_unique
    assert t.groupby("country").size().to_dict() == {"England": 296, "Scotland": 32, "Wales": 22}
    assert t.groupby("country")["area_type"].agg(set).to_dict() == {
        "England": {"lad"}, "Wales": {"lad"}, "Scotland": {"council"}}
    assert t["code"].str.match(r"^(E0[6-9]|W06|S12)\d{6}$").all()


def test_every_district_has_its_region_and_itl1_area():
    t = districts.table()
    ref = regions.table()
    assert set(t["region_name"]) == set(ref["region_name"])  # nine English regions, Wales, Scotland
    assert t.groupby("region_name").size()[["London", "North East", "Wales", "Scotland"]].tolist() == [33, 12, 22, 32]
    england = t[t["country"] == "England"]
    assert england["region_code"].str.match(r"^E12\d{6}$").all()
    assert (t.loc[t["country"] != "England", "region_name"] == t.loc[t["country"] != "England", "country"]).all()
    itl = ref.set_index("region_name")["itl1_code"]
    assert (t["itl1_code"] == t["region_name"].map(itl)).all()
    assert t.set_index("code").at["E08000038", "region_name"] == "Yorkshire and The Humber"


def test_the_scottish_districts_are_the_register_s_councils_under_its_names():
    t = districts.table()
    scots = t[t["country"] == "Scotland"].set_index("code")
    assert tuple(sorted(scots.index)) == register.council_codes()
    assert all(scots.at[c, "name"] == register.name_of(c) for c in scots.index)
    assert districts.codes("Scotland") == register.council_codes()
    assert scots.at["S12000047", "former_codes"] == "S12000015"  # Fife's 2018 recode


def test_every_code_in_every_file_resolves_to_the_350(resolved):
    expected = set(districts.codes())
    for rel, df in resolved.items():
        assert set(df["area_code"]) == expected, rel
        assert df["area_type"].notna().all() and df["area_name"].notna().all()
        counts = df.drop_duplicates("area_code")["area_type"].value_counts().to_dict()
        assert counts == {"lad": 318, "council": 32}


def test_barnsley_and_sheffield_take_their_2025_codes(resolved):
    df = resolved[ons_els.GDHI]
    barnsley = df[df["source_row"] == 1703]
    assert barnsley["area_code"].tolist() == ["E08000038"] and barnsley["area_name"].tolist() == ["Barnsley"]
    assert districts.resolve_code("E08000019") == "E08000039"
    assert set(ons_els.OBSOLETE_CODES) <= set(regions.lookup().query("not current")["code"])


def test_scottish_rows_join_the_register_by_code(resolved):
    df = resolved[ons_els.CLAIMANT]
    scots = df[df["area_type"] == register.COUNCIL]
    assert set(scots["area_code"]) == set(register.council_codes())
    assert (scots["area_name"] == scots["area_code"].map(register.name_of)).all()
    # a council's former code resolves through the register, as in every other source
    assert districts.resolve_code("S12000015") == "S12000047"
    assert districts.resolve_code("S12000046") == "S12000049"


@pytest.mark.parametrize(("code", "message"), [
    ("E07000004", r"retired code E07000004 \(Aylesbury Vale, succeeded by E06000060 Buckinghamshire\) is not accepted"),
    ("E08000020", r"retired code E08000020 \(Gateshead"),
    ("N09000003", "district of Northern Ireland, not of Great Britain"),
    ("E06000999", "unknown district code 'E06000999'"),
    ("E10000003", "unknown district code"),
])
def test_an_unknown_or_retired_code_raises_naming_file_row_and_column(code, message):
    with pytest.raises(UnknownAreaError, match=message) as err:
        districts.resolve_code(code, file="x.csv", row=7, column="areacd")
    assert (err.value.file, err.value.row, err.value.column) == ("x.csv", 7, "areacd")


def _parsed_with(rel: str, tmp_path: Path, line: int, old: str, new: str) -> pd.DataFrame:
    lines = (RAW / rel).read_bytes().decode("utf-8").split("\n")
    assert lines[line - 1].count(old) == 1
    lines[line - 1] = lines[line - 1].replace(old, new)
    path = tmp_path / Path(rel).name
    path.write_bytes("\n".join(lines).encode("utf-8"))
    return PARSERS[rel](path)


def test_a_retired_code_in_a_file_raises_at_its_row(tmp_path):
    df = _parsed_with(ons_els.GDP, tmp_path, 8080, "W06000015,Cardiff", "E07000004,Aylesbury Vale")
    with pytest.raises(UnknownAreaError, match="retired code E07000004") as err:
        districts.resolve_frame(df)
    assert (err.value.file, err.value.row, err.value.column) == (Path(ons_els.GDP).name, 8080, "AREACD")


def test_an_unknown_code_in_a_file_raises_at_its_row(tmp_path):
    df = _parsed_with(ons_els.GDHI, tmp_path, 137, "E06000047,", "E06000099,")
    with pytest.raises(UnknownAreaError, match="unknown district code 'E06000099'") as err:
        districts.resolve_frame(df)
    assert (err.value.file, err.value.row, err.value.column) == (Path(ons_els.GDHI).name, 137, "areacd")


@pytest.mark.parametrize(("line", "old", "new"), [
    (137, "E06000047,County Durham", "E06000047,Darlington"),  # an English name that is not the code's
    (10034, "S12000049,Glasgow City", "S12000049,City of Edinburgh"),  # a council name that is another's
])
def test_a_name_that_is_not_its_code_s_raises(tmp_path, line, old, new):
    df = _parsed_with(ons_els.GDHI, tmp_path, line, old, new)
    with pytest.raises(UnknownAreaError, match="is not the name of") as err:
        districts.resolve_frame(df)
    assert (err.value.file, err.value.row, err.value.column) == (Path(ons_els.GDHI).name, line, "areanm")


def test_only_district_rows_are_resolved():
    df = PARSERS[ons_els.GDHI](RAW / ons_els.GDHI).head(3).assign(area_level="council")
    with pytest.raises(SchemaError, match="area_level 'council'"):
        districts.resolve_frame(df)
