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
found sessions' arrays growing with them): the engine takes this path while their expected
number stays below :data:`CANDIDATE_LIMIT`, where drawing the sessions literally would cost
more than :data:`.session_literal.LITERAL_LIMIT`.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence

import numpy as np

from sim.engines.fast.reads import crash_capture, crossed, point_reads, segment_hazards
from sim.engines.fast.segments import Segment, WorkerLifetime
from sim.engines.fast.session_literal import token_capture
from sim.scenario.model import ResidencySpec, SessionSpec

#: Most expected candidate reads per server and replication on this path.
CANDIDATE_LIMIT = 5_000
#: Candidates between two clear-outs of the found sessions no later look can meet.
FORGET_EVERY = 64


def candidate_work(spec: SessionSpec, segments: Sequence[Segment], workers: int,
                   only: frozenset[str] | None = None) -> float:
    """Expected candidate reads of one server's attack by the attackers of ``only`` (default
    all): the ordinary connections that would take a resident token, at the larger of the two
    key placements' hazards; the few point reads are left out."""
    total = 0.0
    for seg in segments:
        rates = [sum(h.beta for h in segment_hazards(seg, token_capture, spec.lifetime, reachable)
                     if only is None or h.name in only) for reachable in (False, True)]
        total += seg.duration * max(rates)
    return workers * total


def _candidates(
    segments: Sequence[Segment], lives: Sequence[WorkerLifetime], index: dict[str, int],
    rule: ResidencySpec, rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """One worker's candidate reads (times, attacker indices) over its lifetimes, unsorted:
    per stretch and attacker of ``index``, Poisson at ``beta``; the point reads each kept with
    its ``q`` (the crashing one just before the restart that ends its lifetime)."""
    starts = [s.t0 for s in segments]
    times: list[np.ndarray] = [np.zeros(0)]
    who: list[np.ndarray] = [np.zeros(0, dtype=np.int64)]
    for lt in lives:
        for seg, a, b in crossed(segments, starts, lt):
            for h in segment_hazards(seg, token_capture, rule, lt.key_reachable):
                if h.name in index and h.beta > 0.0:
                    k = int(rng.poisson(h.beta * (b - a)))
                    times.append(a + (b - a) * rng.random(k))
                    who.append(np.full(k, index[h.name], dtype=np.int64))
        crash = crash_capture(lt, segments, starts, token_capture, rule)
        fixed = point_reads(lt, segments, starts, token_capture, rule) + ([crash] if crash else [])
        kept = [r for r in fixed if r.attacker in index and r.q > 0.0 and rng.random() < r.q]
        if kept:
            times.append(np.array([min(r.time, np.nextafter(lt.end, -math.inf)) for r in kept]))
            who.append(np.array([index[r.attacker] for r in kept], dtype=np.int64))
    return np.concatenate(times), np.concatenate(who)


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
               rng: np.random.Generator) -> tuple[float, int] | None:
        """The newest request to ``worker`` in ``(lo, t]`` among the found sessions' own
        (Poisson at ``own`` each while valid) and their logins, and whose (``-1`` for a login,
        which leaves no token); None if none came."""
        if not self._id.size:
            return None
        request = self._newest_request(lo, t, own, rng)
        if self._latest_login <= lo:  # the usual case: every login is older than the look
            return request
        u = self._u.values
        logged = (self._at.values == worker) & (u > lo) & (u <= t)
        if logged.any():
            login = float(u[logged].max())
            if request is None or login > request[0]:
                return login, -1
        return request

    def _newest_request(self, lo: float, t: float, own: float,
                        rng: np.random.Generator) -> tuple[float, int] | None:
        """Going back from ``t`` the request streams' superposition has rate ``own`` times the
        sessions valid, so the newest is where that integrated rate reaches an ``Exp(1)``
        draw, sent by one of the sessions valid there with equal chances."""
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
        return float(x), int(ids[valid[int(rng.integers(valid.size))]])


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


def found_sessions(
    spec: SessionSpec,
    segments: Sequence[Segment],
    lifetimes: Sequence[WorkerLifetime],
    workers: int,
    logins: float,
    horizon: float,
    names: Sequence[str],
    rng: np.random.Generator,
) -> np.ndarray:
    """``first[s, a]``: the time attacker ``names[a]`` first captured found session ``s``
    while it was valid (inf: never), for the sessions its candidates found (``logins`` per
    second on the whole server)."""
    index = {n: i for i, n in enumerate(names)}
    # Only lifetimes that meet one of these attackers can hold a candidate: over 25 months of
    # daily restarts, walking the others cost more than the candidates.
    active = [(s.t0, s.t1) for s in segments if any(a.name in index for a in s.attackers)]
    if not active:
        return np.zeros((0, len(names)))
    ends = [b for _, b in active]
    by_worker: dict[int, list[WorkerLifetime]] = {}
    for lt in sorted(lifetimes, key=lambda lt: lt.start):
        k = bisect_right(ends, lt.start)
        if lt.end > lt.start and k < len(active) and active[k][0] < lt.end:
            by_worker.setdefault(lt.worker, []).append(lt)
    own = spec.requests_per_s / workers
    seg = segments[0]
    other = max(0.0, seg.requests - seg.session_requests - seg.logins)  # neither kind (rule 18)
    t_parts, a_parts, w_parts = [np.zeros(0)], [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    restarts: dict[int, list[float]] = {}
    for w, lives in by_worker.items():
        t, a = _candidates(segments, lives, index, spec.lifetime, rng)
        t_parts.append(t)
        a_parts.append(a)
        w_parts.append(np.full(t.size, w, dtype=np.int64))
        restarts[w] = sorted({x for lt in lives for x in (lt.start, lt.end)})
    times, who, where = (np.concatenate(p) for p in (t_parts, a_parts, w_parts))
    order = np.argsort(times, kind="stable")
    found = _Found(len(names))
    unfound = _Unfound(logins, workers, own, spec.ttl, horizon)
    looked: dict[int, float] = {}
    slot: dict[int, int] = {}
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
        lo, held = looked.get(w, -math.inf), slot.get(w, -1)
        if start > lo:  # restarted since the previous look: the slot is empty
            lo, held = start, -1
        # The newest request since then, of three independent kinds: one that is neither a
        # login nor a session's, a found session's (its login included), and a session not
        # found yet's. A login leaves a password, no token.
        newest = lo
        if other > 0.0 and (s := t - rng.exponential(1.0 / other)) > newest:
            newest, held = s, -1
        if (mine := found.newest(newest, t, w, own, rng)) is not None:
            newest, held = mine
        if (new := unfound.newest(newest, t, w, rng)) is not None:
            newest, u, at, login = new
            k = found.add(u, min(u + spec.ttl, horizon), at)
            held = -1 if login else k
        looked[w], slot[w], begins[w] = t, held, t
        left[w] -= 1
        if not left[w]:
            del begins[w]
        if held >= 0 and t < found.e[held]:
            row = found.first[held]
            row[a] = min(row[a], t)
    return np.array(found.first, dtype=float).reshape(-1, len(names))
