"""Chapter Five, the executive summary and "What can be attributed": numbers, tables and figures
read from the evidence ledger and the panel.

Pages call these functions and glue what they return; nothing here estimates anything (the
designs live in :mod:`analysis.attribution`), and every number shown is read from the ledger, so
the same claim shows the same number on every page.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from . import figures, panel, paths, settings
from .attribution import ledger, verdicts
from .sources._common import reference_table  # noqa: F401 - the chapters read reference tables through here

#: Ledger rows the chapters quote, by a short key used in glue names.
HEADLINE_CLAIMS = {
    "alcohol": "alcohol-its:S92000003",
    "population": "population-its:S92000003",
    "gva": "gva-its:S92000003",
    "gdp-did": "gdp-did:scotland:itl3",
    "gdp-es": "gdp-es:scotland:itl3",
    "gdp-synth": "gdp-synth:TLM",
    "gdhi-did": "gdhi-did:scotland:nuts3",
    "gdhi-es": "gdhi-es:scotland:nuts3",
    "gdhi-synth": "gdhi-synth:UKM",
    "employment": "employment-its:S92000003",
    "admissions": "alcohol-admissions-its:S92000003",
}

SHORT_VERDICT = {
    verdicts.ATTRIBUTABLE: "attributable",
    verdicts.NOT_DISTINGUISHABLE: "not distinguishable from zero",
    verdicts.ASSUMPTION_FAILS: "an assumption fails",
    verdicts.UNTESTABLE: "cannot be tested",
}


def fmt(x: float, digits: int = 3) -> str:
    """The one number format used for ledger values in prose and in tests of the built pages."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def fmt_p(p: float) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "n/a"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def headline_values(led: pd.DataFrame | None = None) -> dict[str, str]:
    """Formatted estimate, interval, p, MDE and verdict of each headline claim, keyed for glue."""
    led = ledger.ledger() if led is None else led
    rows = led.set_index("claim_id")
    out: dict[str, str] = {}
    for short, claim_id in HEADLINE_CLAIMS.items():
        r = rows.loc[claim_id]
        out[f"{short}-estimate"] = fmt(r["estimate"])
        out[f"{short}-ci"] = f"{fmt(r['ci_low'])} to {fmt(r['ci_high'])}"
        out[f"{short}-p"] = fmt_p(r["p_value"])
        out[f"{short}-mde"] = fmt(r["mde"])
        out[f"{short}-verdict"] = SHORT_VERDICT[r["verdict"]]
        out[f"{short}-sms"] = str(int(r["sms_level"]))
    return out


def verdict_counts(led: pd.DataFrame | None = None) -> dict[str, str]:
    """Counts of claims by verdict, overall and for the quantitative tests, keyed for glue."""
    led = ledger.ledger() if led is None else led
    quant = led[led["outcome"] != ""]
    out = {"n-claims": str(len(led)), "n-tests": str(len(quant)), "n-report": str(len(led) - len(quant)),
           "n-outcomes": str(quant["outcome"].nunique()), "n-designs": str(quant["design"].nunique())}
    for verdict, short in SHORT_VERDICT.items():
        slug = short.replace(" ", "-")
        out[f"n-{slug}"] = str(int((led["verdict"] == verdict).sum()))
        out[f"n-tests-{slug}"] = str(int((quant["verdict"] == verdict).sum()))
    return out


# --------------------------------------------------------------------------------------------
# 5.1-5.3: the benefits


def benefits_table(led: pd.DataFrame | None = None) -> pd.DataFrame:
    led = ledger.ledger() if led is None else led
    benefits = pd.read_csv(paths.REFERENCE / "benefits.csv")
    merged = benefits.merge(led[["claim_id", "sms_level", "verdict", "reason"]], on="claim_id", how="left")
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
        table["verdict"].ne(verdicts.UNTESTABLE).to_numpy(),
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
    return {"n": str(n), "measurable": str(measurable), "testable": str(testable)}


# --------------------------------------------------------------------------------------------
# 5.1 and 5.4: tangible outcomes


def scotland_trends(led_tests: list[dict] | None = None) -> dict[str, pd.Series]:
    """Scotland's series for the ITS outcomes, as the designs see them, plus GB areas for GDP/GDHI."""
    cfg = settings.load()["attribution"]
    tests = {t["id"]: t for t in (led_tests or cfg["tests"])}
    p = panel.build().panel
    out: dict[str, pd.Series] = {}
    titles = panel.read().indicators.set_index("indicator")["title"]
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
    """Scotland's outcome series with the 2003 duty and the 2008 outcome agreements marked."""
    cfg = settings.load()["attribution"]
    duty, soa = cfg["events"]["duty"], cfg["events"]["soa"]
    series = scotland_trends()
    fig, axes = figures.new_figure(width=11, height=6.2, nrows=2, ncols=3)
    facts = []
    for ax, (label, s), colour in zip(axes.flat, series.items(), figures.OKABE_ITO * 2, strict=False):
        ax.plot(s.index, s.values, color=colour, lw=2)
        for year, ls in [(duty, "-"), (soa, "--")]:
            ax.axvline(year - 0.5, color="#555555", lw=1, ls=ls)
        ax.set_title(label, fontsize=9)
        ax.tick_params(labelsize=8)
        before = s[s.index < duty]
        after = s[s.index >= duty]
        if len(before) >= 2 and len(after) >= 2:
            facts.append((label, float(before.iloc[-1] - before.iloc[0]) / (before.index[-1] - before.index[0]),
                          float(after.iloc[-1] - after.iloc[0]) / (after.index[-1] - after.index[0])))
    for ax in list(axes.flat)[len(series):]:
        ax.set_visible(False)
    fig.suptitle(f"Scotland's outcomes, with {duty} (solid) and {soa} (dashed) marked", x=0.01, ha="left",
                 fontweight="bold")
    fig.subplots_adjust(hspace=0.4, wspace=0.3)
    turned = [label.split(" (")[0] for label, pre, post in facts if np.sign(pre) != np.sign(post)]
    led = ledger.ledger().set_index("claim_id")
    its_rows = led.loc[[HEADLINE_CLAIMS[k] for k in ("alcohol", "population", "gva", "employment")]]
    significant = int((its_rows["p_value"] < cfg["alpha"]).sum())
    alt = (f"Six panels of Scottish series from the 1990s to about 2020 with vertical lines at {duty} and {soa}. "
           + (f"The direction of change differs before and after {duty} for: {', '.join(turned)}. "
              if turned else f"No series changes direction at {duty}. ")
           + f"The time-series tests find a step distinguishable from zero in {significant} of the {len(its_rows)} "
           "series they test.")
    figures.glue_figure(key, fig, alt)
    return {"duty": str(duty), "soa": str(soa), "turned": ", ".join(turned) if turned else "none",
            "significant": str(significant), "n-its": str(len(its_rows))}


# --------------------------------------------------------------------------------------------
# 5.8: indicators, milestones, process indicators

THEME_OF_SOURCE = {"ScotPHO": "theme", "CPOP": "theme", "LGBF": "domain"}


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
    duty = settings.load()["attribution"]["events"]["duty"]
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
    figures.glue_figure(key, fig, alt)
    return {"at-duty": str(at_duty), "peak": str(int(counts.sum(axis=1).max())), "peak-year": str(peak_year),
            "n-themes": str(themed["theme"].nunique())}


def milestones_table() -> pd.DataFrame:
    ms = pd.read_csv(paths.REFERENCE / "social_justice_milestones.csv", dtype=str, keep_default_na=False)
    dictionary = panel.read().indicators.set_index("indicator")
    years = []
    for ind in ms["closest_indicator"]:
        if ind and ind not in dictionary.index:
            raise ValueError(f"milestone proxy {ind!r} is not an indicator in the panel")
        years.append(f"{int(dictionary.loc[ind, 'first_year'])}-{int(dictionary.loc[ind, 'last_year'])}" if ind else "")
    ms["council data (years)"] = years
    return ms[["milestone", "group", "closest_indicator", "match", "council data (years)", "note"]]


# --------------------------------------------------------------------------------------------
# What can be attributed


def ledger_display(led: pd.DataFrame | None = None) -> pd.DataFrame:
    """The ledger as shown in the book: grouped by chapter and verdict, numbers formatted."""
    led = ledger.ledger() if led is None else led
    order = {v: i for i, v in enumerate(verdicts.VERDICTS)}
    shown = led.assign(_v=led["verdict"].map(order)).sort_values(["chapter", "_v", "claim_id"], kind="stable")
    return pd.DataFrame({
        "chapter": shown["chapter"].astype(int),
        "verdict": shown["verdict"],
        "claim": shown["claim_id"],
        "what is claimed": shown["claim"],
        "design": shown["design"],
        "SMS": shown["sms_level"].astype(int),
        "estimate": shown["estimate"].map(fmt),
        "interval": [f"{fmt(a)} to {fmt(b)}" if not (isinstance(a, float) and math.isnan(a)) else ""
                     for a, b in zip(shown["ci_low"], shown["ci_high"], strict=True)],
        "p": shown["p_value"].map(fmt_p),
        "MDE": shown["mde"].map(fmt),
        "reason": shown["reason"],
    }).replace({"n/a": ""})


def verdicts_by_sms_figure(key: str = "fig-verdicts-sms") -> dict[str, str]:
    led = ledger.ledger()
    table = led.groupby(["sms_level", "verdict"]).size().unstack(fill_value=0).reindex(columns=list(verdicts.VERDICTS),
                                                                                           fill_value=0)
    fig, ax = figures.new_figure(width=9, height=3.8)
    left = np.zeros(len(table))
    for verdict, colour in zip(table.columns, [figures.OKABE_ITO[2], figures.OKABE_ITO[0], figures.OKABE_ITO[5],
                                               "#999999"], strict=True):
        ax.barh([f"SMS level {lvl}" for lvl in table.index], table[verdict], left=left, color=colour,
                label=SHORT_VERDICT[verdict])
        left += table[verdict].to_numpy()
    ax.set_xlabel("claims")
    ax.set_title("Verdicts by Maryland Scientific Methods Scale level")
    ax.legend(loc="lower right", fontsize=8)
    ax.invert_yaxis()
    n_attr = int(table[verdicts.ATTRIBUTABLE].sum())
    top = int(table.index.max())
    alt = (f"Horizontal stacked bars of {len(led)} claims by SMS level; {n_attr} are attributable; at level {top}, "
           f"{int(table.loc[top, verdicts.ASSUMPTION_FAILS])} fail a design assumption and "
           f"{int(table.loc[top, verdicts.NOT_DISTINGUISHABLE])} are not distinguishable from zero.")
    figures.glue_figure(key, fig, alt)
    return {"attributable": str(n_attr), "top": str(top)}


def economic_forest_figure(key: str = "fig-exec-forest") -> dict[str, str]:
    """The Scotland-wide economic comparisons: estimate, 95% interval and MDE, in log points."""
    led = ledger.ledger().set_index("claim_id")
    claims = [("gdp-did", "GDP per head: difference-in-differences"), ("gdp-es", "GDP per head: event study"),
              ("gdp-synth", "GDP per head: synthetic control"),
              ("gdhi-did", "Household income: difference-in-differences"),
              ("gdhi-es", "Household income: event study"), ("gdhi-synth", "Household income: synthetic control")]
    rows = led.loc[[HEADLINE_CLAIMS[c] for c, _ in claims]]
    fig, ax = figures.new_figure(width=9, height=3.9)
    y = np.arange(len(rows))
    colours = [figures.OKABE_ITO[5] if v == verdicts.ASSUMPTION_FAILS else figures.OKABE_ITO[0]
               for v in rows["verdict"]]
    for yi, (_, r), colour in zip(y, rows.iterrows(), colours, strict=True):
        ax.errorbar(r["estimate"], yi, xerr=[[r["estimate"] - r["ci_low"]], [r["ci_high"] - r["estimate"]]],
                    fmt="o", color=colour, capsize=3)
    ax.scatter(rows["mde"], y, marker="|", s=200, color="black", label="minimum detectable effect")
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y, [label for _, label in claims], fontsize=9)
    ax.invert_yaxis()
    ax.set_xlabel("effect on Scotland after 2003 (log points, 95% interval)")
    ax.set_title("Economic comparisons with England and Wales")
    ax.legend(loc="lower right", fontsize=8)
    failed = rows[rows["verdict"] == verdicts.ASSUMPTION_FAILS]
    fails = len(failed)
    null = int((rows["verdict"] == verdicts.NOT_DISTINGUISHABLE).sum())
    attributable = int((rows["verdict"] == verdicts.ATTRIBUTABLE).sum())
    pretrend = int(failed["reason"].str.startswith("parallel pre-trends").sum())
    why = ("because the two groups were not moving in parallel before the duty" if fails and pretrend == fails
           else "for the reasons given in the ledger")
    alt = (f"Forest plot of {len(rows)} Scotland-wide economic estimates with intervals and detectable effects: "
           f"{fails} (in orange) fail a design assumption, {pretrend} of them parallel pre-trends; {null} are not "
           f"distinguishable from zero; {attributable} support attribution.")
    figures.glue_figure(key, fig, alt)
    return {"fails": str(fails), "null": str(null), "why": why}


def _first_assumption(reason: str) -> str:
    return reason.split(":", 1)[0].strip()


def conclusions(led: pd.DataFrame | None = None) -> list[str]:
    """The book's conclusions, each sentence computed from the ledger's verdicts."""
    led = ledger.ledger() if led is None else led
    quant = led[led["outcome"] != ""]
    report = led[led["outcome"] == ""]
    n_attr = int((quant["verdict"] == verdicts.ATTRIBUTABLE).sum())
    fails = quant[quant["verdict"] == verdicts.ASSUMPTION_FAILS]
    nulls = quant[quant["verdict"] == verdicts.NOT_DISTINGUISHABLE]
    level3 = quant[quant["sms_level"] >= 3]
    out = []
    if n_attr == 0:
        out.append(f"None of the {len(quant)} quantitative tests, across {quant['outcome'].nunique()} outcomes and "
                   f"{quant['design'].nunique()} designs, supports attributing a change in outcomes to Community "
                   "Planning.")
    else:
        names = ", ".join(quant.loc[quant["verdict"] == verdicts.ATTRIBUTABLE, "claim_id"])
        out.append(f"{n_attr} of the {len(quant)} quantitative tests support attribution: {names}.")
    if len(fails):
        reasons = fails["reason"].map(_first_assumption)
        # the SMS-level rule's reason starts with the estimate: group it under its own name
        reasons = reasons.where(~reasons.str.startswith("estimate"), "no comparison group (level 2 design)")
        top = reasons.value_counts()
        listed = "; ".join(f"{name} ({count})" for name, count in top.head(3).items())
        out.append(f"{len(fails)} tests fail a design assumption, so their estimates, whatever their size, cannot "
                   f"be read as effects. The commonest failures: {listed}.")
    if len(nulls):
        out.append(f"{len(nulls)} tests find no effect distinguishable from zero; each ledger row gives the smallest "
                   "effect its design could have detected, and for single councils these are large, so a null there "
                   "rules out only large changes.")
    if len(level3):
        l3_fail = int((level3["verdict"] == verdicts.ASSUMPTION_FAILS).sum())
        l3_null = int((level3["verdict"] == verdicts.NOT_DISTINGUISHABLE).sum())
        out.append(f"The strongest designs here (level 3: comparisons with England and Wales) give {len(level3)} "
                   f"tests: {l3_fail} fail an assumption, most often parallel pre-trends, and {l3_null} find no "
                   "distinguishable effect. The comparison is in any case between two partnership regimes, since "
                   "England's Local Strategic Partnerships began in 2001.")
    untestable = int((report["verdict"] == verdicts.UNTESTABLE).sum())
    out.append(f"All {untestable} of the report's own claims in the ledger, including the benefits stakeholders "
               "named, rest on perception and cannot be tested from outcome data: no source here measures them.")
    return out


def findings_side_by_side(led: pd.DataFrame | None = None) -> pd.DataFrame:
    """The report's key findings beside the book's headline results (each read from the ledger)."""
    led = ledger.ledger() if led is None else led
    h = headline_values(led)
    c = verdict_counts(led)
    ms = milestones_table()
    gdhi_reason = led.set_index("claim_id").loc[HEADLINE_CLAIMS["gdhi-did"], "reason"]
    pretrend_clause = (", but the two were not moving in parallel before 2003"
                       if gdhi_reason.startswith("parallel pre-trends") else "")
    rows = [
        ("Very few tangible outputs could be credited directly to Community Planning (para 5.1).",
         f"Of {c['n-tests']} quantitative tests of outcomes, {c['n-tests-attributable']} support attribution; "
         f"{c['n-tests-an-assumption-fails']} fail a design assumption and "
         f"{c['n-tests-not-distinguishable-from-zero']} find no distinguishable effect."),
        ("The benefits named were organisational and cultural, and could not be quantified (paras 5.2-5.3).",
         f"All {c['n-report']} of the report's claims entered in the ledger are perceptions (SMS level 1) that "
         "outcome data cannot test."),
        ("Success would have to be shown in tangible outcomes (para 5.8).",
         f"Scotland's alcohol-specific death rate: level change at 2003 of {h['alcohol-estimate']} per 100,000 "
         f"(95% interval {h['alcohol-ci']}; could detect about {h['alcohol-mde']}): {h['alcohol-verdict']}."),
        ("Partnerships felt the need to demonstrate tangible results (para 5.4).",
         f"Household income per head rose {h['gdhi-did-estimate']} log points relative to England and Wales"
         f"{pretrend_clause}: {h['gdhi-did-verdict']}. The synthetic control finds "
         f"{h['gdhi-synth-estimate']} (p {h['gdhi-synth-p']}; detectable about {h['gdhi-synth-mde']}): "
         f"{h['gdhi-synth-verdict']}."),
        ("Partnerships used national indicators such as the social justice milestones (para 5.8).",
         f"Of {len(ms)} verified milestones, {int((ms['match'] == 'proxy').sum())} have a council-level proxy in "
         "these sources, each only after the duty."),
    ]
    return pd.DataFrame(rows, columns=["What the report found", "What the data show"])
