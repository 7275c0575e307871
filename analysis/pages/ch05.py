"""Chapter 5 (achievements and benefits): the evidence beside each paragraph of the report.

The benefits stakeholders named and the evidence that could support them; Scotland's outcome series
around the events; each confirmatory claim of the chapter in its own words (from the ledger); the
event study and synthetic control figures; the indicators and milestones available.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import paths
from analysis.attribution import ledger, verdicts
from analysis.data import panel
from analysis.data.reference import reference_table
from analysis.pages import claims, figures
from analysis.pages.claims import (
    HEADLINE_CLAIMS,
    _cfg,
    headline_values,
    labels,
    verdict_counts,
)
from analysis.pages.common import PageResult, confidence


def benefits_table(led: pd.DataFrame | None = None) -> pd.DataFrame:
    led = ledger.ledger() if led is None else led
    benefits = pd.read_csv(paths.REFERENCE / "benefits.csv")
    merged = benefits.merge(led[["claim_id", "sms_level", "verdict_key", "verdict", "reason"]], on="claim_id",
                            how="left")
    if merged["verdict"].isna().any():
        missing = merged.loc[merged["verdict"].isna(), "claim_id"].tolist()
        raise ValueError(f"benefits without a ledger row: {missing}")
    return merged


def benefits_figure(key: str = "fig-ch05-benefits") -> dict[str, str]:
    """Each benefit against the three kinds of evidence that could support it."""
    table = benefits_table()
    columns = ["named by stakeholders\n(perception, SMS 1)", "council data here\nthat could measure it",
               "outcome design that\ncould attribute it"]
    has = np.column_stack([
        np.ones(len(table), dtype=bool),
        table["council_data_here"].ne("none").to_numpy(),
        table["verdict_key"].ne(verdicts.UNTESTABLE).to_numpy(),
    ])
    fig, ax = figures.new_figure(width=9, height=0.45 * len(table) + 1.6)
    for j in range(len(columns)):
        for i in range(len(table)):
            filled = bool(has[i, j])
            ax.scatter(j, i, s=260, marker="o", color=figures.OKABE_ITO[0] if filled else "white",
                       edgecolors=figures.OKABE_ITO[0], linewidths=2)
    ax.set_xticks(range(len(columns)), columns, fontsize=9)
    ax.set_yticks(range(len(table)), table["benefit"], fontsize=9)
    ax.invert_yaxis()
    ax.set_xlim(-0.5, len(columns) - 0.5)
    ax.grid(False)
    ax.set_title("The seven benefits of para 5.2 and the evidence behind them")
    n = len(table)
    measurable = int(has[:, 1].sum())
    testable = int(has[:, 2].sum())
    alt = (f"Dot matrix of the {n} benefits stakeholders named: all {n} rest on perception (filled first column); "
           f"{measurable} have council data here that could measure them and {testable} can be tested by an outcome "
           "design (the other columns are empty circles).")
    figures.glue_figure(key, fig, alt)
    untestable = int((table["verdict_key"] == verdicts.UNTESTABLE).sum())
    return {"n": str(n), "measurable": str(measurable), "testable": str(testable), "untestable": str(untestable),
            "label-untestable": labels()[verdicts.UNTESTABLE]}


def scotland_trends(led_tests: list[dict] | None = None) -> dict[str, pd.Series]:
    """Scotland's series for the ITS outcomes, as the designs see them, plus GB areas for GDP/GDHI."""
    cfg = _cfg()
    tests = {t["id"]: t for t in (led_tests or cfg["tests"])}
    p = panel.build().panel
    out: dict[str, pd.Series] = {}
    titles = panel.read_table("indicators").set_index("indicator")["title"]
    for test_id in ["alcohol-its", "population-its", "gva-its", "employment-its"]:
        test = tests[test_id]
        rows = ledger.single_period_rows(p, test["outcome"])
        series = ledger.transform(ledger.scotland_series(p, rows, test), test.get("transform"))
        label = titles[test["outcome"]] + (" (annual growth, %)" if test.get("transform") == "growth_percent" else "")
        out[label] = series
    for indicator, code in [("gdp_per_head", "TLM"), ("gdhi_per_head", "UKM")]:
        rows = p[(p["indicator"] == indicator) & (p["area_code"] == code)]
        out[f"{titles[indicator]} (£)"] = rows.set_index("year")["value"].sort_index()
    return out


def trends_figure(key: str = "fig-ch05-trends") -> dict[str, str]:
    """Scotland's outcome series with the events and the primary windows marked."""
    cfg = _cfg()
    duty, soa = cfg["events"]["duty"], cfg["events"]["soa"]
    series = scotland_trends()
    fig, axes = figures.new_figure(width=11, height=6.2, nrows=2, ncols=3)
    for ax, (label, s), colour in zip(axes.flat, series.items(), figures.OKABE_ITO * 2, strict=False):
        ax.plot(s.index, s.values, color=colour, lw=2)
        for year, ls in [(duty, "-"), (soa, "--")]:
            ax.axvline(year - 0.5, color="#555555", lw=1, ls=ls)
        first, last = cfg["windows"]["duty"]
        ax.axvspan(first - 0.5, last + 0.5, color="#DDDDDD", alpha=0.5, lw=0)
        ax.set_title(label, fontsize=9)
        ax.tick_params(labelsize=8)
    for ax in list(axes.flat)[len(series):]:
        ax.set_visible(False)
    fig.suptitle(f"Scotland's outcomes, with {duty} (solid) and {soa} (dashed) marked; shaded: the duty's primary "
                 "window", x=0.01, ha="left", fontweight="bold")
    fig.subplots_adjust(hspace=0.4, wspace=0.3)
    led = ledger.ledger().set_index("claim_id")
    its_rows = led.loc[[HEADLINE_CLAIMS[k] for k in ("alcohol", "population", "gva", "employment")]]
    counts = its_rows["verdict_key"].value_counts()
    names = labels()
    described = "; ".join(f"{names[k]}: {int(counts[k])}" for k in verdicts.KEYS if k in counts)
    alt = (f"Six panels of Scottish series from the 1990s to about 2020, with vertical lines at {duty} and {soa} and "
           f"the primary window shaded. The {len(its_rows)} time-series tests of these series give these verdicts "
           f"(primary window) — {described}.")
    figures.glue_figure(key, fig, alt)
    return {"duty": str(duty), "soa": str(soa), "n-its": str(len(its_rows)), "its-verdicts": described}


def indicator_themes(p: pd.DataFrame | None = None) -> pd.DataFrame:
    """Council-level outcome indicators by source, theme and first/last year."""
    outputs = panel.build()
    p = outputs.panel if p is None else p
    rows = p[(p["area_type"] == "council") & (p["breakdown"] == "all")]
    span = (rows.groupby("indicator")["year"].agg(["min", "max"])
            .rename(columns={"min": "first_year", "max": "last_year"}))
    frames = []
    for source, name, col in [("ScotPHO", "scotpho_indicators.csv", "theme"), ("CPOP", "cpop_indicators.csv", "theme"),
                              ("LGBF", "lgbf_indicators.csv", "domain")]:
        ref = (pd.read_csv(paths.REFERENCE / name, dtype=str, keep_default_na=False)
               .rename(columns={"indicator_id": "indicator"}))
        ref = ref.drop_duplicates("indicator")[["indicator", col]].rename(columns={col: "theme"})
        ref["source"] = source
        frames.append(ref)
    themed = pd.concat(frames, ignore_index=True).merge(span, left_on="indicator", right_index=True)
    themed["theme"] = themed["theme"].replace("", "other")
    return themed.sort_values(["source", "theme", "indicator"], ignore_index=True)


def themes_figure(key: str = "fig-ch05-themes") -> dict[str, str]:
    """How many council-level outcome indicators each source offered, year by year."""
    themed = indicator_themes()
    years = range(int(themed["first_year"].min()), int(themed["last_year"].max()) + 1)
    counts = pd.DataFrame({src: [int(((g["first_year"] <= y) & (g["last_year"] >= y)).sum()) for y in years]
                           for src, g in themed.groupby("source")}, index=list(years))
    fig, ax = figures.new_figure(width=8.5, height=4.2)
    ax.stackplot(counts.index, counts.T.values, labels=counts.columns, colors=figures.OKABE_ITO[:len(counts.columns)],
                 alpha=0.9)
    duty = _cfg()["events"]["duty"]
    ax.axvline(duty - 0.5, color="black", lw=1.2)
    ax.set_xlabel("year")
    ax.set_ylabel("indicators with council data")
    ax.set_title("Council-level outcome indicators available, by source")
    ax.legend(loc="upper left", fontsize=8)
    at_duty = int(counts.loc[duty].sum()) if duty in counts.index else 0
    peak_year = int(counts.sum(axis=1).idxmax())
    growth = ((counts.loc[peak_year] - counts.loc[duty]).sort_values(ascending=False) if duty in counts.index
              else counts.loc[peak_year])
    alt = (f"Stacked areas of council-level outcome indicators by source: {at_duty} were available in {duty}, "
           f"rising to {int(counts.sum(axis=1).max())} in {peak_year}, most of the rise from {growth.index[0]} "
           f"({int(growth.iloc[0])} more indicators).")
    figures.glue_figure(key, fig, alt, data=counts.rename_axis("year").reset_index())
    return {"at-duty": str(at_duty), "peak": str(int(counts.sum(axis=1).max())), "peak-year": str(peak_year),
            "n-themes": str(themed["theme"].nunique())}


def milestones_table() -> pd.DataFrame:
    ms = pd.read_csv(paths.REFERENCE / "social_justice_milestones.csv", dtype=str, keep_default_na=False)
    dictionary = panel.read_table("indicators").set_index("indicator")
    years = []
    for ind in ms["closest_indicator"]:
        if ind and ind not in dictionary.index:
            raise ValueError(f"milestone proxy {ind!r} is not an indicator in the panel")
        years.append(f"{int(dictionary.loc[ind, 'first_year'])}-{int(dictionary.loc[ind, 'last_year'])}" if ind else "")
    ms["council data (years)"] = years
    return ms[["milestone", "group", "closest_indicator", "match", "council data (years)", "note"]]


def build() -> PageResult:
    """Everything the chapter glues and shows."""
    from analysis.pages import design_figures

    led = ledger.ledger()
    page = PageResult()
    page.text.update(headline_values(led))
    page.text.update(verdict_counts(led))
    page.add("benefits", benefits_figure("fig-ch05-benefits"))
    page.add("trends", trends_figure("fig-ch05-trends"))
    page.markdown["ch05-its"] = claims.outcome_results(led, outcomes=["gva_per_head", "cpop_median_weekly_earnings"])
    page.markdown["ch05-economic"] = claims.outcome_results(led, outcomes=claims.GB_OUTCOMES)
    page.markdown["ch05-economic-itl3"] = claims.outcome_results(led, claim_ids=claims.ITL3_CLAIMS)
    did_council = ledger.result_for(HEADLINE_CLAIMS["gdhi-did"]).details
    did_itl3 = ledger.result_for(HEADLINE_CLAIMS["gdp-did-itl3"]).details
    page.text.update({"council-n-treated": str(did_council["n_treated"]),
                      "council-n-comparison": str(did_council["n_comparison"]),
                      "itl3-n-treated": str(did_itl3["n_treated"]), "itl3-n-comparison": str(did_itl3["n_comparison"]),
                      "conf": confidence()})
    page.text.update(claims.trend_adjusted(led))
    es = ledger.result_for(HEADLINE_CLAIMS["gdhi-es"])
    page.add("es", design_figures.event_study_figure(
        es, title=f"Event study: household income per head, Scotland's {es.details['n_treated']} council areas",
        key="fig-ch05-event-study"))
    sc = ledger.result_for(HEADLINE_CLAIMS["gdhi-synth"])
    page.add("synth", design_figures.synth_figure(
        sc, name="Scotland", title="Synthetic control: Scotland's household income per head",
        unit="gross disposable household income per head, £", key="fig-ch05-synth"))
    page.add("themes", themes_figure("fig-ch05-themes"))
    ms = milestones_table()
    page.text.update({"ms-n": str(len(ms)), "ms-proxy": str(int((ms["match"] == "proxy").sum())),
                      "ms-none": str(int((ms["match"] == "none").sum())),
                      "window-duty": led.set_index("claim_id").loc[HEADLINE_CLAIMS["gdp-did"], "window"]})
    benefits = benefits_table(led)[["benefit", "kind", "sms_level", "verdict", "what_would_show_it", "reason"]]
    page.tables["benefits"] = benefits.rename(columns={
        "sms_level": "SMS level", "what_would_show_it": "data that would show it",
        "reason": "why outcome data cannot attribute it"})
    page.tables["badging"] = reference_table("badging_questions.csv").rename(columns={
        "data_that_would_answer_it": "data that would answer it", "available_here": "available here"})
    page.tables["milestones"] = ms.rename(columns={"closest_indicator": "closest indicator here"})
    page.tables["process"] = reference_table("process_indicators.csv").rename(columns={
        "what_it_tracks": "what it tracks", "how_it_could_be_measured": "how it could be measured",
        "available_here": "available here"})
    return page
