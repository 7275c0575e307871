"""The shared result types of every attribution design."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class AssumptionCheck:
    """One assumption of a design and whether the data bear it out.

    ``passed`` is ``True`` (holds), ``False`` (fails: the design cannot support attribution) or
    ``None`` (cannot be tested with these data; stated, never silently assumed).
    """

    name: str
    passed: bool | None
    detail: str
    statistic: float | None = None
    p_value: float | None = None


@dataclass
class DesignResult:
    """What one design found for one outcome, area and event.

    ``estimate`` is on the outcome's own scale (or in log points when the design works in logs,
    stated in ``scale``); ``p_value`` is analytic or from permutation (``p_kind``); ``mde`` is the
    smallest true effect the design would detect with the configured power at the configured
    significance level, on the same scale as ``estimate``.
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

    @property
    def failed_checks(self) -> list[AssumptionCheck]:
        return [c for c in self.checks if c.passed is False]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
