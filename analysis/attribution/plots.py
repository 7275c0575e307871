"""Figures of the attribution designs, in the house style, each with alt text stating its finding.

Each function takes a :class:`~analysis.attribution.base.DesignResult` (from the cached ledger
results), glues one figure under ``key`` and returns short strings for the caption.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import figures
from .base import DesignResult


def _p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def its_figure(res: DesignResult, series: pd.Series, *, title: str, unit: str, key: str) -> dict[str, str]:
    """The series, the fitted segments and the extrapolated pre-event trend."""
    d = res.details
    fig, ax = figures.new_figure(width=8.5, height=4.2)
    ax.plot(series.index, series.values, "o", color=figures.OKABE_ITO[0], ms=4, label="observed")
    for name, colour, style, label in [
        ("fitted_pre", figures.OKABE_ITO[1], "-", "fitted before the event"),
        ("fitted_post", figures.OKABE_ITO[1], "-", "fitted after the event"),
        ("counterfactual", figures.OKABE_ITO[7], "--", "pre-event trend continued"),
    ]:
        pts = pd.Series(d[name]).sort_index()
        ax.plot(pts.index.astype(int), pts.values, style, color=colour, lw=2, label=label if name != "fitted_post" else None)
    ax.axvline(res.event - 0.5, color=figures.OKABE_ITO[5], lw=1.5)
    ax.text(res.event - 0.4, ax.get_ylim()[1], f" {res.event}", va="top", color=figures.OKABE_ITO[5])
    ax.set_xlabel("year")
    ax.set_ylabel(unit)
    ax.set_title(title)
    ax.legend(loc="best", fontsize=8)
    direction = "rose" if res.estimate > 0 else "fell"
    alt = (
        f"{title}: at {res.event} the level {direction} by {abs(res.estimate):.3g} against the continued pre-event "
        f"trend ({_p(res.p_value)}; the design could detect changes of about {res.mde:.3g}); the series has no "
        f"comparison group."
    )
    figures.glue_figure(key, fig, alt)
    return {"estimate": f"{res.estimate:.3g}", "ci": f"{res.ci_low:.3g} to {res.ci_high:.3g}", "p": _p(res.p_value),
            "mde": f"{res.mde:.3g}"}


def event_study_figure(res: DesignResult, *, title: str, key: str) -> dict[str, str]:
    """Event-study coefficients with intervals; leads left of the reference year."""
    coefs = pd.DataFrame(res.details["coefficients"]).sort_values("rel_year")
    fig, ax = figures.new_figure(width=8.5, height=4.2)
    pre = coefs["rel_year"] < 0
    for mask, colour, label in [(pre, figures.OKABE_ITO[0], "before the event (leads)"),
                                (~pre, figures.OKABE_ITO[5], "after the event")]:
        sub = coefs[mask]
        ax.errorbar(sub["rel_year"], sub["coef"], yerr=[sub["coef"] - sub["ci_low"], sub["ci_high"] - sub["coef"]],
                    fmt="o", color=colour, capsize=3, label=label)
    ax.axhline(0, color="black", lw=0.8)
    ax.axvline(-0.5, color="grey", lw=1, ls=":")
    ax.set_xlabel(f"years relative to {res.event} (reference: {res.event - 1}; end points binned)")
    ax.set_ylabel("difference from England and Wales (log points)")
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8)
    wald = res.details["pretrend_wald"]
    pre_p = float(wald.get("p_value", wald.get("p", np.nan)))
    verdict = "rejects" if pre_p < 0.05 else "does not reject"
    alt = (
        f"{title}: Scottish areas' coefficients relative to England and Wales, before and after {res.event}; "
        f"the joint test of the leads {verdict} parallel pre-trends ({_p(pre_p)}), so the post-event rise "
        f"(average {res.estimate:.3g} log points) cannot be read as an effect of the duty unless that test passes."
    )
    figures.glue_figure(key, fig, alt)
    return {"estimate": f"{res.estimate:.3g}", "pretrend_p": _p(pre_p), "ci": f"{res.ci_low:.3g} to {res.ci_high:.3g}"}
