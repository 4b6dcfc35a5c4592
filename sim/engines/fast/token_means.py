"""Expected sessions captured given the reads, in closed form: cost flat in the logins.

:mod:`.token_copies` gives the chance ``1 - exp(-own X(u))`` that some read of a counting set
takes a copy of the session opened at ``u``, and draws one class per login. Logins are
Poisson, so given the reads the sessions captured by each class are independent Poisson
counts whose means are ``lambda int (chance) du``; this module integrates those chances
exactly instead of drawing the logins, so its cost grows with the reads, not with the logins
(the copies' count on a busy server, ``docs/fast-engine.md``, items 3 and 4).

Between kinks (a read at ``u`` or at ``u + ttl``, a clear at ``u`` or at ``u + ttl``, the
horizon at ``u + ttl``) every term of :class:`.token_copies.LoginTerms` is a constant, so on
each worker ``X(u) = alpha + beta phi(u)`` (:func:`coefficients`), ``phi(u) = exp(delta (u -
c))`` (``u - c`` when ``delta = 0``),
``c`` the start of the window of length ``1 / delta`` (or ``ttl``) the piece lies in, so that
``phi`` stays within ``[1, e]`` and the coefficients summed over workers keep their precision.
Summed over the workers on the merged kinks, the chance integrates in closed form:

    int exp(-a - b phi) du = [exp(-X) H(y)] / delta,   y = -b phi,   H(y) = exp(-y) Ei(y),

(``len e^(-X_low) g1(slope len)`` when ``delta = 0``), where the exponent varies by more than
:data:`VARIATION` on a piece; where it varies less, Gauss-Legendre on the piece is exact to
rounding (the integrand's derivatives in the piece's own scale are all below ``e``), and the
closed form would cancel.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import special

from sim.engines.fast.decay import g1
from sim.engines.fast.reads import attacker_names
from sim.engines.fast.segments import Segment, WorkerLifetime
from sim.engines.fast.session_cuts import Until
from sim.engines.fast.token_copies import (
    WorkerSums,
    drawn_sums,
    login_terms,
    read_work,
    residency_rate,
)
from sim.scenario.model import SessionSpec

#: Most work of one server replication's draw of a class per login
#: (:func:`.token_copies.draw_classes`): reads, and the logins that can meet them once per
#: worker, times the counting sets.
COPIES_LIMIT = 20_000_000
#: Most pieces times counting sets of one server replication's means given the reads (memory:
#: about ten arrays of that many floats). Past both limits the integrated sweep is taken
#: (``docs/fast-engine.md``, items 3 and 4).
MEANS_LIMIT = 4_000_000
#: Seconds per read and per login and worker, per counting set, of the draw of a class per
#: login, and per piece and set of the means given the reads (measured on
#: ``restart-tuning.yaml`` with 30 to 30,000 logins an hour, 2026-12-06: 51,600 reads, 103,000
#: pieces). Both draws are exact; these only pick the cheaper.
LOGINS_READ_COST = 0.23e-6
LOGIN_COST = 0.40e-6
PIECE_COST = 0.62e-6
#: Exponent variation over a piece below which Gauss-Legendre integrates it (6 nodes: error
#: below 1e-15 relative where the derivatives are at most ``e`` in the piece's own scale).
VARIATION = 0.5
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(6)
#: ``|y|`` past which ``exp(-y) Ei(y)`` is summed from its asymptotic series (25 terms: the
#: remainder is below ``25! / 40^26``, 4e-17 relative).
_ASYMPTOTIC = 40.0


def given_reads(spec: SessionSpec, segments: Sequence[Segment], workers: int, logins: float,
                sets: int, prefer_logins: bool = False) -> str | None:
    """Which exact count of tokens that outlive the next request is expected to cost less:
    "logins" (a class drawn per login, :func:`.token_copies.draw_classes`; its cost grows with
    the reads and the logins), "means" (:func:`read_means`; with the reads alone), or None
    where both are past their limits (the integrated sweep). ``prefer_logins``: the class per
    login wherever it is within its limit, whatever the cost."""
    reads, meeting = read_work(spec, segments, workers, logins)
    span = window_length(residency_rate(spec), spec.ttl)
    horizon = max((s.t1 for s in segments), default=0.0)
    pieces = 2.0 * reads + min(reads * spec.ttl / span, workers * horizon / span)
    per_login = (reads + meeting) * sets <= COPIES_LIMIT
    means = pieces * sets <= MEANS_LIMIT
    if per_login and (prefer_logins or not means
                      or reads * LOGINS_READ_COST + meeting * LOGIN_COST <= pieces * PIECE_COST):
        return "logins"
    return "means" if means else None


def read_means(spec: SessionSpec, segments: Sequence[Segment],
               lifetimes: Sequence[WorkerLifetime], workers: int, logins: float,
               horizon: float, sets: Sequence[frozenset[str]], until: Sequence[Until],
               rng: np.random.Generator) -> np.ndarray:
    """Expected sessions captured per counting set (``sets``, ``until`` as
    :func:`.sessions.leak_means` has them) given freshly drawn reads of the token buffer."""
    names, _ = attacker_names(segments)
    prepared = [s for _, s in drawn_sums(spec, segments, lifetimes, workers, names, sets,
                                         until, rng)]
    if not prepared or logins <= 0.0:
        return np.zeros(len(sets))
    own = spec.requests_per_s / workers
    return logins * set_means(prepared, residency_rate(spec), own, spec.ttl, horizon)


def coefficients(w: WorkerSums, u: np.ndarray, e: np.ndarray, delta: float,
                 c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``alpha, beta`` (logins x sets) with ``X(u) / own = alpha + beta phi(u)`` on this worker
    for sessions valid on ``[u, e)``, exact on the piece of ``u``: the terms of
    :class:`.token_copies.LoginTerms` are constant there, so ``B(u) S(u)`` is
    ``ahead (1 / delta) exp(delta (u - first)) + ahead (carry - 1 / delta) exp(-delta (first -
    p))`` (without decay, ``ahead (u - p + carry)``)."""
    terms = login_terms(w, u, e, delta)
    if delta > 0.0:
        back = np.exp(-delta * (terms.first - terms.p))[:, None]
        alpha = terms.taken - terms.ahead * (terms.carry - 1.0 / delta) * back
        beta = -(terms.ahead / delta) * np.exp(delta * (c - terms.first))[:, None]
    else:
        alpha = terms.taken - terms.ahead * (terms.carry + (c - terms.p)[:, None])
        beta = -terms.ahead
    return alpha, beta


def phi(u: np.ndarray, c: np.ndarray, delta: float) -> np.ndarray:
    """The basis of the piece's varying part: ``exp(delta (u - c))``, or ``u - c``."""
    return np.exp(delta * (u - c)) if delta > 0.0 else u - c


def window_length(delta: float, ttl: float) -> float:
    """How long a window of one basis reference ``c`` runs: ``1 / delta`` keeps ``phi`` within
    ``[1, e]``; without decay, ``ttl``."""
    return 1.0 / delta if delta > 0.0 else ttl


def set_means(prepared: Sequence[WorkerSums], delta: float, own: float, ttl: float,
              horizon: float) -> np.ndarray:
    """Per counting set, ``int_0^horizon P(some read of the set takes a copy of the session
    opened at u) du`` (times the login rate, the expected sessions it captures)."""
    sets = prepared[0].q.shape[1]
    span = window_length(delta, ttl)
    starts, alphas, betas, counts = [], [], [], []
    for w in prepared:
        at, a, b = _worker_pieces(w, delta, ttl, horizon, span)
        starts.append(at)
        alphas.append(np.diff(a, axis=0, prepend=np.zeros((1, sets))))
        betas.append(np.diff(b, axis=0, prepend=np.zeros((1, sets))))
        nonzero = (np.any(a != 0.0, axis=1) | np.any(b != 0.0, axis=1)).astype(np.int64)
        counts.append(np.diff(nonzero, prepend=0))
    at = np.concatenate(starts)
    order = np.argsort(at, kind="stable")
    at = at[order]
    alpha = np.cumsum(np.concatenate(alphas)[order], axis=0)
    beta = np.cumsum(np.concatenate(betas)[order], axis=0)
    # how many workers have a capture chance on each merged piece: exact in integers, where
    # the sums above leave rounding behind a worker's last piece, which phi would blow up
    # over a long stretch without reads
    active = np.cumsum(np.concatenate(counts)[order])
    keep = np.append(at[1:] > at[:-1], True)  # after every change at an instant
    a0, alpha, beta, active = at[keep], alpha[keep], beta[keep], active[keep]
    a1 = np.append(a0[1:], horizon)
    live = (a1 > a0) & (active > 0)
    a0, a1, alpha, beta = a0[live], a1[live], alpha[live], beta[live]
    c = np.floor((a0 + a1) / 2.0 / span) * span
    return _integrate(a0, a1, c, own * alpha, own * beta, delta).sum(axis=0)


def _worker_pieces(w: WorkerSums, delta: float, ttl: float, horizon: float,
                   span: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One worker's pieces over the logins that can meet its reads: their starts, and each
    one's ``alpha`` and ``beta`` (pieces x sets); 0 past the last."""
    reach = np.maximum(w.t - ttl, 0.0)
    kinks = np.concatenate([w.t, reach, w.clears, w.clears - ttl, [horizon - ttl],
                            _windows(reach, w.t, span)])
    kinks = np.unique(kinks[(kinks >= 0.0) & (kinks < horizon)])
    # keep the kinks where some read lies within ttl on either side (elsewhere X is 0
    # around them); twice that, since a kink t - ttl plus ttl may round below t, and an extra
    # kink only splits a piece
    near = (np.searchsorted(w.t, kinks + 2.0 * ttl, side="right")
            - np.searchsorted(w.t, kinks - 2.0 * ttl, side="left")) > 0
    at = np.unique(np.concatenate([[0.0], kinks[near]]))
    end = np.append(at[1:], horizon)
    mid = (at + end) / 2.0
    c = np.floor(mid / span) * span
    alpha, beta = coefficients(w, mid, np.minimum(mid + ttl, horizon), delta, c)
    return at, alpha, beta


def _windows(lo: np.ndarray, hi: np.ndarray, span: float) -> np.ndarray:
    """The window boundaries ``k span`` inside the intervals ``[lo, hi]``."""
    first = np.ceil(lo / span)
    count = np.maximum(np.floor(hi / span) - first + 1, 0).astype(np.int64)
    k = np.repeat(first, count) + (np.arange(count.sum())
                                   - np.repeat(np.cumsum(count) - count, count))
    return np.unique(k) * span


def _integrate(a0: np.ndarray, a1: np.ndarray, c: np.ndarray, alpha: np.ndarray,
               beta: np.ndarray, delta: float) -> np.ndarray:
    """``int_a0^a1 1 - exp(-alpha - beta phi(u)) du`` per piece and set (the exponent here is
    ``own X``, never below 0 but for rounding)."""
    x0 = np.maximum(alpha + beta * phi(a0, c, delta)[:, None], 0.0)
    x1 = np.maximum(alpha + beta * phi(a1, c, delta)[:, None], 0.0)
    length = (a1 - a0)[:, None]
    out = np.zeros_like(alpha)
    smooth = np.abs(x1 - x0) <= VARIATION
    rows, cols = np.nonzero(smooth)
    if rows.size:
        half = (a1 - a0)[rows] / 2.0
        u = (a0 + a1)[rows, None] / 2.0 + half[:, None] * _NODES[None, :]
        x = alpha[rows, cols, None] + beta[rows, cols, None] * phi(u, c[rows, None], delta)
        out[rows, cols] = half * (-np.expm1(-np.maximum(x, 0.0)) @ _WEIGHTS)
    rows, cols = np.nonzero(~smooth)
    if rows.size:
        if delta > 0.0:
            y0 = -beta[rows, cols] * phi(a0[rows], c[rows], delta)
            y1 = -beta[rows, cols] * phi(a1[rows], c[rows], delta)
            kept = (np.exp(-x1[rows, cols]) * scaled_ei(y1)
                    - np.exp(-x0[rows, cols]) * scaled_ei(y0)) / delta
        else:
            low = np.minimum(x0[rows, cols], x1[rows, cols])
            kept = length[rows, 0] * np.exp(-low) * g1(np.abs(x1 - x0)[rows, cols])
        out[rows, cols] = length[rows, 0] - kept
    return out


def scaled_ei(y: np.ndarray) -> np.ndarray:
    """``exp(-y) Ei(y)`` for real ``y != 0``, without overflow: SciPy's ``expi`` within
    :data:`_ASYMPTOTIC`, the asymptotic series ``sum k! / y^(k+1)`` beyond."""
    y = np.asarray(y, dtype=float)
    near = np.abs(y) <= _ASYMPTOTIC
    out = np.empty_like(y)
    out[near] = np.exp(-y[near]) * special.expi(y[near])
    far = y[~near]
    term, total = 1.0 / far, np.zeros_like(far)
    for k in range(26):
        total += term
        term = term * (k + 1) / far
    out[~near] = total
    return out

