"""Sessions under ``next_request``, drawn where the reads look: the slot at each capturing read.

Under ``next_request`` a worker's token buffer is a slot: it holds what the worker's newest
legitimate request left, a session's token if that was a session request, and a read whose
heartbeats reach it takes that token with its ``q``. The integrated path
(:mod:`.sessions`) gets each session's leak probability exactly but draws the counts as
Poisson (item 3 of ``docs/fast-engine.md``): here a read can take one token at most, two reads
close together find the same session, and a light reader's P(any session) came out 3 points
low on the agreement suite's ``heavy``. The literal path (:mod:`.session_literal`) draws every
session and request that meets the attack, which a busy server cannot afford.

This path draws only what the reads see. A read captures a token with its ``q`` independently
of the slot, so the reads that would capture (*candidates*: the ordinary connections at the
hazard ``beta = nu q``, the point reads kept with their ``q``) are drawn first, and the slot is
drawn at each candidate alone, in time order over all workers, given everything drawn before.
What has been drawn about the sessions is of two kinds:

* the *found* sessions, each with its login time and worker: from then on its requests to
  each worker are Poisson at ``own = requests_per_s / W`` while it is valid, whatever was
  seen of them before (independent increments);
* the *silences*: per look, a stretch in which every session not found then sent that worker
  nothing, neither a request nor its login. The sessions not found are the Poisson logins
  (``Lambda`` from the cold start on, each to a uniform worker) thinned by having kept every
  silence: by the marking theorem a Poisson process of intensity ``Lambda / W
  exp(-own S(u))`` over the logins ``(u, w)`` that fall in no silence of ``w``, ``S(u)`` the
  time the session's validity overlaps the silences of all workers.

At a candidate on worker ``w`` at ``t``, the newest request since the worker's previous look
(or its lifetime's start: the slot is empty after a restart) is the newest of three
independent kinds: the requests that are neither logins nor a session's (rule 18: Poisson),
the found sessions' (requests and logins, drawn from each one's law), and the sessions not
found yet's (drawn by thinning a Poisson proposal of their logins, :class:`_Unfound`). A
session request puts its token in the slot, a login or another request empties it, and if
none came the slot keeps what it held; a session not found that sent the newest is found.
Nothing older than the newest is drawn: that the sessions not found sent nothing after it is
the look's silence. The candidate takes the slot's token if its session is still valid.

So the sessions captured, by each attacker and by each set of them, their first-capture
times (when each attempt is made, rule 9) and everything drawn from those have their law
given the skeleton: the count is not taken to be Poisson (item 3), the other sessions'
number fluctuates as it does (item 6: the silences), and a login is its session's own first
request. The cost is the candidates, one step each in time order (tens of microseconds, the
found sessions' arrays growing with them), never the logins: the engine takes this path
while their expected number stays below :data:`CANDIDATE_LIMIT`, where drawing the sessions
literally would cost more than :data:`.session_literal.LITERAL_LIMIT`, and the same law drawn
with arrays (:mod:`.slot_looks`, which also uses this module's candidates, but draws the
logins) would cost more (:func:`.slot_looks.draw_at_reads`); past it, the arrays.

A login leaves its password in the same slot, so with ``next_request`` passwords beside the
tokens the same looks draw both kinds (:func:`found_at_reads`, :mod:`.buffer_reads`): the
candidates are then the reads at the larger of the two kinds' chances, each taking what the
slot holds with that kind's share of its chance. Beside tokens that outlive the next request
the same looks draw the passwords alone (:data:`PASSWORD`, :mod:`.password_reads`): a session
request empties the password slot whatever becomes of its token.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from sim.engines.fast.reads import (
    crash_capture,
    crossed,
    password_capture,
    point_reads,
    segment_hazards,
)
from sim.engines.fast.segments import AttackerRates, Segment, WorkerLifetime
from sim.engines.fast.session_literal import token_capture
from sim.scenario.model import ResidencySpec, SessionSpec

#: Most expected candidate reads per server and replication on this path.
CANDIDATE_LIMIT = 5_000
#: Candidates between two clear-outs of the found sessions no later look can meet.
FORGET_EVERY = 64
#: A slot holding neither a token nor a password (the sessions whose token, whose password).
_EMPTY = (-1, -1)


Capture = Callable[[AttackerRates], float]
"""One secret kind's per-heartbeat capture chance of an attacker
(:func:`.reads.segment_hazards`)."""
TOKEN: tuple[Capture, ...] = (token_capture,)
PASSWORD: tuple[Capture, ...] = (password_capture,)
BOTH: tuple[Capture, ...] = (token_capture, password_capture)
"""The kinds one slot can hold, in the order of the shares :func:`candidates` returns."""


def kind_columns(kinds: Sequence[Capture]) -> tuple[int | None, int | None]:
    """Where the token's and the password's shares sit among ``kinds``' (None: not taken)."""
    token = kinds.index(token_capture) if token_capture in kinds else None
    password = kinds.index(password_capture) if password_capture in kinds else None
    return token, password


def candidate_work(rule: ResidencySpec, segments: Sequence[Segment], workers: int,
                   only: frozenset[str] | None = None, kinds: Sequence[Capture] = TOKEN) -> float:
    """Expected candidate reads of one server's attack by the attackers of ``only`` (default
    all): the ordinary connections that would take a secret of the likeliest of ``kinds``
    resident by ``rule``, at the larger of the two key placements' hazards; the few point
    reads are left out."""
    total = 0.0
    for seg in segments:
        rates = [sum(beta for name, beta, _ in _pulls(seg, kinds, rule, reachable)
                     if only is None or name in only) for reachable in (False, True)]
        total += seg.duration * max(rates)
    return workers * total


def _pulls(seg: Segment, kinds: Sequence[Capture], rule: ResidencySpec,
           reachable: bool) -> list[tuple[str, float, tuple[float, ...]]]:
    """Per attacker of the segment's hazards: its candidates' rate (its ordinary connections
    at the largest of the kinds' chances ``q``) and each kind's share ``q / max q`` of them.
    Thinning a candidate by its kind's share keeps each kind's reads at its own ``q``."""
    out = []
    for hazards in zip(*(segment_hazards(seg, kind, rule, reachable) for kind in kinds)):
        top = max(h.q for h in hazards)
        shares = tuple(h.q / top if top > 0.0 else 0.0 for h in hazards)
        out.append((hazards[0].name, hazards[0].nu * top, shares))
    return out


Pulls = dict[tuple[int, bool], list[tuple[str, float, tuple[float, ...]]]]
""":func:`_pulls` of one server's segments, by the segment's ``id`` and key placement: a
server's lifetimes cross the same few segments again and again (daily restarts over months)."""


def candidates(
    segments: Sequence[Segment], lives: Sequence[WorkerLifetime], index: dict[str, int],
    rule: ResidencySpec, kinds: Sequence[Capture], pulls: Pulls, rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One worker's candidate reads over its lifetimes, unsorted: their times, attacker
    indices and each kind's share (:func:`_pulls`). Per stretch and attacker of ``index``,
    Poisson at the candidates' rate; the point reads each kept with its largest ``q`` (the
    crashing one just before the restart that ends its lifetime)."""
    starts = [s.t0 for s in segments]
    times: list[np.ndarray] = [np.zeros(0)]
    who: list[np.ndarray] = [np.zeros(0, dtype=np.int64)]
    shares: list[np.ndarray] = [np.zeros((0, len(kinds)))]
    for lt in lives:
        for a, b, kept in _stretches(segments, starts, lt, index, rule, kinds, pulls):
            for j, beta, share in kept:
                if k := int(rng.poisson(beta * (b - a))):
                    times.append(a + (b - a) * rng.random(k))
                    who.append(np.full(k, j, dtype=np.int64))
                    shares.append(np.tile(share, (k, 1)))
        if points := _kept_points(lt, segments, starts, index, rule, kinds, rng):
            times.append(np.array([x for x, _, _ in points]))
            who.append(np.array([j for _, j, _ in points], dtype=np.int64))
            shares.append(np.array([share for _, _, share in points]))
    return np.concatenate(times), np.concatenate(who), np.concatenate(shares)


def sorted_candidates(
    segments: Sequence[Segment], lives: Sequence[WorkerLifetime], index: dict[str, int],
    rule: ResidencySpec, kinds: Sequence[Capture], pulls: Pulls, rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """:func:`candidates` in time order, drawn so: per stretch, the candidates of every
    attacker of ``index`` at once (Poisson at their summed rate, their times the order
    statistics of uniforms from exponential spacings, each attacker's with its share of the
    rate), the point reads put in their places. A million candidates cost no sort. The
    shares are None where every one is 1 (a million rows of ones cost more than the rest)."""
    starts = [s.t0 for s in segments]
    times: list[np.ndarray] = [np.zeros(0)]
    who: list[np.ndarray] = [np.zeros(0, dtype=np.int64)]
    shares: list[tuple[np.ndarray, np.ndarray]] = []  # per stretch: its pulls' shares, picks
    points: list[tuple[float, int, tuple[float, ...]]] = []
    for lt in lives:
        for a, b, kept in _stretches(segments, starts, lt, index, rule, kinds, pulls):
            rate = sum(beta for _, beta, _ in kept)
            if not (k := int(rng.poisson(rate * (b - a)))):
                continue
            spacing = np.cumsum(rng.exponential(size=k + 1))
            times.append(a + (b - a) * spacing[:k] / spacing[k])
            pick = (np.searchsorted(np.cumsum([beta for _, beta, _ in kept]) / rate,
                                    rng.random(k)) if len(kept) > 1 else np.zeros(k, np.int64))
            pick = np.minimum(pick, len(kept) - 1)
            who.append(np.array([j for j, _, _ in kept], dtype=np.int64)[pick])
            shares.append((np.array([share for _, _, share in kept]), pick))
        points += _kept_points(lt, segments, starts, index, rule, kinds, rng)
    # the lifetimes follow one another, so the stretches' candidates are in order already
    at, by = np.concatenate(times), np.concatenate(who)
    thinned = (any((table < 1.0).any() for table, _ in shares)
               or any(min(sh) < 1.0 for _, _, sh in points))
    kind_shares = (np.concatenate([np.zeros((0, len(kinds))),
                                   *(table[pick] for table, pick in shares)])
                   if thinned else None)
    if points:
        points.sort(key=lambda p: p[0])
        slots = np.searchsorted(at, [x for x, _, _ in points], side="right")
        at = np.insert(at, slots, [x for x, _, _ in points])
        by = np.insert(by, slots, [j for _, j, _ in points])
        if kind_shares is not None:
            kind_shares = np.insert(kind_shares, slots, np.array([sh for _, _, sh in points]),
                                    axis=0)
    return at, by, kind_shares


def _stretches(
    segments: Sequence[Segment], starts: Sequence[float], lt: WorkerLifetime,
    index: dict[str, int], rule: ResidencySpec, kinds: Sequence[Capture], pulls: Pulls,
) -> list[tuple[float, float, list[tuple[int, float, tuple[float, ...]]]]]:
    """The lifetime's stretch in each segment it crosses, with the pulls of the attackers of
    ``index`` that read there (index, candidates' rate, kind shares; :func:`_pulls`)."""
    out = []
    for seg, a, b in crossed(segments, starts, lt):
        key = (id(seg), lt.key_reachable)
        if key not in pulls:
            pulls[key] = _pulls(seg, kinds, rule, lt.key_reachable)
        kept = [(index[name], beta, share) for name, beta, share in pulls[key]
                if name in index and beta > 0.0]
        if kept:
            out.append((a, b, kept))
    return out


def _kept_points(
    lt: WorkerLifetime, segments: Sequence[Segment], starts: Sequence[float],
    index: dict[str, int], rule: ResidencySpec, kinds: Sequence[Capture],
    rng: np.random.Generator,
) -> list[tuple[float, int, tuple[float, ...]]]:
    """The lifetime's point reads by attackers of ``index`` that would capture, each kept
    with its largest ``q`` (:func:`_point_reads`): time (the crashing one just before the
    restart that ends the lifetime), attacker index, kind shares."""
    return [(min(time, np.nextafter(lt.end, -math.inf)), index[name], share)
            for time, name, q, share in _point_reads(lt, segments, starts, rule, kinds)
            if name in index and q > 0.0 and rng.random() < q]


def _point_reads(lt: WorkerLifetime, segments: Sequence[Segment], starts: Sequence[float],
                 rule: ResidencySpec, kinds: Sequence[Capture],
                 ) -> list[tuple[float, str, float, tuple[float, ...]]]:
    """The lifetime's point reads and its crashing read (:func:`.reads.point_reads`,
    :func:`.reads.crash_capture`) that capture some kind: time, attacker, the largest ``q``
    and each kind's share of it. A kind a read cannot capture has no point read of its own."""
    chances: dict[tuple[float, str, int], list[float]] = {}
    for i, kind in enumerate(kinds):
        crash = crash_capture(lt, segments, starts, kind, rule)
        seen: dict[tuple[float, str], int] = {}
        for r in point_reads(lt, segments, starts, kind, rule) + ([crash] if crash else []):
            nth = seen[r.time, r.attacker] = seen.get((r.time, r.attacker), -1) + 1
            chances.setdefault((r.time, r.attacker, nth), [0.0] * len(kinds))[i] = r.q
    out = []
    for (time, name, _), qs in chances.items():
        top = max(qs)
        out.append((time, name, top, tuple(q / top if top > 0.0 else 0.0 for q in qs)))
    return out


class _Column:
    """A float column appended to one value at a time, read as an array (capacity doubles:
    a list turned into an array at every read cost most of a busy replication)."""

    def __init__(self) -> None:
        self._data = np.zeros(64)
        self.size = 0

    def append(self, x: float) -> None:
        if self.size == self._data.size:
            self._data = np.concatenate([self._data, np.zeros(self.size)])
        self._data[self.size] = x
        self.size += 1

    @property
    def values(self) -> np.ndarray:
        return self._data[: self.size]

    def keep(self, mask: np.ndarray) -> None:
        kept = self.values[mask]
        self._data[: kept.size] = kept
        self.size = kept.size


class _Found:
    """The sessions found so far: login time and worker, end of validity, and each
    attacker's first capture; those still able to send something a later look reaches kept
    apart as arrays."""

    def __init__(self, attackers: int) -> None:
        self.e: list[float] = []
        self.first: list[list[float]] = []
        self.attackers = attackers
        self._u, self._e, self._id, self._at = _Column(), _Column(), _Column(), _Column()
        self._latest_login = -math.inf

    def add(self, u: float, e: float, at: int) -> int:
        self.e.append(e)
        self.first.append([math.inf] * self.attackers)
        k = len(self.e) - 1
        for column, x in ((self._u, u), (self._e, e), (self._id, k), (self._at, at)):
            column.append(x)
        self._latest_login = max(self._latest_login, u)
        return k

    def forget_before(self, floor: float) -> None:
        """Drop the sessions whose validity ended by ``floor``, where every later look begins."""
        keep = self._e.values > floor
        for column in (self._u, self._e, self._id, self._at):
            column.keep(keep)

    def newest(self, lo: float, t: float, worker: int, own: float,
               rng: np.random.Generator) -> tuple[float, int, bool] | None:
        """The newest request to ``worker`` in ``(lo, t]`` among the found sessions' own
        (Poisson at ``own`` each while valid) and their logins, whose, and whether it was the
        login (which leaves its password, no token); None if none came."""
        if not self._id.size:
            return None
        request = self._newest_request(lo, t, own, rng)
        if self._latest_login <= lo:  # the usual case: every login is older than the look
            return request
        u = self._u.values
        logged = np.flatnonzero((self._at.values == worker) & (u > lo) & (u <= t))
        if logged.size:
            last = logged[int(np.argmax(u[logged]))]
            if request is None or u[last] > request[0]:
                return float(u[last]), int(self._id.values[last]), True
        return request

    def _newest_request(self, lo: float, t: float, own: float,
                        rng: np.random.Generator) -> tuple[float, int, bool] | None:
        """Going back from ``t`` the request streams' superposition has rate ``own`` times the
        sessions valid, so the newest is where that integrated rate reaches an ``Exp(1)``
        draw, sent by one of the sessions valid there with equal chances. None where that
        rate is 0 (a ``requests_per_s`` so small that its share per worker underflows)."""
        if own <= 0.0:
            return None
        budget = rng.exponential() / own
        if budget >= self._id.size * (t - lo):  # beyond every session's whole look: none
            return None
        a = np.maximum(self._u.values, lo)
        b = np.minimum(self._e.values, t)
        live = b > a
        if budget >= float((b - a)[live].sum()):
            return None
        a, b, ids = a[live], b[live], self._id.values[live]
        # back(x) = sum_k |(x, t] cap (a_k, b_k]|, decreasing in x, at every breakpoint
        a_sorted, b_sorted = np.sort(a), np.sort(b)
        a_tail = np.concatenate([np.cumsum(a_sorted[::-1])[::-1], [0.0]])
        b_tail = np.concatenate([np.cumsum(b_sorted[::-1])[::-1], [0.0]])

        def back(x: np.ndarray) -> np.ndarray:
            i, j = np.searchsorted(b_sorted, x, "right"), np.searchsorted(a_sorted, x, "right")
            return (b_tail[i] - x * (b.size - i)) - (a_tail[j] - x * (a.size - j))

        points = np.unique(np.concatenate([a, b]))
        above = back(points)
        k = int(np.searchsorted(-above, -budget, "left"))  # first breakpoint with back <= budget
        hi, low = points[k], points[k - 1]
        x = hi - (budget - above[k]) / (above[k - 1] - above[k]) * (hi - low)
        valid = np.flatnonzero((a < x) & (b >= x))
        return float(x), int(ids[valid[int(rng.integers(valid.size))]]), False


class _Unfound:
    """The sessions not found yet, each with its login time ``u >= 0`` and login worker: by
    Poisson thinning, Poisson with intensity ``Lambda / W exp(-own S(u))`` on the pairs whose
    login falls in no silence of its worker, where the *silences* are the stretches in which
    every session not found then is known to have sent a worker nothing (no request, no login)
    and ``S(u)`` is how long a session's validity overlaps them, summed over workers."""

    def __init__(self, logins: float, workers: int, own: float, ttl: float,
                 horizon: float) -> None:
        self.logins, self.workers, self.own = logins, workers, own
        self.ttl, self.horizon = ttl, horizon
        self.a, self.b, self.at = _Column(), _Column(), _Column()
        """Silences and their workers, by their ends (each ends at the candidate that saw
        it: in time order)."""

    def newest(self, lo: float, t: float, worker: int,
               rng: np.random.Generator) -> tuple[float, float, int, bool] | None:
        """The newest request or login on ``worker`` in ``(lo, t]`` among the sessions not
        found: its time, the session's login time and worker, and whether it was the login;
        None if none came. What it learns is kept: the stretch after that newest (all of
        ``(lo, t]`` if none came) becomes a silence of ``worker``.

        Drawn stretch by stretch back from ``t``, each short enough for about one proposal:
        that none came in the later stretches is a silence the earlier ones are drawn under,
        so this is the draw over ``(lo, t]`` at once, stopped at the first stretch with one (a
        look can reach back hours where nothing else is requested, through thousands of
        logins a second)."""
        step = 1.0 / (self.logins * (1.0 + self.own * self.ttl)) if self.logins > 0 else math.inf
        self.a.append(t)
        self.b.append(t)
        self.at.append(worker)
        hi = t
        while hi > lo:
            start = max(lo, hi - step)
            if (new := self._newest_in(start, hi, worker, rng)) is not None:
                self.a.values[-1] = new[0]
                return new
            self.a.values[-1] = hi = start
        return None

    def _newest_in(self, lo: float, t: float, worker: int,
                   rng: np.random.Generator) -> tuple[float, float, int, bool] | None:
        """:meth:`newest` on one stretch ``(lo, t]`` that ends where the worker's silence
        begins.

        Proposed from the Poisson logins and thinned: those logged in inside ``(lo, t]`` at
        ``Lambda``; those before at ``Lambda min(1, own (t - lo))``, a bound of the chance
        ``1 - exp(-own l(u))`` that they request here, ``l(u)`` how long they are valid
        inside, each accepted with the ratio. An accepted session's newest request comes back
        from the end of its stretch an exponential gap (truncated to the stretch). About one
        proposal a stretch, so one at a time in Python costs less than arrays would."""
        own, ttl = self.own, self.ttl
        base, first, p = max(lo, 0.0), max(0.0, lo - ttl), min(1.0, own * (t - lo))
        now = self.logins * (t - base)
        earlier = self.logins * max(0.0, lo - first) * p
        best: tuple[float, float, int, bool] | None = None
        for _ in range(int(rng.poisson(now + earlier))):
            fresh = rng.random() * (now + earlier) < now
            u = base + (t - base) * rng.random() if fresh else first + (lo - first) * rng.random()
            at = int(rng.integers(self.workers))
            e = min(u + ttl, self.horizon)
            stop = min(t, e)
            reach = -math.expm1(-own * max(stop - max(lo, u), 0.0))
            keep = math.exp(-own * self._overlap(u, e)) * (1.0 if fresh else reach / p)
            if rng.random() >= keep or self._logged_in_silence(u, at):
                continue
            gap = rng.random()
            if not fresh:  # proposed for requesting here: it does
                when, login = stop + math.log1p(-gap * reach) / own, False
            else:
                when = stop + math.log1p(-gap) / own if gap < reach else -math.inf
                login = at == worker and u > when
                when = u if login else when
            if when > -math.inf and (best is None or when > best[0]):
                best = (when, u, at, login)
        return best

    def _overlap(self, u: float, e: float) -> float:
        """``S(u)``: a session's validity ``[u, e)`` against the silences."""
        b = self.b.values
        k = int(np.searchsorted(b, u, side="right"))  # silences over by then
        if k == b.size:
            return 0.0
        return float(np.maximum(np.minimum(e, b[k:]) - np.maximum(u, self.a.values[k:]),
                                0.0).sum())

    def _logged_in_silence(self, u: float, at: int) -> bool:
        """Whether a login at ``u`` on worker ``at`` falls in a silence of that worker."""
        b = self.b.values
        k = int(np.searchsorted(b, u, side="left"))
        if k == b.size:
            return False
        return bool(((self.a.values[k:] < u) & (self.at.values[k:] == at)).any())


def read_lifetimes(segments: Sequence[Segment], lifetimes: Sequence[WorkerLifetime],
                   index: dict[str, int]) -> dict[int, list[WorkerLifetime]]:
    """Per worker, in time order, the lifetimes that meet an attacker of ``index``: only they
    can hold a candidate (over 25 months of daily restarts, walking the others cost more than
    the candidates)."""
    active = [(s.t0, s.t1) for s in segments if any(a.name in index for a in s.attackers)]
    ends = [b for _, b in active]
    by_worker: dict[int, list[WorkerLifetime]] = {}
    for lt in sorted(lifetimes, key=lambda lt: lt.start):
        k = bisect_right(ends, lt.start)
        if lt.end > lt.start and k < len(active) and active[k][0] < lt.end:
            by_worker.setdefault(lt.worker, []).append(lt)
    return by_worker


class ReadCaptures(NamedTuple):
    """What the candidates found: ``first[s, a]``, the time attacker ``names[a]`` first
    captured found session ``s`` while it was valid (inf: never); and every password capture
    (with :data:`BOTH`): the login's session (an index into ``first``), the attacker (an index
    into ``names``) and the time."""

    first: np.ndarray
    password: np.ndarray
    who: np.ndarray
    when: np.ndarray


def found_at_reads(
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
    """The candidates of ``kinds`` (:data:`TOKEN`, or :data:`BOTH` beside ``next_request``
    passwords: a login leaves its password in the slot until the worker's next request,
    whatever its session's validity; or :data:`PASSWORD`, the passwords alone) looking at the
    slot in time order (``logins`` per second on the whole server)."""
    index = {n: i for i, n in enumerate(names)}
    by_worker = read_lifetimes(segments, lifetimes, index)
    if not by_worker:
        return _captures(np.zeros((0, len(names))), [])
    own = spec.requests_per_s / workers
    seg = segments[0]
    other = max(0.0, seg.requests - seg.session_requests - seg.logins)  # neither kind (rule 18)
    t_parts, a_parts, w_parts = [np.zeros(0)], [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    s_parts = [np.zeros((0, len(kinds)))]
    restarts: dict[int, list[float]] = {}
    pulls: Pulls = {}
    for w, lives in by_worker.items():
        t, a, share = candidates(segments, lives, index, spec.lifetime, kinds, pulls, rng)
        t_parts.append(t)
        a_parts.append(a)
        s_parts.append(share)
        w_parts.append(np.full(t.size, w, dtype=np.int64))
        restarts[w] = sorted({x for lt in lives for x in (lt.start, lt.end)})
    times, who, where = (np.concatenate(p) for p in (t_parts, a_parts, w_parts))
    order = np.argsort(times, kind="stable")
    # each kind's share of a candidate, where some kind's is below 1: one uniform decides
    shares = np.concatenate(s_parts)[order]
    thinned = bool((shares < 1.0).any())
    found = _Found(len(names))
    unfound = _Unfound(logins, workers, own, spec.ttl, horizon)
    looked: dict[int, float] = {}
    slot: dict[int, tuple[int, int]] = {}  # per worker: the session whose token, whose password
    passwords: list[tuple[int, int, float]] = []
    token_at, password_at = kind_columns(kinds)
    # Where each worker's next look can begin at the earliest: its previous look, or before
    # any, its first lifetime's start; a worker with no look left is dropped.
    begins = {w: restarts[w][0] for w in restarts}
    left = dict(zip(*np.unique(where, return_counts=True)))
    for step, (t, a, w) in enumerate(zip(times[order].tolist(), who[order].tolist(),
                                         where[order].tolist())):
        if step % FORGET_EVERY == 0 and begins:
            found.forget_before(min(begins.values()))
        rs = restarts[w]
        start = rs[bisect_right(rs, t) - 1]
        lo, held = looked.get(w, -math.inf), slot.get(w, _EMPTY)
        if start > lo:  # restarted since the previous look: the slot is empty
            lo, held = start, _EMPTY
        # The newest request since then, of three independent kinds: one that is neither a
        # login nor a session's, a found session's (its login included), and a session not
        # found yet's. A login leaves its password, a session request its token.
        newest = lo
        if other > 0.0 and (s := t - rng.exponential(1.0 / other)) > newest:
            newest, held = s, _EMPTY
        if (mine := found.newest(newest, t, w, own, rng)) is not None:
            newest, k, login = mine
            held = (-1, k) if login else (k, -1)
        if (new := unfound.newest(newest, t, w, rng)) is not None:
            newest, u, at, login = new
            k = found.add(u, min(u + spec.ttl, horizon), at)
            held = (-1, k) if login else (k, -1)
        looked[w], slot[w], begins[w] = t, held, t
        left[w] -= 1
        if not left[w]:
            del begins[w]
        token, password = held
        if token < 0 and password < 0:
            continue
        draw = rng.random() if thinned else 0.0
        if (token >= 0 and token_at is not None and t < found.e[token]
                and draw < shares[step, token_at]):
            row = found.first[token]
            row[a] = min(row[a], t)
        elif password >= 0 and password_at is not None and draw < shares[step, password_at]:
            passwords.append((password, a, t))
    return _captures(np.array(found.first, dtype=float).reshape(-1, len(names)), passwords)


def _captures(first: np.ndarray, passwords: list[tuple[int, int, float]]) -> ReadCaptures:
    rows = np.array(passwords, dtype=float).reshape(-1, 3)
    return ReadCaptures(first, rows[:, 0].astype(np.int64), rows[:, 1].astype(np.int64),
                        rows[:, 2])

