"""Key copies counted: their number drawn where the chain's law of it will not do.

Two cases call for it (:func:`key_copies_for`). Copies that linger (a duration
``copy_lifetime``) pile up on a busy worker: a mean lifetime of a minute at 50 handshakes a
second keeps about 3,000 resident, and the chain of :mod:`.key_copies`, one state per count,
would cost minutes a replication past ``MAX_STATES``. And beside ``max_requests`` a restart
comes at the N-th connection that did not take the key, and which those were depends on the
copies each met, which the chain leaves hidden. Here the number itself is drawn, exactly, and
so is every connection that could take the key:

* Between events the count moves by an exact Markov transition drawn at a cost that does not
  depend on it. Key operations are Poisson streams, each leaving a batch of copies (``cph``
  per operation: ``floor(cph)`` or one more); with exponential residencies (mean ``1/mu``) a
  batch of ``K`` made at ``s`` leaves ``Binomial(K, e^(-mu (t - s)))`` at ``t``, so by the
  marking theorem the batches leaving ``j`` copies form independent Poisson counts of mean
  ``rate (1 - I_x(j, K - j + 1)) / (j mu)`` (``x = e^(-mu t)``, ``I`` the regularised
  incomplete beta; ``C(K, j) B(j, K - j + 1) = 1 / j``), and the copies already there survive
  as ``Binomial(n, x)``. ``next_request`` copies all go at the worker's next request: the
  count is the copies made since the last request (its age truncated-exponential), or since
  ``t`` ago plus the ones there if none came. ``next_handshake`` copies are the last key
  operation's, if one came.
* The key is taken at the first connection, of an attacker still watching it, whose
  heartbeats capture one of the ``2L + n`` resident pieces: a Cox process of intensity
  ``r (1 - z^(2L + n(t)))`` (``z = (1 - c)^k``), at most ``r``. The watching attackers'
  connections that do not crash are therefore drawn as a Poisson stream at ``r`` (*candidates*)
  and each one, having first made its own key operations, takes the key with probability
  ``1 - z^(2L + n)`` at the drawn ``n``: thinning, exact; each counts toward ``max_requests``
  as it comes. It costs the connections sent before the capture; with copies by the hundred
  the first one nearly always captures (``check`` refuses a server past the chain's size
  whose candidates would number more than ``CANDIDATE_LIMIT`` a replication, the reference
  engine's event budget; beside ``max_requests`` the chain is kept past
  ``COUNTED_BESIDE_MAX_REQUESTS``).

What the count is not drawn for: the stationary ``key_miss`` the integrated password and
session reads of heavy attackers use (``docs/fast-engine.md``, item 7) is the closed form of
the stationary law's generating function (:mod:`.copy_law`), as the chain's is its
stationary vector.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import integrate, special

from sim.engines.fast.copy_law import batch_sizes, key_operations, log_pgf
from sim.engines.fast.key_copies import MAX_STATES, KeyChain, server_chain_states
from sim.engines.fast.reads import pick
from sim.engines.fast.segments import AttackerRates, Segment
from sim.engines import EngineRefused
from sim.model.attackers import longest_window
from sim.model.capture import CaptureTable, any_of
from sim.scenario.model import Attacker, KeySpec, Server

#: Most candidate connections (connections that could take the key, each an event) one
#: replication may expect where the copies must be counted (past the chain's size); past it
#: ``check`` refuses the scenario before any work. The reference engine's event budget: each
#: candidate is a connection, so at least one heartbeat that engine would simulate, and every
#: scenario it accepts runs here too. A candidate costs about 33 us (2026-12-07), several
#: times a reference event (7 us), so near the limit the reference engine is the faster one
#: (``plan`` says so past ``SLOW_EVENTS``). Until 2026-12-07 100,000,
#: which refused some scenarios the reference engine runs.
CANDIDATE_LIMIT = 2_000_000

#: Most candidates for which the copies are counted beside ``max_requests`` where the chain
#: could carry them; past it the chain is kept, for cost, and key-taking connections leave the
#: count with the stationary miss (``docs/fast-engine.md``, item 7).
COUNTED_BESIDE_MAX_REQUESTS = 100_000


@dataclass(frozen=True, slots=True)
class CountDynamics:
    """What moves a worker's copies at a configuration's rates, and who may take the key."""

    batches: tuple[tuple[float, int], ...]
    """``(rate, copies)``: Poisson streams of key operations (legitimate ones and those of
    the connections that are not candidates), merged by the copies each leaves."""
    clear: float
    """``next_request`` copies: the worker's legitimate requests per second, which clear all."""
    operations: float
    """Key operations per second that are not candidates' (a connection's several count
    once): under ``next_handshake`` the last one's copies are all that is left."""
    candidates: tuple[AttackerRates, ...]
    """The watching attackers whose connections are drawn one by one (:attr:`rates`)."""
    rates: np.ndarray
    """Each candidate's connections per second that do not crash the worker."""
    rate: float
    can_capture: bool


class KeyCount:
    """The drawn count of one server's key copies (see the module docstring). One serves every
    replication of a process (:func:`shared_count`): the dynamics are kept by rates."""

    def __init__(self, keys: KeySpec) -> None:
        self.keys = keys
        lifetime = keys.copy_lifetime
        self.replace = lifetime == "next_handshake"
        """Each key operation replaces the copies by its own (rule 5)."""
        self.decay = 0.0 if isinstance(lifetime, str) else 1.0 / float(lifetime)
        self.per_op = batch_sizes(keys, 1)
        self._cache: dict[tuple, CountDynamics] = {}
        self._miss: dict[tuple, tuple[float, float]] = {}

    # -- dynamics --------------------------------------------------------------------------
    def _clear(self, seg: Segment) -> float:
        return seg.requests if self.keys.copy_lifetime == "next_request" else 0.0

    def legit_rates(self, seg: Segment) -> tuple[float, float]:
        """The rates that move the copies between attacks: stretches that agree on them
        evolve alike (as :meth:`.key_copies.KeyChain.legit_rates`)."""
        return self._clear(seg), seg.handshakes

    def dynamics(self, seg: Segment, reachable: bool, watched: frozenset[str]) -> CountDynamics:
        """The copies' moves at ``seg``'s rates; the attackers of ``watched`` that can take the
        key are candidates, the others' key operations a stream of batches. ``reachable``
        (the chain's signature) changes no move: a candidate's chance reads it."""
        key = (seg.requests, seg.handshakes, seg.crash_probability, seg.attackers, watched)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        candidates, rates, others = [], [], []
        for a in seg.attackers:
            rate = a.connection_rate * (1.0 - seg.crash_probability) ** a.heartbeats
            if rate == 0.0:
                continue
            if a.name in watched and a.c_key > 0.0 and a.heartbeats > 0:
                candidates.append(a)
                rates.append(rate)
            else:
                others.append((rate, a.key_ops))
        streams, operations = key_operations(self.keys, seg.handshakes, others)
        dyn = CountDynamics(
            batches=tuple((r, k) for k, r in sorted(streams.items())),
            clear=self._clear(seg), operations=operations,
            candidates=tuple(candidates),
            rates=np.array(rates), rate=float(sum(rates)), can_capture=bool(candidates))
        self._cache[key] = dyn
        return dyn

    def legit(self, seg: Segment) -> CountDynamics:
        """The moves of legitimate traffic alone: an attack-free stretch."""
        return self.dynamics(seg.reshaped(seg.t1, ()), False, frozenset())

    # -- draws -----------------------------------------------------------------------------
    def evolve(self, dyn: CountDynamics, n: int, t: float, rng: np.random.Generator) -> int:
        """The count ``t`` seconds on, drawn from ``n`` under ``dyn`` (no candidate took)."""
        if t <= 0.0:
            return n
        if self.replace:
            return n if rng.random() < math.exp(-dyn.operations * t) else self._one_op(rng)
        if self.decay > 0.0:
            x = math.exp(-self.decay * t)
            kept = int(rng.binomial(n, x)) if n else 0
            return kept + self._made(dyn, rng, x)
        if dyn.clear > 0.0:
            none = math.exp(-dyn.clear * t)
            u = rng.random()
            if u < none:
                return n + self._made(dyn, rng, 1.0, t)
            # The last request's age given one in ``t``, a truncated exponential, by inversion
            # (``(u - none) / (1 - none)`` is uniform given ``u >= none``).
            age = -math.log1p(-(u - none)) / dyn.clear
            return self._made(dyn, rng, 1.0, min(age, t))
        return n + self._made(dyn, rng, 1.0, t)

    def _made(self, dyn: CountDynamics, rng: np.random.Generator, x: float,
              span: float = 0.0) -> int:
        """Copies made in the stretch and still resident at its end: with decay, ``x`` the
        survival over the stretch (the module docstring's sums); without, every copy made in
        ``span`` seconds."""
        if self.decay == 0.0:
            return sum(k * int(rng.poisson(r * span)) for r, k in dyn.batches)
        by_survivors: dict[int, float] = {}
        for r, k in dyn.batches:
            j = np.arange(1, k + 1)
            left = special.betainc(j, k - j + 1, x) if x > 0.0 else np.zeros(k)
            for jj, mean in zip(j.tolist(), (r * (1.0 - left) / (j * self.decay)).tolist()):
                by_survivors[jj] = by_survivors.get(jj, 0.0) + mean
        return sum(j * int(rng.poisson(mean)) for j, mean in by_survivors.items())

    def after_key_ops(self, a: AttackerRates, n: int, rng: np.random.Generator) -> int:
        """The count after one connection's key operations, which come before its heartbeats
        (rule 5)."""
        if not a.key_ops:
            return n
        if self.replace:
            return self._one_op(rng)
        sizes = batch_sizes(self.keys, a.key_ops)
        if len(sizes) == 1:
            return n + sizes[0][0]
        return n + sizes[pick(rng, np.array([p for _, p in sizes]))][0]

    def _one_op(self, rng: np.random.Generator) -> int:
        """The copies one operation leaves: ``floor(cph)``, or one more with probability
        ``cph - floor(cph)``."""
        if len(self.per_op) == 1:
            return self.per_op[0][0]
        return self.per_op[1][0] if rng.random() < self.per_op[1][1] else self.per_op[0][0]

    @staticmethod
    def capture_chance(a: AttackerRates, reachable: bool, heartbeats: int, n: int) -> float:
        """P(``heartbeats`` answered heartbeats capture one of the resident pieces)."""
        return any_of(2 * int(reachable) + n, a.c_key, heartbeats)

    # -- the stationary miss (item 7) --------------------------------------------------------
    def key_miss(self, seg: Segment, a: AttackerRates) -> tuple[float, float]:
        """P(a non-crashing connection of ``a`` does not take the key), per reachability, over
        the stationary law of the copies under all of ``seg``'s key operations (legitimate and
        every attacker's, as :meth:`.key_copies.KeyChain.key_miss`), after its own."""
        key = (seg.requests, seg.handshakes, seg.attackers, a)
        cached = self._miss.get(key)
        if cached is None:
            z = (1.0 - a.c_key) ** a.heartbeats if a.c_key < 1.0 else 0.0
            streams, operations = key_operations(
                self.keys, seg.handshakes, ((b.connection_rate, b.key_ops) for b in seg.attackers))
            one_op = sum(p * z**k for k, p in self.per_op)
            if self.replace:  # the last operation's copies, its own if it makes any
                miss = one_op if a.key_ops or operations > 0.0 else 1.0
            else:
                own = sum(p * z**k for k, p in batch_sizes(self.keys, a.key_ops))
                law = log_pgf(tuple(streams.items()), self.decay, self._clear(seg), z)
                miss = math.exp(law) * own
            cached = self._miss[key] = (miss, miss * z**2)
        return cached


@lru_cache(maxsize=64)
def shared_count(keys: KeySpec) -> KeyCount:
    """The one :class:`KeyCount` of these copies in this process (see its docstring)."""
    return KeyCount(keys)


def key_copies_for(server: Server, attackers: Iterable[Attacker], horizon: float
                   ) -> KeyChain | KeyCount:
    """The drawn count where the chain would pass ``MAX_STATES``, and where transient copies
    and ``max_requests`` meet (unless that would draw more than
    ``COUNTED_BESIDE_MAX_REQUESTS`` candidates): there a restart comes at the
    ``max_requests``-th connection that did not take the key, and which those were depends
    on the copies each connection met, which the chain leaves hidden; drawn one by one, they
    are counted as they come. Elsewhere the chain."""
    return _key_copies_for(server, tuple(attackers), horizon)


@lru_cache(maxsize=64)
def _key_copies_for(server: Server, attackers: tuple[Attacker, ...], horizon: float
                    ) -> KeyChain | KeyCount:
    """:func:`key_copies_for`, decided once per server and attackers in this process: the
    chain's size and the candidates' estimate cost milliseconds (a Chernoff bound, a
    quadrature), where a replication costs a few."""
    if server_chain_states(server, attackers) > MAX_STATES:
        return shared_count(server.keys)
    if (server.restart.max_requests is not None and server.keys.copies_per_handshake > 0
            and expected_candidates(server, attackers, horizon) <= COUNTED_BESIDE_MAX_REQUESTS):
        return shared_count(server.keys)
    return KeyChain.for_server(server, attackers)


def expected_candidates(server: Server, attackers: Iterable[Attacker], horizon: float) -> float:
    """About how many candidate connections (each an event) a replication draws on ``server``
    where its copies are counted, for ``check``'s cost limit.

    Per attacker that can take the key: the connections it sends to one worker lifetime until
    one takes it, from the lifetime's start (no copies yet, the long-lived key left out,
    legitimate key operations alone: the slowest build-up), times the lifetimes its longest
    window meets, and at most every connection it sends. A cost estimate: the count's mean
    generating function stands in for the count inside the survival's exponent."""
    count = shared_count(server.keys)
    streams, handshakes = key_operations(server.keys,
                                         server.traffic.handshakes_per_s / server.workers, ())
    clear = (server.traffic.requests_per_s / server.workers
             if server.keys.copy_lifetime == "next_request" else 0.0)
    lifetime = server.restart.every or horizon
    total = 0.0
    for a in attackers:
        c = CaptureTable(server, a).key
        window = longest_window(a, horizon)
        k = a.heartbeats_per_connection
        rate = a.connection_rate / server.total_workers * (1.0 - server.crash_probability) ** k
        if c <= 0.0 or window <= 0.0 or rate <= 0.0:
            continue
        z = (1.0 - c) ** k
        span = min(lifetime, window)
        s = np.concatenate(([0.0], np.geomspace(span * 1e-9, span, 2000)))
        hazard = rate * (1.0 - _pgf_from_empty(count, handshakes, streams, clear, z, s))
        survival = np.exp(-integrate.cumulative_trapezoid(hazard, s, initial=0.0))
        per_lifetime = float(integrate.trapezoid(rate * survival, s))
        lifetimes = server.total_workers * (window / lifetime + 1.0)
        total += min(per_lifetime * lifetimes, rate * server.total_workers * window)
    return total


def _pgf_from_empty(count: KeyCount, operations: float, streams: dict[int, float],
                    clear: float, z: float, age: np.ndarray) -> np.ndarray:
    """``E[z^n]`` ``age`` seconds after a restart (:meth:`KeyCount.evolve` from none), with
    ``operations`` key operations per second leaving ``streams``."""
    if count.replace:
        quiet = np.exp(-operations * age)
        return quiet + (1.0 - quiet) * sum(p * z**k for k, p in count.per_op)
    if count.decay > 0.0:
        mu, x = count.decay, np.exp(-count.decay * age)
        log = np.zeros_like(age)
        for k, r in streams.items():
            for j in range(1, k + 1):
                made = r * (1.0 - special.betainc(j, k - j + 1, x)) / (j * mu)
                log -= made * (1.0 - z**j)
        return np.exp(log)
    made = sum(r * (1.0 - z**k) for k, r in streams.items())
    if made + clear == 0.0:
        return np.ones_like(age)
    quiet = np.exp(-(clear + made) * age)
    return quiet + clear * (1.0 - quiet) / (clear + made)


def refuse_many_candidates(server: Server, attackers: Iterable[Attacker], horizon: float) -> None:
    """Refuse, before any work, a server whose counted copies would have more than
    ``CANDIDATE_LIMIT`` candidate connections drawn a replication (:func:`expected_candidates`)."""
    attackers = list(attackers)
    if server_chain_states(server, attackers) <= MAX_STATES:
        return
    expected = expected_candidates(server, attackers, horizon)
    if expected > CANDIDATE_LIMIT:
        raise EngineRefused(
            f"server {server.name!r}: its transient key copies are too many for the chain the "
            f"fast engine carries, so each connection that could take the key is drawn one "
            f"by one, and about {expected:.3g} would be drawn per replication (each has little "
            f"chance to take it); the fast engine accepts at most {CANDIDATE_LIMIT:,}, the "
            "reference engine's own budget. Lower the attack rate, or shorten "
            "keys.copy_lifetime"
        )
