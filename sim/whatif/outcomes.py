"""The numbers a what-if command reads off one point: outcome estimates, claims, paired
differences.

An *outcome spec* is ``OUTCOME.STAT`` (``key.p_any``, ``password.mean``), optionally given the
evidence (``evidence.key.p_any`` or ``key.p_any given evidence``): the same estimates as
results.json's ``outcomes`` and ``evidence.posterior.outcomes``, so a sweep's row and a
plain run at that point agree to the last digit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.analysis.analyse import Analysis, analyse
from sim.montecarlo import intervals
from sim.montecarlo.estimates import estimate
from sim.montecarlo.intervals import Interval
from sim.montecarlo.layout import Layout
from sim.scenario.model import OUTCOMES, Scenario

STATS = ("p_any", "mean")
SWEEP_OUTCOMES = ("key.p_any", "password.mean", "session_hijack.p_any")
"""The outcomes every sweep reports (issue 10): one per kind of secret an operator asks about."""
EVIDENCE_PREFIX = "evidence."


class OutcomeError(Exception):
    """An outcome spec that names no estimate, or one the scenario cannot give."""


@dataclass(frozen=True, slots=True)
class OutcomeSpec:
    outcome: str
    stat: str
    given_evidence: bool = False

    @classmethod
    def parse(cls, text: str) -> OutcomeSpec:
        t = " ".join(text.split())
        given = False
        if t.endswith(" given evidence"):
            t, given = t[: -len(" given evidence")], True
        if t.startswith(EVIDENCE_PREFIX):
            t, given = t[len(EVIDENCE_PREFIX):], True
        outcome, _, stat = t.partition(".")
        if outcome not in OUTCOMES or stat not in STATS:
            raise OutcomeError(
                f"{text!r} is not an outcome: expected OUTCOME.STAT with OUTCOME one of "
                f"{', '.join(OUTCOMES)} and STAT one of {', '.join(STATS)} (e.g. key.p_any, "
                "password.mean), optionally 'evidence.' before or ' given evidence' after"
            )
        return cls(outcome, stat, given)

    @property
    def name(self) -> str:
        return (EVIDENCE_PREFIX if self.given_evidence else "") + f"{self.outcome}.{self.stat}"

    def check(self, scenario: Scenario) -> None:
        if self.given_evidence and not scenario.evidence:
            raise OutcomeError(f"{self.name}: {scenario.name} states no evidence to condition on")

    def per_replication(self, rows: np.ndarray, layout: Layout) -> np.ndarray:
        """Each replication's value, whose mean (unweighted) is the prior estimate."""
        values = layout.column(rows, f"total/{self.outcome}")
        return (values > 0).astype(float) if self.stat == "p_any" else values

    def measure(
        self, rows: np.ndarray, layout: Layout, analysis: Analysis
    ) -> tuple[float | None, Interval]:
        """The estimate and its 95% interval (``None`` when it is undefined, e.g. the evidence
        is impossible at this point)."""
        weights = None
        if self.given_evidence:
            if analysis.evidence.impossible:
                return None, Interval(0.0, 1.0 if self.stat == "p_any" else None)
            weights = analysis.evidence.weights
        found = estimate(rows, layout, "total", weights)[self.outcome]
        value = found[self.stat]
        low, high = found[f"{self.stat}_ci95"]
        return value, Interval(low, high)


@dataclass(frozen=True, slots=True)
class PointResult:
    """One point's estimates, as the sweep's row and JSON entry show them."""

    outcomes: dict[str, tuple[float | None, Interval]]
    claims: dict[str, str]
    """Claim name -> verdict."""

    def as_json(self) -> dict[str, Any]:
        return {
            "outcomes": {n: _estimate_json(v, ci) for n, (v, ci) in self.outcomes.items()},
            "claims": dict(self.claims),
        }


def point_result(rows: np.ndarray, layout: Layout, scenario: Scenario) -> PointResult:
    analysis = analyse(rows, layout, scenario)
    specs = [OutcomeSpec.parse(o) for o in SWEEP_OUTCOMES]
    if scenario.evidence:
        specs += [OutcomeSpec(s.outcome, s.stat, True) for s in specs]
    return PointResult(
        outcomes={s.name: s.measure(rows, layout, analysis) for s in specs},
        claims={n: j.verdict for n, j in analysis.claims.items()},
    )


def paired_difference(
    spec: OutcomeSpec, rows: np.ndarray, first: np.ndarray, layout: Layout
) -> tuple[float, Interval]:
    """Mean of ``x_i(point) - x_i(first)`` over replications with the same seeds (common random
    numbers) and its normal 95% interval: much tighter than two independent intervals when the
    points are correlated. Only for prior estimates: the evidence weights differ per point."""
    d = spec.per_replication(rows, layout) - spec.per_replication(first, layout)
    if not d.any():
        return 0.0, Interval(0.0, 0.0)
    m, ci = intervals.mean(d, None, -math.inf, math.inf)
    return m, ci


def _estimate_json(value: float | None, ci: Interval) -> dict[str, Any]:
    return {"value": value, "ci95": ci.as_list()}
