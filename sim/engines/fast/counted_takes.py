"""The draw where copies are taken (:mod:`.token_takes`), with each session's requests its
share of the lifetimes' counted legitimate requests (:mod:`.request_shares`).

Beside ``max_requests``, where the skeleton drew the logins and lingering passwords go along
(:mod:`.login_pairs`), each lifetime's free legitimate requests are counted, and a session's
number of requests in its part ``[a, b)`` of such a lifetime on one worker is drawn from that
count (``R``). Given ``R`` its requests there are uniform on the part, each leaving a copy that
some read takes with chance ``pi_w(t)`` (:mod:`.token_copies`): the taken ones number
``Binomial(R, x / o)`` (``x = int_a^b pi_w``, ``o = b - a``) with density ``pi_w / x`` on the
part, the others ``R - T`` with density ``(1 - pi_w) / (o - x)``, all independent given the
counts. Elsewhere (other workers, lifetimes not counted) the requests stay Poisson at ``own``
as :mod:`.token_takes` draws them, less the counted parts:

* *Taken copies.* Each counted part's ``T`` is drawn with the login; the session is kept if one
  is taken or the Poisson rest, of mean ``own x_free`` (``x_free``: the session's ``X_w / own``
  less its counted parts'), has one. The rest's copies are Poisson (at least one where no
  counted part took one), each on a worker in proportion to its ``x_free`` and at an ``F``
  value (``F_w(t) = int_t^e pi_w``) uniform on the free part of ``[0, F_w(u)]``: a counted part
  is the interval ``[F_w(b), F_w(b) + x]`` there, which the value skips. Every copy's time is
  ``F_w`` inverted (:func:`.token_takes.invert_left`), and its first takes follow as there.
* *Requests that left no taken copy* (the ``concurrent`` check reads them in the windows
  before the attempts): the Poisson proposal of :mod:`.token_takes` on a uniform worker, less
  the counted parts; in a counted part its ``R - T`` are shared among the windows in
  proportion to their untaken mass (binomials of what is left) and placed by rejection, each
  proposal uniform on the window's part and kept with chance ``1 - pi_w``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import NamedTuple

import numpy as np

from sim.engines.fast.password_chain import truncated_poisson_quantile
from sim.engines.fast.request_shares import RequestShares
from sim.engines.fast.session_literal import WorkerReads
from sim.engines.fast.token_copies import WorkerSums, exponent, exponents
from sim.engines.fast.token_takes import (
    TakesTally,
    _first_takes,
    attempt_windows,
    invert_left,
    taken_chance,
)
from sim.scenario.model import SessionSpec


class Parts(NamedTuple):
    """Sessions' parts in counted lifetimes: session row, worker (as ``shares``), span
    ``[a, b)``, ``x`` (``int_a^b pi_w``), and the requests there that left a taken copy and
    that did not."""

    row: np.ndarray
    worker: np.ndarray
    a: np.ndarray
    b: np.ndarray
    x: np.ndarray
    taken: np.ndarray
    untaken: np.ndarray

    @classmethod
    def join(cls, parts: Sequence[Parts]) -> Parts:
        if not parts:
            empty = np.zeros(0)
            ints = np.zeros(0, dtype=np.int64)
            return cls(ints, ints, empty, empty, empty, ints, ints)
        return cls(*(np.concatenate(c) for c in zip(*parts)))

    def select(self, keep: np.ndarray, row: np.ndarray) -> Parts:
        """The parts ``keep`` picks, their sessions renumbered to ``row``."""
        return Parts(row, *(c[keep] for c in self[1:]))

    def merged(self) -> Parts:
        """Each run of a session's adjacent parts on one worker that hold no request, as one
        part (``x`` summed; ``F`` is additive over adjacent spans). The skip and the rejection
        read a run as they read its parts, and the parts with requests keep their order, so
        no law changes. Beside ``max_requests: 1`` on a busy server a session meets a part
        per request the worker serves in its ``ttl``, nearly all empty: kept one by one they
        took 16.7 GB in one replication."""
        if self.row.size < 2:
            return self
        empty = (self.taken == 0) & (self.untaken == 0)
        joins = (empty[1:] & empty[:-1] & (self.row[1:] == self.row[:-1])
                 & (self.worker[1:] == self.worker[:-1]) & (self.a[1:] == self.b[:-1]))
        first = np.flatnonzero(np.concatenate([[True], ~joins]))
        last = np.append(first[1:] - 1, self.row.size - 1)
        return Parts(self.row[first], self.worker[first], self.a[first], self.b[last],
                     np.add.reduceat(self.x, first), self.taken[first], self.untaken[first])


class CountedTakes(TakesTally):
    """:class:`.token_takes.TakesTally` where some lifetimes' requests were counted
    (``shares``, per worker, those of ``live`` first: see the module docstring). The workers
    nothing reads count too: the ``concurrent`` check reads the victim's requests there."""

    def __init__(self, spec: SessionSpec, live: Sequence[WorkerReads],
                 sums: Sequence[WorkerSums], workers: int, horizon: float,
                 shares: Sequence[RequestShares | None]) -> None:
        super().__init__(spec, live, sums, workers, horizon)
        self.shares = list(shares)
        self.free: list[np.ndarray] = [np.zeros((0, len(sums)))]
        self.parts: list[Parts] = []
        self.kept = 0

    def add(self, u: np.ndarray, rng: np.random.Generator) -> None:
        """Keep the logins at ``u`` some read takes a copy of: each counted part's requests
        and taken copies drawn, the rest's chance from ``x_free``."""
        e = np.minimum(u + self.spec.ttl, self.horizon)
        x = np.column_stack([w[:, 0] for w in exponents(self.sums, u, e, self.delta)])
        free = x.copy()
        found = []
        for i, shares in enumerate(self.shares):
            if shares is None:
                continue
            for rows, lifetime, a, b in shares.pieces(u, e):
                if not rows.size:
                    continue
                requests = shares.draw(lifetime, self.own * (b - a), rng)
                if i < len(self.sums):
                    part = exponent(self.sums[i], a, b, self.delta)[:, 0]
                    taken = rng.binomial(requests, np.clip(part / (b - a), 0.0, 1.0))
                    np.subtract.at(free[:, i], rows, part)
                else:  # nothing reads this worker
                    part, taken = np.zeros(rows.size), np.zeros(rows.size, dtype=np.int64)
                found.append(Parts(rows, np.full(rows.size, i), a, b, part, taken,
                                   requests - taken).merged())
        free = np.maximum(free, 0.0)
        parts = Parts.join(found)
        some = np.bincount(parts.row, weights=parts.taken, minlength=u.size) > 0
        kept = some | (rng.random(u.size) < -np.expm1(-self.own * free.sum(axis=1)))
        renumber = np.cumsum(kept) - 1 + self.kept
        mine = kept[parts.row]
        self.parts.append(parts.select(mine, renumber[parts.row[mine]]))
        self.u.append(u[kept])
        self.free.append(free[kept])
        self.kept += int(kept.sum())

    def _taken(self, u: np.ndarray, e: np.ndarray, first: np.ndarray, attackers: int,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Each kept session's taken copies, counted parts' and the rest's, placed, with each
        attacker's first take of each into ``first``; the copies' sessions and times."""
        free, parts = np.concatenate(self.free), Parts.join(self.parts)
        some = np.bincount(parts.row, weights=parts.taken, minlength=u.size) > 0
        mean = self.own * free.sum(axis=1)
        count = np.zeros(u.size, dtype=np.int64)
        count[some] = rng.poisson(mean[some])
        count[~some] = truncated_poisson_quantile(mean[~some], rng.random(int((~some).sum())))
        session = np.repeat(np.arange(u.size), count)
        share = np.cumsum(free, axis=1)[session]
        worker = (rng.random(session.size)[:, None] * share[:, -1:] >= share).sum(axis=1)
        worker = np.minimum(worker, len(self.sums) - 1)
        start = self._f(parts.worker, parts.b, e[parts.row])  # F_w(b) of each part
        value = _skip(rng.random(session.size) * free[session, worker], session, worker,
                      parts, start, self.workers)
        k = np.repeat(np.arange(parts.row.size), parts.taken)
        session = np.concatenate([session, parts.row[k]])
        worker = np.concatenate([worker, parts.worker[k]])
        value = np.concatenate([value, start[k] + parts.x[k] * rng.random(k.size)])
        placed = np.zeros(session.size)
        for i, (w, wk) in enumerate(zip(self.sums, self.live)):
            mine = np.flatnonzero(worker == i)
            if mine.size == 0:
                continue
            s = session[mine]
            placed[mine] = invert_left(w, self.delta, u[s], e[s],
                                       np.maximum(value[mine], np.finfo(float).tiny))
            _first_takes(w, wk, self.delta, placed[mine], e[s], s, first, attackers, rng)
        return session, placed

    def _f(self, worker: np.ndarray, t: np.ndarray, e: np.ndarray) -> np.ndarray:
        """``F_w(t) = int_t^e pi_w`` (``X / own`` of a session valid on ``[t, e)``) on each
        live worker given."""
        out = np.zeros(t.size)
        for i, w in enumerate(self.sums):
            mine = np.flatnonzero(worker == i)
            if mine.size:
                out[mine] = exponent(w, t[mine], e[mine], self.delta)[:, 0]
        return out

    def _untaken(self, u: np.ndarray, e: np.ndarray, tries: np.ndarray,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """The kept sessions' requests that left no taken copy, in the windows before their
        attempts: sessions and times."""
        who, lo, hi = attempt_windows(u, tries, self.spec.concurrent_window)
        if not who.size:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        parts = Parts.join(self.parts)
        count = rng.poisson(self.spec.requests_per_s * (hi - lo))
        owner = np.repeat(who, count)
        at = np.repeat(lo, count) + np.repeat(hi - lo, count) * rng.random(owner.size)
        worker = rng.integers(self.workers, size=owner.size)  # the live ones first, as shares
        keep = ~_inside_parts(owner, worker, at, parts, self.workers)
        chance = taken_chance(self.sums, self.delta, worker, at, e[owner])
        keep &= rng.random(owner.size) >= chance
        counted = self._counted_untaken(who, lo, hi, e, parts, rng)
        return (np.concatenate([owner[keep], counted[0]]).astype(np.int64),
                np.concatenate([at[keep], counted[1]]))

    def _counted_untaken(self, who: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                         e: np.ndarray, parts: Parts, rng: np.random.Generator
                         ) -> tuple[np.ndarray, np.ndarray]:
        """The untaken requests of the counted parts that fall in the windows (``who``,
        ``lo``, ``hi``: merged per session, sorted): each part's shared among its windows by
        their untaken mass, placed by rejection."""
        first = np.searchsorted(who, parts.row, side="left")
        last = np.searchsorted(who, parts.row, side="right")
        meets = np.maximum(last - first, 0) * (parts.untaken > 0)
        p = np.repeat(np.arange(parts.row.size), meets)
        k = first[p] + np.arange(p.size) - np.repeat(np.cumsum(meets) - meets, meets)
        c, d = np.maximum(lo[k], parts.a[p]), np.minimum(hi[k], parts.b[p])
        on = d > c
        p, c, d = p[on], c[on], d[on]
        if not p.size:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        s, w = parts.row[p], parts.worker[p]
        mass = np.maximum((d - c) - (self._f(w, c, e[s]) - self._f(w, d, e[s])), 0.0)
        left = parts.untaken.astype(np.int64).copy()
        room = np.maximum((parts.b - parts.a) - parts.x, 0.0)
        n = np.zeros(p.size, dtype=np.int64)
        for j in range(p.size):  # each part's windows in turn: a binomial of what is left
            q = p[j]
            if left[q] > 0 and room[q] > 0.0:
                n[j] = rng.binomial(left[q], min(1.0, mass[j] / room[q]))
                left[q] -= n[j]
            room[q] -= mass[j]
        return _rejected(n, c, d, s, w, e, partial(taken_chance, self.sums, self.delta), rng)


def _skip(value: np.ndarray, session: np.ndarray, worker: np.ndarray, parts: Parts,
          start: np.ndarray, workers: int) -> np.ndarray:
    """``value``, uniform on the free part of ``[0, F_w(u)]``, carried past each counted part
    of its session and worker (the interval ``[start, start + x]``), in ascending order."""
    if not parts.row.size or not value.size:
        return value
    key = parts.row * workers + parts.worker
    order = np.lexsort((start, key))
    key, begin, length = key[order], start[order], parts.x[order]
    mine = session * workers + worker
    lo, hi = np.searchsorted(key, mine, side="left"), np.searchsorted(key, mine, side="right")
    for j in range(int((hi - lo).max(initial=0))):
        idx = np.minimum(lo + j, key.size - 1)
        step = (lo + j < hi) & (value >= begin[idx])
        value = np.where(step, value + length[idx], value)
    return value


def _inside_parts(owner: np.ndarray, worker: np.ndarray, at: np.ndarray, parts: Parts,
                  workers: int) -> np.ndarray:
    """Whether each request (session ``owner`` on ``worker`` at ``at``) lies in a counted
    part of its session there."""
    inside = np.zeros(owner.size, dtype=bool)
    if not parts.row.size or not owner.size:
        return inside
    key = parts.row * workers + parts.worker
    order = np.lexsort((parts.a, key))
    key, a, b = key[order], parts.a[order], parts.b[order]
    mine = owner * workers + worker
    lo, hi = np.searchsorted(key, mine, side="left"), np.searchsorted(key, mine, side="right")
    for j in range(int((hi - lo).max(initial=0))):
        idx = np.minimum(lo + j, key.size - 1)
        inside |= (lo + j < hi) & (a[idx] <= at) & (at < b[idx])
    return inside


def _rejected(n: np.ndarray, c: np.ndarray, d: np.ndarray, session: np.ndarray,
              worker: np.ndarray, e: np.ndarray,
              pi: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n[j]`` points on ``[c_j, d_j)`` with density proportional to ``1 - pi`` (of worker
    ``worker_j``, session ``session_j``), by rejection from the uniform: sessions and times."""
    owners, times = [], []
    need = n.copy()
    while need.any():
        j = np.repeat(np.arange(n.size), need)
        t = c[j] + (d[j] - c[j]) * rng.random(j.size)
        ok = rng.random(j.size) >= pi(worker[j], t, e[session[j]])
        owners.append(session[j[ok]])
        times.append(t[ok])
        need -= np.bincount(j[ok], minlength=n.size)
    if not owners:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    return np.concatenate(owners), np.concatenate(times)
