"""Schemas for the pipeline's tables: types, ranges, unique keys and expected coverage.

Types, ranges and keys are checked with pandera; failures are re-raised as
:class:`~analysis.errors.SchemaError` naming the raw file, row and column the bad value came from.
Coverage is checked by hand (pandera has no notion of "every council in every year"): for each
indicator, breakdown and period that has council rows, every one of the 32 councils must be
present, or its absence must be explained by a blank or suppressed cell listed in ``missing``.
For the council-level GB series (indicators with rows of area type ``lad``), every one of the 350
districts of Great Britain (:mod:`analysis.data.districts`) must be present in every year from the
series' first to its last, under the same proviso (:func:`check_district_coverage`).
The Frictionless ``datapackage.json`` describes every table the pipeline writes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from analysis import __version__, paths
from analysis.data import districts, register
from analysis.errors import SchemaError

AREA_TYPES = ["council", "lad", "scotland", "nation", "uk", "country", "itl1", "itl2", "itl3", "nuts1", "nuts2",
              "nuts3"]
YEAR_RANGE = (1979, 2025)
#: Breakdowns that are levels of a quantity (not differences such as an SII): never negative
#: where the unit is a count, people, money or a rate.
LEVEL_BREAKDOWNS = r"^(all|males|females|quintile \d.*)$"
NON_NEGATIVE_UNITS = r"^(count|persons|deaths per year|GBP.*|per 100,000.*|percent|percent of residents aged 16-64)$"
#: Units that are shares of a whole: never above 100.
PERCENT_UNITS = ("percent", "percent of residents aged 16-64")

PANEL_FIELDS = {
    "area_code": "GSS code (councils S12…, English and Welsh districts E06-E09…/W06…, Scotland S92000003, "
                 "England E92000001, Wales W92000004, England and Wales K04000001, Great Britain K03000001), "
                 "ITL code (TL…) or NUTS 2016 code (UK…)",
    "area_name": "Official name of the area (councils as in the partnership register, districts as in the ONS "
                 "local-authority lookup)",
    "area_type": "council (Scotland's 32), lad (a local authority district of England or Wales), scotland, "
                 "nation (England, Wales, England and Wales or Great Britain, as ONS publishes them), uk, country, "
                 "itl1-3 or nuts1-3",
    "period": "Period as published, normalised: 2003, 2004/05 (financial year), 2002-2004 or 2002/03-2004/05 (spans)",
    "year": "First calendar year of the period",
    "indicator": "Indicator id; see indicators.csv",
    "breakdown": "all, or a sub-group: quintile, sex, or an inequality index (sii, rii and their limits)",
    "value": "The value, in unit",
    "unit": "Unit of value",
    "source": "Raw file the value was read from, or derived:<step> for derived measures",
    "source_row": "1-based row of the value in the raw file (empty for derived measures)",
    "source_column": "Column of the raw file the value came from, or the recipe of a derived measure",
}


def panel_schema() -> pa.DataFrameSchema:
    in_level = pa.Check(
        lambda df: ~(df["breakdown"].str.match(LEVEL_BREAKDOWNS) & df["unit"].str.match(NON_NEGATIVE_UNITS))
        | (df["value"] >= 0),
        name="levels_non_negative",
        error="a level (count, people, money, rate or percent) is negative",
    )
    percent = pa.Check(
        lambda df: ~(df["unit"].isin(PERCENT_UNITS) & df["breakdown"].str.match(LEVEL_BREAKDOWNS))
        | (df["value"] <= 100),
        name="percent_at_most_100",
        error="a percentage exceeds 100",
    )
    return pa.DataFrameSchema(
        {
            "area_code": pa.Column(str, pa.Check.str_matches(
                r"^(S12\d{6}|E0[6-9]\d{6}|W06\d{6}|S92000003|E92000001|W92000004|K0[34]000001|TL[A-Z0-9]*|UK[A-Z0-9]*)$")),
            "area_name": pa.Column(str),
            "area_type": pa.Column(str, pa.Check.isin(AREA_TYPES)),
            "period": pa.Column(str, pa.Check.str_matches(r"^\d{4}(/\d{2})?(-\d{4}(/\d{2})?)?$")),
            "year": pa.Column("int64", pa.Check.in_range(*YEAR_RANGE)),
            "indicator": pa.Column(str, pa.Check.str_matches(r"^[a-z][a-z0-9_]*$")),
            "breakdown": pa.Column(str),
            "value": pa.Column("float64", [pa.Check(lambda s: s.notna() & (s.abs() < 1e13),
                                                    error="value is missing or not finite")]),
            "unit": pa.Column(str),
            "source": pa.Column(str),
            "source_row": pa.Column("Int64", nullable=True),
            "source_column": pa.Column(str),
        },
        checks=[in_level, percent],
        unique=["area_code", "indicator", "breakdown", "period"],
        strict=True,
        ordered=True,
    )


def _locate(panel: pd.DataFrame, index: object, column: str | None) -> dict:
    if index is None or pd.isna(index) or index not in panel.index:
        return {"file": None, "row": None, "column": column}
    row = panel.loc[index]
    src_row = row["source_row"]
    return {
        "file": row["source"],
        "row": None if pd.isna(src_row) else int(src_row),
        "column": column if column != "value" or pd.isna(row.get("source_column")) else row["source_column"],
    }


def validate_panel(panel: pd.DataFrame, indicators: pd.DataFrame, missing: pd.DataFrame) -> None:
    """Validate types, ranges, keys, dictionary entries and coverage; raise :class:`SchemaError`."""
    try:
        panel_schema().validate(panel, lazy=True)
    except SchemaErrors as exc:
        cases = exc.failure_cases
        # a frame-wide check reports every column of a failing row: report its value cell
        on_value = cases[cases["column"] == "value"]
        first = (on_value if len(on_value) else cases).iloc[0]
        column = first["column"] if isinstance(first["column"], str) else None
        where = _locate(panel, first["index"], column)
        n_rows = cases["index"].nunique()
        raise SchemaError(
            f"{first['check']} failed for value {first['failure_case']!r} ({n_rows} row(s) fail in all)", **where
        ) from None
    unknown = sorted(set(panel["indicator"]) - set(indicators["indicator"]))
    if unknown:
        raise SchemaError(f"indicator {unknown[0]!r} has no entry in the data dictionary", column="indicator")
    check_coverage(panel, missing)
    check_district_coverage(panel, missing)
    check_nation_coverage(panel, missing)


def check_coverage(panel: pd.DataFrame, missing: pd.DataFrame) -> None:
    """Every council is present in every indicator-breakdown-period that has council rows,
    unless the source explicitly leaves it blank (listed in ``missing``)."""
    councils = set(register.council_codes())
    council_rows = panel[panel["area_type"] == "council"]
    unknown = set(council_rows["area_code"]) - councils
    if unknown:
        raise SchemaError(f"unknown council code {sorted(unknown)[0]}", column="area_code")
    explained = set(zip(missing["area_code"], missing["indicator"], missing["breakdown"], missing["period"],
                        strict=True))
    present = council_rows.groupby(["indicator", "breakdown", "period"])["area_code"].agg(set)
    for (indicator, breakdown, period), codes in present.items():
        absent = sorted(c for c in councils - codes if (c, indicator, breakdown, period) not in explained)
        if absent:
            src = council_rows.loc[
                (council_rows["indicator"] == indicator) & (council_rows["period"] == period), "source"
            ].iloc[0]
            names = ", ".join(register.name_of(c) for c in absent[:3])
            raise SchemaError(
                f"coverage: {indicator} [{breakdown}] {period} has no row for {len(absent)} council(s) "
                f"({names}{'…' if len(absent) > 3 else ''}) and the source does not mark them blank",
                file=src,
                column=indicator,
            )


def _series_rows(panel: pd.DataFrame, marker: str, allowed: list[str], what: str) -> pd.DataFrame:
    """The rows of every indicator that has a row of area type ``marker``; each may hold only ``allowed``."""
    ids = sorted(panel.loc[panel["area_type"] == marker, "indicator"].unique())
    rows = panel[panel["indicator"].isin(ids)]
    other = ~rows["area_type"].isin(allowed)
    if other.any():
        bad = rows[other].iloc[0]
        raise SchemaError(f"{bad['indicator']} is a {what} series but has a row of area type {bad['area_type']!r}",
                          file=bad["source"], column="area_type")
    return rows


def _check_no_gap(indicator: str, grp: pd.DataFrame, src: str) -> None:
    """The indicator's years run without a gap from its first to its last."""
    years = sorted(set(grp["year"]))
    gaps = sorted(set(range(years[0], years[-1] + 1)) - set(years))
    if gaps:
        raise SchemaError(f"coverage: {indicator} has no row at all for {gaps[0]}, inside its span "
                          f"{years[0]}-{years[-1]}", file=src, column=indicator)


def check_district_coverage(panel: pd.DataFrame, missing: pd.DataFrame) -> None:
    """Every district of Great Britain in every year of every council-level GB series.

    The GB series are the indicators with rows of area type ``lad``. Each must hold only council
    and ``lad`` rows; its periods must run without a gap from its first year to its last; and in
    each period all 350 districts must be present, unless the source marks the cell blank (listed
    in ``missing``). Raises :class:`SchemaError` naming the indicator, the period and the districts.
    """
    expected = set(districts.codes())
    names = districts.table().set_index("code")["name"]
    rows = _series_rows(panel, districts.AREA_TYPE, [register.COUNCIL, districts.AREA_TYPE], "district")
    unknown = sorted(set(rows["area_code"]) - expected)
    if unknown:
        raise SchemaError(f"{unknown[0]} is not a current district of Great Britain", column="area_code")
    explained = set(zip(missing["area_code"], missing["indicator"], missing["breakdown"], missing["period"],
                        strict=True))
    for indicator, grp in rows.groupby("indicator"):
        src = grp["source"].iloc[0]
        _check_no_gap(indicator, grp, src)
        for (breakdown, period), codes in grp.groupby(["breakdown", "period"])["area_code"].agg(set).items():
            absent = sorted(c for c in expected - codes if (c, indicator, breakdown, period) not in explained)
            if absent:
                listed = ", ".join(f"{names[c]} ({c})" for c in absent[:3])
                raise SchemaError(
                    f"coverage: {indicator} [{breakdown}] {period} has no row for {len(absent)} of the "
                    f"{len(expected)} districts of Great Britain ({listed}{'…' if len(absent) > 3 else ''}) "
                    "and the source does not mark them blank",
                    file=src,
                    column=indicator,
                )


def check_nation_coverage(panel: pd.DataFrame, missing: pd.DataFrame) -> None:
    """Every nation of Great Britain in every year of every national GB series.

    The national series are the indicators with rows of area type ``nation``. Each must hold only
    ``nation`` rows and Scotland's; its years must run without a gap; and each year must have Scotland
    and every nation of :data:`analysis.data.districts.NATIONS`, unless the source marks the cell blank.
    Raises :class:`SchemaError` naming the indicator, the period and the nation.
    """
    expected = {register.SCOTLAND_CODE, *districts.NATIONS}
    rows = _series_rows(panel, districts.NATION_TYPE, [districts.NATION_TYPE, "scotland"], "national")
    explained = set(zip(missing["area_code"], missing["indicator"], missing["period"], strict=True))
    for indicator, grp in rows.groupby("indicator"):
        src = grp["source"].iloc[0]
        _check_no_gap(indicator, grp, src)
        for period, codes in grp.groupby("period")["area_code"].agg(set).items():
            absent = sorted(c for c in expected - codes if (c, indicator, period) not in explained)
            if absent:
                raise SchemaError(f"coverage: {indicator} {period} has no row for {', '.join(absent)} and the source "
                                  "does not mark it blank", file=src, column=indicator)


# --------------------------------------------------------------------------------------------
# data dictionary


def _reference_titles() -> pd.DataFrame:
    """Indicator titles and descriptions from every hand-curated dictionary in data/reference."""
    base = pd.read_csv(paths.REFERENCE / "indicators.csv", dtype=str, keep_default_na=False)
    frames = [base[["indicator", "title", "theme", "higher_is_better", "description"]]]
    for name, title_col in [("scotpho_indicators.csv", "published_name"), ("cpop_indicators.csv", "published_name"),
                            ("lgbf_indicators.csv", "title")]:
        path = paths.REFERENCE / name
        ref = pd.read_csv(path, dtype=str, keep_default_na=False).rename(columns={"indicator_id": "indicator"})
        ref = ref.drop_duplicates("indicator")
        frames.append(
            pd.DataFrame(
                {
                    "indicator": ref["indicator"],
                    "title": ref[title_col],
                    "theme": ref.get("theme", ref.get("domain", "")),
                    "higher_is_better": ref.get("higher_is_better", ref.get("interpret", ref.get("one_is_high", ""))),
                    "description": ref.get("notes", ref.get("category", "")),
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    dup = out["indicator"].duplicated()
    if dup.any():
        raise SchemaError(f"indicator {out.loc[dup, 'indicator'].iloc[0]!r} is defined twice", file=paths.REFERENCE)
    return out


def indicator_dictionary(panel: pd.DataFrame) -> pd.DataFrame:
    """One row per indicator in the panel: title, unit, description, coverage and sources."""
    stats = (
        panel.groupby("indicator")
        .agg(
            unit=("unit", lambda s: "; ".join(sorted(set(s)))),
            area_types=("area_type", lambda s: ", ".join(sorted(set(s)))),
            first_year=("year", "min"),
            last_year=("year", "max"),
            rows=("value", "size"),
            sources=("source", lambda s: "; ".join(sorted(set(s)))),
        )
        .reset_index()
    )
    return _reference_titles().merge(stats, on="indicator", how="right").fillna({"title": "", "description": ""})


def coverage(panel: pd.DataFrame) -> pd.DataFrame:
    """Number of councils with a value, by indicator and year (breakdown 'all' only)."""
    rows = panel[(panel["area_type"] == "council") & (panel["breakdown"] == "all")]
    return rows.groupby(["indicator", "year"])["area_code"].nunique().unstack(fill_value=0)


# --------------------------------------------------------------------------------------------
# Frictionless descriptor

_FIELD_TYPES = {"int64": "integer", "Int64": "integer", "float64": "number", "bool": "boolean", "boolean": "boolean"}
_TABLE_DESCRIPTIONS = {
    "panel": "The tidy panel: one row per area, indicator, breakdown and period.",
    "missing": "Cells blank or suppressed in their source, and derived values that could not be formed.",
    "superseded": "CPOP September 2017 rows replaced by the May 2018 release of the same measure.",
    "substitutions": "Documented substitutions of a blank value from another official series.",
    "population_age_sex": "NRS mid-year population by council, sex and single year of age (90 = 90 and over).",
    "areas": "Every area in the panel, with its type and country.",
    "indicators": "Data dictionary: one row per indicator.",
    "gb_comparison": "GB comparison panel: ITL3 (GDP, population) and NUTS3 (household income) areas by year.",
    "gb_districts": "The 350 local authority districts of Great Britain (296 English, 22 Welsh, 32 Scottish "
                    "councils): code, name, panel area type, country, region, ITL1 code, former codes.",
}


def write_datapackage(out_dir: Path, tables: dict[str, str]) -> Path:
    """Describe every written table in ``datapackage.json`` and check it with Frictionless."""
    from frictionless import Package

    resources = []
    for name, filename in tables.items():
        frame = pd.read_csv(out_dir / filename, nrows=2000, keep_default_na=False, na_values=[""])
        schema_fields = []
        for col in frame.columns:
            ftype = _FIELD_TYPES.get(str(frame[col].dtype), "string")
            if name == "panel" and col == "source_row":
                ftype = "integer"
            field = {"name": col, "type": ftype}
            if name == "panel":
                field["description"] = PANEL_FIELDS[col]
            schema_fields.append(field)
        schema: dict = {"fields": schema_fields}
        if name == "panel":
            schema["primaryKey"] = ["area_code", "indicator", "breakdown", "period"]
        resources.append(
            {
                "name": name.replace("_", "-"),
                "path": filename,
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "description": _TABLE_DESCRIPTIONS[name],
                "schema": schema,
            }
        )
    descriptor = {
        "name": "scottish-community-planning-panel",
        "title": "Scottish Community Planning Partnerships: tidy panel of outcome data",
        "version": __version__,
        "licenses": [
            {
                "name": "OGL-UK-3.0",
                "path": "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/",
                "title": "Open Government Licence v3.0",
            }
        ],
        "sources": [
            {"title": "National Records of Scotland"},
            {"title": "Office for National Statistics"},
            {"title": "Public Health Scotland (ScotPHO)"},
            {"title": "Improvement Service (CPOP, LGBF)"},
        ],
        "resources": resources,
    }
    Package(descriptor)  # raises if the descriptor is not valid Frictionless metadata
    path = out_dir / "datapackage.json"
    path.write_text(json.dumps(descriptor, indent=2) + "\n")
    return path
