"""Light attackers' connections, sampled one by one so that detectors and captures share them.

In the model the connections an attacker sends both read secrets and raise alerts, so given
the skeleton its captures and its alerts are dependent: more connections in a detector's
window mean more reads as well as more counts. Integrating a light attacker's reads as a
hazard while the detectors draw its connections apart loses that dependence, and results
given the evidence with it: on the agreement suite's two-attacker scenario the chance that the
checker took a session *and* raised no bytes-per-packet alert came out 37.6% against the
reference engine's 34.6% (z = 6.2 at 20,000 replications a side, 2026-12-03).

So an attacker whose connections to a server are few (:data:`LISTED_LIMIT`), read passwords
or sessions there and are counted by a traffic detector has its ordinary connections known one
by one. While it watches the key (has not captured it) the skeleton draws each of them as an
event (*followed*, :attr:`.segments.AttackerRates.followed`): whether a connection misses the
key depends on the copies resident, and a miss tells about them. Otherwise they are sampled
here, per worker lifetime and segment, as the Poisson process they are given the skeleton
(rate ``connection_rate * (1 - crash)^k``: the crashing ones are the skeleton's own). Every
consumer reads the same sample: the
detectors as connections known one by one, passwords and sessions as point reads
(:func:`.reads.point_reads`). Heavier attackers keep the integrated hazards and the
detectors' phases, exact in each margin; the dependence left between them, through a count
of over a thousand connections, is ``docs/fast-engine.md``'s item 9: at 2,100 connections
it did not show against the reference engine at 8,000 replications a side (every joint
quantity within 0.75 points, ``tests/heavy_evidence.py``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

from sim.engines.fast.reads import (
    count_inside,
    crossed,
    legitimate_rate_at_end,
    pick,
    room_inside,
)
from sim.engines.fast.segments import AttackerRates, ListedConnection, Segment, WorkerLifetime
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
    max_requests: int | None = None,
    followed_until: float = math.inf,
) -> list[Connection]:
    """Add to each lifetime's :attr:`~.segments.WorkerLifetime.listed` the listed attackers'
    ordinary connections to its worker that the skeleton did not draw (all but the followed
    ones), and return them as the detectors see them (each from a uniform one of its
    attacker's ``sources``).

    With ``max_requests`` the lifetime's end says how many connections it served
    (:func:`_counted`), and one that ended at its ``max_requests``-th may have ended at one
    of these (:func:`_last_connection`); but not for a lifetime begun at or after
    ``followed_until``, the vulnerable window's close, which the skeleton takes to last to the
    horizon without following it (nothing can be read there)."""
    starts = [s.t0 for s in segments]
    seen: list[Connection] = []
    for lt in lifetimes:
        cells = [(seg, lo, hi, a) for seg, lo, hi in crossed(segments, starts, lt)
                 for a in seg.attackers if a.listed and not a.followed]  # followed: drawn
        if not cells:
            continue
        counts = last = None
        if max_requests is not None and lt.start < followed_until:
            last = _last_connection(lt, cells, rng)
            counts = _counted(segments, starts, lt, cells, max_requests, rng)
        found: list[ListedConnection] = []
        for i, (seg, lo, hi, a) in enumerate(cells):
            if counts is None:
                k = int(rng.poisson(a.ordinary_rate(seg.crash_probability, lt.key_reachable)
                                    * (hi - lo)))
            else:
                k = counts[i]
            if k:
                times = np.sort(lo + (hi - lo) * rng.random(k))
                found += [ListedConnection(float(t), a.name, a.heartbeats) for t in times]
                seen += _seen(times, seg, a, server, sources, rng)
        if last is not None:
            seg, a = last
            time = np.array([math.nextafter(lt.end, -math.inf)])  # served, then the restart
            found.append(ListedConnection(float(time[0]), a.name, a.heartbeats))
            seen += _seen(time, seg, a, server, sources, rng)
            lt.last_known = True
        lt.listed = sorted(lt.listed + found, key=lambda c: c.time)
    return seen


def _seen(times: np.ndarray, seg: Segment, a: AttackerRates, server: str,
          sources: dict[str, int], rng: np.random.Generator) -> list[Connection]:
    """Connections at ``times`` as the detectors see them."""
    source = rng.integers(sources[a.name], size=times.size)
    answered = a.heartbeats if seg.vulnerable else 0
    return [Connection(float(t), a.name, server, int(s), a.heartbeats, answered)
            for t, s in zip(times, source)]


Cells = Sequence[tuple[Segment, float, float, AttackerRates]]


def _counted(segments: Sequence[Segment], starts: Sequence[float], lt: WorkerLifetime,
             cells: Cells, max_requests: int, rng: np.random.Generator) -> list[int]:
    """How many ordinary connections each cell (listed attacker, stretch) holds, given the
    lifetime's count toward ``max_requests`` (``docs/fast-engine.md``, item 13): the free
    connections inside (legitimate requests, unlisted attackers' and these) number exactly
    what is left of ``max_requests - 1`` after those known one by one if the lifetime ended
    at its ``max_requests``-th, else a Poisson count truncated there (:func:`.reads.
    count_inside`), and each is in a stream with probability proportional to its integrated
    rate (a multinomial split, exact for Poisson streams). What is left of them after these
    is drawn by whoever reads the lifetime, with the same cap (:func:`.reads.counted_reads`),
    which is the conditional law given these counts."""
    rest = 0.0 if lt.logins is None else lt.logins.requests  # its logins are known
    for seg, lo, hi in crossed(segments, starts, lt):
        legit = seg.requests if lt.logins is None else 0.0
        rest += (legit + sum(a.ordinary_rate(seg.crash_probability, lt.key_reachable)
                             for a in seg.attackers if not a.listed)) * (hi - lo)
    mass = np.array([rest, *(a.ordinary_rate(seg.crash_probability, lt.key_reachable)
                             * (hi - lo) for seg, lo, hi, a in cells)])
    total = float(mass.sum())
    free = count_inside(lt, total, room_inside(lt, max_requests), rng)
    return rng.multinomial(free, mass / total)[1:].tolist() if free else [0] * len(cells)


def _last_connection(lt: WorkerLifetime, cells: Cells, rng: np.random.Generator
                     ) -> tuple[Segment, AttackerRates] | None:
    """The connection that ended a lifetime at its ``max_requests``-th, when it is a listed
    attacker's: given an arrival of the counted connections at that instant, it is each
    stream's with the stream's share of the rate there (legitimate requests, unlisted
    attackers' ordinary connections, each listed attacker's); the followed ones are counted
    apart, and the skeleton says it was neither a key capture nor a crash."""
    if lt.end_cause != "max_requests" or lt.last_known:
        return None
    at_end = [(seg, a) for seg, lo, hi, a in cells if hi == lt.end]
    if not at_end:
        return None
    seg = at_end[0][0]
    reachable = lt.key_reachable
    rest = legitimate_rate_at_end(lt, seg) + sum(a.ordinary_rate(seg.crash_probability, reachable)
                                                 for a in seg.attackers if not a.listed)
    rates = np.array([rest, *(a.ordinary_rate(seg.crash_probability, reachable)
                              for _, a in at_end)])
    who = pick(rng, rates)
    return at_end[who - 1] if who > 0 else None
