"""Parsers of the ONS Explore-local-statistics files (council-level series for Great Britain).

Each parser runs on its real raw file: the districts kept, the years and published values are checked
against the CSV itself. Tampered copies written to ``tmp_path`` check that each quirk the parser
handles fails loudly when it changes: the named error, located by file, row and column.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from analysis.data.sources import PARSERS, ons_els
from analysis.data.sources._common import PARSED_COLUMNS, read_csv_records
from analysis.errors import DataError, DuplicateRowError, NonNumericValueError, ParseError, YearOutOfRangeError
from analysis.paths import RAW

GDHI, GDP, CLAIMANT = ons_els.GDHI, ons_els.GDP, ons_els.CLAIMANT
#: file -> (indicator ids, first year, last year)
FILES = {
    GDHI: (("gdhi_per_head_lad",), 1997, 2023),
    GDP: (("gdp_cvm_per_head_lad", "gdp_per_head_lad"), 1998, 2023),
    CLAIMANT: (("claimant_count_pct_lad",), 2001, 2025),
}
N_GB = 350


# --- helpers -------------------------------------------------------------------------------------

def parse(relpath: str) -> pd.DataFrame:
    return PARSERS[relpath](RAW / relpath)


def lines_of(relpath: str) -> list[str]:
    """The raw file's physical lines (1-based line ``i`` is item ``i - 1``), CR and BOM kept."""
    return (RAW / relpath).read_bytes().decode("utf-8").split("\n")


def written(relpath: str, tmp_path: Path, lines: list[str]) -> Path:
    out = tmp_path / Path(relpath).name
    out.write_bytes("\n".join(lines).encode("utf-8"))
    return out


def tampered(relpath: str, tmp_path: Path, line: int, old: str, new: str) -> Path:
    """A copy of the raw file with ``old`` replaced by ``new`` on one line (which must hold it once)."""
    lines = lines_of(relpath)
    assert lines[line - 1].count(old) == 1, f"{old!r} is not unique on line {line}: {lines[line - 1]!r}"
    lines[line - 1] = lines[line - 1].replace(old, new)
    return written(relpath, tmp_path, lines)


def appended(relpath: str, tmp_path: Path, row: str) -> tuple[Path, int]:
    """A copy with one more CSV row at the end; returns the path and the new row's line number."""
    lines = lines_of(relpath)
    assert lines[-1] == ""  # the file ends with a line break
    lines[-1:] = [row + "\r", ""]
    return written(relpath, tmp_path, lines), len(lines) - 1


def line_of(relpath: str, prefix: str) -> int:
    """Line number of the first line starting with ``prefix``."""
    return next(i for i, text in enumerate(lines_of(relpath), start=1) if text.lstrip("\ufeff").startswith(prefix))


def assert_located(error: DataError, path: Path | str, row: int, column: str | None) -> None:
    assert (error.file, error.row, error.column) == (Path(path).name, row, column)


@pytest.fixture(scope="module")
def parsed() -> dict[str, pd.DataFrame]:
    return {rel: parse(rel) for rel in FILES}


# --- the real files ------------------------------------------------------------------------------

def test_each_file_has_one_parser_and_returns_the_contract(parsed):
    for rel in FILES:
        assert PARSERS[rel].__module__ == ons_els.__name__
        df = parsed[rel]
        assert list(df.columns) == PARSED_COLUMNS
        levels = {ons_els.AREA_LEVEL, ons_els.NATION_LEVEL, "scotland"} if rel == CLAIMANT else {ons_els.AREA_LEVEL}
        assert set(df["area_level"]) == levels and (df["breakdown"] == "all").all()
        assert (df["source"] == Path(rel).name).all()


@pytest.mark.parametrize("relpath", list(FILES))
def test_all_350_districts_of_great_britain_in_every_year(parsed, relpath):
    ids, first, last = FILES[relpath]
    df = parsed[relpath]
    df = df[df["area_level"] == ons_els.AREA_LEVEL]
    assert tuple(sorted(df["indicator"].unique())) == ids
    codes = df.drop_duplicates("area_code")["area_code"]
    assert len(codes) == N_GB
    assert codes.str[0].value_counts().to_dict() == {"E": 296, "S": 32, "W": 22}
    assert not codes.str.startswith("N").any()  # Northern Ireland is left out
    assert not codes.str.startswith("E10").any()  # counties are upper tier, left out
    assert codes.str.startswith("E06").sum() == 63  # the unitary authorities, from the county level
    per_cell = df.groupby(["indicator", "year"])["area_code"].nunique()
    assert (per_cell == N_GB).all()
    assert sorted(df["year"].unique()) == list(range(first, last + 1))
    assert len(df) == N_GB * len(ids) * (last - first + 1)
    assert df["value"].notna().all()  # no district of Great Britain is blank
    assert (df["period"] == df["year"].astype(str)).all()


def test_the_files_still_use_barnsley_and_sheffields_old_codes(parsed):
    for df in parsed.values():
        codes = set(df["area_code"])
        assert {"E08000016", "E08000019"} <= codes
        assert not {"E08000038", "E08000039"} & codes


@pytest.mark.parametrize(("relpath", "line", "code", "indicator", "year", "value"), [
    (GDHI, 10034, "S12000049", "gdhi_per_head_lad", 1997, 8938),  # Glasgow City
    (GDHI, 10031, "S12000049", "gdhi_per_head_lad", 2023, 20006),
    (GDHI, 137, "E06000047", "gdhi_per_head_lad", 2016, 15401),  # County Durham, a unitary authority
    (GDHI, 1703, "E08000016", "gdhi_per_head_lad", 2016, 15403),  # Barnsley, obsolete code
    (GDP, 8080, "W06000015", "gdp_per_head_lad", 2002, 22329),  # Cardiff, current prices
    (GDP, 23836, "W06000015", "gdp_cvm_per_head_lad", 2002, 34399),  # Cardiff, chained volume
    (GDP, 4507, "E09000001", "gdp_per_head_lad", 2021, 10593147),  # City of London
    (CLAIMANT, 3560, "E08000025", "claimant_count_pct_lad", 2021, 10.4),  # Birmingham
    (CLAIMANT, 8027, "E06000053", "claimant_count_pct_lad", 2018, 0.3),  # Isles of Scilly
    (CLAIMANT, 9341, "S12000036", "claimant_count_pct_lad", 2001, 2.2),  # City of Edinburgh
])
def test_published_values(parsed, relpath, line, code, indicator, year, value):
    df = parsed[relpath]
    row = df[(df["area_code"] == code) & (df["indicator"] == indicator) & (df["year"] == year)]
    assert len(row) == 1
    assert row["value"].iloc[0] == value and row["source_row"].iloc[0] == line
    raw = lines_of(relpath)[line - 1]
    assert raw.startswith(code + ",") and f",{value}," in raw


@pytest.mark.parametrize("relpath", list(FILES))
def test_every_value_is_the_cell_its_row_and_column_name(parsed, relpath):
    """Re-read each kept row's raw line: the code, year and value all come from it."""
    records = dict(read_csv_records(RAW / relpath))
    header = records[1]
    df = parsed[relpath]
    for rec in df.sample(300, random_state=0).itertuples(index=False):
        cell = dict(zip(header, records[rec.source_row], strict=True))
        assert cell[header[0]] == rec.area_code
        assert float(cell[rec.source_column]) == rec.value
        assert str(rec.year) in cell["Period" if relpath == GDP else "period"]


def test_units(parsed):
    assert set(parsed[GDHI]["unit"]) == {"GBP"}
    assert parsed[GDP].groupby("indicator")["unit"].agg(set).to_dict() == {
        "gdp_per_head_lad": {"GBP (current prices)"}, "gdp_cvm_per_head_lad": {"GBP (2022 prices, chained volume)"}}
    assert set(parsed[CLAIMANT]["unit"]) == {"percent of residents aged 16-64"}
    claimant = parsed[CLAIMANT]["value"]
    assert claimant.between(0, 100).all() and claimant.max() < 11


def test_chained_volume_reference_year_is_2022_not_the_2019_the_metadata_says(parsed):
    """The unit records 2022 prices: the two GDP series agree in 2022 for every district, not in 2019."""
    gdp = parsed[GDP].pivot_table(index=["area_code", "year"], columns="indicator", values="value")
    gap = (gdp["gdp_per_head_lad"] - gdp["gdp_cvm_per_head_lad"]).abs().unstack("year")
    assert (gap[2022] == 0).all()
    assert (gap[2019] > 0).all()
    meta = json.loads((RAW / "gb/ons_els_gdp_per_head_lad_1998_2023.json").read_text())
    assert "2019 money value" in meta["ess-beta-metadata"]["Gross domestic product per head in chained volume measure"][
        "longDescription"]


def test_metadata_documents_the_claimant_denominator_and_provisional_years():
    claimant = json.loads((RAW / "gb/ons_els_claimant_count_lad_2001_2025.json").read_text())["ess-beta-metadata"]
    assert "population aged from 16 to 64 from mid-year 2023 population estimates" in claimant["caveats"]
    assert claimant["suffix"] == "%" and claimant["experimentalStatistic"] == "T"
    gdhi = json.loads((RAW / "gb/ons_els_gdhi_per_head_lad_1997_2023.json").read_text())["ess-beta-metadata"]
    assert "Figures for 2023 are provisional" in gdhi["caveats"]
    ref = pd.read_csv(Path(RAW).parent / "reference" / "indicators.csv").set_index("indicator")["description"]
    assert "mid-2023" in ref["claimant_count_pct_lad"] and "2023 is provisional" in ref["gdhi_per_head_lad"]


def test_the_claimant_count_keeps_the_nations_of_great_britain_as_published(parsed):
    """The Nation and Country rows of Great Britain are kept (Scotland's for the register); the United
    Kingdom's and Northern Ireland's are dropped by rule; the household-income file keeps none."""
    df = parsed[CLAIMANT]
    national = df[df["area_level"] != ons_els.AREA_LEVEL]
    assert (national["indicator"] == "claimant_count_pct_nation").all()
    assert national.groupby("area_code")["area_level"].first().to_dict() == {
        "E92000001": "nation", "K03000001": "nation", "K04000001": "nation", "S92000003": "scotland",
        "W92000004": "nation"}
    assert len(national) == 5 * 25 and national["value"].notna().all()
    assert national["unit"].eq("percent of residents aged 16-64").all()
    line = line_of(CLAIMANT, "S92000003,Scotland,Nation,Claimant Count,2001-01-01/P1Y,")
    row = national[national["source_row"] == line]
    assert row[["area_code", "year", "value"]].values.tolist() == [["S92000003", 2001, 3.3]]
    assert not set(ons_els.OUTSIDE_GB) & set(df["area_code"])
    from analysis.data import register
    assert ons_els.SCOTLAND_CODE == register.SCOTLAND_CODE
    assert (parsed[GDHI]["area_level"] == ons_els.AREA_LEVEL).all()


def test_an_unknown_national_code_is_passed_on_for_the_resolver_to_refuse(tmp_path):
    """The parser only reads: a national row of an unknown code keeps its code, and the resolver raises."""
    from analysis.data import districts
    from analysis.errors import UnknownAreaError

    line = line_of(CLAIMANT, "K04000001,England and Wales,Country,Claimant Count,2001-01-01/P1Y,")
    path = tampered(CLAIMANT, tmp_path, line, "K04000001,", "K05000001,")
    df = ons_els.parse_claimant_count(path)
    national = df[df["area_level"] == ons_els.NATION_LEVEL]
    assert "K05000001" in set(national["area_code"])
    with pytest.raises(UnknownAreaError, match="unknown national code 'K05000001'") as err:
        districts.resolve_nations(national)
    assert_located(err.value, path, line, "areacd")


# --- bad input -----------------------------------------------------------------------------------

def test_a_malformed_code_raises(tmp_path):
    line = 137
    path = tampered(GDHI, tmp_path, line, "E06000047,", "E6000047,")
    with pytest.raises(ParseError, match="no district of the United Kingdom") as err:
        ons_els.parse_gdhi_per_head(path)
    assert_located(err.value, path, line, "areacd")


def test_an_unknown_geography_level_raises(tmp_path):
    line = 3560
    path = tampered(CLAIMANT, tmp_path, line, "Local Authority District", "Ward")
    with pytest.raises(ParseError, match="unknown geography level 'Ward'") as err:
        ons_els.parse_claimant_count(path)
    assert_located(err.value, path, line, "geography")


def test_a_non_numeric_value_raises(tmp_path):
    line = 8080
    path = tampered(GDP, tmp_path, line, ",22329,", ",22 329x,")
    with pytest.raises(NonNumericValueError, match="non-numeric") as err:
        ons_els.parse_gdp_per_head(path)
    assert_located(err.value, path, line, "Observation")


def test_a_blank_value_without_a_status_marker_raises(tmp_path):
    line = 3560
    path = tampered(CLAIMANT, tmp_path, line, ",10.4,", ",,")
    with pytest.raises(NonNumericValueError, match="blank") as err:
        ons_els.parse_claimant_count(path)
    assert_located(err.value, path, line, "observation")


def test_a_blank_value_with_a_status_marker_is_kept_as_missing(tmp_path):
    line = 3560
    path = tampered(CLAIMANT, tmp_path, line, ",10.4,Percentage,%,,,,", ",,Percentage,%,,,x,")
    df = ons_els.parse_claimant_count(path)
    cell = df[df["source_row"] == line]
    assert len(cell) == 1 and math.isnan(cell["value"].iloc[0])


def test_a_status_marker_beside_a_value_raises(tmp_path):
    line = 10034
    path = tampered(GDHI, tmp_path, line, ",8938,Pounds,£,,,,", ",8938,Pounds,£,,,u,")
    with pytest.raises(ParseError, match="status 'u' beside") as err:
        ons_els.parse_gdhi_per_head(path)
    assert_located(err.value, path, line, "status")


@pytest.mark.parametrize(("relpath", "line", "old", "new", "column", "error"), [
    (GDHI, 10034, "1997-01-01/P1Y", "1996-01-01/P1Y", "period", YearOutOfRangeError),
    (CLAIMANT, 9341, "2001-01-01/P1Y", "2026-01-01/P1Y", "period", YearOutOfRangeError),
    (GDP, 2, ",1998,", ",1997,", "Period", YearOutOfRangeError),
    (GDHI, 10034, "1997-01-01/P1Y", "1997-04-01/P1Y", "period", ParseError),  # not a calendar year
    (GDP, 2, ",1998,", ",1998/99,", "Period", ParseError),
])
def test_a_period_out_of_range_or_malformed_raises(tmp_path, relpath, line, old, new, column, error):
    path = tampered(relpath, tmp_path, line, old, new)
    with pytest.raises(error) as err:
        PARSERS[relpath](path)
    assert_located(err.value, path, line, column)


def test_an_unknown_indicator_raises(tmp_path):
    line = 8080
    path = tampered(GDP, tmp_path, line, "at current market price", "at basic prices")
    with pytest.raises(ParseError, match="unknown indicator") as err:
        ons_els.parse_gdp_per_head(path)
    assert_located(err.value, path, line, "Indicator")


def test_a_unitary_authority_listed_twice_with_the_same_value_is_kept_once(tmp_path):
    """County Durham (a unitary authority, at the county level) added again at the district level."""
    row = lines_of(GDHI)[137 - 1].rstrip("\r").replace("County or Unitary Authority", "Local Authority District")
    path, _ = appended(GDHI, tmp_path, row)
    df = ons_els.parse_gdhi_per_head(path)
    assert len(df) == N_GB * 27
    kept = df[(df["area_code"] == "E06000047") & (df["year"] == 2016)]
    assert kept["source_row"].tolist() == [137]


def test_a_duplicate_with_a_different_value_raises(tmp_path):
    row = (lines_of(GDHI)[137 - 1].rstrip("\r").replace("County or Unitary Authority", "Local Authority District")
           .replace(",15401,", ",15402,"))
    path, line = appended(GDHI, tmp_path, row)
    with pytest.raises(DuplicateRowError, match="also on row 137 with a different value") as err:
        ons_els.parse_gdhi_per_head(path)
    assert_located(err.value, path, line, "observation")


def test_a_duplicate_at_the_same_level_raises_even_with_the_same_value(tmp_path):
    row = lines_of(CLAIMANT)[3560 - 1].rstrip("\r")
    path, line = appended(CLAIMANT, tmp_path, row)
    with pytest.raises(DuplicateRowError, match="at the same level") as err:
        ons_els.parse_claimant_count(path)
    assert_located(err.value, path, line, "observation")


def test_the_duplicate_check_keys_on_the_code_not_the_name(tmp_path):
    """A second row under County Durham's name but another (unitary) code is no duplicate of it."""
    row = lines_of(GDHI)[137 - 1].rstrip("\r").replace("E06000047", "E06000099")
    path, _ = appended(GDHI, tmp_path, row)
    df = ons_els.parse_gdhi_per_head(path)
    assert set(df.loc[df["area_name"] == "County Durham", "area_code"]) == {"E06000047", "E06000099"}


def test_an_undocumented_note_raises(tmp_path):
    line = 10034
    path = tampered(GDHI, tmp_path, line, ",8938,Pounds,£,,,,", ",8938,Pounds,£,,,,Revised")
    with pytest.raises(ParseError, match="unexpected note") as err:
        ons_els.parse_gdhi_per_head(path)
    assert_located(err.value, path, line, "notes")


def test_an_obsolete_code_without_its_flag_raises(tmp_path):
    line = 1703
    path = tampered(GDHI, tmp_path, line, "Obsolete code since 2025 (replaced by E08000038 Barnsley)", "")
    with pytest.raises(ParseError, match="obsolete since 2025 but its note") as err:
        ons_els.parse_gdhi_per_head(path)
    assert_located(err.value, path, line, "notes")


def test_a_flag_naming_another_successor_raises(tmp_path):
    line = 1703
    path = tampered(GDHI, tmp_path, line, "replaced by E08000038", "replaced by E08000037")
    with pytest.raises(ParseError, match="unexpected note") as err:
        ons_els.parse_gdhi_per_head(path)
    assert_located(err.value, path, line, "notes")


def test_a_confidence_limit_is_not_dropped_silently(tmp_path):
    line = 8080
    path = tampered(GDP, tmp_path, line, ",2002,,,", ",2002,21000,,")
    with pytest.raises(ParseError, match="confidence limit") as err:
        ons_els.parse_gdp_per_head(path)
    assert_located(err.value, path, line, "Lower Confidence Interval (95%)")


def test_a_changed_unit_raises(tmp_path):
    line = 3560
    path = tampered(CLAIMANT, tmp_path, line, ",Percentage,", ",Rate per 1000,")
    with pytest.raises(ParseError, match="expected 'Percentage'") as err:
        ons_els.parse_claimant_count(path)
    assert_located(err.value, path, line, "measure")


def test_a_changed_header_raises(tmp_path):
    path = tampered(GDP, tmp_path, 1, "Observation Status", "Status")
    with pytest.raises(ParseError, match="expected the header") as err:
        ons_els.parse_gdp_per_head(path)
    assert_located(err.value, path, 1, None)


def test_dropped_rows_are_dropped_by_rule_not_by_accident(tmp_path):
    """Counties, Northern Ireland and the other levels are dropped; a county code at the district level is not."""
    line = line_of(GDHI, "E10000003,Cambridgeshire,County or Unitary Authority")
    path = tampered(GDHI, tmp_path, line, "County or Unitary Authority", "Local Authority District")
    with pytest.raises(ParseError, match="no district of the United Kingdom") as err:
        ons_els.parse_gdhi_per_head(path)
    assert_located(err.value, path, line, "areacd")
