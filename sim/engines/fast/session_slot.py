"""Passwords in a ``next_request`` slot that sessions keep emptying: the requests drawn one by
one where they are few.

A session's requests are routed per request (rule 4), so every open session empties every
worker's slot now and then: how fast a password leaves depends on how many sessions are open,
which is shared by all workers and by one worker's successive residencies, and which a login
on one worker raises for all the others. The counting chain of :mod:`.password_chain` follows
one worker's slot with a Gauss mixture over that number, drawn afresh at every login and apart
for every worker, and a lifetime's ``P(N = 0)`` comes out high for it
(``tests/test_fast_password_slot_literal.py``: by 0.0033 on one worker, and the two workers'
slots have a covariance the chain cannot carry).

Where the requests that can matter are few, this module draws them as the model states them,
given the skeleton:

* the server's logins, Poisson at the server's rate from a ``ttl`` before the first worker
  lifetime that can be read (sessions opened earlier send nothing into it) or from the cold
  start, each to a uniform worker, each opening a session whose requests reach each worker as
  a Poisson stream at ``requests_per_s / W`` while it is valid;
* the other requests, Poisson at their constant rate per worker (rule 18);
* the reads, as for lingering passwords (:func:`.reads.sample_reads`): attackers' ordinary
  connections Poisson at their thinned rates, and the connections the skeleton fixed (key
  captures, listed connections, the crashing one at the lifetime's end).

A login's password is then resident from its login until the next request to its worker or
the lifetime's end, and each read takes the resident password, if any, with its ``q``,
independently of every other read ("independently for every resident piece"). So every count
and every first-capture time is drawn from its exact law given the skeleton, for each
attacker and for any set of them at once, on a server without ``max_requests``. With it, what
the other paths assume stays (``docs/fast-engine.md``): the restarts drawn as if requests were
Poisson (item 11), and the streams inside a lifetime drawn free of the request count that
ended it (item 13). The cost grows with the requests drawn, so :func:`literal_cost` bounds it
and :mod:`.passwords` takes the chain past :data:`DRAWN_LIMIT`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from sim.engines.fast.password_chain import PasswordDraw
from sim.engines.fast.reads import attacker_names, password_capture, sample_reads
from sim.engines.fast.segments import Segment, WorkerLifetime, expected_connections
from sim.scenario.model import ResidencySpec, SessionSpec

#: Most requests, logins and reads one replication may expect to draw on one server on this
#: path: a few milliseconds of numpy work. Past it the chain integrates them at a cost that
#: does not grow with the traffic.
DRAWN_LIMIT = 20_000


def session_slot(rule: ResidencySpec, segments: Sequence[Segment]) -> bool:
    """Whether sessions empty a ``next_request`` password slot here (the case this module
    draws exactly; without sessions the chain's two states are exact)."""
    return rule == "next_request" and any(s.session_rate > 0.0 for s in segments)


def readable_lifetimes(segments: Sequence[Segment],
                       lifetimes: Sequence[WorkerLifetime]) -> list[WorkerLifetime]:
    """The worker lifetimes an attacker can read: those that cross an attacked stretch of the
    vulnerable window, or hold a connection the skeleton fixed. They depend on the skeleton
    alone, not on which connections are drawn."""
    hot = [s for s in segments if s.vulnerable and s.attackers]
    return [lt for lt in lifetimes if lt.end > lt.start and (
        lt.crash is not None or lt.key_captures or lt.listed
        or any(s.t0 < lt.end and lt.start < s.t1 for s in hot))]


def literal_cost(
    sessions: SessionSpec, segments: Sequence[Segment], touched: Sequence[WorkerLifetime],
    workers: int, other: bool = True,
) -> float:
    """Expected draws of :func:`sample_slot_passwords` on the lifetimes an attacker can read
    (:func:`readable_lifetimes`): their requests, the server's logins over them and a ``ttl``
    before, and the attackers' connections. Without the ``other`` requests (neither logins
    nor session requests) where a draw does not list them (:func:`other_hazard`)."""
    if not touched:
        return 0.0
    rate = max(s.requests if other else s.logins + s.session_requests for s in segments)
    span = max(lt.end for lt in touched) - min(lt.start for lt in touched) + sessions.ttl
    logins = max(s.logins for s in segments) * workers
    reads = expected_connections(segments, workers, vulnerable=True)
    return rate * sum(lt.end - lt.start for lt in touched) + logins * span + reads


def sample_slot_passwords(
    sessions: SessionSpec,
    segments: Sequence[Segment],
    touched: Sequence[WorkerLifetime],
    workers: int,
    rng: np.random.Generator,
) -> PasswordDraw:
    """Draw the passwords captured on one server in one replication, given its skeleton, with
    every request that can matter drawn (module docstring): ``touched`` are the lifetimes an
    attacker can read (:func:`readable_lifetimes`), the only ones where anything is drawn.

    The legitimate traffic and the reads come from streams of their own, spawned from ``rng``
    (which draws nothing from it): the traffic depends on the skeleton alone, so sweep points
    that differ in an attack rate share it, and how many reads are drawn shifts no later draw.
    """
    traffic, reading = rng.spawn(2)
    names, malicious = attacker_names(segments)
    index = {name: i for i, name in enumerate(names)}
    if not touched:
        return count_passwords(np.zeros(0, int), np.zeros(0, int), np.zeros(0), names, malicious)
    first = max(0.0, min(lt.start for lt in touched) - sessions.ttl)
    last = max(lt.end for lt in touched)
    login_t, login_worker = server_logins(segments, first, last, workers, traffic)
    starts = [s.t0 for s in segments]
    captured: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for lt in touched:
        requests = _requests(lt, segments, sessions, login_t, login_worker, traffic)
        reads = sample_reads(segments, starts, lt, password_capture, "next_request", index,
                             reading)
        t, who, q = reads.t, reads.who, reads.q
        resident = _resident_at(requests, t)
        took = (resident >= 0) & (reading.random(t.size) < q)
        captured.append((resident[took], who[took], t[took]))
    return count_passwords(np.concatenate([c[0] for c in captured]),
                           np.concatenate([c[1] for c in captured]),
                           np.concatenate([c[2] for c in captured]), names, malicious)


Takes = tuple[np.ndarray, np.ndarray, np.ndarray]
"""Password captures gathered in one piece (a lifetime's, say): the logins whose password was
taken, by whom (an index into the attackers' names) and when."""


def count_takes(taken: Sequence[Takes], names: Sequence[str],
                malicious: frozenset[str]) -> PasswordDraw:
    """:func:`count_passwords` of every piece of ``taken`` at once."""
    password, who, when = (np.concatenate([np.zeros(0, dtype=d), *(c[i] for c in taken)])
                           for i, d in enumerate((np.int64, np.int64, float)))
    return count_passwords(password, who, when, names, malicious)


def count_passwords(password: np.ndarray, who: np.ndarray, when: np.ndarray,
                    names: Sequence[str], malicious: frozenset[str]) -> PasswordDraw:
    """The draw from every capture made: the login whose password was taken, by whom (an
    index into ``names``) and when, in any order."""
    order = np.argsort(when, kind="stable")
    password, who, when = password[order], who[order], when[order]
    times, by_attacker = {}, {}
    takers = set(who.tolist())
    for i, name in enumerate(names):
        if i not in takers:  # most attackers take none: np.unique costs more than the rest
            times[name], by_attacker[name] = np.zeros(0), 0
            continue
        mine = who == i
        # in time order, a password's first occurrence is its first capture by the attacker
        _, at = np.unique(password[mine], return_index=True)
        times[name] = np.sort(when[mine][at])
        by_attacker[name] = int(at.size)
    bad = [i for i, name in enumerate(names) if name in malicious and i in takers]
    total = int(np.unique(password[np.isin(who, bad)]).size) if bad else 0
    return PasswordDraw(total, by_attacker, capture_times=times)


def server_logins(
    segments: Sequence[Segment], first: float, last: float, workers: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """The server's logins on ``[first, last)``, in time order, and the worker of each."""
    times = []
    for seg in segments:
        a, b = max(seg.t0, first), min(seg.t1, last)
        if b > a and seg.logins > 0.0:
            times.append(a + (b - a) * rng.random(rng.poisson(seg.logins * workers * (b - a))))
    t = np.sort(np.concatenate(times)) if times else np.zeros(0)
    return t, rng.integers(workers, size=t.size)


def _requests(
    lt: WorkerLifetime, segments: Sequence[Segment], sessions: SessionSpec,
    login_t: np.ndarray, login_worker: np.ndarray, rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Every legitimate request to the lifetime's worker inside it, in time order, and for
    each the login whose password it leaves (an index into the server's logins; -1 for the
    others, which leave none)."""
    start, end = lt.start, lt.end
    here = np.flatnonzero((login_worker == lt.worker) & (login_t >= start) & (login_t < end))
    # every session valid during the lifetime sends requests to its worker (rule 4); one
    # session's rate to one worker is the same in every segment
    a = max(s.session_rate for s in segments)
    lo = np.maximum(login_t, start)
    open_for = np.maximum(np.minimum(login_t + sessions.ttl, end) - lo, 0.0)
    sent = rng.poisson(a * open_for)
    session_t = np.repeat(lo, sent) + rng.random(int(sent.sum())) * np.repeat(open_for, sent)
    times = np.concatenate([login_t[here], session_t, other_requests(lt, segments, rng)])
    leaves = np.concatenate([here, np.full(times.size - here.size, -1)])
    order = np.argsort(times, kind="stable")
    return times[order], leaves[order]


def other_requests(lt: WorkerLifetime, segments: Sequence[Segment],
                   rng: np.random.Generator) -> np.ndarray:
    """The requests to the lifetime's worker inside it that are neither logins nor session
    requests (rule 18: Poisson at a constant rate), unsorted."""
    other = [np.zeros(0)]
    for seg in segments:
        s0, s1 = max(seg.t0, lt.start), min(seg.t1, lt.end)
        rate = seg.requests - seg.logins - seg.session_requests
        if s1 > s0 and rate > 0.0:
            other.append(s0 + (s1 - s0) * rng.random(rng.poisson(rate * (s1 - s0))))
    return np.concatenate(other)


def other_hazard(segments: Sequence[Segment]) -> Callable[[np.ndarray], np.ndarray]:
    """The integrated rate, from the first segment's start to each time, of a worker's
    requests that are neither logins nor session requests: Poisson (rule 18), so where all
    they do is leave nothing in the slot, whether one came between two instants is an
    exponential of this rate's increase, and they need not be listed one by one
    (:func:`other_requests` lists them)."""
    t0 = np.array([s.t0 for s in segments])
    rate = np.array([max(0.0, s.requests - s.logins - s.session_requests) for s in segments])
    spans = np.array([s.t1 - s.t0 for s in segments])
    before = np.concatenate(([0.0], np.cumsum(rate * spans)[:-1]))

    def at(t: np.ndarray) -> np.ndarray:
        i = np.clip(np.searchsorted(t0, t, side="right") - 1, 0, t0.size - 1)
        return before[i] + rate[i] * (t - t0[i])
    return at


def _resident_at(requests: tuple[np.ndarray, np.ndarray], t: np.ndarray) -> np.ndarray:
    """For each read time of ``t``, the login whose password sits in the slot then, or -1 for
    an empty slot: the password of the worker's latest request before it in the lifetime
    (the slot is empty at the lifetime's start, rule 2)."""
    times, leaves = requests
    latest = np.searchsorted(times, t, side="left") - 1
    return np.where(latest >= 0, np.append(leaves, -1)[latest], -1)
