"""Passwords over-read from worker buffers: exact capture moments per worker lifetime, then a draw.

Hazards, per worker and segment, for attacker ``a`` sending ``k`` heartbeats per connection at
``connection_rate`` ``r`` with per-heartbeat capture ``c`` and crash probability ``p``:

* ``nu_a = r (1 - p)^k m_a(L)``: connections that neither crash nor capture the key. Crashing
  ones and key-capturing ones are explicit events sampled by the skeleton, so the remaining
  connections are still Poisson (thinning); ``m_a(L)`` is ``key_miss`` for the lifetime's key
  placement ``L`` (1 once ``a`` holds the key).
* ``q_a = 1 - (1 - c)^k``: a non-crashing connection captures one given resident piece; pieces
  are drawn independently, so from ``n`` resident uncaptured passwords it takes
  ``Binomial(n, q_a)`` (rule 13: its captures share one instant).
* ``beta_a = nu_a q_a``: the capture hazard of one resident piece.
* Point reads: a crash ending a lifetime after ``j`` answered heartbeats, and a key-capturing
  connection at ``t`` inside it after ``j`` heartbeats, capture each resident uncaptured piece
  with ``1 - (1 - c)^j`` (rule 7: the crashing heartbeat itself reads nothing). Given the
  skeleton these are fixed times, so the connections before a key capture are exactly the
  ones that did not capture it: with few of them, ``P(N > 0)`` hinges on this split.
* Under ``next_handshake`` a connection with key operations clears the buffer *before* its
  heartbeats (rule 5): it captures nothing and clears at rate ``nu_a`` (a key-capturing one
  clears at its time).

The chain per worker counts ``n``, the resident passwords not yet captured by the attackers we
count (all malicious ones for the total, rule 12; attacker ``a`` alone for its own count; a
captured password still resident is as good as gone for distinct counting):

* ``next_request``: ``n in {0, 1}``; a login refills (``0 -> 1``), any other request empties.
  Where sessions send requests, the full slot is split by how fast its password will be
  cleared (:func:`slot_clearing`): the chain then has one state ``n = 1`` per Gauss node.
* ``next_handshake``: logins add (``n -> n + 1``), a key operation empties (``n -> 0``).
* a mean ``m``: logins add, each copy leaves at ``1/m`` (``n -> n - 1`` at ``n/m``).

Counting chains above ``next_request`` are cut where fewer than ``TAIL`` of the stationary mass
lies above (a login arriving at the top state is dropped). With full generator ``Q`` and the
sub-generator ``S`` (capture moves removed, their rates ``kill`` sent to an absorbing state),
the exponential of ``blockdiag([[S, kill], [0, 0]], [[Q, reward], [0, 0]])`` over each piece
carries both exact moments of a lifetime: the absorbed mass is ``P(N > 0)`` and the last
coordinate is ``E[N] = int pi(t) reward dt`` (Van Loan, 1978) with
``reward(n) = sum_a nu_a n q_a``. Each half is integrated from one eigen-decomposition per
segment's rates, kept across replications (:class:`.spectral.Rewarded`). A point read with
``q`` maps the same vector exactly: the sub-stochastic part keeps ``(1 - q)^n`` in place and
absorbs the rest, the full part moves by ``Binomial(n, q)`` and earns ``n q``. Pieces are
split at key captures. A lifetime's count is then 0 with the exact ``P(N = 0)``, else
zero-truncated Poisson with the exact ``E[N | N > 0]``: first two facts exact, higher moments
approximate. Lifetimes are independent
given the skeleton. Each attacker's counts are kept per lifetime (:class:`PasswordDraw`), so
that :mod:`.logins` can time its logins with the first-capture law of the lifetime they came
from.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from scipy import special

from sim.engines.fast.reads import (
    FirstReads,
    Hazard,
    PointRead,
    password_capture,
    any_of,
    attacker_names,
    clear_rate,
    counting_sets,
    crash_capture,
    cut_lifetime,
    point_reads,
    segment_hazards,
)
from sim.engines.fast.segments import WorkerLifetime, Segment
from sim.engines.fast.spectral import Rewarded, Stacked, stacked_maps
from sim.model.quantiles import poisson_isf
from sim.scenario.model import ResidencySpec
from sim.scenario.model import PasswordSpec

#: Stationary mass left above the highest state of a counting chain.
TAIL = 1e-12
#: Largest counting chain integrated; past it, :mod:`.lingering` samples the reads instead.
MAX_STATES = 300


@dataclass(slots=True)
class PasswordDraw:
    total: int
    """Distinct logins captured by any malicious attacker (rule 12)."""
    by_attacker: dict[str, int]
    """Each attacker's own distinct captures (benign attackers too)."""
    chain: CountChain | None = None
    """The counting chain the captures were drawn on (the chain path), to draw their times."""
    captured_in: dict[str, list[tuple[WorkerLifetime, int]]] = field(default_factory=dict)
    """Chain path: per attacker, the worker lifetimes its own captures fell in, and how many
    in each (they add up to ``by_attacker``)."""
    first_reads: dict[str, FirstReads] = field(default_factory=dict)
    """Lingering path: per attacker, the law of its first-capture times."""
    capture_times: dict[str, np.ndarray] = field(default_factory=dict)
    """Drawn-requests path (:mod:`.session_slot`): per attacker, the first-capture time of
    each password it captured, sorted."""


# -- the counting chain ------------------------------------------------------------------------


def state_count(
    spec: PasswordSpec, segments: Sequence[Segment], lifetimes: Sequence[WorkerLifetime]
) -> int:
    """States of the counting chain: enough that at most ``TAIL`` of the mass is cut."""
    rule = spec.lifetime
    births = max((s.logins for s in segments), default=0.0)
    if births <= 0.0:
        return 1
    if rule == "next_request":
        return 2
    longest = max((lt.end - lt.start for lt in lifetimes), default=0.0)
    slowest = 0.0
    if rule == "next_handshake":
        slowest = min(clear_rate(s, segment_hazards(s, password_capture, rule, reachable), rule)
                      for s in segments for reachable in (False, True))
    return chain_states(rule, births, longest, slowest)


def chain_states(rule: ResidencySpec, births: float, longest: float, slowest_clear: float) -> int:
    """States enough that at most ``TAIL`` of the mass is cut: ``births`` logins per second
    per worker, lifetimes up to ``longest`` seconds, and under ``next_handshake`` buffers
    cleared at ``slowest_clear`` per second or faster."""
    if births <= 0.0:
        return 1
    if rule == "next_request":
        return 2
    bounds = [float(poisson_isf(TAIL, births * longest))]  # logins within one lifetime
    if rule == "next_handshake":
        if slowest_clear > 0.0:  # geometric stationary law, dominated at the fastest fill
            ratio = births / (births + slowest_clear)
            bounds.append(math.ceil(math.log(TAIL) / math.log(ratio)))
    else:
        bounds.append(float(poisson_isf(TAIL, births * float(rule))))
    return int(min(bounds)) + 1


#: Gauss nodes for the count of sessions whose requests may clear a ``next_request`` slot.
SESSION_NODES = 3


def open_session_nodes(mean: float) -> tuple[np.ndarray, np.ndarray]:
    """Gauss quadrature of a Poisson(``mean``) count: :data:`SESSION_NODES` nodes and weights.

    Golub-Welsch on the Jacobi matrix of the Charlier polynomials (recurrence coefficients
    ``n + mean`` and ``n mean``): every polynomial of degree below ``2 SESSION_NODES`` has the
    same mean under the nodes as under the Poisson law.
    """
    k = np.arange(SESSION_NODES)
    off = np.sqrt(k[1:] * mean)
    nodes, vectors = np.linalg.eigh(np.diag(k + mean) + np.diag(off, 1) + np.diag(off, -1))
    return np.maximum(nodes, 0.0), vectors[0] ** 2


def slot_clearing(seg: Segment) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """How fast a password left by a login leaves its ``next_request`` slot, as a mixture.

    The slot is overwritten by the worker's next request: other requests (Poisson), the next
    login there (Poisson at ``logins``), the password's own session (``session_rate``, the
    session having just opened) and the other open sessions' requests. Seen from a login those
    are a Poisson number of sessions (the Palm view of a Poisson process), each sending
    ``a = session_rate`` here; and while the slot survives, no login arrives *here*, so fewer
    sessions open than close. Campbell's formula gives the survival for ``t <= ttl``:

        S(t) = exp(-(r + a) t - (m + logins / a) (1 - e^(-a t))) x exp(-rho(t)),

    ``r`` the other requests, ``m`` the open sessions, ``rho(t) = L (2 g(t) - t (1 - e^(-a t)))``
    with ``g(t) = t - (1 - e^(-a t)) / a`` and ``L`` the server's logins (``rho`` is of order
    ``L a^2 t^3 / 6``). Without ``rho`` this is exactly the Laplace transform of a Poisson
    mixture: the residency is exponential at ``r + a + a N`` with ``N ~ Poisson(m + logins /
    a)`` (the next login folded in as ``logins / a`` sessions). Returns the Gauss nodes of
    ``N``, their weights and the clearing rate at each; ``docs/fast-engine.md`` bounds the rest.
    """
    a = seg.session_rate
    nodes, weights = open_session_nodes((seg.session_requests + seg.logins) / a)
    other = max(0.0, seg.requests - seg.logins - seg.session_requests)
    return nodes, weights, other + a * (1.0 + nodes)


def splits_slot(seg: Segment) -> bool:
    """Whether sessions' requests make :func:`slot_clearing` a mixture here.

    A session rate ``a`` so small that the count of sessions, ``(session_requests + logins) /
    a``, overflows is the limit ``a -> 0``: the clearing rate ``a N`` then has mean
    ``session_requests + logins`` and variance ``a`` times that, so the mixture collapses to
    the single rate of the chain without sessions.
    """
    return seg.session_rate > 0.0 and math.isfinite(
        (seg.session_requests + seg.logins) / seg.session_rate)


#: One stretch of a lifetime: segment, hazard variant, length, and the point read at its end.
Piece = tuple[int, int, float, PointRead | None]
#: A step that advances nothing, only reads (a crash's read at the lifetime's end).
NO_ADVANCE = (-1, -1, 0.0)


@dataclass(frozen=True, slots=True)
class Walk:
    """One lifetime's walk (:meth:`CountChain.walk_all`): its vector before the first piece
    that can capture, the pieces from there, its crash's read, and which counting sets can
    capture anything in it (the others earn nothing)."""

    x: np.ndarray
    pieces: list[Piece]
    crash: PointRead | None
    touched: list[int]


@dataclass(frozen=True, slots=True)
class Shape:
    """What fixes a counting chain's states: the residency rule, the uncaptured passwords in
    each state, and whether sessions split the full ``next_request`` slot by the number of
    other open sessions (:func:`open_session_nodes`)."""

    rule: ResidencySpec
    count: tuple[int, ...]
    sessions: bool


def legit_generator(shape: Shape, seg: Segment, hazards: tuple[Hazard, ...]) -> np.ndarray:
    """Generator without captures: logins, overwrites, expiry."""
    rule, n = shape.rule, len(shape.count)
    Q = np.zeros((n, n))
    if n == 1:
        return Q
    idx = np.arange(n)
    if shape.sessions:
        # Each state 1 + k holds one password with its own clearing rate; logins refill
        # the slot with a fresh password at rate ``logins`` whatever it holds, so only the
        # rest of a node's rate empties it (a node slower than the logins alone, possible
        # only with almost no other traffic, is cleared at the login rate).
        _, weights, clearing = slot_clearing(seg)
        Q[:, 1:] += seg.logins * weights
        Q[1:, 0] += np.maximum(clearing - seg.logins, 0.0)
    elif rule == "next_request":
        Q[:, 1] += seg.logins
        Q[:, 0] += max(0.0, seg.requests - seg.logins)
    else:
        Q[idx[:-1], idx[:-1] + 1] += seg.logins
        if rule == "next_handshake":
            Q[:, 0] += clear_rate(seg, hazards, rule)
        else:
            Q[idx[1:], idx[1:] - 1] += idx[1:] / float(rule)
    Q[idx, idx] = 0.0
    Q[idx, idx] = -Q.sum(axis=1)
    return Q


@lru_cache(maxsize=64)
def binomial(shape: Shape, q: float) -> np.ndarray:
    """``T[n, n - j] = P(Binomial(n, q) = j)``: one connection's captures from ``n``.

    Kept across replications (read-only): an attacker's ``q`` recurs in every one."""
    count = np.array(shape.count)
    size = count.size
    if shape.sessions:  # one password at most: a capture empties the slot
        T = np.diag(1.0 - any_of(count, q))
        T[:, 0] += any_of(count, q)
    elif q >= 1.0:
        T = np.zeros((size, size))
        T[:, 0] = 1.0
    else:
        n, j = np.tril_indices(size)
        T = np.zeros((size, size))
        log_pmf = (special.gammaln(n + 1) - special.gammaln(j + 1)
                   - special.gammaln(n - j + 1) + special.xlogy(j, q)
                   + (n - j) * math.log1p(-q))
        T[n, n - j] = np.exp(log_pmf)
    T.setflags(write=False)
    return T


@lru_cache(maxsize=64)
def read_matrix(shape: Shape, q: float) -> np.ndarray:
    """A read with ``q`` as a product (``x @ R``): ``S`` keeps ``(1 - q)^n`` and sends the
    rest to the absorbed mass, ``Q`` moves by ``Binomial(n, q)`` and earns ``n q``. Kept
    across replications like :func:`binomial`, and as few (a 300-state chain's is 3 MB)."""
    count = np.array(shape.count)
    n = count.size
    R = np.zeros((2 * n + 2, 2 * n + 2))
    R[np.arange(n), np.arange(n)] = (1.0 - q) ** count
    R[:n, n] = any_of(count, q)
    R[n, n] = R[-1, -1] = 1.0
    R[n + 1 : 2 * n + 1, n + 1 : 2 * n + 1] = binomial(shape, q)
    R[n + 1 : 2 * n + 1, -1] = q * count
    R.setflags(write=False)
    return R


def clear_matrix(shape: Shape) -> np.ndarray:
    """:meth:`CountChain.clear_step` as a product (``x @ C``): every state to ``n = 0``."""
    n = len(shape.count)
    C = np.zeros((2 * n + 2, 2 * n + 2))
    C[:n, 0] = C[n + 1 : 2 * n + 1, n + 1] = 1.0
    C[n, n] = C[-1, -1] = 1.0
    return C


@lru_cache(maxsize=1024)
def product_map(shape: Shape, q: float | None) -> np.ndarray:
    """:func:`read_matrix` (:func:`clear_matrix` for None) on vectors reordered states first,
    as :meth:`CountChain.step_maps` builds its maps."""
    n = len(shape.count)
    order = np.r_[0:n, n + 1 : 2 * n + 1, n, 2 * n + 1]
    M = clear_matrix(shape) if q is None else read_matrix(shape, q)
    M = M[np.ix_(order, order)]
    M.setflags(write=False)
    return M


#: Widest propagated vector (``2 n + 2`` entries) whose lifetime walks multiply maps: a map
#: costs the square of the width per piece, a vector step a dozen small calls.
PRODUCT_WIDTH = 16
#: Most pieces whose maps one batch of walks holds (:meth:`CountChain.walk_all`): a few
#: megabytes of maps at the widest chain, however many listed connections a replication has.
BATCH_PIECES = 2048
#: Most numbers in one batch's maps (pieces times counting sets times the width squared),
#: which cuts :data:`BATCH_PIECES` past 16 sets at the widest chain: thirteen malicious
#: attackers' 8,192 sets had filled 6.9 GB.
BATCH_CELLS = 2**23


#: Largest chain whose integrators are kept across replications: a cached entry holds a few
#: ``n x n`` matrices, so 256 entries stay below about 100 MB up to here.
SHARED_STATES = 50
#: Chains up to this size keep :data:`SMALL_ENTRIES` integrators (at most about 7 KB each, so
#: 28 MB): attackers present or not, stopped or not, and the sets counted together make
#: several hundred configurations recur (404 on the agreement suite's ``choices``, which
#: thrashed a 256-entry cache at 0.4 new decompositions per replication).
SMALL_STATES, SMALL_ENTRIES = 6, 4096
#: Most states advanced in one call by :meth:`CountChain.advance_sets` (its counting sets side
#: by side, as many as fit); a kept entry is then at most about 200 KB, 256 of them 50 MB.
JOINED_STATES = 64


def segment_integrators(
    shape: Shape, traffic: Segment, hazards: tuple[Hazard, ...], counted: frozenset[str]
) -> Rewarded:
    """:func:`build_integrators`, kept across replications in the cache sized for the chain."""
    kept = _small_integrators if len(shape.count) <= SMALL_STATES else _large_integrators
    return kept(shape, traffic, hazards, counted)


def build_integrators(
    shape: Shape, traffic: Segment, hazards: tuple[Hazard, ...], counted: frozenset[str]
) -> Rewarded:
    """A segment's Van Loan block ``blockdiag([[S, kill], [0, 0]], [[Q, reward], [0, 0]])``:
    the sub-generator ``S`` earning its capture rate ``kill`` (what it earns is the absorbed
    mass, ``P(N > 0)``) beside the full generator ``Q`` earning the captures per second
    (``E[N]``).

    Kept across replications: the same rates recur in every replication (the same attackers,
    window and session ramp step), and each costs two eigen-decompositions (chains above
    :data:`SHARED_STATES` call it uncached, once per replication). ``traffic`` is the segment
    without its times and attackers (``hazards`` carry what they do).
    """
    legit = legit_generator(shape, traffic, hazards)
    S, Q = legit.copy(), legit.copy()
    count = np.array(shape.count)
    eye = np.eye(count.size)
    kill, reward = np.zeros(count.size), np.zeros(count.size)
    for h in hazards:
        if h.name not in counted or h.beta <= 0.0:
            continue
        S += h.nu * (np.diag((1.0 - h.q) ** count) - eye)
        Q += h.nu * (binomial(shape, h.q) - eye)
        kill += h.nu * any_of(count, h.q)
        reward += h.nu * h.q * count
    return Rewarded((S, kill), (Q, reward))


_small_integrators = lru_cache(maxsize=SMALL_ENTRIES)(build_integrators)
_large_integrators = lru_cache(maxsize=256)(build_integrators)


@lru_cache(maxsize=256)
def joined_integrators(
    shape: Shape, traffic: Segment, hazards: tuple[Hazard, ...],
    sets: tuple[frozenset[str], ...],
) -> Rewarded:
    """Every counting set's integrators side by side, kept across replications like theirs."""
    return Rewarded.joined([segment_integrators(shape, traffic, hazards, c) for c in sets])


@lru_cache(maxsize=256)
def stacked_integrators(
    shape: Shape, traffic: Segment, hazards: tuple[Hazard, ...],
    sets: tuple[frozenset[str], ...],
) -> Stacked:
    """Every counting set's integrators stacked for :meth:`CountChain.step_maps`, kept across
    replications like theirs."""
    return Stacked([segment_integrators(shape, traffic, hazards, c) for c in sets])


@lru_cache(maxsize=64)
def _layout(n: int, sessions: bool) -> tuple[np.ndarray, ...]:
    """:class:`CountChain`'s index arrays, read-only: the same few for every chain of a run,
    where building them cost a chain a tenth of its setup.

    ``count``, the uncaptured passwords in each state; ``live``, where a propagated vector
    keeps the states of ``S`` and ``Q``; ``earned``, where it keeps what each earned (the
    absorbed mass and ``E[N]``); ``order``, a vector's entries states first, as
    :meth:`CountChain.step_maps` act on them; ``unorder``, back from that order
    (``x[order][unorder] == x``)."""
    count = np.r_[0, np.ones(SESSION_NODES, dtype=int)] if sessions else np.arange(n)
    n = count.size
    live = np.r_[0:n, n + 1 : 2 * n + 1]
    earned = np.array([n, 2 * n + 1])
    order = np.r_[live, earned]
    arrays = (count, live, earned, order, np.argsort(order))
    for a in arrays:
        a.setflags(write=False)
    return arrays


class CountChain:
    """The uncaptured-password count on one worker: per segment, key placement and counting
    set, the integrators of :func:`segment_integrators`.

    Hazards depend on the lifetime's key placement only while some attacker still watches the
    key (``key_miss``); elsewhere both placements share variant 0, and its integrators.
    """

    def __init__(self, spec: PasswordSpec, segments: Sequence[Segment], n: int) -> None:
        self.rule = spec.lifetime
        self.segments = segments
        sessions = n == 2 and self.rule == "next_request" and all(
            splits_slot(s) for s in segments)
        self.count, self._live, self._earned, self.order, self.unorder = _layout(n, sessions)
        self.n = self.count.size
        self.shape = Shape(self.rule, tuple(int(c) for c in self.count), sessions)
        self.hazards: list[tuple[tuple[Hazard, ...], ...]] = []
        self.variant: list[tuple[int, int]] = []
        for s in segments:
            apart = segment_hazards(s, password_capture, self.rule, False)
            near = segment_hazards(s, password_capture, self.rule, True)
            self.hazards.append((apart,) if near == apart else (apart, near))
            self.variant.append((0, 0) if near == apart else (0, 1))
        self.capturing = [tuple(frozenset(h.name for h in hz if h.beta > 0.0) for hz in both)
                          for both in self.hazards]
        self._traffic = [s._replace(t0=0.0, t1=0.0, attackers=()) for s in segments]
        self._integrators: dict[tuple[int, int, frozenset[str]], Rewarded] = {}
        self._joined: dict[tuple[int, int, tuple[frozenset[str], ...]], Rewarded] = {}
        self._clear = clear_matrix(self.shape)
        self._stacks: dict[tuple[int, int, tuple[frozenset[str], ...]], Stacked] = {}
        self._rows: dict[tuple[int, int, tuple[frozenset[str], ...]],
                         list[tuple[slice, Rewarded]]] = {}

    def integrators(self, i: int, v: int, counted: frozenset[str]) -> Rewarded:
        """Segment ``i``'s integrators, looked up once per chain (hashing a segment is not free)."""
        key = (i, v, counted)
        found = self._integrators.get(key)
        if found is None:
            build = segment_integrators if self.n <= SHARED_STATES else build_integrators
            found = build(self.shape, self._traffic[i], self.hazards[i][v], counted)
            self._integrators[key] = found
        return found

    def advance(
        self, x: np.ndarray, i: int, v: int, counted: frozenset[str], length: float
    ) -> np.ndarray:
        """``x exp(M length)``, ``M`` segment ``i``'s Van Loan block (``x`` one vector per row)."""
        if length <= 0.0:
            return x
        block = self.integrators(i, v, counted & self.capturing[i][v])
        moved, earned = block.advance(x[..., self._live], length)
        y = x.copy()
        y[..., self._live] = moved
        y[..., self._earned] += earned
        return y

    def has_curve(self, i: int, v: int, counted: frozenset[str]) -> bool:
        """Whether :meth:`counted_curve` can evaluate segment ``i`` (a trusted
        eigen-decomposition)."""
        return self.integrators(i, v, counted & self.capturing[i][v]).spectrum is not None

    def counted_curve(
        self, x: np.ndarray, i: int, v: int, counted: frozenset[str], t: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """From ``x`` (one vector, or one per length) into segment ``i``: the cumulative
        ``E[N]`` (the last coordinate of :meth:`advance`) at each length of ``t``, and the
        rate it grows at there (:meth:`has_curve` must hold)."""
        block = self.integrators(i, v, counted & self.capturing[i][v])
        curve = block.earned_curve(x[..., self._live], t)
        assert curve is not None, "counted_curve needs an eigen-decomposition (has_curve)"
        earned, rate = curve
        return x[..., -1] + earned[:, 1], rate[:, 1]

    def advance_sets(
        self, x: np.ndarray, i: int, v: int, sets: Sequence[frozenset[str]], lengths: np.ndarray
    ) -> np.ndarray:
        """:meth:`advance` of ``x[row, j]`` (one propagated vector per row and counting set)
        by the row's own length: every row at once, and as many sets per call as
        :data:`JOINED_STATES` allows (their integrators side by side)."""
        m = x.shape[0]
        y = x.copy()
        for part, block in self._row_blocks(i, v, tuple(sets)):
            sub = y[:, part]
            moved, earned = block.advance_each(sub[:, :, self._live].reshape(m, -1), lengths)
            sub[:, :, self._live] = moved.reshape(m, -1, self._live.size)
            sub[:, :, self._earned] += earned.reshape(m, -1, 2)
        return y

    @property
    def walks_by_maps(self) -> bool:
        """Whether lifetimes are walked by maps (:data:`PRODUCT_WIDTH`)."""
        return 2 * self.n + 2 <= PRODUCT_WIDTH

    def walk_all(self, walks: Sequence[Walk], sets: tuple[frozenset[str], ...]) -> list[np.ndarray]:
        """:meth:`walk` of many lifetimes (small chains only), each as a product of its maps.

        A replication's walks share one :meth:`step_maps` call per batch: a lifetime with a
        listed connection or two cost a few dozen numpy calls to walk alone, whatever its
        length, and there are hundreds of them. Each walk's maps are then multiplied pairwise
        in order, the walks of one padded length (a power of two, identities after the last
        map) side by side: a logarithmic number of batched products.
        """
        out: list[np.ndarray] = []
        batch: list[Walk] = []
        size = 0
        width = 2 * self.n + 2
        limit = min(BATCH_PIECES, BATCH_CELLS // (len(sets) * width * width))
        for w in walks:
            steps = len(w.pieces) + (w.crash is not None)
            if batch and size + steps > limit:
                out += self._products(batch, sets)
                batch, size = [], 0
            batch.append(w)
            size += steps
        if batch:
            out += self._products(batch, sets)
        return out

    def _products(self, walks: Sequence[Walk], sets: tuple[frozenset[str], ...]) -> list[np.ndarray]:
        """One batch of :meth:`walk_all`: its end vectors, one row per set, in its order."""
        steps: list[Piece] = []
        spans = []
        for w in walks:
            first = len(steps)
            steps += w.pieces
            if w.crash is not None:
                steps.append(NO_ADVANCE + (w.crash,))
            spans.append((first, len(steps)))
        advances, reads = self.step_maps(steps, sets)
        width = 2 * self.n + 2
        maps = np.concatenate([advances @ reads, np.broadcast_to(
            np.eye(width), (len(sets), 1, width, width))], axis=1)
        padding = maps.shape[1] - 1
        by_length: dict[int, list[int]] = {}
        for j, (first, last) in enumerate(spans):
            by_length.setdefault(1 << (last - first - 1).bit_length(), []).append(j)
        out: list[np.ndarray] = [np.empty(0)] * len(walks)
        for length, members in by_length.items():
            first, last = np.array([spans[j] for j in members]).T
            index = first[:, None] + np.arange(length)
            index[index >= last[:, None]] = padding
            product = maps[:, index]
            while product.shape[2] > 1:
                product = product[:, :, 0::2] @ product[:, :, 1::2]
            start = np.array([walks[j].x[self.order] for j in members])
            ends = np.empty((len(members), len(sets), width))
            ends[:, :, self.order] = np.maximum(
                start[:, None, None, :] @ product[:, :, 0].swapaxes(0, 1), 0.0)[:, :, 0]
            for row, j in enumerate(members):
                out[j] = ends[row]
        return out

    def step_maps(
        self, steps: Sequence[Piece], sets: tuple[frozenset[str], ...]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each step's advance and the read at its end as maps per counting set:
        ``(advances, reads)``, sets x steps x states. A step of segment ``-1``
        (:data:`NO_ADVANCE`, a crash's read) has none. They act on vectors reordered states
        first (:attr:`order`), so that an advance is the block ``[[exp(G t), earned], [0,
        I]]``: every piece of a segment and every set from one batched call
        (:class:`.spectral.Stacked`)."""
        live, width = self._live.size, 2 * self.n + 2
        advances = np.zeros((len(sets), len(steps), width, width))
        advances[:, :, live:, live:] = np.eye(2)
        segment: dict[tuple[int, int], int] = {}
        segment_of = [segment.setdefault((i, v), len(segment)) if i >= 0 else -1
                      for i, v, _, _ in steps]
        if segment:  # still steps (``NO_ADVANCE``) taken at length 0, then made exact below
            advances[:, :, :live, :live], advances[:, :, :live, live:] = stacked_maps(
                [self._stacked(i, v, sets) for i, v in segment],
                np.maximum(segment_of, 0), np.array([length for _, _, length, _ in steps]))
        still = [k for k, g in enumerate(segment_of) if g < 0]
        if still:
            advances[:, still, :live, :] = 0.0
            advances[:, still, :live, :live] = np.eye(live)
        # Each read's map from a small library: 0 none, 1 a clear, then one per ``q``; a set
        # that does not count the read's attacker takes none.
        library = [np.eye(width), product_map(self.shape, None)]
        which: dict[float, int] = {}
        names: dict[str | None, int] = {None: 0}
        entry, reader = [], []
        for *_, read in steps:
            if read is None or read.clears:
                entry.append(0 if read is None else 1)
                reader.append(0)
                continue
            if read.q not in which:
                which[read.q] = len(library)
                library.append(product_map(self.shape, read.q))
            entry.append(which[read.q])
            reader.append(names.setdefault(read.attacker, len(names)))
        counts = np.array([[True] * len(sets)]  # reads that every set takes (none, clears)
                          + [[name in counted for counted in sets] for name in list(names)[1:]])
        choice = np.where(counts[reader].T, np.array(entry), 0)
        return advances, np.stack(library)[choice]

    def _stacked(self, i: int, v: int, sets: tuple[frozenset[str], ...]) -> Stacked:
        key = (i, v, sets)
        found = self._stacks.get(key)
        if found is None:
            counted = tuple(c & self.capturing[i][v] for c in sets)
            found = self._stacks[key] = (
                stacked_integrators(self.shape, self._traffic[i], self.hazards[i][v], counted)
                if self.n <= SHARED_STATES
                else Stacked([self.integrators(i, v, c) for c in counted]))
        return found

    def walk(
        self, x: np.ndarray, pieces: Sequence[Piece], sets: tuple[frozenset[str], ...],
        crash: PointRead | None,
    ) -> np.ndarray:
        """``x`` through ``pieces`` and then the crash's read, once per counting set of
        ``sets`` side by side (one vector per set, a row each), one piece at a time: the sets'
        states advanced together by one joined decomposition per segment
        (:meth:`_row_blocks`), a read one product on the rows of the sets that count its
        attacker. For chains too wide for maps; the others take :meth:`walk_all`."""
        y = np.tile(x, (len(sets), 1))
        for p, read in enumerate([read for *_, read in pieces] + [crash]):
            if p < len(pieces) and (length := pieces[p][2]) > 0.0:
                i, v = pieces[p][0], pieces[p][1]
                for part, block in self._row_blocks(i, v, sets):
                    moved, gain = block.advance(y[part, self._live].ravel(), length)
                    y[part, self._live] = moved.reshape(-1, self._live.size)
                    y[part, self._earned] += gain.reshape(-1, 2)
            if read is None:
                continue
            if read.clears:
                y = self.clear_step(y)
                continue
            rows = [k for k, counted in enumerate(sets) if read.attacker in counted]
            if rows:
                y[rows] = self.read_step(y[rows], read.q)
        return y

    def _row_blocks(
        self, i: int, v: int, sets: tuple[frozenset[str], ...]
    ) -> list[tuple[slice, Rewarded]]:
        """Segment ``i``'s joined integrators of ``sets``, as many sets per block as
        :data:`JOINED_STATES` allows, each with the rows it advances."""
        key = (i, v, sets)
        found = self._rows.get(key)
        if found is None:
            per_call = max(1, JOINED_STATES // self._live.size)
            found = self._rows[key] = [
                (part, self._joined_block(
                    i, v, tuple(c & self.capturing[i][v] for c in sets[part])))
                for part in (slice(first, first + per_call)
                             for first in range(0, len(sets), per_call))]
        return found

    def _joined_block(self, i: int, v: int, sets: tuple[frozenset[str], ...]) -> Rewarded:
        key = (i, v, sets)
        block = self._joined.get(key)
        if block is None:
            block = self._joined[key] = (
                joined_integrators(self.shape, self._traffic[i], self.hazards[i][v], sets)
                if self.n <= SHARED_STATES
                else Rewarded.joined([self.integrators(i, v, c) for c in sets]))
        return block

    def step(self, x: np.ndarray, piece: Piece, counted: frozenset[str]) -> np.ndarray:
        """Across one piece, then through the point read at its end."""
        i, v, length, read = piece
        x = self.advance(x, i, v, counted, length)
        if read is None:
            return x
        if read.clears:
            return self.clear_step(x)
        return self.read_step(x, read.q) if read.attacker in counted else x

    def start(self) -> np.ndarray:
        x = np.zeros(2 * self.n + 2)
        x[0] = x[self.n + 1] = 1.0  # empty heap at the lifetime start (rule 2)
        return x

    def read_step(self, x: np.ndarray, q: float) -> np.ndarray:
        """One connection capturing each resident uncaptured piece with ``q``
        (:func:`read_matrix`; ``x`` one vector per row)."""
        return x @ read_matrix(self.shape, q)

    def clear_step(self, x: np.ndarray) -> np.ndarray:
        """Key operations emptying the buffer: every state moves to ``n = 0``."""
        return x @ self._clear

    def moments(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(P(N > 0), E[N])`` carried by propagated vectors (one per row)."""
        return np.clip(y[..., self.n], 0.0, 1.0), np.maximum(y[..., -1], 0.0)


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
    return positive_counts(u < p_any, p_any, mean, v)


def positive_counts(hit: np.ndarray, p_any: np.ndarray, mean: np.ndarray,
                    v: np.ndarray) -> np.ndarray:
    """Zero where not ``hit``; elsewhere zero-truncated Poisson with the exact conditional mean
    ``mean / p_any``, by inversion of ``v``."""
    out = np.zeros(p_any.shape, dtype=np.int64)
    hit = hit & (p_any > 0.0)  # a pattern's rounding cannot make a certain zero positive
    if hit.any():
        lam = truncated_rate(mean[hit] / p_any[hit])
        out[hit] = truncated_poisson_quantile(lam, v[hit])
    return out


def attacker_subsets(members: Sequence[str]) -> list[frozenset[str]]:
    """Every non-empty set of ``members``, in the order of its bit mask (bit ``i`` for
    ``members[i]``), the order :func:`exact_patterns` reads and writes."""
    return [frozenset(members[i] for i in range(len(members)) if mask >> i & 1)
            for mask in range(1, 1 << len(members))]


def joint_sets(malicious: Sequence[str]) -> list[frozenset[str]]:
    """Every set of two or more malicious attackers short of all of them: with each one alone
    and all together, the sets whose ``P(N = 0)`` fix which attackers capture anything."""
    return [s for s in attacker_subsets(malicious) if 2 <= len(s) < len(malicious)]


def capture_patterns(zero: dict[frozenset[str], np.ndarray], malicious: Sequence[str],
                     u: np.ndarray) -> np.ndarray:
    """Per lifetime, a bit mask of the malicious attackers that capture at least one password,
    drawn from its exact law (:func:`exact_patterns`, from ``zero[S] = P(no attacker of S
    captures)``). Drawing each attacker from its own margin with a shared uniform instead
    would make their captures comonotone, and the chance that any of several attackers logs in
    with a password too low (2.5 points on the agreement suite's ``choices`` scenario, 77.0%
    against 79.4%).
    """
    none = np.array([zero[s] for s in attacker_subsets(malicious)])
    probs = np.vstack([none[-1:], exact_patterns(1.0 - none)])
    cumulative = np.cumsum(probs, axis=0) / probs.sum(axis=0)
    return (u[None, :] >= cumulative).sum(axis=0).clip(max=len(none))


def exact_patterns(union: np.ndarray) -> np.ndarray:
    """From ``union[mask - 1]``, what a set of malicious attackers (bit ``i`` for attacker
    ``i``) takes at least once (a chance, or an expected count of logins), what exactly that
    set takes and no other attacker: ``-sum over T in Pos of (-1)^|T| union(Z + T)``, ``Z``
    the others and ``union`` of the empty set 0 (inclusion and exclusion). Works along the
    first axis; rounding below 0 is clipped."""
    full = union.shape[0]
    u = np.concatenate([np.zeros_like(union[:1]), union])
    out = np.empty_like(union)
    for pos in range(1, full + 1):
        rest, total, t = full & ~pos, np.zeros_like(union[0]), pos
        while True:  # every subset T of pos, pos itself first, the empty set last
            total = total + (-1) ** t.bit_count() * u[rest | t]
            if t == 0:
                break
            t = (t - 1) & pos
        out[pos - 1] = -total
    return np.maximum(out, 0.0)


# -- entry point -----------------------------------------------------------------------------


def sample_passwords(
    spec: PasswordSpec,
    segments: Sequence[Segment],
    lifetimes: Sequence[WorkerLifetime],
    workers: int,
    rng: np.random.Generator,
) -> PasswordDraw:
    """Draw the passwords captured on one server in one replication, given its skeleton.

    ``workers`` is implied by ``lifetimes`` (each carries its worker); it is kept in the
    signature so that every buffer integral reads the same arguments.
    """
    names, malicious = attacker_names(segments)
    by_attacker = dict.fromkeys(names, 0)
    mal = [name for name in names if name in malicious]
    sets = counting_sets(names, malicious) + joint_sets(mal)
    hot_any = [bool(s.vulnerable and s.attackers) for s in segments]
    if not sets or not any(hot_any) or not lifetimes:
        return PasswordDraw(0, by_attacker)
    n = state_count(spec, segments, lifetimes)
    if n == 1:
        return PasswordDraw(0, by_attacker)
    chain = CountChain(spec, segments, n)
    P, E, hot = all_moments(chain, lifetimes, sets)
    if not hot:
        return PasswordDraw(0, by_attacker)
    n = len(P)
    u, v = rng.random(n), rng.random(n)  # shared by all sets of a lifetime
    column = {s: j for j, s in enumerate(sets)}
    # Benign attackers (and a lone malicious one) from their margins; the joint sets only fix
    # which malicious attackers capture, and are not drawn themselves.
    counts = {s: sample_counts(P[:, j], E[:, j], u, v) for s, j in column.items()
              if len(mal) < 2 or (len(s) == 1 and not s <= malicious)}
    if len(mal) >= 2:
        # Which malicious attackers capture comes from the joint law, not the margins alone.
        pattern = capture_patterns({s: 1.0 - P[:, j] for s, j in column.items()}, mal, u)
        for i, name in enumerate(mal):
            j = column[frozenset({name})]
            counts[frozenset({name})] = positive_counts(pattern >> i & 1 == 1, P[:, j], E[:, j], v)
        j = column[malicious]
        counts[malicious] = positive_counts(pattern > 0, P[:, j], E[:, j], v)
    captured_in = {}
    for name in names:
        own = counts[frozenset({name})]
        by_attacker[name] = int(own.sum())
        captured_in[name] = [(lt, int(k)) for lt, k in zip(hot, own) if k > 0]
    total = int(counts[malicious].sum()) if malicious else 0
    # Coupled draws already order nested sets almost always; a set's distinct count is never
    # below any member's, so the rare inversion is resolved towards that identity.
    total = max([total, *(by_attacker[a] for a in malicious)])
    return PasswordDraw(total, by_attacker, chain, captured_in)


#: Most numbers :func:`all_moments` propagates at once for lifetimes that share a path (rows
#: times counting sets times states): a group of a server's lifetimes beside nine malicious
#: attackers' 512 sets held 1.9 GB at once.
GROUP_CELLS = 2**22


def all_moments(
    chain: CountChain, lifetimes: Sequence[WorkerLifetime], sets: Sequence[frozenset[str]]
) -> tuple[np.ndarray, np.ndarray, list[WorkerLifetime]]:
    """``P(N > 0)`` and ``E[N]`` (lifetime x counting set) of the lifetimes where something can
    be captured, in their order, and those lifetimes.

    Lifetimes without a point read (no key capture or listed connection inside, no crash at
    the end) that cross the same segments with the same key placement differ only in how long
    they stay in each, so they are propagated together, one row each, the counting sets side
    by side (:meth:`CountChain.advance_sets`); the others piece by piece
    (:func:`lifetime_moments`). On PSMail that batches nearly every lifetime: daily restarts
    under a week of benign checks. Stepping through the pieces before the first capturing
    one, or after the last, with the counting set cut to what can capture there earns
    nothing, as :func:`lifetime_moments` assumes by skipping them.
    """
    starts = [s.t0 for s in chain.segments]
    hot = [i for i, both in enumerate(chain.capturing) if any(both)]
    # A lifetime without point reads outside [hot_from, hot_to) crosses no capturing piece
    # (on PSMail, a worker's first lifetime, ended long before the attacks, and its last, begun
    # at the patch), so it is skipped uncut.
    hot_from = chain.segments[hot[0]].t0 if hot else math.inf
    hot_to = chain.segments[hot[-1]].t1 if hot else -math.inf
    rows: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    walks: dict[int, Walk] = {}
    groups: dict[tuple[tuple[int, int], ...], list[tuple[int, list[float]]]] = {}
    for k, lt in enumerate(lifetimes):
        if lt.end <= lt.start:
            continue
        if (lt.crash is None and not lt.listed
                and not any(lt.start < kc.time < lt.end for kc in lt.key_captures)):
            if lt.end <= hot_from or lt.start >= hot_to:
                continue
            placement = int(lt.key_reachable)
            pieces = cut_lifetime(chain.segments, starts, (), lt.start, lt.end)
            path = tuple((i, chain.variant[i][placement]) for i, _, _, _ in pieces)
            if any(chain.capturing[i][v] for i, v in path):
                groups.setdefault(path, []).append((k, [b - a for _, a, b, _ in pieces]))
            continue
        walk = lifetime_walk(chain, lt, sets, starts)
        if walk is not None:
            walks[k] = walk
    rows.update(_walked_moments(chain, walks, sets))
    step = max(1, GROUP_CELLS // (len(sets) * chain.start().size))
    for path, group in groups.items():
        for at in range(0, len(group), step):
            members = group[at:at + step]
            lengths = np.array([length for _, length in members])
            x = np.tile(chain.start(), (len(members), len(sets), 1))
            for p, (i, v) in enumerate(path):
                x = chain.advance_sets(x, i, v, sets, lengths[:, p])
            P, E = np.clip(x[:, :, chain.n], 0.0, 1.0), np.maximum(x[:, :, -1], 0.0)
            rows.update((k, (P[m], E[m])) for m, (k, _) in enumerate(members))
    order = sorted(rows)
    if not order:
        return np.empty((0, len(sets))), np.empty((0, len(sets))), []
    return (np.array([rows[k][0] for k in order]), np.array([rows[k][1] for k in order]),
            [lifetimes[k] for k in order])


def _walked_moments(
    chain: CountChain, walks: dict[int, Walk], sets: Sequence[frozenset[str]]
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Per lifetime walked, ``P(N > 0)`` and ``E[N]`` of each set (0 for the sets it does not
    touch): a small chain walks them all in batches (:meth:`CountChain.walk_all`, every set
    of each), a wide one one by one (:meth:`CountChain.walk`, the sets each touches)."""
    walked = {k: w for k, w in walks.items() if w.touched}
    if chain.walks_by_maps:
        every = chain.walk_all(list(walked.values()), tuple(sets))
        ends = [y[w.touched] for w, y in zip(walked.values(), every)]
    else:
        ends = [chain.walk(w.x, w.pieces, tuple(sets[j] for j in w.touched), w.crash)
                for w in walked.values()]
    rows = {k: (np.zeros(len(sets)), np.zeros(len(sets))) for k in walks}
    for (k, w), y in zip(walked.items(), ends):
        P, E = rows[k]
        P[w.touched], E[w.touched] = chain.moments(y)
    return rows


def lifetime_moments(
    chain: CountChain, lt: WorkerLifetime, sets: Sequence[frozenset[str]], starts: Sequence[float]
) -> list[tuple[float, float]] | None:
    """``(P(N > 0), E[N])`` of one worker lifetime for each counting set; None when nothing can
    be captured in it (:func:`all_moments`' walk of one lifetime)."""
    walk = lifetime_walk(chain, lt, sets, starts)
    if walk is None:
        return None
    P, E = _walked_moments(chain, {0: walk}, sets)[0]
    return list(zip(P.tolist(), E.tolist()))


def lifetime_walk(
    chain: CountChain, lt: WorkerLifetime, sets: Sequence[frozenset[str]], starts: Sequence[float]
) -> Walk | None:
    """What :func:`lifetime_moments` walks, stepped up to the first piece that can capture;
    None when nothing can be captured in the lifetime."""
    if lt.end <= lt.start:
        return None
    crash = crash_capture(lt, chain.segments, starts, password_capture, chain.rule)
    pieces = lifetime_pieces(chain, lt, starts)
    hot = [k for k, (i, v, _, read) in enumerate(pieces)
           if chain.capturing[i][v] or (read is not None and read.q > 0.0)]
    if not hot and crash is None:
        return None
    first_hot = hot[0] if hot else len(pieces)
    last = len(pieces) - 1 if crash is not None else hot[-1]
    x = chain.start()
    for piece in pieces[:first_hot]:
        x = chain.step(x, piece, frozenset())
    touched = [j for j, counted in enumerate(sets)
               if any(chain.capturing[i][v] & counted
                      or (read is not None and read.q > 0.0 and read.attacker in counted)
                      for i, v, _, read in (pieces[k] for k in hot))
               or (crash is not None and crash.attacker in counted)]
    return Walk(x, pieces[first_hot : last + 1], crash, touched)


def lifetime_pieces(chain: CountChain, lt: WorkerLifetime, starts: Sequence[float]) -> list[Piece]:
    """The lifetime cut at segment boundaries and at its point reads (each closing a piece)."""
    reads = point_reads(lt, chain.segments, starts, password_capture, chain.rule)
    placement = int(lt.key_reachable)
    return [(i, chain.variant[i][placement], b - a, r)
            for i, a, b, r in cut_lifetime(chain.segments, starts, reads, lt.start, lt.end)]
