"""Sessions whose token copies outlive the next request, counted exactly given the reads.

For tokens resident for a duration or until the next key operation, on servers whose attack is
too heavy for the literal draw of every session and request (:mod:`.session_literal`). The
reads of each worker's token buffer are drawn as the literal draw draws them
(:func:`.session_literal.draw_server_reads`: the attackers' ordinary connections, those the
skeleton fixed, and under ``next_handshake`` the legitimate handshakes as clears). Given them,
the sessions are independent: one opened at ``u`` and valid on ``[u, e)`` sends Poisson
requests to each worker at ``own = requests_per_s / W``, each request leaves a copy with its
own residency (exponential with rate ``delta = 1 / lifetime``; ``delta = 0`` under
``next_handshake``, whose copies end at the worker's next clear), and each read takes each
resident copy of a valid session with its own chance. Logins are Poisson, so the sessions
captured by exactly each set of attackers are independent Poisson counts (marking); drawing
each login's class with that login's chances has the literal draw's law, without drawing a
request or a copy. What the Poisson sweep of the integrated path cannot see, the reads a
session's copies share (items 3 and 4 of ``docs/fast-engine.md``), is here in the chances.
Drawing a class per login costs time in the logins; where they are many, :mod:`.token_means`
integrates the same chances over the login times in closed form instead (the classes'
Poisson means, the same law), whichever is expected to cost less.

On one worker, for a counting set (``q_k`` the chance of read ``k`` at ``t_k`` if its attacker
counts, else 0), a copy placed at ``t`` in a block between clears is taken with chance
``pi(t; e) = sum over reads k of the block in [t, e) of q_k s(t, t_k)``, where
``s(t, t_k) = exp(-delta (t_k - t)) prod over reads j in [t, t_k) of (1 - q_j)``, and the
session escapes the worker with chance ``exp(-X)``, ``X = own int_u^e pi(t; e) dt`` (the
generating functional of its Poisson requests). Summing over reads first,

    X = own (sum over reads k in [u, e) of q_k B_k  -  B(u) S(u)),

with ``B_k`` read ``k``'s exposure (``int`` from its block's start to ``t_k`` of
``s(t, t_k) dt``), ``B(u)`` the same for a point at ``u``, and ``S(u)``, the sum over the reads
of ``u``'s block in ``[u, e)`` of ``q_k s(u, t_k)``, weighing the part of those exposures before
``u``, which the session's requests cannot fill. ``B`` follows ``B_k = l g1(delta l) +
exp(-delta l) (1 - q_(k-1)) B_(k-1)`` (``l`` the gap to the previous read or the block's
start) and ``F_k = q_k + (1 - q_k) exp(-delta l_(k+1)) F_(k+1)`` gives ``S`` (one ``F`` less
the part past ``e``); both recurrences are solved by a scan, so a login costs a few searches
per worker.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from sim.engines.fast.decay import g1
from sim.engines.fast.reads import attacker_names
from sim.engines.fast.request_shares import RequestShares
from sim.engines.fast.segments import (
    Segment,
    WorkerLifetime,
    expected_connections,
    read_span,
)
from sim.engines.fast.session_cuts import (
    Class,
    Until,
    class_chances,
    timed_set_count,
    timed_sets,
)
from sim.engines.fast.session_literal import WorkerReads, draw_server_reads
from sim.scenario.model import SessionSpec

#: Logins whose chances are computed together (memory: a few arrays of this many rows per
#: counting set and class).
CHUNK = 8_192
#: Most numbers in one of those arrays (logins times counting sets or classes, whichever are
#: more): past 512 sets or classes (ten or more malicious attackers) a chunk of logins is cut
#: smaller. With twelve, 8,192 logins times 4,096 unions, and the counted parts times them
#: (:meth:`.request_shares.RequestShares.pieces`' ``columns``), had reached 4.5 GB in one
#: replication.
CELLS = 2**22


def read_work(spec: SessionSpec, segments: Sequence[Segment], workers: int,
              logins: float) -> tuple[float, float]:
    """Expected reads of one server replication's token buffers, with the handshakes that
    clear them under ``next_handshake``, and the logins that can meet them once per worker
    (``logins`` per second on the server; both within the span the logins can meet a read):
    what every count of the copies given the reads costs."""
    span = read_span(segments, spec.ttl)
    reads = expected_connections(segments, workers)
    if spec.lifetime == "next_handshake" and segments:
        reads += workers * segments[0].handshakes * span
    return reads, logins * span * workers


def scan(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``y`` with ``y_k = a_k y_(k-1) + b_k`` and ``y_(-1) = 0`` along the first axis, in
    ``log2(n)`` passes (a parallel prefix scan): each pass composes every element with the one
    ``shift`` before it. The ``a`` here lie in ``[0, 1]``, so products only underflow to 0,
    which is their value."""
    a, b = a.copy(), b.copy()
    shift = 1
    while shift < a.shape[0] and a[shift:].any():
        b[shift:] = b[shift:] + a[shift:] * b[:-shift]
        a[shift:] = a[shift:] * a[:-shift]
        shift *= 2
    return b


@dataclass(frozen=True, slots=True)
class WorkerSums:
    """One worker's reads with the sums a login's chance reads off them (per counting set)."""

    t: np.ndarray
    block: np.ndarray
    """Per read, how many clears came at or before it: reads with the same value share a block."""
    clears: np.ndarray
    bounds: np.ndarray
    """0, the clears, inf: block ``j`` runs from ``bounds[j]`` to ``bounds[j + 1]``."""
    q: np.ndarray
    """Reads x sets: each read's chance to take a resident copy, 0 where its attacker does not
    count (or counts only before an instant the read is past)."""
    exposure: np.ndarray
    """``B_k``, reads x sets."""
    ahead: np.ndarray
    """``F_k``, reads x sets."""
    taken: np.ndarray
    """``sum over reads before k of q B``, (reads + 1) x sets."""
    kept: np.ndarray
    """``sum over reads before k of log(1 - q)``, (reads + 1) x sets."""
    next_block: np.ndarray
    """Per read, the first read of a later block (``reads`` where none)."""


def prepare(wk: WorkerReads, q: np.ndarray, delta: float) -> WorkerSums:
    """``wk`` with the sums of :class:`WorkerSums` for each counting set (``q``: reads x sets)."""
    t, n = wk.read_t, wk.read_t.size
    block = np.searchsorted(wk.clears, t, side="right")
    bounds = np.concatenate([[0.0], wk.clears, [math.inf]])
    same_prev = np.zeros(n, dtype=bool)
    same_prev[1:] = block[1:] == block[:-1]
    gap = t - np.where(same_prev, np.concatenate([[0.0], t[:-1]]), bounds[block])
    decay = np.exp(-delta * gap)
    miss = 1.0 - q
    a = np.zeros_like(q)
    a[1:] = (same_prev[1:] * decay[1:])[:, None] * miss[:-1]
    fill = np.broadcast_to((gap * g1(delta * gap))[:, None], q.shape)
    exposure = scan(a, fill)
    c = np.zeros_like(q)
    c[:-1] = (same_prev[1:] * decay[1:])[:, None] * miss[:-1]
    ahead = scan(c[::-1], q[::-1])[::-1]
    taken = np.vstack([np.zeros((1, q.shape[1])), np.cumsum(q * exposure, axis=0)])
    logs = np.log(np.maximum(miss, np.finfo(float).tiny))
    kept = np.vstack([np.zeros((1, q.shape[1])), np.cumsum(logs, axis=0)])
    next_block = np.searchsorted(t, bounds[block + 1], side="left")
    return WorkerSums(t, block, wk.clears, bounds, q, exposure, ahead, taken, kept, next_block)


class LoginTerms(NamedTuple):
    """What a session valid on ``[u, e)`` reads off one worker's sums (logins x sets where
    two-dimensional): ``X / own = taken - B(u) S(u)``, ``B(u) = (u - p) g1(delta (u - p)) +
    carry exp(-delta (u - p))`` and ``S(u) = exp(-delta (first - u)) ahead``."""

    taken: np.ndarray
    """``sum of q_k B_k`` over the reads in ``[u, e)``."""
    p: np.ndarray
    """The previous read of ``u``'s block, or the block's start."""
    carry: np.ndarray
    """That read's exposure left after it, ``(1 - q) B`` (0 at a block's start)."""
    first: np.ndarray
    """The first read at or after ``u`` (``u`` where none of its block is before ``e``)."""
    ahead: np.ndarray
    """Its ``F`` less the part past ``e`` (0 where none)."""


def login_terms(w: WorkerSums, u: np.ndarray, e: np.ndarray, delta: float) -> LoginTerms:
    """:class:`LoginTerms` of sessions valid on ``[u_i, e_i)`` on this worker (some reads)."""
    n = w.t.size
    k0 = np.searchsorted(w.t, u, side="left")
    ke = np.searchsorted(w.t, e, side="left")
    bu = np.searchsorted(w.clears, u, side="right")
    prev = np.maximum(k0 - 1, 0)
    same = (k0 > 0) & (w.block[prev] == bu)
    p = np.where(same, w.t[prev], w.bounds[bu])
    carry = np.where(same[:, None], (1.0 - w.q[prev]) * w.exposure[prev], 0.0)
    # S(u): u's block's reads in [u, e), from the first
    first = np.minimum(k0, n - 1)
    has = (k0 < n) & (w.block[first] == bu) & (w.t[first] < e)
    k1 = np.searchsorted(w.t, np.minimum(e, w.bounds[bu + 1]), side="left")
    ahead = np.where(has[:, None], ahead_until(w, first, k1, bu, delta), 0.0)
    return LoginTerms(w.taken[ke] - w.taken[k0], p, carry, np.where(has, w.t[first], u), ahead)


def ahead_until(w: WorkerSums, m: np.ndarray, k1: np.ndarray, block: np.ndarray,
                delta: float) -> np.ndarray:
    """The chance that one of reads ``m .. k1 - 1`` takes a copy resident and untaken just
    before read ``m`` (per counting set): ``F_m`` less what read ``k1`` on would add, where
    ``k1`` (the first read past a session's end, or past the block) is still in ``block``."""
    n = w.t.size
    last = np.minimum(k1, n - 1)
    on = (k1 < n) & (w.block[last] == block)
    through = np.exp(w.kept[last] - w.kept[m] - (delta * (w.t[last] - w.t[m]))[:, None])
    return w.ahead[m] - np.where(on[:, None], through * w.ahead[last], 0.0)


def point_exposure(gap: np.ndarray, carry: np.ndarray, delta: float) -> np.ndarray:
    """``B`` at a point ``gap`` after the previous read of its block (or the block's start),
    ``carry`` that read's exposure left after it: how long a copy placed in the block so far
    is expected to have stayed, ``gap g1(delta gap) + carry exp(-delta gap)``."""
    return gap * g1(delta * gap) + np.exp(-delta * gap) * carry


def exponent(w: WorkerSums, u: np.ndarray, e: np.ndarray, delta: float) -> np.ndarray:
    """``X / own`` of sessions valid on ``[u_i, e_i)`` on this worker (logins x sets)."""
    if w.t.size == 0:
        return np.zeros((u.size, w.q.shape[1]))
    terms = login_terms(w, u, e, delta)
    before = point_exposure((u - terms.p)[:, None], terms.carry, delta)
    reach = np.exp(-delta * (terms.first - u))[:, None]
    return np.maximum(terms.taken - before * reach * terms.ahead, 0.0)


def set_chances(wk: WorkerReads, names: Sequence[str], sets: Sequence[frozenset[str]],
                until: Sequence[Until]) -> np.ndarray:
    """Reads x sets: a read's chance where its attacker counts in the set at its time."""
    member = np.array([[n in s for s in sets] for n in names], dtype=bool).reshape(
        len(names), len(sets))
    instant = np.array([[limit.get(n, math.inf) for limit in until] for n in names]).reshape(
        len(names), len(sets))
    who = wk.read_who
    return np.where(member[who] & (wk.read_t[:, None] < instant[who]), wk.read_q[:, None], 0.0)


def drawn_sums(spec: SessionSpec, segments: Sequence[Segment],
               lifetimes: Sequence[WorkerLifetime], workers: int, names: Sequence[str],
               sets: Sequence[frozenset[str]], until: Sequence[Until],
               rng: np.random.Generator) -> list[tuple[WorkerReads, WorkerSums]]:
    """Every worker's reads of the token buffer, freshly drawn
    (:func:`.session_literal.draw_server_reads`), with their sums per counting set; the
    workers nothing reads are left out."""
    delta = residency_rate(spec)
    return [(wk, prepare(wk, set_chances(wk, names, sets, until), delta))
            for wk in draw_server_reads(spec, segments, lifetimes, workers, names, rng)
            if wk.read_t.size]


def login_chances(prepared: Sequence[WorkerSums], delta: float, own: float, u: np.ndarray,
                  e: np.ndarray) -> np.ndarray:
    """Per counting set (rows) and login (columns), the chance that some read of the set takes
    a copy of the session valid on ``[u, e)``; ``own`` its requests per second to a worker."""
    x = np.zeros((u.size, prepared[0].q.shape[1] if prepared else 0))
    for worker in exponents(prepared, u, e, delta):
        x += worker
    return -np.expm1(-own * x).T


def exponents(prepared: Sequence[WorkerSums], u: np.ndarray, e: np.ndarray,
              delta: float) -> Iterator[np.ndarray]:
    """:func:`exponent` on each worker in turn for the sessions valid on ``[u_i, e_i)``, the
    logins looked up in time order (each one's value is its own, so the order changes no
    number): searching sorted reads for unsorted instants was most of the class per login's
    time and of the draw where copies are taken."""
    order = np.argsort(u, kind="stable")
    u, e = u[order], e[order]
    for w in prepared:
        out = np.empty((u.size, w.q.shape[1]))
        out[order] = exponent(w, u, e, delta)
        yield out


def draw_classes(
    spec: SessionSpec, segments: Sequence[Segment], lifetimes: Sequence[WorkerLifetime],
    workers: int, logins: float, horizon: float, sets: Sequence[frozenset[str]],
    until: Sequence[Until], timing: frozenset[str], cuts: int, rng: np.random.Generator,
) -> tuple[dict[Class, int], dict[str, int]]:
    """The sessions of one server captured by exactly each class of malicious attackers
    (:data:`.session_cuts.Class`: with ``cuts``, also the interval of each ``timing``
    attacker's first capture), and by each benign attacker, given freshly drawn reads.

    ``sets`` and ``until`` are the counting sets of :func:`.sessions.leak_means`: with
    ``cuts``, the timed sets of :func:`.session_cuts.timed_sets` (the empty one left out) then
    each benign attacker alone; without, each attacker alone and every union of malicious
    ones."""
    names, _ = attacker_names(segments)
    prepared = [s for _, s in drawn_sums(spec, segments, lifetimes, workers, names, sets,
                                         until, rng)]
    tally = ClassTally(spec, segments, prepared, workers, horizon, sets, timing, cuts)
    if not prepared or logins <= 0.0:
        return tally.counts, tally.benign
    lo, hi = meeting(np.sort(np.concatenate([w.t for w in prepared])), spec.ttl)
    for u in poisson_logins(lo, hi, logins, rng):
        tally.add(u, rng)
    return tally.counts, tally.benign


class ClassTally:
    """The sessions captured by each class of malicious attackers and by each benign one,
    counted login by login (:func:`draw_classes`; :mod:`.login_pairs` draws the logins with
    their passwords)."""

    def __init__(self, spec: SessionSpec, segments: Sequence[Segment],
                 prepared: Sequence[WorkerSums], workers: int, horizon: float,
                 sets: Sequence[frozenset[str]], timing: frozenset[str], cuts: int,
                 shares: Sequence[RequestShares | None] = ()) -> None:
        """``shares``: per worker of ``prepared``, the lifetimes whose legitimate requests
        were counted (:mod:`.request_shares`), or none (free Poisson streams)."""
        names, malicious = attacker_names(segments)
        self.members = sorted(malicious)
        self.prepared = prepared
        self.shares = list(shares) or [None] * len(prepared)
        self.delta = residency_rate(spec)
        self.own = spec.requests_per_s / workers
        self.ttl, self.horizon = spec.ttl, horizon
        self.timing, self.cuts = timing, cuts
        if cuts:
            self.rows = list(range(len(sets) - (len(names) - len(malicious))))
        else:  # every union, in the order of timed_sets without cuts
            self.rows = [list(sets).index(frozenset(t))
                         for t in timed_sets(self.members, frozenset(), ())[1:]]
        self.alone = {n: list(sets).index(frozenset({n})) for n in names if n not in malicious}
        self.counts: dict[Class, int] = {}
        self.benign = dict.fromkeys(self.alone, 0)
        classes = timed_set_count(len(self.members), len(timing & set(self.members)), cuts)
        self.width = max(len(sets), classes)
        """Numbers per login in the arrays of :meth:`add` (:data:`CELLS`)."""

    def add(self, u: np.ndarray, rng: np.random.Generator) -> None:
        """Count the sessions opened at ``u`` (a chunk of logins): one class drawn each, at
        most :data:`CELLS` numbers an array at a time."""
        step = max(1, CELLS // self.width)
        for start in range(0, u.size, step):
            self._add(u[start:start + step], rng)

    def _add(self, u: np.ndarray, rng: np.random.Generator) -> None:
        chance = self._chances(u, np.minimum(u + self.ttl, self.horizon), rng)
        union = np.vstack([np.zeros((1, u.size)), chance[self.rows]])
        classes, each = class_chances(union, self.members, self.timing, self.cuts)
        pick = (rng.random(u.size)[None, :] >= np.cumsum(each, axis=0)).sum(axis=0)
        for c, m in zip(classes, np.bincount(pick, minlength=len(classes) + 1)):
            self.counts[c] = self.counts.get(c, 0) + int(m)
        for name, row in self.alone.items():
            self.benign[name] += int((rng.random(u.size) < chance[row]).sum())

    def _chances(self, u: np.ndarray, e: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """:func:`login_chances`, but where a lifetime's legitimate requests were counted:
        there a session's requests number its share of the count (drawn, :mod:`.request_shares`)
        and, given it, each is uniform on the session's part, so the part lets a copy escape
        with chance ``(1 - x / o)^R`` (``x`` its ``X / own``, ``o`` its span, ``R`` the count)
        in place of ``exp(-own x)``."""
        if not any(self.shares):
            return login_chances(self.prepared, self.delta, self.own, u, e)
        log = np.zeros((u.size, self.prepared[0].q.shape[1]))
        for w, x, shares in zip(self.prepared, exponents(self.prepared, u, e, self.delta),
                                self.shares):
            log -= self.own * x
            if shares is None:
                continue
            for rows, lifetime, a, b in shares.pieces(u, e, read_only=True,
                                                      columns=log.shape[1]):
                if not rows.size:
                    continue
                part = exponent(w, a, b, self.delta)
                requests = shares.draw(lifetime, self.own * (b - a), rng)[:, None]
                taken = np.minimum(part / (b - a)[:, None], 1.0)
                with np.errstate(divide="ignore", invalid="ignore"):
                    kept = np.where(requests > 0, requests * np.log1p(-taken), 0.0)
                np.add.at(log, rows, self.own * part + kept)
        return -np.expm1(np.minimum(log, 0.0)).T


def meeting(t: np.ndarray, ttl: float) -> tuple[np.ndarray, np.ndarray]:
    """The logins whose sessions can meet a read at the sorted times ``t``, as disjoint
    intervals ``(lo, hi]``: the union of ``(t_k - ttl, t_k]`` (from 0, the cold start). The
    intervals share a length, so one meets the union so far iff it begins before the
    previous read."""
    begin = np.maximum(t - ttl, 0.0)
    new = np.concatenate([[True], begin[1:] > t[:-1]])
    ends = np.append(np.flatnonzero(new)[1:] - 1, t.size - 1)
    return begin[new], t[ends]


def poisson_logins(lo: np.ndarray, hi: np.ndarray, rate: float,
                   rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Logins at ``rate`` per second inside the disjoint intervals ``lo`` to ``hi``, in chunks of
    at most :data:`CHUNK`: their Poisson number over the intervals' total length, each
    uniform on it."""
    before = np.concatenate([[0.0], np.cumsum(hi - lo)])
    n = int(rng.poisson(rate * before[-1])) if lo.size else 0
    for start in range(0, n, CHUNK):
        at = before[-1] * rng.random(min(CHUNK, n - start))
        k = np.minimum(np.searchsorted(before, at, side="right") - 1, lo.size - 1)
        yield lo[k] + (at - before[k])


def residency_rate(spec: SessionSpec) -> float:
    """``delta``: 0 under ``next_handshake`` (a copy lasts until the next clear), else the
    inverse of the mean residency."""
    return 0.0 if spec.lifetime == "next_handshake" else 1.0 / float(spec.lifetime)
