"""What can be attributed: the conclusions, the verdicts by design level, and the evidence ledger."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analysis.attribution import ledger, verdicts
from analysis.pages import claims, figures, overview
from analysis.pages.claims import (
    VERDICT_COLOURS,
    _quant,
    confirmatory,
    fmt,
    fmt_p,
    interval,
    labels,
    short_reason,
    verdict_counts,
)
from analysis.pages.common import PageResult, confidence


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


#: The ledger table's filter menus (columns of :func:`ledger_display`).
LEDGER_FILTERS = ["chapter", "role", "outcome", "design", "window", "area", "verdict"]


def build() -> PageResult:
    """Everything the page glues and shows."""
    led = ledger.ledger()
    page = PageResult()
    page.text["conf"], page.text["conf-eq"] = confidence(), confidence(equivalence=True)
    page.text.update(verdict_counts(led))
    page.add("mult", claims.multiplicity_values(led))
    page.markdown["conclusions"] = "\n".join(f"- {c}" for c in conclusions(led))
    page.add("glance", claims.evidence_at_a_glance_figure("fig-glance", led))
    page.add("sms", verdicts_by_sms_figure("fig-verdicts-sms"))
    overview.add(page, led)
    page.tables["ledger"] = ledger_display(led)
    page.options["ledger"] = {"label": "The evidence ledger", "sortable": True, "filters": LEDGER_FILTERS}
    return page
