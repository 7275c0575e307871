"""Parsers of the ScotPHO inequalities rds, the LGBF rds and the two CPOP releases.

Each real file is parsed once per module and checked against properties the published figures
must have (coverage, codes, quintiles bracketing totals, constant SII, provenance of every value,
the duplicate-copy rule, the CPOP precedence rule). Small constructed frames and files written to
``tmp_path`` check that bad input raises the specific error, located by file, row and column.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.data.sources import PARSERS, cpop, lgbf, scotpho
from analysis.data.sources._common import PARSED_COLUMNS, frame, read_csv_records
from analysis.errors import DataError, DuplicateRowError, NonNumericValueError, ParseError, YearOutOfRangeError
from analysis.paths import RAW

SCOTPHO, LGBF = scotpho.RELPATH, lgbf.RELPATH
CPOP_2017, CPOP_2018 = cpop.RELPATH_2017, cpop.RELPATH_2018
KEY = ["area_name", "indicator", "breakdown", "period"]


def assert_located(err: DataError, file: str, row: int | None, column: str) -> None:
    text = str(err)
    assert f"file {Path(file).name}" in text, text
    if row is not None:
        assert f"row {row}," in text and err.row == row, text
    assert f"column {column!r}" in text, text


def assert_provenance(parsed: pd.DataFrame, raw: pd.DataFrame) -> None:
    """Every value is the raw cell its source_row (1-based record) and source_column name."""
    for column, rows in parsed.groupby("source_column"):
        cells = raw[column].to_numpy(dtype="float64")[rows["source_row"].to_numpy() - 1]
        np.testing.assert_array_equal(rows["value"].to_numpy(), cells, err_msg=column)


# --- fixtures: each real file once ---------------------------------------------------------------

@pytest.fixture(scope="module")
def scotpho_raw() -> pd.DataFrame:
    return scotpho.read_rds(RAW / SCOTPHO)


@pytest.fixture(scope="module")
def scot(scotpho_raw) -> pd.DataFrame:
    return scotpho.scotpho_frame(scotpho_raw, Path(SCOTPHO).name)


@pytest.fixture(scope="module")
def lgbf_raw() -> pd.DataFrame:
    return scotpho.read_rds(RAW / LGBF)


@pytest.fixture(scope="module")
def lgbf_parsed(lgbf_raw) -> pd.DataFrame:
    return lgbf.lgbf_frame(lgbf_raw, Path(LGBF).name)


@pytest.fixture(scope="module")
def cpop_parsed() -> tuple[pd.DataFrame, pd.DataFrame]:
    return PARSERS[CPOP_2017](RAW / CPOP_2017), PARSERS[CPOP_2018](RAW / CPOP_2018)


def test_registered_and_shaped(scot, lgbf_parsed, cpop_parsed):
    for rel in (SCOTPHO, LGBF, CPOP_2017, CPOP_2018):
        assert rel in PARSERS
    reference = frame([]).dtypes
    for parsed in (scot, lgbf_parsed, *cpop_parsed):
        assert list(parsed.columns) == PARSED_COLUMNS
        assert parsed.dtypes.equals(reference)
        assert not parsed.duplicated(KEY).any()
        assert set(parsed["area_level"]) == {"council", "scotland"}
        assert (parsed["area_name"] == parsed["area_name"].str.strip()).all()


@pytest.mark.parametrize(
    ("label", "bounds"),
    [("2004", (2004, 2004)), ("2004/05", (2004, 2004)), ("2006-2010", (2006, 2010)),
     ("2004/05-2006/07", (2004, 2006)), ("2004/06", None), ("2010-2006", None), ("2004/05-2006", None),
     ("2004/5x", None), ("04/05", None)],
)
def test_period_bounds(label, bounds):
    assert scotpho.period_bounds(label) == bounds


# --- ScotPHO: real file --------------------------------------------------------------------------

def test_scotpho_codes_and_areas(scot):
    councils = scot[scot["area_level"] == "council"].drop_duplicates(["area_code", "area_name"])
    assert len(councils) == 32 and councils["area_code"].is_unique and councils["area_name"].is_unique
    assert councils["area_code"].str.fullmatch(r"S12\d{6}").all()
    assert {"S12000047", "S12000048", "S12000049", "S12000050"} <= set(councils["area_code"])
    assert set(scot.loc[scot["area_level"] == "scotland", "area_code"]) == {"S00000001"}
    assert not scot["area_code"].str.startswith("S08").any()  # health boards excluded


def test_scotpho_alcohol_admissions_2002_03(scot):
    rows = scot[(scot["indicator"] == "scotpho_alcohol_admissions") & (scot["period"] == "2002/03")
                & (scot["breakdown"] == "all")]
    assert rows["area_level"].value_counts().to_dict() == {"council": 32, "scotland": 1}
    assert (rows["year"] == 2002).all() and (rows["value"] > 0).all()
    assert set(rows["unit"]) == {"per 100,000 (age-sex standardised)"}


def test_scotpho_quintiles_bracket_total(scot):
    wide = scot[scot["breakdown"].str.startswith("quintile") | (scot["breakdown"] == "all")].pivot_table(
        index=["area_code", "indicator", "period"], columns="breakdown", values="value")
    quintiles = [c for c in wide.columns if c.startswith("quintile")]
    assert len(quintiles) == 5
    wide = wide.dropna()
    assert len(wide) > 11_000
    assert (wide["all"] >= wide[quintiles].min(axis=1)).all()
    assert (wide["all"] <= wide[quintiles].max(axis=1)).all()
    alcohol = wide.xs("scotpho_alcohol_admissions", level="indicator")
    most, least = alcohol["quintile 1 (most deprived)"], alcohol["quintile 5 (least deprived)"]
    assert (most > least).mean() > 0.95


def test_scotpho_sii_once_and_constant_in_raw(scot, scotpho_raw):
    sii = scot[scot["breakdown"] == "sii"]
    assert not sii.duplicated(["area_code", "indicator", "period"]).any()
    assert set(sii["source_column"]) == {"sii"}
    raw = scotpho_raw.assign(source_row=np.arange(1, len(scotpho_raw) + 1))
    group = ["code", "indicator", "def_period", "quint_type"]
    emitted = raw.iloc[sii["source_row"] - 1][group].assign(emitted=sii["value"].to_numpy())
    cells = raw.merge(emitted, on=group)
    cells = cells[cells["sii"].notna()]
    assert len(cells) > 60_000
    assert (cells["sii"] == cells["emitted"]).all()
    rii_units = set(scot.loc[scot["breakdown"].str.startswith("rii"), "unit"])
    assert rii_units == {scotpho.RII_UNIT}


def test_scotpho_values_are_raw_cells_and_suppression_stays_unfilled(scot, scotpho_raw):
    assert set(scot["source_column"]) == {"measure", *scotpho.INEQUALITY}
    assert_provenance(scot, scotpho_raw)
    suppressed = scotpho_raw["numerator"].isna().to_numpy()
    carried = scot[scot["source_column"] == "measure"]
    hit = carried[suppressed[carried["source_row"] - 1]]
    assert len(hit) == 1_707  # suppressed numerators on carried records; the measure is published
    assert set(hit["indicator"]) == {"scotpho_drug_deaths", "scotpho_psychiatric_hospitalisations"}
    # NaN only where the raw cell is blank: 2 RII triples whose area total is 0
    assert scot["value"].isna().sum() == 6
    assert set(scot.loc[scot["value"].isna(), "breakdown"]) == {"rii", "rii_lowci", "rii_upci"}


def test_scotpho_periods(scot):
    label = scotpho._def_period_label
    assert label("2002 to 2004 calendar years; 3-year aggregates") == "2002-2004"
    assert label("2002/03 financial year") == "2002/03"
    assert label("2002/03 to 2004/05 financial years; 3-year aggregates") == "2002/03-2004/05"
    assert label("2014/15 to 2016/17 school years; 3-year aggregates") == "2014/15-2016/17"
    assert label("2002/04-2004/05 financial years; 3-year aggregates") == "2002/03-2004/05"  # misprint
    assert label("2002 to 2005 calendar years; 3-year aggregates") is None  # 4 years, not 3
    first = scot.groupby("indicator")["period"].min()
    assert first["scotpho_alcohol_admissions"] == "2002/03"
    assert first["scotpho_deaths_all_ages"] == "2002-2004"
    assert first["scotpho_dying_in_hospital"] == "2002/03-2004/05"
    assert first["scotpho_alcohol_deaths"] == "2002-2006"
    row = scot[(scot["period"] == "2002-2004")].iloc[0]
    assert row["year"] == 2002


def test_scotpho_patients_per_gp_totals_only(scot):
    gp = scot[(scot["indicator"] == "scotpho_patients_per_gp") & (scot["area_level"] == "council")]
    assert set(gp["breakdown"]) == {"all"}
    assert len(gp) == 32 * 11 and gp["area_code"].nunique() == 32


# --- ScotPHO: constructed frames -----------------------------------------------------------------

def scotpho_group(code: str = "S12000005", areaname: str = "Clackmannanshire", areatype: str = "Council area",
                  quint_type: str = "ca_quin") -> pd.DataFrame:
    measures = [900.0, 700.0, 500.0, 400.0, 300.0, 560.0]
    return pd.DataFrame([
        dict(code=code, areaname=areaname, areatype=areatype, quint_type=quint_type, quintile=quintile,
             indicator="Alcohol-related hospital admissions", ind_id=20203.0,
             type_definition="Age-sex standardised rate per 100,000", interpret="L",
             def_period="2002/03 financial year", year=2002.0, measure=measure, numerator=10.0,
             sii=-700.0, lowci_sii=-800.0, upci_sii=-600.0, rii=-1.25, lowci_rii=-1.4, upci_rii=-1.1)
        for quintile, measure in zip(scotpho.QUINTILES, measures, strict=True)
    ])


@pytest.fixture
def scotpho_small() -> pd.DataFrame:
    return pd.concat([scotpho_group(), scotpho_group("S00000001", "Scotland", "Scotland", "sc_quin")],
                     ignore_index=True)


def test_scotpho_constructed_ok(scotpho_small):
    small = scotpho_small.copy()
    small.loc[2, ["measure", "numerator"]] = np.nan  # a blank measure stays, as NaN
    out = scotpho.scotpho_frame(small, "x.rds")
    assert len(out) == 2 * (6 + 6)
    assert math.isnan(out.loc[out["source_row"] == 3, "value"].item())
    sii = out[(out["breakdown"] == "sii") & (out["area_level"] == "council")]
    assert sii["value"].tolist() == [-700.0] and sii["source_row"].tolist() == [6]


@pytest.mark.parametrize(
    ("row", "column", "value", "error"),
    [
        (3, "quint_type", "la_quin", ParseError),  # unknown quint_type
        (2, "sii", -650.0, ParseError),  # SII not constant within area-period
        (1, "def_period", "2002/03 to 2004/06 financial years; 3-year aggregates", ParseError),
        (1, "year", 2003.0, ParseError),  # not the middle year of the period
        (7, "code", "S08000015", ParseError),  # a health-board code on the Scotland row
        (4, "quintile", "Total", DuplicateRowError),
    ],
)
def test_scotpho_bad_input(scotpho_small, row, column, value, error):
    scotpho_small.loc[row - 1, column] = value
    with pytest.raises(error) as info:
        scotpho.scotpho_frame(scotpho_small, "bad.rds")
    assert type(info.value) is error
    assert_located(info.value, "bad.rds", row if column != "quintile" else 6, column)


def test_scotpho_unknown_indicator(scotpho_small):
    scotpho_small["indicator"] = "Something else"
    with pytest.raises(ParseError) as info:
        scotpho.scotpho_frame(scotpho_small, "bad.rds")
    assert_located(info.value, "bad.rds", 1, "indicator")


# --- LGBF: real file -----------------------------------------------------------------------------

def test_lgbf_coverage(lgbf_parsed):
    assert lgbf_parsed["indicator"].nunique() == 139
    councils = lgbf_parsed.loc[lgbf_parsed["area_level"] == "council", "area_name"].unique()
    assert len(councils) == 32 and "Scotland" not in councils
    assert set(lgbf_parsed.loc[lgbf_parsed["area_level"] == "scotland", "area_name"]) == {"Scotland"}
    single = lgbf_parsed.loc[~lgbf_parsed["period"].str.contains("-"), "period"]
    assert sorted(single.unique()) == [f"{y}/{(y + 1) % 100:02d}" for y in range(2010, 2021)]
    assert lgbf_parsed["year"].between(2007, 2020).all()
    spans = lgbf_parsed.loc[lgbf_parsed["period"].str.contains("-"), "period"]
    assert spans.str.fullmatch(r"\d{4}-\d{4}").all() and "2010-2014" in set(spans)
    assert not lgbf_parsed["period"].str.contains(r"\.\.\.").any()
    assert not lgbf_parsed.duplicated(KEY).any()
    per_year = lgbf_parsed[lgbf_parsed["indicator"] == "lgbf_chn1"].groupby("period").size()
    assert (per_year == 33).all() and len(per_year) == 11


def test_lgbf_values_and_units(lgbf_parsed, lgbf_raw):
    assert_provenance(lgbf_parsed, lgbf_raw)
    units = lgbf_parsed.drop_duplicates("indicator").set_index("indicator")["unit"]
    assert units["lgbf_chn1"] == "GBP per pupil"
    assert units["lgbf_chn1_real"] == "GBP per pupil (2020-21 prices)"
    assert units["lgbf_chn11"] == "percent"
    assert units["lgbf_mye_population"] == "persons"
    assert "as published" not in set(units)
    ref = scotpho.reference_table("lgbf_indicators.csv")
    assert len(ref) == 139 and ref["indicator_id"].map(lambda i: scotpho.slug(i) == i).all()


def test_lgbf_suffix_copies_resolved_by_majority(lgbf_parsed):
    mye = lgbf_parsed[(lgbf_parsed["indicator"] == "lgbf_mye_population")]
    assert len(mye) == 33 * 11
    aberdeen = mye[(mye["area_name"] == "Aberdeen City") & (mye["period"] == "2010/11")]
    assert aberdeen["value"].tolist() == [217_120.0]  # 3 of 4 copies; the 4th says 220,420
    copies = lgbf.lgbf_suffix_copies(RAW / LGBF)
    counts = copies.groupby(["Indicator2", "status"]).size().to_dict()
    assert counts == {
        ("MYE Population", "kept"): 363, ("MYE Population", "identical copy"): 1_857,
        ("MYE Population", "differing copy"): 90,
        ("Number of Premises for Refuse Collection", "kept"): 363,
        ("Number of Premises for Refuse Collection", "identical copy"): 561,
    }
    assert copies["Year"].str.contains(r"\.\.\.\d+$").all()
    differing = copies[copies["status"] == "differing copy"]
    assert (differing["value"] != differing["kept_value"]).all()
    assert differing.groupby("period").size().to_dict() == {"2010/11": 33, "2013/14": 28, "2014/15": 29}


def test_lgbf_family_groups():
    groups = lgbf.lgbf_family_groups(RAW / LGBF)
    assert list(groups.columns) == ["area_name", "family_group_people", "family_group_other"]
    assert len(groups) == 32 and groups["area_name"].is_unique
    for column in ("family_group_people", "family_group_other"):
        assert groups[column].value_counts().to_dict() == {1: 8, 2: 8, 3: 8, 4: 8}
    by_name = groups.set_index("area_name")
    assert by_name.loc["Glasgow City"].tolist() == [4, 4]
    assert by_name.loc["Shetland Islands"].tolist() == [1, 1]


# --- LGBF: constructed frames --------------------------------------------------------------------

def lgbf_rows(*rows: tuple[str, str, str, float]) -> pd.DataFrame:
    """Records (area, code, Year, value) with the metadata the reference table gives the code."""
    ref = scotpho.reference_table("lgbf_indicators.csv").set_index("code")
    flags = {"yes": "Yes", "no": "No", "": None}
    return pd.DataFrame([
        {"Local Authority": area, "Value": value, "Year": year, "Indicator2": code,
         "Title": ref.at[code, "title"], "Category": ref.at[code, "category"],
         "Domain": ref.at[code, "domain"], "One is high": flags[ref.at[code, "one_is_high"]],
         "Key indicator": flags[ref.at[code, "key_indicator"]],
         "Family group (People)": 1.0, "Family group (Other)": 4.0}
        for area, code, year, value in rows
    ])


def test_lgbf_constructed_majority_and_periods():
    raw = lgbf_rows(("Aberdeen City", "CHN1", "2010-11", 4960.3), ("Aberdeen City", "C&L5a", "2010-14", 80.0),
                    ("Aberdeen City", "MYE Population", "2010-11...1090", 100.0),
                    ("Aberdeen City", "MYE Population", "2010-11...1278", 105.0),
                    ("Aberdeen City", "MYE Population", "2010-11...1421", 100.0))
    out = lgbf.lgbf_frame(raw, "x.rds")
    assert out[["indicator", "period", "year", "value", "source_row"]].values.tolist() == [
        ["lgbf_chn1", "2010/11", 2010, 4960.3, 1], ["lgbf_c_l5a", "2010-2014", 2010, 80.0, 2],
        ["lgbf_mye_population", "2010/11", 2010, 100.0, 3]]


@pytest.mark.parametrize(
    ("rows", "error", "row", "column"),
    [
        ([("Angus", "MYE Population", "2010-11...1090", 1.0),
          ("Angus", "MYE Population", "2010-11...1278", 2.0)], ParseError, 1, "Value"),  # no majority
        ([("Angus", "CHN1", "2010-11", 1.0), ("Angus", "CHN1", "2010-11", 1.0)],
         DuplicateRowError, 2, "Year"),  # a repeat without the suffix
        ([("Angus", "CHN1", "2010-11", 1.0), ("Angus", "CHN1", "2010-1x", 1.0)], ParseError, 2, "Year"),
        ([("Angus", "CHN1", "2005-06", 1.0)], YearOutOfRangeError, 1, "Year"),  # before the range
        ([("Angus", "CHN99", "2010-11", 1.0)], ParseError, 1, "Indicator2"),
    ],
)
def test_lgbf_bad_input(rows, error, row, column):
    raw = lgbf_rows(*[(area, "CHN1" if code == "CHN99" else code, year, v) for area, code, year, v in rows])
    raw["Indicator2"] = [code for _, code, _, _ in rows]
    with pytest.raises(error) as info:
        lgbf.lgbf_frame(raw, "bad.rds")
    assert type(info.value) is error
    assert_located(info.value, "bad.rds", row, column)


def test_lgbf_family_group_not_constant():
    raw = lgbf_rows(("Angus", "CHN1", "2010-11", 1.0), ("Angus", "CHN1", "2011-12", 1.0))
    raw.loc[1, "Family group (People)"] = 2.0
    with pytest.raises(ParseError) as info:
        lgbf.family_groups_frame(raw, "bad.rds")
    assert_located(info.value, "bad.rds", 2, "Family group (People)")


# --- CPOP: real files ----------------------------------------------------------------------------

def test_cpop_only_observations(cpop_parsed):
    for rel, parsed, rows in ((CPOP_2017, cpop_parsed[0], 4_983), (CPOP_2018, cpop_parsed[1], 5_346)):
        raw = pd.read_csv(RAW / rel, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        at = parsed["source_row"].to_numpy() - 2  # line 2 holds the first record
        assert len(parsed) == rows and set(raw["Type"].to_numpy()[at]) == {"Raw data"}
        assert set(raw["Type"]) == {"Raw data", "Imputed", "Projected"}
        values = pd.to_numeric(raw["value"].replace("NA", np.nan)).to_numpy()[at]
        np.testing.assert_array_equal(parsed["value"].to_numpy(), values)
        assert (parsed.groupby(["indicator", "period"])["area_name"].nunique() == 33).all()


def test_cpop_year_formats_real(cpop_parsed):
    v2017 = cpop_parsed[0]
    line = dict(zip(v2017["source_row"], zip(v2017["period"], v2017["year"], strict=True), strict=True))
    records = read_csv_records(RAW / CPOP_2017)[1:]
    for year, expected in [("2004/05", ("2004/05", 2004)), (" 2004", ("2004", 2004)),
                           ("2006-2010", ("2006-2010", 2006)),
                           ("2004/05 - 2006/07", ("2004/05-2006/07", 2004)),
                           (" 2004/05-2006/07", ("2004/05-2006/07", 2004))]:
        n = next(n for n, cells in records if cells[3] == year and cells[2] == "Raw data")
        assert line[n] == expected, year


@pytest.mark.parametrize(
    ("text", "label"),
    [("2004", "2004"), ("2004/05", "2004/05"), ("2006-2010", "2006-2010"),
     ("2004/05 - 2006/07", "2004/05-2006/07"), ("2004/05-2006/07", "2004/05-2006/07"), ("2004/5x", None),
     ("2004-05", None), ("FY2004", None)],
)
def test_cpop_year_format_mapping(text, label):
    assert cpop._period(text) == label


def test_cpop_combined(cpop_parsed):
    v2017, v2018 = cpop_parsed
    combined, superseded = cpop.combine_cpop(v2017, v2018)
    assert len(superseded) == 1_749
    assert len(combined) + len(superseded) == len(v2017) + len(v2018)
    assert not combined.duplicated(KEY).any() and list(combined.columns) == PARSED_COLUMNS
    assert set(superseded["source"]) == {Path(CPOP_2017).name}
    assert (combined["source"] == Path(CPOP_2018).name).sum() == len(v2018)
    co2 = superseded[superseded["indicator"] == "cpop_co2_emissions"]
    assert len(co2) == 330 and (co2["value"] == co2["value_2018"]).all()
    poverty = superseded[superseded["indicator"] == "cpop_child_poverty"]
    assert len(poverty) == 165 and (poverty["value"] == poverty["value_2018"]).all()
    assert set(poverty["period"]) == {"2009", "2010", "2011", "2012", "2013"}
    assert set(poverty["period_2018"]) == {"2009/10", "2010/11", "2011/12", "2012/13", "2013/14"}
    # the 2017 release gives Highland's 2015/16 unplanned attendances to the wrong council
    highland = superseded[(superseded["area_name"] == "Highland") & (superseded["period"] == "2015/16")
                          & (superseded["indicator"] == "cpop_unplanned_attendances")]
    assert highland["value"].round().tolist() == [36_801]
    assert highland["value_2018"].round().tolist() == [18_576]
    # different measures keep different ids: the 2018 birthweight is a 3-year rolling mean
    assert not superseded["indicator"].str.endswith("_3yr").any()
    ref = scotpho.reference_table("cpop_indicators.csv")
    assert ref["indicator_id"].map(lambda i: scotpho.slug(i) == i and i.startswith("cpop_")).all()


def cpop_rows(*rows: tuple) -> pd.DataFrame:
    fixed = {"area_code": None, "area_level": "council", "breakdown": "all", "unit": "percent",
             "source": "x.csv", "source_column": "value"}
    names = ["area_name", "indicator", "period", "year", "value"]
    return frame([{**dict(zip(names, row, strict=True)), **fixed, "source_row": line}
                  for line, row in enumerate(rows, start=2)])


def test_combine_cpop_precedence():
    v2017 = cpop_rows(("Angus", "cpop_a", "2009", 2009, 1.0), ("Angus", "cpop_a", "2010/11", 2010, 2.0),
                      ("Angus", "cpop_b", "2004", 2004, 3.0), ("Angus", "cpop_a", "2009-2011", 2009, 4.0))
    v2018 = cpop_rows(("Angus", "cpop_a", "2009/10", 2009, 10.0), ("Angus", "cpop_a", "2010/11", 2010, 20.0),
                      ("Angus", "cpop_a", "2011/12", 2011, 30.0))
    combined, superseded = cpop.combine_cpop(v2017, v2018)
    assert sorted(combined[["indicator", "period", "value"]].values.tolist()) == [
        ["cpop_a", "2009-2011", 4.0], ["cpop_a", "2009/10", 10.0], ["cpop_a", "2010/11", 20.0],
        ["cpop_a", "2011/12", 30.0], ["cpop_b", "2004", 3.0]]
    columns = ["period", "value", "period_2018", "value_2018", "source_row_2018"]
    assert superseded[columns].values.tolist() == [["2009", 1.0, "2009/10", 10.0, 2],
                                                   ["2010/11", 2.0, "2010/11", 20.0, 3]]
    with pytest.raises(DuplicateRowError) as info:
        cpop.combine_cpop(v2017, pd.concat([v2018, v2018.iloc[:1]], ignore_index=True))
    assert_located(info.value, "x.csv", 2, "Year")


# --- CPOP: constructed files ---------------------------------------------------------------------

def write_cpop(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "cpop_test.csv"
    path.write_text("\n".join(["CPP,Indicator,Type,Year,value", *lines]) + "\n", encoding="utf-8")
    return path


def test_cpop_constructed_ok(tmp_path):
    path = write_cpop(tmp_path, "Angus,Employment Rate,Raw data,2004/05,70.5",
                      "Angus,Employment Rate,Projected,2017/18,71",
                      "Scotland,Emergency Admissions Rate,Raw data, 2004/05-2006/07,23515.6",
                      "Scotland,Emergency Admissions Rate,Raw data,2004,NA")
    out = cpop.parse_cpop_2017(path)
    assert out[["area_level", "indicator", "period", "year", "source_row"]].values.tolist() == [
        ["council", "cpop_employment_rate", "2004/05", 2004, 2],
        ["scotland", "cpop_emergency_admissions_3yr", "2004/05-2006/07", 2004, 4],
        ["scotland", "cpop_emergency_admissions", "2004", 2004, 5]]
    assert math.isnan(out["value"].iloc[2])


@pytest.mark.parametrize(
    ("line", "error", "column"),
    [
        ("Angus,Employment Rate,Estimated,2004/05,70.5", ParseError, "Type"),
        ("Angus,Employment Rate,Raw data,2004/5x,70.5", ParseError, "Year"),
        ("Angus,Employment Rate,Projected,2004/5x,70.5", ParseError, "Year"),  # every record is checked
        ("Angus,Employment Rate,Raw data,2004/05,seventy", NonNumericValueError, "value"),
        ("Angus,Employment Rate,Raw data,2004/05,12;5", NonNumericValueError, "value"),
        ("Angus,Jobs,Raw data,2004/05,70.5", ParseError, "Indicator"),
        ("Angus,Employment Rate,Raw data,2004-2006,70.5", ParseError, "Indicator"),  # span not in the table
        ("Angus,Employment Rate,Raw data,2003/04,70.5", YearOutOfRangeError, "Year"),  # before the range
    ],
)
def test_cpop_bad_input(tmp_path, line, error, column):
    path = write_cpop(tmp_path, "Angus,Employment Rate,Raw data,2005/06,71.5", line)
    with pytest.raises(error) as info:
        cpop.parse_cpop_2017(path)
    assert type(info.value) is error
    assert_located(info.value, path.name, 3, column)


def test_cpop_duplicate_observation(tmp_path):
    line = "Angus,Employment Rate,Raw data,2005/06,71.5"
    path = write_cpop(tmp_path, line, line)
    with pytest.raises(DuplicateRowError) as info:
        cpop.parse_cpop_2017(path)
    assert_located(info.value, path.name, 3, "Year")


def test_cpop_missing_column(tmp_path):
    path = tmp_path / "cpop_test.csv"
    path.write_text("CPP,Indicator,Kind,Year,value\nAngus,Employment Rate,Raw data,2005/06,71.5\n")
    with pytest.raises(ParseError) as info:
        cpop.parse_cpop_2017(path)
    assert re.search(r"column 'Type'", str(info.value)) and "cpop_test.csv" in str(info.value)
