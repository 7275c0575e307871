"""Chapter Five, the executive summary and "What can be attributed": numbers, sentences, tables and
figures read from the evidence ledger and the panel.

Pages call these functions and glue what they return; nothing here estimates anything (the
designs live in :mod:`analysis.attribution`), and every number and every sentence about a verdict
is generated from the ledger, so the same claim shows the same number and the same verdict on every
page. Verdicts are always named by the taxonomy of :mod:`analysis.attribution.verdicts`.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from . import figures, panel, paths, settings
from .attribution import ledger, verdicts
from .sources._common import reference_table  # noqa: F401 - the chapters read reference tables through here

#: Ledger rows the chapters quote (the confirmatory rows of the primary window), by a short key.
HEADLINE_CLAIMS = {
    "alcohol": "alcohol-its:primary:S92000003",
    "population": "population-its:primary:S92000003",
    "gva": "gva-its:primary:S92000003",
    "gdp-did": "gdp-did:primary:scotland:itl3",
    "gdp-es": "gdp-es:primary:scotland:itl3",
    "gdp-synth": "gdp-synth:primary:TLM",
    "gdhi-did": "gdhi-did:primary:scotland:nuts3",
    "gdhi-es": "gdhi-es:primary:scotland:nuts3",
    "gdhi-synth": "gdhi-synth:primary:UKM",
    "employment": "employment-its:primary:S92000003",
    "admissions": "alcohol-admissions-its:primary:S92000003",
}
#: The same claims over every post-event year (the secondary analysis).
FULL_CLAIMS = {k: v.replace(":primary:", ":full:") for k, v in HEADLINE_CLAIMS.items()}
DESIGN_NAMES = {"its": "interrupted time series", "did": "difference-in-differences", "event_study": "event study",
                "synth": "synthetic control"}
#: One colour per verdict (Okabe–Ito), the same in every figure.
VERDICT_COLOURS = {
    verdicts.ATTRIBUTABLE: figures.OKABE_ITO[2], verdicts.DETECTED: figures.OKABE_ITO[1],
    verdicts.ASSUMPTION: figures.OKABE_ITO[5], verdicts.EQUIVALENT: figures.OKABE_ITO[0],
    verdicts.INCONCLUSIVE: "#999999", verdicts.UNTESTABLE: figures.OKABE_ITO[3],
}


def _cfg() -> dict:
    return settings.load()["attribution"]


def labels() -> dict[str, str]:
    """The taxonomy's labels (settings)."""
    return verdicts.labels(_cfg())


def fmt(x: float, digits: int = 3) -> str:
    """The one number format used for ledger values in prose and in tests of the built pages."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if isinstance(x, float) and math.isinf(x):
        return "∞" if x > 0 else "−∞"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def fmt_p(p: float) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "n/a"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def interval(lo: float, hi: float) -> str:
    return f"{fmt(lo)} to {fmt(hi)}"


def unit_of(row: pd.Series) -> str:
    """How the row's estimate is measured, in words."""
    return "log points" if row["scale"] == "log points" else "in the outcome's units"


def _quant(led: pd.DataFrame) -> pd.DataFrame:
    return led[led["outcome"] != ""]


def confirmatory(led: pd.DataFrame) -> pd.DataFrame:
    return led[led["role"] == ledger.CONFIRMATORY]


# --------------------------------------------------------------------------------------------
# headline values and counts


def headline_values(led: pd.DataFrame | None = None) -> dict[str, str]:
    """Formatted estimate, intervals, p-values, MDE, margin and verdict of each headline claim."""
    led = ledger.ledger() if led is None else led
    rows = led.set_index("claim_id")
    names = labels()
    out: dict[str, str] = {}
    for short, claim_id in HEADLINE_CLAIMS.items():
        r = rows.loc[claim_id]
        out[f"{short}-estimate"] = fmt(r["estimate"])
        out[f"{short}-ci"] = interval(r["ci_low"], r["ci_high"])
        out[f"{short}-eq"] = interval(r["eq_low"], r["eq_high"])
        out[f"{short}-p"] = fmt_p(r["p_value"])
        out[f"{short}-p-holm"] = fmt_p(r["p_holm"])
        out[f"{short}-mde"] = fmt(r["mde"])
        out[f"{short}-margin"] = fmt(r["margin"])
        out[f"{short}-verdict"] = names[r["verdict_key"]]
        out[f"{short}-sms"] = str(int(r["sms_level"]))
        out[f"{short}-window"] = str(r["window"])
    return out


def verdict_counts(led: pd.DataFrame | None = None) -> dict[str, str]:
    """Counts of claims by verdict (taxonomy key), overall, for the tests, and for confirmatory and
    exploratory tests, keyed for glue: ``n-tests-<key>``, ``n-confirmatory-<key>``, …"""
    led = ledger.ledger() if led is None else led
    quant = _quant(led)
    groups = {"all": led, "tests": quant, "confirmatory": confirmatory(quant),
              "exploratory": quant[quant["role"] == ledger.EXPLORATORY]}
    out = {"n-claims": str(len(led)), "n-tests": str(len(quant)), "n-report": str(len(led) - len(quant)),
           "n-outcomes": str(quant["outcome"].nunique()), "n-designs": str(quant["design"].nunique()),
           "n-confirmatory": str(len(groups["confirmatory"])), "n-exploratory": str(len(groups["exploratory"]))}
    for group, frame in groups.items():
        for key in verdicts.KEYS:
            out[f"n-{group}-{key}"] = str(int((frame["verdict_key"] == key).sum()))
    return out


def multiplicity_summary(led: pd.DataFrame | None = None) -> pd.DataFrame:
    """How many tests reject at alpha before and after each adjustment, by role."""
    led = ledger.ledger() if led is None else led
    alpha = float(_cfg()["alpha"])
    quant = _quant(led)
    rows = []
    for role in (ledger.CONFIRMATORY, ledger.EXPLORATORY):
        frame = quant[(quant["role"] == role) & quant["p_value"].notna()]
        rows.append({"tests": role, "with a p-value": len(frame),
                     "p < alpha (raw)": int((frame["p_value"] < alpha).sum()),
                     "Holm": int((frame["p_holm"] < alpha).sum()),
                     "Benjamini–Hochberg": int((frame["p_bh"] < alpha).sum()),
                     "families": int(frame["family"].nunique())})
    return pd.DataFrame(rows)


def multiplicity_values(led: pd.DataFrame | None = None) -> dict[str, str]:
    table = multiplicity_summary(led).set_index("tests")
    out = {}
    for role, r in table.iterrows():
        out[f"{role}-tested"] = str(int(r["with a p-value"]))
        out[f"{role}-raw"] = str(int(r["p < alpha (raw)"]))
        out[f"{role}-holm"] = str(int(r["Holm"]))
        out[f"{role}-bh"] = str(int(r["Benjamini–Hochberg"]))
        out[f"{role}-families"] = str(int(r["families"]))
    return out


# --------------------------------------------------------------------------------------------
# sentences generated from ledger rows


def short_reason(row: pd.Series) -> str:
    """Why the row has its verdict (the verdict rule's own words, without the restated estimate)."""
    return str(row["why"])


def claim_sentence(row: pd.Series) -> str:
    """One claim in words: what was estimated, how precisely, and the verdict with its reason."""
    names = labels()
    design = DESIGN_NAMES.get(row["design"], row["design"])
    scale = " log points" if row["scale"] == "log points" else ""
    level = int(round(100 * (1 - float(_cfg()["alpha"]))))
    return (f"**{row['area_name']}, {design}, {row['window']}**: {row['estimand']} {fmt(row['estimate'])}{scale} "
            f"({level}% interval {interval(row['ci_low'], row['ci_high'])}; detection test p {fmt_p(row['p_value'])}, "
            f"Holm-adjusted {fmt_p(row['p_holm'])}; could detect about {fmt(row['mde'])}{scale}). Verdict: "
            f"**{names[row['verdict_key']]}** — {short_reason(row).rstrip('.')}.")


def outcome_results(led: pd.DataFrame, *, chapter: int | None = None, outcomes: list[str] | None = None,
                    role: str = ledger.CONFIRMATORY) -> str:
    """A Markdown list: one sentence per ledger row of ``role``, grouped by outcome (each outcome
    described by its own results, never by another's)."""
    rows = _quant(led)
    rows = rows[rows["role"] == role]
    if chapter is not None:
        rows = rows[rows["chapter"] == chapter]
    if outcomes is not None:
        rows = rows[rows["outcome"].isin(outcomes)]
    titles = panel.read().indicators.set_index("indicator")["title"]
    parts = []
    for outcome, group in rows.groupby("outcome", sort=False):
        parts.append(f"- *{titles.get(outcome, outcome)}*")
        parts += [f"  - {claim_sentence(r)}" for _, r in group.iterrows()]
    return "\n".join(parts)


def trend_adjusted(led: pd.DataFrame | None = None) -> dict[str, str]:
    """Each economic outcome's event-study average with its pre-event leads extrapolated as a linear
    trend (the smoothness restriction with M = 0), computed, so the outcomes can be told apart."""
    out = {}
    for short in ("gdp-es", "gdhi-es"):
        res = ledger.result_for(HEADLINE_CLAIMS[short])
        sd = (res.sensitivity or {}).get("sd") or []
        at_zero = next((s for s in sd if s["M"] == 0), None)
        if at_zero is None:
            out[f"{short}-linear"] = "not computed"
            out[f"{short}-linear-ci"] = ""
            continue
        centre = (at_zero["lb"] + at_zero["ub"]) / 2
        out[f"{short}-linear"] = fmt(centre)
        out[f"{short}-linear-ci"] = interval(at_zero["lb"], at_zero["ub"])
        out[f"{short}-linear-excludes-zero"] = "excludes" if at_zero["lb"] > 0 or at_zero["ub"] < 0 else "includes"
    return out


# --------------------------------------------------------------------------------------------
# 5.1-5.3: the benefits


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


# --------------------------------------------------------------------------------------------
# 5.1 and 5.4: tangible outcomes


def scotland_trends(led_tests: list[dict] | None = None) -> dict[str, pd.Series]:
    """Scotland's series for the ITS outcomes, as the designs see them, plus GB areas for GDP/GDHI."""
    cfg = _cfg()
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


# --------------------------------------------------------------------------------------------
# 5.8: indicators, milestones, process indicators


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
    """The ledger as shown in the book: grouped by chapter, role and verdict, numbers formatted."""
    led = ledger.ledger() if led is None else led
    order = {v: i for i, v in enumerate(verdicts.KEYS)}
    role_order = {ledger.CONFIRMATORY: 0, ledger.EXPLORATORY: 1, ledger.REPORT: 2}
    shown = led.assign(_v=led["verdict_key"].map(order), _r=led["role"].map(role_order)).sort_values(
        ["chapter", "_r", "_v", "claim_id"], kind="stable")
    finite = [not (isinstance(a, float) and math.isnan(a)) for a in shown["ci_low"]]
    return pd.DataFrame({
        "chapter": shown["chapter"].astype(int),
        "role": shown["role"],
        "verdict": shown["verdict"],
        "claim": shown["claim_id"],
        "what is claimed": shown["claim"],
        "area": shown["area_name"],
        "outcome": shown["outcome"],
        "design": shown["design"],
        "window": shown["window"],
        "SMS": shown["sms_level"].astype(int),
        "estimate": shown["estimate"].map(fmt),
        "interval": [interval(a, b) if ok else "" for a, b, ok in zip(shown["ci_low"], shown["ci_high"], finite,
                                                                       strict=True)],
        "p": shown["p_value"].map(fmt_p),
        "p (Holm)": shown["p_holm"].map(fmt_p),
        "permutation p (smallest possible)": [f"{fmt_p(p)} (≥ {fmt_p(m)})" if isinstance(p, float) and p == p else ""
                                              for p, m in zip(shown["p_permutation"], shown["min_p_permutation"],
                                                              strict=True)],
        "MDE": shown["mde"].map(fmt),
        "reason": shown["reason"],
    }).replace({"n/a": ""})


def verdicts_by_sms_figure(key: str = "fig-verdicts-sms") -> dict[str, str]:
    led = ledger.ledger()
    names = labels()
    table = (led.groupby(["sms_level", "verdict_key"]).size().unstack(fill_value=0)
             .reindex(columns=list(verdicts.KEYS), fill_value=0))
    fig, ax = figures.new_figure(width=9, height=3.8)
    left = np.zeros(len(table))
    for key_ in table.columns:
        ax.barh([f"SMS level {lvl}" for lvl in table.index], table[key_], left=left, color=VERDICT_COLOURS[key_],
                label=names[key_])
        left += table[key_].to_numpy()
    ax.set_xlabel("claims (every row of the ledger)")
    ax.set_title("Verdicts by Maryland Scientific Methods Scale level")
    ax.legend(loc="lower right", fontsize=8)
    ax.invert_yaxis()
    parts = []
    for lvl, r in table.iterrows():
        described = ", ".join(f"{int(r[k])} {names[k]}" for k in verdicts.KEYS if r[k])
        parts.append(f"level {lvl}: {described}")
    alt = f"Horizontal stacked bars of {len(led)} claims by SMS level and verdict — " + "; ".join(parts) + "."
    figures.glue_figure(key, fig, alt)
    return {"attributable": str(int(table[verdicts.ATTRIBUTABLE].sum())), "top": str(int(table.index.max()))}


def evidence_at_a_glance_figure(key: str = "fig-at-a-glance", led: pd.DataFrame | None = None) -> dict[str, str]:
    """Every confirmatory claim's estimate and interval against its MDE and equivalence margin.

    Claims are on different scales (deaths per 100,000, log points, pounds), so each is drawn in
    units of its own equivalence margin: the margin sits at ±1 for every claim. An interval clear of
    0 is a detected change; an equivalence interval inside ±1 excludes effects larger than the
    margin; anything else is open. Colour gives the verdict.
    """
    led = ledger.ledger() if led is None else led
    names = labels()
    rows = confirmatory(_quant(led))
    rows = rows[rows["margin"].notna() & (rows["margin"] > 0)].copy()
    untested = confirmatory(_quant(led))
    untested = untested[~untested["claim_id"].isin(rows["claim_id"])]
    rows = rows.sort_values(["event", "design", "outcome"])
    m = rows["margin"].astype(float)
    est, lo, hi = rows["estimate"] / m, rows["ci_low"] / m, rows["ci_high"] / m
    elo, ehi = rows["eq_low"] / m, rows["eq_high"] / m
    titles = panel.read().indicators.set_index("indicator")["title"]
    ylabels = [f"{titles.get(o, o)} — {DESIGN_NAMES[d]} ({w})" for o, d, w in
               zip(rows["outcome"], rows["design"], rows["window"], strict=True)]
    fig, ax = figures.new_figure(width=10, height=0.42 * len(rows) + 1.8)
    y = np.arange(len(rows))
    reach = np.nanmax(np.abs(np.concatenate([lo, hi, elo, ehi]))) if len(rows) else 1.0
    bound = float(min(4.0, max(2.0, np.ceil(reach * 2) / 2)))
    for yi, (k, a, b, c, e1, e2) in enumerate(zip(rows["verdict_key"], est, lo, hi, elo, ehi, strict=True)):
        colour = VERDICT_COLOURS[k]
        ax.plot([max(b, -bound), min(c, bound)], [yi, yi], color=colour, lw=1.5)
        ax.plot([max(e1, -bound), min(e2, bound)], [yi, yi], color=colour, lw=4, alpha=0.6)
        ax.plot([np.clip(a, -bound, bound)], [yi], "o", color=colour, ms=6)
    ax.axvline(0, color="black", lw=0.8)
    for side in (-1, 1):
        ax.axvline(side, color="#555555", lw=1, ls="--")
    ax.set_xlim(-bound, bound)
    ax.set_yticks(y, ylabels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("estimate in units of its equivalence margin (its own minimum detectable effect)\n"
                  "thin line: 95% interval; thick: 90% (equivalence) interval; dashed: ±margin")
    ax.set_title("Evidence at a glance: the confirmatory claims")
    handles = [ax.plot([], [], "o-", color=VERDICT_COLOURS[k], label=names[k])[0] for k in verdicts.KEYS
               if k in set(rows["verdict_key"])]
    ax.legend(handles=handles, loc="lower right", fontsize=8)
    counts = rows["verdict_key"].value_counts()
    detected = int(((lo > 0) | (hi < 0)).sum())
    excluded = int(((elo > -1) & (ehi < 1)).sum())
    described = "; ".join(f"{int(counts[k])} {names[k]}" for k in verdicts.KEYS if k in counts)
    alt = (f"Forest plot of {len(rows)} confirmatory claims, each scaled by its own equivalence margin: "
           f"{detected} have a 95% interval clear of zero, {excluded} have a 90% interval inside the margin (an effect "
           f"larger than the margin is excluded) and {len(rows) - detected - excluded} are neither. Verdicts: "
           f"{described}" + (f"; {len(untested)} more confirmatory claims could not be tested and are not drawn." if
                             len(untested) else "."))
    figures.glue_figure(key, fig, alt)
    return {"n": str(len(rows)), "detected": str(detected), "excluded": str(excluded),
            "open": str(len(rows) - detected - excluded), "untested": str(len(untested))}


def sensitivity_figure(key: str = "fig-sensitivity") -> dict[str, str]:
    """Robust confidence sets of the headline event-study averages against M̄ (relative magnitudes)
    and M (smoothness), Rambachan & Roth (2023)."""
    names = {"gdp-es": "GDP per head", "gdhi-es": "household income per head"}
    fig, axes = figures.new_figure(width=11, height=4.2, ncols=2)
    facts = {}
    for j, (short, name) in enumerate(names.items()):
        res = ledger.result_for(HEADLINE_CLAIMS[short])
        s = res.sensitivity
        colour = figures.OKABE_ITO[j]
        if not s:
            facts[f"{short}-breakdown-rm"] = "not computed"
            facts[f"{short}-breakdown-sd"] = "not computed"
            continue
        for ax, grid, field, label in [(axes[0], s["rm"], "Mbar", "M̄ (relative magnitudes)"),
                                       (axes[1], s["sd"], "M", "M (smoothness, log points per year²)")]:
            xs = np.array([g[field] for g in grid], dtype=float)
            offset = (j - 0.5) * 0.06 * (xs.max() - xs.min() if xs.max() > xs.min() else 1)
            for x, g in zip(xs, grid, strict=True):
                if math.isfinite(g["lb"]) and math.isfinite(g["ub"]):
                    ax.plot([x + offset] * 2, [g["lb"], g["ub"]], color=colour, lw=2)
            ax.plot([], [], color=colour, lw=2, label=name)
            ax.axhline(0, color="black", lw=0.8)
            ax.set_xlabel(label)
        facts[f"{short}-breakdown-rm"] = fmt(s.get("breakdown_rm"))
        facts[f"{short}-breakdown-sd"] = fmt(s.get("breakdown_sd"))
    axes[0].set_ylabel("robust 95% set for the average effect\n(log points)")
    axes[0].set_title("Relative magnitudes")
    axes[1].set_title("Smoothness")
    axes[0].legend(fontsize=8, loc="upper left")
    fig.suptitle("How large a violation of parallel trends would overturn the event-study averages (primary window)",
                 x=0.01, ha="left", fontweight="bold")
    fig.subplots_adjust(top=0.84, wspace=0.22)
    alt = ("Two panels of robust confidence sets for the event-study average effect on GDP and household income per "
           "head as the allowed violation of parallel trends grows. Breakdown values (the largest violation at which "
           f"the set still excludes zero): GDP M̄ = {facts['gdp-es-breakdown-rm']}, M = {facts['gdp-es-breakdown-sd']};"
           f" household income M̄ = {facts['gdhi-es-breakdown-rm']}, M = {facts['gdhi-es-breakdown-sd']} (n/a: "
           "the set includes zero already under exact parallel trends).")
    figures.glue_figure(key, fig, alt)
    return facts


def _first_assumption(reason: str) -> str:
    return reason.split(":", 1)[0].strip()


def conclusions(led: pd.DataFrame | None = None) -> list[str]:
    """The book's conclusions, each sentence computed from the ledger's confirmatory verdicts."""
    led = ledger.ledger() if led is None else led
    names = labels()
    quant = _quant(led)
    conf = confirmatory(quant)
    report = led[led["outcome"] == ""]
    counts = conf["verdict_key"].value_counts()
    out = [f"The conclusions rest on {len(conf)} confirmatory tests, fixed in advance in the settings: each main "
           f"outcome's Scotland-level test over its primary window. Their verdicts: "
           + "; ".join(f"{names[k]}, {int(counts[k])}" for k in verdicts.KEYS if k in counts) + "."]
    attributable = conf[conf["verdict_key"] == verdicts.ATTRIBUTABLE]
    if attributable.empty:
        out.append("None of them supports attributing a change in outcomes to Community Planning.")
    else:
        out.append(f"{len(attributable)} support attribution: " + ", ".join(attributable["claim_id"]) + ".")
    detected = conf[conf["verdict_key"] == verdicts.DETECTED]
    if len(detected):
        out.append(f"{len(detected)} detect a change that their design cannot attribute: "
                   + "; ".join(f"{r.claim_id} ({short_reason(r)})" for r in detected.itertuples()) + ".")
    failed = conf[conf["verdict_key"] == verdicts.ASSUMPTION]
    if len(failed):
        top = failed["reason"].map(_first_assumption).value_counts()
        out.append(f"{len(failed)} fail a named assumption, so their estimates cannot be read as effects: "
                   + "; ".join(f"{name} ({n})" for name, n in top.items()) + ".")
    equivalent = conf[conf["verdict_key"] == verdicts.EQUIVALENT]
    if len(equivalent):
        out.append(f"{len(equivalent)} exclude an effect larger than their margin (both one-sided equivalence tests "
                   "reject): " + "; ".join(f"{r.claim_id} (margin {fmt(r.margin)})" for r in equivalent.itertuples())
                   + ".")
    inconclusive = conf[conf["verdict_key"] == verdicts.INCONCLUSIVE]
    if len(inconclusive):
        out.append(f"{len(inconclusive)} are inconclusive: no change is detected, but effects as large as the design "
                   "could detect are not excluded either, so they say nothing for or against an effect.")
    explo = quant[quant["role"] == ledger.EXPLORATORY]
    e_counts = explo["verdict_key"].value_counts()
    out.append(f"The {len(explo)} exploratory rows (single councils and areas, and every test over all post-event "
               "years, which also span the Single Outcome Agreements, the financial crisis and the pandemic) give: "
               + "; ".join(f"{names[k]}, {int(e_counts[k])}" for k in verdicts.KEYS if k in e_counts)
               + ". They are for reading patterns, not for conclusions.")
    untestable = int((report["verdict_key"] == verdicts.UNTESTABLE).sum())
    out.append(f"All {untestable} of the report's own claims in the ledger, including the benefits stakeholders "
               f"named, rest on perception: {names[verdicts.UNTESTABLE]}, because no source here measures them.")
    return out


def findings_side_by_side(led: pd.DataFrame | None = None) -> pd.DataFrame:
    """The report's key findings beside the book's headline results (each read from the ledger)."""
    led = ledger.ledger() if led is None else led
    h = headline_values(led)
    c = verdict_counts(led)
    names = labels()
    ms = milestones_table()
    rows = [
        ("Very few tangible outputs could be credited directly to Community Planning (para 5.1).",
         f"Of {c['n-confirmatory']} confirmatory tests of outcomes, {c['n-confirmatory-attributable']} "
         f"support attribution; {c['n-confirmatory-detected']} detect a change their design cannot attribute; "
         f"{c['n-confirmatory-assumption']} fail a named assumption; {c['n-confirmatory-equivalent']} exclude an "
         f"effect larger than their margin; {c['n-confirmatory-inconclusive']} are inconclusive."),
        ("The benefits named were organisational and cultural, and could not be quantified (paras 5.2-5.3).",
         f"All {c['n-report']} of the report's claims entered in the ledger are perceptions (SMS level 1): "
         f"{names[verdicts.UNTESTABLE]}."),
        ("Success would have to be shown in tangible outcomes (para 5.8).",
         f"Scotland's alcohol-specific death rate, {h['alcohol-window']}: average gap from its pre-2003 trend "
         f"{h['alcohol-estimate']} per 100,000 (95% interval {h['alcohol-ci']}; could detect about "
         f"{h['alcohol-mde']}): {h['alcohol-verdict']}."),
        ("Partnerships felt the need to demonstrate tangible results (para 5.4).",
         f"Household income per head against England and Wales, {h['gdhi-did-window']}: difference-in-differences "
         f"{h['gdhi-did-estimate']} log points (95% interval {h['gdhi-did-ci']}): {h['gdhi-did-verdict']}. GDP per "
         f"head: {h['gdp-did-estimate']} (interval {h['gdp-did-ci']}): {h['gdp-did-verdict']}."),
        ("Partnerships used national indicators such as the social justice milestones (para 5.8).",
         f"Of {len(ms)} verified milestones, {int((ms['match'] == 'proxy').sum())} have a council-level proxy in "
         "these sources, each only after the duty."),
    ]
    return pd.DataFrame(rows, columns=["What the report found", "What the data show"])


# --------------------------------------------------------------------------------------------
# the change log: verdicts before and after the recalibrated inference

CHANGE_LOG_FILE = "ledger_verdicts_2026-11.csv"
#: What changed in each design between the two ledgers (the Methods appendix gives the detail).
DESIGN_CHANGES = {
    "its": ("the estimand became the departure from the extrapolated trend (level and slope jointly) and the "
            "average gap; inference became fixed-b HAC calibrated by a prepivoted AR(1) bootstrap, with a "
            "persistence check that can fail; a significant change without a comparison group is now "
            "'change detected, not attributable' instead of 'a design assumption fails'"),
    "did": ("inference now treats the country as the unit of treatment (placebo regions) instead of clustering by "
            "area; the pre-trend test became a diagnostic and parallel trends is read through the Rambachan–Roth "
            "sensitivity analysis"),
    "event_study": ("as for the difference-in-differences: country-level inference, pre-trends as a diagnostic, "
                    "parallel trends through the sensitivity analysis"),
    "synth": ("the statistic became the studentised mean gap, so that the p-value, interval and estimate refer to "
              "the same quantity, and the MDE became the treated unit's own"),
}


#: The previous ledger's verdict labels in today's taxonomy (its "not distinguishable from zero" has
#: no counterpart: the new rules split it into "no effect larger than the margin" and "inconclusive").
OLD_VERDICTS = {
    "attributable": verdicts.ATTRIBUTABLE,
    "not attributable — a design assumption fails": verdicts.ASSUMPTION,
    "not attributable — effect not distinguishable from zero": None,
    "cannot be tested from outcome data": verdicts.UNTESTABLE,
}


def change_log(led: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every claim whose verdict changed between the previous ledger (``data/reference``; all post-event
    years, the old rules) and the same claim now (the full-period row), with what changed and why."""
    led = ledger.ledger() if led is None else led
    before = pd.read_csv(paths.REFERENCE / CHANGE_LOG_FILE, dtype=str, keep_default_na=False)
    now = led.set_index("claim_id")
    rows = []
    for r in before.itertuples(index=False):
        if r.design == "stakeholder perception":
            new_id = r.claim_id
        else:
            test_id, _, area = r.claim_id.partition(":")
            new_id = f"{test_id}:{ledger.FULL}:{area}"
        if new_id not in now.index:
            rows.append({"claim": r.claim_id, "before": r.verdict, "now": "(no longer in the ledger)",
                         "what changed": "the claim was removed from the settings"})
            continue
        after = now.loc[new_id]
        if r.verdict not in OLD_VERDICTS:
            raise ValueError(f"{CHANGE_LOG_FILE}: unknown verdict {r.verdict!r} for {r.claim_id}")
        if OLD_VERDICTS[r.verdict] == after["verdict_key"]:
            continue
        rows.append({"claim": new_id, "before": r.verdict, "now": after["verdict"],
                     "what changed": DESIGN_CHANGES.get(after["design"], "the verdict taxonomy was revised"),
                     "reason now": after["reason"]})
    return pd.DataFrame(rows, columns=["claim", "before", "now", "what changed", "reason now"])
