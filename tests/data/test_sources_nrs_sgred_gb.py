"""Parsers of the NRS tables, the SGRED dashboard tables and the ONS GB regional tables.

Each parser is run on its real raw file and checked against properties the published figures must
satisfy (coverage, published values, totals that add up, consistency across files). Tampered copies
written to ``tmp_path`` check that bad input raises the specific error, located by file, row and
column.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from analysis.data.sources import PARSERS, nrs, ons_gb, sgred
from analysis.data.sources._common import PARSED_COLUMNS
from analysis.errors import DataError, NonNumericValueError, ParseError, YearOutOfRangeError
from analysis.paths import RAW

ALCOHOL = "scotland/nrs_alcohol_specific_deaths_by_council_1979_2019.csv"
DRUGS = "scotland/nrs_drug_related_deaths_by_council_2009_2019_tableC1.csv"
MYE = "scotland/nrs_mye_single_year_age_sex_council_1998_2018.xlsx"
SGRED = {
    "scotland/sgred_la_t20.csv": ("population", "persons", 1991, 2019),
    "scotland/sgred_la_t21.csv": ("population_16plus", "persons", 1991, 2019),
    "scotland/sgred_la_t22.csv": ("population_16_64", "persons", 1991, 2019),
    "scotland/sgred_la_t1.csv": ("gva_per_head", "GBP", 1998, 2018),
    "scotland/sgred_la_t14a.csv": ("employment_rate", "percent", 2004, 2019),
    "scotland/sgred_la_t17b.csv": ("unemployment_rate", "percent", 2004, 2019),
}
GDP, GDP_CVM, POP = (
    "gb/ukcompare_itl_gdp_current_1998_2021.csv",
    "gb/ukcompare_itl_gdp_cvm2019_1998_2021.csv",
    "gb/ukcompare_itl_population_1998_2021.csv",
)
GDHI_HEAD, GDHI = "gb/ruk_ons_perhead_gdhi_nuts_1997_2018.csv", "gb/ruk_ons_household_gdhi_nuts_1997_2018.csv"
GB = {
    GDP: ("gdp", "GBP million", "itl", 1998, 2021),
    GDP_CVM: ("gdp_cvm2019", "GBP million (2019 prices)", "itl", 1998, 2021),
    POP: ("population", "persons", "itl", 1998, 2021),
    GDHI_HEAD: ("gdhi_per_head", "GBP", "nuts", 1997, 2018),
    GDHI: ("gdhi", "GBP million", "nuts", 1997, 2018),
}
MINE = {
    ALCOHOL: nrs.parse_alcohol_specific_deaths,
    DRUGS: nrs.parse_drug_related_deaths,
    MYE: nrs.parse_population_age_sex,
    "scotland/sgred_la_t20.csv": sgred.parse_population,
    "scotland/sgred_la_t21.csv": sgred.parse_population_16plus,
    "scotland/sgred_la_t22.csv": sgred.parse_population_16_64,
    "scotland/sgred_la_t1.csv": sgred.parse_gva_per_head,
    "scotland/sgred_la_t14a.csv": sgred.parse_employment_rate,
    "scotland/sgred_la_t17b.csv": sgred.parse_unemployment_rate,
    GDP: ons_gb.parse_itl_gdp_current,
    GDP_CVM: ons_gb.parse_itl_gdp_cvm2019,
    POP: ons_gb.parse_itl_population,
    GDHI_HEAD: ons_gb.parse_nuts_gdhi_per_head,
    GDHI: ons_gb.parse_nuts_gdhi,
}


# --- helpers -------------------------------------------------------------------------------------

def parse(relpath: str) -> pd.DataFrame:
    return PARSERS[relpath](RAW / relpath)


def tampered(relpath: str, tmp_path: Path, line: int, old: str, new: str, encoding: str = "utf-8") -> Path:
    """Copy a raw file into ``tmp_path`` (same name) with ``old`` replaced by ``new`` on one line."""
    lines = (RAW / relpath).read_bytes().decode(encoding).split("\n")
    assert lines[line - 1].count(old) == 1, f"{old!r} is not unique on line {line}"
    lines[line - 1] = lines[line - 1].replace(old, new)
    out = tmp_path / Path(relpath).name
    out.write_bytes("\n".join(lines).encode(encoding))
    return out


def appended(relpath: str, tmp_path: Path, text: str, encoding: str = "utf-8") -> Path:
    """Copy a raw file into ``tmp_path`` (same name) with one line added at the end."""
    out = tmp_path / Path(relpath).name
    original = (RAW / relpath).read_bytes()
    out.write_bytes(original + (text + "\n").encode(encoding))
    return out


def assert_located(error: DataError, path: Path, row: int, column: str | None) -> None:
    message = str(error)
    assert path.name in message
    assert f"row {row}" in message and error.row == row
    if column is not None:
        assert repr(column) in message and error.column == column


def wide(df: pd.DataFrame, index: str = "area_name") -> pd.DataFrame:
    return df.pivot(index=index, columns="year", values="value")


@pytest.fixture(scope="module")
def mye() -> pd.DataFrame:
    return parse(MYE)


# --- registry ------------------------------------------------------------------------------------

def test_each_file_has_its_parser_and_exists() -> None:
    for relpath, func in MINE.items():
        assert PARSERS[relpath] is func
        assert (RAW / relpath).is_file()


@pytest.mark.parametrize("relpath", [path for path in MINE if path != MYE])
def test_panel_parsers_return_the_contract(relpath: str) -> None:
    df = parse(relpath)
    assert list(df.columns) == PARSED_COLUMNS
    assert df["year"].dtype == "int64" and df["value"].dtype == "float64"
    assert (df["source"] == Path(relpath).name).all()
    key = ["area_name", "area_code", "indicator", "breakdown", "period"]
    assert not df.duplicated(key).any()


# --- alcohol-specific deaths ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def alcohol() -> pd.DataFrame:
    return parse(ALCOHOL)


def test_alcohol_coverage(alcohol: pd.DataFrame) -> None:
    annual = alcohol[alcohol.indicator == "alcohol_specific_deaths"]
    averages = alcohol[alcohol.indicator == "alcohol_specific_deaths_5yr_avg"]
    assert len(annual) == 33 * 41 and annual.area_name.nunique() == 33
    assert set(annual.year) == set(range(1979, 2020)) and (annual.unit == "count").all()
    assert len(averages) == 33 * 37 and (averages.unit == "deaths per year").all()
    assert set(averages.period) == {f"{y}-{y + 4}" for y in range(1979, 2016)}
    assert (averages.period.str[:4].astype(int) == averages.year).all()
    names = set(alcohol.area_name)
    assert {"Aberdeen-shire", "Clackma-nnanshire", "East Dunbart-onshire", "All Scotland1"} <= names
    assert set(alcohol.loc[alcohol.area_level == "scotland", "area_name"]) == {"All Scotland1"}
    assert (alcohol.source_column == alcohol.area_name).all()


def test_alcohol_published_values(alcohol: pd.DataFrame) -> None:
    first = alcohol.set_index(["area_name", "period"])
    scotland_1979 = first.loc[("All Scotland1", "1979")]
    assert scotland_1979.value == 389 and scotland_1979.source_row == 6
    assert first.loc[("Glasgow City", "1979"), "value"] == 139
    assert first.loc[("All Scotland1", "2014-2018"), "value"] == 1095.0  # published "1,095"
    assert first.loc[("All Scotland1", "2013"), "value"] == 1002.0  # published "1,002"
    assert first.loc[("All Scotland1", "2015-2019"), "source_row"] == 86


def test_alcohol_councils_add_up_to_scotland_from_1991(alcohol: pd.DataFrame) -> None:
    table = wide(alcohol[alcohol.indicator == "alcohol_specific_deaths"])
    gap = table.loc["All Scotland1"] - table.drop(index="All Scotland1").sum()  # NaN counts as 0
    assert (gap.loc[1991:] == 0).all()
    # Footnote 1: up to 1990 the total may include deaths whose council is unknown.
    early = gap.loc[:1990]
    assert early.between(0, 7).all() and (early > 0).sum() == 10 and early.loc[1979] == 7


def test_alcohol_only_missing_cell_is_shetland_2012(alcohol: pd.DataFrame) -> None:
    missing = alcohol[alcohol.value.isna()]
    assert missing[["area_name", "period"]].values.tolist() == [["Shetland Islands", "2012"]]


def test_alcohol_moving_averages_match_annual_counts(alcohol: pd.DataFrame) -> None:
    annual = wide(alcohol[alcohol.indicator == "alcohol_specific_deaths"])
    averages = wide(alcohol[alcohol.indicator == "alcohol_specific_deaths_5yr_avg"])
    means = pd.concat({y: annual.loc[:, y:y + 4].mean(axis=1, skipna=False) for y in averages.columns},
                      axis=1)
    known = means.notna()
    assert known.sum().sum() == 33 * 37 - 5  # five windows contain Shetland 2012
    assert ((averages - means).abs()[known] <= 0.5).sum().sum() == known.sum().sum()


def test_alcohol_trailing_year_must_repeat_the_first(tmp_path: Path) -> None:
    path = tampered(ALCOHOL, tmp_path, 6, ",6,4,1979", ",6,4,1978", "latin-1")
    with pytest.raises(ParseError) as caught:
        nrs.parse_alcohol_specific_deaths(path)
    assert_located(caught.value, path, 6, "Year (repeated in the last column)")


def test_alcohol_non_numeric_count(tmp_path: Path) -> None:
    path = tampered(ALCOHOL, tmp_path, 6, "1979,389,", "1979,abc,", "latin-1")
    with pytest.raises(NonNumericValueError) as caught:
        nrs.parse_alcohol_specific_deaths(path)
    assert_located(caught.value, path, 6, "All Scotland1")


def test_alcohol_year_out_of_range(tmp_path: Path) -> None:
    path = tampered(ALCOHOL, tmp_path, 46, "2019,", "2050,", "latin-1")
    with pytest.raises(YearOutOfRangeError) as caught:
        nrs.parse_alcohol_specific_deaths(path)
    assert_located(caught.value, path, 46, "Year")


def test_alcohol_unknown_footer_line(tmp_path: Path) -> None:
    path = appended(ALCOHOL, tmp_path, "Source: somewhere else" + "," * 34, "latin-1")
    with pytest.raises(ParseError) as caught:
        nrs.parse_alcohol_specific_deaths(path)
    assert_located(caught.value, path, 96, "Year")


def test_alcohol_unknown_body_line(tmp_path: Path) -> None:
    path = tampered(ALCOHOL, tmp_path, 47, "," * 34, "Provisional" + "," * 34, "latin-1")
    with pytest.raises(ParseError) as caught:
        nrs.parse_alcohol_specific_deaths(path)
    assert_located(caught.value, path, 47, "Year")


# --- drug-related deaths -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def drugs() -> pd.DataFrame:
    return parse(DRUGS)


def test_drug_deaths_coverage(drugs: pd.DataFrame) -> None:
    counts = drugs.groupby(["indicator", "breakdown"]).size().to_dict()
    assert counts == {
        ("drug_related_deaths", "all"): 33 * 11,
        ("drug_related_deaths", "males"): 33 * 2,
        ("drug_related_deaths", "females"): 33 * 2,
        ("drug_related_deaths_5yr_avg", "all"): 33 * 2,
    }
    assert {"Argyll & Bute", "Dumfries & Galloway", "Perth & Kinross", "Na h-Eileanan Siar"} <= set(
        drugs.area_name)
    assert set(drugs.loc[drugs.area_level == "scotland", "area_name"]) == {"Scotland"}
    assert drugs.value.notna().all()
    averages = drugs[drugs.indicator == "drug_related_deaths_5yr_avg"]
    assert set(averages.period) == {"2005-2009", "2015-2019"} and set(averages.year) == {2005, 2015}
    assert (averages.unit == "deaths per year").all()
    assert not drugs.source_column.str.contains("Population|1,000").any()


def test_drug_deaths_published_values(drugs: pd.DataFrame) -> None:
    key = drugs.set_index(["area_name", "indicator", "breakdown", "period"])
    assert key.loc[("Scotland", "drug_related_deaths", "all", "2019"), "value"] == 1264  # "1,264 "
    assert key.loc[("Aberdeen City", "drug_related_deaths", "all", "2018"), "value"] == 52  # "52 "
    males = key.loc[("Scotland", "drug_related_deaths", "males", "2019")]
    assert males.value == 877 and males.source_column == "Males 2019" and males.source_row == 8
    average = key.loc[("Scotland", "drug_related_deaths_5yr_avg", "all", "2005-2009")]
    assert average.value == 466 and average.source_column == "Annual averages 2005 to 2009"


def test_drug_deaths_add_up(drugs: pd.DataFrame) -> None:
    table = drugs.pivot_table(index="area_name", columns=["indicator", "breakdown", "period"],
                              values="value")
    councils = table.drop(index="Scotland")
    gap = table.loc["Scotland"] - councils.sum()
    counts = gap.loc["drug_related_deaths"]
    assert (counts == 0).all()  # every year, both sexes
    assert gap.loc["drug_related_deaths_5yr_avg"].abs().max() <= 2  # rounded averages
    deaths = table["drug_related_deaths"]
    for year in ("2009", "2019"):
        assert (deaths[("males", year)] + deaths[("females", year)] == deaths[("all", year)]).all()
    annual = table["drug_related_deaths"]["all"][[str(y) for y in range(2015, 2020)]]
    published = table[("drug_related_deaths_5yr_avg", "all", "2015-2019")]
    assert (np.floor(annual.mean(axis=1) + 0.5) == published).all()


def test_drug_deaths_checks_the_dropped_columns(tmp_path: Path) -> None:
    path = tampered(DRUGS, tmp_path, 4, "Population in 2017", "Population in 2018", "latin-1")
    with pytest.raises(ParseError) as caught:
        nrs.parse_drug_related_deaths(path)
    assert_located(caught.value, path, 4, "Population in 2017")


def test_drug_deaths_non_numeric(tmp_path: Path) -> None:
    path = tampered(DRUGS, tmp_path, 10, "52 ", "abc", "latin-1")
    with pytest.raises(NonNumericValueError) as caught:
        nrs.parse_drug_related_deaths(path)
    assert_located(caught.value, path, 10, "2018")


def test_drug_deaths_unknown_footer_line(tmp_path: Path) -> None:
    path = appended(DRUGS, tmp_path, "Revised figures to follow" + "," * 25, "latin-1")
    with pytest.raises(ParseError) as caught:
        nrs.parse_drug_related_deaths(path)
    assert_located(caught.value, path, 52, "Council area1")


def test_nrs_csv_copyright_line_is_latin1() -> None:
    for relpath in (ALCOHOL, DRUGS):
        raw = (RAW / relpath).read_bytes()
        assert {byte for byte in raw if byte > 127} == {0xA9}
        assert "© Crown Copyright 2020" in raw.decode("latin-1")


# --- NRS population by age and sex ---------------------------------------------------------------

def test_mye_shape_and_domains(mye: pd.DataFrame) -> None:
    assert list(mye.columns) == nrs.POPULATION_AGE_SEX_COLUMNS
    assert len(mye) == 126_126 == 33 * 21 * 2 * 91
    assert not mye.duplicated(["area_name", "year", "sex", "age"]).any()
    assert mye.area_name.nunique() == 33 and "Scotland" in set(mye.area_name)
    assert {"City of Edinburgh", "Na h-Eileanan Siar"} <= set(mye.area_name)
    assert set(mye.sex) == {"F", "M"} and set(mye.age) == set(range(91))
    assert set(mye.year) == set(range(1998, 2019))
    assert mye.population.notna().all() and (mye.population >= 0).all()
    assert mye.dtypes.to_dict() == {"area_name": object, "year": "int64", "sex": object, "age": "int64",
                                    "population": "float64", "source": object, "source_row": "int64"}
    assert mye.source_row.tolist() == list(range(2, 126_128))


def test_mye_scotland_is_the_sum_of_councils(mye: pd.DataFrame) -> None:
    key = ["year", "sex", "age"]
    scotland = mye[mye.area_name == "Scotland"].set_index(key).population
    councils = mye[mye.area_name != "Scotland"].groupby(key).population.sum()
    assert (scotland - councils).abs().max() == 0


def test_mye_against_the_dashboard_population(mye: pd.DataFrame) -> None:
    totals = mye.groupby(["area_name", "year"]).population.sum()
    assert totals.loc[("Glasgow City", 2003)] == 572_260
    assert totals.loc[("Dundee City", 2003)] == 144_070  # blank in the dashboard tables
    dashboard = parse("scotland/sgred_la_t20.csv").set_index(["area_name", "year"]).value
    joined = pd.concat({"mye": totals, "sgred": dashboard}, axis=1, join="inner").dropna()
    assert len(joined) == 32 * 21 - 1
    assert joined.loc[("Glasgow City", 2003), "sgred"] == 572_270
    differ = joined[joined.mye != joined.sgred]
    # A different revision: 57 council-years differ, by 10-20 persons, all within 2002-2010.
    assert len(differ) == 57 and (differ.mye - differ.sgred).abs().max() == 20
    assert set(differ.index.get_level_values("year")) <= set(range(2002, 2011))


def _small_workbook(tmp_path: Path, bad: dict[str, object]) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Area", "Year", "Sex", "Age", "Population"])
    sheet.append(["Angus", 1998, "F", 0, 500])
    row = {"Area": "Angus", "Year": 1998, "Sex": "F", "Age": 1, "Population": 510} | bad
    sheet.append(list(row.values()))
    path = tmp_path / Path(MYE).name
    workbook.save(path)
    return path


@pytest.mark.parametrize(
    ("bad", "error", "column"),
    [
        ({"Sex": "X"}, ParseError, "Sex"),
        ({"Age": 91}, ParseError, "Age"),
        ({"Age": 2.5}, ParseError, "Age"),
        ({"Year": 2019}, YearOutOfRangeError, "Year"),
        ({"Population": "abc"}, NonNumericValueError, "Population"),
        ({"Population": -5}, ParseError, "Population"),
        ({"Area": None}, ParseError, "Area"),
    ],
)
def test_mye_bad_cell(tmp_path: Path, bad: dict[str, object], error: type[DataError], column: str) -> None:
    path = _small_workbook(tmp_path, bad)
    with pytest.raises(error) as caught:
        nrs.parse_population_age_sex(path)
    assert_located(caught.value, path, 3, column)


def test_mye_small_workbook_parses(tmp_path: Path) -> None:
    table = nrs.parse_population_age_sex(_small_workbook(tmp_path, {}))
    assert table[["age", "population", "source_row"]].values.tolist() == [[0, 500.0, 2], [1, 510.0, 3]]


# --- SGRED dashboard tables ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def sgred_tables() -> dict[str, pd.DataFrame]:
    return {relpath: parse(relpath) for relpath in SGRED}


@pytest.mark.parametrize("relpath", list(SGRED))
def test_sgred_coverage(sgred_tables: dict[str, pd.DataFrame], relpath: str) -> None:
    indicator, unit, first, last = SGRED[relpath]
    df = sgred_tables[relpath]
    years = last - first + 1
    assert len(df) == 32 * years and df.area_name.nunique() == 32
    assert "Scotland" not in set(df.area_name) and (df.area_level == "council").all()
    assert set(df.year) == set(range(first, last + 1)) and (df.period == df.year.astype(str)).all()
    assert (df.indicator == indicator).all() and (df.unit == unit).all()


def test_sgred_missing_values(sgred_tables: dict[str, pd.DataFrame]) -> None:
    missing = {
        Path(relpath).name: df.loc[df.value.isna(), ["area_name", "year"]].values.tolist()
        for relpath, df in sgred_tables.items()
    }
    assert missing == {
        "sgred_la_t20.csv": [["Dundee City", 2003]],
        "sgred_la_t21.csv": [["Dundee City", 2003]],
        "sgred_la_t22.csv": [["Dundee City", 2003]],
        "sgred_la_t1.csv": [["Dundee City", 2010]],  # published as 0
        "sgred_la_t14a.csv": [],
        "sgred_la_t17b.csv": [],
    }


def test_sgred_population_age_bands_nest(sgred_tables: dict[str, pd.DataFrame]) -> None:
    all_ages, adults, working = (wide(sgred_tables[f"scotland/sgred_la_t{n}.csv"]) for n in (20, 21, 22))
    assert ((working < adults) | working.isna()).all().all()
    assert ((adults < all_ages) | adults.isna()).all().all()
    assert all_ages.loc["Glasgow City", 2003] == 572_270


def test_sgred_rates_are_percent(sgred_tables: dict[str, pd.DataFrame]) -> None:
    employment = wide(sgred_tables["scotland/sgred_la_t14a.csv"])
    unemployment = wide(sgred_tables["scotland/sgred_la_t17b.csv"])
    assert ((employment > 30) & (employment < 100)).all().all()
    assert ((unemployment > 0) & (unemployment < 30)).all().all()
    assert employment.loc["Aberdeen City", 2004] == 74.0  # published 0.74
    assert unemployment.loc["Aberdeen City", 2004] == 5.2  # published 0.052


def test_sgred_gva_per_head(sgred_tables: dict[str, pd.DataFrame]) -> None:
    gva = wide(sgred_tables["scotland/sgred_la_t1.csv"])
    assert gva.loc["Aberdeen City", 1998] == 24_804
    assert (gva.isna() | (gva > 5_000) & (gva < 60_000)).all().all()
    assert gva.loc["Aberdeen City"].gt(gva.drop(index="Aberdeen City").median()).all()  # oil, commuting


def test_sgred_year_out_of_range(tmp_path: Path) -> None:
    path = tampered("scotland/sgred_la_t20.csv", tmp_path, 1, ",2019", ",2050")
    with pytest.raises(YearOutOfRangeError) as caught:
        sgred.parse_population(path)
    assert_located(caught.value, path, 1, "2050")


def test_sgred_year_before_range(tmp_path: Path) -> None:
    path = tampered("scotland/sgred_la_t14a.csv", tmp_path, 1, "Area,2004", "Area,2003")
    with pytest.raises(YearOutOfRangeError) as caught:
        sgred.parse_employment_rate(path)
    assert_located(caught.value, path, 1, "2003")


def test_sgred_non_numeric(tmp_path: Path) -> None:
    path = tampered("scotland/sgred_la_t21.csv", tmp_path, 2, "176611", "abc")
    with pytest.raises(NonNumericValueError) as caught:
        sgred.parse_population_16plus(path)
    assert_located(caught.value, path, 2, "1991")


# --- ONS GB regional tables ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def gb_tables() -> dict[str, pd.DataFrame]:
    return {relpath: parse(relpath) for relpath in GB}


@pytest.mark.parametrize("relpath", list(GB))
def test_gb_coverage(gb_tables: dict[str, pd.DataFrame], relpath: str) -> None:
    indicator, unit, system, first, last = GB[relpath]
    df = gb_tables[relpath]
    assert set(df.year) == set(range(first, last + 1))
    assert (df.indicator == indicator).all() and (df.unit == unit).all() and df.value.notna().all()
    areas = df.groupby("area_level").area_code.nunique().to_dict()
    assert {level: areas[f"{system}{level}"] for level in (1, 2, 3)} == {1: 12, 2: 41, 3: 179}
    assert areas["uk"] == (1 if system == "nuts" else 2)
    assert len(df) == sum(areas.values()) * (last - first + 1)
    england = df[df.area_name == "England"]
    assert set(england.area_level) == {"country"}


@pytest.mark.parametrize(("relpath", "prefixes"), [
    (POP, {"Scotland": "TLM", "Wales": "TLL", "Northern Ireland": "TLN"}),
    (GDHI, {"Scotland": "UKM", "Wales": "UKL", "Northern Ireland": "UKN"}),
])
def test_gb_level3_areas_per_country(gb_tables: dict[str, pd.DataFrame], relpath: str,
                                     prefixes: dict[str, str]) -> None:
    df = gb_tables[relpath]
    codes = pd.Series(df.loc[df.area_level.str.endswith("3"), "area_code"].unique())
    country = codes.str[:3].map({prefix: name for name, prefix in prefixes.items()}).fillna("England")
    assert country.value_counts().to_dict() == {"England": 133, "Scotland": 23, "Wales": 12,
                                                "Northern Ireland": 11}


def test_gb_population_itl3_sums_to_uk(gb_tables: dict[str, pd.DataFrame]) -> None:
    df = gb_tables[POP]
    table = wide(df, "area_code")
    assert table.loc["UK", 1998] == 58_474_943  # published "58,474,943"
    itl3 = table.loc[df.loc[df.area_level == "itl3", "area_code"].unique()]
    assert (itl3.sum() - table.loc["UK"]).abs().max() <= 2
    assert (table.loc["UK"] == table.loc["UKX"]).all()


def test_gb_gdp_itl3_sums_to_uk_less_extra_regio(gb_tables: dict[str, pd.DataFrame]) -> None:
    df = gb_tables[GDP]
    table = wide(df, "area_code")
    itl3 = table.loc[df.loc[df.area_level == "itl3", "area_code"].unique()]
    assert (itl3.sum() - table.loc["UKX"]).abs().max() <= 10
    assert (table.loc["UK"] == table.loc["UKX"] + table.loc["TLZ"]).all()


def test_gb_chained_volume_equals_current_prices_in_2019(gb_tables: dict[str, pd.DataFrame]) -> None:
    current, volume = wide(gb_tables[GDP], "area_code"), wide(gb_tables[GDP_CVM], "area_code")
    assert (current[2019] == volume[2019]).all()
    assert not (current[2010] == volume[2010]).all()


def test_gb_gdp_per_head_is_plausible(gb_tables: dict[str, pd.DataFrame]) -> None:
    gdp, population = wide(gb_tables[GDP], "area_code"), wide(gb_tables[POP], "area_code")
    per_head = (gdp * 1e6 / population).dropna(how="all")
    assert 30_000 < per_head.loc["UK", 2019] < 36_000
    assert per_head.loc["TLM", 2019] / per_head.loc["UK", 2019] == pytest.approx(0.9, abs=0.1)
    itl3 = per_head.loc[gb_tables[GDP].query("area_level == 'itl3'").area_code.unique()]
    assert ((itl3 > 8_000) & (itl3 < 600_000)).all().all()


def test_gb_gdhi_adds_up_and_matches_population(gb_tables: dict[str, pd.DataFrame]) -> None:
    df = gb_tables[GDHI]
    total, per_head = wide(df, "area_code"), wide(gb_tables[GDHI_HEAD], "area_code")
    nuts3 = total.loc[df.loc[df.area_level == "nuts3", "area_code"].unique()]
    assert (nuts3.sum() - total.loc["UK"]).abs().max() <= 10  # "may not sum ... as a result of rounding"
    implied = total.loc["UK"] * 1e6 / per_head.loc["UK"]
    itl_population = wide(gb_tables[POP], "area_code").loc["UK"]
    ratio = (implied / itl_population).dropna()
    assert len(ratio) == 21 and ratio.sub(1).abs().max() < 0.005


def test_gb_unknown_level(tmp_path: Path) -> None:
    path = tampered(GDP, tmp_path, 4, "ITL1,TLC,", "ITL4,TLC,")
    with pytest.raises(ParseError) as caught:
        ons_gb.parse_itl_gdp_current(path)
    assert_located(caught.value, path, 4, "ITL")


def test_gb_non_numeric(tmp_path: Path) -> None:
    path = tampered(POP, tmp_path, 2, '"58,474,943"', "abc")
    with pytest.raises(NonNumericValueError) as caught:
        ons_gb.parse_itl_population(path)
    assert_located(caught.value, path, 2, "1998")


def test_gb_year_out_of_range(tmp_path: Path) -> None:
    path = tampered(GDHI_HEAD, tmp_path, 1, ",2018", ",2050")
    with pytest.raises(YearOutOfRangeError) as caught:
        ons_gb.parse_nuts_gdhi_per_head(path)
    assert_located(caught.value, path, 1, "2050")


def test_gb_year_with_footnote_marker_is_refused(tmp_path: Path) -> None:
    path = tampered(GDHI, tmp_path, 1, ",2018", ",2018 2")
    with pytest.raises(ParseError) as caught:
        ons_gb.parse_nuts_gdhi(path)
    assert not isinstance(caught.value, YearOutOfRangeError)
    assert_located(caught.value, path, 1, "2018 2")


def test_gb_unknown_footer_row(tmp_path: Path) -> None:
    path = appended(GDHI_HEAD, tmp_path, "2 Revised." + ",NA" * 24)
    with pytest.raises(ParseError) as caught:
        ons_gb.parse_nuts_gdhi_per_head(path)
    assert_located(caught.value, path, 238, "NUTS level")


def test_gb_footer_must_be_complete(tmp_path: Path) -> None:
    path = tampered(GDHI, tmp_path, 238, "2 Provisional.", "2 Revised.")
    with pytest.raises(ParseError) as caught:
        ons_gb.parse_nuts_gdhi(path)
    assert_located(caught.value, path, 238, "NUTS level")
