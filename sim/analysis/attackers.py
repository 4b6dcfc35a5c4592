"""Per attacker: what it took, whether the logs would have shown it, and what the evidence
says about its existence (``model.md`` rule 12; ``docs/evidence.md``).

Everything is given the attacker's presence, over the replications in which it exists:

- ``detected`` = P(a retained alert attributable to it is noticed) = mean of
  ``1 - prod_d (1 - p_d [retained_{d,a} > 0])``;
- blind spot of outcome ``o`` = P(it captured ``o`` and none of its retained alerts is
  noticed) = mean of ``[o > 0] prod_d (1 - p_d [retained_{d,a} > 0])``;
- Bayes factor of the evidence ``P(E | absent) / P(E | present)``: above 1 the evidence favours
  its absence. Both sides are taken over the same replications (those where it is present):
  ``P(E | present)`` with every alert, ``P(E | absent)`` with its alerts removed, the
  counterfactual of its traffic leaving no trace. Pairing removes the noise between two
  separate sets of replications and works when ``presence`` is 1 (no replication without it).
  It is exact when the other attackers' alerts do not depend on this one's presence; attackers
  do not react to each other, and the only coupling (through shared worker memory: restarts,
  key copies, hence what the others capture and so their session reuses and ``stop_when``)
  is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.analysis.evidence import weights
from sim.analysis.noticed import probability, unseen
from sim.montecarlo.estimates import Estimate, estimate
from sim.montecarlo.intervals import Interval
from sim.montecarlo.layout import Layout
from sim.montecarlo.stratified import Strata, weighted_mean
from sim.scenario.model import OUTCOMES, Scenario


@dataclass(frozen=True, slots=True)
class AttackerFindings:
    name: str
    benign: bool
    n_present: int
    outcomes: dict[str, Estimate]
    """Its own captures given present (as ``estimate`` reports them); empty when never present."""
    detected: tuple[float, Interval] | None
    blind_spots: dict[str, tuple[float, Interval]]
    evidence_given_present: float | None
    evidence_given_absent: float | None

    @property
    def bayes_factor(self) -> float | None:
        """``None`` when undefined: never present, or the evidence impossible with it present."""
        if self.evidence_given_present is None or self.evidence_given_absent is None:
            return None
        if self.evidence_given_present == 0.0:
            return None
        return self.evidence_given_absent / self.evidence_given_present

    def as_results(self) -> dict[str, Any]:
        """Additions to ``attackers.<a>`` in results.json."""
        given_present: dict[str, Any] = {
            "detected": None if self.detected is None else self.detected[0],
            "detected_ci95": [0.0, 1.0] if self.detected is None else self.detected[1].as_list(),
            "blind_spot": {
                o: {"p": p, "ci95": ci.as_list()} for o, (p, ci) in self.blind_spots.items()
            },
        }
        return {
            "given_present": given_present,
            "evidence": {
                "p_given_present": self.evidence_given_present,
                "p_given_absent": self.evidence_given_absent,
                "bayes_factor": self.bayes_factor,
                "absent_side": "counterfactual: the same replications without its alerts",
            },
        }


def findings(
    rows: np.ndarray,
    layout: Layout,
    scenario: Scenario,
    attacker: str,
    strata: Strata | None = None,
) -> AttackerFindings:
    present = layout.column(rows, f"present/{attacker}") == 1.0
    mine = rows[present]
    own = None if strata is None else strata.attributed_to(present).subset(present)
    benign = scenario.attackers[attacker].benign
    if mine.shape[0] == 0:
        return AttackerFindings(attacker, benign, 0, {}, None, {}, None, None)
    hidden = unseen(mine, layout, scenario, attacker)
    blind: dict[str, tuple[float, Interval]] = {
        o: probability((layout.column(mine, f"attacker/{attacker}/{o}") > 0) * hidden, own)
        for o in OUTCOMES
    }
    return AttackerFindings(
        name=attacker,
        benign=benign,
        n_present=int(mine.shape[0]),
        outcomes=estimate(mine, layout, f"attacker/{attacker}", strata=own),
        detected=probability(1.0 - hidden, own),
        blind_spots=blind,
        evidence_given_present=_mean(weights(mine, layout, scenario), own),
        evidence_given_absent=_mean(weights(mine, layout, scenario, excluding=attacker), own),
    )


def _mean(values: np.ndarray, strata: Strata | None) -> float:
    return float(values.mean()) if strata is None else weighted_mean(values, strata)


def all_findings(
    rows: np.ndarray, layout: Layout, scenario: Scenario, strata: Strata | None = None
) -> list[AttackerFindings]:
    return [findings(rows, layout, scenario, a, strata) for a in scenario.attackers]
