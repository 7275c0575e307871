"""Chapter 2 (understanding and commitment): the three principles against the indicators that could track them.

All the analyses are descriptive (level 1 of the Maryland Scientific Methods Scale): associations
across the 32 partnerships, never effects of Community Planning.
"""

from __future__ import annotations

import pandas as pd

from analysis import paths
from analysis.data import register
from analysis.data.panel import Outputs
from analysis.errors import DataError
from analysis.pages import figures
from analysis.pages.common import SOURCE_GROUPS, PageResult, council_indicator_years, page_settings, source_group

# --------------------------------------------------------------------------------------------
# Chapter 2: the three principles against the indicators that could track them

#: Strands of the report's three principles (para 2.1), in display order:
#: (strand id, principle, what the indicators track, role). "measure" rows track the aim itself;
#: "proxy" rows track outcomes the aim is meant to change, not the aim.
STRANDS = (
    ("economic", "1. A shared vision", "economic needs", "measure of the need"),
    ("social", "1. A shared vision", "social needs", "measure of the need"),
    ("environmental", "1. A shared vision", "environmental needs", "measure of the need"),
    ("participation", "2. Community participation", "participation in setting priorities and planning", "measure"),
    ("participation_proxy", "2. Community participation", "service users' say in their own care",
     "nearest proxy, not a measure"),
    ("partnership", "3. Partnership working", "joint working between organisations", "measure"),
    ("integration_proxy", "3. Partnership working", "outcomes integrated health and care services aim to change",
     "nearest proxy, not a measure"),
)

#: ScotPHO indicators are assigned by their dictionary theme (data/reference/scotpho_indicators.csv);
#: income and employment deprivation are economic, emergency hospital care a proxy for integration.
SCOTPHO_THEME_STRAND = {
    "Alcohol": "social", "Drugs": "social", "Mortality": "social", "Cancer": "social",
    "Long-term conditions": "social", "Crime": "social", "Road safety": "social", "Mental health": "social",
    "Maternal and child health": "social", "Immunisation": "social", "Primary care": "social",
    "End of life care": "social", "Deprivation": "social", "Hospital care": "integration_proxy",
}
SCOTPHO_ID_STRAND = {"scotpho_income_deprived": "economic", "scotpho_employment_deprived": "economic"}

#: Every other mapped indicator, by explicit id. Counts of deaths are left out (their rates are in);
#: so are costs, volumes, satisfaction with services, council corporate measures and population.
EXPLICIT_STRANDS = {
    "economic": (
        "gva_per_head", "employment_rate", "unemployment_rate",
        "cpop_employment_rate", "cpop_employment_rate_3yr", "cpop_median_weekly_earnings",
        "cpop_median_weekly_earnings_3yr", "cpop_business_survival", "cpop_out_of_work_benefits_r2017",
        "cpop_out_of_work_benefits_r2018",
        # ONS district series for all of Great Britain: back-casts on today's boundaries, published long after 2002
        "gdhi_per_head_lad", "gdp_per_head_lad", "gdp_cvm_per_head_lad", "claimant_count_pct_lad",
        "lgbf_econ7", "lgbf_econ8", "lgbf_econ9", "lgbf_econ11", "lgbf_econ12a", "lgbf_econ12b",
    ),
    "social": (
        "alcohol_specific_death_rate", "alcohol_specific_death_rate_pooled", "drug_related_death_rate",
        "drug_related_death_rate_pooled",
        "cpop_healthy_birthweight", "cpop_healthy_birthweight_3yr", "cpop_p1_healthy_bmi", "cpop_p1_healthy_bmi_3yr",
        "cpop_positive_destinations", "cpop_s4_tariff", "cpop_s4_tariff_3yr", "cpop_child_poverty",
        "cpop_crime_rate", "cpop_dwelling_fires", "cpop_early_mortality", "cpop_early_mortality_5yr",
        "cpop_fuel_poverty", "cpop_wellbeing", "cpop_fragility_r2017", "cpop_fragility_r2018", "cpop_depopulation",
        "lgbf_chn4", "lgbf_chn5", "lgbf_chn6", "lgbf_chn7", "lgbf_chn11", "lgbf_chn12a", "lgbf_chn12b",
        "lgbf_chn12c", "lgbf_chn12d", "lgbf_chn12e", "lgbf_chn12f", "lgbf_chn13a", "lgbf_chn13b", "lgbf_chn14a",
        "lgbf_chn14b", "lgbf_chn17", "lgbf_chn19a", "lgbf_chn19b", "lgbf_chn20a", "lgbf_chn20b", "lgbf_chn21",
        "lgbf_chn22", "lgbf_chn23", "lgbf_chn24", "lgbf_hsn3",
    ),
    "environmental": (
        "cpop_co2_emissions", "lgbf_clim1", "lgbf_clim2", "lgbf_env6", "lgbf_env3c", "lgbf_hsn5", "lgbf_hsn5a",
    ),
    "participation": (),
    "participation_proxy": ("lgbf_sw4d",),
    "partnership": (),
    "integration_proxy": (
        "cpop_emergency_admissions", "cpop_emergency_admissions_3yr", "cpop_unplanned_attendances",
        "lgbf_sw3a", "lgbf_sw6", "lgbf_sw8",
    ),
}


def _scotpho_dictionary() -> pd.DataFrame:
    return pd.read_csv(paths.REFERENCE / "scotpho_indicators.csv", dtype=str, keep_default_na=False)


def principle_mapping(outputs: Outputs) -> pd.DataFrame:
    """One row per (strand, indicator) for the indicators the panel holds at council level.

    Raises if the mapping names an indicator the panel does not hold, or a ScotPHO theme the
    mapping does not cover.
    """
    council = outputs.panel[(outputs.panel["area_type"] == register.COUNCIL)]
    held = set(council["indicator"].unique())
    rows = []
    for strand, ids in EXPLICIT_STRANDS.items():
        for indicator in ids:
            if indicator not in held:
                raise DataError(f"principle mapping names {indicator!r}, which has no council data in the panel")
            rows.append((strand, indicator))
    dictionary = _scotpho_dictionary()
    for indicator, theme in zip(dictionary["indicator_id"], dictionary["theme"], strict=True):
        if indicator not in held:
            continue
        strand = SCOTPHO_ID_STRAND.get(indicator) or SCOTPHO_THEME_STRAND.get(theme)
        if strand is None:
            raise DataError(f"ScotPHO theme {theme!r} of {indicator} has no strand", file="scotpho_indicators.csv",
                            column="theme")
        rows.append((strand, indicator))
    mapping = pd.DataFrame(rows, columns=["strand", "indicator"])
    if mapping["indicator"].duplicated().any():
        dup = mapping.loc[mapping["indicator"].duplicated(), "indicator"].iloc[0]
        raise DataError(f"indicator {dup!r} is mapped to more than one strand")
    mapping["source_group"] = mapping["indicator"].map(source_group)
    return mapping.sort_values(["strand", "indicator"], ignore_index=True)


def principle_counts(outputs: Outputs, mapping: pd.DataFrame, years: range) -> pd.DataFrame:
    """Indicators with council data in each year, by strand (years × strands, every strand shown)."""
    iy = council_indicator_years(outputs.panel).merge(mapping[["indicator", "strand"]], on="indicator")
    table = iy.groupby(["year", "strand"])["indicator"].nunique().unstack(fill_value=0)
    table = table.reindex(index=list(years), columns=[s[0] for s in STRANDS], fill_value=0).fillna(0).astype(int)
    table.index.name = "year"
    table.columns.name = None
    return table


def principle_table(outputs: Outputs, mapping: pd.DataFrame, year: int) -> pd.DataFrame:
    iy = council_indicator_years(outputs.panel)
    spans = iy.groupby("indicator")["year"].agg(["min", "max"])
    in_year = set(iy.loc[iy["year"] == year, "indicator"])
    rows = []
    for strand, principle, tracks, role in STRANDS:
        m = mapping[mapping["strand"] == strand]
        row = {"Principle (para 2.1)": principle, "What the indicators track": tracks, "Role": role}
        for group in SOURCE_GROUPS:
            ids = m.loc[m["source_group"] == group, "indicator"]
            if ids.empty:
                row[group] = "–"
            else:
                row[group] = f"{len(ids)} ({int(spans.loc[ids, 'min'].min())}–{int(spans.loc[ids, 'max'].max())})"
        row[f"With council data for {year}"] = str(int(m["indicator"].isin(in_year).sum()))
        rows.append(row)
    return pd.DataFrame(rows)


STRAND_STYLE = {
    "economic": (figures.OKABE_ITO[0], "-"), "social": (figures.OKABE_ITO[1], "-"),
    "environmental": (figures.OKABE_ITO[2], "-"), "participation": (figures.OKABE_ITO[3], "-"),
    "participation_proxy": (figures.OKABE_ITO[3], "--"), "partnership": (figures.OKABE_ITO[5], "-"),
    "integration_proxy": (figures.OKABE_ITO[5], "--"),
}


def ch02(outputs: Outputs, *, report_year: int, coverage_from: int) -> PageResult:
    mapping = principle_mapping(outputs)
    iy = council_indicator_years(outputs.panel)
    years = range(coverage_from, int(iy["year"].max()) + 1)
    counts = principle_counts(outputs, mapping, years)
    first = {s: (int(counts.index[counts[s] > 0].min()) if (counts[s] > 0).any() else None) for s in counts.columns}

    fig, ax = figures.new_figure(width=9, height=5.2)
    labels = {s[0]: f"{s[1].split('. ')[1]}: {s[2]}" + (" (proxy)" if "proxy" in s[3] else "") for s in STRANDS}
    for strand in counts.columns:
        colour, style = STRAND_STYLE[strand]
        ax.plot(counts.index, counts[strand], color=colour, ls=style, lw=2 if style == "-" else 1.6,
                label=labels[strand], drawstyle="steps-mid")
    ax.axvline(report_year, color="#000000", lw=1, ls=":")
    ax.text(report_year - 0.3, ax.get_ylim()[1] * 0.95, "the report", fontsize=8, va="top", ha="right")
    ax.set_ylim(-6, None)
    ax.text(years[0], -3.6, "no indicator measures community participation or partnership working (lines at zero)",
            fontsize=8, va="center")
    ax.set_xlabel("year (first year of each period)")
    ax.set_ylabel("indicators with council data")
    ax.set_title("Indicators that could track each principle, by year")
    ax.legend(fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False)
    at = counts.loc[report_year]
    res = PageResult()
    res.text.update({
        "year": str(report_year),
        "econ-report": str(int(at["economic"])), "social-report": str(int(at["social"])),
        "env-report": str(int(at["environmental"])),
        "n-mapped": str(len(mapping)),
        "n-unmapped": str(int(iy["indicator"].nunique() - len(mapping))),
        "n-council-indicators": str(int(iy["indicator"].nunique())),
        "env-first": str(first["environmental"]),
        "participation-proxy-first": str(first["participation_proxy"]),
        "integration-proxy-first": str(first["integration_proxy"]),
        "latest": str(years[-1]),
        "econ-latest": str(int(counts.iloc[-1]["economic"])), "social-latest": str(int(counts.iloc[-1]["social"])),
    })
    in_year = mapping[mapping["indicator"].isin(set(iy.loc[iy["year"] == report_year, "indicator"]))]
    titles = outputs.indicators.set_index("indicator")["title"]
    econ = in_year.loc[in_year["strand"] == "economic", "indicator"]
    res.text["econ-report-names"] = ", ".join(sorted(titles.get(i, i).lower() for i in econ)) or "none"
    res.text["econ-report-indicators"] = f"{len(econ)} indicator{'' if len(econ) == 1 else 's'}"
    backcast = econ[econ.str.endswith("_lad")]
    res.text["econ-report-backcast"] = str(len(backcast))
    social = in_year[in_year["strand"] == "social"]
    res.text["social-report-scotpho"] = str(int((social["source_group"] == "ScotPHO").sum()))
    res.text["social-report-nrs"] = str(int((social["source_group"] == "NRS and ONS").sum()))
    peak_year = int(counts[["economic", "social", "environmental"]].sum(axis=1).idxmax())
    res.text["peak-year"] = str(peak_year)
    res.text["peak-total"] = str(int(counts.loc[peak_year, ["economic", "social", "environmental"]].sum()))
    alt = (
        f"Line chart of indicators with council data by year for each strand of the report's three principles. "
        f"In {report_year} the panel held {res.text['econ-report']} for economic needs, {res.text['social-report']} "
        f"for social needs and {res.text['env-report']} for environmental needs, and none at any date that measures "
        f"community participation or partnership working; the nearest proxies begin in "
        f"{res.text['integration-proxy-first']} (integrated care outcomes) and {res.text['participation-proxy-first']} "
        f"(users' say in their own care)."
    )
    figures.glue_figure("fig-ch02-principles", fig, alt)
    res.tables["principles"] = principle_table(outputs, mapping, report_year)
    return res


def parameters() -> dict:
    """:func:`ch02`'s parameters, from the settings (``pages`` and ``attribution.events``)."""
    cfg = page_settings()
    return {"report_year": cfg["report_year"], "coverage_from": cfg["coverage_from"]}


def build(outputs: Outputs | None = None) -> PageResult:
    """The chapter on ``outputs`` (the pipeline's, built if not given), with the settings' parameters."""
    from analysis.data import panel

    return ch02(panel.build() if outputs is None else outputs, **parameters())
