"""Light attackers' connections, sampled one by one so that detectors and captures share them.

In the model the connections an attacker sends both read secrets and raise alerts, so given
the skeleton its captures and its alerts are dependent: more connections in a detector's
window mean more reads as well as more counts. Integrating a light attacker's reads as a
hazard while the detectors draw its connections apart loses that dependence, and results
given the evidence with it: on the agreement suite's two-attacker scenario the chance that the
checker took a session *and* raised no bytes-per-packet alert came out 37.6% against the
reference engine's 34.6% (z = 6.2 at 20,000 replications a side, 2026-12-03).

So an attacker whose connections to a server are few (:data:`LISTED_LIMIT`), read passwords
or sessions there and are counted by a traffic detector has its ordinary connections sampled
here, per worker lifetime and segment, as the Poisson process they are given the skeleton
(rate ``connection_rate * (1 - crash)^k * key_miss[placement]``: the crashing and
key-capturing ones are the skeleton's own), and every consumer reads the same sample: the
detectors as connections known one by one, passwords and sessions as point reads
(:func:`.reads.point_reads`). Heavier attackers keep the integrated hazards and the
detectors' phases, exact in each margin; the dependence left between them, through a count
of over a thousand connections, is ``docs/fast-engine.md``'s item 9: at 2,100 connections
it did not show against the reference engine at 8,000 replications a side (every joint
quantity within 0.75 points, ``tests/heavy_evidence.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from sim.engines.fast.reads import crossed
from sim.engines.fast.segments import ListedConnection, Segment, WorkerLifetime
from sim.model.attackers import longest_window
from sim.model.detectors.counting import traffic_counting
from sim.model.record import Connection
from sim.scenario.model import Attacker, Scenario, Server

#: Most connections (expected over its longest window) an attacker may send to one server and
#: still be listed. Each listed connection is sampled, counted by the detectors and read by
#: the password chain and the session sweeps: about 20 microseconds in all (19 measured on
#: 2026-12-03, the tests' ``tiny.yaml`` at 0.4 against 0.02 connections per second).
LISTED_LIMIT = 1000


def listed_attackers(
    scenario: Scenario, server: Server, attackers: Iterable[Attacker]
) -> frozenset[str]:
    """The attackers listed on ``server``: decided from the scenario alone, so that whether an
    attacker is listed never depends on a replication's draws.

    Listing matters only where the same connections read passwords or sessions and are
    counted by a traffic detector (key-capturing connections are known one by one anyway);
    elsewhere phases and hazards give every margin exactly, at no cost per connection.
    """
    if server.passwords is None and server.sessions is None:
        return frozenset()
    horizon = scenario.horizon

    def counted(a: Attacker) -> bool:
        return any(server.name in d.servers and traffic_counting(d, a, horizon) is not None
                   for d in scenario.detectors.values())

    return frozenset(a.name for a in attackers
                     if a.connection_rate * longest_window(a, horizon) <= LISTED_LIMIT
                     and counted(a))


def sample_listed(
    segments: Sequence[Segment],
    lifetimes: Sequence[WorkerLifetime],
    sources: dict[str, int],
    server: str,
    rng: np.random.Generator,
) -> list[Connection]:
    """Fill each lifetime's :attr:`~.segments.WorkerLifetime.listed` with the listed
    attackers' ordinary connections to its worker, and return them as the detectors see them
    (each from a uniform one of its attacker's ``sources``)."""
    starts = [s.t0 for s in segments]
    seen: list[Connection] = []
    for lt in lifetimes:
        found: list[ListedConnection] = []
        for seg, lo, hi in crossed(segments, starts, lt):
            for a in seg.attackers:
                if not a.listed:
                    continue
                nu = a.ordinary_rate(seg.crash_probability, lt.key_reachable)
                k = int(rng.poisson(nu * (hi - lo)))
                if not k:
                    continue
                times = np.sort(lo + (hi - lo) * rng.random(k))
                source = rng.integers(sources[a.name], size=k)
                answered = a.heartbeats if seg.vulnerable else 0
                found += [ListedConnection(float(t), a.name, a.heartbeats) for t in times]
                seen += [Connection(float(t), a.name, server, int(s), a.heartbeats, answered)
                         for t, s in zip(times, source)]
        lt.listed = sorted(found, key=lambda c: c.time)
    return seen
