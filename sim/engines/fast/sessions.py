"""Sessions leaked through over-read token copies, integrated over login times; then hijacks.

A session opened at ``u`` is valid on ``[u, e)``, ``e = u + ttl`` (rule 1), and meanwhile sends
requests at ``rho``, each to a uniform one of the ``W`` workers (``own = rho / W`` per worker),
where it leaves one token copy. With the hazards of :mod:`.buffers` (``beta`` for the attackers
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

The expected number leaked is ``int Lambda P_leak(u) du`` over logins (``Lambda`` per server,
from ``t = 0``: rule 18's cold start), by Gauss-Legendre on the intervals between the kinks of
``P_leak`` (segment and restart boundaries, and the same shifted by ``-ttl``), only over
``[first capture chance - ttl, last capture chance]``. The count is Poisson with that mean: an
approximation treating sessions' leaks as independent (they share only the attack's
connections). Counts for nested attacker sets are coupled through one uniform.

Reuse attempts (rule 9) are drawn per leaked session of a malicious attacker: ``binding: none``
always succeeds; ``ip`` succeeds only when the shared-address draw does. Their times follow the
attacker's token capture profile ``beta_a * (session requests per second) * E[min(residency,
ttl)]`` per segment, plus its crash captures; that profile ignores restarts, which only thin it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from sim.engines.fast.buffers import (
    Hazard,
    attacker_names,
    clear_rate,
    counting_sets,
    crash_capture,
    segment_hazards,
)
from sim.engines.fast.segments import AttackerRates, Lifetime, Segment
from sim.engines.record import SessionReuse
from sim.scenario.model import SessionSpec

#: Gauss-Legendre points per interval of login times.
NODES = 8
#: Most intervals of login times; beyond it restart kinks (each 1/W of the integrand) are
#: dropped first, then segment kinks are thinned evenly.
MAX_INTERVALS = 64

_GL_X, _GL_W = np.polynomial.legendre.leggauss(NODES)


@dataclass(slots=True)
class SessionDraw:
    total_leaked: int
    total_hijacked: int
    leaked_by_attacker: dict[str, int]
    hijacked_by_attacker: dict[str, int]
    reuses: list[SessionReuse]
    """One per malicious attempt (rule 9)."""


@dataclass(frozen=True, slots=True)
class _Piece:
    """Constant rates on ``[a, b)`` of one worker; ``ends`` when a restart follows at ``b``."""

    a: float
    b: float
    delta: float
    beta: np.ndarray
    """Capture hazard per counting set."""
    ends: bool
    crash: np.ndarray
    """Capture probability of the crash at ``b`` per counting set (0 unless it ends by crash)."""


def _token(a: AttackerRates) -> float:
    return a.c_token


def g1(x: np.ndarray) -> np.ndarray:
    """``(1 - e^-x) / x``, 1 at 0."""
    x = np.asarray(x, dtype=float)
    safe = np.where(x > 1e-8, x, 1.0)
    return np.where(x > 1e-8, -np.expm1(-safe) / safe, 1.0 - x / 2.0)


def g2(x: np.ndarray) -> np.ndarray:
    """``(x - 1 + e^-x) / x^2``, 1/2 at 0 (series below 1e-3, where the difference cancels)."""
    x = np.asarray(x, dtype=float)
    safe = np.where(x > 1e-3, x, 1.0)
    exact = (safe + np.expm1(-safe)) / safe**2
    return np.where(x > 1e-3, exact, 0.5 - x / 6.0 + x * x / 24.0)


def sweep_copies(
    pieces: Sequence[_Piece], u: np.ndarray, e: np.ndarray, sets: int, own: float
) -> np.ndarray:
    """``own * I(u_i, e_i)``, ``I = int_{u_i}^{e_i} pi(t; e_i) dt``, per counting set, for one
    worker receiving the session's requests at ``own`` per second."""
    pi = np.zeros((sets, u.size))
    total = np.zeros((sets, u.size))
    for p in reversed(pieces):
        lo, hi = np.maximum(p.a, u), np.minimum(p.b, e)
        length = np.maximum(hi - lo, 0.0)
        live = length > 0.0
        if not live.any():
            continue
        inside = p.b < e  # the piece's right end lies before the session expires
        right = np.where(inside, p.crash[:, None] if p.ends else pi, 0.0)
        g = (p.beta + p.delta)[:, None] * length
        beta = p.beta[:, None]
        total += np.where(live, beta * length**2 * g2(g) + right * length * g1(g), 0.0)
        pi = np.where(live, beta * length * g1(g) + np.exp(-g) * right, pi)
    return own * total


def sweep_slot(
    pieces: Sequence[_Piece], u: np.ndarray, e: np.ndarray, sets: int, own: float
) -> np.ndarray:
    """``-log P(no capture on this worker)`` of a session valid on ``[u_i, e_i)``, per counting
    set, under ``next_request``: the buffer holds the session's token (state 1) or not (0).

    The session's own requests (``own`` per second) put it there, everyone else's requests
    (``delta``, unchanged by conditioning on one session: logins are Poisson) take it out, and
    counted attackers capture it at ``beta``. The backward sweep multiplies ``v`` by
    ``exp(G L)``, ``G = [[-own, own], [delta, -delta - beta]]``, written as
    ``e^(mL) (cosh(sL) I + sinh(sL)/s (G - m I))`` with ``m`` half the trace and
    ``s^2 = m^2 - det G``. A restart at ``b < e`` empties the buffer, after a crash's capture.
    """
    v0 = np.ones((sets, u.size))
    v1 = np.ones((sets, u.size))
    for p in reversed(pieces):
        lo, hi = np.maximum(p.a, u), np.minimum(p.b, e)
        length = np.maximum(hi - lo, 0.0)
        live = length > 0.0
        if not live.any():
            continue
        inside = p.b < e
        if p.ends:  # the restart at b: whatever was resident is gone, a crash may read it first
            r0 = np.where(inside, v0, 1.0)
            r1 = np.where(inside, (1.0 - p.crash[:, None]) * v0, 1.0)
        else:
            r0, r1 = np.where(inside, v0, 1.0), np.where(inside, v1, 1.0)
        a, b = own, p.delta
        c = (b + p.beta)[:, None]
        m = -(a + c) / 2.0
        half = np.sqrt(((a - c) / 2.0) ** 2 + a * b)
        grow, fall = np.exp((m + half) * length), np.exp((m - half) * length)
        cosh = (grow + fall) / 2.0
        sx = half * length
        sinh = np.where(sx > 1e-6, (grow - fall) / (2.0 * np.where(half > 0, half, 1.0)),
                        length * np.exp(m * length) * (1.0 + sx * sx / 6.0))
        n0 = (cosh + sinh * (-a - m)) * r0 + sinh * a * r1
        n1 = sinh * b * r0 + (cosh + sinh * (-c - m)) * r1
        v0, v1 = np.where(live, n0, v0), np.where(live, n1, v1)
    return -np.log(np.clip(v0, np.finfo(float).tiny, 1.0))


def login_nodes(breaks: Sequence[float], cap: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on the intervals between sorted unique ``breaks``."""
    b = np.unique(np.asarray(breaks, dtype=float))
    if b.size - 1 > cap:
        b = b[np.unique(np.linspace(0, b.size - 1, cap + 1).round().astype(int))]
    lo, hi = b[:-1], b[1:]
    half, mid = (hi - lo) / 2.0, (hi + lo) / 2.0
    return (mid[:, None] + half[:, None] * _GL_X).ravel(), (half[:, None] * _GL_W).ravel()


class _Server:
    """Hazards of one server's segments for each counting set, and each worker's pieces."""

    def __init__(
        self, spec: SessionSpec, segments: Sequence[Segment], sets: list[frozenset[str]]
    ) -> None:
        self.spec = spec
        self.segments = segments
        self.starts = [s.t0 for s in segments]
        self.sets = sets
        self.hazards = [segment_hazards(s, _token, spec.lifetime) for s in segments]
        self.beta = np.array([[_set_beta(hz, c) for c in sets] for hz in self.hazards])
        self.delta = np.array([self._delta(s, hz) for s, hz in zip(segments, self.hazards)])

    def _delta(self, seg: Segment, hazards: Sequence[Hazard]) -> float:
        rule = self.spec.lifetime
        if isinstance(rule, str):
            return clear_rate(seg, hazards, rule)
        return 1.0 / float(rule)

    def crash_vector(self, lt: Lifetime) -> np.ndarray | None:
        crash = crash_capture(lt, self.segments, self.starts, _token, self.spec.lifetime)
        if crash is None:
            return None
        return np.array([crash[1] if crash[0] in c else 0.0 for c in self.sets])

    def pieces(self, lives: Sequence[Lifetime], lo: float, hi: float) -> list[_Piece]:
        """One worker's pieces on ``[lo, hi)``, its lifetimes given in time order."""
        out: list[_Piece] = []
        none = np.zeros(len(self.sets))
        for lt in lives:
            a0, b0 = max(lt.start, lo), min(lt.end, hi)
            if b0 <= a0:
                continue
            crash = self.crash_vector(lt) if lt.end <= hi else None
            i = max(0, int(np.searchsorted(self.starts, a0, side="right")) - 1)
            while i < len(self.segments) and self.segments[i].t0 < b0:
                a, b = max(self.segments[i].t0, a0), min(self.segments[i].t1, b0)
                if b > a:
                    last = b >= b0 and lt.end <= hi
                    out.append(_Piece(a, b, self.delta[i], self.beta[i], last,
                                      crash if (last and crash is not None) else none))
                i += 1
        return out


def _set_beta(hazards: Sequence[Hazard], counted: frozenset[str]) -> float:
    return sum(h.beta for h in hazards if h.name in counted)


def sample_sessions(
    spec: SessionSpec,
    segments: Sequence[Segment],
    lifetimes: Sequence[Lifetime],
    workers: int,
    hosts: int,
    logins_per_host: float,
    horizon: float,
    attacker_sources: Mapping[str, int],
    rng: np.random.Generator,
    *,
    server: str = "",
) -> SessionDraw:
    """Draw the sessions leaked and hijacked on one server in one replication.

    ``server`` names the server in the :class:`SessionReuse` records.
    """
    names, malicious = attacker_names(segments)
    leaked = dict.fromkeys(names, 0)
    hijacked = dict.fromkeys(names, 0)
    found = leak_means(spec, segments, lifetimes, workers, hosts * logins_per_host, horizon)
    if found is None:
        return SessionDraw(0, 0, leaked, hijacked, [])
    # One uniform for every set: Poisson quantiles are monotone in the mean, so a set's count is
    # never below its subsets' (the total is never below an attacker's own count).
    v = rng.random()
    counts = {c: _poisson_quantile(v, m) for c, m in found.means.items()}
    for name in names:
        leaked[name] = counts[frozenset({name})]
    total = max([counts[malicious] if malicious else 0, *(leaked[a] for a in malicious)])

    reuses: list[SessionReuse] = []
    binding, shared_p = spec.binding, spec.shared_address_probability
    for name in sorted(malicious):
        n = leaked[name]
        if n == 0:
            continue
        times = _reuse_times(found, name, workers, n, rng)
        shared = rng.random(n) < shared_p
        ok = np.ones(n, dtype=bool) if binding == "none" else shared
        sources = rng.integers(attacker_sources[name], size=n)
        hijacked[name] = int(ok.sum())
        reuses += [
            SessionReuse(float(t), name, server, int(s), not bool(k), bool(sh))
            for t, s, k, sh in zip(times, sources, ok, shared)
        ]
    reuses.sort(key=lambda r: r.time)
    return SessionDraw(total, _total_hijacked(spec, total, hijacked, malicious, rng), leaked,
                       hijacked, reuses)


def _segment_at(srv: _Server, t: float) -> int:
    """Index of the segment whose rates held just before ``t``."""
    return max(0, int(np.searchsorted(srv.starts, t, side="left")) - 1)


@dataclass(frozen=True, slots=True)
class LeakMeans:
    """Expected leaked sessions per counting set, and where captures could happen."""

    srv: _Server
    means: dict[frozenset[str], float]
    crashes: list[Lifetime]
    """Lifetimes ended by a crash that could capture a token."""
    first: float
    last: float
    """Capture chances lie in ``[first, last]``."""


def leak_means(
    spec: SessionSpec,
    segments: Sequence[Segment],
    lifetimes: Sequence[Lifetime],
    workers: int,
    logins: float,
    horizon: float,
) -> LeakMeans | None:
    """Expected leaked sessions per counting set (``logins`` per second on the server);
    None when no session can leak."""
    names, malicious = attacker_names(segments)
    sets = counting_sets(names, malicious)
    if not sets or logins <= 0.0 or spec.requests_per_s <= 0.0 or not lifetimes:
        return None
    srv = _Server(spec, segments, sets)
    crashes = [lt for lt in lifetimes if srv.crash_vector(lt) is not None]
    hot = np.flatnonzero(srv.beta.sum(axis=1) > 0.0)
    if hot.size == 0 and not crashes:
        return None
    first = min(([segments[hot[0]].t0] if hot.size else []) + [lt.end for lt in crashes])
    ends = [segments[hot[-1]].t1] if hot.size else []
    last = min(horizon, max(ends + [segments[_segment_at(srv, lt.end)].t1 for lt in crashes]))
    means = _integrate(srv, lifetimes, workers, logins, first, last)
    return LeakMeans(srv, dict(zip(sets, means.tolist())), crashes, first, last)


def _integrate(
    srv: _Server, lifetimes: Sequence[Lifetime], workers: int, logins: float, first: float,
    last: float,
) -> np.ndarray:
    """``int Lambda P_leak(u) du`` per counting set."""
    ttl = srv.spec.ttl
    lo, hi = max(0.0, first - ttl), last
    if hi <= lo:
        return np.zeros(len(srv.sets))
    by_worker: dict[int, list[Lifetime]] = {}
    for lt in sorted(lifetimes, key=lambda lt: lt.start):
        if lt.end > lo and lt.start < hi:
            by_worker.setdefault(lt.worker, []).append(lt)
    seg_kinks = [s.t0 for s in srv.segments if lo < s.t0 < hi]
    restart_kinks = [lt.end for lives in by_worker.values() for lt in lives if lo < lt.end < hi]
    shifted = lambda ts: [t - ttl for t in ts if t - ttl > lo]  # noqa: E731 - kinks of e = u + ttl
    breaks = [lo, hi, *seg_kinks, *shifted(seg_kinks)]
    if len(breaks) + 2 * len(restart_kinks) <= MAX_INTERVALS + 1:
        breaks += restart_kinks + shifted(restart_kinks)
    u, w = login_nodes(breaks, MAX_INTERVALS)
    e = np.minimum(u + ttl, hi)
    # Workers with the same restarts in the window see the same pieces: sweep each shape once.
    shapes: dict[tuple, list[list[Lifetime]]] = {}
    for lives in by_worker.values():
        shapes.setdefault(_shape(lives, lo, hi), []).append(lives)
    sweep = sweep_slot if srv.spec.lifetime == "next_request" else sweep_copies
    own = srv.spec.requests_per_s / workers
    exponent = np.zeros((len(srv.sets), u.size))
    for alike in shapes.values():
        exponent += len(alike) * sweep(srv.pieces(alike[0], lo, hi), u, e, len(srv.sets), own)
    leak = -np.expm1(-exponent)
    return (leak * (logins * w)[None, :]).sum(axis=1)


def _shape(lives: Sequence[Lifetime], lo: float, hi: float) -> tuple:
    """What of a worker's lifetimes the window ``[lo, hi)`` sees: restart times and crashes."""
    return tuple(
        (max(lt.start, lo), min(lt.end, hi), lt.crash if lt.end < hi else None) for lt in lives
    )


def _poisson_quantile(v: float, mean: float) -> int:
    """Least ``k`` with ``P(Poisson(mean) <= k) >= v``."""
    return int(stats.poisson.ppf(v, mean)) if mean > 0.0 else 0


def _reuse_times(
    found: LeakMeans, name: str, workers: int, n: int, rng: np.random.Generator
) -> np.ndarray:
    """``n`` attempt times from attacker ``name``'s token capture profile on ``[first, last)``:
    per segment its expected token captures on all ``workers``, per crash those of one worker."""
    srv, first, last = found.srv, found.first, found.last
    ttl, j = srv.spec.ttl, srv.sets.index(frozenset({name}))
    spans: list[tuple[float, float]] = []
    weights: list[float] = []
    points: list[float] = []
    masses: list[float] = []
    for i, seg in enumerate(srv.segments):
        a, b = max(seg.t0, first), min(seg.t1, last)
        beta = srv.beta[i, j]
        if b > a and beta > 0.0:
            spans.append((a, b))
            resident = _resident(srv.delta[i] + beta, ttl)
            weights.append(workers * beta * seg.session_requests * resident * (b - a))
    for lt in found.crashes:
        q = srv.crash_vector(lt)
        if q is not None and q[j] > 0.0:
            i = _segment_at(srv, lt.end)
            points.append(lt.end)
            resident = _resident(srv.delta[i] + srv.beta[i, j], ttl)
            masses.append(q[j] * srv.segments[i].session_requests * resident)
    mass = np.array(weights + masses, dtype=float)
    pick = rng.choice(mass.size, size=n, p=mass / mass.sum())
    where = rng.random(n)
    out = np.empty(n)
    for k, idx in enumerate(pick):
        if idx < len(spans):
            a, b = spans[idx]
            out[k] = a + where[k] * (b - a)
        else:
            out[k] = points[idx - len(spans)]
    return out


def _resident(rate: float, ttl: float) -> float:
    """``E[min(Exp(rate), ttl)]``: how long a token copy stays readable while its session lasts."""
    return ttl * float(g1(np.array(rate * ttl)))


def _total_hijacked(
    spec: SessionSpec, total: int, own: Mapping[str, int], malicious: frozenset[str],
    rng: np.random.Generator,
) -> int:
    """Sessions hijacked by at least one malicious attacker.

    Every leaked session was tried by the attacker that captured it, so with ``binding: none``
    all of them are hijacked. Under ``ip`` each session succeeds with at least the shared-address
    probability (more when several attackers tried it): we draw ``Binomial(total, p)`` and keep
    it between the largest attacker's own hijacks and the sum of them (exact with one attacker).
    """
    if spec.binding == "none":
        return total
    tried = [own[a] for a in malicious]
    if not tried:
        return 0
    draw = int(rng.binomial(total, spec.shared_address_probability)) if total else 0
    return int(min(max(draw, max(tried)), min(total, sum(tried))))
