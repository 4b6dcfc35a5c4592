"""Judging a disclosure statement's claims against the simulation (``model.md``, rule 14).

A capture claim bounds P(outcome) from above: the probability that at least one of its
attackers (default: every malicious one) captured the outcome on at least one of its servers
(default: all), marginal over presence, given the evidence (evidence weights) or the prior.
It is ``supported`` when the 95% upper bound is at most ``at_most``, ``refuted`` when the 95%
lower bound is above it, else ``inconclusive``: the simulation could not tell at this number
of replications. A ``detected`` claim bounds an attacker's detection probability (given its
presence) from below and is judged the mirror way; over several attackers it takes the worst
of their verdicts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np

from sim.analysis.attackers import AttackerFindings
from sim.analysis.evidence import Evidence
from sim.montecarlo import intervals
from sim.montecarlo.intervals import Interval
from sim.montecarlo.layout import Layout
from sim.montecarlo.stratified import Strata
from sim.scenario.model import Claim, Scenario

Verdict = Literal["supported", "refuted", "inconclusive"]


@dataclass(frozen=True, slots=True)
class Judgement:
    claim: Claim
    value: float | None
    ci95: Interval
    verdict: Verdict
    note: str = ""

    @property
    def bound(self) -> float:
        bound = self.claim.at_least if self.claim.outcome == "detected" else self.claim.at_most
        assert bound is not None, "the loader gives every claim its bound"
        return bound

    def as_results(self) -> dict[str, Any]:
        c = self.claim
        out: dict[str, Any] = {
            "text": c.text,
            "outcome": c.outcome,
            # The claim's scope as written: an empty list means every server, or every
            # malicious attacker.
            "servers": list(c.servers),
            "attackers": list(c.attackers),
            "given": "presence" if c.outcome == "detected" else c.given,
            "value": self.value,
            "ci95": self.ci95.as_list(),
            "bound": self.bound,
            "bound_kind": "at_least" if c.outcome == "detected" else "at_most",
            "verdict": self.verdict,
        }
        if self.note:
            out["note"] = self.note
        return out


def verdict_at_most(ci: Interval, at_most: float) -> Verdict:
    """An interval without an upper end (too few replications) cannot support a bound."""
    if ci.high is not None and ci.high <= at_most:
        return "supported"
    return "refuted" if ci.low > at_most else "inconclusive"


def verdict_at_least(ci: Interval, at_least: float) -> Verdict:
    if ci.low >= at_least:
        return "supported"
    return "refuted" if ci.high is not None and ci.high < at_least else "inconclusive"


def capture_indicator(
    rows: np.ndarray, layout: Layout, scenario: Scenario, claim: Claim
) -> np.ndarray:
    """Per row: did one of the claim's attackers capture its outcome on one of its servers?

    With the default attackers the malicious totals are read (a secret taken by several
    attackers counts once); with named attackers, each one's own captures on its targets.
    """
    servers = claim.servers or tuple(scenario.servers)
    if claim.attackers:
        columns = [
            f"attacker/{a}/server/{s}/{claim.outcome}"
            for a in claim.attackers
            for s in scenario.attackers[a].targets
            if s in servers
        ]
    elif claim.servers:
        columns = [f"server/{s}/{claim.outcome}" for s in servers]
    else:
        columns = [f"total/{claim.outcome}"]
    hit = np.zeros(rows.shape[0], dtype=bool)
    for name in columns:
        hit |= layout.column(rows, name) > 0
    return hit


def judge(
    rows: np.ndarray,
    layout: Layout,
    scenario: Scenario,
    claim: Claim,
    evidence: Evidence,
    attackers: dict[str, AttackerFindings],
    strata: Strata | None = None,
) -> Judgement:
    if claim.outcome == "detected":
        return judge_detected(claim, attackers)
    assert claim.at_most is not None
    hit = capture_indicator(rows, layout, scenario, claim)
    strata = None if strata is None else strata.for_captures()
    if claim.given == "evidence":
        if evidence.impossible:
            return Judgement(claim, None, Interval(0.0, 1.0), "inconclusive",
                             f"the evidence is impossible in this scenario: {evidence.reason}")
        value, ci, _ = intervals.proportion(hit, evidence.weights, strata)
    else:
        value, ci, _ = intervals.proportion(hit, None, strata)
    return Judgement(claim, value, ci, verdict_at_most(ci, claim.at_most))


#: Worst first: a claim over several attackers takes the verdict of the worst of them.
_SEVERITY: dict[Verdict, int] = {"refuted": 0, "inconclusive": 1, "supported": 2}


def judge_detected(claim: Claim, attackers: dict[str, AttackerFindings]) -> Judgement:
    """A ``detected`` claim must hold for each of its attackers: its value, interval and
    verdict are those of the attacker with the worst verdict (refuted, then inconclusive,
    then supported), the smallest detection probability among equals; an attacker present in
    no replication is inconclusive and ranks below every measured one of that verdict."""
    assert claim.attackers and claim.at_least is not None, "the loader checks this"
    judged: list[tuple[int, float, str, Judgement]] = []
    for name in claim.attackers:
        found = attackers[name]
        if found.detected is None:
            j = Judgement(claim, None, Interval(0.0, 1.0), "inconclusive",
                          f"{name} is present in no replication")
            judged.append((_SEVERITY[j.verdict], -1.0, name, j))
            continue
        value, ci = found.detected
        j = Judgement(claim, value, ci, verdict_at_least(ci, claim.at_least))
        judged.append((_SEVERITY[j.verdict], value, name, j))
    _, _, worst, judgement = min(judged, key=lambda x: x[:3])
    if len(claim.attackers) > 1:
        judgement = replace(judgement, note="; ".join(
            filter(None, [f"the worst of {len(claim.attackers)} attackers: {worst}",
                          judgement.note])))
    return judgement


def judge_all(
    rows: np.ndarray,
    layout: Layout,
    scenario: Scenario,
    evidence: Evidence,
    attackers: dict[str, AttackerFindings],
    strata: Strata | None = None,
) -> dict[str, Judgement]:
    return {
        name: judge(rows, layout, scenario, claim, evidence, attackers, strata)
        for name, claim in scenario.claims.items()
    }
