"""``next_request`` slots at every candidate read, drawn with arrays from the server's logins.

The draw at the reads (:mod:`.session_reads`) finds the sessions a candidate read meets
lazily, one candidate at a time in Python (30 to 110 microseconds each), so it stops at
:data:`.session_reads.CANDIDATE_LIMIT`; past it the tokens took the integrated sweep (item 3
of ``docs/fast-engine.md``) and the passwords beside them the counting chain (items 12 and
14). A heavy reader sends up to a million candidates a day to one server. Below it, the
cheaper of the two draws is taken (:func:`draw_at_reads`).

Here the logins are drawn first, and then every candidate's *look* at once. Given the logins
(times and workers), each session's requests to a worker are a Poisson stream at ``own =
requests_per_s / W`` while it is valid (rule 4: each request to a uniform worker), independent
across sessions and workers, and the other requests (rule 18) Poisson at ``other`` per worker.
So on one worker the requests in disjoint stretches are independent given the logins, and a
candidate's look, the stretch back to the worker's previous candidate or to the restart that
began its lifetime, is drawn apart from every other look:

* the newest request in it is where the integrated rate ``other + own n(s)`` (``n(s)`` the
  sessions valid at ``s``, known from the logins) counted back from the candidate reaches an
  ``Exp(1)`` draw, sent by an other request with its share of that rate, else by a uniform
  session valid then; unless the newest login to that worker in the look is newer;
* a login leaves its password, a session request its token, another request nothing; a look
  with nothing in it leaves the slot as the worker's previous look left it, empty after a
  restart.

The candidate takes the slot's token, if its session is still valid, or its password, each
with its kind's share of the candidate's chance (one uniform, as in :mod:`.session_reads`).
So the slot at every candidate, and every count, joint and first-capture time drawn from it,
has its law given the skeleton, as on the draw at the reads, at a cost of arrays over the
candidates and the logins (:data:`LOOKS_LIMIT`).

Logins are drawn only where a look can meet their sessions (``(x - ttl, t]`` for a look ``(x,
t]``), each stretch of time once. A look that reaches back to its lifetime's start, hours
before, is first drawn over its last :data:`LOOK_REQUESTS` requests' worth of time and widened
only where nothing came there: the newest request of a later stretch is the newest of the
whole look, the stretches are disjoint, and so this is the same draw.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from sim.engines.fast.segments import Segment, WorkerLifetime, read_span
from sim.engines.fast.session_reads import (
    CANDIDATE_LIMIT,
    TOKEN,
    Capture,
    Pulls,
    ReadCaptures,
    candidate_work,
    found_at_reads,
    kind_columns,
    read_lifetimes,
    sorted_candidates,
)
from sim.model.attackers import longest_union, longest_window
from sim.scenario.model import Attacker, SessionSpec

#: Most expected candidate reads and logins per server and replication drawn here (each
#: costs about 150 bytes and 0.35 microseconds): past it the sweep and the chain, whose cost
#: grows with neither.
LOOKS_LIMIT = 1_500_000
#: Requests a worker is expected to receive over a look's first stretch.
LOOK_REQUESTS = 20.0
#: How much longer each next stretch of a look with nothing in it is.
WIDEN = 8.0
#: Seconds a candidate costs one look at a time, and a candidate or login costs the arrays,
#: with the arrays' cost per draw (measured on ``benchmarks/bench_heartbeats.py``'s server
#: and PSMail's, 2026-12-06): the dispatch takes the cheaper exact draw.
ONE_LOOK_COST = 1.1e-4
ARRAYS_COST = 3.5e-7
ARRAYS_CALL = 1e-3

def looks_bound(attackers: Sequence[Attacker], horizon: float, logins: float,
                ttl: float) -> float:
    """From the scenario alone, the most candidates and logins the arrays could draw on one
    server replication (``logins`` per second on it): every connection a candidate, the
    logins over the attackers' windows' union with a ``ttl`` before each attacker's run of it
    (at most one run an attacker, :func:`.segments.read_span`). ``check`` bounds the draws at
    the reads with it past :data:`.sessions.MAX_UNIONS` attackers."""
    reads = sum(a.connection_rate * longest_window(a, horizon) for a in attackers)
    return reads + logins * (longest_union(attackers, horizon) + len(attackers) * ttl)


DrawAtReads = Callable[..., ReadCaptures]
""":func:`.session_reads.found_at_reads` or :func:`looked_at_reads` (the same parameters)."""


def draw_at_reads(spec: SessionSpec, segments: Sequence[Segment], workers: int, logins: float,
                  only: frozenset[str] | None = None,
                  kinds: Sequence[Capture] = TOKEN) -> DrawAtReads | None:
    """The draw at the reads of the candidates of ``only`` (default every attacker; ``logins``
    per second on the whole server), whichever of the two exact draws is expected to cost
    less: one look at a time (:func:`.session_reads.found_at_reads`, at most
    :data:`.session_reads.CANDIDATE_LIMIT` candidates; its cost grows with the candidates
    alone, since it finds the sessions lazily) or with arrays (:func:`looked_at_reads`, at
    most :data:`LOOKS_LIMIT` candidates and logins; its cost grows with both, at a few
    thousandths of the other's per candidate); None where neither is taken (the sweep and
    the chain)."""
    work = candidate_work(spec.lifetime, segments, workers, only, kinds)
    arrays = work + logins * read_span(segments, spec.ttl, only)
    looks = work <= CANDIDATE_LIMIT
    if looks and work * ONE_LOOK_COST <= ARRAYS_CALL + arrays * ARRAYS_COST:
        return found_at_reads
    if arrays <= LOOKS_LIMIT:
        return looked_at_reads
    return found_at_reads if looks else None


class Looks:
    """Every candidate of one server, by worker and then time, and what its look found:
    ``kind`` 0 nothing, 1 another request, 2 a session request, 3 a login; ``login``, the
    session or login it found, an index into the logins drawn (every session is known by its
    login; -1: neither)."""

    NOTHING, OTHER, TOKEN, PASSWORD = 0, 1, 2, 3

    def __init__(self, t: np.ndarray, who: np.ndarray, worker: np.ndarray,
                 shares: np.ndarray | None, lo: np.ndarray, restarted: np.ndarray) -> None:
        self.t, self.who, self.worker, self.shares = t, who, worker, shares
        self.lo = lo
        """Where each look begins: the worker's previous candidate, or its lifetime's start."""
        self.restarted = restarted
        """Whether a restart, not a candidate, begins the look (the slot is empty there)."""
        self.begins = np.concatenate([[True], worker[1:] != worker[:-1]])[:t.size]
        """Where a worker's block begins."""
        self.kind = np.zeros(t.size, dtype=np.int8)
        self.login = np.full(t.size, -1, dtype=np.int64)
        self.found = np.full(t.size, -math.inf)
        """When the request the look found came (-inf: none): no request came after it, up
        to the candidate (:mod:`.slot_takes` reads that)."""

    def slot(self) -> tuple[np.ndarray, np.ndarray]:
        """What the slot holds at each candidate: the kind and login of the newest look that
        found something or began at a restart, among the worker's looks up to it."""
        sets = (self.kind != self.NOTHING) | self.restarted
        last = np.maximum.accumulate(np.where(sets, np.arange(self.t.size), -1))
        return self.kind[last], self.login[last]


class DrawnLogins:
    """The server's logins drawn so far (Poisson at ``rate`` on ``[0, horizon)``, each to a
    uniform worker), on the stretches asked for, each stretch drawn once."""

    def __init__(self, rate: float, workers: int, horizon: float,
                 rng: np.random.Generator) -> None:
        self.rate, self.workers, self.horizon, self.rng = rate, workers, horizon, rng
        self.t = np.zeros(0)
        self.at = np.zeros(0, dtype=np.int64)
        self._lo, self._hi = np.zeros(0), np.zeros(0)

    @classmethod
    def every(cls, t: np.ndarray, at: np.ndarray, workers: int, horizon: float,
              rng: np.random.Generator) -> DrawnLogins:
        """Every login of ``[0, horizon)`` known already (times in order, workers), as where
        the skeleton drew them (:mod:`.login_timeline`): nothing is left to draw."""
        drawn = cls(0.0, workers, horizon, rng)
        drawn.t, drawn.at = t, at.astype(np.int64)
        drawn._lo, drawn._hi = np.array([-1.0]), np.array([horizon + 1.0])
        return drawn

    def cover(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray | None:
        """Draw the logins of the stretches ``(lo_i, hi_i]`` not drawn yet; where any were,
        where each login drawn before now stands (logins are kept in time order)."""
        lo, hi = _union(np.clip(lo, 0.0, self.horizon), np.clip(hi, 0.0, self.horizon))
        points = np.unique(np.concatenate([lo, hi, self._lo, self._hi]))
        if points.size < 2:
            return None
        mid = 0.5 * (points[:-1] + points[1:])
        new = _inside(mid, lo, hi) & ~_inside(mid, self._lo, self._hi)
        start, length = points[:-1][new], np.diff(points)[new]
        k = self.rng.poisson(self.rate * length)
        piece = np.repeat(np.arange(start.size), k)
        t = start[piece] + length[piece] * self.rng.random(piece.size)
        at = self.rng.integers(self.workers, size=t.size)
        self._lo, self._hi = _union(np.concatenate([self._lo, lo]),
                                    np.concatenate([self._hi, hi]))
        if not t.size:
            return None
        before = self.t.size
        order = np.argsort(np.concatenate([self.t, t]), kind="stable")
        self.t = np.concatenate([self.t, t])[order]
        self.at = np.concatenate([self.at, at])[order]
        moved = np.empty(order.size, dtype=np.int64)
        moved[order] = np.arange(order.size)
        return moved[:before]

    def undrawn(self, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
        """The pieces of ``(lo, hi]`` (inside ``[0, horizon)``) whose logins were never drawn,
        as starts and lengths: given the looks, the logins there are still the Poisson
        stream, since no look read them."""
        lo, hi = max(lo, 0.0), min(hi, self.horizon)
        if hi <= lo:
            return np.zeros(0), np.zeros(0)
        inside = (self._hi > lo) & (self._lo < hi)
        points = np.unique(np.concatenate([[lo, hi], np.clip(self._lo[inside], lo, hi),
                                           np.clip(self._hi[inside], lo, hi)]))
        mid = 0.5 * (points[:-1] + points[1:])
        free = ~_inside(mid, self._lo, self._hi)
        return points[:-1][free], np.diff(points)[free]


def _merged_in_blocks(lo: np.ndarray, hi: np.ndarray,
                      block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stretches ``(lo_i, hi_i]`` that rise within each block (``block`` true where one
    begins), merged where they meet: a look's stretches follow its worker's candidates, so
    no sort is needed (a million looks, sorted, cost more than the rest of the draw)."""
    if not lo.size:
        return lo, hi
    begins = np.flatnonzero(block | np.concatenate([[True], lo[1:] > hi[:-1]]))
    ends = np.append(begins[1:], lo.size) - 1
    return lo[begins], hi[ends]


def _union(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The intervals ``(a_i, b_i]`` merged into disjoint ones, in order."""
    keep = b > a
    a, b = a[keep], b[keep]
    if not a.size:
        return a, b
    order = np.argsort(a, kind="stable")
    a, b = a[order], b[order]
    reach = np.maximum.accumulate(b)
    begins = np.flatnonzero(np.concatenate([[True], a[1:] > reach[:-1]]))
    return a[begins], np.maximum.reduceat(b, begins)


def _inside(x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Whether each ``x`` lies in one of the disjoint ordered intervals ``(lo_i, hi_i)``."""
    k = np.searchsorted(lo, x, side="right") - 1
    return (k >= 0) & (x < np.append(hi, -math.inf)[k])


class _Rate:
    """The integrated rate ``Phi`` of a worker's requests other than logins, ``other + own
    n(s)``, where ``n(s)`` counts the drawn sessions valid at ``s``: exact wherever every login
    of the ``ttl`` before ``s`` is drawn. Piecewise linear between the logins and the ends of
    their sessions (the *breaks*)."""

    def __init__(self, login: np.ndarray, ttl: float, own: float, other: float) -> None:
        # a first break where Phi is 0 (the first login's time), other * s before it
        first = login[:1] if login.size else np.zeros(1)
        b = np.concatenate([first, login, login + ttl])
        order = np.argsort(b, kind="stable")
        self.b = b[order]
        step = np.concatenate([[0], np.ones(login.size, np.int64),
                               -np.ones(login.size, np.int64)])[order]
        self.valid = np.cumsum(step)
        """Sessions valid after each break, until the next."""
        self.logged = np.cumsum(step > 0)
        """Logins at or before each break."""
        self.slope = other + own * self.valid
        self.other = other
        self.phi = np.concatenate([[0.0], np.cumsum(self.slope[:-1] * np.diff(self.b))])
        self._base = self.phi - self.slope * self.b  # Phi(s) = base + slope s on each piece

    def at(self, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``Phi(s)``, and the break before each ``s``."""
        k = np.maximum(np.searchsorted(self.b, s, side="right") - 1, 0)
        return self._base[k] + self.slope[k] * s, k

    def inverse(self, y: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The ``s`` with ``Phi(s) = y``, where ``Phi`` rises there, and the break before it,
        searched for only where it is not ``k``'s (a look's end's, where most looks end)."""
        k = k.copy()
        elsewhere = np.flatnonzero(y <= self.phi[k])
        k[elsewhere] = np.maximum(np.searchsorted(self.phi, y[elsewhere], side="left") - 1, 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.b[k] + (y - self.phi[k]) / self.slope[k], k


def looked_at_reads(
    spec: SessionSpec,
    segments: Sequence[Segment],
    lifetimes: Sequence[WorkerLifetime],
    workers: int,
    logins: float,
    horizon: float,
    names: Sequence[str],
    rng: np.random.Generator,
    kinds: Sequence[Capture] = TOKEN,
) -> ReadCaptures:
    """:func:`.session_reads.found_at_reads`, with every look drawn at once (module
    docstring)."""
    looks = _candidates(spec, segments, lifetimes, names, rng, kinds)
    if looks is None:
        return ReadCaptures(np.zeros((0, len(names))), *_no_passwords())
    drawn = draw_looks(spec, segments, looks, workers, logins, horizon, rng)
    return slot_captures(spec, looks, drawn, len(names), kinds, rng)


def draw_looks(spec: SessionSpec, segments: Sequence[Segment], looks: Looks, workers: int,
               logins: float, horizon: float, rng: np.random.Generator,
               drawn: DrawnLogins | None = None) -> DrawnLogins:
    """Draw what every look of ``looks`` finds into it, and return the logins drawn for
    that: every one of the stretches a look can meet, the others left undrawn (module
    docstring); or those of ``drawn`` where every login is known already
    (:meth:`DrawnLogins.every`)."""
    seg = segments[0]
    own = spec.requests_per_s / workers
    other = max(0.0, seg.requests - seg.session_requests - seg.logins)  # neither kind (rule 18)
    if drawn is None:
        drawn = DrawnLogins(logins, workers, horizon, rng)
    span = LOOK_REQUESTS / seg.requests
    # Every look's last stretch first, a worker at a time (arrays a cache holds: a million
    # looks at once spent more on memory than on arithmetic), then the stretches before
    # those where nothing came, all at once (few).
    lo = np.maximum(looks.lo, looks.t - span)
    drawn.cover(*_merged_in_blocks(lo - spec.ttl, looks.t, looks.begins))
    rate = _Rate(drawn.t, spec.ttl, own, other)
    edges = np.append(np.flatnonzero(looks.begins), looks.t.size)
    found = np.concatenate([np.zeros(0, dtype=bool), *(
        _newest(looks, slice(a, b), lo[a:b], looks.t[a:b], drawn, rate, rng)
        for a, b in zip(edges[:-1], edges[1:]))])
    pending = np.flatnonzero(~found & (lo > looks.lo))
    top = lo  # where each pending look's stretch still to draw ends
    while pending.size:
        span *= WIDEN
        hi = top[pending]
        lo = np.maximum(looks.lo[pending], hi - span)
        worker = looks.worker[pending]
        begins = np.concatenate([[True], worker[1:] != worker[:-1]])
        moved = drawn.cover(*_merged_in_blocks(lo - spec.ttl, hi, begins))
        if moved is not None:  # the logins found by earlier stretches, renumbered
            known = looks.login >= 0
            looks.login[known] = moved[looks.login[known]]
            rate = _Rate(drawn.t, spec.ttl, own, other)
        found = _newest(looks, pending, lo, hi, drawn, rate, rng)
        widen = ~found & (lo > looks.lo[pending])
        top[pending[widen]] = lo[widen]
        pending = pending[widen]
    return drawn


def slot_captures(spec: SessionSpec, looks: Looks, drawn: DrawnLogins, attackers: int,
                  kinds: Sequence[Capture], rng: np.random.Generator) -> ReadCaptures:
    """What the candidates of ``looks``, drawn (:func:`draw_looks`), take from the slot: the
    token of a session still valid or a login's password, each with its kind's share of the
    candidate's chance."""
    kind, login = looks.slot()
    token_at, password_at = kind_columns(kinds)
    token = (kind == Looks.TOKEN) & (token_at is not None)
    token[token] = looks.t[token] < drawn.t[login[token]] + spec.ttl  # still valid
    password = (kind == Looks.PASSWORD) & (password_at is not None)
    if looks.shares is not None:  # one uniform decides which kind a candidate takes
        draw = rng.random(looks.t.size)
        if token_at is not None:
            token &= draw < looks.shares[:, token_at]
        if password_at is not None:
            password &= draw < looks.shares[:, password_at]
    # the sessions taken (and the logins whose passwords were), numbered in login order
    used = np.zeros(drawn.t.size, dtype=bool)
    used[login[token]] = True
    used[login[password]] = True
    row = np.cumsum(used) - 1
    first = np.full((int(used.sum()), attackers), math.inf)
    np.minimum.at(first, (row[login[token]], looks.who[token]), looks.t[token])
    return ReadCaptures(first, row[login[password]], looks.who[password], looks.t[password])


def _no_passwords() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0)


def _candidates(spec: SessionSpec, segments: Sequence[Segment],
                lifetimes: Sequence[WorkerLifetime], names: Sequence[str],
                rng: np.random.Generator, kinds: Sequence[Capture]) -> Looks | None:
    """Every worker's candidates (:func:`.session_reads.sorted_candidates`), and where
    each look begins."""
    index = {n: i for i, n in enumerate(names)}
    by_worker = read_lifetimes(segments, lifetimes, index)
    if not by_worker:
        return None
    pulls: Pulls = {}
    return looks_at({w: (lives, *sorted_candidates(segments, lives, index, spec.lifetime, kinds,
                                                   pulls, rng))
                     for w, lives in by_worker.items()}, len(kinds))


WorkerCandidates = tuple[list[WorkerLifetime], np.ndarray, np.ndarray, np.ndarray | None]
"""One worker's lifetimes that can hold a candidate, in time order, and its candidates over
them in time order: times, attacker indices and kind shares (None: every one 1)."""


def looks_at(by_worker: dict[int, WorkerCandidates], kinds: int) -> Looks:
    """Every worker's candidates as looks, each beginning at the worker's previous candidate
    or at the restart that began its lifetime, whichever is later."""
    parts = []
    for w, (lives, t, who, shares) in by_worker.items():
        restarts = np.array(sorted({x for lt in lives for x in (lt.start, lt.end)}))
        start = restarts[np.maximum(np.searchsorted(restarts, t, side="right") - 1, 0)]
        previous = np.concatenate([[-math.inf], t[:-1]])
        parts.append((t, who, np.full(t.size, w), shares, np.maximum(previous, start),
                      start > previous))
    thinned = any(part[3] is not None for part in parts)
    t, who, worker, lo, restarted = (np.concatenate([p[i] for p in parts]) for i in (0, 1, 2, 4, 5))
    shares = (np.concatenate([p[3] if p[3] is not None else np.ones((p[0].size, kinds))
                              for p in parts]) if thinned else None)
    return Looks(t, who, worker, shares, lo, restarted)


def _newest(looks: Looks, where: slice | np.ndarray, lo: np.ndarray, hi: np.ndarray,
            drawn: DrawnLogins, rate: _Rate, rng: np.random.Generator) -> np.ndarray:
    """Draw the newest request of the stretch ``(lo, hi]`` of each look ``where`` (one
    worker's block, or looks in worker and time order) into ``looks``; whether one came.
    Every login of ``(lo - ttl, hi]`` is drawn, and ``rate`` made from them."""
    at_hi, k_hi = rate.at(hi)
    # a look that begins at the candidate before it (the usual case): Phi is known there
    follows = lo[1:] == hi[:-1]
    if isinstance(where, np.ndarray):
        follows &= where[1:] == where[:-1] + 1
    follows = np.concatenate([[False], follows])
    at_lo = np.roll(at_hi, 1)
    at_lo[~follows] = rate.at(lo[~follows])[0]
    y = at_hi - rng.exponential(size=hi.size)
    came = np.flatnonzero(y > at_lo)
    s = np.full(hi.size, -math.inf)
    s[came], k = rate.inverse(y[came], k_hi[came])
    # whose: an other request with its share of the rate, else a uniform session valid then,
    # one of the ``valid`` latest logins by then (every session lasts ``ttl``)
    valid = rate.valid[k]
    mine = (valid > 0) & (rng.random(came.size) * rate.slope[k] >= rate.other)
    pick = rate.logged[k[mine]] - 1 - (rng.random(int(mine.sum())) * valid[mine]).astype(np.int64)
    kind = np.zeros(hi.size, dtype=np.int8)
    kind[came] = Looks.OTHER
    kind[came[mine]] = Looks.TOKEN
    login = np.full(hi.size, -1, dtype=np.int64)
    login[came[mine]] = pick
    # the newest login to the look's worker, if newer
    workers = looks.worker[where]
    edges = np.flatnonzero(np.concatenate([[True], workers[1:] != workers[:-1], [True]]))
    for a, b in zip(edges[:-1], edges[1:]):
        mine_i = np.flatnonzero(drawn.at == workers[a])
        if not mine_i.size:
            continue
        j = np.searchsorted(drawn.t[mine_i], hi[a:b], side="right") - 1
        newest = np.where(j >= 0, drawn.t[mine_i[np.maximum(j, 0)]], -math.inf)
        newer = np.flatnonzero((newest > lo[a:b]) & (newest > s[a:b]))
        kind[newer + a] = Looks.PASSWORD
        login[newer + a] = mine_i[j[newer]]
        s[newer + a] = newest[newer]
    looks.kind[where] = kind
    looks.login[where] = login
    looks.found[where] = s
    return kind != Looks.NOTHING
