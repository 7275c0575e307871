"""The Data appendix: sources, dictionary, coverage heat maps and known gaps, from the pipeline's outputs."""

from __future__ import annotations

import pandas as pd

from analysis import paths
from analysis.data import districts, provenance
from analysis.data.panel import Outputs
from analysis.pages import figures
from analysis.pages.common import PageResult

#: Groups of indicators for the coverage heat map, by indicator-id prefix or source.
FAMILIES = [
    ("ScotPHO", lambda d: d["indicator"].str.startswith("scotpho_")),
    ("CPOP", lambda d: d["indicator"].str.startswith("cpop_")),
    ("LGBF", lambda d: d["indicator"].str.startswith("lgbf_")),
]


def sources_table(outputs: Outputs) -> pd.DataFrame:
    """One row per raw file: publisher, years, coverage, licence, checksum and what the panel holds."""
    prov = provenance.load_provenance()
    panel = outputs.panel
    per_source = panel.groupby("source").agg(rows=("value", "size"), indicators=("indicator", "nunique"))
    prov["name"] = prov["file"].str.split("/").str[-1]
    prov = prov.merge(per_source, left_on="name", right_index=True, how="left")
    prov["rows"] = prov["rows"].fillna(0).astype(int)
    prov["indicators"] = prov["indicators"].fillna(0).astype(int)
    prov["sha256"] = prov["sha256"].str[:16] + "…"
    return prov[["file", "publisher", "years", "coverage", "licence", "sha256", "rows", "indicators"]].rename(
        columns={"rows": "panel rows", "indicators": "panel indicators", "sha256": "SHA-256 (first 16)"}
    )


def dictionary_table(outputs: Outputs) -> pd.DataFrame:
    cols = ["indicator", "title", "unit", "area_types", "first_year", "last_year", "rows", "sources"]
    return outputs.indicators[cols].sort_values("indicator", ignore_index=True)


def coverage_matrix(outputs: Outputs) -> pd.DataFrame:
    """Share of the 32 councils with a value, by indicator (rows, titled) and year (columns).

    ScotPHO, CPOP and LGBF indicators are summarised as one row per family: the share of the
    family's (indicator, council) pairs with a value in that year.
    """
    panel = outputs.panel
    rows = panel[(panel["area_type"] == "council") & (panel["breakdown"] == "all")]
    n_councils = rows["area_code"].nunique()
    family_of = pd.Series("", index=rows.index)
    for name, rule in FAMILIES:
        family_of[rule(rows)] = name
    titles = outputs.indicators.set_index("indicator")["title"]
    series = {}
    for indicator, grp in rows[family_of == ""].groupby("indicator"):
        series[titles.get(indicator) or indicator] = grp.groupby("year")["area_code"].nunique() / n_councils
    for name, _ in FAMILIES:
        fam = rows[family_of == name]
        if fam.empty:
            continue
        n_ind = fam["indicator"].nunique()
        pairs = fam[["year", "indicator", "area_code"]].drop_duplicates().groupby("year").size()
        series[f"{name} ({n_ind} indicators)"] = pairs / (n_ind * n_councils)
    matrix = pd.DataFrame(series).T
    years = range(int(rows["year"].min()), int(rows["year"].max()) + 1)
    return matrix.reindex(columns=list(years)).fillna(0.0)


def _long(matrix: pd.DataFrame, value: str) -> pd.DataFrame:
    """A heat map's matrix (rows × years) as the long table its CSV gives."""
    out = matrix.rename_axis(index="row", columns="year").stack().rename(value).reset_index()
    out["row"] = out["row"].map(lambda r: " | ".join(map(str, r)) if isinstance(r, tuple) else str(r))
    return out


def coverage_figure(outputs: Outputs, key: str, event: int) -> dict[str, str]:
    """Glue the coverage heat map and return facts for its caption."""
    import seaborn as sns

    matrix = coverage_matrix(outputs)
    first_year = matrix.apply(lambda r: r[r > 0].index.min(), axis=1)
    pre = int((first_year < event).sum())
    long_pre = int((first_year <= event - 5).sum())
    total = len(matrix)
    fig, ax = figures.new_figure(width=10.5, height=0.3 * total + 1.8)
    sns.heatmap(
        matrix,
        ax=ax,
        cmap=figures.SEQUENTIAL,
        vmin=0,
        vmax=1,
        cbar_kws={"label": "share of councils with a value"},
        linewidths=0.2,
        linecolor="white",
    )
    ax.axvline(list(matrix.columns).index(event), color="#D55E00", lw=2.5)
    ax.set_xlabel("year (first year of the period)")
    ax.set_ylabel("")
    ax.set_title("Council-level coverage by indicator and year")
    alt = (
        f"Heat map of council coverage for {total} indicator rows by year. {pre} rows have some council "
        f"data before {event}, when the community planning duty began, but only {long_pre} have five or more "
        f"years of it; the others begin in or after {event - 1}."
    )
    figures.glue_figure(key, fig, alt, data=_long(matrix, "share of councils with a value"))
    return {"rows": str(total), "pre": str(pre), "long_pre": str(long_pre), "event": str(event)}


def district_coverage_matrix(outputs: Outputs) -> pd.DataFrame:
    """Share of the districts of Great Britain with a value, by GB district series and country (rows)
    and year (columns): the series with district rows (area type ``lad``), each split into England's
    296, Wales's 22 and Scotland's 32 (the councils)."""
    panel = outputs.panel
    table = districts.table()
    per_country = table.groupby("country").size()
    country_of = table.set_index("code")["country"]
    ids = sorted(panel.loc[panel["area_type"] == districts.AREA_TYPE, "indicator"].unique())
    rows = panel[panel["indicator"].isin(ids) & (panel["breakdown"] == "all")]
    rows = rows.assign(country=rows["area_code"].map(country_of))
    titles = outputs.indicators.set_index("indicator")["title"]
    series = {}
    for indicator in ids:
        one = rows[rows["indicator"] == indicator]
        title = (titles.get(indicator) or indicator).removesuffix(", districts of Great Britain")
        for country in districts.GB_COUNTRIES:
            n = int(per_country[country])
            here = one[one["country"] == country]
            series[f"{title}: {country} ({n})"] = here.groupby("year")["area_code"].nunique() / n
    matrix = pd.DataFrame(series).T
    years = range(int(rows["year"].min()), int(rows["year"].max()) + 1)
    return matrix.reindex(columns=list(years)).fillna(0.0)


def district_coverage_figure(outputs: Outputs, key: str, event: int) -> dict[str, str]:
    """Glue the heat map of the GB district series and return facts for its caption."""
    import seaborn as sns

    matrix = district_coverage_matrix(outputs)
    n_series = len(matrix) // len(districts.GB_COUNTRIES)
    first_year = matrix.apply(lambda r: r[r > 0].index.min(), axis=1)
    pre_years = (event - first_year).clip(lower=0).astype(int)
    complete = bool(((matrix == 1) | (matrix == 0)).all().all())
    fig, ax = figures.new_figure(width=10.5, height=0.3 * len(matrix) + 1.8)
    sns.heatmap(matrix, ax=ax, cmap=figures.SEQUENTIAL, vmin=0, vmax=1,
                cbar_kws={"label": "share of the country's districts with a value"}, linewidths=0.2,
                linecolor="white")
    ax.axvline(list(matrix.columns).index(event), color="#D55E00", lw=2.5)
    ax.set_xlabel("year")
    ax.set_ylabel("")
    ax.set_title(f"District-level coverage across Great Britain ({districts.N_DISTRICTS} districts)")
    held = ("every district has a value in every year each series covers" if complete
            else "some districts lack a value in some years")
    alt = (f"Heat map of {n_series} council-level series for the {districts.N_DISTRICTS} districts of Great "
           f"Britain, by country and year: {held}; the series begin between {int(first_year.min())} and "
           f"{int(first_year.max())}, giving {int(pre_years.min())} to {int(pre_years.max())} years before {event}.")
    figures.glue_figure(key, fig, alt, data=_long(matrix, "share of districts with a value"))
    return {"series": str(n_series), "districts": str(districts.N_DISTRICTS), "event": str(event), "complete": held,
            "first": str(int(first_year.min())), "last-first": str(int(first_year.max())),
            "pre-min": str(int(pre_years.min())), "pre-max": str(int(pre_years.max()))}


def missing_summary(outputs: Outputs) -> pd.DataFrame:
    missing = outputs.missing
    if missing.empty:
        return pd.DataFrame(columns=["source", "reason", "cells"])
    return (
        missing.groupby(["source", "reason"], dropna=False).size().rename("cells").reset_index()
        .sort_values(["source", "reason"], ignore_index=True)
    )


def known_gaps() -> pd.DataFrame:
    return pd.read_csv(paths.REFERENCE / "known_gaps.csv").rename(
        columns={"gap": "What is missing", "consequence_for_attribution": "What it means for attribution",
                 "source": "Source"}
    )


def panel_size(outputs: Outputs) -> dict[str, str]:
    panel = outputs.panel
    return {
        "rows": f"{len(panel):,}",
        "indicators": f"{panel['indicator'].nunique():,}",
        "areas": f"{panel['area_code'].nunique():,}",
        "first_year": str(int(panel["year"].min())),
        "last_year": str(int(panel["year"].max())),
        "missing": f"{len(outputs.missing):,}",
        "superseded": f"{len(outputs.superseded):,}",
        "substitutions": f"{len(outputs.substitutions):,}",
    }


def build() -> PageResult:
    """Everything the Data appendix glues and shows."""
    from analysis import settings
    from analysis.data import panel

    outputs = panel.build()
    event = int(settings.load()["attribution"]["events"]["duty"])
    page = PageResult()
    page.add("panel", panel_size(outputs))
    page.add("coverage", coverage_figure(outputs, key="fig-coverage", event=event))
    page.add("coverage-gb", district_coverage_figure(outputs, key="fig-coverage-gb", event=event))
    page.tables.update({"sources": sources_table(outputs), "missing": missing_summary(outputs),
                        "gaps": known_gaps(), "dictionary": dictionary_table(outputs)})
    return page
