"""Descriptive series without a design: the claimant count, Scotland against Great Britain and by partnership.

The ONS claimant count by district (``claimant_count_pct_lad``: claimants as a percentage of
residents aged 16–64, 2001–2025; :mod:`analysis.sources.ons_els`) starts in 2001, so before the
duty (2003) it has two years, 2001 and 2002. No design of this book can attribute a change with
two pre-event points: an interrupted time series needs ``attribution.its.min_pre_periods`` of
them to estimate a trend, and a synthetic control or event study fitted on two years has nothing
left to check its fit against. :func:`claimant_count` therefore gives the series only, with the
number of pre-duty years **computed from the data** (``n_pre_event_years``) and the verdict that
follows from it (``supports_attribution``), so a page states the limitation from the data rather
than by hand.

**Scotland and Great Britain.** ONS publishes the same measure for the nations of Great Britain
(``claimant_count_pct_nation``: each nation's claimants over its own population aged 16-64, so
weighted by population), and these published rates are the national series (``published``):
Scotland, England and Wales, and Great Britain. Beside them are the **unweighted mean and the
median of the districts' rates** (each district counts once: the unit of the council-level designs),
Scotland's 32 council areas, England's and Wales's 318 districts and Great Britain's 350, which
show where the typical partnership or district stands; they are not the national rates (a large
district with a high rate moves the published rate more than the mean).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analysis.data import districts, register

OUTCOME = "claimant_count_pct_lad"
#: The same measure as published for the nations of Great Britain.
NATIONAL = "claimant_count_pct_nation"
#: Groups of districts: the countries in each, and the code of its published national rate (Scotland,
#: and the nations of :data:`analysis.data.districts.NATIONS` that join more than one country).
GROUPS = {"Scotland": (("Scotland",), register.SCOTLAND_CODE),
          **{name: (countries, code) for code, (name, countries) in districts.NATIONS.items() if len(countries) > 1}}
NOTE = ("published: ONS's national rate (the nation's claimants over its population aged 16-64); mean and median: "
        "of the districts' rates, each district counting once")


@dataclass(frozen=True)
class Descriptive:
    """A descriptive series for Scotland against Great Britain and for each partnership.

    ``national``: one row per year and group (:data:`GROUPS`) with ``published`` (ONS's national rate),
    the ``mean`` and ``median`` of the districts' rates and ``n_districts``; ``councils``: one row per
    council and year (``area_code``, ``area_name``, ``year``, ``value``); ``pre_event_years``: the years
    with data before ``event``; ``supports_attribution``: whether there are at least ``min_pre_years`` of them.
    """

    outcome: str
    unit: str
    event: int
    national: pd.DataFrame
    councils: pd.DataFrame
    first_year: int
    last_year: int
    pre_event_years: tuple[int, ...]
    min_pre_years: int
    note: str

    @property
    def n_pre_event_years(self) -> int:
        return len(self.pre_event_years)

    @property
    def supports_attribution(self) -> bool:
        return self.n_pre_event_years >= self.min_pre_years

    @property
    def why_not(self) -> str:
        """Why no design is run on it, in words built from the data (empty if there is no reason)."""
        if self.supports_attribution:
            return ""
        years = ", ".join(str(y) for y in self.pre_event_years) or "none"
        return (f"the series starts in {self.first_year}, so it has {self.n_pre_event_years} year(s) before "
                f"{self.event} ({years}); estimating a pre-event trend needs at least {self.min_pre_years} "
                "(attribution.its.min_pre_periods), so it cannot support attribution and is shown descriptively")


def claimant_count(panel_df: pd.DataFrame | None = None, areas_df: pd.DataFrame | None = None,
                   cfg: dict | None = None, *, event: str | int = "duty") -> Descriptive:
    """The claimant count (module docstring): Scotland, England and Wales and Great Britain as published
    and as means and medians of districts, each partnership's own series, and the number of years
    before ``event``.

    ``panel_df``/``areas_df`` default to the built panel; ``cfg`` to the ``attribution`` settings;
    ``event`` is an event's name or a year. Raises ``ValueError`` if the panel lacks the series, a
    district has no country, a year lacks a district another year has (an unbalanced panel would
    change the means' composition from year to year), or a group's published rate is missing in a
    year the districts have.
    """
    from analysis import settings
    from analysis.data import panel

    if panel_df is None or areas_df is None:
        outputs = panel.read()
        panel_df, areas_df = outputs.panel, outputs.areas
    cfg = settings.load()["attribution"] if cfg is None else cfg
    year = int(cfg["events"][event]) if isinstance(event, str) else int(event)
    rows = panel_df[(panel_df["indicator"] == OUTCOME) & (panel_df["breakdown"] == "all")
                    & panel_df["area_type"].isin([register.COUNCIL, "lad"])]
    if rows.empty:
        raise ValueError(f"the panel has no {OUTCOME} rows for districts")
    country = areas_df.drop_duplicates("area_code").set_index("area_code")["country"]
    rows = rows.assign(country=rows["area_code"].map(country))
    if rows["country"].isna().any():
        missing = sorted(rows.loc[rows["country"].isna(), "area_code"].unique())
        raise ValueError(f"districts with no country in the areas table: {missing[:5]}")
    per_year = rows.groupby("year")["area_code"].nunique()
    if per_year.nunique() != 1:
        raise ValueError(f"{OUTCOME} does not have the same districts in every year: {per_year.to_dict()}")
    published = panel_df[(panel_df["indicator"] == NATIONAL) & (panel_df["breakdown"] == "all")].set_index(
        ["area_code", "year"])["value"]
    national = []
    for name, (countries, code) in GROUPS.items():
        sub = rows[rows["country"].isin(countries)].groupby("year")["value"]
        frame = pd.DataFrame({"group": name, "mean": sub.mean(), "median": sub.median(),
                              "n_districts": sub.size()}).reset_index()
        frame["published"] = [published.get((code, int(y)), float("nan")) for y in frame["year"]]
        if frame["published"].isna().any():
            gaps = frame.loc[frame["published"].isna(), "year"].tolist()
            raise ValueError(f"no published {NATIONAL} for {name} ({code}) in {gaps[:5]}")
        national.append(frame)
    councils = (rows[rows["area_type"] == register.COUNCIL][["area_code", "area_name", "year", "value"]]
                .sort_values(["area_code", "year"], ignore_index=True))
    years = sorted(int(y) for y in rows["year"].unique())
    units = rows["unit"].dropna().unique() if "unit" in rows else []
    return Descriptive(
        outcome=OUTCOME, unit=str(units[0]) if len(units) else "", event=year,
        national=pd.concat(national, ignore_index=True)[["group", "year", "published", "mean", "median",
                                                          "n_districts"]],
        councils=councils, first_year=years[0], last_year=years[-1],
        pre_event_years=tuple(y for y in years if y < year), min_pre_years=int(cfg["its"]["min_pre_periods"]),
        note=NOTE)
