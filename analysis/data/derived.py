"""Derived measures built from the parsed sources (documented in the Methods appendix).

* **Scotland's population** for 1991-2019 is the sum of the 32 councils (the dashboard copy has no
  Scotland row).
* **Death rates per 100,000** (``*_rate``): deaths registered in the year divided by the NRS mid-year
  population. They are *crude* rates: the NRS council tables give deaths by council but not by age,
  so direct age-standardisation is impossible, and indirect standardisation would need national
  age-specific rates the sources do not give. The single-year-of-age population is used for age
  structure measures instead (below), which show how much the councils' age profiles differ.
* **Pooled rates** (``*_rate_pooled``): deaths summed over consecutive windows of ``pooling_years``
  years divided by the summed populations, because small councils (Orkney, Shetland, the Western
  Isles) have single-digit annual counts and annual rates that jump around.
* **Age structure** (``population_share_under16``, ``population_share_65plus``): percentage of the
  population in each age band, from the single-year-of-age estimates (1998-2018).
* **GDP per head** for every ITL area: GDP (£ million) × 10⁶ ÷ resident population, in current
  prices and in chained volume measures (2019 prices).

Where the population series used for rates is blank (Dundee City 2003), the sum of the single-year
estimates for that council and year is substituted when the settings allow; each substitution is
listed in the ``substitutions`` table, never made silently.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

SCOTLAND = "S92000003"


@dataclass(frozen=True)
class DerivedSettings:
    rate_per: int = 100_000
    pooling_years: int = 3
    death_rates: tuple[str, ...] = ("alcohol_specific_deaths", "drug_related_deaths")
    fill_population_from_single_year: bool = True

    @classmethod
    def from_settings(cls, data: dict) -> DerivedSettings:
        return cls(
            rate_per=int(data["rate_per"]),
            pooling_years=int(data["pooling_years"]),
            death_rates=tuple(data["death_rates"]),
            fill_population_from_single_year=bool(data["fill_population_from_single_year"]),
        )


def _rows(df: pd.DataFrame, indicator: str, unit: str, source: str, recipe: str) -> pd.DataFrame:
    """Shape derived values (columns area_code, area_type, period, year, value) as panel rows."""
    out = df.copy()
    out["indicator"] = indicator
    out["breakdown"] = "all"
    out["unit"] = unit
    out["source"] = source
    out["source_row"] = pd.array([pd.NA] * len(out), dtype="Int64")
    out["source_column"] = recipe
    return out


def council_population(
    panel: pd.DataFrame, age_sex: pd.DataFrame, cfg: DerivedSettings
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Population by council and year for rates, with documented substitutions for blanks.

    Returns ``(population, substitutions)``; population has area_code, year, value.
    """
    pop = panel.loc[
        (panel["indicator"] == "population") & (panel["area_type"] == "council") & (panel["breakdown"] == "all"),
        ["area_code", "year", "value"],
    ]
    councils = sorted(pop["area_code"].unique())
    years = range(int(pop["year"].min()), int(pop["year"].max()) + 1)
    grid = pd.MultiIndex.from_product([councils, years], names=["area_code", "year"]).to_frame(index=False)
    full = grid.merge(pop, on=["area_code", "year"], how="left")
    blanks = full["value"].isna()
    subs = full.loc[blanks, ["area_code", "year"]].copy()
    if cfg.fill_population_from_single_year and blanks.any():
        totals = age_sex.groupby(["area_code", "year"], as_index=False)["population"].sum()
        subs = subs.merge(totals, on=["area_code", "year"], how="left").rename(columns={"population": "value"})
        subs["replaces"] = "population (sgred_la_t20.csv): blank in source"
        subs["substitute_source"] = "nrs_mye_single_year_age_sex_council_1998_2018.xlsx: sum over sexes and ages 0-90+"
        full = full.merge(subs[["area_code", "year", "value"]], on=["area_code", "year"], how="left",
                          suffixes=("", "_sub"))
        full["value"] = full["value"].fillna(full.pop("value_sub"))
        subs = subs.dropna(subset=["value"])
    else:
        subs = subs.iloc[0:0].assign(value=np.nan, replaces="", substitute_source="")
    return full.dropna(subset=["value"]), subs.reset_index(drop=True)


def scotland_population(pop: pd.DataFrame, n_councils: int) -> pd.DataFrame:
    """Scotland's population as the sum of the councils, for years where every council is present."""
    grouped = pop.groupby("year").agg(value=("value", "sum"), n=("area_code", "nunique")).reset_index()
    complete = grouped[grouped["n"] == n_councils]
    return complete.assign(area_code=SCOTLAND)[["area_code", "year", "value"]]


def death_rates(
    panel: pd.DataFrame, population: pd.DataFrame, cfg: DerivedSettings
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Annual and pooled crude death rates per ``rate_per`` people.

    ``population`` holds area_code, year, value for councils and Scotland. Rates are formed on the
    grid of every area with a population and every year the counts cover. Returns
    ``(rows, incomplete)``: ``incomplete`` lists each rate that could not be formed (area_code,
    indicator, breakdown, period, reason) because a count is blank in its source or a pooling
    window lacks a year.
    """
    frames, incomplete = [], []
    k = cfg.pooling_years
    for counts_indicator in cfg.death_rates:
        counts = panel.loc[
            (panel["indicator"] == counts_indicator)
            & (panel["breakdown"] == "all")
            & panel["area_type"].isin(["council", "scotland"])
            & (panel["period"].str.fullmatch(r"\d{4}")),
            ["area_code", "area_type", "year", "value"],
        ]
        first, last = int(counts["year"].min()), int(counts["year"].max())
        areas = counts[["area_code", "area_type"]].drop_duplicates()
        grid = population[population["year"].between(first, last)].merge(areas, on="area_code")
        grid = grid.rename(columns={"value": "population"}).merge(
            counts.rename(columns={"value": "deaths"}), on=["area_code", "area_type", "year"], how="left"
        ).sort_values(["area_code", "year"], ignore_index=True)
        grid["period"] = grid["year"].astype(str)
        rate_indicator = counts_indicator.removesuffix("s") + "_rate"  # alcohol_specific_death_rate
        pooled_indicator = f"{rate_indicator}_pooled"

        annual = grid.assign(value=grid["deaths"] / grid["population"] * cfg.rate_per)
        blank = annual["value"].isna()
        incomplete.append(
            annual.loc[blank, ["area_code", "period"]].assign(
                indicator=rate_indicator, reason=f"{counts_indicator} blank in source"
            )
        )
        frames.append(
            _rows(
                annual.loc[~blank, ["area_code", "area_type", "period", "year", "value"]],
                rate_indicator,
                f"per {cfg.rate_per:,} (crude)",
                "derived:death_rates",
                f"{counts_indicator} / population × {cfg.rate_per:,}",
            )
        )

        by_area = grid.groupby("area_code")
        summed = by_area[["deaths", "population"]].rolling(k, min_periods=k).sum().reset_index(level=0, drop=True)
        pooled = grid[["area_code", "area_type", "year"]].assign(
            value=summed["deaths"] / summed["population"] * cfg.rate_per,
            year=grid["year"] - (k - 1),
        )
        pooled = pooled[pooled["year"] >= first]  # windows that start before the series are not windows
        pooled["period"] = pooled["year"].astype(str) + "-" + (pooled["year"] + k - 1).astype(str)
        gap = pooled["value"].isna()
        incomplete.append(
            pooled.loc[gap, ["area_code", "period"]].assign(
                indicator=pooled_indicator, reason="pooling window lacks a year"
            )
        )
        frames.append(
            _rows(
                pooled.loc[~gap, ["area_code", "area_type", "period", "year", "value"]],
                pooled_indicator,
                f"per {cfg.rate_per:,} (crude, pooled over {k} years)",
                "derived:death_rates",
                f"sum of {counts_indicator} / sum of population over {k} years × {cfg.rate_per:,}",
            )
        )
    missing = pd.concat(incomplete, ignore_index=True).assign(breakdown="all")
    return pd.concat(frames, ignore_index=True), missing[["area_code", "indicator", "breakdown", "period", "reason"]]


def age_structure(age_sex: pd.DataFrame) -> pd.DataFrame:
    """Percentage of the population aged under 16 and aged 65 and over, by area and year."""
    total = age_sex.groupby(["area_code", "area_type", "year"])["population"].sum()
    frames = []
    for indicator, mask, label in [
        ("population_share_under16", age_sex["age"] < 16, "ages 0-15"),
        ("population_share_65plus", age_sex["age"] >= 65, "ages 65 and over"),
    ]:
        part = age_sex[mask].groupby(["area_code", "area_type", "year"])["population"].sum()
        share = (part / total * 100).rename("value").reset_index()
        share["period"] = share["year"].astype(str)
        frames.append(
            _rows(share, indicator, "percent", "derived:age_structure",
                  f"population {label} / all ages × 100 (single-year estimates)")
        )
    return pd.concat(frames, ignore_index=True)


def per_head(panel: pd.DataFrame) -> pd.DataFrame:
    """GDP per head (current prices and 2019 prices) for every ITL area with GDP and population."""
    itl = panel[panel["source"].str.startswith("ukcompare_itl")]
    pop = itl.loc[itl["indicator"] == "population", ["area_code", "area_type", "period", "year", "value"]]
    frames = []
    for gdp_indicator, indicator, unit in [
        ("gdp", "gdp_per_head", "GBP (current prices)"),
        ("gdp_cvm2019", "gdp_cvm2019_per_head", "GBP (2019 prices, chained volume)"),
    ]:
        gdp = itl.loc[itl["indicator"] == gdp_indicator, ["area_code", "period", "year", "value"]]
        joined = gdp.merge(pop, on=["area_code", "period", "year"], suffixes=("_gdp", "_pop"))
        joined["value"] = joined["value_gdp"] * 1e6 / joined["value_pop"]
        frames.append(
            _rows(
                joined[["area_code", "area_type", "period", "year", "value"]],
                indicator,
                unit,
                "derived:per_head",
                f"{gdp_indicator} (GBP million) × 1,000,000 / population",
            )
        )
    return pd.concat(frames, ignore_index=True)
