"""The ledger in words: the helper every page that reports a claim uses.

Headline values, verdict counts, multiplicity counts and one generated sentence per claim, all read
from the evidence ledger, so the same claim shows the same number and the same verdict on every
page; the evidence-at-a-glance figure. Nothing here estimates anything (the designs live in
:mod:`analysis.attribution`), and verdicts are always named by the taxonomy of
:mod:`analysis.attribution.verdicts`.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analysis import settings
from analysis.attribution import ledger, verdicts
from analysis.data import panel
from analysis.pages import figures
from analysis.pages.common import confidence

#: Ledger rows the chapters quote (the confirmatory rows of the primary window), by a short key.
HEADLINE_CLAIMS = {
    "alcohol": "alcohol-its:primary:S92000003",
    "population": "population-its:primary:S92000003",
    "gva": "gva-its:primary:S92000003",
    # the comparisons with England and Wales: the 32 councils against the 318 districts (primary) ...
    "gdp-did": "gdp-council-did:primary:scotland:district",
    "gdp-es": "gdp-council-es:primary:scotland:district",
    "gdhi-did": "gdhi-council-did:primary:scotland:district",
    "gdhi-es": "gdhi-council-es:primary:scotland:district",
    # ... and the same at ITL3/NUTS3 areas, shown beside them (exploratory)
    "gdp-did-itl3": "gdp-did:primary:scotland:itl3",
    "gdp-es-itl3": "gdp-es:primary:scotland:itl3",
    "gdhi-did-itl3": "gdhi-did:primary:scotland:nuts3",
    "gdhi-es-itl3": "gdhi-es:primary:scotland:nuts3",
    "gdp-synth": "gdp-synth:primary:TLM",
    "gdhi-synth": "gdhi-synth:primary:UKM",
    "employment": "employment-its:primary:S92000003",
    "admissions": "alcohol-admissions-its:primary:S92000003",
}
#: The outcomes of the comparisons with England and Wales: the council-level series (primary) and the
#: ITL3/NUTS3 series shown beside them.
GB_OUTCOMES = ["gdp_cvm_per_head_lad", "gdhi_per_head_lad", "gdp_per_head", "gdhi_per_head"]
#: The ITL3/NUTS3 difference-in-differences and event-study rows shown beside the council-level ones.
ITL3_CLAIMS = [HEADLINE_CLAIMS[k] for k in ("gdp-did-itl3", "gdp-es-itl3", "gdhi-did-itl3", "gdhi-es-itl3")]
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
                    role: str = ledger.CONFIRMATORY, claim_ids: list[str] | None = None) -> str:
    """A Markdown list: one sentence per ledger row of ``role`` (or the rows ``claim_ids``, whatever
    their role), grouped by outcome (each outcome described by its own results, never by another's)."""
    rows = _quant(led)
    rows = rows[rows["claim_id"].isin(claim_ids)] if claim_ids is not None else rows[rows["role"] == role]
    if chapter is not None:
        rows = rows[rows["chapter"] == chapter]
    if outcomes is not None:
        rows = rows[rows["outcome"].isin(outcomes)]
    titles = panel.read_table("indicators").set_index("indicator")["title"]
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
# evidence at a glance (the executive summary and "What can be attributed" both show it)


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
    titles = panel.read_table("indicators").set_index("indicator")["title"]
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
                  f"thin line: {confidence()} interval; thick: {confidence(equivalence=True)} (equivalence) interval; "
                  "dashed: ±margin")
    ax.set_title("Evidence at a glance: the confirmatory claims")
    handles = [ax.plot([], [], "o-", color=VERDICT_COLOURS[k], label=names[k])[0] for k in verdicts.KEYS
               if k in set(rows["verdict_key"])]
    ax.legend(handles=handles, loc="lower right", fontsize=8)
    counts = rows["verdict_key"].value_counts()
    detected = int(((lo > 0) | (hi < 0)).sum())
    excluded = int(((elo > -1) & (ehi < 1)).sum())
    described = "; ".join(f"{int(counts[k])} {names[k]}" for k in verdicts.KEYS if k in counts)
    alt = (f"Forest plot of {len(rows)} confirmatory claims, each scaled by its own equivalence margin: "
           f"{detected} have a {confidence()} interval clear of zero, {excluded} have a {confidence(equivalence=True)} "
           "interval inside the margin (an effect "
           f"larger than the margin is excluded) and {len(rows) - detected - excluded} are neither. Verdicts: "
           f"{described}" + (f"; {len(untested)} more confirmatory claims could not be tested and are not drawn." if
                             len(untested) else "."))
    figures.glue_figure(key, fig, alt)
    return {"n": str(len(rows)), "detected": str(detected), "excluded": str(excluded),
            "open": str(len(rows) - detected - excluded), "untested": str(len(untested))}
