"""Conditioning on what the team saw in its logs (``model.md``, Evidence and claims; rule 12).

Each evidence item constrains the noticed, retained alerts of one detector. Notice draws are
independent per detector, so a replication's probability of being consistent with the evidence
is a product over items, each exact given its retained alerts (``p`` the notice probability):

- ``none``: no noticed alert at all: ``1 - p`` if any alert (malicious or benign) was retained,
  else 1;
- ``benign_only``: no noticed malicious alert: ``1 - p`` if a malicious alert was retained,
  else 1;
- ``seen``: a noticed malicious alert: ``p`` if a malicious alert was retained, else 0.

Results given the evidence weigh each replication by that product: importance weights equal to
the likelihood of the evidence, so weighted means are posterior means, marginal over attacker
presence (which the replications already sample).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.analysis.noticed import malicious, probability, retained_any
from sim.montecarlo.estimates import estimate
from sim.montecarlo.intervals import Interval, effective_size
from sim.montecarlo.layout import Layout
from sim.montecarlo.stratified import Strata
from sim.scenario.model import EvidenceState, Scenario


@dataclass(frozen=True, slots=True)
class Evidence:
    weights: np.ndarray
    """Per replication: P(consistent with the evidence | its retained alerts)."""
    p_consistent: float
    ci95: Interval
    impossible: tuple[str, ...]
    """When no replication can be consistent: the detectors whose items rule every one out."""
    reason: str
    strata: Strata | None = None
    """The run's strata when it was stratified: posterior estimates are then stratified too."""

    def _design_weights(self) -> np.ndarray:
        """Evidence weights times, in a stratified run, each row's ``pi_h / n_h``."""
        if self.strata is None:
            return self.weights
        return self.weights * self.strata.design_weights()

    def as_results(self, rows: np.ndarray, layout: Layout, scenario: Scenario) -> dict[str, Any]:
        out: dict[str, Any] = {
            "items": dict(scenario.evidence),
            "p_consistent": self.p_consistent,
            "p_consistent_ci95": self.ci95.as_list(),
            "effective_replications": effective_size(self._design_weights()),
        }
        if self.impossible:
            out["impossible"] = {"detectors": list(self.impossible), "reason": self.reason}
        else:
            out["posterior"] = {
                "outcomes": estimate(rows, layout, "total", self.weights, self.strata)
            }
        return out


def item_factor(
    rows: np.ndarray,
    layout: Layout,
    scenario: Scenario,
    detector: str,
    state: EvidenceState,
    excluding: str | None = None,
) -> np.ndarray:
    """Per row: P(detector's noticed alerts match ``state``), ignoring ``excluding``'s alerts."""
    p = scenario.detectors[detector].notice_probability
    if state == "none":
        everyone = [a for a in scenario.attackers if a != excluding]
        return np.where(retained_any(rows, layout, detector, everyone), 1.0 - p, 1.0)
    hit = retained_any(rows, layout, detector, malicious(scenario, excluding))
    if state == "benign_only":
        return np.where(hit, 1.0 - p, 1.0)
    return np.where(hit, p, 0.0)


def weights(
    rows: np.ndarray, layout: Layout, scenario: Scenario, excluding: str | None = None
) -> np.ndarray:
    """Per row: P(consistent with every evidence item), the product of the item factors.

    ``excluding`` names an attacker whose alerts are removed: the counterfactual of its traces
    never having been made (used for its Bayes factor, ``attackers.py``).
    """
    w = np.ones(rows.shape[0])
    for detector, state in scenario.evidence.items():
        w *= item_factor(rows, layout, scenario, detector, state, excluding)
    return w


def condition(
    rows: np.ndarray, layout: Layout, scenario: Scenario, strata: Strata | None = None
) -> Evidence:
    w = weights(rows, layout, scenario)
    if not scenario.evidence:  # nothing stated: consistent by definition, not by estimate
        return Evidence(w, 1.0, Interval(1.0, 1.0), (), "", strata)
    p, ci = probability(w, strata)
    if p > 0.0:
        return Evidence(w, p, ci, (), "", strata)
    blamed, reason = _why_impossible(rows, layout, scenario)
    return Evidence(w, p, ci, blamed, reason, strata)


def _why_impossible(
    rows: np.ndarray, layout: Layout, scenario: Scenario
) -> tuple[tuple[str, ...], str]:
    """Name the items that no replication satisfies: alone if one does, else jointly."""
    factors = {
        d: item_factor(rows, layout, scenario, d, state) for d, state in scenario.evidence.items()
    }
    alone = [d for d, f in factors.items() if not f.any()]
    if alone:
        return tuple(alone), "; ".join(_alone_reason(scenario, d) for d in alone)
    jointly = [d for d, f in factors.items() if not f.all()]
    return tuple(jointly), (
        f"each of {', '.join(jointly)} is possible alone, but no replication meets them together"
    )


def _alone_reason(scenario: Scenario, detector: str) -> str:
    state = scenario.evidence[detector]
    p = scenario.detectors[detector].notice_probability
    if state == "seen":
        if p == 0.0:
            return f"{detector} is stated 'seen' but its notice_probability is 0"
        return (
            f"{detector} is stated 'seen' but no replication has a retained malicious alert in it"
        )
    which = "alert" if state == "none" else "malicious alert"
    return (
        f"{detector} is stated '{state}' but every replication has a retained {which} in it "
        "and its notice_probability is 1"
    )
