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

import math
from dataclasses import dataclass

import numpy as np
from scipy.linalg import expm
from scipy.optimize import brentq

from sim.engines import EngineRefused
from sim.engines.fast.segments import AttackerRates, Segment
from sim.scenario.model import KeySpec

#: Largest chain the engine accepts; accumulating copies beyond this are refused. Below it the
#: chain is cut 12 standard deviations above the mean count, far past any mass that matters.
MAX_STATES = 200


@dataclass(frozen=True, slots=True)
class Dynamics:
    """The chain at constant rates: sub-generator and what each watched attacker's capture does."""

    G: np.ndarray
    kill: dict[str, np.ndarray]
    """Per watched attacker: capture hazard from each state."""
    capture_moves: dict[str, np.ndarray]
    """Per watched attacker: ``T_a diag(q_a)``: state before -> state after, given a capture."""
    can_capture: bool


class KeyChain:
    """The transient-copy chain of one server's key; built once per server and replication."""

    def __init__(self, keys: KeySpec, max_ops_rate: float, min_clear_rate: float) -> None:
        """``max_ops_rate``: the most key operations per second a worker may see (legitimate
        plus attackers'); ``min_clear_rate``: the slowest clearing (requests per second for
        ``next_request`` copies). Together they bound how many copies can accumulate."""
        self.keys = keys
        cph = keys.copies_per_handshake
        self._low = int(math.floor(cph))
        self._frac = cph - self._low
        self.n = self._state_count(keys, max_ops_rate, min_clear_rate)
        self._op = self._operation_kernel()
        self._cache: dict[tuple, Dynamics] = {}

    def _state_count(self, keys: KeySpec, ops: float, clear: float) -> int:
        if keys.copies_per_handshake == 0:
            return 1
        if keys.copy_lifetime == "next_handshake":
            return self._low + 2
        if keys.copy_lifetime != "next_request":
            clear = 1.0 / float(keys.copy_lifetime)
        if ops == 0:
            return 1
        if clear == 0:
            raise EngineRefused(
                "keys.copy_lifetime lets transient key copies accumulate without bound on a "
                "worker with no legitimate requests; use next_handshake or a finite lifetime"
            )
        mean = (ops / clear) * keys.copies_per_handshake
        bound = int(mean + 12.0 * math.sqrt(mean + 1.0) + 12.0 + self._low)
        if bound > MAX_STATES:
            raise EngineRefused(
                f"about {mean:.0f} transient key copies could be resident per worker; the fast "
                f"engine tracks at most {MAX_STATES}. Shorten keys.copy_lifetime or use "
                "next_handshake (facts.md section 11: copies do not accumulate)"
            )
        return bound + 1

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

    def _connection_kernel(self, a: AttackerRates) -> np.ndarray:
        return np.linalg.matrix_power(self._op, a.key_ops) if a.key_ops else np.eye(self.n)

    def capture_probability(self, a: AttackerRates, reachable: bool, heartbeats: int) -> np.ndarray:
        """``q(n')``: some resident piece is captured by ``heartbeats`` answered heartbeats."""
        pieces = 2 * int(reachable) + np.arange(self.n)
        if a.c_key <= 0.0 or heartbeats <= 0:
            return np.zeros(self.n)
        if a.c_key >= 1.0:
            return (pieces > 0).astype(float)
        return -np.expm1(pieces * heartbeats * math.log1p(-a.c_key))

    def dynamics(
        self, seg: Segment, config_id: int, reachable: bool, watched: frozenset[str]
    ) -> Dynamics:
        """Chain dynamics in a configuration; ``config_id`` names the configuration for caching."""
        key = (config_id, reachable, watched)
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
        dyn = Dynamics(G, kill, moves, can_capture)
        self._cache[key] = dyn
        return dyn

    def state_after_crash_ops(self, a: AttackerRates, pi: np.ndarray) -> np.ndarray:
        return pi @ self._connection_kernel(a)


def propagate(G: np.ndarray, pi: np.ndarray, t: float) -> np.ndarray:
    """``pi exp(G t)`` (sub-stochastic when ``G`` kills)."""
    if t <= 0:
        return pi.copy()
    n = G.shape[0]
    if n == 1:
        return pi * math.exp(G[0, 0] * t)
    return pi @ expm(G * t)


def capture_time(G: np.ndarray, pi: np.ndarray, horizon: float, u: float) -> float | None:
    """First time the survival ``pi exp(G t) 1`` falls to ``u`` within ``horizon``, else None."""
    if horizon <= 0:
        return None
    if float(propagate(G, pi, horizon).sum()) > u:
        return None
    n = G.shape[0]
    if n == 1:
        rate = -G[0, 0]
        return min(horizon, -math.log(u / pi.sum()) / rate) if rate > 0 else None
    f = lambda t: float((pi @ expm(G * t)).sum()) - u  # noqa: E731 - root-finding closure
    return brentq(f, 0.0, horizon, xtol=1e-9 * max(1.0, horizon), rtol=1e-12)


def stationary_start(Q: np.ndarray, age: float) -> np.ndarray:
    """Chain distribution ``age`` seconds after a restart (empty heap: ``n = 0``)."""
    pi0 = np.zeros(Q.shape[0])
    pi0[0] = 1.0
    if Q.shape[0] == 1 or age <= 0:
        return pi0
    rate = float(-np.diag(Q).min())
    # Past ~60 mean holding times the chain has forgotten its start to double precision.
    t = min(age, 60.0 / rate) if rate > 0 else age
    return np.clip(pi0 @ expm(Q * t), 0.0, None)
