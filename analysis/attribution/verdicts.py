"""Grading and verdicts: written rules, applied the same way to every claim.

Each claim is graded on the Maryland Scientific Methods Scale (SMS), from 1 (a correlation or a
perception at one point in time) to 5 (random assignment). The levels used here:

* **1 — perception**: stakeholders' reports of benefits; no counterfactual.
* **2 — interrupted time series**: before and after an event with the prior trend as the
  counterfactual, but no comparison group. All 32 partnerships took the duty on the same day, so
  a break at the event cannot be separated from anything else that changed then.
* **3 — difference-in-differences, event study, synthetic control**: a comparison group
  (areas elsewhere in Great Britain) gives the counterfactual; parallel trends or a close
  pre-event fit must hold.

Levels 4 and 5 need quasi-random or random assignment; nothing in Community Planning's roll-out
provides it. The levels come from ``settings.yml`` (``attribution.grading``).

The verdict rules, in order (the first that applies decides):

1. No design can be applied to outcome data → **cannot be tested from outcome data** (why).
2. A testable assumption of the design fails → **not attributable — a design assumption fails**
   (which).
3. The estimate is not distinguishable from zero at the significance level → **not attributable
   — effect not distinguishable from zero** (with the minimum detectable effect, so a null is
   read against what the design could have found).
4. The design is below the SMS level needed for attribution (set in the settings; 3) → **not
   attributable — a design assumption fails**: with no comparison group, the assumption that
   nothing else changed at the event cannot be checked.
5. Otherwise → **attributable** (listing any assumptions that could not be tested).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .base import DesignResult

ATTRIBUTABLE = "attributable"
NOT_DISTINGUISHABLE = "not attributable — effect not distinguishable from zero"
ASSUMPTION_FAILS = "not attributable — a design assumption fails"
UNTESTABLE = "cannot be tested from outcome data"
VERDICTS = (ATTRIBUTABLE, NOT_DISTINGUISHABLE, ASSUMPTION_FAILS, UNTESTABLE)


@dataclass(frozen=True)
class Verdict:
    verdict: str
    reason: str


def _fmt(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:.3g}"


def decide(
    result: DesignResult | None,
    *,
    sms_level: int,
    alpha: float,
    min_sms: int,
    untestable_reason: str | None = None,
) -> Verdict:
    """Apply the verdict rules (module docstring) to one claim."""
    if result is None:
        if not untestable_reason:
            raise ValueError("a claim with no design must say why it cannot be tested")
        return Verdict(UNTESTABLE, untestable_reason)
    failed = result.failed_checks
    if failed:
        names = "; ".join(f"{c.name}: {c.detail}" for c in failed)
        return Verdict(ASSUMPTION_FAILS, names)
    scale = f" ({result.scale})" if result.scale != "level" else ""
    interval = (f"estimate {_fmt(result.estimate)}{scale}, {100 * (1 - alpha):.0f}% interval "
                f"{_fmt(result.ci_low)} to {_fmt(result.ci_high)}")
    if not (result.p_value < alpha):
        return Verdict(
            NOT_DISTINGUISHABLE,
            f"{interval}, p = {_fmt(result.p_value)} ({result.p_kind}); the design could detect effects of "
            f"about {_fmt(result.mde)} or more",
        )
    if sms_level < min_sms:
        return Verdict(
            ASSUMPTION_FAILS,
            f"{interval}, p = {_fmt(result.p_value)}, but the design (SMS level {sms_level}) has no comparison "
            "group: every partnership took on the duty at once, so the assumption that nothing else changed "
            "at the event cannot be checked",
        )
    untested = [c.name for c in result.checks if c.passed is None]
    caveat = f"; not testable here: {', '.join(untested)}" if untested else ""
    return Verdict(ATTRIBUTABLE, f"{interval}, p = {_fmt(result.p_value)} ({result.p_kind}){caveat}")
