"""The executive summary: the headline counts, the side-by-side table and the economic results."""

from __future__ import annotations

import pandas as pd

from analysis.attribution import ledger, verdicts
from analysis.pages import claims
from analysis.pages.ch05 import milestones_table
from analysis.pages.claims import (
    headline_values,
    labels,
    verdict_counts,
)
from analysis.pages.common import PageResult, confidence, event_years


def findings_side_by_side(led: pd.DataFrame | None = None) -> pd.DataFrame:
    """The report's key findings beside the book's headline results (each read from the ledger)."""
    led = ledger.ledger() if led is None else led
    h = headline_values(led)
    c = verdict_counts(led)
    names = labels()
    ms = milestones_table()
    events, level = event_years(), confidence()
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
         f"Scotland's alcohol-specific death rate, {h['alcohol-window']}: average gap from its "
         f"pre-{events['duty']} trend "
         f"{h['alcohol-estimate']} per 100,000 ({level} interval {h['alcohol-ci']}; could detect about "
         f"{h['alcohol-mde']}): {h['alcohol-verdict']}."),
        ("Partnerships felt the need to demonstrate tangible results (para 5.4).",
         f"Household income per head, Scotland's council areas against England's and Wales's districts, "
         f"{h['gdhi-did-window']}: difference-in-differences "
         f"{h['gdhi-did-estimate']} log points ({level} interval {h['gdhi-did-ci']}): {h['gdhi-did-verdict']}. GDP per "
         f"head: {h['gdp-did-estimate']} (interval {h['gdp-did-ci']}): {h['gdp-did-verdict']}."),
        ("Partnerships used national indicators such as the social justice milestones (para 5.8).",
         f"Of {len(ms)} verified milestones, {int((ms['match'] == 'proxy').sum())} have a council-level proxy in "
         "these sources, each only after the duty."),
    ]
    return pd.DataFrame(rows, columns=["What the report found", "What the data show"])


def build() -> PageResult:
    """Everything the page glues and shows."""
    led = ledger.ledger()
    page = PageResult()
    page.text["conf"], page.text["conf-eq"] = confidence(), confidence(equivalence=True)
    counts = verdict_counts(led)
    page.text.update(counts)
    page.text.update(headline_values(led))
    page.add("mult", claims.multiplicity_values(led))
    names = labels()
    page.markdown["exec-verdicts"] = "\n".join(f"- *{names[k]}*: {counts[f'n-confirmatory-{k}']}" for k in names)
    page.markdown["exec-economic"] = claims.outcome_results(led, outcomes=claims.GB_OUTCOMES)
    page.add("glance", claims.evidence_at_a_glance_figure("fig-exec-glance", led))
    page.tables["side-by-side"] = findings_side_by_side(led)
    return page
