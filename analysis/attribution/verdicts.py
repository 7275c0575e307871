"""Grading and verdicts: one taxonomy, written rules, applied the same way to every claim.

Each claim is graded on the Maryland Scientific Methods Scale (SMS), from 1 (a correlation or a
perception at one point in time) to 5 (random assignment). The levels used here:

* **1 — perception**: stakeholders' reports of benefits; no counterfactual.
* **2 — interrupted time series**: before and after an event with the prior trend as the
  counterfactual, but no comparison group. All 32 partnerships took the duty on the same day, so
  a break at the event cannot be separated from anything else that changed then.
* **3 — difference-in-differences, event study, synthetic control**: a comparison group
  (areas elsewhere in Great Britain) gives the counterfactual.

Levels 4 and 5 need quasi-random or random assignment; nothing in Community Planning's roll-out
provides it. The levels come from ``settings.yml`` (``attribution.grading``).

**The taxonomy** (its labels live in ``settings.yml`` under ``attribution.verdicts``):

* ``attributable`` — a change is detected, by a design that can attribute it, and it survives the
  parallel-trends sensitivity analysis where the design has one;
* ``detected`` — a change is detected, but the design cannot attribute it: the design sits below
  the SMS level needed (no comparison group), or the change would be explained by a violation of
  parallel trends no larger than the pre-event violations (Rambachan & Roth 2023), or that
  sensitivity analysis cannot be computed;
* ``assumption`` — a named, testable assumption of the design fails (diagnostics such as the
  pre-trend test never fail a claim on their own);
* ``equivalent`` — no change is detected and an effect larger than the margin is excluded: both
  one-sided tests of equivalence reject at ``alpha`` (the estimate's ``1 − 2·alpha`` interval lies
  inside ``±margin``; Schuirmann 1987). The margin is the design's own minimum detectable effect or
  a stated size (``attribution.equivalence``);
* ``inconclusive`` — neither a detected change nor an excluded one;
* ``untestable`` — no design can be applied to outcome data, or the design refused to give
  inference on these data; the reason is given.

**The rules**, in order (the first that applies decides):

1. No result → ``untestable`` (why).
2. A gating assumption check fails → ``assumption`` (which, and why).
3. The detection test's p-value, adjusted for multiplicity within its family
   (``attribution.multiplicity.verdict_p``: Holm by default), is below ``alpha`` → a change is
   detected; then
   a. the design's SMS level is below ``grading.min_sms_for_attribution`` → ``detected`` (no
      comparison group);
   b. the design has a parallel-trends sensitivity analysis and the change does not survive it
      at ``sensitivity.attribution_mbar`` (the robust set includes zero), or the analysis could
      not be computed → ``detected`` (with the breakdown value);
   c. otherwise → ``attributable``, listing the assumptions that could not be tested and, for
      comparisons with England and Wales, that the comparison is between partnership regimes.
4. No change detected, and the equivalence interval lies within ``±margin`` → ``equivalent``.
5. Otherwise → ``inconclusive``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from analysis.attribution.base import DesignResult

ATTRIBUTABLE = "attributable"
DETECTED = "detected"
ASSUMPTION = "assumption"
EQUIVALENT = "equivalent"
INCONCLUSIVE = "inconclusive"
UNTESTABLE = "untestable"
#: The taxonomy's keys, in the order the book shows them.
KEYS = (ATTRIBUTABLE, DETECTED, ASSUMPTION, EQUIVALENT, INCONCLUSIVE, UNTESTABLE)
#: Designs whose attribution rests on parallel trends, read through the sensitivity analysis.
PARALLEL_TRENDS_DESIGNS = ("did", "event_study")
#: Designs that compare Scotland with England and Wales (a comparison of partnership regimes).
REGIME_DESIGNS = ("did", "event_study", "synth")


def labels(cfg: dict) -> dict[str, str]:
    """The taxonomy's labels from the ``attribution`` settings, checked to cover every key once."""
    given = dict(cfg["verdicts"])
    if set(given) != set(KEYS):
        raise ValueError(f"attribution.verdicts must name exactly the verdicts {list(KEYS)}, not {sorted(given)}")
    if len(set(given.values())) != len(KEYS):
        raise ValueError("attribution.verdicts gives two verdicts the same label")
    return {k: str(given[k]) for k in KEYS}


@dataclass(frozen=True)
class Verdict:
    """A verdict: its taxonomy ``key``, the full ``reason`` (what was estimated, then why) and ``why``
    alone (the part a sentence about the verdict quotes)."""

    key: str
    reason: str
    why: str = ""

    @classmethod
    def of(cls, key: str, stated: str, why: str, sep: str = ". ") -> Verdict:
        return cls(key, f"{stated}{sep}{why}" if stated else why, why)


@dataclass(frozen=True)
class Rules:
    """The settings the rules read (``attribution``)."""

    alpha: float
    min_sms: int
    attribution_mbar: float
    margin: str | float

    @classmethod
    def from_cfg(cls, cfg: dict, *, margin: str | float | None = None) -> Rules:
        eq = cfg["equivalence"]
        return cls(alpha=float(cfg["alpha"]), min_sms=int(cfg["grading"]["min_sms_for_attribution"]),
                   attribution_mbar=float(cfg["sensitivity"]["attribution_mbar"]),
                   margin=eq["margin"] if margin is None else margin)


def fmt(x: float | None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if isinstance(x, float) and math.isinf(x):
        return "∞" if x > 0 else "−∞"
    return f"{x:.3g}"


def margin_of(result: DesignResult, margin: str | float) -> float:
    """The equivalence margin for ``result``: its own MDE (``"mde"``) or a stated size."""
    if margin == "mde":
        return float(result.mde)
    return float(margin)


def breakdown(result: DesignResult) -> float | None:
    """The relative-magnitudes breakdown value M̄* of the result's sensitivity analysis, if any."""
    s = result.sensitivity
    return None if not s else s.get("breakdown_rm")


def decide(result: DesignResult | None, *, sms_level: int, rules: Rules, p_adjusted: float | None = None,
           untestable_reason: str | None = None) -> Verdict:
    """Apply the rules of the module docstring to one claim.

    ``p_adjusted`` is the detection test's p-value adjusted within its family (the raw p-value when
    ``None``). A NaN p-value never detects a change.
    """
    if result is None:
        if not untestable_reason:
            raise ValueError("a claim with no design must say why it cannot be tested")
        return Verdict(UNTESTABLE, untestable_reason, untestable_reason)
    failed = result.failed_checks
    if failed:
        text = "; ".join(f"{c.name}: {c.detail}" for c in failed)
        return Verdict(ASSUMPTION, text, text)
    p = result.p_value if p_adjusted is None else p_adjusted
    scale = f" {result.scale}" if result.scale != "level" else ""
    level = int(round(100 * (1 - rules.alpha)))
    stated = (f"estimate {fmt(result.estimate)}{scale} ({result.estimand or 'see the design'}), {level}% interval "
              f"{fmt(result.ci_low)} to {fmt(result.ci_high)}; detection test p = {fmt(result.p_value)}"
              + (f" (adjusted for multiplicity: {fmt(p)})" if p_adjusted is not None else ""))
    untested = [c.name for c in result.checks if c.passed is None and c.gate]
    caveat = f"; not testable here: {', '.join(untested)}" if untested else ""
    if p < rules.alpha:
        if sms_level < rules.min_sms:
            return Verdict.of(DETECTED, stated, f"the design (SMS level {sms_level}) has no comparison group: every "
                              "partnership took on the duty at once, so nothing separates the change from anything "
                              "else that happened then")
        if result.design in PARALLEL_TRENDS_DESIGNS:
            mbar = breakdown(result)
            if result.sensitivity is None:
                why = result.details.get("sensitivity_refusal", "it could not be computed")
                return Verdict.of(DETECTED, stated, f"the parallel-trends sensitivity analysis is missing ({why}), so "
                                  "the change cannot be told apart from a violation of parallel trends")
            if mbar is None or mbar < rules.attribution_mbar:
                return Verdict.of(DETECTED, stated, "it does not survive a violation of parallel trends "
                                  f"{fmt(rules.attribution_mbar)} times the largest pre-event one (breakdown "
                                  f"M̄ = {fmt(mbar)}; Rambachan & Roth 2023)")
        regime = ("the comparison is with English and Welsh partnership regimes, not with no partnership working"
                  if result.design in REGIME_DESIGNS else "a change is detected by a design that can attribute it")
        return Verdict.of(ATTRIBUTABLE, stated, f"{regime}{caveat}", sep="; ")
    margin = margin_of(result, rules.margin)
    what = "its minimum detectable effect" if rules.margin == "mde" else "the stated margin"
    if math.isfinite(margin) and -margin < result.eq_low and result.eq_high < margin:
        return Verdict.of(EQUIVALENT, stated, f"the {100 - 2 * (100 - level)}% interval {fmt(result.eq_low)} to "
                          f"{fmt(result.eq_high)} lies within ±{fmt(margin)} ({what}), so both one-sided tests of "
                          f"equivalence reject at {rules.alpha}: no effect larger than {fmt(margin)}{scale}{caveat}",
                          sep="; ")
    return Verdict.of(INCONCLUSIVE, stated, f"no change is detected, but the {100 - 2 * (100 - level)}% interval "
                      f"{fmt(result.eq_low)} to {fmt(result.eq_high)} reaches beyond ±{fmt(margin)} ({what}), so "
                      f"effects of that size are not excluded{caveat}", sep="; ")


# --------------------------------------------------------------------------------------------
# multiplicity


def holm(p: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values (valid under any dependence); NaN stays NaN."""
    idx = [i for i, v in enumerate(p) if not math.isnan(v)]
    m = len(idx)
    order = sorted(idx, key=lambda i: p[i])
    out = [math.nan] * len(p)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


def benjamini_hochberg(p: list[float]) -> list[float]:
    """Benjamini–Hochberg step-up adjusted p-values (false discovery rate); NaN stays NaN."""
    idx = [i for i, v in enumerate(p) if not math.isnan(v)]
    m = len(idx)
    order = sorted(idx, key=lambda i: p[i], reverse=True)
    out = [math.nan] * len(p)
    running = 1.0
    for k, i in enumerate(order):
        rank = m - k
        running = min(running, p[i] * m / rank)
        out[i] = min(running, 1.0)
    return out
