"""The shared result types of every attribution design."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

#: Roles of an :class:`Inference`: the one the verdict uses, ones reported beside it, and ones shown
#: only as a label because their assumptions are known not to hold here (area-clustered errors with
#: one treated country).
VERDICT, REPORTED, LABEL = "verdict", "reported", "label"


@dataclass(frozen=True)
class AssumptionCheck:
    """One assumption of a design and whether the data bear it out.

    ``passed`` is ``True`` (holds), ``False`` (fails) or ``None`` (cannot be tested with these data,
    or the statistic cannot be computed: stated, never silently assumed, and never "fails").

    ``gate``: whether a failure refuses attribution. Diagnostics (``gate=False``) are reported but
    read through a sensitivity analysis instead, because conditioning a verdict on passing a
    pre-test biases what survives (Roth 2022): the parallel pre-trends test is one.
    """

    name: str
    passed: bool | None
    detail: str
    statistic: float | None = None
    p_value: float | None = None
    gate: bool = True


@dataclass(frozen=True)
class Inference:
    """One route to a p-value and interval for a design's estimand.

    ``min_p`` is the smallest p-value the route can attain (``1/(R + 1)`` for a permutation over
    ``R`` placebos; ``None`` for a continuous p-value). ``assumption`` says what the route needs in
    order to be valid. ``role`` is :data:`VERDICT` for the route the verdict uses (its values are
    the result's own ``p_value``, ``ci_low`` and ``ci_high``), :data:`REPORTED` for routes shown
    beside it, :data:`LABEL` for routes shown only for comparison because their assumptions fail.
    """

    method: str
    p_value: float
    ci_low: float
    ci_high: float
    assumption: str
    min_p: float | None = None
    role: str = REPORTED

    def __post_init__(self) -> None:
        if self.role not in (VERDICT, REPORTED, LABEL):
            raise ValueError(f"unknown inference role {self.role!r}")


@dataclass
class DesignResult:
    """What one design found for one outcome, area, event and post-event window.

    ``estimate`` is on the outcome's own scale (or in log points when the design works in logs,
    stated in ``scale``) and measures what ``estimand`` says, over the post-event years ``window``.
    ``p_value`` is the p-value of the design's *detection* test (``p_kind`` names it; for the
    interrupted time series it is the joint test of the level and slope change, and
    ``estimate_p`` is the p-value of the estimate itself); ``ci_low``/``ci_high`` is the
    ``1 − alpha`` interval of the estimate, and ``eq_low``/``eq_high`` its ``1 − 2·alpha``
    interval, used by the two one-sided tests of equivalence. ``mde`` is the smallest true effect
    the estimate's test would detect with the configured power at the configured level, on the
    same scale. ``min_p`` is the smallest p-value the detection test can attain (``None`` when
    continuous). ``inferences`` lists every route to inference, including the one used
    (role ``verdict``). ``sensitivity`` holds the parallel-trends sensitivity analysis
    (difference-in-differences and event study), or ``None`` with the reason in ``details``.
    """

    design: str
    outcome: str
    area: str
    event: int
    estimate: float
    ci_low: float
    ci_high: float
    p_value: float
    p_kind: str
    mde: float
    n_pre: int
    n_post: int
    scale: str = "level"
    checks: list[AssumptionCheck] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    estimand: str = ""
    window: tuple[int, int] | None = None
    estimate_p: float | None = None
    eq_low: float = math.nan
    eq_high: float = math.nan
    min_p: float | None = None
    inferences: list[Inference] = field(default_factory=list)
    sensitivity: dict[str, Any] | None = None

    @property
    def failed_checks(self) -> list[AssumptionCheck]:
        """Gating checks that fail (diagnostics never refuse attribution on their own)."""
        return [c for c in self.checks if c.gate and c.passed is False]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
