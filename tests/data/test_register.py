"""Tests of the partnership register (data/reference/partnerships.csv) and analysis.data.register.

The raw files are re-read here with small independent readers, so that the register is checked
against the sources rather than against itself.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from pathlib import Path

import pandas as pd
import pyreadr
import pytest

from analysis.data import register
from analysis.errors import SchemaError, UnknownAreaError
from analysis.paths import RAW

SCOT = RAW / "scotland"
GB = RAW / "gb"
GEO = RAW / "geo"

CHANGED_CODES = {  # old -> new (onsvisual_changes.csv)
    "S12000015": "S12000047",  # Fife
    "S12000024": "S12000048",  # Perth and Kinross
    "S12000046": "S12000049",  # Glasgow City
    "S12000044": "S12000050",  # North Lanarkshire
}


# --------------------------------------------------------------------------- raw-file readers
# Each returns the distinct area names of one raw file, exactly as written (stripped), split into
# council-or-Scotland names; non-council areas (health boards, ITL regions) are left out.


def _alcohol_names() -> list[str]:
    text = (SCOT / "nrs_alcohol_specific_deaths_by_council_1979_2019.csv").read_text(encoding="latin-1")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header = rows[2]
    assert header[1] == "All Scotland1"
    return [c.strip() for c in header[1:] if c.strip()]


def _sgred_names(name: str) -> list[str]:
    return [a.strip() for a in pd.read_csv(SCOT / name, dtype=str)["Area"]]


def _drug_names() -> list[str]:
    text = (SCOT / "nrs_drug_related_deaths_by_council_2009_2019_tableC1.csv").read_text(encoding="latin-1")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    start = next(i for i, r in enumerate(rows) if r and r[0] == "Council area1")
    out = []
    for r in rows[start + 1 :]:
        if r and r[0].startswith("Footnote"):
            break
        if r and r[0].strip():
            out.append(r[0].strip())
    return out


def _xlsx_names() -> list[str]:
    # openpyxl, not the parser's calamine: an independent reader of the same workbook
    x = pd.read_excel(SCOT / "nrs_mye_single_year_age_sex_council_1998_2018.xlsx", usecols=["Area"],
                      engine="openpyxl")
    return sorted({a.strip() for a in x["Area"]})


@pytest.fixture(scope="module")
def scotpho() -> pd.DataFrame:
    df = pyreadr.read_r(SCOT / "scotpho_deprivation_data_v2023-02_a383822.rds")[None]
    return df[["code", "areaname", "areatype"]].drop_duplicates()


@pytest.fixture(scope="module")
def lgbf() -> pd.DataFrame:
    df = pyreadr.read_r(SCOT / "lgbf_data-Jan22.rds")[None]
    return df[["Local Authority", "Family group (People)", "Family group (Other)"]].drop_duplicates()


def _cpop_names(name: str) -> list[str]:
    return sorted({c.strip() for c in pd.read_csv(SCOT / name, dtype=str, keep_default_na=False)["CPP"]})


def _topo_props() -> list[dict]:
    topo = json.loads((GEO / "martinjc_sco_topo_lad.json").read_text(encoding="utf-8"))
    return [g["properties"] for g in topo["objects"]["lad"]["geometries"]]


def _hex_scottish() -> dict[str, str]:
    hexes = json.loads((GEO / "odileeds_uk-local-authority-districts.hexjson").read_text(encoding="utf-8"))[
        "hexes"
    ]
    return {k: v["n"].strip() for k, v in hexes.items() if k.startswith("S")}


def _regions(name: str, level_col: str, level: str, code_col: str) -> dict[str, str]:
    d = pd.read_csv(GB / name, dtype=str, keep_default_na=False)
    d = d[d[level_col].str.strip().eq(level) & d[code_col].str.startswith(("TLM", "UKM"))]
    return dict(zip(d[code_col], d["Region name"].str.strip(), strict=True))


def _itl3() -> dict[str, str]:
    return _regions("ukcompare_itl_population_1998_2021.csv", "ITL", "ITL3", "ITL code")


def _nuts3() -> dict[str, str]:
    return _regions("ruk_ons_perhead_gdhi_nuts_1997_2018.csv", "NUTS level", "NUTS3", "NUTS code")


@pytest.fixture(scope="module")
def raw_names(scotpho, lgbf) -> list[tuple[str, list[str]]]:
    """(file, council-or-Scotland names) for every raw file that carries area names."""
    out = [("nrs_alcohol_specific_deaths_by_council_1979_2019.csv", _alcohol_names())]
    for t in ["t1", "t14a", "t17b", "t20", "t21", "t22"]:
        out.append((f"sgred_la_{t}.csv", _sgred_names(f"sgred_la_{t}.csv")))
    out.append(("nrs_drug_related_deaths_by_council_2009_2019_tableC1.csv", _drug_names()))
    out.append(("nrs_mye_single_year_age_sex_council_1998_2018.xlsx", _xlsx_names()))
    sp = scotpho[scotpho["areatype"].isin(["Council area", "Scotland"])]
    out.append(("scotpho_deprivation_data_v2023-02_a383822.rds", sorted(set(sp["areaname"].str.strip()))))
    out.append(("lgbf_data-Jan22.rds", sorted(set(lgbf["Local Authority"].str.strip()))))
    for f in ["cpop_CPPcleandata_v2017-09_af041bf.csv", "cpop_CPPcleandata_v2018-05_7f46429.csv"]:
        out.append((f, _cpop_names(f)))
    out.append(("martinjc_sco_topo_lad.json", [p["LAD13NM"].strip() for p in _topo_props()]))
    out.append(("odileeds_uk-local-authority-districts.hexjson", sorted(_hex_scottish().values())))
    # ITL3 / NUTS3 regions that are exactly one council, plus the ITL1/NUTS1 "Scotland" row
    reg = register.load_register()
    single_itl = set(reg.loc[~reg["itl3_shared"], "itl3_codes"])
    single_nuts = set(reg.loc[~reg["itl3_shared"], "nuts3_codes"])
    itl_names = [n for c, n in _itl3().items() if c in single_itl]
    nuts_names = [n for c, n in _nuts3().items() if c in single_nuts]
    itl1 = _regions("ukcompare_itl_population_1998_2021.csv", "ITL", "ITL1", "ITL code")
    nuts1 = _regions("ruk_ons_perhead_gdhi_nuts_1997_2018.csv", "NUTS level", "NUTS1", "NUTS code")
    out.append(("ukcompare_itl_population_1998_2021.csv", itl_names + list(itl1.values())))
    out.append(("ruk_ons_perhead_gdhi_nuts_1997_2018.csv", nuts_names + list(nuts1.values())))
    return out


@pytest.fixture(scope="module")
def reg() -> pd.DataFrame:
    return register.load_register()


# --------------------------------------------------------------------------- the register itself


def test_register_has_32_partnerships_with_unique_codes_and_names(reg):
    assert len(reg) == 32
    assert reg["code"].is_unique and reg["name"].is_unique
    assert all(re.fullmatch(r"S12\d{6}", c) for c in reg["code"])
    assert list(reg["code"]) == sorted(reg["code"])
    assert register.council_codes() == tuple(reg["code"])


def test_codes_and_names_agree_with_scotpho(scotpho):
    councils = scotpho[scotpho["areatype"] == "Council area"]
    assert len(councils) == 32
    for code, name in zip(councils["code"], councils["areaname"], strict=True):
        assert register.resolve_name(name, file="scotpho") == (code, "council")
        assert register.resolve_code(code, file="scotpho") == (code, "council")
    assert set(councils["code"]) == set(register.council_codes())
    scot = scotpho[scotpho["areatype"] == "Scotland"]
    assert list(scot["code"]) == ["S00000001"]
    assert register.resolve_code("S00000001", file="scotpho") == (register.SCOTLAND_CODE, "scotland")


def test_former_codes_agree_with_changes_file_and_topojson(reg):
    changes = pd.read_csv(GEO / "onsvisual_changes.csv", dtype=str, encoding="utf-8-sig")
    scot = changes[changes["oldcd"].str.startswith("S12")]
    assert dict(zip(scot["oldcd"], scot["newcd"], strict=True)) == CHANGED_CODES
    former = {
        f: c for c, fs in zip(reg["code"], reg["former_codes"], strict=True) for f in register.split_list(fs)
    }
    assert former == CHANGED_CODES
    # the 2013 topojson carries the pre-2018 code of every council, with its name
    for props in _topo_props():
        code, kind = register.resolve_name(props["LAD13NM"], file="topojson")
        assert register.resolve_code(props["LAD13CD"], file="topojson") == (code, kind)
        assert CHANGED_CODES.get(props["LAD13CD"], props["LAD13CD"]) == code
    for code, name in _hex_scottish().items():
        assert register.resolve_code(code, file="hexjson") == register.resolve_name(name, file="hexjson")


@pytest.mark.parametrize("old,new", sorted(CHANGED_CODES.items()))
def test_changed_codes_resolve_from_old_and_new(old, new):
    assert register.resolve_code(old, file="t") == (new, "council")
    assert register.resolve_code(new, file="t") == (new, "council")
    assert register.name_of(old) == register.name_of(new)


def test_family_groups_agree_with_lgbf_data(lgbf, reg):
    councils = lgbf[lgbf["Local Authority"] != "Scotland"]
    per_council = councils.groupby("Local Authority").nunique()
    assert (per_council == 1).all().all(), "a council has more than one family group in the LGBF file"
    assert len(per_council) == 32
    by_code = reg.set_index("code")
    for la, people, other in councils.itertuples(index=False):
        code, _ = register.resolve_name(la, file="lgbf_data-Jan22.rds", column="Local Authority")
        assert by_code.at[code, "lgbf_family_group_people"] == int(people), la
        assert by_code.at[code, "lgbf_family_group_other"] == int(other), la
    for col in register.FAMILY_GROUP_COLUMNS:
        assert sorted(reg[col].value_counts().items()) == [(1, 8), (2, 8), (3, 8), (4, 8)]


def test_itl3_and_nuts3_areas_match_the_gb_tables(reg):
    itl, nuts = _itl3(), _nuts3()
    assert len(itl) == 23 and len(nuts) == 23
    members: dict[str, set[str]] = defaultdict(set)
    for rec in reg.itertuples():
        codes, names = register.split_list(rec.itl3_codes), register.split_list(rec.itl3_names)
        ncodes, nnames = register.split_list(rec.nuts3_codes), register.split_list(rec.nuts3_names)
        assert [itl[c] for c in codes] == names
        assert [nuts[c] for c in ncodes] == nnames
        assert [c.replace("TLM", "UKM") for c in codes] == ncodes
        for c in codes:
            members[c].add(rec.code)
    assert set(members) == set(itl), "every Scottish ITL3 area holds at least one council"
    for rec in reg.itertuples():
        shared = any(len(members[c]) > 1 for c in register.split_list(rec.itl3_codes))
        assert rec.itl3_shared == shared, rec.name
    split = {rec.name for rec in reg.itertuples() if "|" in rec.itl3_codes}
    assert split == {"Highland", "North Ayrshire", "Argyll and Bute"}


def test_itl3_populations_add_up_to_council_populations(reg):
    """Whole-council ITL3 areas equal the sum of their councils (NRS); the split group balances."""
    num = lambda s: float(str(s).replace(",", ""))  # noqa: E731
    pop = pd.read_csv(GB / "ukcompare_itl_population_1998_2021.csv", dtype=str, keep_default_na=False)
    pop = pop[pop["ITL"].str.strip().eq("ITL3") & pop["ITL code"].str.startswith("TLM")].set_index("ITL code")
    t20 = pd.read_csv(SCOT / "sgred_la_t20.csv", dtype=str).set_index("Area")
    codes_of = {rec.code: register.split_list(rec.itl3_codes) for rec in reg.itertuples()}
    split_areas = {c for cs in codes_of.values() if len(cs) > 1 for c in cs}
    for year in ["1998", "2010", "2019"]:
        council_pop = {
            register.resolve_name(a, file="sgred_la_t20.csv")[0]: num(v) for a, v in t20[year].items()
        }
        members: dict[str, list[str]] = defaultdict(list)
        for code, cs in codes_of.items():
            for c in cs:
                members[c].append(code)
        for area, councils in members.items():
            if area in split_areas or any(set(codes_of[k]) & split_areas for k in councils):
                continue
            assert num(pop.at[area, year]) == sum(council_pop[k] for k in councils), (area, year)
        group_councils = {k for a in split_areas for k in members[a]}
        group_areas = {c for k in group_councils for c in codes_of[k]}
        assert sum(num(pop.at[a, year]) for a in group_areas) == sum(council_pop[k] for k in group_councils)


def test_case_studies_and_pilot_match_the_report(reg):
    codes = set()
    for register_name in register.REPORT_CASE_STUDY_NAMES.values():
        code, kind = register.resolve_name(register_name, file="report")
        assert kind == "council" and register.name_of(code) == register_name
        codes.add(code)
    assert len(register.REPORT_CASE_STUDY_NAMES) == 9
    assert codes == set(register.case_study_codes())
    assert register.resolve_name("Argyll & Bute", file="report")[0] in codes  # the report's own spelling
    pilot = {register.resolve_name(n, file="report")[0] for n in register.REPORT_PILOT_NAMES.values()}
    assert pilot == set(register.pilot_codes()) == {"S12000050"}
    assert not set(register.pilot_codes()) & set(register.case_study_codes())


# --------------------------------------------------------------------------- names in raw files


def test_every_area_name_in_every_raw_file_resolves(raw_names):
    all32 = set(register.council_codes())
    for file, names in raw_names:
        assert names, file
        resolved = {}
        for i, name in enumerate(names):
            resolved[name] = register.resolve_name(name, file=file, row=i + 1)
        council_codes = {c for c, kind in resolved.values() if kind == "council"}
        if not file.startswith(("ukcompare", "ruk_")):
            assert council_codes == all32, f"{file}: councils missing {sorted(all32 - council_codes)}"
        assert len([n for n, (c, k) in resolved.items() if k == "council"]) == len(council_codes), file


def test_every_listed_variant_occurs_in_a_raw_file(raw_names, reg):
    seen = {n for _, names in raw_names for n in names}
    for rec in reg.itertuples():
        for v in register.split_list(rec.name_variants):
            assert v in seen, f"variant {v!r} of {rec.name} occurs in no raw file"
            assert v in rec.variants_source, f"variant {v!r} has no source"
    for v in register.SCOTLAND_VARIANTS:
        assert v in seen


def test_every_exact_raw_spelling_is_listed(raw_names, reg):
    """The register lists each source spelling exactly (normalisation is only a safety net)."""
    listed = set(reg["name"]) | {v for s in reg["name_variants"] for v in register.split_list(s)}
    listed |= set(register.SCOTLAND_VARIANTS)
    for file, names in raw_names:
        missing = sorted(set(names) - listed)
        assert not missing, f"{file}: spellings not listed in the register: {missing}"


def _parsed_frames():
    try:
        import analysis.data.sources as sources
    except Exception:  # pragma: no cover - the package must import
        raise
    return dict(sources.PARSERS)


@pytest.mark.parametrize("relpath", sorted(_parsed_frames()) or ["<no parsers registered>"])
def test_parser_outputs_resolve(relpath):
    parsers = _parsed_frames()
    if relpath not in parsers:
        pytest.skip("analysis.data.sources.PARSERS is empty")
    df = parsers[relpath](RAW / relpath)
    if "area_level" in df.columns and df["area_level"].eq("lad").any():
        # a file of the districts of Great Britain: its Scottish districts are the register's councils, and
        # its national rows (the claimant count's) include Scotland's, which the register resolves too
        assert df["area_level"].isin(["lad", "nation", "scotland"]).all(), relpath
        lad = df[df["area_level"].eq("lad") & df["area_code"].str.startswith("S")].assign(area_level="council")
        assert not lad.empty, f"{relpath}: no Scottish district"
        df = pd.concat([lad, df[df["area_level"].eq("scotland")]], ignore_index=True)
    if "area_level" in df.columns:
        sub = df[df["area_level"].isin(["council", "scotland"])]
    else:  # a parser with its own layout (e.g. the age-sex population table): every row is an area
        sub = df
    if sub.empty:
        # a GB table: its Scottish ITL3/NUTS3 areas must be exactly those the register uses
        reg = register.load_register()
        scottish = df.loc[
            df["area_level"].isin(["itl3", "nuts3"]) & df["area_code"].str.match(r"^(TLM|UKM)\d\d$")
        ]
        assert not scottish.empty, f"{relpath}: neither council, Scotland nor Scottish ITL3/NUTS3 rows"
        level = scottish["area_level"].iloc[0]
        used = {c for cs in reg[f"{level}_codes"] for c in register.split_list(cs)}
        assert set(scottish["area_code"]) == used, relpath
        names = dict(zip(reg[f"{level}_codes"], reg[f"{level}_names"], strict=True))
        for code, name in scottish[["area_code", "area_name"]].drop_duplicates().itertuples(index=False):
            if code in names:  # a single-area row of the register
                assert names[code] == name, (relpath, code, name)
        return
    out = register.resolve_frame(sub)
    if "area_level" in sub.columns:
        assert out["area_type"].eq(sub["area_level"]).all()
    assert set(out.loc[out["area_type"].eq("council"), "area_code"]) == set(register.council_codes())
    assert set(out["area_code"]) <= set(register.council_codes()) | {register.SCOTLAND_CODE}


# --------------------------------------------------------------------------- resolvers and errors


def test_unknown_name_error_names_file_row_column_and_name():
    with pytest.raises(UnknownAreaError) as info:
        register.resolve_name("Edinburgh", file="data/raw/scotland/foo.csv", row=17, column="Area")
    text = str(info.value)
    assert "foo.csv" in text and "row 17" in text and "'Area'" in text and "'Edinburgh'" in text
    with pytest.raises(UnknownAreaError, match="Council area1"):
        register.resolve_name("Council area1", file="nrs_drug.csv", row=4)
    with pytest.raises(UnknownAreaError, match="NHS Fife"):
        register.resolve_name("NHS Fife", file="scotpho.rds", row=9)


def test_unknown_code_raises():
    with pytest.raises(UnknownAreaError, match="S12000099"):
        register.resolve_code("S12000099", file="x.csv", row=3, column="code")
    with pytest.raises(UnknownAreaError):
        register.resolve_code("TLM82", file="x.csv")  # an ITL3 area is not a council code
    with pytest.raises(UnknownAreaError):
        register.name_of("S08000015")


def test_scotland_variants_resolve_to_scotland():
    for name in ["Scotland", "All Scotland1", " Scotland "]:
        assert register.resolve_name(name, file="f") == ("S92000003", "scotland")
    for code in ["S92000003", "S00000001", "TLM", "UKM"]:
        assert register.resolve_code(code, file="f") == ("S92000003", "scotland")
    assert register.name_of("S00000001") == "Scotland"


def _frame(names, codes=None, levels=None):
    n = len(names)
    return pd.DataFrame(
        {
            "area_name": names,
            "area_code": codes if codes is not None else [None] * n,
            "area_level": levels if levels is not None else ["council"] * n,
            "value": range(n),
            "source": ["demo.csv"] * n,
            "source_row": [10 + i for i in range(n)],
        }
    )


def test_resolve_frame_adds_current_codes_and_types():
    df = _frame(
        ["Glasgow City", "Argyll & Bute", "Scotland", "Aberdeen-shire", "Glasgow City"],
        codes=["S12000046", None, "S00000001", "", "S12000049"],
        levels=["council", "council", "scotland", "council", "council"],
    )
    before = df.copy()
    out = register.resolve_frame(df)
    pd.testing.assert_frame_equal(df, before)  # the input is not mutated
    assert list(out["area_code"]) == ["S12000049", "S12000035", "S92000003", "S12000034", "S12000049"]
    assert list(out["area_type"]) == ["council", "council", "scotland", "council", "council"]


def test_resolve_frame_resolves_each_distinct_name_once(monkeypatch):
    calls = []
    real = register._lookup_name

    def counting(name):
        calls.append(name)
        return real(name)

    monkeypatch.setattr(register, "_lookup_name", counting)
    register.resolve_frame(_frame(["Fife", "Stirling"] * 500))
    assert sorted(calls) == ["Fife", "Stirling"]


def test_resolve_frame_unknown_name_names_source_and_row():
    with pytest.raises(UnknownAreaError) as info:
        register.resolve_frame(_frame(["Fife", "Fife", "Atlantis"]))
    text = str(info.value)
    assert "demo.csv" in text and "row 12" in text and "Atlantis" in text and "area_name" in text


def test_resolve_frame_code_name_disagreement_raises():
    with pytest.raises(UnknownAreaError) as info:
        register.resolve_frame(_frame(["Fife", "Stirling"], codes=["S12000015", "S12000047"]))
    text = str(info.value)
    assert "demo.csv" in text and "row 11" in text and "S12000047" in text


def test_resolve_frame_rejects_other_levels_and_level_mismatch():
    with pytest.raises(SchemaError, match="row 10"):
        register.resolve_frame(_frame(["NHS Fife"], levels=["health_board"]))
    with pytest.raises(SchemaError, match="row 11"):
        register.resolve_frame(_frame(["Fife", "Scotland"], levels=["council", "council"]))


# --------------------------------------------------------------------------- normalisation


def test_normalise_is_injective_over_the_32_councils(reg):
    owner: dict[str, str] = {}
    for rec in reg.itertuples():
        for text in [rec.name, *register.split_list(rec.name_variants)]:
            key = register.normalise(text)
            assert owner.setdefault(key, rec.code) == rec.code, f"{text!r} collides with {owner[key]}"
    scot_keys = {register.normalise(v) for v in register.SCOTLAND_VARIANTS}
    assert not scot_keys & set(owner)
    assert len({register.normalise(n) for n in reg["name"]}) == 32


def test_normalise_rules():
    n = register.normalise
    assert n("Aberdeen-shire") == n("Aberdeenshire") == n("  ABERDEENSHIRE ")
    assert n("Argyll & Bute") == n("Argyll and Bute") == n("Argyll&Bute")
    assert n("Perth  and\tKinross") == n("Perth and Kinross")
    assert n("All Scotland1") == "all scotland"
    assert n("Council area1") == "council area1"  # undocumented digits are kept
    assert n("Fife2") != n("Fife")
    assert n("Edinburgh, City of") != n("City of Edinburgh")


# --------------------------------------------------------------------------- tampered registers


def _write(tmp_path: Path, df: pd.DataFrame) -> Path:
    path = tmp_path / "partnerships.csv"
    df.to_csv(path, index=False, lineterminator="\n")
    return path


@pytest.fixture
def raw_register() -> pd.DataFrame:
    return pd.read_csv(register.default_path(), dtype=str, keep_default_na=False)


def test_untampered_copy_loads(tmp_path, raw_register):
    assert len(register.load_register(_write(tmp_path, raw_register))) == 32


def test_duplicate_variant_across_two_councils_raises(tmp_path, raw_register):
    df = raw_register.copy()
    i = df.index[df["name"] == "Stirling"][0]
    df.loc[i, "name_variants"] = "Argyll & Bute"  # already a variant of Argyll and Bute
    df.loc[i, "variants_source"] = "Argyll & Bute: tampered"
    with pytest.raises(SchemaError) as info:
        register.load_register(_write(tmp_path, df))
    text = str(info.value)
    assert "partnerships.csv" in text and "'name_variants'" in text and "Argyll & Bute" in text
    stirling_line = int(i) + 2
    argyll_line = int(df.index[df["name"] == "Argyll and Bute"][0]) + 2
    assert f"row {stirling_line}," in text and f"line {argyll_line}" in text


def test_two_councils_with_the_same_name_raise(tmp_path, raw_register):
    df = raw_register.copy()
    df.loc[df["name"] == "Stirling", "name"] = "Falkirk"
    with pytest.raises(SchemaError, match="Falkirk") as info:
        register.load_register(_write(tmp_path, df))
    assert "'name'" in str(info.value) and "partnerships.csv" in str(info.value)


def test_council_claiming_a_scotland_variant_raises(tmp_path, raw_register):
    df = raw_register.copy()
    i = df.index[df["name"] == "Fife"][0]
    df.loc[i, "name_variants"] = "All Scotland1"
    df.loc[i, "variants_source"] = "All Scotland1: tampered"
    with pytest.raises(SchemaError, match="Scotland") as info:
        register.load_register(_write(tmp_path, df))
    assert f"row {int(i) + 2}," in str(info.value) and "'name_variants'" in str(info.value)


def test_31_rows_raises(tmp_path, raw_register):
    with pytest.raises(SchemaError) as info:
        register.load_register(_write(tmp_path, raw_register.iloc[:-1]))
    text = str(info.value)
    assert "partnerships.csv" in text and "31" in text and "'code'" in text and "row 32" in text


def test_family_group_of_5_raises(tmp_path, raw_register):
    df = raw_register.copy()
    df.loc[3, "lgbf_family_group_other"] = "5"
    with pytest.raises(SchemaError) as info:
        register.load_register(_write(tmp_path, df))
    text = str(info.value)
    assert "partnerships.csv" in text and "row 5" in text and "'lgbf_family_group_other'" in text


@pytest.mark.parametrize(
    "column,value,expect",
    [
        ("code", "S1200005", "does not match"),
        ("case_study", "false", "case_study"),  # 8 case studies
        ("pilot", "true", "pilot"),  # 2 pilots
        ("lgbf_family_group_people", "2", "family group"),  # 9 in one group, 7 in another
        ("former_codes", "S12000047", "already used"),
    ],
)
def test_other_tampering_raises(tmp_path, raw_register, column, value, expect):
    df = raw_register.copy()
    # row of Dundee City: a case study, not the pilot, people group 4
    i = df.index[df["name"] == "Dundee City"][0]
    df.loc[i, column] = value
    with pytest.raises(SchemaError, match=expect) as info:
        register.load_register(_write(tmp_path, df))
    assert "partnerships.csv" in str(info.value) and f"'{column}'" in str(info.value)
