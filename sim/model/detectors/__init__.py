"""Log detectors: one replication's observations in, alerts per detector and attacker out.

Every alert is attributed to the attacker owning its source, so per-attacker counts are all the
analysis needs. Traffic arrives in one of two forms and both give the same distribution of
alerts: explicit connections (reference engine), counted literally (``points.py``), or attack
phases (fast engine), sampled per source and window (``phases.py``). Crashes, session reuses
and logins with captured passwords are listed one by one in both forms. Whether the team noticed a log is not drawn here: the
analysis weighs replications by ``notice_probability`` exactly.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from sim.model.record import (
    AttackPhase,
    Connection,
    Crash,
    Observations,
    PasswordLogins,
    SessionReuses,
)
from sim.model.alerts import AlertCounts, AlertSummary
from sim.model.detectors.counting import Counting, retention_cutoff, traffic_counting
from sim.model.detectors.intensity import Intensity
from sim.model.detectors.phases import count_phases
from sim.model.detectors.points import count_points, one_alert_each
from sim.scenario.model import Attacker, Detector, Scenario

__all__ = ["evaluate"]


class _ByAttacker:
    """The observations of one replication grouped by attacker, built once for all detectors."""

    def __init__(self, observations: Observations) -> None:
        self.explicit = observations.connections is not None
        self.phases: dict[str, list[AttackPhase]] = defaultdict(list)
        self.connections: dict[str, list[Connection]] = defaultdict(list)
        self.crashes: dict[str, list[Crash]] = defaultdict(list)
        self.reuses: dict[str, list[SessionReuses]] = defaultdict(list)
        self.logins: dict[str, list[PasswordLogins]] = defaultdict(list)
        for p in observations.phases:
            self.phases[p.attacker].append(p)
        for c in observations.connections or []:
            self.connections[c.attacker].append(c)
        for x in observations.crashes:
            self.crashes[x.attacker].append(x)
        self.known: dict[str, list[Connection]] = defaultdict(list)
        for c in observations.known_connections:
            self.known[c.attacker].append(c)
        for r in observations.session_reuses:
            self.reuses[r.attacker].append(r)
        for g in observations.password_logins:
            self.logins[g.attacker].append(g)
        self.heard = frozenset().union(self.phases, self.connections, self.crashes, self.known,
                                       self.reuses, self.logins)
        """Attackers with anything observed: no detector can count the others, and counting
        nothing draws no random number."""


def evaluate(
    scenario: Scenario, observations: Observations, rng: np.random.Generator
) -> AlertSummary:
    """Alerts raised and retained at ``analysis_at``, per detector and attacker.

    Detectors and attackers are visited in declaration order so that the stream of random
    draws, hence the result, depends only on the scenario and the generator.
    """
    grouped = _ByAttacker(observations)
    summary = AlertSummary()
    for name, detector in scenario.detectors.items():
        summary.by_detector[name] = {
            a: _alerts(detector, attacker, grouped, scenario.horizon, rng)
            if a in grouped.heard else AlertCounts()
            for a, attacker in scenario.attackers.items()
        }
    return summary


def _alerts(
    detector: Detector,
    attacker: Attacker,
    seen: _ByAttacker,
    analysis_at: float,
    rng: np.random.Generator,
) -> AlertCounts:
    watched = frozenset(detector.servers)
    name = attacker.name
    cutoff = retention_cutoff(detector, analysis_at)
    if detector.kind == "crash":
        crash_times = [c.time for c in seen.crashes[name] if c.server in watched]
        return one_alert_each(np.array(crash_times), detector.deployed_at, cutoff)
    if detector.kind == "session":
        logged = [
            r.time[r.blocked | (detector.log_address_change & ~r.shared_address)]
            for r in seen.reuses[name]
            if r.server in watched
        ]
        times = np.concatenate(logged) if logged else np.empty(0)
        return one_alert_each(times, detector.deployed_at, cutoff)
    if detector.kind == "login":
        # Rule 22: a login from an address new to the account; a shared address is not new.
        logged = [g.time[~g.shared_address] for g in seen.logins[name] if g.server in watched]
        times = np.concatenate(logged) if logged else np.empty(0)
        return one_alert_each(times, detector.deployed_at, cutoff)
    counting = traffic_counting(detector, attacker, analysis_at)
    if counting is None:
        return AlertCounts()
    crashes = [c for c in seen.crashes[name] if c.server in watched]
    if seen.explicit:
        return _explicit(seen.connections[name], crashes, counting)
    known: list[Crash | Connection] = [*crashes, *(c for c in seen.known[name] if c.server in watched)]
    return _sampled(attacker, seen.phases[name], known, counting, rng)


def _explicit(
    connections: list[Connection], crashes: list[Crash], counting: Counting
) -> AlertCounts:
    events = [c for c in connections if c.server in counting.servers] + crashes
    units = [counting.units(e.heartbeats_sent, e.heartbeats_answered) for e in events]
    return count_points(
        np.array([e.time for e in events]),
        np.array([e.source for e in events], dtype=np.int64),
        np.array(units, dtype=np.int64),
        counting,
    )


def _sampled(
    attacker: Attacker,
    phases: list[AttackPhase],
    known: list[Crash | Connection],
    counting: Counting,
    rng: np.random.Generator,
) -> AlertCounts:
    """Phases whose connections add nothing to the count (an asymmetry detector facing a
    patched server) are left out, so every remaining connection carries the same units.
    Connections known one by one (crashes, key captures, every connection of an attacker the
    fast engine lists, which then has no phases) are added as points."""
    hpc = attacker.heartbeats_per_connection
    per_connection = {
        p.vulnerable: counting.units(hpc, hpc if p.vulnerable else 0) for p in phases
    }
    u = max(per_connection.values(), default=0)
    total = Intensity.from_intervals(
        (max(p.t0, counting.seen_from), p.t1, p.connection_rate)
        for p in phases
        if p.server in counting.servers and per_connection[p.vulnerable] > 0
    )
    points = [(c.time, c.source, counting.units(c.heartbeats_sent, c.heartbeats_answered))
              for c in known]
    return count_phases(total, attacker.sources, max(u, 1), points, counting, rng)
