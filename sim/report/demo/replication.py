"""One replication traced where attackers send (the zoom), with the long quiet stretches left
to one line each.

The replication is replication ``index`` of a run seeded with ``seed`` (the first one in which
a malicious attacker exists): its attackers' presence and windows are those every engine
draws for it (``sim.model.attackers.draw_attackers`` on the engine's attacker stream). The
reference engine then simulates literally, with its trace hooks on, each *episode*: the
overlapping attacker windows, from a cold start ``warmup`` before them. The warm-up is long
enough that nothing resident at the episode's start can be told from a replication run from
the timeline's start: the longest of the session lifetime (a token of an older session has
expired) and five mean exponential residencies, and at least a minute of traffic.

Scenarios too large to simulate literally (``psmail-2014``) are traced for as long as a fixed
budget of events allows (``EVENT_BUDGET``): the first part of each attack window, literally;
the story says what was not traced, and the totals at its end are those of the traced part.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import simpy

from sim.engines.reference.arrivals import stream
from sim.engines.reference.campaign import Campaign
from sim.engines.reference.server import ServerSim
from sim.engines.reference.trace import Window
from sim.model.attackers import ActiveWindow, draw_attackers
from sim.model.detectors import evaluate
from sim.model.record import Observations
from sim.montecarlo.seeds import replication_seeds
from sim.scenario.model import Scenario, Server

EVENT_BUDGET = 200_000
"""Most simulated events (requests, handshakes, heartbeats) per attacker after its warm-up:
a few seconds."""
SEARCH = 10_000
"""Replications searched for one in which a malicious attacker exists."""
_ATTACKERS, _SERVERS, _CAMPAIGNS = 0, 1, 2  # the reference engine's stream keys
_TRAFFIC, _STATE = 0, 1


@dataclass(frozen=True, slots=True)
class Heartbeat:
    t: float
    attacker: str
    server: str
    worker: int
    source: int
    window: Window | None


@dataclass(slots=True)
class Heard:
    """Everything the trace hooks reported, in time order per kind."""

    restarts: list[tuple[float, str, int, str, bool]] = field(default_factory=list)
    logins: dict[tuple[int, str, int], tuple[float, int]] = field(default_factory=dict)
    """``(episode, server, login) -> (time, worker)``."""
    key_ops: dict[tuple[int, str, int], list[float]] = field(default_factory=dict)
    """``(episode, server, worker) ->`` times of the key operations that left copies."""
    heartbeats: list[Heartbeat] = field(default_factory=list)
    crashes: list[tuple[float, str, str, int]] = field(default_factory=list)
    reuses: list[tuple[float, str, str, int, bool, bool]] = field(default_factory=list)
    episode: int = 0

    def restart(self, now: float, server: str, worker: int, reason: str,
                key_reachable: bool) -> None:
        self.restarts.append((now, server, worker, reason, key_reachable))

    def login(self, now: float, server: str, worker: int, login: int) -> None:
        self.logins[self.episode, server, login] = (now, worker)

    def key_op(self, now: float, server: str, worker: int, copies: int) -> None:
        self.key_ops.setdefault((self.episode, server, worker), []).append(now)

    def heartbeat(self, now: float, attacker: str, server: str, worker: int, source: int,
                  window: Window | None) -> None:
        self.heartbeats.append(Heartbeat(now, attacker, server, worker, source, window))

    def crash(self, now: float, attacker: str, server: str, worker: int) -> None:
        self.crashes.append((now, attacker, server, worker))

    def reuse(self, now: float, attacker: str, server: str, session: int, hijacked: bool,
              shared_address: bool) -> None:
        self.reuses.append((now, attacker, server, session, hijacked, shared_address))


@dataclass(frozen=True, slots=True)
class Episode:
    begin: dict[str, float]
    """Per targeted server, its cold start (its ``warmup`` before the first window)."""
    end: float
    """End of the traced part."""
    windows: dict[str, ActiveWindow]
    """Per attacker, its whole window in this replication."""
    traced: dict[str, ActiveWindow]
    """Per attacker, the part of its window that is simulated."""
    servers: tuple[str, ...]

    @property
    def start(self) -> float:
        return min(self.begin.values())


@dataclass(frozen=True, slots=True)
class Traced:
    scenario: Scenario
    seed: int
    index: int
    present: dict[str, bool]
    windows: dict[str, ActiveWindow]
    episodes: tuple[Episode, ...]
    heard: Heard
    observations: Observations
    alerts: dict[str, dict[str, tuple[int, int]]]
    """``detector -> attacker -> (raised, retained)`` over the traced traffic."""


def pick(scenario: Scenario, seed: int) -> int:
    """The first replication of ``seed`` in which a malicious attacker sends."""
    for index in range(SEARCH):
        present, windows = _draw(scenario, seed, index)
        if any(present[a] and not windows[a].empty and not scenario.attackers[a].benign
               for a in scenario.attackers):
            return index
    return 0


def _draw(scenario: Scenario, seed: int, index: int
          ) -> tuple[dict[str, bool], dict[str, ActiveWindow]]:
    engine = replication_seeds(seed, index).engine
    return draw_attackers(scenario, stream(engine, _ATTACKERS))


def warmup(server: Server) -> float:
    spans = [60.0]
    if server.sessions is not None:
        spans.append(server.sessions.ttl)
    for life in (server.keys.copy_lifetime,
                 server.passwords.lifetime if server.passwords else "next_request",
                 server.sessions.lifetime if server.sessions else "next_request"):
        if not isinstance(life, str):
            spans.append(5.0 * life)
    return max(spans)


def legit_rate(server: Server) -> float:
    t = server.traffic
    requests = t.logins_per_s + t.session_requests_per_s(server.sessions)
    return server.hosts * (requests + t.other_requests_per_s(server.sessions) + t.handshakes_per_s)


def episodes(scenario: Scenario, present: dict[str, bool],
             windows: dict[str, ActiveWindow]) -> tuple[Episode, ...]:
    """Each present malicious attacker's window, clipped to what the event budget allows,
    grouped with the others where they overlap (warm-up included). Benign checkers are traced
    where they overlap a malicious attacker's traced stretch."""
    spans = []
    for a in scenario.attackers:
        w = windows[a]
        if not present[a] or w.empty or scenario.attackers[a].benign:
            continue
        attacker = scenario.attackers[a]
        specs = [scenario.servers[s] for s in attacker.targets]
        legit = sum(legit_rate(s) for s in specs)
        end = min(w.t1, w.t0 + EVENT_BUDGET / max(legit + attacker.rate * len(specs), 1e-9))
        lead = max(warmup(s) for s in specs)
        spans.append((max(0.0, w.t0 - lead), end, a))
    spans.sort()
    groups: list[list[tuple[float, float, str]]] = []
    for span in spans:
        if groups and span[0] <= max(e for _, e, _ in groups[-1]):
            groups[-1].append(span)
        else:
            groups.append([span])
    out = []
    for group in groups:
        names = [a for _, _, a in group]
        first = min(windows[a].t0 for a in names)
        end = max(e for _, e, _ in group)
        traced = {a: ActiveWindow(windows[a].t0, min(windows[a].t1, e)) for _, e, a in group}
        for a, checker in scenario.attackers.items():
            w = windows[a]
            if checker.benign and present[a] and w.t0 < end and w.t1 > first:
                names.append(a)  # from the episode's first attack: memoryless arrivals
                traced[a] = ActiveWindow(max(w.t0, first), min(w.t1, end))
        servers = tuple(sorted({s for a in names for s in scenario.attackers[a].targets}))
        begin = {s: max(0.0, first - warmup(scenario.servers[s])) for s in servers}
        out.append(Episode(begin, end, {a: windows[a] for a in names}, traced, servers))
    return tuple(out)


def trace(scenario: Scenario, seed: int, index: int | None = None) -> Traced:
    index = pick(scenario, seed) if index is None else index
    present, windows = _draw(scenario, seed, index)
    engine = replication_seeds(seed, index).engine
    heard = Heard()
    observations = Observations(connections=[])
    found = episodes(scenario, present, windows)
    names = list(scenario.servers)
    attackers = list(scenario.attackers)
    for n, ep in enumerate(found):
        heard.episode = n
        env = simpy.Environment(initial_time=ep.start)
        servers = {}
        for s in ep.servers:
            k = names.index(s)
            servers[s] = ServerSim(env, scenario.servers[s], ep.end,
                                   stream(engine, _SERVERS, k, _TRAFFIC, n),
                                   stream(engine, _SERVERS, k, _STATE, n), ep.begin[s], heard)
            servers[s].start()
        for a, window in ep.traced.items():
            attacker = scenario.attackers[a]
            for j, target in enumerate(attacker.targets):
                campaign = Campaign(attacker, servers[target], window,
                                    stream(engine, _CAMPAIGNS, attackers.index(a), j, n),
                                    observations)
                env.process(campaign.run())
        env.run(until=ep.end)
    counted = evaluate(scenario, observations,
                       np.random.Generator(np.random.PCG64(replication_seeds(seed, index)
                                                           .detectors)))
    alerts = {d: {a: (c.raised, c.retained) for a, c in by.items()}
              for d, by in counted.by_detector.items()}
    return Traced(scenario, seed, index, present, windows, found, heard, observations, alerts)
