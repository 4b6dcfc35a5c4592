"""Where a worker's key pieces are, as a small Markov chain, and when a capture happens.

The long-lived key is fixed for a worker lifetime (reachable or not: 2 pieces or none). The
transient copies left by private-key operations change with traffic the fast engine does not
sample one by one (legitimate handshakes, requests, attackers' own key operations), so their
number ``n`` is a hidden continuous-time Markov chain with a handful of states:

* a key operation replaces the ``next_handshake`` copies by its own ``floor(cph)`` or
  ``floor(cph)+1`` copies, or adds them for the other lifetimes;
* a legitimate request clears ``next_request`` copies;
* an exponential ``copy_lifetime`` removes each copy at rate ``1/mean``.

An attacker connection first moves the chain by its key operations, then its ``k`` heartbeats
capture at least one of the ``2L + n`` resident pieces with probability
``1 - (1 - c)^(k (2L + n))`` — one heartbeat's captures share its time (rule 13), so this is the
per-connection probability, not a sum of per-piece rates. Removing the capturing transitions of
the attackers still "watching" the key (those that have not captured it yet) from the generator
gives a sub-generator ``G``; ``pi exp(G t) 1`` is then the exact probability that none of them
captures the key within ``t``, and its root gives the exact capture time.
"""

from __future__ import annotations

import cmath
import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.optimize import brentq

from sim.engines.fast.copy_law import Streams, batch_sizes, server_streams, tail_count
from sim.engines.fast.segments import AttackerRates, Segment
from sim.engines.fast.spectral import Doubling, Spectrum, exponential, propagate
from sim.model.capture import any_of_counts
from sim.scenario.model import Attacker, KeySpec, Server

#: Largest chain carried; copies that can pile up beyond it are counted instead
#: (:mod:`.key_count`). Below it the chain is cut far past any mass that matters
#: (:func:`chain_states`).
MAX_STATES = 200


def chain_states(keys: KeySpec, max_ops_rate: float, min_clear_rate: float,
                 streams: Streams | None = None) -> float:
    """States the chain needs at the most key operations per second (``max_ops_rate``, or by
    the copies each leaves, ``streams``) and the slowest clearing by requests: every count
    up to 12 standard deviations above the mean of a Poisson count of the mean's size, and
    at least up to the count the stationary law passes with probability ``TAIL``
    (:func:`.copy_law.tail_count`); infinity where copies can pile up without bound
    (``next_request`` copies on a worker with no legitimate requests).

    The second bound came on 2026-12-05, when :mod:`.key_count`'s exact stationary law showed
    the first too short for laws wider than Poisson: ``next_request`` copies, whose events
    since the last clearing request are geometric (12 Poisson deviations left out 2% of the
    mass where key operations outnumbered requests eight to one), and batches of several
    copies. Where the first sufficed it is kept, so that no chain that was exact changed."""
    cph = keys.copies_per_handshake
    low = int(math.floor(cph))
    if cph == 0:
        return 1
    if keys.copy_lifetime == "next_handshake":
        return low + 2
    clear = min_clear_rate
    decay = 0.0
    if keys.copy_lifetime != "next_request":
        clear = decay = 1.0 / float(keys.copy_lifetime)
    if max_ops_rate == 0:
        return 1
    if clear == 0:
        return math.inf
    mean = (max_ops_rate / clear) * cph
    poisson = int(mean + 12.0 * math.sqrt(mean + 1.0) + 12.0 + low) + 1
    if streams is None:
        streams = tuple((k, max_ops_rate * p) for k, p in batch_sizes(keys, 1) if k > 0)
    tail = tail_count(streams, decay, 0.0 if decay else clear)
    return max(poisson, math.ceil(tail) + 1)


def server_chain_states(server: Server, attackers: Iterable[Attacker]) -> float:
    """:func:`chain_states` of ``server``'s key when ``attackers`` may all send at once."""
    attackers = list(attackers)
    streams, clear = server_streams(server, attackers)
    ops = server.traffic.handshakes_per_s / server.workers + sum(
        a.connection_rate * a.key_ops_per_connection for a in attackers
    ) / server.total_workers
    return chain_states(server.keys, ops, clear, streams)


@dataclass(frozen=True, slots=True)
class Dynamics:
    """The chain at constant rates: sub-generator and what each watched attacker's capture does."""

    G: np.ndarray
    exponential: Spectrum | Doubling | None
    kill: dict[str, np.ndarray]
    """Per watched attacker: capture hazard from each state."""
    capture_moves: dict[str, np.ndarray]
    """Per watched attacker: ``T_a diag(q_a)``: state before -> state after, given a capture."""
    can_capture: bool


class KeyChain:
    """The transient-copy chain of one server's key.

    One chain serves every replication with the same key and bounds (:meth:`for_server`), so
    its caches, keyed by rates rather than by time, keep each configuration's decomposition and
    ``key_miss`` for the whole process: configurations recur in every replication.
    """

    def __init__(self, keys: KeySpec, states: int) -> None:
        """``states``: counts ``0 .. states - 1``, the last holding any more
        (:func:`chain_states`)."""
        if states > MAX_STATES:  # :mod:`.key_count` draws such counts instead
            raise ValueError(f"a key chain of {states} states; the limit is {MAX_STATES}")
        self.keys = keys
        cph = keys.copies_per_handshake
        self._low = int(math.floor(cph))
        self._frac = cph - self._low
        self.n = states
        self._op = self._operation_kernel()
        self._cache: dict[tuple, Dynamics] = {}
        self._miss: dict[tuple, tuple[float, float]] = {}
        self._legit: dict[
            tuple[float, float], tuple[np.ndarray, Spectrum | Doubling, float, np.ndarray | None]
        ] = {}

    @classmethod
    def for_server(cls, server: Server, attackers: Iterable[Attacker]) -> KeyChain:
        """The chain of ``server``'s key when ``attackers`` may all send to it at once (a
        server within ``MAX_STATES``)."""
        return shared_chain(server.keys, int(server_chain_states(server, attackers)))

    def _operation_kernel(self) -> np.ndarray:
        """One private-key operation: ``n -> n'`` (replace or add its copies)."""
        n = self.n
        K = np.zeros((n, n))
        lo, fr = self._low, self._frac
        for i in range(n):
            base = 0 if self.keys.copy_lifetime == "next_handshake" else i
            K[i, min(base + lo, n - 1)] += 1.0 - fr
            if fr > 0:
                K[i, min(base + lo + 1, n - 1)] += fr
        return K

    # -- dynamics --------------------------------------------------------------------------
    def legit_generator(self, seg: Segment) -> np.ndarray:
        n = self.n
        Q = np.zeros((n, n))
        if n == 1:
            return Q
        Q += seg.handshakes * (self._op - np.eye(n))
        lifetime = self.keys.copy_lifetime
        if lifetime == "next_request":
            clear = np.zeros((n, n))
            clear[:, 0] = 1.0
            Q += seg.requests * (clear - np.eye(n))
        elif lifetime != "next_handshake":
            rate = 1.0 / float(lifetime)
            for i in range(1, n):
                Q[i, i - 1] += i * rate
                Q[i, i] -= i * rate
        return Q

    def legit_rates(self, seg: Segment) -> tuple[float, float]:
        """The rates that move the copies between attacks (:meth:`legit_generator`): requests
        only where they clear copies. Stretches that agree on them evolve alike."""
        requests = seg.requests if self.keys.copy_lifetime == "next_request" else 0.0
        return requests, seg.handshakes

    def evolve_legit(self, seg: Segment, pi: np.ndarray, t: float) -> np.ndarray:
        """``pi`` after ``t`` seconds of legitimate traffic only (no attacker connections).

        Past 60 mean holding times the chain has forgotten where it started to double
        precision, so longer stretches (most attack-free gaps) cost one cached stationary law.
        """
        if self.n == 1 or t <= 0:
            return pi
        key = self.legit_rates(seg)
        cached = self._legit.get(key)
        if cached is None:
            Q = self.legit_generator(seg)
            rate = float(-np.diag(Q).min())
            horizon = 60.0 / rate if rate > 0 else math.inf
            exp = exponential(Q)
            limit = None
            if math.isfinite(horizon):
                limit = propagate(Q, np.eye(self.n)[0], horizon, exp)
                limit /= limit.sum()
            cached = (Q, exp, horizon, limit)
            self._legit[key] = cached
        Q, exp, horizon, limit = cached
        if limit is None:  # no legitimate traffic moves the copies: they stay as they are
            return pi
        if t >= horizon:
            return limit.copy()
        out = propagate(Q, pi, t, exp)
        return out / out.sum()

    def _connection_kernel(self, a: AttackerRates) -> np.ndarray:
        return np.linalg.matrix_power(self._op, a.key_ops) if a.key_ops else np.eye(self.n)

    def capture_probability(self, a: AttackerRates, reachable: bool, heartbeats: int) -> np.ndarray:
        """``q(n')``: some resident piece is captured by ``heartbeats`` answered heartbeats."""
        pieces = 2 * int(reachable) + np.arange(self.n)
        if heartbeats <= 0:
            return np.zeros(self.n)
        return any_of_counts(pieces * heartbeats, a.c_key)

    def key_miss(self, seg: Segment, a: AttackerRates) -> tuple[float, float]:
        """P(a non-crashing connection of ``a`` does not capture the key), per reachability.

        Exact when the connection's own key operations replace the copies (its kernel rows are
        all alike: the state before it does not matter); otherwise averaged over the
        stationary law of the copies under all of the segment's traffic, legitimate and
        attackers' key operations alike (:meth:`stationary`), which is what a worker's copies
        look like between attack connections when no capture is conditioned on.
        """
        key = (seg.requests, seg.handshakes, seg.attackers, a)
        cached = self._miss.get(key)
        if cached is None:
            cached = self._miss[key] = self._key_miss(seg, a)
        return cached

    def _key_miss(self, seg: Segment, a: AttackerRates) -> tuple[float, float]:
        T = self._connection_kernel(a)
        before = T[0] if np.allclose(T, T[0]) else self.stationary(seg) @ T
        return tuple(  # type: ignore[return-value]
            float(before @ (1.0 - self.capture_probability(a, reachable, a.heartbeats)))
            for reachable in (False, True)
        )

    def stationary(self, seg: Segment) -> np.ndarray:
        """Stationary law of the copies at ``seg``'s rates, captures aside: legitimate traffic
        and every attacker connection's key operations (crashing ones too) move them."""
        G = self.legit_generator(seg)
        for a in seg.attackers:
            if a.key_ops:
                G = G + a.connection_rate * (self._connection_kernel(a) - np.eye(self.n))
        if not G.any():
            return np.eye(self.n)[0]
        # pi G = 0 with sum(pi) = 1: replace one balance equation by the normalisation.
        A = G.T.copy()
        A[-1, :] = 1.0
        b = np.zeros(self.n)
        b[-1] = 1.0
        try:
            pi = np.maximum(np.linalg.solve(A, b), 0.0)
        except np.linalg.LinAlgError:  # several closed classes: start from no copies
            return self.evolve_legit(seg, np.eye(self.n)[0], math.inf)
        return pi / pi.sum()

    def dynamics(self, seg: Segment, reachable: bool, watched: frozenset[str]) -> Dynamics:
        """Chain dynamics at ``seg``'s rates (kept: the same rates recur across replications)."""
        key = (seg.requests, seg.handshakes, seg.crash_probability, seg.attackers, reachable,
               watched)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        n = self.n
        G = self.legit_generator(seg)
        kill: dict[str, np.ndarray] = {}
        moves: dict[str, np.ndarray] = {}
        can_capture = False
        for a in seg.attackers:
            survive = (1.0 - seg.crash_probability) ** a.heartbeats
            rate = a.connection_rate * survive
            if rate == 0:
                continue
            T = self._connection_kernel(a)
            if a.name in watched:
                q = self.capture_probability(a, reachable, a.heartbeats)
                C = T * q[None, :]
                G += rate * (T - C - np.eye(n))
                kill[a.name] = rate * C.sum(axis=1)
                moves[a.name] = C
                can_capture = can_capture or bool(q.any())
            else:
                G += rate * (T - np.eye(n))
        dyn = Dynamics(G, exponential(G) if n > 1 else None, kill, moves, can_capture)
        self._cache[key] = dyn
        return dyn

    def after_key_ops(self, a: AttackerRates, pi: np.ndarray) -> np.ndarray:
        """The copies after one connection's key operations, which come before its heartbeats
        (rule 5): what a crashing or a followed connection reads."""
        return pi @ self._connection_kernel(a)


#: Survivals below this are taken as this on the log scale (the root lies far above it).
TINY = 1e-300


@lru_cache(maxsize=64)
def shared_chain(keys: KeySpec, states: int) -> KeyChain:
    """The one :class:`KeyChain` of these arguments in this process (see its docstring)."""
    return KeyChain(keys, states)


def capture_time(dyn: Dynamics, pi: np.ndarray, horizon: float, u: float) -> float | None:
    """First time the survival ``pi exp(G t) 1`` falls to ``u`` within ``horizon``, else None."""
    G = dyn.G
    if horizon <= 0:
        return None
    by = dyn.exponential
    if isinstance(by, Spectrum) and G.shape[0] > 1:
        return first_passage(*by.mass_terms(pi), horizon, u)
    survival = lambda t: float(propagate(G, pi, t, by).sum())  # noqa: E731
    if survival(horizon) > u:
        return None
    if G.shape[0] == 1:
        rate = -G[0, 0]
        return min(horizon, -math.log(u / pi.sum()) / rate) if rate > 0 else None
    # On the log scale the survival is nearly linear in t (exactly so with one decay rate),
    # where Brent's inverse quadratic steps converge in about four evaluations, not eleven.
    log_u = math.log(u)

    def excess(t: float) -> float:
        return math.log(max(survival(t), TINY)) - log_u

    return brentq(excess, 0.0, horizon, xtol=1e-9 * max(1.0, horizon), rtol=1e-12)


def first_passage(a: np.ndarray, w: np.ndarray, horizon: float, u: float) -> float | None:
    """First ``t`` in ``[0, horizon]`` where ``S(t) = sum_k a_k e^(w_k t)`` (a survival, so
    non-increasing) falls to ``u``, else None: Newton's method on ``log S``, which is nearly
    linear in ``t`` (exactly so with one decay rate: one step), from ``t = 0``, each step kept
    inside the bracket it narrows (bisecting where Newton would leave it). Three evaluations
    on PSMail, the horizon's included, where Brent's search took up to 35 when the survival
    underflowed long before the horizon; it stops within the tolerance
    :func:`scipy.optimize.brentq` was given there.

    The terms are Python numbers: a chain has a few states, where each numpy call would cost
    more than its arithmetic (in numpy this took 5% of a PSMail replication)."""
    log_u = math.log(u)
    exp = cmath.exp if np.iscomplexobj(a) or np.iscomplexobj(w) else math.exp
    pairs = list(zip(a.tolist(), w.tolist()))

    def excess(t: float) -> tuple[float, float]:
        mass = slope = 0.0
        for ak, wk in pairs:
            term = ak * exp(wk * t)
            mass += term
            slope += term * wk
        mass, slope = mass.real, slope.real
        if mass <= TINY:  # underflow, far past the root: bisect
            return math.log(TINY) - log_u, math.nan
        return math.log(mass) - log_u, slope / mass

    if excess(horizon)[0] > 0.0:
        return None
    t = 0.0
    f, slope = excess(t)
    if f <= 0.0:
        return 0.0
    lo, hi = 0.0, horizon
    tol = 1e-9 * max(1.0, horizon)
    while True:
        nxt = t - f / slope if slope < 0.0 else math.nan
        if abs(nxt - t) <= tol:
            return min(max(nxt, lo), hi)
        if not lo < nxt < hi:
            nxt = 0.5 * (lo + hi)
            if hi - lo <= tol:
                return nxt
        t = nxt
        f, slope = excess(t)
        if f > 0.0:
            lo = t
        else:
            hi = t
