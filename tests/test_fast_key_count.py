"""Key copies counted (``sim/engines/fast/key_count.py``) where the chain would be too big.

The chain of ``key_copies.py`` is exact, so below its limit it is the yardstick: the counted
copies' moves must have the chain's law, their stationary miss the chain's value, and an
engine run that counts the copies (forced where the chain would do) the chain's outcomes.
Past the limit a busy server with copies that linger runs at all, and ``check`` refuses only
what would draw too many connections."""

from __future__ import annotations

import math
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from numpy.random import SeedSequence
from scipy import stats

from sim.engines import EngineRefused, get_engine
from sim.engines.fast import SLOW_EVENTS, check, plan, skeleton
from sim.engines.fast.copy_law import key_operations
from sim.engines.fast.key_copies import MAX_STATES, KeyChain, chain_states, server_chain_states
from sim.engines.fast.key_count import (
    CANDIDATE_LIMIT,
    KeyCount,
    expected_candidates,
)
from sim.engines.fast.segments import AttackerRates, Segment
from sim.scenario.model import KeySpec, Scenario

sys.path.insert(0, str(Path(__file__).parent))
import agreement  # noqa: E402

#: One family of comparisons per test; each is two-sided at this z (p = 1e-4 each).
Z = 3.89


def _segment(requests: float, handshakes: float, attackers: tuple[AttackerRates, ...] = (),
             crash: float = 0.0) -> Segment:
    return Segment(t0=0.0, t1=1e9, vulnerable=True, requests=requests, logins=0.0,
                   session_requests=0.0, handshakes=handshakes, crash_probability=crash,
                   attackers=attackers)


def _attacker(name: str, rate: float, key_ops: int, c_key: float = 0.02,
              heartbeats: int = 2) -> AttackerRates:
    return AttackerRates(name=name, benign=False, connection_rate=rate, heartbeats=heartbeats,
                         key_ops=key_ops, c_key=c_key, c_password=0.0, c_token=0.0)


#: Copies that decay (fractional copies per operation, so batches of one and two, and an
#: attacker's two operations a connection), copies that the next request clears, and copies
#: that the next key operation replaces (counted beside ``max_requests``).
MOVES = {
    "next_handshake": (KeySpec(reachable=0.3, copies_per_handshake=1.5),
                       _segment(requests=0.5, handshakes=0.2,
                                attackers=(_attacker("ops", 0.05, 2),)),
                       0, 3.0),
    "decay": (KeySpec(reachable=0.3, copies_per_handshake=1.5, copy_lifetime=40.0),
              _segment(requests=0.5, handshakes=0.2, attackers=(_attacker("ops", 0.05, 2),)),
              7, 25.0),
    "next_request": (KeySpec(reachable=0.3, copies_per_handshake=2.0,
                             copy_lifetime="next_request"),
                     _segment(requests=0.2, handshakes=0.2,
                              attackers=(_attacker("ops", 0.05, 1),)),
                     3, 30.0),
}


def _chain(keys: KeySpec, seg: Segment) -> KeyChain:
    """The chain sized for ``seg``'s streams, as the engine sizes a server's."""
    streams, _ = key_operations(keys, seg.handshakes,
                                ((a.connection_rate, a.key_ops) for a in seg.attackers))
    ops = seg.handshakes + sum(a.connection_rate * a.key_ops for a in seg.attackers)
    states = chain_states(keys, ops, seg.requests, tuple(sorted(streams.items())))
    return KeyChain(keys, int(states))


@pytest.mark.parametrize("case", sorted(MOVES))
def test_a_stretch_moves_the_count_as_the_chain_does(case: str) -> None:
    """From ``n0`` copies, ``t`` seconds of key operations (legitimate and an attacker's that
    is not watching) and removals: 20,000 drawn counts against the chain's exact law
    (``pi exp(G t)``), by a chi-square test over the counts the law expects five times or
    more (the rest pooled). The chain is cut 12 standard deviations out, so its law is
    exact here to far below the test's resolution."""
    keys, seg, n0, t = MOVES[case]
    chain = _chain(keys, seg)
    start = np.zeros(chain.n)
    start[n0] = 1.0
    moves = chain.dynamics(seg, False, frozenset())
    exact = skeleton.propagate(moves.G, start, t, moves.exponential)
    count = KeyCount(keys)
    rng = np.random.default_rng(SeedSequence([91, len(case)]))
    n = 20_000
    drawn = np.array([count.evolve(count.dynamics(seg, False, frozenset()), n0, t, rng)
                      for _ in range(n)])
    if keys.copy_lifetime != "next_handshake":  # elsewhere the last state is a cut
        assert drawn.max() < chain.n - 1  # nothing reached it
    expected = exact * n
    keep = expected >= 5.0
    observed = np.bincount(drawn, minlength=chain.n)[: chain.n]
    obs, exp = observed[keep], expected[keep]
    if expected[~keep].sum() > 0.0:  # the rare counts pooled
        obs = np.append(obs, observed[~keep].sum())
        exp = np.append(exp, expected[~keep].sum())
    statistic, p = stats.chisquare(obs, exp * obs.sum() / exp.sum())
    print(f"{case}: chi2 {statistic:.1f} on {obs.size - 1} df, p = {p:.3f}; mean "
          f"{drawn.mean():.3f} against {float(exact @ np.arange(chain.n)):.3f}")
    assert p > 1e-4


@pytest.mark.parametrize("case", sorted(MOVES))
def test_the_stationary_miss_is_the_chains(case: str) -> None:
    """The closed form of the stationary law's generating function (``key_miss``, what the
    integrated reads of heavy attackers use) against the chain's stationary vector, for a
    watching attacker with and without key operations of its own."""
    keys, seg, _, _ = MOVES[case]
    watcher = _attacker("watcher", 0.02, 1, c_key=0.01, heartbeats=3)
    quiet = _attacker("quiet", 0.02, 0, c_key=0.05, heartbeats=1)
    busy = seg.reshaped(seg.t1, seg.attackers + (watcher, quiet))
    chain = _chain(keys, busy)
    for a in (watcher, quiet):
        counted = KeyCount(keys).key_miss(busy, a)
        exact = chain.key_miss(busy, a)
        print(case, a.name, counted, exact)
        assert counted == pytest.approx(exact, rel=1e-9)


@pytest.mark.slow
def test_counted_copies_give_the_chains_outcomes() -> None:
    """The same scenario (``agreement.lingering_key``), its copies carried by the chain and
    (forced) counted, with candidate connections: every attacker's P(key) and P(key by
    4,000 s), the server's, and the mean crashes. Both runs are stored
    (``agreement.SIDE_RUNS``, ``key-chain`` and ``key-counted``, 20,000 replications each,
    independent seeds) and proved current on their first 1,000, where computing 8,000 a side
    afresh took 76 to 98 of CI's seconds. Standard errors of the difference of about 0.5
    points on a probability near 0.5 catch a bias of 2.4 points at this family's z with
    probability 0.8."""
    chain, counted = agreement.load_fast("key-chain"), agreement.load_fast("key-counted")
    sc = agreement.build("key-chain")
    assert server_chain_states(sc.servers["mail"], sc.attackers.values()) <= MAX_STATES
    # at one seed the two paths draw apart: the count was forced
    same = [agreement.key_outcomes("fast", sc, range(30), 1),
            agreement.counted_key_outcomes("fast", sc, range(30), 1)]
    assert any(not np.array_equal(same[0][k], same[1][k]) for k in same[0])
    worst = 0.0
    for name in sorted(chain.sums):
        a, b = chain.sample(name, "mean"), counted.sample(name, "mean")
        se = math.sqrt(a.var / a.n + b.var / b.n)
        z = (b.mean - a.mean) / se if se > 0 else 0.0
        worst = max(worst, abs(z))
        print(f"{name:24s} chain {a.mean:.4f}  counted {b.mean:.4f}  z = {z:+.2f}")
        assert abs(z) < Z, name
    assert 0.2 < chain.sample("reaper/key", "mean").mean < 0.8  # there is something to see
    print(f"largest |z| {worst:.2f}")


def _busy(handshakes: float = 50.0, capture: float = 0.004) -> Scenario:
    """The key scenario on a busy server: about 3,000 copies a worker, far past the chain."""
    sc = agreement.lingering_key()
    mail = sc.servers["mail"]
    mail = replace(mail, traffic=replace(mail.traffic, handshakes_per_s=2 * handshakes),
                   keys=replace(mail.keys, capture=capture))
    return replace(sc, servers={"mail": mail})


def test_a_busy_server_with_lingering_copies_runs() -> None:
    """What ``check`` refused until 2026-12-05 (``about 4500 transient key copies could be
    resident per worker; the fast engine tracks at most 200``): accepted, and run. With 4,500
    copies resident a connection's two heartbeats miss them all with probability
    ``0.996^9000 = e^(-36)``, and the reaper, made to send about 120 connections, takes the
    key in every replication, at or next to its first answered connection."""
    sc = _busy()
    reaper = replace(sc.attackers["reaper"], rate=0.05)
    sc = replace(sc, attackers={**sc.attackers, "reaper": reaper})
    assert server_chain_states(sc.servers["mail"], sc.attackers.values()) > MAX_STATES
    check(sc)
    engine = get_engine("fast")
    records = [engine.simulate(sc, SeedSequence([63, i])) for i in range(200)]
    assert all(r.attackers["reaper"]["mail"].key == 1 for r in records)


def test_check_refuses_what_would_draw_too_many_connections() -> None:
    """Copies too many for the chain and connections each too unlikely to take the key, from
    an attacker that sends millions: ``check`` refuses before any work, naming the server
    and the limit. The limit is the reference engine's event budget, so that engine refuses
    it too (each candidate is at least a heartbeat it would simulate); a tenth of the
    attack, which the reference engine runs, the fast engine runs as well."""
    sc = _busy(handshakes=5.0, capture=1e-9)

    def sending(rate: float) -> Scenario:
        reaper = replace(sc.attackers["reaper"], rate=rate)
        return replace(sc, attackers={**sc.attackers, "reaper": reaper})

    heavy, light = sending(2000.0), sending(200.0)
    assert expected_candidates(heavy.servers["mail"], heavy.attackers.values(),
                               heavy.horizon) > CANDIDATE_LIMIT
    with pytest.raises(EngineRefused, match=f"server 'mail'.*at most {CANDIDATE_LIMIT:,}"):
        check(heavy)
    with pytest.raises(EngineRefused, match="too large for the reference engine"):
        get_engine("reference").check(heavy)
    assert expected_candidates(light.servers["mail"], light.attackers.values(),
                               light.horizon) > SLOW_EVENTS
    get_engine("reference").check(light)
    check(light)
    assert plan(light)[-1].endswith("the reference engine may be the faster one")


def test_check_says_where_the_copies_are_counted() -> None:
    """``bleedsim check`` tells the reader where the copies are counted, why (too many for the
    chain, or beside ``max_requests``) and how many connections that could take the key it
    expects to draw; where the chain carries them it says nothing of it."""
    assert plan(agreement.lingering_key()) == []
    notes = plan(_busy())
    assert len(notes) == 1 and notes[0].startswith("mail: key copies counted")
    assert "more than 200" in notes[0] and "drawn one by one per replication" in notes[0]
    beside = plan(agreement.SCENARIOS["lingering"]())
    assert len(beside) == 1 and "(beside max_requests, " in beside[0]


def _race_closed_form(crash: float, q: float, n: int = 20, mean: float = 25.0) -> float:
    """P(key) of ``agreement.key_race`` by the model's rules, connection by connection: the
    mass of "no key yet" over (connections counted in the lifetime, key reachable), each connection
    crashing (a new lifetime) or else counted, capturing with ``q`` where reachable, and the
    ``n``-th counted one (which reads first) restarting the worker; averaged over the Poisson
    number of connections."""
    mass = np.zeros((n, 2))
    mass[0] = 0.5
    total = stats.poisson.pmf(0, mean) * mass.sum()
    for k in range(1, int(mean + 20 * math.sqrt(mean))):
        fresh = crash * mass.sum()
        kept = (1.0 - crash) * mass * np.array([1.0, 1.0 - q])
        mass = np.zeros_like(mass)
        mass[1:] = kept[:-1]
        fresh += kept[-1].sum()
        mass[0] += 0.5 * fresh
        total += stats.poisson.pmf(k, mean) * mass.sum()
    return 1.0 - total


@pytest.mark.parametrize("crash", [0.0, 0.05])
def test_a_restart_counts_what_did_not_take_the_key(crash: float) -> None:
    """A ``max_requests`` restart comes at the N-th connection that neither crashed the worker
    nor took the key (before one of those nothing else has come). Until 2026-12-05 the
    skeleton counted every connection toward it, which put the restart ahead of the capture
    too often (``(1 + q)^-20`` for ``(1 - q)^20`` in a lifetime of 20): without crashes P(key)
    came out 0.5331 against this closed form's 0.5411, z = -5.5 at 120,000 replications.
    The runs are stored (``agreement.SIDE_RUNS``, ``key-race`` and ``key-race-crashes``,
    120,000 replications each, proved current on their first 1,000): a standard error of
    0.14 points catches that 0.8 points with probability 0.98 at this ``Z``, where computing
    70,000 afresh took 45 to 69 of CI's seconds for each case and caught it with 0.83."""
    name = "key-race-crashes" if crash else "key-race"
    sc = agreement.build(name)
    assert sc.servers["mail"].crash_probability == crash
    q = 1.0 - (1.0 - sc.servers["mail"].keys.capture) ** 2
    exact = _race_closed_form(crash, q)
    keys = agreement.load_fast(name).sample("mail/key", "mean")
    se = math.sqrt(exact * (1.0 - exact) / keys.n)
    z = (keys.mean - exact) / se
    print(f"crash {crash}: P(key) {keys.mean:.4f} against {exact:.4f} over {keys.n:,}, "
          f"z = {z:+.2f}")
    assert abs(z) < Z
