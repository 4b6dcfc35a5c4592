"""Expected sessions captured given the reads, in closed form (``sim/engines/fast/token_means.py``).

The means against the integral that defines them: each login's chance from
:func:`.token_copies.login_chances` (itself checked against every copy's chance written out,
``test_fast_token_copies.py``) integrated over the login times by adaptive quadrature between
the kinks, for residencies without decay, slow and fast decay, capture chances small and
saturating, so that both the Gauss-Legendre pieces and the closed form are met. The draws
built on them are compared with the literal draw in ``test_fast_token_copies.py`` and at full
power against the reference engine (``test_engines_agree.py``, ``lingering-means``).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, special

from sim.engines.fast import token_copies, token_means
from sim.engines.fast.segments import AttackerRates, Segment
from sim.engines.fast.session_literal import WorkerReads
from sim.scenario.model import SessionSpec

NAMES = ["eve", "mallory"]
SETS = [frozenset({"eve"}), frozenset({"mallory"}), frozenset(NAMES)]
UNTIL: list[dict[str, float]] = [{}, {}, {"eve": 60.0}]


def workers(delta: float) -> list[token_copies.WorkerSums]:
    """Two workers with clears (restarts, or handshakes under ``next_handshake``), two
    attackers and their union with one counted only before 60 s, as in
    ``test_fast_token_copies.py``."""
    rng = np.random.default_rng(4)
    out = []
    for clears in (np.array([30.0, 31.0, 70.0]), np.array([55.0])):
        t = np.sort(rng.uniform(0.0, 100.0, 25))
        who = rng.integers(2, size=t.size)
        q = np.where(who == 0, 0.3, 0.8) * rng.uniform(0.5, 1.0, t.size)
        wk = WorkerReads(t, who, q, clears, clears)
        out.append(token_copies.prepare(wk, token_copies.set_chances(wk, NAMES, SETS, UNTIL),
                                        delta))
    return out


@pytest.mark.parametrize("own", [0.05, 3.0])
@pytest.mark.parametrize("delta", [0.0, 0.02, 2.0])
def test_the_means_are_the_integral_of_each_logins_chance(delta: float, own: float) -> None:
    """``int_0^horizon P(captured | login at u) du`` per set, sessions valid ``ttl`` but
    never past the horizon: to 1e-9 (the quadrature's own precision)."""
    prepared, ttl, horizon = workers(delta), 45.0, 120.0
    got = token_means.set_means(prepared, delta, own, ttl, horizon)

    def chance(u: float, j: int) -> float:
        e = np.array([min(u + ttl, horizon)])
        return float(token_copies.login_chances(prepared, delta, own, np.array([u]), e)[j, 0])

    edges = sorted({0.0, horizon, horizon - ttl} | {
        x for w in prepared for y in (*w.t, *w.clears) for x in (y, y - ttl)
        if 0.0 < x < horizon})
    for j in range(len(SETS)):
        want = sum(integrate.quad(chance, a, b, (j,), epsabs=1e-13, epsrel=1e-12, limit=200)[0]
                   for a, b in zip(edges, edges[1:]))
        assert got[j] == pytest.approx(want, rel=1e-9)


def test_both_ways_of_integrating_a_piece_are_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cases above meet pieces whose exponent varies by less than ``VARIATION`` and by
    more (otherwise the closed form would be untested)."""
    seen = {"smooth": 0, "closed": 0}
    integrate_pieces = token_means._integrate

    def spy(a0: np.ndarray, a1: np.ndarray, c: np.ndarray, alpha: np.ndarray,
            beta: np.ndarray, delta: float) -> np.ndarray:
        x0 = alpha + beta * token_means.phi(a0, c, delta)[:, None]
        x1 = alpha + beta * token_means.phi(a1, c, delta)[:, None]
        varies = np.abs(x1 - x0) > token_means.VARIATION
        seen["closed"] += int(varies.sum())
        seen["smooth"] += int((~varies).sum())
        return integrate_pieces(a0, a1, c, alpha, beta, delta)

    monkeypatch.setattr(token_means, "_integrate", spy)
    for delta in (0.0, 0.02):
        token_means.set_means(workers(delta), delta, 3.0, 45.0, 120.0)
    assert seen["smooth"] > 0 and seen["closed"] > 0


def test_a_piece_is_its_linear_or_exponential_form() -> None:
    """Inside a piece the exponent is ``alpha + beta phi(u)``: the coefficients read at one
    point give :func:`.token_copies.exponent` at every other of the piece."""
    rng = np.random.default_rng(9)
    for delta in (0.0, 0.02):
        for w in workers(delta):
            ttl, horizon = 45.0, 120.0
            at, alpha, beta = token_means._worker_pieces(
                w, delta, ttl, horizon, token_means.window_length(delta, ttl))
            end = np.append(at[1:], horizon)
            u = at + (end - at) * rng.uniform(0.05, 0.95, at.size)
            c = np.floor((at + end) / 2.0 / token_means.window_length(delta, ttl)) \
                * token_means.window_length(delta, ttl)
            got = alpha + beta * token_means.phi(u, c, delta)[:, None]
            want = token_copies.exponent(w, u, np.minimum(u + ttl, horizon), delta)
            np.testing.assert_allclose(np.maximum(got, 0.0), want, rtol=1e-9, atol=1e-12)


def test_the_scaled_exponential_integral_on_both_sides_of_its_series() -> None:
    """``exp(-y) Ei(y)``: SciPy's ``expi`` and the asymptotic series agree where both hold
    (|y| from 40 to 300), and the series matches the differential equation
    ``H' = 1 / y - H`` far out, where ``expi`` overflows."""
    y = np.concatenate([np.linspace(40.0, 300.0, 50), -np.linspace(40.0, 300.0, 50)])
    series = token_means.scaled_ei(y * (1 + 1e-15))  # 40 itself is just past the switch
    np.testing.assert_allclose(series, np.exp(-y) * special.expi(y), rtol=1e-12)
    for big in (1e3, 5e4, -2e3):
        h = 1e-3 * abs(big)
        slope = (token_means.scaled_ei(np.array([big + h]))
                 - token_means.scaled_ei(np.array([big - h]))) / (2 * h)
        want = 1.0 / big - token_means.scaled_ei(np.array([big]))
        assert slope[0] == pytest.approx(want[0], rel=1e-4)
    near = np.array([-39.0, -1.0, -1e-3, 1e-3, 1.0, 39.0])
    np.testing.assert_allclose(token_means.scaled_ei(near), np.exp(-near) * special.expi(near),
                               rtol=1e-15)


def test_the_cheaper_exact_count_is_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    """A class per login where the logins that can meet the reads are few, the means where
    they are many, the sweep past both limits."""
    spec = SessionSpec(ttl=600.0, requests_per_s=0.01, lifetime=300.0)
    eve = (AttackerRates("eve", False, 0.05, 1, 0, 0.0, 0.0, 0.3),)
    segs = [Segment(0.0, 10_000.0, True, 1.0, 0.05, 0.1, 0.0, 0.0, eve)]
    assert token_means.given_reads(spec, segs, 4, 0.001, 3) == "logins"
    assert token_means.given_reads(spec, segs, 4, 50.0, 3) == "means"
    assert token_means.given_reads(spec, segs, 4, 50.0, 3, prefer_logins=True) == "logins"
    monkeypatch.setattr(token_means, "MEANS_LIMIT", 10.0)
    assert token_means.given_reads(spec, segs, 4, 50.0, 3) == "logins"
    monkeypatch.setattr(token_means, "COPIES_LIMIT", 10.0)
    assert token_means.given_reads(spec, segs, 4, 50.0, 3) is None


@st.composite
def worker_reads(draw: st.DrawFn) -> tuple[list[WorkerReads], float, float, float, float]:
    """One or two workers' reads (times may coincide, with each other and with clears), a
    residency rate (0: until the next clear), a ``ttl``, a horizon and an ``own`` rate."""
    horizon = draw(st.floats(10.0, 500.0))
    times = st.lists(st.floats(0.0, horizon, allow_subnormal=False), min_size=1, max_size=12)
    out = []
    for _ in range(draw(st.integers(1, 2))):
        t = np.sort(np.array(draw(times)))
        if draw(st.booleans()) and t.size > 1:
            t[1] = t[0]  # two reads at one instant
        who = np.array(draw(st.lists(st.integers(0, 1), min_size=t.size, max_size=t.size)))
        q = np.array(draw(st.lists(st.floats(0.01, 1.0), min_size=t.size, max_size=t.size)))
        clears = np.sort(np.array(draw(st.lists(st.sampled_from(list(t) + [horizon / 2]),
                                                max_size=3))))
        out.append(WorkerReads(t, who, q, clears, clears))
    delta = draw(st.sampled_from([0.0, 0.01, 1.0]))
    return out, delta, draw(st.floats(1.0, 200.0)), horizon, draw(st.floats(0.001, 5.0))


@settings(max_examples=60, deadline=None)
@given(case=worker_reads())
def test_the_means_are_finite_bounded_and_grow_with_the_set(
        case: tuple[list[WorkerReads], float, float, float, float]) -> None:
    """Whatever the reads (coinciding with each other and with clears): each set's integral
    of a chance lies in ``[0, horizon]``, a union of attackers captures at least what each
    member does, and the closed form is the quadrature's (to 1e-7 of the horizon)."""
    reads, delta, ttl, horizon, own = case
    prepared = [token_copies.prepare(wk, token_copies.set_chances(wk, NAMES, SETS, [{}] * 3),
                                     delta) for wk in reads]
    got = token_means.set_means(prepared, delta, own, ttl, horizon)
    assert np.isfinite(got).all()
    assert (got >= -1e-9).all() and (got <= horizon * (1 + 1e-9)).all()
    assert got[2] >= max(got[0], got[1]) - 1e-9 * horizon
    edges = sorted({0.0, horizon, max(horizon - ttl, 0.0)} | {
        x for w in prepared for y in (*w.t, *w.clears) for x in (y, y - ttl)
        if 0.0 < x < horizon})

    def chance(u: float, j: int) -> float:
        e = np.array([min(u + ttl, horizon)])
        return float(token_copies.login_chances(prepared, delta, own, np.array([u]), e)[j, 0])

    for j in range(len(SETS)):
        want = sum(integrate.quad(chance, a, b, (j,), epsabs=1e-12, limit=100)[0]
                   for a, b in zip(edges, edges[1:]))
        assert got[j] == pytest.approx(want, abs=1e-7 * horizon)
