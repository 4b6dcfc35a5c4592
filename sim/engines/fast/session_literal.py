"""Sessions simulated literally against sampled reads, when the attack is light.

Given the skeleton, the connections that read a worker's token buffer are the attackers'
ordinary connections (Poisson at the thinned rate of :func:`.reads.segment_hazards`), plus the
key-capturing, listed (:mod:`.listed`) and crashing connections the skeleton fixed
(:func:`.reads.sample_reads`). With
those reads in hand, the sessions that can meet one of them (logins in ``(first read - ttl,
last read]``) are simulated as the reference engine does: each login, each session request
routed to a uniform worker, each token copy with its residency (``next_request``: until the
worker's next legitimate request, of anyone; ``next_handshake``: until the worker's next
private-key operation or restart; a duration: an exponential time, or the restart), each read
capturing each resident copy of a valid session independently. Requests that are neither
logins nor session requests (rule 18) are Poisson; only whether one came between a token
request and a read matters, and that is drawn read by read. Each malicious attacker then tries
each session it captured at its first capture (rule 9), and the binding checks of rule 21 are
made with the victim's own request times, as in the reference engine.

So given the skeleton nothing here is approximated: session counts are not assumed Poisson,
copies of one session share the reads that take them, the attempt times are the first
captures, and the ``concurrent`` check sees the victim's requests. The cost is the number of
sessions that meet the attack, their requests and the reads (:func:`literal_work`): the
engine takes this path while that stays below :data:`LITERAL_LIMIT`, always with
``concurrent`` (``check`` refuses a server where the bound could be passed).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from sim.engines.fast.binding import checks_passed, hijacked_by_checks
from sim.engines.fast.reads import Reads, attacker_names, sample_reads
from sim.engines.fast.segments import (
    AttackerRates,
    Segment,
    WorkerLifetime,
    expected_connections,
)
from sim.model.record import SessionReuses
from sim.scenario.model import ResidencySpec, SessionSpec

#: Most simulated sessions, session requests and reads per server and replication.
LITERAL_LIMIT = 200_000


def token_capture(a: AttackerRates) -> float:
    return a.c_token


def literal_work(spec: SessionSpec, segments: Sequence[Segment], workers: int,
                 logins: float) -> float:
    """Expected sessions, session requests and reads of one server's literal draw."""
    hot = [s for s in segments if any(a.connection_rate > 0 for a in s.attackers)]
    if not hot:
        return 0.0
    window = hot[-1].t1 - hot[0].t0 + 2.0 * spec.ttl
    reads = expected_connections(hot, workers)
    handshakes = workers * hot[0].handshakes * window if spec.lifetime == "next_handshake" else 0
    return logins * window * (2.0 + spec.requests_per_s * spec.ttl) + reads + handshakes


@dataclass(slots=True)
class WorkerReads:
    """One worker's sampled reads and clears over the attack, in time order."""

    read_t: np.ndarray
    read_who: np.ndarray
    read_q: np.ndarray
    clears: np.ndarray
    """Times at which every token copy of the worker is gone (restarts; under
    ``next_handshake`` also key operations), sorted."""
    restarts: np.ndarray
    """The worker's restarts (its memory is empty after each), sorted: every lifetime's start
    and end. Both, because the skeleton leaves out the lifetimes that nothing reads (it
    crosses an attack-free stretch to the restart in force at its end, ``skeleton.
    ServerRun._jump``): a token left in such a gap is gone at the next lifetime's start,
    which no lifetime before it ends at."""


def draw_server_reads(spec: SessionSpec, segments: Sequence[Segment],
                      lifetimes: Sequence[WorkerLifetime], workers: int, names: Sequence[str],
                      rng: np.random.Generator) -> list[WorkerReads]:
    """Every worker's reads of the token buffer (:func:`_worker_reads`), the attackers
    numbered as in ``names``: what the literal draw and :mod:`.token_copies` read the
    sessions against."""
    index = {n: i for i, n in enumerate(names)}
    by_worker: dict[int, list[WorkerLifetime]] = {}
    for lt in sorted(lifetimes, key=lambda lt: lt.start):
        by_worker.setdefault(lt.worker, []).append(lt)
    return [_worker_reads(spec, segments, by_worker.get(w, []), index, rng)
            for w in range(workers)]


def _worker_reads(
    spec: SessionSpec,
    segments: Sequence[Segment],
    lives: Sequence[WorkerLifetime],
    index: dict[str, int],
    rng: np.random.Generator,
) -> WorkerReads:
    """One worker's reads of the token buffer over its lifetimes ``lives``, drawn given the
    skeleton."""
    starts = [s.t0 for s in segments]
    parts: list[Reads] = []
    restarts: list[float] = []
    for lt in lives:
        if lt.end <= lt.start:
            continue
        reads = sample_reads(segments, starts, lt, token_capture, spec.lifetime, index, rng)
        parts += lifetime_reads(spec, segments, lt, reads, rng)
        restarts += (lt.start, lt.end)
    return worker_reads(spec.lifetime, parts, restarts)


def lifetime_reads(spec: SessionSpec, segments: Sequence[Segment], lt: WorkerLifetime,
                   reads: Reads, rng: np.random.Generator) -> list[Reads]:
    """One lifetime's reads of the token buffer as its copies meet them: the crash read moved
    just before the restart that empties the heap, and under ``next_handshake`` the
    legitimate handshakes, drawn here, as reads that only clear."""
    t = np.where(reads.t >= lt.end, np.nextafter(lt.end, -math.inf), reads.t)
    parts = [Reads(t, reads.who, reads.q, reads.clear)]
    if spec.lifetime == "next_handshake" and segments[0].handshakes > 0:
        k = int(rng.poisson(segments[0].handshakes * (lt.end - lt.start)))
        shakes = lt.start + (lt.end - lt.start) * rng.random(k)
        parts.append(Reads(shakes, np.full(k, -1), np.zeros(k), np.ones(k, dtype=bool)))
    return parts


def worker_reads(rule: ResidencySpec, parts: Sequence[Reads],
                 restarts: Sequence[float]) -> WorkerReads:
    """A worker's reads (of its lifetimes, begun and ended at ``restarts``) in time order, and
    its clears."""
    if parts:
        t = np.concatenate([p.t for p in parts])
        who = np.concatenate([p.who for p in parts])
        q = np.concatenate([p.q for p in parts])
        clear = np.concatenate([p.clear for p in parts])
    else:
        t, q, who, clear = np.zeros(0), np.zeros(0), np.zeros(0, int), np.zeros(0, bool)
    reading = ~clear & (q > 0.0)
    order = np.argsort(t[reading], kind="stable")
    ordered = np.sort(np.array(restarts, dtype=float))
    clears = np.sort(np.concatenate([t[clear], ordered])) if rule != "next_request" else ordered
    return WorkerReads(t[reading][order], who[reading][order], q[reading][order], clears, ordered)


@dataclass(slots=True)
class SessionDraw:
    """The sessions leaked and hijacked on one server in one replication, on any path."""

    total_leaked: int
    total_hijacked: int
    leaked_by_attacker: dict[str, int]
    hijacked_by_attacker: dict[str, int]
    reuses: list[SessionReuses]
    """One per malicious attempt (rule 9)."""
    hijacked_by_checks: tuple[int, ...] = ()
    """Hijacks had the server made only its first ``k`` binding checks, ``k = 0, 1, ...``
    (:func:`.binding.hijacked_by_checks`); empty where nothing could be tried, which counts
    as zeros."""


def simulate_sessions(
    spec: SessionSpec,
    segments: Sequence[Segment],
    lifetimes: Sequence[WorkerLifetime],
    workers: int,
    logins: float,
    horizon: float,
    attacker_sources: Mapping[str, int],
    rng: np.random.Generator,
    *,
    server: str,
    reusing: frozenset[str] | None = None,
) -> SessionDraw:
    """The sessions of one server that meet its attack, simulated literally given the reads.

    ``logins`` is per second on the whole server; the requests that are neither logins nor
    session requests (rule 18) are read from the segments."""
    names, malicious = attacker_names(segments)
    ws = draw_server_reads(spec, segments, lifetimes, workers, names, rng)
    all_reads = np.concatenate([w.read_t for w in ws])
    if all_reads.size == 0 or logins <= 0.0:
        return SessionDraw(0, 0, dict.fromkeys(names, 0), dict.fromkeys(names, 0), [])
    ttl, rho = spec.ttl, spec.requests_per_s
    # Sessions valid at some read opened in (first read - ttl, last read]; under next_request
    # those opened up to a ttl earlier still send requests that overwrite the buffer.
    back = 2.0 * ttl if spec.lifetime == "next_request" else ttl
    lo, hi = max(0.0, float(all_reads.min()) - back), float(all_reads.max())
    # Logins that open a session valid at some read; their requests and routing.
    n = int(rng.poisson(logins * (hi - lo)))
    login = np.sort(lo + (hi - lo) * rng.random(n))
    end = np.minimum(login + ttl, horizon)
    counts = rng.poisson(rho * np.maximum(end - login, 0.0))
    owner = np.repeat(np.arange(n), counts)
    req_t = login[owner] + (end - login)[owner] * rng.random(owner.size)
    req_w = rng.integers(workers, size=owner.size)
    login_w = rng.integers(workers, size=n)
    # first[s, a]: the first time attacker a captured session s while valid (inf: never).
    first = np.full((n, len(names)), math.inf)
    if spec.lifetime == "next_request":
        other = segments[0].requests - segments[0].logins - segments[0].session_requests
        _slot_captures(ws, login, login_w, owner, req_t, req_w, end, max(0.0, other), first, rng)
    else:
        copy_captures(spec, ws, owner, req_t, req_w, end, first, rng)
    return try_sessions(spec, first, victim_idle(spec, login, req_t, owner), names, malicious,
                        attacker_sources, rng, server=server, reusing=reusing)


Idle = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""Given sessions and attempt times, which victims made no request within the
``concurrent_window`` before the attempt (rule 21's ``concurrent`` check)."""


def victim_idle(spec: SessionSpec, login: np.ndarray, req_t: np.ndarray,
                owner: np.ndarray) -> Idle:
    """The ``concurrent`` check read from the victims' requests: ``login``, and ``req_t`` of
    session ``owner``."""
    return lambda sessions, t: (_last_request(sessions, t, login, req_t, owner)
                                <= t - spec.concurrent_window)


def never_idle(sessions: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The ``concurrent`` check where it is taken off the literal path: proven never to pass
    (:mod:`.concurrent_bound`)."""
    return np.zeros(sessions.size, dtype=bool)


def try_sessions(
    spec: SessionSpec,
    first: np.ndarray,
    idle: Idle,
    names: Sequence[str],
    malicious: frozenset[str],
    attacker_sources: Mapping[str, int],
    rng: np.random.Generator,
    *,
    server: str,
    reusing: frozenset[str] | None,
) -> SessionDraw:
    """Given ``first[s, a]``, the time attacker ``a`` first captured valid session ``s`` (inf:
    never), each malicious attacker that reuses sessions tries each one it captured then
    (rule 9), through the binding checks of rule 21, ``concurrent`` read through ``idle``."""
    index = {name: j for j, name in enumerate(names)}
    leaked = dict.fromkeys(names, 0)
    hijacked = dict.fromkeys(names, 0)
    n = first.shape[0]
    captured = np.isfinite(first)
    for name, j in index.items():
        leaked[name] = int(captured[:, j].sum())
    mal = [index[m] for m in sorted(malicious)]
    total = int(captured[:, mal].any(axis=1).sum()) if mal else 0
    best = np.full(n, -1, dtype=np.int64)
    checks = len(spec.binding)
    reuses: list[SessionReuses] = []
    # reuse (rule 9): only the attackers that reuse sessions (default: every malicious one) try.
    for name in sorted(malicious if reusing is None else malicious & reusing):
        j = index[name]
        tried = np.flatnonzero(captured[:, j])
        if tried.size == 0:
            continue
        t = first[tried, j]
        shared = rng.random(tried.size) < spec.shared_address_probability
        scored = checks_passed(spec, shared, rng, idle=lambda: idle(tried, t))
        passed = scored == checks
        source = rng.integers(attacker_sources[name], size=tried.size)
        hijacked[name] = int(passed.sum())
        best[tried] = np.maximum(best[tried], scored)
        by_time = np.argsort(t, kind="stable")
        reuses.append(SessionReuses(name, server, t[by_time], source[by_time],
                                    ~passed[by_time], shared[by_time]))
    return SessionDraw(total, int((best >= checks).sum()), leaked, hijacked, reuses,
                       hijacked_by_checks(best, checks))


def _last_request(sessions: np.ndarray, t: np.ndarray, login: np.ndarray,
                  req_t: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """Each session's latest request (its login included) before ``t`` (rule 21).

    ``owner`` is sorted (requests are generated session by session), so a session's requests
    are one block; sorted by time within it, the last one before ``t`` is one search away."""
    order = np.lexsort((req_t, owner))
    times, owners = req_t[order], owner[order]
    lo = np.searchsorted(owners, sessions, side="left")
    hi = np.searchsorted(owners, sessions, side="right")
    out = login[sessions].copy()
    for i, (a, b, ti) in enumerate(zip(lo, hi, t)):
        k = a + int(np.searchsorted(times[a:b], ti)) - 1
        if k >= a:
            out[i] = max(out[i], float(times[k]))
    return out


def _slot_captures(
    ws: Sequence[WorkerReads], login: np.ndarray, login_w: np.ndarray, owner: np.ndarray,
    req_t: np.ndarray, req_w: np.ndarray, end: np.ndarray, other: float,
    first: np.ndarray, rng: np.random.Generator,
) -> None:
    """``next_request``: at each read the buffer holds the newest request's token, if that
    request was a session request, no other request came since and no restart.

    The other requests are Poisson at ``other``: the slot of explicit request ``k`` is still
    clean at a read iff the first of them after it comes later, one exponential per request
    that any read follows. Drawn worker by worker, all reads at once."""
    for w, wk in enumerate(ws):
        if wk.read_t.size == 0:
            continue
        mine = req_w == w
        lw = login_w == w
        # The worker's explicit requests: session requests (owner >= 0) and logins (-1).
        times = np.concatenate([req_t[mine], login[lw]])
        whose = np.concatenate([owner[mine], np.full(int(lw.sum()), -1)])
        order = np.argsort(times, kind="stable")
        times, whose = times[order], whose[order]
        k = np.searchsorted(times, wk.read_t) - 1  # the newest explicit request at each read
        seen = k >= 0  # a read before the worker's first request finds nothing
        t, who, q, k = wk.read_t[seen], wk.read_who[seen], wk.read_q[seen], k[seen]
        after, newest = np.unique(k, return_inverse=True)
        overwritten = times[after] + (
            rng.exponential(1.0, after.size) / other if other > 0.0 else math.inf)
        # A session's index, or -1 for a login (each opens a session, so ``end`` has entries;
        # a login's slot is masked below whatever ``end[-1]`` says).
        s = whose[k]
        r = np.searchsorted(wk.restarts, times[k], side="right")
        restarted = np.append(wk.restarts, math.inf)[r] <= t
        holds = (t < overwritten[newest]) & (s >= 0) & (t < end[s]) & ~restarted
        hit = holds & (rng.random(t.size) < q)
        np.minimum.at(first, (s[hit], who[hit]), t[hit])


def copy_captures(
    spec: SessionSpec, ws: Sequence[WorkerReads], owner: np.ndarray, req_t: np.ndarray,
    req_w: np.ndarray, end: np.ndarray, first: np.ndarray, rng: np.random.Generator,
) -> None:
    """A duration or ``next_handshake``: every token copy stays until its own end (an
    exponential time, or the worker's next clear) and each read meanwhile takes it with its
    ``q``, while its session is valid. Drawn worker by worker, all copies at once."""
    mean = None if isinstance(spec.lifetime, str) else float(spec.lifetime)
    for w, wk in enumerate(ws):
        mine = np.flatnonzero(req_w == w)
        if wk.read_t.size == 0 or mine.size == 0:
            continue
        r, s = req_t[mine], owner[mine]
        c = np.searchsorted(wk.clears, r, side="right")
        gone = np.append(wk.clears, math.inf)[c]
        if mean is not None:
            gone = np.minimum(gone, r + rng.exponential(mean, size=r.size))
        stop = np.minimum(gone, end[s])
        a = np.searchsorted(wk.read_t, r)
        b = np.maximum(np.searchsorted(wk.read_t, stop), a)
        length = b - a
        total = int(length.sum())
        if total == 0:
            continue
        copy = np.repeat(np.arange(r.size), length)
        k = a[copy] + np.arange(total) - np.repeat(np.cumsum(length) - length, length)
        hit = rng.random(total) < wk.read_q[k]
        np.minimum.at(first, (s[copy[hit]], wk.read_who[k[hit]]), wk.read_t[k[hit]])
