"""The whole analysis of a finished run: evidence, per-attacker findings, claims, detectors.

Computed once from the replication rows and handed to results.json (``as_results``, merged
beside the Monte Carlo layer's outcomes) and to the terminal tables, so the two never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.analysis.attackers import AttackerFindings, all_findings
from sim.analysis.claims import Judgement, judge_all
from sim.analysis.evidence import Evidence, condition
from sim.analysis.noticed import p_alert, probability
from sim.montecarlo.intervals import Interval
from sim.montecarlo.layout import Layout
from sim.montecarlo.stratified import Strata
from sim.scenario.model import Scenario


@dataclass(frozen=True, slots=True)
class Analysis:
    evidence: Evidence
    attackers: dict[str, AttackerFindings]
    claims: dict[str, Judgement]
    p_alert: dict[str, tuple[float, Interval]]
    """Per detector: P(at least one retained malicious alert is noticed), over all rows."""


def analyse(
    rows: np.ndarray, layout: Layout, scenario: Scenario, strata: Strata | None = None
) -> Analysis:
    """``strata`` (a stratified run's) makes every estimate and interval the stratified one."""
    evidence = condition(rows, layout, scenario, strata)
    attackers = {f.name: f for f in all_findings(rows, layout, scenario, strata)}
    return Analysis(
        evidence=evidence,
        attackers=attackers,
        claims=judge_all(rows, layout, scenario, evidence, attackers, strata),
        p_alert={
            d: probability(p_alert(rows, layout, scenario, d), strata) for d in scenario.detectors
        },
    )


def as_results(
    analysis: Analysis, rows: np.ndarray, layout: Layout, scenario: Scenario
) -> dict[str, Any]:
    """The results.json paths the analysis owns (``results-format.md``), for ``merge``."""
    return {
        "detectors": {
            d: {"p_alert": p, "p_alert_ci95": ci.as_list()}
            for d, (p, ci) in analysis.p_alert.items()
        },
        "evidence": analysis.evidence.as_results(rows, layout, scenario),
        "attackers": {a: f.as_results() for a, f in analysis.attackers.items()},
        "claims": {c: j.as_results() for c, j in analysis.claims.items()},
    }
