"""Sessions leaked through over-read token copies, integrated over login times; then hijacks.

A session opened at ``u`` is valid on ``[u, e)``, ``e = u + ttl`` (rule 1), and meanwhile sends
requests at ``rho``, each to a uniform one of the ``W`` workers (``own = rho / W`` per worker),
where it leaves one token copy. With the hazards of :mod:`.password_chain` (``beta`` for the attackers
counted, ``delta`` the rate at which residency ends: the worker's request rate for
``next_request``, its key operations for ``next_handshake``, ``1/m`` for a mean ``m``),
``P_leak(u) = 1 - exp(-sum_w X_w(u, e))`` with one exponent per worker:

* ``next_request`` (exact under Poisson traffic): the worker's buffer holds this session's token
  or not; its own requests fill it, everyone else's (``delta``: logins are Poisson, so knowing
  one session exists does not change the others' rate) empty it. ``X_w = -log P(no capture)``
  of that two-state chain, a product of 2x2 exponentials over the worker's pieces
  (:func:`sweep_copies` would count a copy replaced by the session's own next copy twice:
  4% too many leaks on a quiet server).
* otherwise copies can overlap and are treated one by one: a copy placed at ``t`` is captured
  while the session is valid with probability

      pi_w(t; e) = int_t^min(e, end) beta(s) exp(-int_t^s (beta + delta)) ds
                   + [end < e] exp(-int_t^end (beta + delta)) q_crash,

  (``end`` the restart ending the lifetime, ``q_crash`` what a crashing connection reads) and
  ``X_w = own int_u^e pi_w(t; e) dt`` (Poisson thinning). On a piece ``[a, b)`` of constant
  rates (``g = beta + delta``, ``L = b - a``, ``V = pi(b; e)``),
  ``pi(a; e) = beta L g1(gL) + e^(-gL) V`` and ``int_a^b pi = beta L^2 g2(gL) + V L g1(gL)``, so
  a backward sweep is exact. Overlapping copies share the connections that read them, so this
  slightly overstates the leak (rule 13).

Hazards are those of :mod:`.password_chain`: per lifetime key placement, counting only connections
that do not capture the key. A key-capturing connection at ``t`` is a point read splitting a
piece: a resident copy (``next_request``: the token in the slot) of a session still valid is
captured with its ``q`` (``V -> q + (1 - q) V``, ``v1 -> (1 - q) v1``), or, under
``next_handshake`` with key operations, the buffer is emptied first (``V -> 0``), like a
restart; a crash is a read followed by a restart.

This path is taken for tokens resident for a duration or until the next key operation where the
reads are too many for :mod:`.token_copies` and :mod:`.token_means` (which count those exactly
given the reads, from this module's counting sets and pieces: a class per login, or the classes'
Poisson means in closed form, whichever costs less), and for ``next_request`` tokens read by
more candidate reads than :mod:`.session_reads` and :mod:`.slot_looks` take (which draw those
exactly where the reads look; a benign reader's count, reported alone, is drawn there whenever
its own reads are few enough).

The expected number leaked is ``int Lambda P_leak(u) du`` over logins (``Lambda`` per server,
from ``t = 0``: rule 18's cold start), by Gauss-Legendre on the intervals between the kinks of
``P_leak`` (segment and restart boundaries, and the same shifted by ``-ttl``), only over
``[first capture chance - ttl, last capture chance]``. It is computed for each attacker alone
and for every union of malicious attackers; by inclusion and exclusion these give the
expected number captured by *exactly* each set of malicious attackers (:func:`pattern_means`).
The count of each set is Poisson with that mean, drawn independently: an approximation treating
sessions' leaks as independent (they share only the attack's connections), exact in the mean.

Reuse attempts (rule 9): every attacker of a set tries each of the set's sessions once; the
shared-address draw is made at every attempt and the binding checks of rule 21 follow
(``ip`` passes with the shared address, ``browser`` with ``browser_match_probability``); a
session is hijacked when any of its attempts passes, and an attacker's own hijacks are its
passing attempts. Attempt times follow the attacker's token capture profile ``beta_a *
(session requests per second) * E[min(residency, ttl)]`` per worker piece, plus its point reads
(crashes, key captures) with ``q_a`` in place of ``beta_a dt``; the profile ignores that a
session is tried only at its first capture, which a ``session`` detector reads through the
side of its cuts alone (deployment, retention): where one falls inside the attack, the patterns
are refined by the interval of each reusing attacker's first capture (:mod:`.session_cuts`) and
each attempt is timed inside its own. All of it is drawn in numpy: the only per-session work
left is building the records.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from itertools import combinations
from dataclasses import dataclass, replace
from functools import wraps

import numpy as np

from sim.engines.fast.reads import (
    Hazard,
    PointRead,
    attacker_names,
    clear_rate,
    crash_capture,
    cut_lifetime,
    point_reads,
    segment_hazards,
)
from sim.engines.fast.decay import g1, g2
from sim.engines.fast.password_chain import attacker_subsets, exact_patterns
from sim.engines.fast.segments import AttackerRates, WorkerLifetime, Segment
from sim.model.record import SessionReuses
from sim.engines import EngineRefused
from sim.engines.fast.binding import checks_passed, hijacked_by_checks
from sim.engines.fast.concurrent_bound import concurrent_never_passes, passing_captures_bound
from sim.engines.fast.session_cuts import (
    MAX_TIMED_SETS,
    Class,
    Until,
    class_means,
    timed_set_count,
    timed_sets,
)
from sim.engines.fast.session_literal import (
    LITERAL_LIMIT,
    SessionDraw,
    literal_work,
    never_idle,
    simulate_sessions,
    try_sessions,
)
from sim.engines.fast.slot_looks import LOOKS_LIMIT, DrawAtReads, draw_at_reads, looks_bound
from sim.engines.fast.token_copies import draw_classes
from sim.engines.fast.token_means import given_reads, read_means
from sim.engines.fast.token_takes import TAKES_LIMIT, sample_takes, takes_fit, takes_work
from sim.model.attackers import longest_window
from sim.scenario.model import Attacker, Server, SessionSpec

#: Gauss-Legendre points per interval of login times.
NODES = 8
#: Most intervals of login times; beyond it restart and key capture kinks (each 1/W of the
#: integrand) are dropped first, then segment kinks are thinned evenly.
MAX_INTERVALS = 64

_GL_X, _GL_W = np.polynomial.legendre.leggauss(NODES)


@dataclass(frozen=True, slots=True)
class _Piece:
    """Constant rates on ``[a, b)`` of one worker, and what happens to its buffer at ``b``."""

    a: float
    b: float
    delta: float
    beta: np.ndarray
    """Capture hazard per counting set."""
    empties: bool
    """The buffer is emptied at ``b``: a restart, or the key operations of a key capture."""
    reads: np.ndarray
    """Per counting set, the chance a connection at ``b`` (a crash, a key capture) captures a
    resident copy, before any emptying."""
    sessions: float
    """Session requests per second to this worker (weighs the reuse-time profile)."""


def _token(a: AttackerRates) -> float:
    return a.c_token


#: Worker histories swept side by side (:func:`sweep_slot`, :func:`sweep_copies`) with up to
#: :data:`BATCH_SETS` counting sets, fewer with more: arrays of histories x counting sets x
#: login nodes stay within a few megabytes.
SWEEP_BATCH = 32
BATCH_SETS = 64


def _steps_from_end(histories: Sequence[Sequence[_Piece]], sets: int) -> list[tuple[np.ndarray, ...]]:
    """Per step counted back from each history's last piece, every history's piece there as
    arrays ``(a, b, delta, beta, reads, empties)``; a history with fewer pieces has an empty
    one (``a = b = 0``: it overlaps no session, so the sweep leaves that history alone)."""
    depth = max(len(pieces) for pieces in histories)
    shape = (depth, len(histories))
    a, b, delta = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    beta, reads = np.zeros(shape + (sets,)), np.zeros(shape + (sets,))
    empties = np.zeros(shape, dtype=bool)
    for h, pieces in enumerate(histories):
        for j, p in enumerate(reversed(pieces)):
            a[j, h], b[j, h], delta[j, h], empties[j, h] = p.a, p.b, p.delta, p.empties
            beta[j, h], reads[j, h] = p.beta, p.reads
    return list(zip(a, b, delta, beta, reads, empties))


Sweep = Callable[[Sequence[Sequence[_Piece]], np.ndarray, np.ndarray, int, float], np.ndarray]
"""A sweep of worker histories: ``(histories, u, e, sets, own)`` to histories x sets x sessions."""


def _batched(sweep: Sweep) -> Sweep:
    """``sweep`` over any number of histories, :data:`SWEEP_BATCH` at a time (fewer with
    more than :data:`BATCH_SETS` sets)."""
    @wraps(sweep)
    def swept(histories: Sequence[Sequence[_Piece]], u: np.ndarray, e: np.ndarray, sets: int,
              own: float) -> np.ndarray:
        batch = max(1, SWEEP_BATCH * BATCH_SETS // max(sets, BATCH_SETS))
        parts = [sweep(histories[k : k + batch], u, e, sets, own)
                 for k in range(0, len(histories), batch)]
        return np.concatenate(parts) if parts else np.zeros((0, sets, u.size))
    return swept


def _overlaps(
    a: np.ndarray, b: np.ndarray, u: np.ndarray, e: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The (history, session) pairs whose piece ``[a_h, b_h)`` and validity ``[u_i, e_i)``
    overlap, and by how long (a column). Over a long attack a piece meets the few sessions
    within a ``ttl`` of it, a quarter of the nodes on PSMail's pre-disclosure attack: the
    sweeps work on those pairs alone."""
    overlap = np.minimum(b[:, None], e) - np.maximum(a[:, None], u)
    hs, us = np.nonzero(overlap > 0.0)
    return hs, us, overlap[hs, us][:, None]


@_batched
def sweep_copies(
    histories: Sequence[Sequence[_Piece]], u: np.ndarray, e: np.ndarray, sets: int, own: float
) -> np.ndarray:
    """``own * I(u_i, e_i)``, ``I = int_{u_i}^{e_i} pi(t; e_i) dt``, per worker history (its
    pieces) and counting set, for one worker receiving the session's requests at ``own`` per
    second (histories x sets x sessions)."""
    pi = np.zeros((len(histories), u.size, sets))
    total = np.zeros_like(pi)
    for a, b, delta, beta, reads, empties in _steps_from_end(histories, sets):
        hs, us, length = _overlaps(a, b, u, e)
        if hs.size == 0:
            continue
        inside = (b[hs] < e[us])[:, None]  # the piece ends before the session expires
        read = reads[hs]
        right = np.where(inside, read + (1.0 - read) * np.where(empties[hs][:, None], 0.0,
                                                                pi[hs, us]), 0.0)
        g = (beta[hs] + delta[hs][:, None]) * length
        rate = beta[hs]
        total[hs, us] += rate * length**2 * g2(g) + right * length * g1(g)
        pi[hs, us] = rate * length * g1(g) + np.exp(-g) * right
    return own * total.transpose(0, 2, 1)


@_batched
def sweep_slot(
    histories: Sequence[Sequence[_Piece]], u: np.ndarray, e: np.ndarray, sets: int, own: float
) -> np.ndarray:
    """``-log P(no capture on this worker)`` of a session valid on ``[u_i, e_i)``, per worker
    history (its pieces) and counting set, under ``next_request``: the buffer holds the
    session's token (state 1) or not (0) (histories x sets x sessions).

    The session's own requests (``own`` per second) put it there, everyone else's requests
    (``delta``, unchanged by conditioning on one session: logins are Poisson) take it out, and
    counted attackers capture it at ``beta``. The backward sweep multiplies ``v`` by
    ``exp(G L)``, ``G = [[-own, own], [delta, -delta - beta]]``, written as
    ``e^(mL) (cosh(sL) I + sinh(sL)/s (G - m I))`` with ``m`` half the trace and
    ``s^2 = m^2 - det G``. At ``b < e`` a point read (crash, key capture) takes a resident
    token with its probability, then a restart empties the buffer. The histories are swept
    side by side, step by step back from their last pieces: one history at a time cost a few
    dozen numpy calls per piece, and a server has a dozen or two distinct histories.
    """
    v0 = np.ones((len(histories), u.size, sets))
    v1 = np.ones_like(v0)
    a = own
    for a_, b_, delta, beta, reads, empties in _steps_from_end(histories, sets):
        hs, us, length = _overlaps(a_, b_, u, e)
        if hs.size == 0:
            continue
        # What depends on the piece alone, per history (a few dozen), before the pairs
        # (hundreds of sessions each) are gathered: half of this sweep's arithmetic once was.
        b = delta[:, None]
        c = b + beta
        m = -(a + c) / 2.0
        half = np.sqrt(((a - c) / 2.0) ** 2 + a * b)
        inv_2half = 0.5 / np.where(half > 0, half, 1.0)
        m_h, half_h = m[hs], half[hs]
        grow, fall = np.exp((m_h + half_h) * length), np.exp((m_h - half_h) * length)
        cosh = (grow + fall) / 2.0
        sinh = (grow - fall) * inv_2half[hs]
        sx = half_h * length
        small = sx <= 1e-6  # sinh(s L) / s by its series, where the difference cancels
        if small.any():
            exact = length * np.exp(m_h * length) * (1.0 + sx * sx / 6.0)
            sinh[small] = exact[small]
        inside = (b_[hs] < e[us])[:, None]
        w0, w1 = v0[hs, us], v1[hs, us]
        r0 = np.where(inside, w0, 1.0)
        r1 = np.where(inside, (1.0 - reads[hs]) * np.where(empties[hs][:, None], w0, w1), 1.0)
        v0[hs, us] = (cosh + sinh * (-a - m_h)) * r0 + sinh * a * r1
        v1[hs, us] = sinh * b[hs] * r0 + (cosh + sinh * (-c - m)[hs]) * r1
    return -np.log(np.clip(v0, np.finfo(float).tiny, 1.0)).transpose(0, 2, 1)


def login_nodes(breaks: Sequence[float], cap: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on the intervals between sorted unique ``breaks``."""
    b = np.unique(np.asarray(breaks, dtype=float))
    if b.size - 1 > cap:
        b = b[np.unique(np.linspace(0, b.size - 1, cap + 1).round().astype(int))]
    lo, hi = b[:-1], b[1:]
    half, mid = (hi - lo) / 2.0, (hi + lo) / 2.0
    return (mid[:, None] + half[:, None] * _GL_X).ravel(), (half[:, None] * _GL_W).ravel()


class _Server:
    """Hazards of one server's segments for each key placement and counting set, and each
    worker's pieces."""

    def __init__(
        self, spec: SessionSpec, segments: Sequence[Segment], sets: list[frozenset[str]],
        until: Sequence[Until] | None = None,
    ) -> None:
        self.spec = spec
        self.segments = segments
        self.starts = [s.t0 for s in segments]
        self.sets = sets
        self.until: Sequence[Until] = until if until is not None else [{}] * len(sets)
        """Per set, members whose captures count only before an instant (timed sets,
        :mod:`.session_cuts`; the segments are then cut there)."""
        rule = spec.lifetime
        hazards = [[segment_hazards(s, _token, rule, reachable) for s in segments]
                   for reachable in (False, True)]
        self.beta = np.array([[[_set_beta(hz, c, limit, s.t1)
                                for c, limit in zip(sets, self.until)]
                               for s, hz in zip(segments, per)] for per in hazards])
        """``[placement, segment, set]``."""
        self.delta = np.array([[self._delta(s, hz) for s, hz in zip(segments, per)]
                               for per in hazards])
        self.placements = 1 + int(hazards[0] != hazards[1])
        """2 when some attacker still watching the key makes the placement matter."""

    def _delta(self, seg: Segment, hazards: Sequence[Hazard]) -> float:
        rule = self.spec.lifetime
        if isinstance(rule, str):
            return clear_rate(seg, hazards, rule)
        return 1.0 / float(rule)

    def placement(self, lt: WorkerLifetime) -> int:
        return int(lt.key_reachable) if self.placements == 2 else 0

    def vector(self, read: PointRead) -> np.ndarray:
        return np.array([read.q if read.attacker in c
                         and read.time < limit.get(read.attacker, math.inf) else 0.0
                         for c, limit in zip(self.sets, self.until)])

    def untimed(self, counted: frozenset[str]) -> int:
        """Index of the set ``counted`` counting every capture."""
        return next(k for k, (c, limit) in enumerate(zip(self.sets, self.until))
                    if c == counted and not limit)

    def crash_vector(self, lt: WorkerLifetime) -> np.ndarray | None:
        crash = crash_capture(lt, self.segments, self.starts, _token, self.spec.lifetime)
        return None if crash is None else self.vector(crash)

    def point_reads(self, lt: WorkerLifetime) -> list[PointRead]:
        return point_reads(lt, self.segments, self.starts, _token, self.spec.lifetime)

    def pieces(self, lives: Sequence[WorkerLifetime], lo: float, hi: float) -> list[_Piece]:
        """One worker's pieces on ``[lo, hi)``, its lifetimes given in time order, cut at
        segment boundaries and key captures."""
        out: list[_Piece] = []
        none = np.zeros(len(self.sets))
        for lt in lives:
            a0, b0 = max(lt.start, lo), min(lt.end, hi)
            if b0 <= a0:
                continue
            crash = self.crash_vector(lt) if lt.end <= hi else None
            beta, delta = self.beta[self.placement(lt)], self.delta[self.placement(lt)]
            for i, a, b, r in cut_lifetime(self.segments, self.starts, self.point_reads(lt), a0, b0):
                requests = self.segments[i].session_requests
                if r is not None:
                    out.append(_Piece(a, b, delta[i], beta[i], r.clears, self.vector(r), requests))
                    continue
                last = b >= b0 and lt.end <= hi
                out.append(_Piece(a, b, delta[i], beta[i], last,
                                  crash if (last and crash is not None) else none, requests))
        return out


def _set_beta(hazards: Sequence[Hazard], counted: frozenset[str], until: Until,
              end: float) -> float:
    """The set's capture hazard on a segment ending at ``end``: a timed member counts only on
    segments before its instant (they are cut there)."""
    return sum(h.beta for h in hazards
               if h.name in counted and end <= until.get(h.name, math.inf))


def literal_sessions(spec: SessionSpec, segments: Sequence[Segment], workers: int,
                     logins: float, concurrent_blocks: bool) -> bool:
    """Whether the sessions are simulated literally (:mod:`.session_literal`): while that is
    cheap, and always with ``next_request`` tokens and a ``concurrent`` check that could
    pass, which needs the victims' requests (``concurrent_blocks``: :mod:`.concurrent_bound`
    proves it never does; tokens that outlive the next request are drawn where their copies
    are taken instead, :mod:`.token_takes`). ``logins`` is per second on the whole server."""
    return (concurrent_needs_literal(spec, concurrent_blocks)
            or literal_work(spec, segments, workers, logins) <= LITERAL_LIMIT)


def concurrent_needs_literal(spec: SessionSpec, concurrent_blocks: bool) -> bool:
    """Whether only the literal draw can run the sessions' checks: ``next_request`` tokens
    and a ``concurrent`` check that could pass (:func:`literal_sessions`), up to
    :data:`CONCURRENT_LITERAL_LIMIT`."""
    return ("concurrent" in spec.binding and not concurrent_blocks
            and spec.lifetime == "next_request")


@dataclass(frozen=True, slots=True)
class SessionPlan:
    """The draw :func:`sample_sessions` takes on one server replication, chosen from the
    skeleton before any random number, so that the caller can draw the passwords with the
    sessions where both are counted login by login (:mod:`.login_pairs`)."""

    path: str
    """"literal", "takes", "reads" (``next_request`` tokens at the reads), "none" (nothing
    can leak), "logins", "means" or "sweep"."""
    found: LeakMeans | None = None
    """The counting sets and pieces, on "logins", "means" and "sweep"."""
    at_reads: DrawAtReads | None = None


def plan_sessions(
    spec: SessionSpec,
    segments: Sequence[Segment],
    lifetimes: Sequence[WorkerLifetime],
    workers: int,
    logins: float,
    horizon: float,
    *,
    reusing: frozenset[str] | None = None,
    concurrent_blocks: bool = False,
    cuts: Sequence[float] = (),
    passwords_along: bool = False,
    logins_known: bool = False,
) -> SessionPlan:
    """:func:`sample_sessions`' path (its arguments; ``logins`` per second on the server).
    ``passwords_along``: lingering passwords would be drawn with the sessions on the "logins"
    and "takes" paths (:func:`.login_pairs.pairs_fit`), which are then taken where the
    literal draw or the means would be, within their limits whatever the cost, since only
    there are both kinds drawn together (and they are as exact for every reported quantity).
    ``logins_known``: the skeleton drew the logins (:mod:`.login_timeline`) and the sessions
    alone are drawn login by login (:mod:`.login_pairs`): the class per login or, where it
    does not fit, the draw where copies are taken, since only these read those logins and
    each lifetime's requests given the count that ended it (items 11 and 13)."""
    along = passwords_along or logins_known
    literal = literal_sessions(spec, segments, workers, logins, concurrent_blocks)
    concurrent = "concurrent" in spec.binding and not concurrent_blocks
    if literal and not along:
        return SessionPlan("literal")
    if concurrent:
        # tokens that outlive the next request; the check reads the victims' requests
        return SessionPlan("takes")
    _, malicious = attacker_names(segments)
    # next_request tokens where the reads are few enough: drawn where the reads look, exact
    if spec.lifetime == "next_request" and logins > 0.0 and spec.requests_per_s > 0.0:
        at_reads = draw_at_reads(spec, segments, workers, logins)
        if at_reads is not None:
            return SessionPlan("reads", at_reads=at_reads)
    elif len(malicious) > MAX_MALICIOUS and takes_fit(spec, segments, workers, logins):
        # past MAX_MALICIOUS the counting sets of every union grow costly: each capture
        # followed attacker by attacker, its cost linear in them (exact)
        return SessionPlan("takes")
    if len(malicious) > MAX_UNIONS:
        # past it the unions are out of reach: drawn literally, within the bound check set
        # wherever the draws above could pass their limits (refuse_session_checks)
        return SessionPlan("literal")
    reusers = malicious if reusing is None else malicious & reusing
    found = leak_means(spec, segments, lifetimes, workers, logins, horizon, reusers, cuts,
                       sweep=False)
    if found is None:
        return SessionPlan("none")
    if (found.untimed and spec.lifetime != "next_request"
            and takes_fit(spec, segments, workers, logins)):
        # the classes cannot time the attempts here: each first capture drawn, exactly
        return SessionPlan("takes")
    # copies that outlive the next request, counted given the reads (exact) where not too many
    given = (given_reads(spec, segments, workers, logins, len(found.srv.sets),
                         prefer_logins=literal or along)
             if spec.lifetime != "next_request" else None)
    if along and given != "logins" and takes_fit(spec, segments, workers, logins):
        # only there, beside the class per login, are the passwords or the skeleton's logins
        # drawn with the sessions (until late on 2026-12-07 not for the passwords: past the
        # class per login they were drawn apart beside the literal draw or the means)
        return SessionPlan("takes")
    if literal and given != "logins":
        return SessionPlan("literal")
    if given is None and spec.lifetime != "next_request" and takes_fit(spec, segments, workers,
                                                                       logins):
        # past both counts given the reads: each copy drawn where it is taken, exact, before
        # the sweep (items 3 to 5 of docs/fast-engine.md)
        return SessionPlan("takes")
    return SessionPlan(given or "sweep", found)


def sample_sessions(
    spec: SessionSpec,
    segments: Sequence[Segment],
    lifetimes: Sequence[WorkerLifetime],
    workers: int,
    hosts: int,
    logins_per_host: float,
    horizon: float,
    attacker_sources: Mapping[str, int],
    rng: np.random.Generator,
    *,
    server: str,
    reusing: frozenset[str] | None = None,
    concurrent_blocks: bool = False,
    cuts: Sequence[float] = (),
    drawn_apart: frozenset[str] = frozenset(),
    plan: SessionPlan | None = None,
    drawn_classes: tuple[dict[Class, int], dict[str, int]] | None = None,
) -> SessionDraw:
    """Draw the sessions leaked and hijacked on one server in one replication.

    ``server`` names the server in the :class:`SessionReuses` records. ``reusing`` (rule 9,
    ``reuse: [sessions]``; default every malicious attacker) are the attackers that try the
    sessions they capture; the others leak sessions but never try nor hijack one.
    ``concurrent_blocks``: the ``concurrent`` check is proven never to pass here
    (:func:`.concurrent_bound.passing_captures_bound`), so the paths that do not draw the
    victims' requests may run it by blocking every attempt. ``cuts``: the session log's instants
    (:func:`.session_cuts.session_log_cuts`); the integrated path times each attempt on its
    exact side of them. ``drawn_apart``: benign readers whose counts the caller draws itself
    where this takes the integrated sweep (:func:`.buffer_reads.plan_reads`), left at 0.
    ``plan``: :func:`plan_sessions` of the same, if the caller made it; ``drawn_classes``: on its
    "logins" path, the counts the caller drew with the passwords (:mod:`.login_pairs`).

    Paths: the literal draw of every session that meets the attack while that is cheap
    (:mod:`.session_literal`), the draw at the reads for ``next_request`` tokens while their
    candidate reads are few enough (:mod:`.session_reads` one look at a time, :mod:`.slot_looks`
    with arrays), for the other tokens the copies drawn where they are taken where a
    ``concurrent`` check could pass (:mod:`.token_takes`, which reads the victims' requests),
    else counted given the reads while the reads are few enough (:mod:`.token_copies` with a
    class per login, :mod:`.token_means` with the classes' means, whichever is cheaper), else
    the integrated sweep.
    """
    logins = hosts * logins_per_host
    if plan is None:
        plan = plan_sessions(spec, segments, lifetimes, workers, logins, horizon,
                             reusing=reusing, concurrent_blocks=concurrent_blocks, cuts=cuts)
    if plan.path == "literal":
        return simulate_sessions(spec, segments, lifetimes, workers, logins, horizon,
                                 attacker_sources, rng, server=server, reusing=reusing)
    if plan.path == "takes":
        return sample_takes(spec, segments, lifetimes, workers, logins, horizon,
                            attacker_sources, rng, server=server, reusing=reusing)
    names, malicious = attacker_names(segments)
    if plan.at_reads is not None:
        first = plan.at_reads(spec, segments, lifetimes, workers, logins, horizon, names,
                              rng).first
        return try_sessions(spec, first, never_idle, names, malicious, attacker_sources, rng,
                            server=server, reusing=reusing)
    reusers = malicious if reusing is None else malicious & reusing
    leaked = dict.fromkeys(names, 0)
    hijacked = dict.fromkeys(names, 0)
    found = plan.found
    if found is None:
        return SessionDraw(0, 0, leaked, hijacked, [])
    slot = spec.lifetime == "next_request" and logins > 0.0 and spec.requests_per_s > 0.0
    counted: dict[Class, int] | None = None
    if plan.path == "logins":
        counted, benign = drawn_classes if drawn_classes is not None else draw_classes(
            spec, segments, lifetimes, workers, logins, horizon, found.srv.sets,
            found.srv.until, found.timing, len(found.cuts), rng)
        leaked.update((n, k) for n, k in benign.items() if n not in drawn_apart)
    elif plan.path == "means":
        found = with_means(found, read_means(spec, segments, lifetimes, workers, logins,
                                             horizon, found.srv.sets, found.srv.until, rng))
    else:
        found = sweep_means(found, lifetimes, workers, logins)
    # A benign reader's count is reported alone: where its own candidates are few it is
    # drawn where they look, whatever the heavy readers beside it (item 3).
    alone = {n: draw for n in names if n not in malicious and n not in drawn_apart and slot
             and (draw := draw_at_reads(spec, segments, workers, logins,
                                        frozenset({n}))) is not None}
    for name in names:
        if (counted is None and name not in malicious and name not in alone
                and name not in drawn_apart):
            leaked[name] = int(rng.poisson(max(0.0, found.means[frozenset({name})])))
    # Per reusing attacker, its attempts' (source, blocked, shared) blocks in draw order; times
    # are drawn afterwards, for all of an attacker's attempts at once (see _attempt_records),
    # between the cuts that ``spans`` give (per block: the interval index of the first capture).
    attributes: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}
    spans: dict[str, np.ndarray] = {}
    coupled: set[str] = set()
    total = 0
    checks = len(spec.binding)
    by_checks = np.zeros(checks + 1, dtype=np.int64)
    for (pattern, classes), n in _class_counts(found, malicious, counted, rng):
        if n == 0:
            continue
        total += n
        trying = pattern & reusers
        if len(trying) > 1:
            coupled |= trying
        interval = dict(zip(sorted(trying), classes))  # empty without cuts: interval 0
        best = np.full(n, -1, dtype=np.int64)
        for name in sorted(pattern):
            leaked[name] += n
            if name not in reusers:  # reuse without sessions (rule 9): it never tries one
                continue
            shared = _bernoulli(spec.shared_address_probability, n, rng)
            # concurrent, where this path runs it, provably never passes (concurrent_bound)
            scored = checks_passed(spec, shared, rng, idle=lambda: np.zeros(n, dtype=bool))
            passed = scored == checks
            source = rng.integers(attacker_sources[name], size=n)
            attributes.setdefault(name, []).append((source, ~passed, shared))
            span = spans.setdefault(name, np.zeros(len(found.cuts) + 1, dtype=np.int64))
            span[interval.get(name, 0)] += n
            hijacked[name] += int(passed.sum())
            best = np.maximum(best, scored)
        by_checks += hijacked_by_checks(best, checks + 1)
    reuses = [_attempt_records(found, name, server, attributes[name], spans[name],
                               name in coupled, rng)
              for name in sorted(attributes)]
    for name, draw in alone.items():
        first = draw(spec, segments, lifetimes, workers, logins, horizon, [name], rng).first
        leaked[name] = int(np.isfinite(first).any(axis=1).sum())
    return SessionDraw(total, int(by_checks[checks]), leaked, hijacked, reuses,
                       tuple(int(c) for c in by_checks[:checks]))


#: Most sessions, session requests and reads of one server replication drawn literally where
#: that is the only exact draw (``next_request`` tokens and a ``concurrent`` check that could
#: pass), where :data:`LITERAL_LIMIT` chooses the literal draw only while it is the cheapest.
#: Measured on 2026-12-06 (``test_session_binding.py``'s quiet server over 1, 5 and 30 days):
#: 0.4 microseconds and about 50 bytes a unit (0.27 s and 138 MB a replication at 691,000;
#: 9 s and 1.1 GB at 20.7 million), so at most about 1.6 s and 250 MB here.
CONCURRENT_LITERAL_LIMIT = 4_000_000
#: Most malicious attackers on one server with sessions whose every union is counted (the
#: leak means of ``2^n - 1`` sets); past it the draws that follow each capture are taken
#: (:func:`plan_sessions`), whose cost is linear in the attackers. Measured on 2026-12-06 on
#: the agreement suite's ``lingering`` with clones of its attackers, all present, sessions
#: forced off the literal draw: 10 attackers (1,023 unions) 82 ms a replication on the sweep
#: and 57 ms with the means given the reads, 12 attackers 362 and 259 ms; the cost doubles
#: with each attacker.
MAX_MALICIOUS = 10
#: Most malicious attackers whose unions are counted where no draw that follows each capture
#: fits its limits (about 1.5 s a replication on the sweep at 14, from the figures above).
MAX_UNIONS = 14


def refuse_session_checks(
    server: Server, attackers: Sequence[Attacker], horizon: float
) -> None:
    """Raise :class:`EngineRefused` for what the session draw cannot do: a ``concurrent``
    check that could pass (:mod:`.concurrent_bound`) where the draw that runs it could pass
    its limit (the literal draw's :data:`CONCURRENT_LITERAL_LIMIT` for ``next_request``
    tokens, the draw where copies are taken, :data:`.token_takes.TAKES_LIMIT`, for the
    others), or, past :data:`MAX_UNIONS` malicious attackers, where each draw that follows
    the captures one by one (:func:`plan_sessions`) could pass its limit."""
    spec = server.sessions
    if spec is None:
        return
    logins = server.traffic.logins_per_s * server.hosts
    reads = sum(a.connection_rate * longest_window(a, horizon) for a in attackers)
    work = _literal_bound(server, attackers, horizon)
    takes = takes_work(spec, server.total_workers, logins, reads, horizon,
                       server.traffic.handshakes_per_s * server.hosts)
    if "concurrent" in spec.binding and not concurrent_never_passes(server, attackers, horizon):
        if spec.lifetime != "next_request":
            if takes > TAKES_LIMIT:
                raise EngineRefused(
                    f"server {server.name}: the concurrent binding check could pass here (up "
                    f"to {passing_captures_bound(server, attackers, horizon):.3g} passing "
                    "captures expected per replication), so the sessions are drawn where their "
                    f"copies are taken, about {takes:,.0f} reads and logins times workers per "
                    f"replication here, more than the limit of {TAKES_LIMIT:,}; bind by ip "
                    "and browser only, or shorten the timeline or lower the rates")
        elif work > CONCURRENT_LITERAL_LIMIT:
            raise EngineRefused(
                f"server {server.name}: the concurrent binding check could pass here (up to "
                f"{passing_captures_bound(server, attackers, horizon):.3g} passing captures "
                "expected per replication), so it is run by simulating the sessions that "
                f"meet the attack one by one, about {work:,.0f} sessions, requests and "
                f"attacker connections per replication here, more than the limit of "
                f"{CONCURRENT_LITERAL_LIMIT:,}; bind by ip and browser only, or shorten the "
                "timeline or lower the rates"
            )
    malicious = [a.name for a in attackers if not a.benign]
    if len(malicious) <= MAX_UNIONS or work <= CONCURRENT_LITERAL_LIMIT:
        return
    if spec.lifetime == "next_request":
        looks = looks_bound(attackers, horizon, logins, spec.ttl)
        if spec.requests_per_s > 0.0 and looks <= LOOKS_LIMIT:
            return
        bound = f"the draw at the reads ({looks:,.0f} candidates and logins)"
    elif takes <= TAKES_LIMIT:
        return
    else:
        bound = f"the draw where the copies are taken ({takes:,.0f} reads and logins x workers)"
    raise EngineRefused(
        f"server {server.name}: {len(malicious)} malicious attackers target it, more than the "
        f"{MAX_UNIONS} whose every union the fast engine can count, so it follows each "
        f"session's captures one by one, and both draws that do could pass their limits here: "
        f"the literal one ({work:,.0f} sessions, requests and attacker connections, limit "
        f"{CONCURRENT_LITERAL_LIMIT:,}) and {bound}. Merge attackers, or shorten the "
        "timeline or lower the rates"
    )


def _literal_bound(server: Server, attackers: Sequence[Attacker], horizon: float) -> float:
    """From the scenario alone, the most sessions, session requests, attacker connections
    (and under ``next_handshake`` handshakes) the literal session draw could simulate on
    ``server`` in one replication."""
    spec = server.sessions
    assert spec is not None
    logins = server.traffic.logins_per_s * server.hosts
    work = logins * (horizon + 2 * spec.ttl) * (2.0 + spec.requests_per_s * spec.ttl)
    work += sum(a.connection_rate * longest_window(a, horizon) for a in attackers)
    if spec.lifetime == "next_handshake":
        work += server.traffic.handshakes_per_s * server.hosts * horizon
    return work


def session_sets(names: Sequence[str], malicious: frozenset[str]) -> list[frozenset[str]]:
    """Each attacker alone, and every union of two or more malicious attackers: the leak means
    of all unions give, by inclusion and exclusion, the mean of every capture pattern."""
    sets = [frozenset({n}) for n in names]
    members = sorted(malicious)
    for size in range(2, len(members) + 1):
        sets += [frozenset(c) for c in combinations(members, size)]
    return sets


def pattern_means(
    union_means: Mapping[frozenset[str], float], malicious: frozenset[str]
) -> dict[frozenset[str], float]:
    """Expected sessions captured by exactly the malicious attackers ``S`` (and no other
    malicious one), for every non-empty ``S`` with any: from ``U(A)``, the expected sessions
    captured by some attacker of ``A``, by inclusion and exclusion
    (:func:`.password_chain.exact_patterns`). Sessions are independent given the skeleton, so
    the counts per pattern are independent Poisson.
    """
    members = sorted(malicious)
    sets = attacker_subsets(members)
    exact = dict(zip(sets, exact_patterns(np.array([union_means[u] for u in sets]))))
    # by size, then in the order of combinations: the order the counts are drawn in
    ordered = (frozenset(c) for size in range(1, len(members) + 1)
               for c in combinations(members, size))
    return {u: float(exact[u]) for u in ordered if exact[u] > 0.0}


def _segment_at(srv: _Server, t: float) -> int:
    """Index of the segment holding ``t``: the one that begins there, if one does. A point
    read on a segment's boundary (a key capture that ends an attacker's watch of the key)
    then lies inside the pieces swept, which end at that segment's end; the segment before
    it would end them at the read, and a read at a piece's end is no piece's
    (:func:`.reads.cut_lifetime`)."""
    return max(0, int(np.searchsorted(srv.starts, t, side="right")) - 1)


@dataclass(frozen=True, slots=True)
class LeakMeans:
    """Expected leaked sessions per counting set, and the pieces they were integrated on."""

    srv: _Server
    means: dict[frozenset[str], float]
    """Per set counting every capture; empty until swept (:func:`sweep_means`)."""
    workers: list[tuple[int, list[_Piece]]]
    """Per distinct worker history: how many workers share it, and its pieces."""
    span: tuple[float, float]
    """From the first capture chance to the last."""
    cuts: tuple[float, ...] = ()
    """The session log's cuts inside the attack that attempts are timed between."""
    timing: frozenset[str] = frozenset()
    """With ``cuts``: the reusing attackers whose first captures the classes place."""
    classes: dict[Class, float] | None = None
    """With ``cuts`` and swept: the expected sessions of each capture pattern and interval of
    each reusing attacker's first capture (:mod:`.session_cuts`)."""
    untimed: bool = False
    """Cuts lie inside the attack that the classes cannot time (more timed sets than
    :data:`.session_cuts.MAX_TIMED_SETS`): the attempts' sides would come from the profile
    (item 5 of ``docs/fast-engine.md``)."""


def _class_draws(found: LeakMeans, malicious: frozenset[str]) -> list[tuple[Class, float]]:
    """The Poisson means to draw, in draw order: per capture pattern, or with cuts per
    pattern and interval of each reusing attacker's first capture."""
    if found.classes is not None:
        return list(found.classes.items())
    return [((pattern, ()), mean) for pattern, mean in pattern_means(found.means, malicious).items()]


def _class_counts(found: LeakMeans, malicious: frozenset[str], counted: dict[Class, int] | None,
                  rng: np.random.Generator) -> Iterator[tuple[Class, int]]:
    """The sessions of each class, in draw order: ``counted`` where they were drawn given the
    reads, else Poisson with the swept means, each drawn as the loop reaches it."""
    if counted is not None:
        yield from counted.items()
        return
    for c, mean in _class_draws(found, malicious):
        yield c, int(rng.poisson(mean))


def leak_means(
    spec: SessionSpec,
    segments: Sequence[Segment],
    lifetimes: Sequence[WorkerLifetime],
    workers: int,
    logins: float,
    horizon: float,
    timing: frozenset[str] = frozenset(),
    cuts: Sequence[float] = (),
    sweep: bool = True,
) -> LeakMeans | None:
    """Expected leaked sessions per counting set (``logins`` per second on the server);
    None when no session can leak. With ``cuts`` inside the attack, also per class of first
    capture for the attackers of ``timing`` (:mod:`.session_cuts`), unless that takes more
    than :data:`.session_cuts.MAX_TIMED_SETS` sets. Without ``sweep``, only the counting sets
    and the pieces (what :mod:`.token_copies` and the attempts' times read), for
    :func:`sweep_means` to finish."""
    names, malicious = attacker_names(segments)
    sets = session_sets(names, malicious)
    if not sets or logins <= 0.0 or spec.requests_per_s <= 0.0 or not lifetimes:
        return None
    srv = _Server(spec, segments, sets)
    # Capture chances: hot segments, and point reads (crashes, key captures) at their times.
    points = [lt.end for lt in lifetimes if srv.crash_vector(lt) is not None]
    points += [r.time for lt in lifetimes for r in srv.point_reads(lt) if r.q > 0.0]
    hot = np.flatnonzero(srv.beta.sum(axis=(0, 2)) > 0.0)
    if hot.size == 0 and not points:
        return None
    first = min(([segments[hot[0]].t0] if hot.size else []) + points)
    ends = [segments[hot[-1]].t1] if hot.size else []
    last = min(horizon, max(ends + [segments[_segment_at(srv, t)].t1 for t in points]))
    inside = tuple(t for t in cuts if first < t < last)
    members, tried = sorted(malicious), timing & malicious
    untimed = bool(inside and tried) and (timed_set_count(len(members), len(tried), len(inside))
                                          > MAX_TIMED_SETS)
    if inside and tried and not untimed:
        timed = timed_sets(members, tried, inside)[1:]  # the empty set leaks nothing
        benign = [frozenset({n}) for n in names if n not in members]
        until = [{a: t for a, t in t_a.items() if t < math.inf} for t_a in timed]
        srv = _Server(spec, _cut_segments(segments, inside),
                      [frozenset(t) for t in timed] + benign, until + [{}] * len(benign))
    else:
        inside, tried = (), frozenset()
    span = (first, last)
    plan = LeakMeans(srv, {}, _histories(srv, _lives(lifetimes, srv.spec.ttl, span), span),
                     span, inside, tried, untimed=untimed)
    return sweep_means(plan, lifetimes, workers, logins) if sweep else plan


def sweep_means(plan: LeakMeans, lifetimes: Sequence[WorkerLifetime], workers: int,
                logins: float) -> LeakMeans:
    """``plan`` with its means integrated (:func:`_integrate`), per counting set and, with
    cuts, per class (:func:`.session_cuts.class_means`)."""
    srv = plan.srv
    return with_means(plan, _integrate(srv, _lives(lifetimes, srv.spec.ttl, plan.span),
                                       plan.workers, workers, logins, plan.span))


def with_means(plan: LeakMeans, means: np.ndarray) -> LeakMeans:
    """``plan`` with ``means`` per counting set, and with cuts per class
    (:func:`.session_cuts.class_means`)."""
    srv = plan.srv
    untimed = {c: float(m) for c, limit, m in zip(srv.sets, srv.until, means) if not limit}
    if not plan.cuts:
        return replace(plan, means=untimed)
    names, malicious = attacker_names(srv.segments)
    timed = len(srv.sets) - (len(names) - len(malicious))  # the benign singles come last
    classes = class_means(np.concatenate([[0.0], means[:timed]]), sorted(malicious),
                          plan.timing, len(plan.cuts))
    return replace(plan, means=untimed, classes=classes)


def _cut_segments(segments: Sequence[Segment], cuts: Sequence[float]) -> list[Segment]:
    """The same segments, each cut at the ``cuts`` inside it."""
    out = []
    for s in segments:
        edges = [s.t0, *(t for t in cuts if s.t0 < t < s.t1), s.t1]
        out += [s._replace(t0=a, t1=b) for a, b in zip(edges, edges[1:])]
    return out


def _lives(lifetimes: Sequence[WorkerLifetime], ttl: float,
           span: tuple[float, float]) -> dict[int, list[WorkerLifetime]]:
    """Per worker, its lifetimes in time order that meet the logins that can leak:
    ``[first - ttl, last)``."""
    lo, hi = max(0.0, span[0] - ttl), span[1]
    by_worker: dict[int, list[WorkerLifetime]] = {}
    for lt in sorted(lifetimes, key=lambda lt: lt.start):
        if lt.end > lo and lt.start < hi:
            by_worker.setdefault(lt.worker, []).append(lt)
    return by_worker


def _histories(srv: _Server, by_worker: Mapping[int, list[WorkerLifetime]],
               span: tuple[float, float]) -> list[tuple[int, list[_Piece]]]:
    """The distinct worker histories over the logins that can leak, each with how many
    workers share it (they see the same pieces: each is swept once)."""
    lo, hi = max(0.0, span[0] - srv.spec.ttl), span[1]
    shapes: dict[tuple, list[list[WorkerLifetime]]] = {}
    for lives in by_worker.values():
        shapes.setdefault(_shape(srv, lives, lo, hi), []).append(lives)
    return [(len(alike), srv.pieces(alike[0], lo, hi)) for alike in shapes.values()]


def _integrate(
    srv: _Server, by_worker: Mapping[int, list[WorkerLifetime]],
    histories: list[tuple[int, list[_Piece]]], workers: int, logins: float,
    span: tuple[float, float],
) -> np.ndarray:
    """``int Lambda P_leak(u) du`` per counting set."""
    ttl = srv.spec.ttl
    lo, hi = max(0.0, span[0] - ttl), span[1]
    if hi <= lo:
        return np.zeros(len(srv.sets))
    seg_kinks = [s.t0 for s in srv.segments if lo < s.t0 < hi]
    # Restarts: lifetimes' ends, and their starts (the skeleton leaves out the lifetimes of an
    # attack-free stretch, so a start need not be an end; session_literal.WorkerReads).
    restart_kinks = sorted({t for lives in by_worker.values() for lt in lives
                            for t in (lt.start, lt.end) if lo < t < hi})
    restart_kinks += [r.time for lives in by_worker.values() for lt in lives
                      for r in srv.point_reads(lt) if lo < r.time < hi]
    shifted = lambda ts: [t - ttl for t in ts if t - ttl > lo]  # noqa: E731 - kinks of e = u + ttl
    breaks = [lo, hi, *seg_kinks, *shifted(seg_kinks)]
    if len(breaks) + 2 * len(restart_kinks) <= MAX_INTERVALS + 1:
        breaks += restart_kinks + shifted(restart_kinks)
    u, w = login_nodes(breaks, MAX_INTERVALS)
    e = np.minimum(u + ttl, hi)
    sweep = sweep_slot if srv.spec.lifetime == "next_request" else sweep_copies
    own = srv.spec.requests_per_s / workers
    exponent = np.zeros((len(srv.sets), u.size))
    for (alike, _), value in zip(histories, sweep([p for _, p in histories], u, e,
                                                  len(srv.sets), own)):
        exponent += alike * value
    leak = -np.expm1(-exponent)
    return (leak * (logins * w)[None, :]).sum(axis=1)


def _shape(srv: _Server, lives: Sequence[WorkerLifetime], lo: float, hi: float) -> tuple:
    """What of a worker's lifetimes the window ``[lo, hi)`` sees: restart times, crashes, key
    placements (when they change the hazards) and key captures."""
    return tuple(
        (max(lt.start, lo), min(lt.end, hi), lt.crash if lt.end < hi else None,
         srv.placement(lt), tuple(lt.key_captures))
        for lt in lives
    )


def _attempt_records(
    found: LeakMeans,
    name: str,
    server: str,
    blocks: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
    spans: np.ndarray,
    coupled: bool,
    rng: np.random.Generator,
) -> SessionReuses:
    """Attacker ``name``'s attempts in time order, from its (source, blocked, shared) blocks.

    Sorting only the times, and pairing them with the attributes in draw order, has the law of
    sorting (time, attributes) pairs together, without sorting the attributes (an argsort and
    four gathers cost most of a replication on a busy server). The times are i.i.d. from the
    attacker's profile and independent of the attributes, so ordering the pairs by time applies
    to the attributes a permutation independent of them; that changes nothing when the
    attributes are exchangeable jointly with everything else drawn, which holds when ``name``
    is the only reusing attacker of each capture pattern it is in: within an attacker the
    attribute draws are i.i.d. whatever the pattern, and the hijack counts depend on them only
    through sums. When another reusing attacker tries the same sessions (``coupled``), the
    ``i``-th attempts of both in a pattern's block are on the same session and the count of
    sessions hijacked depends on that pairing, so the position of an attempt would tell its
    block and its session; a uniform permutation of the attributes, independent of everything,
    restores what sorting by i.i.d. times did. The times themselves carry no pairing: each
    attacker's attempt on a session is timed from its own profile, independently of the other's.
    With cuts, ``spans[j]`` attempts fall between cuts ``j - 1`` and ``j``: their times are
    drawn from the profile there, and the attributes, independent of the intervals, are
    paired with the sorted times as before.
    """
    source, blocked, shared = blocks[0] if len(blocks) == 1 else (
        np.concatenate(col) for col in zip(*blocks))
    if coupled:
        order = rng.permutation(source.size)
        source, blocked, shared = source[order], blocked[order], shared[order]
    bounds = (-math.inf, *found.cuts, math.inf)
    time = np.concatenate([_reuse_times(found, name, int(n), rng, bounds[j], bounds[j + 1])
                           for j, n in enumerate(spans) if n > 0])
    time.sort()
    return SessionReuses(name, server, time, source, blocked, shared)


def _bernoulli(p: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` independent draws, each true with probability ``p``; a uniform per draw only when
    ``p`` is strictly between 0 and 1 (the default shared-address probability is 0, and the
    uniforms would cost as much as the rest of an attempt)."""
    if p <= 0.0 or p >= 1.0:
        return np.full(n, p >= 1.0)
    return rng.random(n) < p


def _reuse_times(found: LeakMeans, name: str, n: int, rng: np.random.Generator,
                 lo: float = -math.inf, hi: float = math.inf) -> np.ndarray:
    """``n`` attempt times in ``[lo, hi)`` (between two cuts, on pieces cut there) from
    attacker ``name``'s token capture profile: over every worker piece its capture hazard
    times the resident tokens, and at every point read its chance.

    Returned grouped by piece, not in random order: the multiset of ``n`` i.i.d. draws (piece
    counts multinomial, uniform positions within a piece), for a caller that sorts them. Drawing
    the counts costs one draw per piece, where picking a piece per attempt searched the
    cumulative masses once per attempt.
    """
    srv = found.srv
    j, ttl = srv.untimed(frozenset({name})), srv.spec.ttl
    rows = np.array([(p.a, p.b, p.beta[j], p.reads[j], p.delta, p.sessions * alike)
                     for alike, pieces in found.workers for p in pieces]).reshape(-1, 6)
    a, b, beta, q, delta, weight = rows.T
    weight = weight * _resident(delta + beta, ttl)
    mass = np.concatenate([weight * beta * (b - a) * ((a >= lo) & (b <= hi)),
                           weight * q * ((b >= lo) & (b < hi))])
    assert mass.sum() > 0.0, f"{name} captures between {lo} and {hi} with no capture chance"
    counts = rng.multinomial(n, mass / mass.sum())
    time = rng.random(n)
    time *= np.repeat(np.concatenate([b - a, np.zeros(b.size)]), counts)
    time += np.repeat(np.concatenate([a, b]), counts)
    return time


def _resident(rate: np.ndarray, ttl: float) -> np.ndarray:
    """``E[min(Exp(rate), ttl)]``: how long a token copy stays readable while its session lasts."""
    return ttl * g1(rate * ttl)

