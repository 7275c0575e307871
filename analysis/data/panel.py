"""The pipeline: verified raw files → parsers → register → one tidy panel, validated and cached.

``python -m analysis data`` runs :func:`build`. Outputs (in ``data/processed``):

``panel.csv``        the tidy long panel, one row per area × indicator × breakdown × period
``missing.csv``      every cell that is blank or suppressed in its source, and every derived
                     value that could not be formed — listed, never silently dropped
``superseded.csv``   CPOP 2017 rows replaced by the 2018 release of the same measure
``substitutions.csv`` documented substitutions (e.g. a blank population filled from another NRS series)
``population_age_sex.csv`` NRS single-year-of-age population by council, sex and age
``areas.csv``        every area in the panel: code, name, type, country
``gb_districts.csv`` the 350 local authority districts of Great Britain (296 English, 22 Welsh, 32
                     Scottish councils) with region and former codes: :func:`analysis.data.districts.table`
``gb_comparison.csv`` the GB comparison panel: ITL3 and NUTS3 areas by year, wide, with country
``indicators.csv``   the data dictionary: one row per indicator
``datapackage.json`` a Frictionless descriptor of all of the above
``manifest.json``    the cache key the outputs were built under

The outputs are rebuilt only when the cache key (raw checksums, reference files, code, settings,
library versions) changes.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, fields
from pathlib import Path

import pandas as pd

from analysis import cache, parallel, paths, settings
from analysis.data import derived, districts, provenance, register, schemas
from analysis.data.sources import PARSERS
from analysis.data.sources._common import PARSED_COLUMNS
from analysis.data.sources.cpop import combine_cpop
from analysis.errors import DataError, DuplicateRowError

log = logging.getLogger(__name__)

#: A parser's columns, led by the area's current code, register name and type (``area_type`` in
#: place of the published ``area_level``).
PANEL_COLUMNS = ["area_code", "area_name", "area_type",
                 *(c for c in PARSED_COLUMNS if c not in {"area_code", "area_name", "area_level"})]
KEY = ["area_code", "indicator", "breakdown", "period"]

AGE_SEX_FILE = "scotland/nrs_mye_single_year_age_sex_council_1998_2018.xlsx"
CPOP_2017 = "scotland/cpop_CPPcleandata_v2017-09_af041bf.csv"
CPOP_2018 = "scotland/cpop_CPPcleandata_v2018-05_7f46429.csv"
#: The code the panel depends on (paths inside the ``analysis`` package): its cache key covers
#: these files only, so editing a figure or an estimator does not rebuild the panel.
PIPELINE_CODE = ("__init__.py", "paths.py", "errors.py", "settings.py", "settings_model.py", "cache.py",
                 "parallel.py", "data/")
#: Raw files that are not panel sources: the map files (parsed by the mapping code), the
#: local-authority lookup (parsed by :mod:`analysis.data.sources.la_codes`, read by :mod:`analysis.data.regions`),
#: and the documentation of the ONS Explore-local-statistics series (the metadata JSON beside each
#: CSV and the repository's licence: vendored with provenance, read by the tests, never parsed).
NON_PANEL_PREFIXES = (
    "geo/",
    "gb/drkane_la_all_codes.csv",
    "gb/ons_els_LICENSE.md",
    "gb/ons_els_gdhi_per_head_lad_1997_2023.json",
    "gb/ons_els_gdp_per_head_lad_1998_2023.json",
    "gb/ons_els_claimant_count_lad_2001_2025.json",
)

_DTYPES = {
    "area_code": "str",
    "area_name": "str",
    "area_type": "str",
    "period": "str",
    "year": "int64",
    "indicator": "str",
    "breakdown": "str",
    "value": "float64",
    "unit": "str",
    "source": "str",
    "source_row": "Int64",
    "source_column": "str",
}


@dataclass
class Outputs:
    panel: pd.DataFrame
    missing: pd.DataFrame
    superseded: pd.DataFrame
    substitutions: pd.DataFrame
    population_age_sex: pd.DataFrame
    areas: pd.DataFrame
    indicators: pd.DataFrame
    gb_comparison: pd.DataFrame
    gb_districts: pd.DataFrame


# --------------------------------------------------------------------------------------------
# parsing


def panel_files(checksums: dict[str, str]) -> list[str]:
    """Raw files that feed the panel; each must have exactly one parser."""
    files = sorted(f for f in checksums if not f.startswith(NON_PANEL_PREFIXES))
    without = [f for f in files if f not in PARSERS]
    if without:
        raise DataError("raw data file has no parser", file=without[0])
    return files


def parse_all(raw_dir: Path | None = None) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """Verify every checksum, then run every parser. Returns ``({file: frame}, checksums)``."""
    raw_dir = Path(raw_dir or paths.RAW)
    checksums = provenance.verify_raw(raw_dir)
    files = panel_files(checksums)
    # The parsers are independent: two forked processes share them. Results come back in file order,
    # so a bad file raises the same error, for the first bad file, as a serial run would.
    frames = parallel.fork_map(_parse_one, [(rel, raw_dir / rel) for rel in files], workers=2)
    return dict(zip(files, frames, strict=True)), checksums


def _parse_one(job: tuple[str, Path]) -> pd.DataFrame:
    rel, path = job
    return PARSERS[rel](path)


# --------------------------------------------------------------------------------------------
# assembling


def _resolve(frame: pd.DataFrame) -> pd.DataFrame:
    """Give every parsed row its current area code, area type and display name: Scottish councils
    and Scotland through the partnership register, districts of Great Britain (``area_level``
    ``lad``) through :mod:`analysis.data.districts` (Scotland's as ``council``), the nations of Great
    Britain (``nation``) through its nations table, other areas (ITL and NUTS regions) under their
    published code and name."""
    scottish = frame["area_level"].isin(["council", "scotland"])
    district = frame["area_level"] == districts.AREA_LEVEL
    nation = frame["area_level"] == districts.NATION_LEVEL
    parts = []
    if scottish.any():
        resolved = register.resolve_frame(frame[scottish])
        codes = resolved["area_code"]
        resolved["area_name"] = codes.map({c: register.name_of(c) for c in codes.unique()})
        parts.append(resolved)
    if district.any():
        parts.append(districts.resolve_frame(frame[district]))
    if nation.any():
        parts.append(districts.resolve_nations(frame[nation]))
    rest = ~(scottish | district | nation)
    if rest.any():
        other = frame[rest].copy()
        no_code = other["area_code"].isna()
        if no_code.any():
            bad = other[no_code].iloc[0]
            raise DataError("area has no code", file=bad["source"], row=bad["source_row"], column="area_code")
        other["area_type"] = other["area_level"]
        parts.append(other)
    out = pd.concat(parts, ignore_index=True)
    out["source_row"] = out["source_row"].astype("Int64")
    return out[PANEL_COLUMNS]


def check_unique(panel: pd.DataFrame) -> None:
    """Raise :class:`DuplicateRowError` naming both rows if two rows share a key."""
    dup = panel.duplicated(KEY, keep=False)
    if dup.any():
        rows = panel[dup].sort_values(KEY).head(2)
        first, second = rows.iloc[0], rows.iloc[1]
        key = ", ".join(f"{k}={first[k]}" for k in KEY)
        raise DuplicateRowError(
            f"duplicate row for {key}: also at row {second['source_row']} of {second['source']}",
            file=first["source"],
            row=None if pd.isna(first["source_row"]) else first["source_row"],
            column="value",
        )


def split_missing(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Separate rows whose value is blank or suppressed in the source (kept in ``missing``)."""
    blank = frame["value"].isna()
    missing = frame.loc[blank, ["area_code", "area_name", "indicator", "breakdown", "period", "source", "source_row",
                                "source_column"]]
    missing = missing.assign(reason="no valid value in source (blank, suppressed or a placeholder)")
    return frame[~blank].reset_index(drop=True), missing.reset_index(drop=True)


def _resolve_age_sex(age_sex: pd.DataFrame) -> pd.DataFrame:
    frame = age_sex.assign(
        area_level=lambda d: d["area_name"].map(lambda n: "scotland" if n == "Scotland" else "council"))
    resolved = register.resolve_frame(frame.assign(area_code=None))
    return resolved[["area_code", "area_type", "year", "sex", "age", "population", "source", "source_row"]]


def assemble(parsed: dict[str, pd.DataFrame], cfg: dict | None = None) -> Outputs:
    """Build every output table from the parsers' frames."""
    cfg = cfg or settings.load()["data"]
    dcfg = derived.DerivedSettings.from_settings(cfg)

    age_sex = _resolve_age_sex(parsed[AGE_SEX_FILE])
    cpop, superseded = combine_cpop(parsed[CPOP_2017], parsed[CPOP_2018])
    long_frames = [cpop] + [
        frame for rel, frame in parsed.items() if rel not in {AGE_SEX_FILE, CPOP_2017, CPOP_2018}
    ]
    for frame in long_frames:
        if list(frame.columns) != PARSED_COLUMNS:
            raise DataError(f"parser output has columns {list(frame.columns)}", file=frame["source"].iloc[0])
    observed, missing = split_missing(_resolve(pd.concat(long_frames, ignore_index=True)))
    check_unique(observed)

    # derived measures
    pop, substitutions = derived.council_population(observed, age_sex, dcfg)
    n_councils = len(register.council_codes())
    scot_pop = derived.scotland_population(pop, n_councils)
    scot_rows = derived._rows(
        scot_pop.assign(area_type="scotland", period=scot_pop["year"].astype(str)),
        "population",
        "persons",
        "derived:scotland_population",
        "sum of the 32 council populations (sgred_la_t20.csv)",
    )
    rate_pop = pd.concat([pop, scot_pop], ignore_index=True)
    rates, incomplete = derived.death_rates(observed, rate_pop, dcfg)
    extra = pd.concat(
        [scot_rows, rates, derived.age_structure(age_sex), derived.per_head(observed)], ignore_index=True
    )
    extra["area_name"] = extra["area_code"].map(_area_names(observed))
    panel = pd.concat([observed, extra[PANEL_COLUMNS]], ignore_index=True)
    check_unique(panel)
    incomplete["area_name"] = incomplete["area_code"].map(register.name_of)
    missing = pd.concat([missing, incomplete], ignore_index=True)

    panel = panel.astype(_DTYPES).sort_values(KEY, ignore_index=True)
    indicators = schemas.indicator_dictionary(panel)
    areas = _areas(panel)
    schemas.validate_panel(panel, indicators, missing)
    gb = gb_comparison(panel, areas)
    return Outputs(
        panel=panel,
        missing=missing.sort_values(["source", "source_row"], ignore_index=True),
        superseded=superseded.reset_index(drop=True),
        substitutions=substitutions,
        population_age_sex=age_sex.sort_values(["area_code", "year", "sex", "age"], ignore_index=True),
        areas=areas,
        indicators=indicators,
        gb_comparison=gb,
        gb_districts=districts.table(),
    )


GB_INDICATORS = ["gdp_per_head", "gdp_cvm2019_per_head", "population", "gdhi_per_head"]


def gb_comparison(panel: pd.DataFrame, areas: pd.DataFrame) -> pd.DataFrame:
    """ITL3 (GDP, population) and NUTS3 (household income) areas of Great Britain and Northern
    Ireland by year, one column per measure, with each area's country: the comparison panel for
    the designs that set Scottish areas against the rest of Britain."""
    rows = panel[panel["area_type"].isin(["itl3", "nuts3"]) & panel["indicator"].isin(GB_INDICATORS)]
    wide = rows.pivot_table(index=["area_code", "area_type", "year"], columns="indicator", values="value",
                            aggfunc="first").reset_index()
    wide.columns.name = None
    wide = wide.merge(areas[["area_code", "area_name", "country"]], on="area_code", how="left")
    cols = ["area_code", "area_name", "area_type", "country", "year"] + [c for c in GB_INDICATORS if c in wide]
    return wide[cols].sort_values(["area_type", "area_code", "year"], ignore_index=True)


def _area_names(panel: pd.DataFrame) -> dict[str, str]:
    return panel.drop_duplicates("area_code").set_index("area_code")["area_name"].to_dict()


COUNTRY_PREFIXES = {
    "TLM": "Scotland", "UKM": "Scotland", "TLL": "Wales", "UKL": "Wales", "TLN": "Northern Ireland",
    "UKN": "Northern Ireland", "TLZ": "Extra-Regio", "UKZ": "Extra-Regio",
}


def country_of(code: str, area_type: str) -> str:
    """Country of an area from its code (councils and Scotland are Scottish, districts English or
    Welsh by their code's first letter); '' for the UK and for country rows, whose country is their
    own name."""
    if area_type in {"council", "scotland"}:
        return "Scotland"
    if area_type == districts.AREA_TYPE:
        return {"E": "England", "W": "Wales"}[code[0]]
    if code[:3] in {"TLZ", "UKZ"}:
        return "Extra-Regio"
    if area_type in {"itl3", "itl2", "itl1", "nuts3", "nuts2", "nuts1"}:
        return COUNTRY_PREFIXES.get(code[:3], "England")
    return ""


def _areas(panel: pd.DataFrame) -> pd.DataFrame:
    areas = panel.drop_duplicates("area_code")[["area_code", "area_name", "area_type"]].copy()
    areas["country"] = [
        name if t in {"country", districts.NATION_TYPE} and country_of(c, t) == "" else country_of(c, t)
        for c, t, name in zip(areas["area_code"], areas["area_type"], areas["area_name"], strict=True)
    ]
    reg = register.load_register().set_index("code")
    areas["case_study"] = areas["area_code"].map(reg["case_study"]).astype("boolean")
    areas["pilot"] = areas["area_code"].map(reg["pilot"]).astype("boolean")
    return areas.sort_values(["area_type", "area_code"], ignore_index=True)


# --------------------------------------------------------------------------------------------
# writing and caching

TABLES = {f.name: f"{f.name}.csv" for f in fields(Outputs)}


def write(outputs: Outputs, key: str, out_dir: Path | None = None) -> None:
    out_dir = Path(out_dir or paths.PROCESSED)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, filename in TABLES.items():
        getattr(outputs, name).to_csv(out_dir / filename, index=False, lineterminator="\n")
    schemas.write_datapackage(out_dir, TABLES)
    (out_dir / "manifest.json").write_text(json.dumps({"key": key, "tables": TABLES}, indent=2) + "\n")


#: Tables already read in this process, by file and its (size, modification time): a page reads
#: the panel and the dictionary many times, and ``panel.csv`` alone takes a quarter of a second.
_READ: dict[tuple[str, int, int], pd.DataFrame] = {}


def read_table(name: str, out_dir: Path | None = None) -> pd.DataFrame:
    """One table of the written outputs (``panel``, ``indicators``, ``areas``, …).

    Each file is parsed once per process while it is unchanged on disk; callers get a shallow copy,
    which pandas' copy-on-write keeps independent of the cached frame and of every other caller's.
    """
    if name not in TABLES:
        raise KeyError(f"no output table {name!r}; the tables are {', '.join(TABLES)}")
    path = Path(out_dir or paths.PROCESSED) / TABLES[name]
    stat = path.stat()
    memo = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if memo not in _READ:
        for old in [k for k in _READ if k[0] == memo[0]]:
            del _READ[old]
        dtypes = _DTYPES if name == "panel" else None
        _READ[memo] = pd.read_csv(path, dtype=dtypes, keep_default_na=False, na_values=[""])
    return _READ[memo].copy(deep=False)


def read(out_dir: Path | None = None) -> Outputs:
    return Outputs(**{name: read_table(name, out_dir) for name in TABLES})


def cached_key(out_dir: Path | None = None) -> str | None:
    manifest = Path(out_dir or paths.PROCESSED) / "manifest.json"
    if not manifest.exists():
        return None
    return json.loads(manifest.read_text()).get("key")


def build(force: bool = False, out_dir: Path | None = None) -> Outputs:
    """Verify, parse, assemble, validate and write, unless the cached outputs are current."""
    checksums = provenance.verify_raw()
    key = cache.key(checksums, code=PIPELINE_CODE, settings_sections=("data",), step="panel")
    if not force and cached_key(out_dir) == key:
        log.info("panel is current (key %s…); reading it from %s", key[:12], out_dir or paths.PROCESSED)
        return read(out_dir)
    parsed, _ = parse_all()
    outputs = assemble(parsed)
    write(outputs, key, out_dir)
    return outputs


def load_panel() -> pd.DataFrame:
    """The validated panel, built first if the cache is stale."""
    return build().panel
