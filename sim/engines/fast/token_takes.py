"""Sessions whose tokens outlive the next request, drawn where their copies are taken: every
attacker's first capture exactly, and the ``concurrent`` check with it.

Rule 21's ``concurrent`` check passes when the victim's session made no request, its login
included, in the ``concurrent_window`` before the attempt, which is made at the attacker's
first capture. So it needs each capture's time and the victim's requests near it, which the
counts of :mod:`.token_copies` and :mod:`.token_means` do not give; until this module the
fast engine drew such sessions literally (every session, request and copy) and refused a
scenario where that could be too much. Given the reads (:func:`.session_literal.
draw_server_reads`) this draws only what the check and the first captures read:

* A session opened at ``u`` and valid on ``[u, e)`` sends Poisson requests to each worker at
  ``own``, each leaving a copy that a read takes with the chance ``pi_w(s)`` of
  :mod:`.token_copies` (``S(u)`` there, any attacker's read counted). The copies taken by some
  read are an independent thinning: Poisson with mean ``own sum_w X_w(u)``, so a login's
  count of them is drawn (the sessions with none are never captured and are left), each
  copy's worker in proportion to ``X_w(u)`` and its request time by inverting
  ``F_w(x) = X_w(x) / own = int_x^e pi_w``, continuous and falling, in closed form on the
  piece between reads and clears that holds it.
* A copy placed at ``x`` is first taken at read ``m`` with chance ``q_m s(x, t_m)``: drawn by
  inverting ``P(first take at m or later)``, a survival to ``t_m`` times the chance that some
  read from ``m`` on (before ``e`` and the block's clear) takes it, bisected over ``m``.
  After it the copy stays for a fresh exponential time (memoryless; until the clear under
  ``next_handshake``), and each other attacker's first take of it is where its cumulated
  hazard ``-log(1 - q)`` over its reads passes an ``Exp(1)`` draw. An attacker's first capture
  of the session is its earliest over the session's taken copies.
* The requests that left no taken copy are the complementary thinning, independent of the
  taken ones: Poisson at ``own sum_w (1 - pi_w(s))``. They are drawn only over the windows
  before the attempts (their union per session), by thinning a Poisson proposal at the
  session's request rate; with the login and the taken copies' requests they are what the
  check reads (:func:`.session_literal.victim_idle`).

So the first captures, the attempts, their times and the check have the model's law given
the reads: exact where the count per class would not give the check. The cost grows with the
logins that can meet a read (once per worker), the copies taken, and the window proposals,
never with the requests or copies that nothing takes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from sim.engines.fast.password_chain import truncated_poisson_quantile
from sim.engines.fast.reads import attacker_names
from sim.engines.fast.segments import Segment, WorkerLifetime
from sim.engines.fast.session_cuts import Until
from sim.engines.fast.session_literal import (
    SessionDraw,
    WorkerReads,
    try_sessions,
    victim_idle,
)
from sim.engines.fast.token_copies import (
    WorkerSums,
    ahead_until,
    drawn_sums,
    exponents,
    login_terms,
    meeting,
    point_exposure,
    poisson_logins,
    read_work,
    residency_rate,
)
from sim.engines.fast.token_means import coefficients
from sim.scenario.model import SessionSpec

#: Most work of one server replication, checked before any (:func:`takes_work`); past it the
#: scenario is refused (``sessions.refuse_session_checks``).
TAKES_LIMIT = 20_000_000


def takes_work(spec: SessionSpec, workers: int, logins: float, reads: float, horizon: float,
               handshakes: float) -> float:
    """Expected work of one server replication, from the scenario alone: the reads (every
    attacker's whole window, and under ``next_handshake`` the legitimate handshakes that clear)
    and the logins that can meet them, once per worker (``logins`` and ``handshakes`` per second
    on the server)."""
    if spec.lifetime == "next_handshake":
        reads += handshakes * horizon
    return reads + logins * min(horizon, reads * spec.ttl) * workers


def takes_fit(spec: SessionSpec, segments: Sequence[Segment], workers: int,
              logins: float) -> bool:
    """Whether one server replication's draw stays within :data:`TAKES_LIMIT`, from its
    segments (``logins`` per second on the server): where the classes cannot time the
    attempts, this path is taken instead while it does."""
    return sum(read_work(spec, segments, workers, logins)) <= TAKES_LIMIT


def sample_takes(
    spec: SessionSpec, segments: Sequence[Segment], lifetimes: Sequence[WorkerLifetime],
    workers: int, logins: float, horizon: float, attacker_sources: Mapping[str, int],
    rng: np.random.Generator, *, server: str, reusing: frozenset[str] | None,
) -> SessionDraw:
    """The sessions of one server leaked and hijacked, drawn where their copies are taken
    (``logins`` per second on the server)."""
    names, _ = attacker_names(segments)
    drawn = drawn_sums(spec, segments, lifetimes, workers, names, *every_reader(names), rng)
    if not drawn or logins <= 0.0:
        return SessionDraw(0, 0, dict.fromkeys(names, 0), dict.fromkeys(names, 0), [])
    tally = TakesTally(spec, [wk for wk, _ in drawn], [s for _, s in drawn], workers, horizon)
    lo, hi = meeting(np.sort(np.concatenate([w.t for _, w in drawn])), spec.ttl)
    for u in poisson_logins(lo, hi, logins, rng):
        tally.add(u, rng)
    return tally.draw(segments, attacker_sources, rng, server=server, reusing=reusing)


def every_reader(names: Sequence[str]) -> tuple[list[frozenset[str]], list[Until]]:
    """The counting sets the reads' sums are taken for here, with their instants: one, where a
    read of any attacker takes."""
    return [frozenset(names)], [{}]


class TakesTally:
    """The sessions some read takes a copy of, gathered login by login (:func:`sample_takes`;
    :mod:`.login_pairs` draws the logins with their passwords), then drawn where their copies
    are taken (:meth:`draw`). ``live`` are the workers with reads and ``sums`` their sums for
    the one counting set of every attacker."""

    def __init__(self, spec: SessionSpec, live: Sequence[WorkerReads],
                 sums: Sequence[WorkerSums], workers: int, horizon: float) -> None:
        self.spec, self.live, self.sums = spec, live, sums
        self.workers, self.horizon = workers, horizon
        self.delta = residency_rate(spec)
        self.own = spec.requests_per_s / workers
        self.u: list[np.ndarray] = [np.zeros(0)]
        self.x: list[np.ndarray] = [np.zeros((0, len(sums)))]

    def add(self, u: np.ndarray, rng: np.random.Generator) -> None:
        """Keep the logins at ``u`` some read takes a copy of, with ``X_w / own`` per worker
        with reads: their taken copies are Poisson with mean ``own sum_w X_w``; those with
        none are dropped, the others keep ``X`` for the copies' count, drawn again given at
        least one (:func:`_taken_copies`)."""
        e = np.minimum(u + self.spec.ttl, self.horizon)
        x = np.column_stack([w[:, 0] for w in exponents(self.sums, u, e, self.delta)])
        taken = rng.random(u.size) < -np.expm1(-self.own * x.sum(axis=1))
        self.u.append(u[taken])
        self.x.append(x[taken])

    def draw(self, segments: Sequence[Segment], attacker_sources: Mapping[str, int],
             rng: np.random.Generator, *, server: str,
             reusing: frozenset[str] | None) -> SessionDraw:
        """The sessions kept: each attacker's first captures, the attempts and the check."""
        names, malicious = attacker_names(segments)
        u = np.concatenate(self.u)
        e = np.minimum(u + self.spec.ttl, self.horizon)
        first = np.full((u.size, len(names)), math.inf)
        session, placed = self._taken(u, e, first, len(names), rng)
        reusers = sorted(malicious if reusing is None else malicious & reusing)
        tried = [names.index(n) for n in reusers]
        quiet = self._untaken(u, e, first[:, tried], rng)
        owner = np.concatenate([session, quiet[0]])
        req_t = np.concatenate([placed, quiet[1]])
        return try_sessions(self.spec, first, victim_idle(self.spec, u, req_t, owner), names,
                            malicious, attacker_sources, rng, server=server, reusing=reusing)

    def _taken(self, u: np.ndarray, e: np.ndarray, first: np.ndarray, attackers: int,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """The kept sessions' taken copies (:func:`_taken_copies`)."""
        return _taken_copies(self.sums, self.live, self.delta, self.own, u, e,
                             np.concatenate(self.x), first, attackers, rng)

    def _untaken(self, u: np.ndarray, e: np.ndarray, tries: np.ndarray,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """The kept sessions' requests that left no taken copy, in the windows before their
        attempts (:func:`_untaken_requests`)."""
        return _untaken_requests(self.sums, self.delta, self.spec, self.workers, u, e, tries,
                                 rng)


def _taken_copies(sums: Sequence[WorkerSums], live: Sequence[WorkerReads], delta: float,
                  own: float, u: np.ndarray, e: np.ndarray, x: np.ndarray, first: np.ndarray,
                  attackers: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Each captured session's taken copies (at least one): their count, worker and request
    time, and each attacker's first take of each, into ``first``; the copies' sessions and
    request times."""
    count = truncated_poisson_quantile(own * x.sum(axis=1), rng.random(u.size))
    session = np.repeat(np.arange(u.size), count)
    share = np.cumsum(x, axis=1)[session]
    worker = (rng.random(session.size)[:, None] * share[:, -1:] >= share).sum(axis=1)
    worker = np.minimum(worker, len(sums) - 1)
    placed = np.zeros(session.size)
    for i, (w, wk) in enumerate(zip(sums, live)):
        mine = np.flatnonzero(worker == i)
        if mine.size == 0:
            continue
        s = session[mine]
        placed[mine] = _request_times(w, delta, u[s], e[s], x[s, i], rng)
        _first_takes(w, wk, delta, placed[mine], e[s], s, first, attackers, rng)
    return session, placed


def _request_times(w: WorkerSums, delta: float, u: np.ndarray, e: np.ndarray,
                   total: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Request times of taken copies on this worker: density ``pi_w`` on ``[u, e)``, where
    ``F_w(x) = total (1 - U)``. ``F_w`` falls through its values at the reads (bisection over
    them, :func:`_left_at_reads`); between two reads it is ``alpha + beta phi(x)`` after the
    last clear (before it ``pi_w`` is 0: no read comes before the clear), solved in closed
    form (:func:`.token_means.coefficients`)."""
    return invert_left(w, delta, u, e, total * (1.0 - rng.random(u.size)))


def invert_left(w: WorkerSums, delta: float, u: np.ndarray, e: np.ndarray,
                target: np.ndarray) -> np.ndarray:
    """The ``x`` in ``[u, e)`` where ``F_w(x)`` (``int_x^e pi_w``) falls to ``target``, which
    lies in ``(0, F_w(u)]`` (:func:`_request_times`)."""
    n = w.t.size
    ke = np.searchsorted(w.t, e, side="left")
    low = np.searchsorted(w.t, u, side="left") - 1  # stands for u itself
    lo, hi = _last_holding(low, ke, lambda m: _left_at_reads(w, delta, m, e, ke) >= target)
    b = np.where(hi < ke, w.t[np.minimum(hi, n - 1)], e)
    a = np.where(lo == low, u, w.t[np.maximum(lo, 0)])
    a = np.maximum(a, w.bounds[np.searchsorted(w.clears, b, side="left")])  # the last clear
    alpha, beta = coefficients(w, (a + b) / 2.0, e, delta, a)
    gap = (target - alpha[:, 0]) / np.where(beta[:, 0] != 0.0, beta[:, 0], -np.inf)
    if delta > 0.0:
        x = a + np.log(np.maximum(gap, np.finfo(float).tiny)) / delta
    else:
        x = a + gap
    return np.clip(np.where(np.isfinite(x), x, a), a, b)


def _left_at_reads(w: WorkerSums, delta: float, m: np.ndarray, e: np.ndarray,
                   ke: np.ndarray) -> np.ndarray:
    """``F_w`` at read ``m`` (``X / own`` of a session valid until ``e`` as
    :func:`.token_copies.exponent` has it at ``u = t_m``), ``ke`` the first read at or after
    ``e``: the searches that function makes are known here, so this is gathers alone."""
    prev = np.maximum(m - 1, 0)
    same = (m > 0) & (w.block[prev] == w.block[m])
    gap = w.t[m] - np.where(same, w.t[prev], w.bounds[w.block[m]])
    carry = np.where(same, (1.0 - w.q[prev, 0]) * w.exposure[prev, 0], 0.0)
    ahead = ahead_until(w, m, np.minimum(ke, w.next_block[m]), w.block[m], delta)[:, 0]
    left = w.taken[ke, 0] - w.taken[m, 0] - point_exposure(gap, carry, delta) * ahead
    return np.maximum(left, 0.0)


def _last_holding(lo: np.ndarray, hi: np.ndarray,
                  holds: Callable[[np.ndarray], np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per element, by bisection, the last index in ``[lo, hi)`` where ``holds`` (true up to
    some index, then false; taken to hold at ``lo``, which may stand for a point before the
    first read, and to fail at ``hi``), and the index after it."""
    lo, hi = lo.copy(), hi.copy()
    while (hi - lo > 1).any():
        step = hi - lo > 1
        above = step & holds(np.where(step, (lo + hi) // 2, np.maximum(lo, 0)))
        mid = (lo + hi) // 2
        lo = np.where(above, mid, lo)
        hi = np.where(step & ~above, mid, hi)
    return lo, hi


def _first_takes(w: WorkerSums, wk: WorkerReads, delta: float, placed: np.ndarray,
                 e: np.ndarray, session: np.ndarray, first: np.ndarray, attackers: int,
                 rng: np.random.Generator) -> None:
    """Each copy's first take (given one), then each attacker's first take of it after that
    while it stays, into ``first[session, attacker]``."""
    block = np.searchsorted(w.clears, placed, side="right")
    k1 = np.searchsorted(w.t, np.minimum(e, w.bounds[block + 1]), side="left")
    # a taken copy has a read of its block at or after it; the bisection's last rounding
    # may not, so the first such read is its floor
    f = np.minimum(np.searchsorted(w.t, placed, side="left"), k1 - 1)

    def log_later(m: np.ndarray) -> np.ndarray:
        """``log P(first take at read m or later)`` up to the copy's constant."""
        rest = np.maximum(ahead_until(w, m, k1, block, delta)[:, 0], np.finfo(float).tiny)
        return -delta * w.t[m] + w.kept[m, 0] + np.log(rest)

    # the largest m in [f, k1) with P(first take >= m) >= U P(first take >= f)
    goal = log_later(f) + np.log(rng.random(f.size))
    lo, _ = _last_holding(f, k1, lambda m: log_later(m) >= goal)
    taken_at = w.t[lo]
    np.minimum.at(first, (session, wk.read_who[lo]), taken_at)
    # afterwards: a fresh residency, and each attacker's reads with their own hazards
    stay = np.minimum(e, w.bounds[block + 1])
    if delta > 0.0:
        stay = np.minimum(stay, taken_at + rng.exponential(1.0 / delta, size=lo.size))
    hazard = -np.log(np.maximum(1.0 - wk.read_q, np.finfo(float).tiny))
    for a in range(attackers):
        mine = np.flatnonzero(wk.read_who == a)
        if mine.size == 0:
            continue
        climb = np.concatenate([[0.0], np.cumsum(hazard[mine])])
        after = np.searchsorted(mine, lo, side="right")
        reach = climb[after] + rng.exponential(size=lo.size)
        j = np.searchsorted(climb, reach, side="left") - 1  # index into mine of the take
        hit = j < mine.size
        t = np.where(hit, w.t[mine[np.minimum(j, mine.size - 1)]], math.inf)
        hit &= t < stay
        rows = session[hit]
        np.minimum.at(first, (rows, np.full(rows.size, a)), t[hit])


def _untaken_requests(sums: Sequence[WorkerSums], delta: float, spec: SessionSpec,
                      workers: int, u: np.ndarray, e: np.ndarray, tries: np.ndarray,
                      rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The requests that left no taken copy, over each session's windows before its
    attempts (``tries``: sessions x reusing attackers, first captures or inf): sessions and
    times. Poisson at the session's rate over the union of its windows (within its
    validity), each kept unless its copy would have been taken (``pi_w`` averaged over the
    workers)."""
    who, lo, hi = attempt_windows(u, tries, spec.concurrent_window)
    if not who.size:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    count = rng.poisson(spec.requests_per_s * (hi - lo))
    owner = np.repeat(who, count)
    at = np.repeat(lo, count) + np.repeat(hi - lo, count) * rng.random(owner.size)
    taken = np.zeros(owner.size)
    for w in sums:
        if owner.size:
            taken += copy_chance(w, at, e[owner], delta)
    keep = rng.random(owner.size) >= taken / workers
    return owner[keep].astype(np.int64), at[keep]


def taken_chance(sums: Sequence[WorkerSums], delta: float, worker: np.ndarray, t: np.ndarray,
                 e: np.ndarray) -> np.ndarray:
    """``pi_w(t)``: the chance that some read takes a copy left at ``t`` on ``worker`` (an
    index into ``sums``; any other, such as -1, is a worker nothing reads: 0) by a session
    valid until ``e``."""
    out = np.zeros(t.size)
    for i, w in enumerate(sums):
        mine = np.flatnonzero(worker == i)
        if mine.size:
            out[mine] = copy_chance(w, t[mine], e[mine], delta)
    return out


def copy_chance(w: WorkerSums, t: np.ndarray, e: np.ndarray, delta: float) -> np.ndarray:
    """``pi_w(t)`` on one worker read: a copy left at ``t`` stays to the first read after it
    (``S(t)`` of :mod:`.token_copies`, counted from that read) and is taken before ``e``."""
    terms = login_terms(w, t, e, delta)
    return np.exp(-delta * (terms.first - t)) * terms.ahead[:, 0]


def attempt_windows(u: np.ndarray, tries: np.ndarray, window: float
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each session's windows before its attempts (``tries``: sessions x reusing attackers,
    first captures or inf), within its validity from ``u``, merged: sessions, starts and ends,
    sorted by session then start."""
    s, a = np.nonzero(np.isfinite(tries))
    t = tries[s, a]
    start = np.maximum(t - window, u[s])
    order = np.lexsort((start, s))
    pieces: list[tuple[int, float, float]] = []
    for i in order:  # merge each session's windows, in order of their starts
        if pieces and pieces[-1][0] == s[i] and start[i] <= pieces[-1][2]:
            pieces[-1] = (int(s[i]), pieces[-1][1], max(pieces[-1][2], float(t[i])))
        else:
            pieces.append((int(s[i]), float(start[i]), float(t[i])))
    if not pieces:
        return np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0)
    who, lo, hi = (np.array(c) for c in zip(*pieces))
    return who.astype(np.int64), lo, hi
