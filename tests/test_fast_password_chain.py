"""The fast engine's password integrals against closed forms and a literal simulation.

One worker, one attacker capturing a resident password at hazard ``beta = nu q``. With
``next_request`` and every request a login (rate ``lam``) the buffer is empty until the first
login and then always holds an uncaptured password until a capture, after which the next login
refills it: a two-state chain ``E -> P`` at ``lam``, ``P -> E`` at ``beta``. Hence

    P(N = 0) = e^(-lam T) + lam / (lam - beta) (e^(-beta T) - e^(-lam T))
    E[N]     = beta lam / (lam + beta) (T - (1 - e^(-(lam + beta) T)) / (lam + beta)).
"""

from __future__ import annotations

import math
import numpy as np
import pytest
from evidence_builders import normal_interval
from sim.engines.fast.password_chain import (
    CountChain,
    capture_patterns,
    lifetime_moments,
    sample_counts,
    sample_passwords,
    state_count,
)
from sim.engines.fast.segments import AttackerRates, CrashInfo, KeyCapture, WorkerLifetime, Segment
from sim.montecarlo.intervals import wilson
from sim.scenario.model import PasswordSpec

LAM, NU, C, T = 0.05, 0.3, 0.4, 100.0
BETA = NU * C


def eve(nu: float = NU, c: float = C, name: str = "eve", benign: bool = False) -> AttackerRates:
    return AttackerRates(name, benign, nu, 1, 0, 0.0, c, 0.0)


def tiling(t0: float, t1: float, attackers: tuple[AttackerRates, ...] = (eve(),)) -> Segment:
    """Every request is a login."""
    return Segment(t0, t1, True, LAM, LAM, 0.0, 0.0, 0.0, attackers)


def closed(T: float, beta: float = BETA, lam: float = LAM) -> tuple[float, float]:
    p0 = math.exp(-lam * T) + lam / (lam - beta) * (math.exp(-beta * T) - math.exp(-lam * T))
    s = lam + beta
    return 1.0 - p0, beta * lam / s * (T - (1.0 - math.exp(-s * T)) / s)


def moments(spec: PasswordSpec, segments: list[Segment], lt: WorkerLifetime) -> list[tuple[float, float]]:
    chain = CountChain(spec, segments, state_count(spec, segments, [lt]))
    out = lifetime_moments(chain, lt, [frozenset({"eve"})], [s.t0 for s in segments])
    assert out is not None
    return out


def test_tiling_closed_form_across_segments() -> None:
    """Splitting [0, T) into a quiet part and an attacked part: the password left before the
    attack is still there when it starts (facts.md section 11)."""
    spec = PasswordSpec()
    whole = moments(spec, [tiling(0.0, T)], WorkerLifetime(0, 0.0, T, False))[0]
    assert whole == pytest.approx(closed(T), rel=1e-9)
    quiet = 40.0
    segs = [tiling(0.0, quiet, ()), tiling(quiet, T)]
    p, m = moments(spec, segs, WorkerLifetime(0, 0.0, T, False))[0]
    full = 1.0 - math.exp(-LAM * quiet)  # slot filled before the attack
    p0 = full * math.exp(-BETA * (T - quiet)) + (1.0 - full) * (1.0 - closed(T - quiet)[0])
    assert p == pytest.approx(1.0 - p0, rel=1e-9)
    # E[N] = beta int P(P at t) dt, with the slot full at the attack start with prob ``full``.
    s, L = LAM + BETA, T - quiet
    exact = BETA * (full * (1 - math.exp(-s * L)) / s + LAM / s * (L - (1 - math.exp(-s * L)) / s))
    assert m == pytest.approx(exact, rel=1e-9)


def test_restart_truncates_and_crash_reads_last() -> None:
    """A restart at ``r`` starts a fresh chain; a crash at ``T`` after ``j`` answered
    heartbeats captures the resident uncaptured password with ``1 - (1 - C)^j``."""
    spec = PasswordSpec()
    r, j = 30.0, 2
    segs = [tiling(0.0, T)]
    first = moments(spec, segs, WorkerLifetime(0, 0.0, r, False, "scheduled"))[0]
    assert first == pytest.approx(closed(r), rel=1e-9)
    crash = WorkerLifetime(0, r, T, False, "crash", CrashInfo("eve", j, 0))
    p, m = moments(spec, segs, crash)[0]
    q = 1.0 - (1.0 - C) ** j
    L = T - r
    s = LAM + BETA
    p0_base = math.exp(-LAM * L)
    p0 = p0_base + (1 - q) * LAM / (LAM - BETA) * (math.exp(-BETA * L) - p0_base)
    assert p == pytest.approx(1.0 - p0, rel=1e-9)
    assert m == pytest.approx(closed(L)[1] + q * LAM / s * (1 - math.exp(-s * L)), rel=1e-9)


def literal_counts(
    rule: str, reps: int, rng: np.random.Generator, lam: float, mean: float, clear: float,
    nu: float, q: float,
) -> np.ndarray:
    """Distinct passwords captured on one worker over [0, T): logins at ``lam`` (each a copy),
    copies leaving after Exp(``mean``) (float rule) or all at once at key operations
    (``next_handshake``, rate ``clear``), connections at ``nu`` capturing each copy w.p. ``q``."""
    out = np.empty(reps)
    for k in range(reps):
        born = np.sort(rng.uniform(0, T, rng.poisson(lam * T)))
        if rule == "float":
            dies = born + rng.exponential(mean, born.size)
        else:
            ops = np.append(np.sort(rng.uniform(0, T, rng.poisson(clear * T))), np.inf)
            dies = ops[np.searchsorted(ops, born, side="right")]
        conn = rng.uniform(0, T, rng.poisson(nu * T))
        resident = (born[:, None] <= conn[None, :]) & (conn[None, :] < dies[:, None])
        hit = resident & (rng.random(resident.shape) < q)
        out[k] = hit.any(axis=1).sum()
    return out


@pytest.mark.parametrize("rule", ["float", "next_handshake"])
def test_counting_chain_against_literal(rule: str) -> None:
    """Several copies resident at once: the truncated counting chain's exact moments against
    a literal simulation (Wilson interval for P(N > 0), normal interval for the mean)."""
    lam, mean, clear, nu, q = 0.3, 8.0, 0.1, 0.2, 0.5
    spec = PasswordSpec(lifetime=mean if rule == "float" else "next_handshake")
    seg = Segment(0.0, T, True, 1.0, lam, 0.0, clear, 0.0, (eve(nu=nu, c=q),))
    p, m = moments(spec, [seg], WorkerLifetime(0, 0.0, T, False))[0]
    x = literal_counts(rule, 3000, np.random.default_rng(21), lam, mean, clear, nu, q)
    ci = wilson(float(np.mean(x > 0)), x.size, z=3.29)
    assert ci.low <= p <= ci.high
    lo, hi = normal_interval(x)
    assert lo <= m <= hi


def test_sampler_matches_exact_moments() -> None:
    """Zero with the exact P(N = 0), else zero-truncated Poisson with the exact conditional
    mean: both facts hold in the draws, from tiny to large counts."""
    rng = np.random.default_rng(3)
    n = 20000
    for p_any, mean in [(0.02, 0.021), (0.5, 0.9), (0.9, 25.0)]:
        draws = sample_counts(np.full(n, p_any), np.full(n, mean), rng.random(n), rng.random(n))
        ci = wilson(float(np.mean(draws > 0)), n, z=3.29)
        assert ci.low <= p_any <= ci.high
        lo, hi = normal_interval(draws.astype(float))
        assert lo <= mean <= hi


def test_nested_sets_are_coupled() -> None:
    """Two malicious attackers: the total never falls below either's own count, and its mean
    matches the combined-hazard closed form."""
    spec = PasswordSpec()
    segs = [tiling(0.0, T, (eve(nu=0.1, name="a"), eve(nu=0.2, name="b")))]
    lts = [WorkerLifetime(0, 0.0, T, False)]
    rng = np.random.default_rng(8)
    draws = [sample_passwords(spec, segs, lts, 1, rng) for _ in range(2000)]
    assert all(d.total >= max(d.by_attacker.values()) for d in draws)
    lo, hi = normal_interval(np.array([d.total for d in draws], dtype=float))
    assert lo <= closed(T, beta=0.3 * C)[1] <= hi


def test_benign_counts_only_for_itself() -> None:
    spec = PasswordSpec()
    segs = [tiling(0.0, T, (eve(name="scanner", benign=True),))]
    draws = [sample_passwords(spec, segs, [WorkerLifetime(0, 0.0, T, False)], 1,
                              np.random.default_rng(k)) for k in range(50)]
    assert all(d.total == 0 for d in draws)
    assert any(d.by_attacker["scanner"] > 0 for d in draws)


def test_quiet_lifetimes_are_skipped() -> None:
    """A lifetime that ends before any attack captures nothing and costs nothing."""
    spec = PasswordSpec()
    segs = [tiling(0.0, 50.0, ()), tiling(50.0, T)]
    chain = CountChain(spec, segs, 2)
    starts = [s.t0 for s in segs]
    assert lifetime_moments(chain, WorkerLifetime(0, 0.0, 50.0, False, "scheduled"),
                            [frozenset({"eve"})], starts) is None


def test_key_capture_mid_lifetime_closed_form() -> None:
    """A connection of eve (3 heartbeats per connection) captures the key at ``s`` after its
    2nd heartbeat and, at that instant, the resident password with ``qk = 1 - (1 - C)^2``.

    Before ``s`` the slot is empty (``e^(-lam t)``) or full and uncaptured
    (``lam / (lam - beta) (e^(-beta t) - e^(-lam t))``); the read keeps ``1 - qk`` of the full
    mass, then both evolve as from time 0. For the mean, the full-chain occupancy
    ``p(t) = lam/g (1 - e^(-g t))`` (``g = lam + beta``) drops to ``(1 - qk) p`` at ``s`` and
    relaxes back: ``E[N] = beta int p + qk p(s)``."""
    k, j, s = 3, 2, 35.0
    beta = NU * (1.0 - (1.0 - C) ** k)
    qk = 1.0 - (1.0 - C) ** j
    seg = Segment(0.0, T, True, LAM, LAM, 0.0, 0.0, 0.0,
                  (AttackerRates("eve", False, NU, k, 0, 0.0, C, 0.0),))
    lt = WorkerLifetime(0, 0.0, T, False, key_captures=[KeyCapture(s, "eve", j)])
    p, m = moments(PasswordSpec(), [seg], lt)[0]

    def full(t: float) -> float:  # P(uncaptured password resident, no capture yet)
        return LAM / (LAM - beta) * (math.exp(-beta * t) - math.exp(-LAM * t))

    L = T - s
    p0 = (1.0 - qk) * full(s) * math.exp(-beta * L) + math.exp(-LAM * s) * (
        full(L) + math.exp(-LAM * L))
    assert p == pytest.approx(1.0 - p0, rel=1e-9)
    g = LAM + beta
    occ = LAM / g * (1.0 - math.exp(-g * s))
    before = LAM / g * (s - (1.0 - math.exp(-g * s)) / g)
    after = LAM / g * L + ((1.0 - qk) * occ - LAM / g) * (1.0 - math.exp(-g * L)) / g
    assert m == pytest.approx(beta * (before + after) + qk * occ, rel=1e-9)


def test_key_capture_counts_for_its_attacker_only() -> None:
    """Two malicious attackers, only ``b`` ever reads passwords, and only through its key
    capture: ``a``'s own count is zero, ``b``'s and the total get the point read."""
    atts = (AttackerRates("a", False, NU, 1, 0, 0.0, C, 0.0),
            AttackerRates("b", False, 0.0, 1, 0, 0.0, C, 0.0))
    seg = Segment(0.0, T, True, LAM, LAM, 0.0, 0.0, 0.0, atts)
    s = 50.0
    lt = WorkerLifetime(0, 0.0, T, False, key_captures=[KeyCapture(s, "b", 1)])
    chain = CountChain(PasswordSpec(), [seg], 2)
    sets = [frozenset({"a"}), frozenset({"b"}), frozenset({"a", "b"})]
    own_a, own_b, total = lifetime_moments(chain, lt, sets, [0.0])  # type: ignore[misc]
    assert own_a == pytest.approx(closed(T), rel=1e-9)  # b's read is invisible to a's count
    resident = 1.0 - math.exp(-LAM * s)  # the slot holds an uncaptured password at s
    assert own_b == pytest.approx((C * resident, C * resident), rel=1e-9)
    assert total[0] > own_a[0] and total[1] > own_a[1]


@pytest.mark.parametrize("reachable", [False, True])
def test_key_miss_thins_the_hazard(reachable: bool) -> None:
    """While an attacker watches the key, only its connections that miss the key count as
    ordinary captures: the closed form at ``beta * key_miss[L]``, with one chain serving
    lifetimes of both placements."""
    miss = (0.5, 0.2)
    seg = Segment(0.0, T, True, LAM, LAM, 0.0, 0.0, 0.0,
                  (AttackerRates("eve", False, NU, 1, 0, 0.0, C, 0.0, key_miss=miss),))
    chain = CountChain(PasswordSpec(), [seg], 2)
    lts = [WorkerLifetime(0, 0.0, T, not reachable), WorkerLifetime(0, 0.0, T, reachable)]
    out = [lifetime_moments(chain, lt, [frozenset({"eve"})], [0.0]) for lt in lts]
    assert out[1] is not None and out[0] is not None
    assert out[1][0] == pytest.approx(closed(T, beta=BETA * miss[int(reachable)]), rel=1e-9)
    assert out[0][0] == pytest.approx(closed(T, beta=BETA * miss[int(not reachable)]), rel=1e-9)


def test_key_capture_with_key_ops_clears_like_a_restart() -> None:
    """``next_handshake``: a key-capturing connection's own key operations empty the buffer
    before it reads, so it captures nothing, and the lifetime splits at ``s`` as if restarted
    there: ``P(N = 0)`` multiplies, ``E[N]`` adds."""
    spec = PasswordSpec(lifetime="next_handshake")
    atts = (eve(nu=0.05), AttackerRates("ops", False, 0.01, 1, 1, 0.0, C, 0.0))
    seg = Segment(0.0, T, True, 1.0, 0.3, 0.0, 0.02, 0.0, atts)
    s = 60.0
    lt = WorkerLifetime(0, 0.0, T, False, key_captures=[KeyCapture(s, "ops", 1)])
    lts = [lt, WorkerLifetime(0, 0.0, s, False, "scheduled"), WorkerLifetime(0, s, T, False)]
    chain = CountChain(spec, [seg], state_count(spec, [seg], lts))
    counted = [frozenset({"eve"})]
    whole, first, second = (lifetime_moments(chain, x, counted, [0.0])[0]  # type: ignore[index]
                            for x in lts)
    assert whole[0] == pytest.approx(1.0 - (1.0 - first[0]) * (1.0 - second[0]), rel=1e-9)
    assert whole[1] == pytest.approx(first[1] + second[1], rel=1e-9)


def test_capture_patterns_follow_the_joint_law_not_the_margins() -> None:
    """From the zero probabilities of every set, the drawn patterns have the joint law they
    came from (uniforms on a fine grid: frequencies within 1/n), margins and unions alike."""
    rng = np.random.default_rng(3)
    names = ["a", "b", "c"]
    joint = rng.dirichlet(np.ones(8), size=4)  # 4 lifetimes: P(exactly the mask captures)
    zero = {}
    for mask in range(1, 8):
        s = frozenset(n for i, n in enumerate(names) if mask >> i & 1)
        # P(no attacker of s captures): the patterns disjoint from the mask.
        zero[s] = joint[:, [p for p in range(8) if p & mask == 0]].sum(axis=1)
    n = 20_000
    for lifetime in range(4):
        u = (np.arange(n) + 0.5) / n
        drawn = capture_patterns({s: np.full(n, q[lifetime]) for s, q in zero.items()}, names, u)
        freq = np.bincount(drawn, minlength=8) / n
        assert np.abs(freq - joint[lifetime]).max() <= 1.0 / n + 1e-12


def mail_chains(scenario: str, seeds: range):
    """The mail server's counting chain, lifetimes and counting sets on the skeletons of real
    runs (listed connections filled in, as the engine leaves them), one per seed that has any."""
    import agreement
    from sim.engines.fast import check
    from sim.engines.fast.password_chain import attacker_names, counting_sets, joint_sets
    from sim.engines.fast.skeleton import ServerRun
    from sim.model.attackers import draw_attackers
    from sim.model.record import Observations
    from sim.scenario.loader import load_scenario

    sc = (load_scenario("scenarios/psmail-2014.yaml") if scenario == "psmail"
          else agreement.SCENARIOS[scenario]())
    check(sc)
    server = sc.servers["mail"]
    for seed in seeds:
        rng = np.random.default_rng(seed)
        present, windows = draw_attackers(sc, rng)
        active = {a: (sc.attackers[a], windows[a]) for a in sc.attackers
                  if present[a] and "mail" in sc.attackers[a].targets and not windows[a].empty}
        if not active:
            continue
        run = ServerRun(sc, server, active, rng, Observations())
        run.run()
        names, malicious = attacker_names(run.segments)
        sets = counting_sets(names, malicious) + joint_sets([n for n in names if n in malicious])
        n = state_count(server.passwords, run.segments, run.lifetimes)
        if sets and n > 1:
            yield CountChain(server.passwords, run.segments, n), run.lifetimes, sets


@pytest.mark.parametrize("scenario", ["psmail", "scheduled", "choices", "overlap-never"])
@pytest.mark.parametrize("batch", [3, 2048])
def test_batched_moments_equal_piecewise_propagation(
    scenario: str, batch: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """:func:`all_moments` evaluates lifetimes inside one segment without point reads in one
    closed form per segment, and walks the others in batches of maps
    (:meth:`CountChain.walk_all`: padded to powers of two, split past ``BATCH_PIECES`` or
    ``BATCH_CELLS``; those sharing a path are propagated together, split past
    ``GROUP_CELLS``);
    every lifetime's moments must equal the vector stepped piece by piece
    (:func:`lifetime_moments` on the vector path), and the same lifetimes must come out hot,
    on the skeletons of real runs (PSMail's mail server: daily restarts under benign checks;
    agreement scenarios with crashes, key captures, listed connections and several
    attackers)."""
    import sim.engines.fast.password_chain as password_chain
    from sim.engines.fast.password_chain import all_moments

    monkeypatch.setattr(password_chain, "BATCH_PIECES", batch)
    if batch == 3:  # and the lifetimes of one path propagated one at a time, each walk alone
        monkeypatch.setattr(password_chain, "GROUP_CELLS", 1)
        monkeypatch.setattr(password_chain, "BATCH_CELLS", 1)
    batched = walked = 0
    for chain, lifetimes, sets in mail_chains(scenario, range(6)):
        P, E, hot = all_moments(chain, lifetimes, sets)
        starts = [s.t0 for s in chain.segments]
        with monkeypatch.context() as vectors:
            vectors.setattr(password_chain, "PRODUCT_WIDTH", 0)
            expected = [(lt, lifetime_moments(chain, lt, sets, starts)) for lt in lifetimes]
        expected = [(lt, m) for lt, m in expected if m is not None]
        assert [id(lt) for lt in hot] == [id(lt) for lt, _ in expected]
        for row, (lt, moments) in enumerate(expected):
            assert P[row] == pytest.approx([m[0] for m in moments], rel=1e-9, abs=1e-15)
            assert E[row] == pytest.approx([m[1] for m in moments], rel=1e-9, abs=1e-15)
        batched += sum(1 for lt in hot if lt.crash is None and not lt.key_captures)
        walked += sum(1 for lt in hot if lt.crash is not None or lt.key_captures or lt.listed)
    assert batched > 0 and (walked > 0 or scenario == "psmail")


@pytest.mark.parametrize("scenario", ["overlap-never", "choices", "lingering"])
def test_products_of_maps_equal_vector_steps(
    scenario: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lifetime's walk through its pieces and reads as one product of maps
    (:meth:`CountChain.walk_all`) against the vector stepped piece by piece, on lifetimes
    with listed connections, key captures and crashes (several reads in some, up to 18)."""
    import sim.engines.fast.password_chain as password_chain

    walked = []
    for chain, lifetimes, sets in mail_chains(scenario, range(8)):
        starts = [s.t0 for s in chain.segments]
        for lt in lifetimes:
            monkeypatch.setattr(password_chain, "PRODUCT_WIDTH", 10**9)
            products = lifetime_moments(chain, lt, sets, starts)
            monkeypatch.setattr(password_chain, "PRODUCT_WIDTH", 0)
            vectors = lifetime_moments(chain, lt, sets, starts)
            assert (products is None) == (vectors is None)
            if products is not None:
                assert np.array(products) == pytest.approx(np.array(vectors), rel=1e-9,
                                                           abs=1e-15)
                walked.append(len(lt.listed) + len(lt.key_captures))
    assert walked and max(walked) >= 5
