"""Retained alerts as the team would see them: through each detector's notice probability.

Whether a review notices a log is one Bernoulli(``notice_probability``) draw per detector and
replication (``model.md``, Detectors). Rather than drawing it, the analysis averages it out
exactly: given a replication's retained alerts, every quantity below is a closed-form
probability over the notice draws, which removes that source of Monte Carlo noise entirely
(a Rao-Blackwellised estimator).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from sim.montecarlo import intervals
from sim.montecarlo.intervals import Interval
from sim.montecarlo.layout import Layout
from sim.montecarlo.stratified import Strata
from sim.scenario.model import Scenario


def retained_any(
    rows: np.ndarray, layout: Layout, detector: str, attackers: Iterable[str]
) -> np.ndarray:
    """Per row: does ``detector`` hold at least one retained alert of these attackers?"""
    hit = np.zeros(rows.shape[0], dtype=bool)
    for a in attackers:
        hit |= layout.column(rows, f"detector/{detector}/{a}/retained") > 0
    return hit


def malicious(scenario: Scenario, excluding: str | None = None) -> list[str]:
    return [a.name for a in scenario.malicious() if a.name != excluding]


def unseen(rows: np.ndarray, layout: Layout, scenario: Scenario, attacker: str) -> np.ndarray:
    """Per row: P(no retained alert attributable to ``attacker`` is noticed)
    ``= prod_d (1 - p_d [retained_{d,attacker} > 0])``, notice draws being independent."""
    out = np.ones(rows.shape[0])
    for name, det in scenario.detectors.items():
        hit = retained_any(rows, layout, name, [attacker])
        out *= np.where(hit, 1.0 - det.notice_probability, 1.0)
    return out


def p_alert(rows: np.ndarray, layout: Layout, scenario: Scenario, detector: str) -> np.ndarray:
    """Per row: P(at least one retained malicious alert of ``detector`` is noticed)."""
    p = scenario.detectors[detector].notice_probability
    return np.where(retained_any(rows, layout, detector, malicious(scenario)), p, 0.0)


def probability(values: np.ndarray, strata: Strata | None = None) -> tuple[float, Interval]:
    """Mean of per-replication probabilities with its 95% interval (rule 20).

    When every value is 0 or 1 (every notice probability is 0 or 1) the values are 0/1
    outcomes and take the Wilson interval, which stays informative at 0 and 1; otherwise the
    normal interval of the mean, clipped to [0, 1]. ``strata``: the stratified versions.
    """
    if np.all((values == 0.0) | (values == 1.0)):
        p, ci, _ = intervals.proportion(values, None, strata)
        return p, ci
    return intervals.mean(values, None, 0.0, 1.0, strata)
