"""Session tokens that outlive the next request, counted given the reads
(``sim/engines/fast/token_copies.py``).

First the chances themselves: a login's chance of being captured, from the scans, against the
integral that defines it (each copy's capture chance written out read by read, integrated by
quadrature). Then the whole draw through :func:`sample_sessions` against the literal draw of
every session, request and copy (``session_literal.py``), which is exact given the skeleton:
both are exact, so every quantity must agree within the run's own standard errors, and each
case checks that its comparison would see the integrated sweep's Poisson count (items 3 and 4
of ``docs/fast-engine.md``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate
from test_fast_session_reads import compare, segments

from sim.engines.fast import sessions, token_copies, token_means, token_takes
from sim.engines.fast.segments import AttackerRates, Segment, WorkerLifetime
from sim.engines.fast.session_literal import SessionDraw, WorkerReads
from sim.engines.fast.sessions import sample_sessions
from sim.scenario.model import SessionSpec


def test_the_scan_solves_the_recurrence() -> None:
    rng = np.random.default_rng(1)
    for n in (1, 2, 3, 7, 64, 1000):
        a, b = rng.random((n, 3)) * (rng.random((n, 3)) < 0.9), rng.random((n, 3))
        want = np.zeros((n, 3))
        for k in range(n):
            want[k] = b[k] + (a[k] * want[k - 1] if k else 0.0)
        np.testing.assert_allclose(token_copies.scan(a, b), want, rtol=1e-12)


def test_the_logins_drawn_are_those_whose_sessions_can_meet_a_read() -> None:
    """A session opened at ``u`` is valid on ``[u, u + ttl)``: it can meet a read at ``t``
    iff ``u`` lies in ``(t - ttl, t]``; the union over the reads, from the cold start."""
    lo, hi = token_copies.meeting(np.array([5.0, 8.0, 30.0, 31.0, 41.0, 100.0]), 10.0)
    np.testing.assert_array_equal(lo, [0.0, 20.0, 90.0])
    np.testing.assert_array_equal(hi, [8.0, 41.0, 100.0])


def copy_chance(t: float, e: float, wk: WorkerReads, q: np.ndarray, delta: float) -> float:
    """The chance that a copy left at ``t`` by a session valid until ``e`` is captured: read
    by read until its block's clear, each read taking it with its chance while the copy
    lasts (an exponential residency)."""
    clear = wk.clears[wk.clears > t]
    stop = min(e, clear[0] if clear.size else math.inf)
    kept, out = 1.0, 0.0
    for tk, qk in zip(wk.read_t, q):
        if t <= tk < stop:
            out += kept * math.exp(-delta * (tk - t)) * qk
            kept *= 1.0 - qk
    return out


@pytest.mark.parametrize("delta", [0.0, 0.02])
def test_a_logins_chance_is_the_integral_of_its_copies(delta: float) -> None:
    """Two workers with clears (restarts, or handshakes under ``next_handshake``), two
    attackers and their union with one counted only before 60 s: ``1 - exp(-own int_u^e pi)``
    summed over the workers, ``pi`` each copy's chance written out, by quadrature."""
    rng = np.random.default_rng(4)
    names = ["eve", "mallory"]
    sets = [frozenset({"eve"}), frozenset({"mallory"}), frozenset(names)]
    until: list[dict[str, float]] = [{}, {}, {"eve": 60.0}]
    reads = []
    for clears in (np.array([30.0, 31.0, 70.0]), np.array([55.0])):
        t = np.sort(rng.uniform(0.0, 100.0, 25))
        who = rng.integers(2, size=t.size)
        q = np.where(who == 0, 0.3, 0.8) * rng.uniform(0.5, 1.0, t.size)
        reads.append(WorkerReads(t, who, q, clears, clears))
    chances = [token_copies.set_chances(wk, names, sets, until) for wk in reads]
    u = np.array([0.0, 5.0, 29.0, 30.5, 40.0, 65.0, 99.0])
    e = np.minimum(u + 45.0, 100.0)
    own = 0.05
    prepared = [token_copies.prepare(wk, q, delta) for wk, q in zip(reads, chances)]
    got = token_copies.login_chances(prepared, delta, own, u, e)
    for j in range(len(sets)):
        for i in range(u.size):
            exponent = 0.0
            for wk, q in zip(reads, chances):
                kinks = [x for x in (*wk.read_t, *wk.clears) if u[i] < x < e[i]]
                value, _ = integrate.quad(copy_chance, u[i], e[i], (e[i], wk, q[:, j], delta),
                                          points=kinks or None, limit=200, epsabs=1e-12)
                exponent += own * value
            assert got[j, i] == pytest.approx(-math.expm1(-exponent), rel=1e-8, abs=1e-14)
    assert (got > 0.05).any() and (got < 1.0).all()


def draws(spec: SessionSpec, segs: list[Segment], lives: list[WorkerLifetime], workers: int,
          horizon: float, n: int, seed: int, path: str, cut: float,
          monkeypatch: pytest.MonkeyPatch) -> list[SessionDraw]:
    """``n`` draws of ``path``: "literal", "copies" (a class per login, this module; "copies
    cut" with its chunks of logins cut to one login, as :data:`token_copies.CELLS` cuts them
    beside many attackers), "means" (their means given the reads, ``token_means.py``) or
    "sweep" (the integrated path); the session log's ``cut`` times the attempts' sides."""
    with monkeypatch.context() as m:
        if path == "copies cut":
            m.setattr(token_copies, "CELLS", 1)
            path = "copies"
        m.setattr(sessions, "LITERAL_LIMIT", 1e12 if path == "literal" else -1.0)
        m.setattr(token_means, "COPIES_LIMIT", 1e12 if path == "copies" else -1.0)
        m.setattr(token_means, "MEANS_LIMIT", 1e12 if path == "means" else -1.0)
        if path == "sweep":  # past the copies' counts, the draw where copies are taken first
            m.setattr(token_takes, "TAKES_LIMIT", -1.0)
        sources = {a.name: 2 for s in segs for a in s.attackers}
        return [sample_sessions(spec, segs, lives, workers, 1, LOGINS, horizon, sources,
                                np.random.default_rng([seed, k]), server="web", cuts=(cut,))
                for k in range(n)]


LOGINS = 0.02
"""Per second on the server (one host), as :func:`test_fast_session_reads.segments` has it."""
#: Draws a side: a reader's P(no session) near 0.4 is compared to within about 0.05, where the
#: Poisson count of the same mean is off by more (each case prints both).
N = 1500


def check(literal: list[SessionDraw], drawn: list[SessionDraw], cut: float,
          reader: str) -> None:
    failures, bounds = compare(literal, drawn, cut)
    assert not failures, failures
    mean, _ = bounds[f"{reader} sessions"]
    truth, half = bounds[f"{reader} sessions none"]
    print(f"Poisson P(none) {math.exp(-mean):.4f} against {truth:.4f} +- {half:.4f}")
    assert abs(math.exp(-mean) - truth) > half, "cannot see the Poisson draw's P(none)"


def skeleton(spec: SessionSpec, reader: float, handshake_gap: float,
             ) -> tuple[list[Segment], list[WorkerLifetime], int, float]:
    """Three workers, two restarted inside the attack (under ``next_handshake`` a handshake
    every ``handshake_gap`` seconds per worker): from 300 s a reader sending ``reader``
    connections a second, each taking nearly a third of the copies resident at once; from
    500 s beside it a reader of many connections that take few copies each, and a benign one.
    Segments, lifetimes, workers and horizon."""
    heavy = AttackerRates("eve", False, reader, 1, 0, 0.0, 0.0, 0.3)
    light = AttackerRates("mallory", False, 0.05, 1, 0, 0.0, 0.0, 0.02)
    scan = AttackerRates("scan", True, 0.05, 1, 0, 0.0, 0.0, 0.02)
    horizon, workers = 2000.0, 3
    segs = segments(spec, workers, (300.0, 500.0, 900.0), horizon, (heavy,), hot=1)
    segs[2] = segs[2]._replace(attackers=(heavy, light, scan))
    if spec.lifetime == "next_handshake":
        segs = [s._replace(handshakes=1 / handshake_gap) for s in segs]
    lives = [WorkerLifetime(0, 0.0, 450.0, False, "scheduled"),
             WorkerLifetime(0, 450.0, horizon, False),
             WorkerLifetime(1, 0.0, 650.0, False, "scheduled"),
             WorkerLifetime(1, 650.0, horizon, False),
             WorkerLifetime(2, 0.0, horizon, False)]
    return segs, lives, workers, horizon


@pytest.mark.parametrize("lifetime", [300.0, "next_handshake"])
def test_lingering_copies_against_the_literal_draw(
        lifetime: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """:func:`skeleton` with tokens resident five minutes on average (or until the next
    handshake, a minute apart per worker) and a reader every 11 minutes, so the sessions it
    captures come in bunches and their count is far from Poisson (P(none) about the chance
    of no read at all); the session log's cut at 700 s. Every session quantity agrees
    (counts, their chance of being none, hijacks, attempts before the cut), per reader and
    in total, for a class drawn per login (also one login at a time) and for the classes'
    Poisson counts with their means given the reads (``token_means.py``)."""
    spec = SessionSpec(ttl=600.0, requests_per_s=0.01, lifetime=lifetime,  # type: ignore[arg-type]
                       binding=("ip",), shared_address_probability=0.3)
    segs, lives, workers, horizon = skeleton(spec, 0.0015, 60.0)
    assert sessions.literal_sessions(spec, segs, workers, LOGINS, False)
    literal = draws(spec, segs, lives, workers, horizon, N, 1, "literal", 700.0, monkeypatch)
    for seed, path in ((2, "copies"), (3, "means"), (4, "copies cut")):
        drawn = draws(spec, segs, lives, workers, horizon, N, seed, path, 700.0, monkeypatch)
        check(literal, drawn, 700.0, "eve")
