"""Passwords over-read from worker buffers: exact capture moments per worker lifetime, then a draw.

Hazards, per worker and segment, for attacker ``a`` sending ``k`` heartbeats per connection at
``connection_rate`` ``r`` with per-heartbeat capture ``c`` and crash probability ``p``:

* ``nu_a = r (1 - p)^k``: connections that do not crash. Crashing ones are explicit lifetime
  ends sampled by the skeleton, so the remaining connections are still Poisson (thinning).
* ``q_a = 1 - (1 - c)^k``: a non-crashing connection captures one given resident piece; pieces
  are drawn independently, so from ``n`` resident uncaptured passwords it takes
  ``Binomial(n, q_a)`` (rule 13: its captures share one instant).
* ``beta_a = nu_a q_a``: the capture hazard of one resident piece.
* A crash ending a lifetime after ``j`` answered heartbeats captures each resident uncaptured
  piece with ``1 - (1 - c)^j`` (rule 7: the crashing heartbeat itself reads nothing).
* Under ``next_handshake`` a connection with key operations clears the buffer *before* its
  heartbeats (rule 5): it captures nothing and clears at rate ``nu_a``.

The chain per worker counts ``n``, the resident passwords not yet captured by the attackers we
count (all malicious ones for the total, rule 12; attacker ``a`` alone for its own count; a
captured password still resident is as good as gone for distinct counting):

* ``next_request``: ``n in {0, 1}``; a login refills (``0 -> 1``), any other request empties.
* ``next_handshake``: logins add (``n -> n + 1``), a key operation empties (``n -> 0``).
* a mean ``m``: logins add, each copy leaves at ``1/m`` (``n -> n - 1`` at ``n/m``).

Counting chains above ``next_request`` are cut where fewer than ``TAIL`` of the stationary mass
lies above (a login arriving at the top state is dropped). With full generator ``Q`` and the
sub-generator ``S`` (capture moves removed, their rates ``kill`` sent to an absorbing state),
one matrix exponential of ``blockdiag([[S, kill], [0, 0]], [[Q, reward], [0, 0]])`` per piece
carries both exact moments of a lifetime: the absorbed mass is ``P(N > 0)`` and the last
coordinate is ``E[N] = int pi(t) reward dt`` (Van Loan, 1978) with
``reward(n) = sum_a nu_a n q_a``. A lifetime's count is then 0 with the exact ``P(N = 0)``,
else zero-truncated Poisson with the exact ``E[N | N > 0]``: first two facts exact, higher
moments approximate. Lifetimes are independent given the skeleton.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import special, stats
from scipy.linalg import expm

from sim.engines import EngineRefused
from sim.engines.fast.segments import AttackerRates, Lifetime, Segment
from sim.scenario.model import Lifetime as Residency
from sim.scenario.model import PasswordSpec

#: Stationary mass left above the highest state of a counting chain.
TAIL = 1e-12
#: Largest counting chain accepted; more resident passwords than this per worker is refused.
MAX_STATES = 300


@dataclass(slots=True)
class PasswordDraw:
    total: int
    """Distinct logins captured by any malicious attacker (rule 12)."""
    by_attacker: dict[str, int]
    """Each attacker's own distinct captures (benign attackers too)."""


@dataclass(frozen=True, slots=True)
class Hazard:
    """One attacker's pull on one resident piece of a secret kind in one segment."""

    name: str
    benign: bool
    nu: float
    """Non-crashing connections per second to the worker."""
    q: float
    """Chance one such connection captures a given resident piece (0 when it clears first)."""
    clears: bool
    """Its key operations empty a ``next_handshake`` buffer before it reads."""

    @property
    def beta(self) -> float:
        return self.nu * self.q


def per_connection(c: float, heartbeats: int) -> float:
    """``1 - (1 - c)^heartbeats``, keeping the digits of tiny values."""
    if c <= 0.0 or heartbeats <= 0:
        return 0.0
    if c >= 1.0:
        return 1.0
    return -math.expm1(heartbeats * math.log1p(-c))


def any_of(count: np.ndarray, q: float) -> np.ndarray:
    """``1 - (1 - q)^count`` per entry: some of ``count`` pieces is captured."""
    if q >= 1.0:
        return (count > 0).astype(float)
    return -np.expm1(count * math.log1p(-q))


def segment_hazards(
    seg: Segment, capture: Callable[[AttackerRates], float], rule: Residency
) -> tuple[Hazard, ...]:
    survive = 1.0 - seg.crash_probability
    out = []
    for a in seg.attackers:
        nu = a.connection_rate * survive**a.heartbeats
        clears = rule == "next_handshake" and a.key_ops > 0
        q = 0.0 if clears else per_connection(capture(a), a.heartbeats)
        out.append(Hazard(a.name, a.benign, nu, q, clears))
    return tuple(out)


def clear_rate(seg: Segment, hazards: Sequence[Hazard], rule: Residency) -> float:
    """Rate at which a worker's whole buffer of this kind is overwritten (0 for a mean lifetime)."""
    if rule == "next_request":
        return seg.requests
    if rule == "next_handshake":
        return seg.handshakes + sum(h.nu for h in hazards if h.clears)
    return 0.0


def crash_capture(
    lt: Lifetime,
    segments: Sequence[Segment],
    starts: Sequence[float],
    capture: Callable[[AttackerRates], float],
    rule: Residency,
) -> tuple[str, float] | None:
    """Who crashed this lifetime and its chance to capture one resident piece on the way."""
    if lt.end_cause != "crash" or lt.crash is None:
        return None
    seg = segments[max(0, bisect_left(starts, lt.end) - 1)]  # the one with t0 < end <= t1
    for a in seg.attackers:
        if a.name == lt.crash.attacker:
            if rule == "next_handshake" and a.key_ops > 0:
                return None
            q = per_connection(capture(a), lt.crash.answered_before)
            return (a.name, q) if q > 0.0 else None
    return None


def attacker_names(segments: Sequence[Segment]) -> tuple[list[str], frozenset[str]]:
    """Every attacker seen on the server, in order of appearance, and the malicious ones."""
    names: dict[str, bool] = {}
    for seg in segments:
        for a in seg.attackers:
            names.setdefault(a.name, a.benign)
    return list(names), frozenset(n for n, benign in names.items() if not benign)


def counting_sets(names: Sequence[str], malicious: frozenset[str]) -> list[frozenset[str]]:
    """The distinct sets of attackers whose captures one count tracks: each attacker alone,
    and all malicious attackers together (the same set as one attacker's when it is alone)."""
    sets = [frozenset({n}) for n in names]
    if malicious and malicious not in sets:
        sets.append(malicious)
    return sets


# -- the counting chain ------------------------------------------------------------------------


def state_count(
    spec: PasswordSpec, segments: Sequence[Segment], lifetimes: Sequence[Lifetime]
) -> int:
    """States of the counting chain: enough that at most ``TAIL`` of the mass is cut."""
    rule = spec.lifetime
    births = max((s.logins for s in segments), default=0.0)
    if births <= 0.0:
        return 1
    if rule == "next_request":
        return 2
    longest = max((lt.end - lt.start for lt in lifetimes), default=0.0)
    bounds = [float(stats.poisson.isf(TAIL, births * longest))]  # logins within one lifetime
    if rule == "next_handshake":
        slowest = min(
            clear_rate(s, segment_hazards(s, lambda a: a.c_password, rule), rule) for s in segments
        )
        if slowest > 0.0:  # geometric stationary law, dominated at the fastest fill
            ratio = births / (births + slowest)
            bounds.append(math.ceil(math.log(TAIL) / math.log(ratio)))
    else:
        bounds.append(float(stats.poisson.isf(TAIL, births * float(rule))))
    top = int(min(bounds))
    if top + 1 > MAX_STATES:
        raise EngineRefused(
            f"up to {top} uncaptured passwords could sit in one worker's memory; the fast engine "
            f"tracks at most {MAX_STATES - 1}. Shorten passwords.lifetime or use next_request "
            "(facts.md section 11: only the newest request stays readable)"
        )
    return top + 1


class CountChain:
    """Generators of the uncaptured-password count on one worker, per segment and counting set."""

    def __init__(self, spec: PasswordSpec, segments: Sequence[Segment], n: int) -> None:
        self.rule = spec.lifetime
        self.segments = segments
        self.n = n
        self.hazards = [segment_hazards(s, lambda a: a.c_password, self.rule) for s in segments]
        self.capturing = [frozenset(h.name for h in hz if h.beta > 0.0) for hz in self.hazards]
        self._binomial: dict[float, np.ndarray] = {}
        self._blocks: dict[tuple[int, frozenset[str]], np.ndarray] = {}
        self._propagators: dict[tuple[int, frozenset[str]], np.ndarray] = {}

    def legit(self, i: int) -> np.ndarray:
        """Generator without captures: logins, overwrites, expiry."""
        n, seg, rule = self.n, self.segments[i], self.rule
        Q = np.zeros((n, n))
        if n == 1:
            return Q
        idx = np.arange(n)
        if rule == "next_request":
            Q[:, 1] += seg.logins
            Q[:, 0] += max(0.0, seg.requests - seg.logins)
        else:
            Q[idx[:-1], idx[:-1] + 1] += seg.logins
            if rule == "next_handshake":
                Q[:, 0] += clear_rate(seg, self.hazards[i], rule)
            else:
                Q[idx[1:], idx[1:] - 1] += idx[1:] / float(rule)
        Q[idx, idx] = 0.0
        Q[idx, idx] = -Q.sum(axis=1)
        return Q

    def binomial(self, q: float) -> np.ndarray:
        """``T[n, n - j] = P(Binomial(n, q) = j)``: one connection's captures from ``n``."""
        T = self._binomial.get(q)
        if T is None:
            n, j = np.tril_indices(self.n)
            T = np.zeros((self.n, self.n))
            if q >= 1.0:
                T[:, 0] = 1.0
            else:
                log_pmf = (special.gammaln(n + 1) - special.gammaln(j + 1)
                           - special.gammaln(n - j + 1) + special.xlogy(j, q)
                           + (n - j) * math.log1p(-q))
                T[n, n - j] = np.exp(log_pmf)
            self._binomial[q] = T
        return T

    def block(self, i: int, counted: frozenset[str]) -> np.ndarray:
        """``blockdiag([[S, kill], [0, 0]], [[Q, reward], [0, 0]])`` of segment ``i``."""
        key = (i, counted)
        M = self._blocks.get(key)
        if M is not None:
            return M
        n = self.n
        legit = self.legit(i)
        S, Q = legit.copy(), legit.copy()
        kill, reward = np.zeros(n), np.zeros(n)
        count = np.arange(n)
        for h in self.hazards[i]:
            if h.name not in counted or h.beta <= 0.0:
                continue
            miss = (1.0 - h.q) ** count
            S += h.nu * (np.diag(miss) - np.eye(n))
            Q += h.nu * (self.binomial(h.q) - np.eye(n))
            kill += h.nu * any_of(count, h.q)
            reward += h.nu * h.q * count
        M = np.zeros((2 * n + 2, 2 * n + 2))
        M[:n, :n], M[:n, n] = S, kill
        M[n + 1 : 2 * n + 1, n + 1 : 2 * n + 1], M[n + 1 : 2 * n + 1, 2 * n + 1] = Q, reward
        self._blocks[key] = M
        return M

    def advance(self, x: np.ndarray, i: int, counted: frozenset[str], length: float) -> np.ndarray:
        """``x exp(M length)``; whole segments recur across lifetimes: their exponential is kept."""
        if length <= 0.0:
            return x
        counted = counted & self.capturing[i]
        if length == self.segments[i].duration:
            P = self._propagators.get((i, counted))
            if P is None:
                P = expm(self.block(i, counted) * length)
                self._propagators[(i, counted)] = P
            return x @ P
        return x @ expm(self.block(i, counted) * length)

    def start(self) -> np.ndarray:
        x = np.zeros(2 * self.n + 2)
        x[0] = x[self.n + 1] = 1.0  # empty heap at the lifetime start (rule 2)
        return x

    def crash_step(self, x: np.ndarray, q: float) -> np.ndarray:
        n = self.n
        count = np.arange(n)
        y = x.copy()
        y[n] += x[:n] @ any_of(count, q)
        y[2 * n + 1] += x[n + 1 : 2 * n + 1] @ (q * count)
        return y

    def moments(self, x: np.ndarray) -> tuple[float, float]:
        """``(P(N > 0), E[N])`` carried by a propagated vector."""
        return float(min(1.0, max(0.0, x[self.n]))), float(max(0.0, x[-1]))


# -- sampling ------------------------------------------------------------------------------------


def truncated_rate(mean: np.ndarray) -> np.ndarray:
    """``lam`` with ``lam / (1 - exp(-lam)) = mean`` (the zero-truncated Poisson's mean, >= 1).

    The left side is convex and increasing, so Newton from ``lam = mean`` (above the root)
    decreases monotonically onto it.
    """
    mu = np.maximum(np.asarray(mean, dtype=float), 1.0)
    lam = mu.copy()
    small = mu - 1.0 < 1e-8
    lam[small] = 2.0 * (mu[small] - 1.0)  # lam / (1 - e^-lam) = 1 + lam/2 + O(lam^2)
    todo = ~small
    for _ in range(200):
        if not todo.any():
            break
        x = lam[todo]
        one_minus = -np.expm1(-x)
        g = x / one_minus - mu[todo]
        dg = (one_minus - x * np.exp(-x)) / one_minus**2
        step = g / dg
        lam[todo] = x - step
        todo[todo] = np.abs(step) > 1e-12 * np.maximum(x, 1e-300)
    return lam


def truncated_poisson_quantile(lam: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Inverse CDF of Poisson(``lam``) given ``>= 1`` at ``v``: the least ``k >= 1`` with
    ``P(X > k) <= (1 - v) P(X >= 1)``. Monotone in ``lam`` for fixed ``v``, which couples the
    counts of nested attacker sets."""
    lam = np.asarray(lam, dtype=float)
    s = np.maximum((1.0 - np.asarray(v, dtype=float)) * -np.expm1(-lam), np.finfo(float).tiny)
    # Start from the normal approximation, then step to the exact quantile.
    k = np.maximum(1.0, np.round(lam - special.ndtri(s) * np.sqrt(lam)))
    while True:
        up = special.pdtrc(k, lam) > s
        down = (k > 1.0) & (special.pdtrc(k - 1.0, lam) <= s)
        if not (up.any() or down.any()):
            return k.astype(np.int64)
        k = k + up - down


def sample_counts(p_any: np.ndarray, mean: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Counts with exact ``P(N > 0) = p_any`` and ``E[N] = mean`` from uniforms ``u``, ``v``."""
    out = np.zeros(p_any.shape, dtype=np.int64)
    hit = u < p_any
    if hit.any():
        lam = truncated_rate(mean[hit] / p_any[hit])
        out[hit] = truncated_poisson_quantile(lam, v[hit])
    return out


# -- entry point -----------------------------------------------------------------------------


def sample_passwords(
    spec: PasswordSpec,
    segments: Sequence[Segment],
    lifetimes: Sequence[Lifetime],
    workers: int,
    rng: np.random.Generator,
) -> PasswordDraw:
    """Draw the passwords captured on one server in one replication, given its skeleton.

    ``workers`` is implied by ``lifetimes`` (each carries its worker); it is kept in the
    signature so that every buffer integral reads the same arguments.
    """
    names, malicious = attacker_names(segments)
    by_attacker = dict.fromkeys(names, 0)
    sets = counting_sets(names, malicious)
    hot_any = [bool(s.vulnerable and s.attackers) for s in segments]
    if not sets or not any(hot_any) or not lifetimes:
        return PasswordDraw(0, by_attacker)
    n = state_count(spec, segments, lifetimes)
    if n == 1:
        return PasswordDraw(0, by_attacker)
    chain = CountChain(spec, segments, n)
    starts = [s.t0 for s in segments]
    capture = lambda a: a.c_password  # noqa: E731 - the password column of AttackerRates

    p_any: list[list[float]] = []
    means: list[list[float]] = []
    for lt in lifetimes:
        crash = crash_capture(lt, segments, starts, capture, spec.lifetime)
        moments = lifetime_moments(chain, lt, sets, starts, crash)
        if moments is not None:
            p_any.append([m[0] for m in moments])
            means.append([m[1] for m in moments])
    if not p_any:
        return PasswordDraw(0, by_attacker)
    P, E = np.array(p_any), np.array(means)
    u, v = rng.random(P.shape[0]), rng.random(P.shape[0])  # shared by all sets of a lifetime
    counts = {s: int(sample_counts(P[:, j], E[:, j], u, v).sum()) for j, s in enumerate(sets)}
    for name in names:
        by_attacker[name] = counts[frozenset({name})]
    total = counts[malicious] if malicious else 0
    # Coupled draws already order nested sets almost always; a set's distinct count is never
    # below any member's, so the rare inversion is resolved towards that identity.
    total = max([total, *(by_attacker[a] for a in malicious)])
    return PasswordDraw(total, by_attacker)


def lifetime_moments(
    chain: CountChain,
    lt: Lifetime,
    sets: Sequence[frozenset[str]],
    starts: Sequence[float],
    crash: tuple[str, float] | None,
) -> list[tuple[float, float]] | None:
    """``(P(N > 0), E[N])`` of one worker lifetime for each counting set; None when nothing can
    be captured in it."""
    if lt.end <= lt.start:
        return None
    segs = chain.segments
    first = max(0, bisect_right(starts, lt.start) - 1)
    pieces = []
    i = first
    while i < len(segs) and segs[i].t0 < lt.end:
        a, b = max(segs[i].t0, lt.start), min(segs[i].t1, lt.end)
        if b > a:
            pieces.append((i, b - a))
        i += 1
    hot = [k for k, (i, _) in enumerate(pieces) if chain.capturing[i]]
    if not hot and crash is None:
        return None
    first_hot = hot[0] if hot else len(pieces)
    last = len(pieces) - 1 if crash is not None else hot[-1]
    x = chain.start()
    for i, length in pieces[:first_hot]:
        x = chain.advance(x, i, frozenset(), length)
    out = []
    for counted in sets:
        touched = any(chain.capturing[pieces[k][0]] & counted for k in hot)
        crashes = crash is not None and crash[0] in counted
        if not (touched or crashes):
            out.append((0.0, 0.0))
            continue
        y = x
        for i, length in pieces[first_hot : last + 1]:
            y = chain.advance(y, i, counted, length)
        if crashes:
            assert crash is not None
            y = chain.crash_step(y, crash[1])
        out.append(chain.moments(y))
    return out
