"""The headline estimates a ``--precision`` run must make precise (issue 9, target 3).

Headline estimates: each outcome's ``p_any`` and ``mean`` over all servers, given the evidence
where the scenario states evidence (``evidence.posterior.outcomes``), else before it
(``outcomes``), and each claim's value. A target is reached when the half-width of its 95%
interval is at most ``precision`` times the estimate, or, for a claim, when its verdict is
settled (supported or refuted: more replications would not change what it says). Outcomes no
malicious attacker can take (no target holds the secret or no read can reach it: e.g. reusable
passwords where every password is a one-time code; a key out of every read's reach; hijacks
where no attacker replays sessions) are not targets; an estimate still at 0 is never reached (no
interval is within a fraction of 0), which the results report as such.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sim.analysis.analyse import analyse
from sim.analysis.claims import capture_indicator
from sim.analysis.evidence import weights as evidence_weights
from sim.analysis.noticed import unseen
from sim.model.capture import CaptureTable
from sim.montecarlo import intervals
from sim.montecarlo.estimates import max_count
from sim.montecarlo.intervals import Interval
from sim.montecarlo.layout import Layout
from sim.montecarlo.sequential import Assess, Target
from sim.montecarlo.stratified import Strata
from sim.scenario.model import OUTCOMES, Outcome, Scenario


def possible(scenario: Scenario, outcome: Outcome) -> bool:
    """Can any malicious attacker take this outcome at all: does one of its reads have a
    chance (the model's :class:`CaptureTable`) at a secret one of its targets holds? A key
    also needs a copy in reach (``reachable`` or transient copies); a hijack, an attacker that
    replays the sessions it takes (rule 9)."""
    for attacker in scenario.malicious():
        for name in attacker.targets:
            server, chance = scenario.servers[name], CaptureTable(scenario.servers[name], attacker)
            keys, passwords = server.keys, server.passwords
            if outcome == "key":
                ok = chance.key > 0 and (keys.reachable > 0 or keys.copies_per_handshake > 0)
            elif outcome == "password":
                ok = chance.password > 0
            elif outcome == "password_reusable":
                ok = chance.password > 0 and passwords is not None and passwords.kind != "otp"
            elif outcome == "session":
                ok = chance.token > 0
            else:
                ok = chance.token > 0 and attacker.reuses_sessions
            if ok:
                return True
    return False


def assessor(scenario: Scenario, layout: Layout, precision: float) -> Assess:
    """The ``assess`` callback of :func:`sim.montecarlo.sequential.run_until_precise`."""

    def assess(rows: np.ndarray, strata: Strata) -> Sequence[Target]:
        return targets(rows, layout, scenario, strata, precision)

    return assess


def targets(
    rows: np.ndarray, layout: Layout, scenario: Scenario, strata: Strata, precision: float
) -> list[Target]:
    w = evidence_weights(rows, layout, scenario) if scenario.evidence else None
    where = "evidence.posterior.outcomes" if scenario.evidence else "outcomes"
    out: list[Target] = []
    for o in OUTCOMES:
        if not possible(scenario, o):
            continue
        counts = layout.column(rows, f"total/{o}")
        events = (counts > 0).astype(float)
        if w is not None and not w.any():
            continue  # the evidence is impossible: nothing given it to make precise
        p, p_ci, _ = intervals.proportion(events, w, strata.for_captures())
        out.append(_target(f"{where}.{o}.p_any", events, w, p, p_ci, precision, captures=True))
        if max_count(layout, "total", o) != 1:
            m, m_ci = intervals.mean(counts, w, 0.0, max_count(layout, "total", o), strata)
            out.append(_target(f"{where}.{o}.mean", counts, w, m, m_ci, precision, captures=True))
    judged = analyse(rows, layout, scenario, strata).claims
    for name, judgement in judged.items():
        claim = judgement.claim
        if claim.outcome == "detected":
            attacker = claim.attackers[0]
            values = 1.0 - unseen(rows, layout, scenario, attacker)
            domain: np.ndarray | None = layout.column(rows, f"present/{attacker}") == 1.0
        else:
            values = capture_indicator(rows, layout, scenario, claim).astype(float)
            domain = w if claim.given == "evidence" else None
        path = f"claims.{name}.value"
        captures = claim.outcome != "detected"
        if judgement.value is None:  # undefined whatever the replications (see its note)
            out.append(Target(path, values, _as_weights(domain), None, None, False,
                              f"undefined: {judgement.note}", captures))
        elif judgement.verdict != "inconclusive":
            out.append(Target(path, values, _as_weights(domain), judgement.value,
                              _half(judgement.ci95), True, "verdict settled", captures))
        else:
            out.append(_target(path, values, _as_weights(domain), judgement.value,
                               judgement.ci95, precision, captures))
    return out


def _as_weights(domain: np.ndarray | None) -> np.ndarray | None:
    return None if domain is None else np.asarray(domain, dtype=float)


def _half(ci: Interval) -> float | None:
    return None if ci.high is None else (ci.high - ci.low) / 2.0


def _target(
    name: str,
    values: np.ndarray,
    weights: np.ndarray | None,
    value: float | None,
    ci: Interval,
    precision: float,
    captures: bool,
) -> Target:
    half = _half(ci)
    if value is None or half is None:
        return Target(name, values, weights, value, half, False, "too few replications",
                      captures)
    if value == 0.0:
        return Target(name, values, weights, value, half, False, "no replication had it yet",
                      captures)
    reached = half <= precision * abs(value)
    why = "precision" if reached else f"half-width {half / abs(value):.3g} of the estimate"
    return Target(name, values, weights, value, half, reached, why, captures)
