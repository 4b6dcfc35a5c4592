"""The fast engine's session integrals against a literal simulation written here.

The literal simulation draws every login, session request, other request and attacker
connection of a ``next_request`` server (each routed to a uniform worker), keeps per worker the
newest request's token, and lets each connection capture it with probability ``c`` while its
session is valid. The integral's expected count must lie in the run's normal interval.
"""

from __future__ import annotations

import numpy as np
import pytest
from evidence_builders import normal_interval
from scipy.integrate import quad

from sim.engines.fast.segments import AttackerRates, CrashInfo, KeyCapture, WorkerLifetime, Segment
from sim.engines.fast import sessions, slot_looks, token_means, token_takes
from sim.engines.fast.sessions import leak_means, sample_sessions, sweep_copies, sweep_slot
from sim.scenario.model import SessionSpec


def literal(
    rng: np.random.Generator, W: int, T: float, logins: float, ttl: float, rho: float,
    other: float, a0: float, a1: float, nu: float, c: float, restarts: tuple = (),
) -> int:
    """Sessions leaked in one replication; ``restarts`` are (time, worker) pairs."""
    return int(np.unique(literal_captures(rng, W, T, logins, ttl, rho, other, a0, a1, nu, c,
                                          restarts)[0]).size)


def literal_captures(
    rng: np.random.Generator, W: int, T: float, logins: float, ttl: float, rho: float,
    other: float, a0: float, a1: float, nu: float, c: float, restarts: tuple = (),
) -> tuple[np.ndarray, np.ndarray]:
    """Every capture of one replication of :func:`literal`: the session taken and the time."""
    n = rng.poisson(logins * T)
    if n == 0:
        return np.empty(0, dtype=int), np.empty(0)
    u = rng.uniform(0, T, n)
    ends = u + ttl
    span = np.minimum(ends, T) - u
    owner = np.repeat(np.arange(n), rng.poisson(rho * span))
    sess_t = u[owner] + rng.random(owner.size) * span[owner]
    m = rng.poisson(other * W * T)
    r_t = np.array([t for t, _ in restarts], dtype=float)
    r_w = np.array([w for _, w in restarts], dtype=int)
    t = np.concatenate([u, sess_t, rng.uniform(0, T, m), r_t])
    w = np.concatenate([rng.integers(W, size=n + owner.size + m), r_w])
    s = np.concatenate([np.full(n, -1), owner, np.full(m, -1), np.full(r_t.size, -1)])
    order = np.lexsort((t, w))  # by worker, then time: a restart empties like a request
    key = (w * 1e7 + t)[order]
    s = s[order]
    k = rng.poisson(nu * W * (a1 - a0))
    ct, cw = rng.uniform(a0, a1, k), rng.integers(W, size=k)
    idx = np.searchsorted(key, cw * 1e7 + ct, side="right") - 1
    same = (idx >= 0) & (np.floor(key[np.maximum(idx, 0)] / 1e7) == cw)
    held = np.where(same, s[np.maximum(idx, 0)], -1)
    valid = (held >= 0) & (ct < ends[np.maximum(held, 0)])
    captured = valid & (rng.random(k) < c)
    return held[captured], ct[captured]


def segments(W: int, T: float, logins: float, ttl: float, rho: float, other: float,
             a0: float, a1: float, nu: float, c: float) -> list[Segment]:
    """Per-worker rates, the session ramp as one half-rate step over the first ``ttl``."""
    steady = logins * rho * ttl / W
    att = (AttackerRates("eve", False, nu, 1, 0, 0.0, 0.0, c),)
    seg = lambda t0, t1, sess, a=(): Segment(  # noqa: E731
        t0, t1, True, logins / W + sess + other, logins / W, sess, 0.0, 0.0, a)
    return [seg(0, ttl, steady / 2), seg(ttl, a0, steady), seg(a0, a1, steady, att),
            seg(a1, T, steady)]


CASES = {
    # quiet: a token stays ~220 s against a 600 s ttl, so expiry cuts captures; worker 0
    # restarts mid-attack and erases what it held.
    "quiet": dict(W=2, T=3000.0, logins=0.002, ttl=600.0, rho=0.005, other=0.0005,
                  a0=1000.0, a1=2000.0, nu=0.02, c=0.5, restarts=((1500.0, 0),)),
    # busy: tokens are overwritten within a second; many sessions leak.
    "busy": dict(W=3, T=1500.0, logins=0.05, ttl=300.0, rho=0.05, other=1.0,
                 a0=600.0, a1=900.0, nu=0.5, c=0.3, restarts=()),
}


def case_lifetimes(W: int, T: float, restarts: tuple) -> list[WorkerLifetime]:
    """Each worker's lifetimes over ``[0, T)``, cut at its ``restarts``."""
    lifetimes = [WorkerLifetime(w, 0.0, T, False) for w in range(W) if all(w != v for _, v in restarts)]
    for t, w in restarts:
        lifetimes += [WorkerLifetime(w, 0.0, t, False, "scheduled"), WorkerLifetime(w, t, T, False)]
    return lifetimes


@pytest.mark.parametrize("case", list(CASES))
def test_expected_leaks_against_literal(case: str) -> None:
    p = dict(CASES[case])
    restarts = p.pop("restarts")
    W, T = p["W"], p["T"]
    lifetimes = case_lifetimes(W, T, restarts)
    spec = SessionSpec(ttl=p["ttl"], requests_per_s=p["rho"])
    found = leak_means(spec, segments(**p), lifetimes, W, p["logins"], T)
    assert found is not None
    mean = found.means[frozenset({"eve"})]
    rng = np.random.default_rng(7)
    x = np.array([literal(rng, **p, restarts=restarts) for _ in range(2500)], dtype=float)
    lo, hi = normal_interval(x)
    assert lo <= mean <= hi, (lo, mean, hi)


#: A cut inside each case's attack (and, for ``quiet``, before the restart at 1,500 s).
CUTS = {"quiet": 1400.0, "busy": 700.0}


@pytest.mark.parametrize("case", list(CASES))
def test_first_captures_on_each_side_of_a_cut_against_literal(case: str) -> None:
    """The session log sees an attempt at the attacker's first capture of the session: the
    expected sessions first captured before and after a cut (:mod:`.session_cuts`) must lie in
    the literal run's intervals. Timing attempts by every capture instead (the capture
    profile, which the integrated path used alone until 2026-12-06) puts more after the cut:
    the literal share of all captures after it, times the expected sessions, is printed
    beside them, and the run must tell it apart (a captured session is captured 3.4 times on
    ``quiet``, whose tokens wait minutes for the next request, and 1.8 on ``busy``)."""
    p = dict(CASES[case])
    restarts = p.pop("restarts")
    W, T, cut = p["W"], p["T"], CUTS[case]
    lifetimes = case_lifetimes(W, T, restarts)
    spec = SessionSpec(ttl=p["ttl"], requests_per_s=p["rho"])
    found = leak_means(spec, segments(**p), lifetimes, W, p["logins"], T,
                       frozenset({"eve"}), (cut,))
    assert found is not None and found.classes is not None
    eve = frozenset({"eve"})
    before, after = found.classes[(eve, (0,))], found.classes[(eve, (1,))]
    assert before + after == pytest.approx(found.means[eve], rel=1e-9)
    rng = np.random.default_rng(8)
    sides, captures = [], []
    for _ in range(2500):
        held, t = literal_captures(rng, **p, restarts=restarts)
        order = np.argsort(t, kind="stable")
        taken, first = np.unique(held[order], return_index=True)
        sides.append((np.sum(t[order][first] < cut), np.sum(t[order][first] >= cut)))
        captures.append((np.sum(t < cut), np.sum(t >= cut)))
    x, every = np.array(sides, dtype=float), np.array(captures, dtype=float)
    profile = found.means[eve] * every[:, 1].sum() / every.sum()
    print(f"{case}: {every.sum() / x.sum():.2f} captures per session captured")
    for k, mean in enumerate((before, after)):
        lo, hi = normal_interval(x[:, k])
        print(f"{case}: {('before', 'after')[k]} the cut {mean:.4f} in [{lo:.4f}, {hi:.4f}]"
              + (f"; the profile's {profile:.4f}" if k else ""))
        assert lo <= mean <= hi, (k, lo, mean, hi)
    assert not normal_interval(x[:, 1])[0] <= profile <= normal_interval(x[:, 1])[1]


def test_slot_and_copies_agree_for_a_trickle() -> None:
    """With a vanishing own request rate the session's copies never meet, so the exact slot
    chain and the copy-by-copy integral coincide (to first order in the rate)."""
    from sim.engines.fast.sessions import _Piece

    beta = np.array([0.02])
    pieces = [
        _Piece(0.0, 50.0, 0.01, np.array([0.0]), False, np.zeros(1), 0.1),
        _Piece(50.0, 120.0, 0.01, beta, True, np.array([0.7]), 0.1),
        _Piece(120.0, 300.0, 0.01, beta, False, np.zeros(1), 0.1),
    ]
    u = np.array([0.0, 30.0, 100.0, 200.0])
    e = u + 150.0
    own = 1e-7
    slot = sweep_slot([pieces], u, e, 1, own)[0]
    copies = sweep_copies([pieces], u, e, 1, own)[0]
    np.testing.assert_allclose(slot, copies, rtol=1e-5)
    assert (copies > 0).all()


def take(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Send the sessions down ``path``: the literal draw, the draw at the reads (for
    ``next_request`` tokens) one look at a time or with arrays, the copies counted given the
    reads (for tokens that outlive the next request) with a class per login or by their means,
    or the integrated sweep."""
    monkeypatch.setattr(sessions, "LITERAL_LIMIT", 1e12 if path == "literal" else -1.0)
    monkeypatch.setattr(token_means, "COPIES_LIMIT", 1e12 if path == "copies" else -1.0)
    monkeypatch.setattr(token_means, "MEANS_LIMIT", 1e12 if path == "means" else -1.0)
    monkeypatch.setattr(slot_looks, "CANDIDATE_LIMIT", 1e12 if path == "reads" else -1.0)
    monkeypatch.setattr(slot_looks, "LOOKS_LIMIT", 1e12 if path == "looks" else -1.0)
    if path == "integrated":  # past the copies' counts, the draw where copies are taken first
        monkeypatch.setattr(token_takes, "TAKES_LIMIT", -1.0)


@pytest.mark.parametrize("path", ["literal", "reads", "looks", "copies", "means", "integrated"])
def test_hijacks_and_reuse_records(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """binding none: every leak is hijacked and logged unblocked; ip without shared addresses,
    or a browser never matched: every attempt is blocked and logged. Benign scanners leak
    sessions but never try them. Tokens last until the next request, but on the copies'
    paths, which take only tokens that outlive it (two minutes on average here)."""
    T, W = 1000.0, 2
    atts = (AttackerRates("eve", False, 0.5, 1, 0, 0.0, 0.0, 0.5),
            AttackerRates("mallory", False, 0.2, 1, 0, 0.0, 0.0, 0.5),
            AttackerRates("scan", True, 0.5, 1, 0, 0.0, 0.0, 0.5))
    segs = [Segment(0.0, 200.0, True, 1.0, 0.05, 0.1, 0.0, 0.0),
            Segment(200.0, 600.0, True, 1.0, 0.05, 0.1, 0.0, 0.0, atts),
            Segment(600.0, T, True, 1.0, 0.05, 0.1, 0.0, 0.0)]
    lts = [WorkerLifetime(w, 0.0, T, False) for w in range(W)]
    sources = {"eve": 3, "mallory": 1, "scan": 2}
    take(path, monkeypatch)
    for binding in ((), ("ip",), ("browser",), ("ip", "browser")):
        spec = SessionSpec(ttl=200.0, requests_per_s=0.02, binding=binding,
                           browser_match_probability=0.0 if "browser" in binding else 1.0,
                           lifetime=120.0 if path in ("copies", "means") else "next_request")
        for k in range(20):
            d = sample_sessions(spec, segs, lts, W, 1, 0.1, T, sources,
                                np.random.default_rng(k), server="web")
            own = d.leaked_by_attacker
            assert d.total_leaked >= max(own["eve"], own["mallory"])
            assert d.hijacked_by_attacker["scan"] == 0
            attempts = [a for batch in d.reuses for a in batch.attempts()]
            assert len(attempts) == d.leaked_by_attacker["eve"] + d.leaked_by_attacker["mallory"]
            assert all(r.attacker != "scan" and r.server == "web" for r in attempts)
            assert all(200.0 <= r.time < 600.0 and r.source < sources[r.attacker] for r in attempts)
            assert all((np.diff(batch.time) >= 0.0).all() for batch in d.reuses)  # in time order
            if not binding:
                assert d.total_hijacked == d.total_leaked
                assert not any(r.blocked for r in attempts)
            else:
                assert d.total_hijacked == 0 and all(r.blocked for r in attempts)
        assert d.leaked_by_attacker["scan"] > 0


def test_crash_capture_counts_only_while_valid() -> None:
    """Only a crash reads tokens here (the attacker's other connections carry no capture rate)
    and nothing else empties the buffer. A session opened at ``u`` leaks iff it is still valid
    at the crash (``u > 150 - ttl``) and has made a request by then, then with
    ``q = 1 - (1 - c)^2``: mean ``Lambda q (ttl - (1 - e^(-rho ttl)) / rho)``."""
    T, c, ttl, rho, logins = 400.0, 0.5, 60.0, 0.2, 0.01
    att = (AttackerRates("eve", False, 0.0, 3, 0, 0.0, 0.0, c),)
    segs = [Segment(0.0, 100.0, True, 0.0, logins, 0.0, 0.0, 0.0),
            Segment(100.0, T, True, 0.0, logins, 0.0, 0.0, 0.0, att)]
    lts = [WorkerLifetime(0, 0.0, 150.0, False, "crash", CrashInfo("eve", 2, 0)),
           WorkerLifetime(0, 150.0, T, False)]
    found = leak_means(SessionSpec(ttl=ttl, requests_per_s=rho), segs, lts, 1, logins, T)
    assert found is not None
    q = 1.0 - (1.0 - c) ** 2
    exact = logins * q * (ttl - (1.0 - np.exp(-rho * ttl)) / rho)
    # 8-point Gauss-Legendre on a smooth integrand: exact to quadrature precision.
    assert found.means[frozenset({"eve"})] == pytest.approx(exact, rel=1e-7)


def _key_read_case(
    lifetime: object,
) -> tuple[float, SessionSpec, list[Segment], list[WorkerLifetime]]:
    """One worker, nothing empties the buffer but expiry; eve's only read is the connection
    capturing the key at ``tk`` after 2 heartbeats (its other connections carry no rate)."""
    T, c, ttl, rho, logins, tk = 400.0, 0.5, 60.0, 0.2, 0.01, 150.0
    att = (AttackerRates("eve", False, 0.0, 3, 0, 0.5, 0.0, c),)
    segs = [Segment(0.0, 100.0, True, 0.0, logins, 0.1, 0.0, 0.0),
            Segment(100.0, T, True, 0.0, logins, 0.1, 0.0, 0.0, att)]
    lts = [WorkerLifetime(0, 0.0, T, False, key_captures=[KeyCapture(tk, "eve", 2)])]
    spec = SessionSpec(ttl=ttl, requests_per_s=rho, lifetime=lifetime)  # type: ignore[arg-type]
    return tk, spec, segs, lts


@pytest.mark.parametrize("lifetime", ["next_request", 40.0])
def test_key_capture_reads_resident_tokens(lifetime: object) -> None:
    """A session opened at ``u = tk - x`` (``0 < x < ttl``) leaks through the key-capturing
    connection only, each resident copy taken with ``q = 1 - (1 - c)^2``.

    * ``next_request``: the slot holds its token iff it made a request by ``tk``:
      ``P = q (1 - e^(-rho x))``.
    * mean residency ``m``: its copies still resident at ``tk`` are Poisson with mean
      ``rho m (1 - e^(-x/m))``, each read independently: ``P = 1 - exp(-q rho m (1 - e^(-x/m)))``.

    The expected count ``Lambda int_0^ttl P dx`` needs quadrature only for the second; the
    engine's Gauss-Legendre on the kinks is exact to its precision on both."""
    tk, spec, segs, lts = _key_read_case(lifetime)
    found = leak_means(spec, segs, lts, 1, 0.01, 400.0)
    assert found is not None
    q, rho, ttl = 1.0 - 0.5**2, spec.requests_per_s, spec.ttl
    if lifetime == "next_request":
        exact = 0.01 * q * (ttl - (1.0 - np.exp(-rho * ttl)) / rho)
    else:
        m = float(lifetime)  # type: ignore[arg-type]
        exact = 0.01 * quad(lambda x: -np.expm1(-q * rho * m * -np.expm1(-x / m)), 0.0, ttl,
                            epsabs=0.0, epsrel=1e-12)[0]
    assert found.means[frozenset({"eve"})] == pytest.approx(exact, rel=1e-7)
    draw = sample_sessions(spec, segs, lts, 1, 1, 0.01, 400.0, {"eve": 1},
                           np.random.default_rng(4), server="web")
    assert all(r.time == tk for batch in draw.reuses for r in batch.attempts())  # the only capture chance


@pytest.mark.parametrize("reachable", [False, True])
def test_key_miss_thins_the_session_hazard(reachable: bool) -> None:
    """An attacker watching the key at ``key_miss`` leaks what one sending only its
    key-missing connections leaks, per lifetime placement."""
    p = dict(CASES["busy"])
    p.pop("restarts")
    W, T = p["W"], p["T"]
    miss = (0.6, 0.3)
    plain = segments(**p)
    watched = [Segment(s.t0, s.t1, s.vulnerable, s.requests, s.logins, s.session_requests,
                       s.handshakes, s.crash_probability,
                       tuple(a._replace(key_miss=miss) for a in s.attackers)) for s in plain]
    thinned = segments(**{**p, "nu": p["nu"] * miss[int(reachable)]})
    lts = [WorkerLifetime(w, 0.0, T, reachable) for w in range(W)]
    spec = SessionSpec(ttl=p["ttl"], requests_per_s=p["rho"])
    got = leak_means(spec, watched, lts, W, p["logins"], T)
    want = leak_means(spec, thinned, lts, W, p["logins"], T)
    assert got is not None and want is not None
    key = frozenset({"eve"})
    assert got.means[key] == pytest.approx(want.means[key], rel=1e-12)


def test_key_capture_with_key_ops_clears_like_a_restart() -> None:
    """``next_handshake``: a key-capturing connection with key operations empties the buffer
    before reading, exactly as a restart at that instant would."""
    T, W = 1000.0, 1
    eve = AttackerRates("eve", False, 0.05, 1, 0, 0.0, 0.0, 0.5)
    ops = AttackerRates("ops", False, 0.01, 1, 1, 0.5, 0.0, 0.5)
    segs = [Segment(0.0, 300.0, True, 1.0, 0.02, 0.1, 0.01, 0.0),
            Segment(300.0, 700.0, True, 1.0, 0.02, 0.1, 0.01, 0.0, (eve, ops)),
            Segment(700.0, T, True, 1.0, 0.02, 0.1, 0.01, 0.0)]
    tk = 500.0
    spec = SessionSpec(ttl=200.0, requests_per_s=0.05, lifetime="next_handshake")
    keyed = [WorkerLifetime(0, 0.0, T, False, key_captures=[KeyCapture(tk, "ops", 1)])]
    split = [WorkerLifetime(0, 0.0, tk, False, "scheduled"), WorkerLifetime(0, tk, T, False)]
    got = leak_means(spec, segs, keyed, W, 0.02, T)
    want = leak_means(spec, segs, split, W, 0.02, T)
    plain = leak_means(spec, segs, [WorkerLifetime(0, 0.0, T, False)], W, 0.02, T)
    assert got is not None and want is not None and plain is not None
    key = frozenset({"eve"})
    assert got.means[key] == pytest.approx(want.means[key], rel=1e-12)
    assert got.means[key] < plain.means[key]


@pytest.mark.parametrize("sweep_name", ["sweep_slot", "sweep_copies"])
@pytest.mark.parametrize("batch", [2, 32])
def test_histories_swept_together_equal_each_alone(
    sweep_name: str, batch: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sweeps take a server's worker histories side by side, aligned on their last pieces
    (shorter ones padded with empty pieces) and cut into batches: each history must come out
    as when swept alone, with restarts, point reads and pieces that miss every session."""
    import sim.engines.fast.sessions as sessions
    from sim.engines.fast.sessions import _Piece

    monkeypatch.setattr(sessions, "SWEEP_BATCH", batch)
    rng = np.random.default_rng(5)
    sets = 3
    histories = []
    for count in (1, 4, 2, 7, 3):
        edges = np.sort(rng.uniform(0.0, 900.0, count + 1))
        histories.append([
            _Piece(float(lo), float(hi), float(rng.exponential(0.05)),
                   rng.exponential(0.01, sets) * (rng.random(sets) < 0.7), bool(rng.random() < 0.4),
                   rng.random(sets) * (rng.random(sets) < 0.3), 0.1)
            for lo, hi in zip(edges, edges[1:])])
    u = np.sort(rng.uniform(0.0, 1000.0, 40))
    e = u + 120.0
    sweep = getattr(sessions, sweep_name)
    together = sweep(histories, u, e, sets, 0.02)
    assert together.shape == (len(histories), sets, u.size)
    for h, pieces in enumerate(histories):
        np.testing.assert_allclose(together[h], sweep([pieces], u, e, sets, 0.02)[0],
                                   rtol=1e-13, atol=1e-300)
    assert (together > 0).any()


@pytest.mark.parametrize(("lifetime", "path"), [
    ("next_request", "literal"), ("next_request", "reads"), ("next_request", "looks"),
    ("next_request", "integrated"), (900.0, "literal"), (900.0, "copies"), (900.0, "means"),
    (900.0, "integrated")])
def test_a_stretch_left_out_of_the_lifetimes_empties_memory(
    lifetime: object, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The skeleton crosses an attack-free stretch to the restart in force at its end and
    leaves out the lifetimes in between (``skeleton.ServerRun._jump``): a worker's lifetimes
    then read ``[0, 100)``, ``[500, T)``. That must give what the lifetimes in full give, the
    restarts at 100, 300 and 500 all emptying memory: tokens left at 100 to 500 never reach
    eve, who reads from 500 on. The same random numbers give the same draw (the stretches
    that nothing reads draw nothing), so the literal path and the draw at the reads must agree
    to the session."""
    T, W = 2000.0, 1
    eve = (AttackerRates("eve", False, 0.2, 1, 0, 0.0, 0.0, 0.9),)
    segs = [Segment(0.0, 500.0, True, 1.0, 0.05, 0.2, 0.0, 0.0),
            Segment(500.0, 900.0, True, 1.0, 0.05, 0.2, 0.0, 0.0, eve),
            Segment(900.0, T, True, 1.0, 0.05, 0.2, 0.0, 0.0)]
    gap = [WorkerLifetime(0, 0.0, 100.0, False, "scheduled"), WorkerLifetime(0, 500.0, T, False)]
    full = [gap[0], WorkerLifetime(0, 100.0, 300.0, False, "scheduled"),
            WorkerLifetime(0, 300.0, 500.0, False, "scheduled"), gap[1]]
    spec = SessionSpec(ttl=600.0, requests_per_s=0.2, lifetime=lifetime)  # type: ignore[arg-type]
    take(path, monkeypatch)
    found = [leak_means(spec, segs, lts, W, 0.05, T) for lts in (gap, full)]
    assert found[0] is not None and found[1] is not None
    eve_only = frozenset({"eve"})
    # Both to the quadrature's precision (its nodes differ: the lifetimes in full add kinks).
    assert found[0].means[eve_only] == pytest.approx(found[1].means[eve_only], rel=1e-6)
    for seed in range(30):
        gapped, whole = (sample_sessions(spec, segs, lts, W, 1, 0.05, T, {"eve": 1},
                                         np.random.default_rng(seed), server="web")
                         for lts in (gap, full))
        assert gapped.leaked_by_attacker == whole.leaked_by_attacker
        if path not in ("copies", "means", "integrated"):  # those time attempts by a profile
            assert [r.time for r in gapped.reuses[0].attempts()] == [
                r.time for r in whole.reuses[0].attempts()]


def test_past_ten_malicious_attackers_each_capture_is_followed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Every union of the malicious attackers is counted up to ``MAX_MALICIOUS`` (10) of them:
    ten run so (the agreement suite's ``lingering`` with clones of its attackers, all
    present, its sessions off the literal draw, so that the 1,023 unions are counted). Past
    it the draws that follow each capture are taken, whose cost is linear in the attackers:
    eleven and thirty run, their sessions where the copies are taken (its tokens outlive the
    next request) and their passwords login by login, no union counted; ``check`` refuses
    only where every such draw could pass its limit, with one message."""
    from dataclasses import replace

    from agreement import SCENARIOS, forced

    import sim.engines.fast as fast
    from sim.engines import EngineRefused, get_engine
    from sim.engines.fast import passwords

    sc = SCENARIOS["lingering"]()
    malicious = [n for n, a in sc.attackers.items() if not a.benign]

    def with_clones(total: int) -> object:
        clones = {f"clone{i}": replace(sc.attackers[malicious[i % len(malicious)]],
                                       name=f"clone{i}", presence=1.0)
                  for i in range(total - len(malicious))}
        every = {n: replace(a, presence=1.0) for n, a in sc.attackers.items()}
        return replace(sc, attackers={**every, **clones})

    engine = get_engine("fast")
    ten = with_clones(10)
    engine.check(ten)  # type: ignore[arg-type]
    monkeypatch.setattr(sessions, "LITERAL_LIMIT", -1.0)
    paths: list[str] = []

    def spy(*args, **kwargs):
        plan = sessions.plan_sessions(*args, **kwargs)
        paths.append(plan.path)
        return plan

    def no_unions(*args: object, **kwargs: object) -> None:
        raise AssertionError("every union counted")

    counted: list[object] = []
    leak_means = sessions.leak_means

    def unions(*args, **kwargs):
        counted.append(leak_means(*args, **kwargs))
        return counted[-1]

    with forced(fast, "plan_sessions", spy):
        with forced(sessions, "leak_means", unions):
            record = engine.simulate(ten, np.random.SeedSequence(3))  # type: ignore[arg-type]
        assert len(record.attackers) == len(sc.attackers) + 10 - len(malicious)
        assert counted and counted[-1] is not None
        for total in (11, 30):
            many = with_clones(total)
            engine.check(many)  # type: ignore[arg-type]
            with (forced(sessions, "leak_means", no_unions),
                  forced(passwords, "sample_lingering", no_unions),
                  forced(passwords, "sample_passwords", no_unions)):
                record = engine.simulate(many, np.random.SeedSequence(3))  # type: ignore[arg-type]
            assert paths[-1] == "takes"
            assert record.servers["mail"].password > 0
    # the passwords alone (drawn with the sessions above): login by login, no union either
    alone = replace(with_clones(11), servers={"mail": replace(  # type: ignore[type-var]
        sc.servers["mail"], sessions=None)})
    drawn: list[int] = []
    each_login = passwords.sample_each_login

    def each(*args, **kwargs):
        drawn.append(1)
        return each_login(*args, **kwargs)

    with (forced(passwords, "sample_each_login", each),
          forced(passwords, "sample_lingering", no_unions),
          forced(passwords, "sample_passwords", no_unions)):
        record = engine.simulate(alone, np.random.SeedSequence(3))  # type: ignore[arg-type]
    assert drawn and record.servers["mail"].password > 0
    # past every limit (a busy server over a year): the unions after all, up to MAX_UNIONS;
    # past it, refused
    mail = sc.servers["mail"]

    def busy(total: int) -> object:
        return replace(with_clones(total), servers={"mail": replace(  # type: ignore[type-var]
            mail, traffic=replace(mail.traffic, logins_per_s=50.0, requests_per_s=200.0),
            restart=replace(mail.restart, max_requests=None))},
            timeline=replace(sc.timeline, analysis_at=3e7))

    engine.check(busy(sessions.MAX_UNIONS))  # type: ignore[arg-type]
    with pytest.raises(EngineRefused, match=f"{sessions.MAX_UNIONS + 1} malicious attackers "
                                            "target it"):
        engine.check(busy(sessions.MAX_UNIONS + 1))  # type: ignore[arg-type]
    # check's summary says so, past ten only
    assert any("11 malicious attackers" in line
               for line in fast.plan(with_clones(11)))  # type: ignore[arg-type]
    assert not any("malicious attackers" in line
                   for line in fast.plan(ten))  # type: ignore[arg-type]
