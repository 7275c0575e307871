"""The tidy panel: built from every source, validated, cached, and honest about what is missing."""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest

from analysis import cache, panel, paths, register, schemas
from analysis.errors import DuplicateRowError, SchemaError
from analysis.sources import PARSERS


def test_every_panel_file_has_one_parser():
    from analysis import provenance

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


def test_cache_is_reused_when_inputs_are_unchanged(outputs):
    start = time.perf_counter()
    panel.build()
    assert time.perf_counter() - start < 10
    manifest = json.loads((paths.PROCESSED / "manifest.json").read_text())
    assert manifest["key"] == panel.cached_key()


def test_cache_key_changes_with_each_input(tmp_path, monkeypatch):
    from analysis import provenance, settings

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
    from analysis import provenance

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
    from analysis import book_cache

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
