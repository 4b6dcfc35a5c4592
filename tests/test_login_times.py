"""Login times with captured passwords agree between the engines (``model.md`` rule 22).

An attacker whose ``reuse`` lists ``passwords`` logs in at the first capture of each static
password. The fast engine draws the number of logins from the password integrals and their
times from the attacker's first-capture intensity; only a ``login`` detector whose
``deployed_at`` or ``retention`` cuts inside the attack can tell the times apart, so the
scenarios below cut there, where the transient matters most: the attack starts on buffers that
filled up before it (a burst of captures), restarts empty them, and crashing and key-capturing
connections read them at fixed instants.

Both paths of :mod:`sim.engines.fast.passwords` are covered: the counting chain (a short
duration ``lifetime``, few passwords resident, frequent restarts, crashes and key captures;
forced onto the chain, which since 2026-12-06 leaves lingering passwords to the sampler where
an attacker logs in with them, and the same scenario as it runs, on the sampler) and the
lingering sampler (a long ``lifetime`` on a busier server). The retained-alert count of
each ``login`` detector is compared as P(alert) and as the mean number of logins inside its
window, within 3.29 combined standard errors computed from the runs (helpers of
``agreement.py``). The steady-state profile this replaced put the windowed means 4 to 8
standard errors off on both cases (chain: z 7.5, 7.7, 6.0, 5.5; lingering: 1.0, 4.1, 2.3, 7.6 in
the order printed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pytest

from sim.engines.fast.password_chain import CountChain, lifetime_moments, state_count
from sim.engines.fast.lingering import worst_chain_states
from sim.engines.fast.logins import (
    RESOLUTION,
    Stretch,
    brackets,
    chain_login_times,
    chain_times,
    first_capture_stretches,
    lifetimes_stretches,
)
from sim.engines.fast import passwords
from sim.engines.fast.passwords import SMALL_CHAIN
from sim.montecarlo.intervals import wilson
from sim.scenario.model import (
    Attacker,
    Detector,
    KeySpec,
    PasswordSpec,
    RestartPolicy,
    Scenario,
    Timeline,
    Traffic,
)
from agreement import HORIZON, Z, forced, judge, mail_server, outcomes, paired, spied
from tests.test_fast_lingering import CASES as CHAIN_CASES

START = 2400.0

#: One detector cut by its deployment, one by its retention, both early in the attack.
DETECTORS = (
    Detector(name="late", kind="login", servers=("mail",), deployed_at=START + 60.0),
    Detector(name="recent", kind="login", servers=("mail",), retention=HORIZON - START - 150.0),
)


def login_scenario(rate: float, duration: float, **server_overrides: object) -> Scenario:
    thief = Attacker(name="thief", targets=("mail",), rate=rate, start_low=START,
                     start_high=START, duration=duration, heartbeats_per_connection=4,
                     sources=2, reuse=("passwords",), stop_when="never")
    return Scenario(
        name="logins",
        timeline=Timeline("2014-04-07T00:00:00Z", 0.0, 5400.0, HORIZON),
        servers={"mail": mail_server(sessions=None, **server_overrides)},
        attackers={"thief": thief},
        detectors={d.name: d for d in DETECTORS},
    )


def chain_case() -> Scenario:
    """Counting chain: under one password resident per worker, read much faster than it
    leaves, so half the logins come in a burst at the attack's start; crashes (4% of the
    connections) and scheduled restarts empty the buffers, key captures read them."""
    return login_scenario(
        0.5, 300.0,
        restart=RestartPolicy(every=300.0, jitter=60.0),
        crash_probability=0.01,
        traffic=Traffic(handshakes_per_s=0.05, logins_per_s=0.003, requests_per_s=0.05),
        keys=KeySpec(reachable=0.5, capture=0.1),
        passwords=PasswordSpec(capture=0.3, lifetime=300.0),
    )


def lingering_case() -> Scenario:
    """Lingering sampler: a quarter-hour residency at 0.05 logins per second per worker (about
    45 resident, a chain of far more than SMALL_CHAIN states), restarts every 40 minutes."""
    return login_scenario(
        0.05, 600.0,
        restart=RestartPolicy(every=2400.0, jitter=300.0),
        crash_probability=0.005,
        traffic=Traffic(handshakes_per_s=0.05, logins_per_s=0.1, requests_per_s=0.2),
        keys=KeySpec(reachable=0.5, capture=0.1),
        passwords=PasswordSpec(capture=0.1, lifetime=900.0),
    )


CASES: dict[str, tuple[Callable[[], Scenario], bool, int, str]] = {
    # name: (scenario, a small chain, replications per engine, the path it is run on)
    "chain": (chain_case, True, 2_500, "chain"),
    "burst": (chain_case, True, 2_500, "lingering"),
    "lingering": (lingering_case, False, 1_500, "lingering"),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_login_alerts_inside_a_window_agree(name: str) -> None:
    """``chain`` is forced onto the counting chain, which a lingering password whose thief
    logs in no longer takes (its times are drawn apart from their count there, item 10 of
    ``docs/fast-engine.md``) but ``next_request`` passwords past the draws at the reads do;
    ``burst``, the same scenario as it runs, takes the lingering sampler (a spy says)."""
    make, chain, n, path = CASES[name]
    sc = make()
    states = worst_chain_states(sc, sc.servers["mail"])
    assert (states <= SMALL_CHAIN) == chain, states
    taken = {"chain": 0, "lingering": 0}
    limit = -1 if path == "chain" else passwords.READ_LIMIT
    with (forced(passwords, "READ_LIMIT", limit),
          forced(passwords, "sample_passwords", spied(taken, "chain", passwords.sample_passwords)),
          forced(passwords, "sample_lingering",
                 spied(taken, "lingering", passwords.sample_lingering))):
        fast = outcomes("fast", sc, n, seed=31)
    assert taken[path] > 0 and sum(taken.values()) == taken[path], taken
    ref = outcomes("reference", sc, n, seed=32)
    failures = []
    for d in DETECTORS:
        quantity = f"{d.name}/thief/retained"
        for label in ("p_any", "mean"):
            failed = judge(f"{name} {quantity} {label}", *paired(fast, ref, quantity, label))
            if failed:
                failures.append(failed)
    assert not failures, "\n".join(failures)


# -- the chain's first-capture law, against its own propagation -------------------------------


@pytest.mark.parametrize("case", sorted(CHAIN_CASES))
def test_first_capture_masses_add_up_to_the_lifetime_mean(case: str) -> None:
    """Pieces and point reads split each attacker's ``E[N]`` of the lifetime, no more, no less."""
    spec, segs, lt = CHAIN_CASES[case]
    chain = CountChain(spec, segs, state_count(spec, segs, [lt]))
    names = sorted({a.name for s in segs for a in s.attackers})
    exact = lifetime_moments(chain, lt, [frozenset({n}) for n in names], [s.t0 for s in segs])
    assert exact is not None
    for name, (_, mean) in zip(names, exact):
        masses = [s.mass for s in first_capture_stretches(chain, lt, frozenset({name}))]
        assert min(masses) > -1e-12
        assert sum(masses) == pytest.approx(mean, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("case", sorted(CHAIN_CASES))
def test_stretches_by_maps_equal_stretches_by_steps(
    case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small chains take each stretch's vector and mass from the lifetime's maps
    (:meth:`CountChain.step_maps`), wide ones by propagating: the same stretches either way."""
    import sim.engines.fast.password_chain as password_chain

    spec, segs, lt = CHAIN_CASES[case]
    chain = CountChain(spec, segs, state_count(spec, segs, [lt]))
    for name in sorted({a.name for s in segs for a in s.attackers}):
        counted = frozenset({name})
        monkeypatch.setattr(password_chain, "PRODUCT_WIDTH", 10**9)
        by_maps = first_capture_stretches(chain, lt, counted)
        monkeypatch.setattr(password_chain, "PRODUCT_WIDTH", 0)
        by_steps = first_capture_stretches(chain, lt, counted)
        assert_same_stretches(by_maps, by_steps, rel=1e-9)


def assert_same_stretches(got: list[Stretch], expected: list[Stretch], rel: float) -> None:
    """The same pieces and reads, their vectors and masses within ``rel``."""
    assert [(s.t0, s.length, s.i, s.v) for s in got] == [
        (s.t0, s.length, s.i, s.v) for s in expected]
    for a, b in zip(got, expected):
        assert a.x == pytest.approx(b.x, rel=rel, abs=1e-15)
        assert a.mass == pytest.approx(b.mass, rel=rel, abs=1e-15)


def test_chain_times_follow_the_cumulative_first_captures() -> None:
    """``P(T <= t)`` of a drawn time is ``E[first captures up to t] / E[N]``, read off the same
    lifetime ended at ``t`` (without its crash); eve's key capture at 25 s is a point mass."""
    spec, segs, lt = CHAIN_CASES["point reads"]
    chain = CountChain(spec, segs, state_count(spec, segs, [lt]))
    n = 4000

    def upto(t: float, counted: frozenset[str]) -> float:
        cut = replace(lt, end=t, end_cause="horizon", crash=None)
        return sum(s.mass for s in first_capture_stretches(chain, cut, counted))

    for seed, name in enumerate(("eve", "mallory")):
        counted = frozenset({name})
        total = sum(s.mass for s in first_capture_stretches(chain, lt, counted))
        times = chain_times(chain, lt, name, n, np.random.default_rng(seed))
        assert ((lt.start <= times) & (times <= lt.end)).all()
        checks = [(f"T <= {t}", times <= t, upto(t, counted) / total)
                  for t in (5.0, 24.99, 25.01, 40.0, 59.9)]
        checks.append(("T == 25", times == 25.0,
                       (upto(25.0 + 1e-9, counted) - upto(25.0, counted)) / total))
        for label, hits, expected in checks:
            ci = wilson(float(hits.mean()), n, Z)
            assert ci.high is not None and ci.low <= expected <= ci.high, (name, label, expected)


@pytest.mark.parametrize("case", sorted(CHAIN_CASES))
def test_lifetimes_timed_together_as_one_by_one(case: str) -> None:
    """:func:`chain_login_times` searches the roots of several lifetimes at once; with the
    same generator it must draw what :func:`chain_times` draws lifetime after lifetime (the
    brackets may differ in their last bits, so the times within a resolution)."""
    spec, segs, lt = CHAIN_CASES[case]
    chain = CountChain(spec, segs, state_count(spec, segs, [lt]))
    shorter = replace(lt, end=lt.start + 0.6 * (lt.end - lt.start), end_cause="horizon",
                      crash=None)
    for name in sorted({a.name for s in segs for a in s.attackers}):
        counted = frozenset({name})
        captured = [(lt, n) for lt, n in ((lt, 7), (shorter, 3), (lt, 1))
                    if sum(s.mass for s in first_capture_stretches(chain, lt, counted)) > 0]
        if not captured:
            continue
        together = chain_login_times(chain, captured, name, np.random.default_rng(3))
        rng = np.random.default_rng(3)
        for times, (life, n) in zip(together, captured):
            np.testing.assert_allclose(times, chain_times(chain, life, name, n, rng),
                                       rtol=0.0, atol=2 * RESOLUTION)


@pytest.mark.parametrize("scenario", ["overlap-never", "scheduled"])
def test_stretches_of_many_lifetimes_at_once_equal_each_alone(scenario: str) -> None:
    """:func:`lifetimes_stretches` maps every lifetime's pieces in one call and walks each from
    its own offset; on real skeletons (small chains, crashes, key captures, listed
    connections) each lifetime's stretches must be those it has alone. Eight skeletons at
    least, and as many more as it takes to meet a crash (about one replication in eight
    has one)."""
    from tests.test_fast_password_chain import mail_chains

    checked = 0
    for i, (chain, lifetimes, sets) in enumerate(mail_chains(scenario, range(100))):
        assert chain.walks_by_maps
        for counted in sets:
            together = lifetimes_stretches(chain, lifetimes, counted)
            for lt, mine in zip(lifetimes, together):
                alone = first_capture_stretches(chain, lt, counted)
                assert_same_stretches(mine, alone, rel=1e-12)
                checked += lt.crash is not None
        if i >= 7 and checked:
            break
    assert checked > 0


@pytest.mark.parametrize("case", sorted(CHAIN_CASES))
def test_brackets_hold_the_root_within_resolution(case: str) -> None:
    """Each bracket is at most :data:`RESOLUTION` wide, and a time drawn in it lies within
    that of where the cumulative first captures, propagated exactly by the chain (not by the
    closed-form curve the search uses), reach the goal: below it a resolution before the
    bracket's right end, at or above it a resolution after its left end."""
    spec, segs, lt = CHAIN_CASES[case]
    chain = CountChain(spec, segs, state_count(spec, segs, [lt]))
    names = sorted({a.name for s in segs for a in s.attackers})
    goal = np.linspace(0.0005, 0.9995, 41)
    checked = 0
    for name in names:
        counted = frozenset({name})
        for s in first_capture_stretches(chain, lt, counted):
            if s.length == 0.0 or s.mass <= 1e-9:
                continue
            (lo, hi), = brackets(chain, counted, [(s, goal)])
            assert (hi - lo <= RESOLUTION).all()
            target = s.x[-1] + goal * s.mass
            for side, at in (("before", np.clip(hi - RESOLUTION, 0.0, s.length)),
                             ("after", np.clip(lo + RESOLUTION, 0.0, s.length))):
                value = np.array([chain.advance(s.x, s.i, s.v, counted, t)[-1] for t in at])
                ok = value < target if side == "before" else value >= target * (1 - 1e-12)
                ok |= (at == 0.0) if side == "before" else (at == s.length)
                assert ok.all(), (case, name, side, at[~ok])
            checked += 1
    assert checked > 0
