"""The tidy panel: built from every source, validated, cached, and honest about what is missing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from analysis import cache, paths
from analysis.data import districts, panel, register, schemas
from analysis.data.sources import PARSERS
from analysis.errors import DuplicateRowError, SchemaError


def test_every_panel_file_has_one_parser():
    from analysis.data import provenance

    files = panel.panel_files(provenance.read_checksums())
    assert set(files) == set(PARSERS)


def test_panel_has_the_documented_columns_and_unique_keys(outputs):
    p = outputs.panel
    assert list(p.columns) == panel.PANEL_COLUMNS
    assert not p.duplicated(panel.KEY).any()
    assert p["value"].notna().all()


def test_every_source_contributes(outputs):
    sources = set(outputs.panel["source"])
    for rel in PARSERS:
        name = rel.split("/")[-1]
        if rel == panel.AGE_SEX_FILE:
            continue
        assert name in sources, name


def test_all_32_councils_for_population_every_year_except_documented_blanks(outputs):
    p = outputs.panel
    pop = p[(p["indicator"] == "population") & (p["area_type"] == "council")]
    counts = pop.groupby("year")["area_code"].nunique()
    assert counts.index.min() == 1991 and counts.index.max() == 2019
    short = counts[counts < 32]
    # the only short year is explained by a blank in the source, listed in missing
    missing = outputs.missing
    for year in short.index:
        blanks = missing[(missing["indicator"] == "population") & (missing["period"] == str(year))]
        assert len(blanks) == 32 - short[year]


def test_alcohol_rate_recomputed_independently(outputs):
    p = outputs.panel.set_index(["area_code", "indicator", "breakdown", "period"])["value"]
    glasgow = "S12000049"
    deaths = p[(glasgow, "alcohol_specific_deaths", "all", "2010")]
    pop = p[(glasgow, "population", "all", "2010")]
    assert p[(glasgow, "alcohol_specific_death_rate", "all", "2010")] == pytest.approx(deaths / pop * 1e5)
    # pooled rate: summed deaths over summed population
    years = ["2010", "2011", "2012"]
    pooled = sum(p[(glasgow, "alcohol_specific_deaths", "all", y)] for y in years) / sum(
        p[(glasgow, "population", "all", y)] for y in years
    ) * 1e5
    assert p[(glasgow, "alcohol_specific_death_rate_pooled", "all", "2010-2012")] == pytest.approx(pooled)


def test_scotland_population_is_the_sum_of_its_councils(outputs):
    p = outputs.panel
    pop = p[p["indicator"] == "population"]
    councils = pop[pop["area_type"] == "council"].groupby("year")["value"].sum()
    scotland = pop[pop["area_type"] == "scotland"].set_index("year")["value"]
    common = scotland.index.difference([2003])
    assert np.allclose(scotland[common], councils[common])


def test_blank_population_is_substituted_and_listed(outputs):
    subs = outputs.substitutions
    assert len(subs) >= 1
    age_sex = outputs.population_age_sex
    for code, year, value in zip(subs["area_code"], subs["year"], subs["value"], strict=True):
        expected = age_sex[(age_sex["area_code"] == code) & (age_sex["year"] == year)]["population"].sum()
        assert value == expected


def test_gdp_per_head_formula(outputs):
    p = outputs.panel.set_index(["area_code", "indicator", "breakdown", "period"])["value"]
    uk = "UK"
    assert p[(uk, "gdp_per_head", "all", "2019")] == pytest.approx(
        p[(uk, "gdp", "all", "2019")] * 1e6 / p[(uk, "population", "all", "2019")]
    )


def test_gb_comparison_areas_cover_all_four_countries(outputs):
    areas = outputs.areas
    itl3 = areas[areas["area_type"] == "itl3"]
    assert itl3.groupby("country").size().to_dict() == {"England": 133, "Northern Ireland": 11, "Scotland": 23,
                                                        "Wales": 12}


GB_DISTRICT_SERIES = {"gdhi_per_head_lad": (1997, 2023), "gdp_per_head_lad": (1998, 2023),
                      "gdp_cvm_per_head_lad": (1998, 2023), "claimant_count_pct_lad": (2001, 2025)}


def test_gb_district_series_hold_all_350_districts_in_every_year(outputs):
    p = outputs.panel
    rows = p[p["indicator"].isin(GB_DISTRICT_SERIES)]
    assert set(rows["area_type"]) == {"council", "lad"}
    for indicator, (first, last) in GB_DISTRICT_SERIES.items():
        one = rows[rows["indicator"] == indicator]
        per_year = one.groupby("year")["area_code"].nunique()
        assert per_year.index.tolist() == list(range(first, last + 1)) and (per_year == 350).all(), indicator
        assert set(one["area_code"]) == set(districts.codes())
        assert set(one.loc[one["area_type"] == "council", "area_code"]) == set(register.council_codes())
    assert not rows["area_code"].isin(["E08000016", "E08000019"]).any()  # Barnsley, Sheffield: 2025 codes
    dictionary = outputs.indicators.set_index("indicator")
    assert dictionary.loc[list(GB_DISTRICT_SERIES), "area_types"].eq("council, lad").all()
    assert dictionary.at["claimant_count_pct_lad", "unit"] == "percent of residents aged 16-64"
    assert dictionary.at["gdp_cvm_per_head_lad", "unit"] == "GBP (2022 prices, chained volume)"


def test_existing_scottish_council_series_are_unchanged_by_the_district_files(outputs):
    p = outputs.panel
    from_els = p["source"].str.startswith("ons_els_")
    assert set(p.loc[from_els, "indicator"]) == set(GB_DISTRICT_SERIES) | {"claimant_count_pct_nation"}
    assert not p.loc[~from_els, "indicator"].isin(GB_DISTRICT_SERIES).any()


def test_areas_and_the_district_table(outputs):
    areas = outputs.areas
    lad = areas[areas["area_type"] == "lad"]
    assert lad.groupby("country").size().to_dict() == {"England": 296, "Wales": 22}
    assert len(areas[areas["area_type"] == "council"]) == 32
    assert areas["area_code"].is_unique
    table = outputs.gb_districts
    assert len(table) == 350 and set(table["code"]) == set(lad["area_code"]) | set(register.council_codes())


def test_case_studies_flagged(outputs):
    areas = outputs.areas.set_index("area_code")
    assert int(areas["case_study"].sum()) == 9
    assert int(areas["pilot"].sum()) == 1


def test_every_indicator_has_a_dictionary_entry_with_a_title(outputs):
    d = outputs.indicators
    assert set(d["indicator"]) == set(outputs.panel["indicator"])
    assert d["title"].str.len().gt(0).all(), d.loc[d["title"].str.len() == 0, "indicator"].tolist()


def test_missing_cells_name_their_source_row(outputs):
    m = outputs.missing
    from_raw = m[m["source"].notna()]
    assert len(from_raw) > 0
    assert from_raw["source_row"].notna().all()
    derived_rows = m[m["source"].isna()]
    # values that could not be derived say why, and are derived indicators
    assert derived_rows["reason"].str.len().gt(0).all()
    assert derived_rows["indicator"].str.contains("_rate").all()


def test_written_tables_round_trip(outputs):
    reread = panel.read()
    pd.testing.assert_frame_equal(reread.panel, outputs.panel, check_dtype=False)


def test_cache_is_reused_when_inputs_are_unchanged(outputs, monkeypatch):
    def no_rebuild(*args, **kwargs):
        raise AssertionError("the panel was rebuilt although its inputs are unchanged")

    monkeypatch.setattr(panel, "parse_all", no_rebuild)
    panel.build()
    manifest = json.loads((paths.PROCESSED / "manifest.json").read_text())
    assert manifest["key"] == panel.cached_key()


def test_cache_key_changes_with_each_input(tmp_path, monkeypatch):
    from analysis import settings
    from analysis.data import provenance

    sums = provenance.read_checksums()
    base = cache.key(sums, step="panel")
    changed = dict(sums)
    changed[next(iter(changed))] = "0" * 64
    assert cache.key(changed, step="panel") != base
    data_only = cache.key(sums, settings_sections=("data",), step="panel")
    other = tmp_path / "settings.yml"
    text = paths.ROOT.joinpath("settings.yml").read_text()
    real_digest = settings.digest
    # a change to the data settings changes the key; a change elsewhere changes only keys that use it
    other.write_text(text.replace("pooling_years: 3", "pooling_years: 5"))
    monkeypatch.setattr(settings, "digest", lambda path=other, sections=None: real_digest(other, sections))
    assert cache.key(sums, step="panel") != base
    assert cache.key(sums, settings_sections=("data",), step="panel") != data_only
    other.write_text(text.replace("alpha: 0.05", "alpha: 0.10"))
    settings.load.cache_clear()
    assert cache.key(sums, settings_sections=("data",), step="panel") == data_only
    assert cache.key(sums, step="panel") != base
    settings.load.cache_clear()


def test_panel_key_ignores_code_outside_the_pipeline():
    from analysis.data import provenance

    assert "attribution/ledger.py" not in panel.PIPELINE_CODE
    sums = provenance.read_checksums()
    narrow = cache.key(sums, code=panel.PIPELINE_CODE)
    assert cache.code_digest(panel.PIPELINE_CODE) != cache.code_digest()
    assert narrow == cache.key(sums, code=panel.PIPELINE_CODE)


def test_datapackage_describes_every_table_and_is_valid(outputs):
    from frictionless import Package

    descriptor = json.loads((paths.PROCESSED / "datapackage.json").read_text())
    names = {r["path"] for r in descriptor["resources"]}
    assert names == set(panel.TABLES.values())
    package = Package(paths.PROCESSED / "datapackage.json")
    small = [r.name for r in package.resources if r.name not in {"panel", "population-age-sex"}]
    for name in small:
        report = package.get_resource(name).validate()
        assert report.valid, (name, report.flatten(["rowNumber", "fieldName", "type", "note"])[:3])
    panel_fields = [f["name"] for f in descriptor["resources"][0]["schema"]["fields"]]
    assert panel_fields == panel.PANEL_COLUMNS
    districts_resource = next(r for r in descriptor["resources"] if r["name"] == "gb-districts")
    assert districts_resource["path"] == "gb_districts.csv"
    assert [f["name"] for f in districts_resource["schema"]["fields"]] == districts.COLUMNS


# ---- validation rules on constructed cases -------------------------------------------------


def _toy(outputs, indicator="population", period="2010"):
    p = outputs.panel
    return p[(p["indicator"] == indicator) & (p["period"] == period) & (p["area_type"] == "council")].copy()


def test_duplicate_rows_are_refused_naming_the_row(outputs):
    toy = _toy(outputs)
    doubled = pd.concat([toy, toy.iloc[[0]]], ignore_index=True)
    with pytest.raises(DuplicateRowError, match=r"sgred_la_t20\.csv, row \d+"):
        panel.check_unique(doubled)


def test_a_council_absent_without_explanation_fails_coverage(outputs):
    toy = _toy(outputs).iloc[1:]
    empty = outputs.missing.iloc[0:0]
    with pytest.raises(SchemaError, match="coverage: population"):
        schemas.check_coverage(toy, empty)


def test_a_council_absent_because_its_source_is_blank_passes_coverage(outputs):
    toy = _toy(outputs)
    dropped = toy.iloc[0]
    explained = pd.DataFrame([{k: dropped[k] for k in ["area_code", "indicator", "breakdown", "period"]}])
    schemas.check_coverage(toy.iloc[1:], explained)


def _gb(outputs, indicator="gdhi_per_head_lad"):
    p = outputs.panel
    return p[p["indicator"] == indicator].copy()


def test_a_district_year_dropped_fails_district_coverage_naming_it(outputs):
    toy = _gb(outputs)
    drop = (toy["area_code"] == "E06000047") & (toy["period"] == "2003")  # County Durham, 2003
    assert drop.sum() == 1
    with pytest.raises(SchemaError, match=r"coverage: gdhi_per_head_lad \[all\] 2003 has no row for 1 of the 350 "
                                          r"districts of Great Britain \(County Durham \(E06000047\)\)") as err:
        schemas.check_district_coverage(toy[~drop], outputs.missing.iloc[0:0])
    assert err.value.file == "ons_els_gdhi_per_head_lad_1997_2023.csv"


def test_a_scottish_council_dropped_fails_district_coverage_too(outputs):
    toy = _gb(outputs, "claimant_count_pct_lad")
    drop = (toy["area_code"] == "S12000049") & (toy["period"] == "2001")
    with pytest.raises(SchemaError, match=r"2001 has no row for 1 .*Glasgow City"):
        schemas.check_district_coverage(toy[~drop], outputs.missing.iloc[0:0])


def test_a_whole_year_dropped_fails_district_coverage(outputs):
    toy = _gb(outputs, "gdp_per_head_lad")
    with pytest.raises(SchemaError, match="no row at all for 2010"):
        schemas.check_district_coverage(toy[toy["period"] != "2010"], outputs.missing.iloc[0:0])


def test_a_district_blank_in_its_source_passes_district_coverage(outputs):
    toy = _gb(outputs)
    drop = (toy["area_code"] == "E06000047") & (toy["period"] == "2003")
    explained = toy.loc[drop, ["area_code", "indicator", "breakdown", "period"]]
    schemas.check_district_coverage(toy[~drop], explained)


def test_a_district_series_with_another_area_type_fails(outputs):
    toy = _gb(outputs)
    toy.loc[toy.index[0], "area_type"] = "itl3"
    with pytest.raises(SchemaError, match="has a row of area type 'itl3'"):
        schemas.check_district_coverage(toy, outputs.missing.iloc[0:0])


def test_the_panel_validation_runs_the_district_coverage_rule(outputs):
    p = outputs.panel
    drop = (p["indicator"] == "gdp_cvm_per_head_lad") & (p["area_code"] == "W06000015") & (p["period"] == "1998")
    with pytest.raises(SchemaError, match=r"gdp_cvm_per_head_lad \[all\] 1998 .*Cardiff"):
        schemas.validate_panel(p[~drop], outputs.indicators, outputs.missing)


def test_the_published_national_claimant_rates_are_in_the_panel(outputs):
    """ONS's own rates for Scotland, England, Wales, England and Wales and Great Britain, 2001-2025, each
    read from its raw row; the United Kingdom and Northern Ireland are left out."""
    p = outputs.panel
    rows = p[p["indicator"] == "claimant_count_pct_nation"]
    assert rows.groupby("area_code")["year"].agg(lambda y: sorted(y) == list(range(2001, 2026))).all()
    assert set(rows["area_code"]) == {"S92000003", "E92000001", "W92000004", "K04000001", "K03000001"}
    assert rows.groupby("area_code")["area_type"].first().to_dict() == {
        "S92000003": "scotland", "E92000001": "nation", "W92000004": "nation", "K04000001": "nation",
        "K03000001": "nation"}
    raw = (paths.RAW / "gb/ons_els_claimant_count_lad_2001_2025.csv").read_text(encoding="utf-8-sig").splitlines()
    for r in rows.sample(20, random_state=1).itertuples():
        cells = raw[r.source_row - 1].split(",")
        assert cells[0] == r.area_code and cells[4] == f"{r.year}-01-01/P1Y" and float(cells[5]) == r.value
    areas = outputs.areas.set_index("area_code")
    assert areas.loc[["E92000001", "W92000004"], "country"].tolist() == ["England", "Wales"]


def test_a_nation_year_dropped_fails_nation_coverage(outputs):
    p = outputs.panel
    drop = (p["indicator"] == "claimant_count_pct_nation") & (p["area_code"] == "W92000004") & (p["year"] == 2004)
    assert drop.sum() == 1
    with pytest.raises(SchemaError, match=r"coverage: claimant_count_pct_nation 2004 has no row for W92000004"):
        schemas.validate_panel(p[~drop], outputs.indicators, outputs.missing)


def test_a_national_series_with_another_area_type_fails(outputs):
    p = outputs.panel
    toy = p[p["indicator"] == "claimant_count_pct_nation"].copy()
    toy.loc[toy.index[0], "area_type"] = "uk"
    with pytest.raises(SchemaError, match="claimant_count_pct_nation is a national series but has a row of area "
                                          "type 'uk'"):
        schemas.check_nation_coverage(toy, outputs.missing.iloc[0:0])


def test_a_claimant_share_over_100_fails_the_schema(outputs):
    bad = outputs.panel.copy()
    idx = bad.index[bad["indicator"] == "claimant_count_pct_lad"][0]
    bad.loc[idx, "value"] = 104.0
    with pytest.raises(SchemaError, match="percentage exceeds 100") as err:
        schemas.validate_panel(bad, outputs.indicators, outputs.missing)
    assert (err.value.file, err.value.column) == ("ons_els_claimant_count_lad_2001_2025.csv", "observation")


def test_a_negative_count_fails_the_schema_naming_file_and_row(outputs):
    bad = outputs.panel.copy()
    idx = bad.index[(bad["indicator"] == "alcohol_specific_deaths") & (bad["period"] == "2005")][0]
    bad.loc[idx, "value"] = -3.0
    with pytest.raises(SchemaError, match=r"nrs_alcohol_specific_deaths.*row \d+"):
        schemas.validate_panel(bad, outputs.indicators, outputs.missing)


def test_a_percentage_over_100_fails_the_schema(outputs):
    bad = outputs.panel.copy()
    idx = bad.index[bad["indicator"] == "employment_rate"][0]
    bad.loc[idx, "value"] = 140.0
    with pytest.raises(SchemaError, match="percentage exceeds 100"):
        schemas.validate_panel(bad, outputs.indicators, outputs.missing)


def test_an_indicator_without_dictionary_entry_fails(outputs):
    with pytest.raises(SchemaError, match="no entry in the data dictionary"):
        schemas.validate_panel(outputs.panel, outputs.indicators.iloc[1:], outputs.missing)


def test_register_codes_are_the_panel_council_codes(outputs):
    councils = set(outputs.panel.loc[outputs.panel["area_type"] == "council", "area_code"])
    assert councils == set(register.council_codes())


def test_book_cache_is_cleared_only_when_inputs_change(tmp_path, monkeypatch):
    from tools import book_cache

    caches = (tmp_path / ".jupyter_cache", tmp_path / ".doctrees")
    stamp = tmp_path / ".inputs-key"
    keys = iter(["key-1", "key-1", "key-2"])
    monkeypatch.setattr(book_cache, "current_key", lambda: next(keys))
    for c in caches:
        c.mkdir()
    assert book_cache.sync(caches, stamp) is True  # no stamp yet: caches of unknown inputs go
    for c in caches:
        c.mkdir()
    assert book_cache.sync(caches, stamp) is False  # same key: kept
    assert all(c.exists() for c in caches)
    assert book_cache.sync(caches, stamp) is True  # new key: cleared
    assert not any(c.exists() for c in caches)


def test_read_table_parses_once_and_hands_out_independent_copies(outputs):
    first = panel.read_table("indicators")
    first.loc[first.index[0], "title"] = "changed by a caller"
    first["extra"] = 1
    again = panel.read_table("indicators")
    assert again.loc[again.index[0], "title"] != "changed by a caller" and "extra" not in again.columns
    pd.testing.assert_frame_equal(again, panel.read().indicators)
    with pytest.raises(KeyError, match="no output table 'nope'"):
        panel.read_table("nope")


def test_data_command_reports_a_damaged_boundary_file_in_one_line(tmp_path):
    """The boundaries are prepared in a second process while the panel is built; a damaged map file
    still stops `python -m analysis data` with one line naming it and exit status 2."""
    from analysis.data import geo

    raw = tmp_path / "raw"
    shutil.copytree(paths.RAW, raw)
    boundary = raw / geo.BOUNDARY_FILE
    boundary.write_bytes(boundary.read_bytes().replace(b"{", b"[", 1))
    env = {**os.environ, "CPP_RAW_DIR": str(raw), "CPP_CACHE_DIR": str(tmp_path / "cache"),
           "CPP_PROCESSED_DIR": str(tmp_path / "processed")}
    run = subprocess.run([sys.executable, "-m", "analysis", "data"], capture_output=True, text=True, env=env,
                         cwd=paths.ROOT, timeout=300)
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and geo.BOUNDARY_FILE.split("/")[-1] in lines[0], run.stderr
    assert "Traceback" not in run.stderr
