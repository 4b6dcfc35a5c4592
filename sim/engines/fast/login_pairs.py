"""Passwords and session tokens that both linger, drawn login by login from the same reads.

A login leaves its password in its worker's heap and opens a session whose requests leave
token copies in every worker's; the same connections read both (``model.md``, Residency).
Drawn on paths of their own (:mod:`.lingering` for the passwords, :mod:`.token_copies` for the
sessions), each kind's law is exact but the two are independent where the model has them
dependent twice: through the reads (a connection that takes one kind may take the other) and
through the login (one opened just before a stretch of reads puts both at risk). So one
attacker's password and session came out less alike than they are (item 14 of
``docs/fast-engine.md``).

Here the reads of both kinds are drawn once, per connection (:func:`.reads.sample_shared_reads`),
and each login is drawn once, with its time ``u`` and its worker. Given the reads and the
login, its password's residency (exponential, or until the worker's next clear) and its
session's token copies (placed by the session's own Poisson requests) are independent, so a
login's session (its class from its chances, :class:`.token_copies.ClassTally`, or where a
``concurrent`` check can pass its copies taken, :class:`.token_takes.TakesTally`) and its
password's fate are drawn apart, each with its exact law. The password's fate is simulated:
its residency ends at ``E``, and each attacker's first take is the first of its reads of the
worker in ``(u, E)`` whose cumulative ``-log(1 - q)`` passes an ``Exp(1)`` of its own (each
read takes a resident piece independently, with chance ``q``). So the joint law of every
attacker's password and session captures, and each password's first capture times, are the
model's.

Logins are drawn per worker where either kind can be captured: before a read of the password
buffer in the same block (between clears), or within ``ttl`` before any read of the token
buffer; where the skeleton drew the server's logins (``max_requests`` beside sessions,
:mod:`.login_timeline`) those are taken instead, and each lifetime's reads are drawn given
the count that ended it (:func:`.reads.counted_shared_reads`). Their cost grows with the
logins there; :func:`pair_work` bounds it.

Without passwords the same draw runs for the sessions alone where the skeleton drew the
logins: no other session path reads those logins and each lifetime's count
(``docs/fast-engine.md``, items 11 and 13).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol, TypeVar

import numpy as np

from sim.engines.fast.lingering import PasswordReads, inverse_residency, password_fates
from sim.engines.fast.login_timeline import LoginTimeline
from sim.engines.fast.password_chain import PasswordDraw
from sim.engines.fast.reads import (
    Reads,
    attacker_names,
    counted_shared_reads,
    password_capture,
    sample_shared_reads,
)
from sim.engines.fast.request_shares import RequestShares
from sim.engines.fast.segments import Segment, WorkerLifetime
from sim.engines.fast.session_cuts import Until
from sim.engines.fast.session_literal import WorkerReads, token_capture, worker_reads
from sim.engines.fast.token_copies import (
    CHUNK,
    WorkerSums,
    meeting,
    poisson_logins,
    prepare,
    residency_rate,
    set_chances,
)
from sim.scenario.model import PasswordSpec, SessionSpec

#: Most logins times attackers one server replication may draw here; past it the two kinds
#: are drawn apart (their own paths, whose costs do not grow with the logins).
PAIRS_LIMIT = 4_000_000


def pairs_fit(passwords: PasswordSpec | None, sessions: SessionSpec,
              segments: Sequence[Segment], lifetimes: Sequence[WorkerLifetime], workers: int,
              logins: float, max_requests: int | None, known: LoginTimeline | None) -> bool:
    """Whether :func:`sample_pairs` would draw the passwords with the sessions where these
    are counted login by login (the "logins" path of :func:`.sessions.plan_sessions`): both
    kinds linger, with ``max_requests`` only where the skeleton drew the logins
    (``known``: each lifetime's reads are then drawn given the count that ended it, its
    logins aside, item 13), and the logins are within :data:`PAIRS_LIMIT`. Without
    ``passwords``, the sessions alone, only where the skeleton drew the logins: no other
    session path reads them."""
    taken = known is not None if passwords is None else passwords.lifetime != "next_request"
    return (taken and sessions.lifetime != "next_request"
            and (max_requests is None or known is not None)
            and pair_work(segments, lifetimes, workers, logins, sessions.ttl) <= PAIRS_LIMIT)


def pair_work(segments: Sequence[Segment], lifetimes: Sequence[WorkerLifetime], workers: int,
              logins: float, ttl: float) -> float:
    """Expected logins times attackers this draw would handle on one server replication, at
    most: on each worker, every login of a lifetime that meets the attack up to the attack's
    end (a password can wait there for a read), and the ``ttl`` before the attack (sessions
    that can meet it); ``logins`` per second on the server."""
    hot = [s for s in segments if s.attackers]
    if not hot:
        return 0.0
    first, last = hot[0].t0, hot[-1].t1
    span = workers * ttl + sum(max(0.0, min(lt.end, last) - lt.start) for lt in lifetimes
                               if lt.end > first and lt.start < last)
    attackers = len(attacker_names(segments)[0])
    return logins / workers * span * (attackers + 1)


class LoginSide(Protocol):
    """What draws the sessions given the logins (:class:`.token_copies.ClassTally`,
    :class:`.token_takes.TakesTally`)."""

    def add(self, u: np.ndarray, rng: np.random.Generator) -> None:
        """Draw the sessions opened at ``u`` (a chunk of logins)."""


Side = TypeVar("Side", bound=LoginSide)


def sample_pairs(
    passwords: PasswordSpec | None, spec: SessionSpec, segments: Sequence[Segment],
    lifetimes: Sequence[WorkerLifetime], workers: int, logins: float,
    sets: tuple[Sequence[frozenset[str]], Sequence[Until]],
    side: Callable[[list[WorkerReads], list[WorkerSums], list[RequestShares | None]], Side],
    rng: np.random.Generator, max_requests: int | None = None,
    known: LoginTimeline | None = None,
) -> tuple[PasswordDraw | None, Side]:
    """The passwords captured on one server (with each one's first capture time per attacker;
    none without ``passwords``: the sessions alone, where the skeleton drew the logins),
    and ``side`` (made from the workers with reads of the token buffer and their sums for the
    counting ``sets`` with their instants, and per worker, those first, the counts of its
    lifetimes' legitimate requests where they were counted, :mod:`.request_shares`) having
    drawn the sessions of every login that can meet such a read, drawn together per login:
    the skeleton's logins where it drew them (``known``), else drawn here."""
    names, malicious = attacker_names(segments)
    index = {n: i for i, n in enumerate(names)}
    kept, tokens, shares = _pair_reads(passwords, spec, segments, lifetimes, workers, index,
                                       max_requests, rng)
    live = [w for w, wk in enumerate(tokens) if wk.read_t.size]
    sums = [prepare(tokens[w], set_chances(tokens[w], names, *sets), residency_rate(spec))
            for w in live]
    idle = [w for w, wk in enumerate(tokens) if not wk.read_t.size]
    sessions = side([tokens[w] for w in live], sums, [shares[w] for w in live + idle])
    mu = None if passwords is None else inverse_residency(passwords)
    session_lo, session_hi = (meeting(np.sort(np.concatenate([w.t for w in sums])), spec.ttl)
                              if sums else (np.zeros(0), np.zeros(0)))
    taken: list[list[np.ndarray]] = [[] for _ in names]
    any_malicious = 0
    bad = np.array([n in malicious for n in names], dtype=bool)
    for w in range(workers):
        lo, hi = (session_lo, session_hi) if passwords is None else _union(
            *_password_region(kept[w]), session_lo, session_hi)
        for u in _logins(lo, hi, logins / workers, None if known is None else known.own[w],
                         rng):
            inside = _inside(u, session_lo, session_hi)
            if inside.any():
                sessions.add(u[inside], rng)
            if mu is None:
                continue
            first = password_fates(kept[w], len(names), mu, u, rng)
            for i in range(len(names)):
                taken[i].append(first[:, i][np.isfinite(first[:, i])])
            any_malicious += int(np.isfinite(first[:, bad]).any(axis=1).sum())
    if passwords is None:
        return None, sessions
    times = {n: np.sort(np.concatenate(taken[i])) if taken[i] else np.zeros(0)
             for i, n in enumerate(names)}
    draw = PasswordDraw(any_malicious, {n: int(t.size) for n, t in times.items()},
                        capture_times=times)
    return draw, sessions


def _logins(lo: np.ndarray, hi: np.ndarray, rate: float, own: np.ndarray | None,
            rng: np.random.Generator) -> Iterator[np.ndarray]:
    """One worker's logins inside the disjoint intervals ``[lo, hi)``, in chunks: ``own``
    (the skeleton's, sorted) where known, else Poisson at ``rate``."""
    if own is None:
        yield from poisson_logins(lo, hi, rate, rng)
        return
    inside = own[_inside(own, lo, hi)]
    for start in range(0, inside.size, CHUNK):
        yield inside[start:start + CHUNK]


def _pair_reads(
    passwords: PasswordSpec | None, spec: SessionSpec, segments: Sequence[Segment],
    lifetimes: Sequence[WorkerLifetime], workers: int, index: dict[str, int],
    max_requests: int | None, rng: np.random.Generator,
) -> tuple[list[PasswordReads], list[WorkerReads], list[RequestShares | None]]:
    """Every worker's reads of both buffers, each connection drawn once (with
    ``max_requests``, given the count that ended its lifetime, :func:`.reads.
    counted_shared_reads`): under ``next_handshake`` the legitimate handshakes, drawn once
    too, clear the kinds that follow that rule; a crashing connection reads just before the
    restart that empties the heap. And per worker, the lifetimes whose legitimate requests
    were counted given the skeleton's logins, with those counts (none elsewhere). Without
    ``passwords`` the token buffer's alone (and no password reads)."""
    kinds = [(token_capture, spec.lifetime)]
    if passwords is not None:
        kinds.insert(0, (password_capture, passwords.lifetime))
    rules = [rule for _, rule in kinds]
    starts = [s.t0 for s in segments]
    by_worker: dict[int, list[WorkerLifetime]] = {}
    for lt in sorted(lifetimes, key=lambda lt: lt.start):
        by_worker.setdefault(lt.worker, []).append(lt)
    kept, tokens, shares = [], [], []
    for w in range(workers):
        parts: list[list[Reads]] = [[] for _ in kinds]
        restarts: list[float] = []
        counted: list[tuple[WorkerLifetime, int, bool]] = []
        for lt in by_worker.get(w, []):
            if lt.end <= lt.start:
                continue
            if max_requests is None:
                t, who, q, clear = sample_shared_reads(segments, starts, lt, kinds, index, rng)
            else:
                traffic = counted_shared_reads(segments, starts, lt, kinds, index, max_requests,
                                               rng)
                t, who, q, clear = traffic.reads
                if lt.logins is not None:
                    counted.append((lt, traffic.requests, bool(t.size)))
            t = np.where(t >= lt.end, np.nextafter(lt.end, -math.inf), t)
            for j in range(len(kinds)):
                parts[j].append(Reads(t, who, q[:, j], clear[:, j]))
            if "next_handshake" in rules and segments[0].handshakes > 0:
                k = int(rng.poisson(segments[0].handshakes * (lt.end - lt.start)))
                shakes = lt.start + (lt.end - lt.start) * rng.random(k)
                for j, rule in enumerate(rules):
                    if rule == "next_handshake":
                        parts[j].append(Reads(shakes, np.full(k, -1), np.zeros(k),
                                              np.ones(k, dtype=bool)))
            restarts += (lt.start, lt.end)
        if passwords is not None:
            wk = worker_reads(rules[0], parts[0], restarts)
            kept.append(PasswordReads(wk.read_t, wk.read_who, wk.read_q, wk.clears, len(index)))
        tokens.append(worker_reads(rules[-1], parts[-1], restarts))
        shares.append(RequestShares(*zip(*counted)) if counted else None)
    return kept, tokens, shares


def _password_region(r: PasswordReads) -> tuple[np.ndarray, np.ndarray]:
    """Where a login's password can be read on this worker, as disjoint intervals: from the
    start of each block (between clears) that holds reads to its last read."""
    if r.t.size == 0:
        return np.zeros(0), np.zeros(0)
    block = np.searchsorted(r.clears, r.t, side="right")
    last = np.append(block[1:] != block[:-1], True)
    lo = np.where(block[last] > 0, r.clears[np.maximum(block[last] - 1, 0)], 0.0)
    return lo, r.t[last]


def _union(lo1: np.ndarray, hi1: np.ndarray, lo2: np.ndarray,
           hi2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The union of two sets of disjoint intervals ``[lo, hi)``, as disjoint intervals."""
    lo, hi = np.concatenate([lo1, lo2]), np.concatenate([hi1, hi2])
    if lo.size == 0:
        return lo, hi
    order = np.argsort(lo, kind="stable")
    lo, hi = lo[order], hi[order]
    reach = np.maximum.accumulate(hi)
    new = np.concatenate([[True], lo[1:] > reach[:-1]])
    ends = np.append(np.flatnonzero(new)[1:] - 1, lo.size - 1)
    return lo[new], reach[ends]


def _inside(u: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Whether each ``u`` lies in one of the disjoint sorted intervals ``[lo, hi)``."""
    if lo.size == 0:
        return np.zeros(u.size, dtype=bool)
    k = np.searchsorted(lo, u, side="right") - 1
    return (k >= 0) & (u < hi[np.maximum(k, 0)])
