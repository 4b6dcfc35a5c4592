"""The reference engine against closed forms of ``model.md`` on one-server scenarios.

Each test runs a fixed-seed batch of replications and checks that the closed-form value lies
inside the run's own 99.9% interval: Wilson for probabilities, the normal interval of the mean
for counts (rule 20).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from scipy.linalg import expm
from scipy.stats import poisson

from sim.model.record import ReplicationRecord
from sim.engines.reference import simulate
from sim.montecarlo.intervals import wilson
from sim.scenario.model import (
    Attacker,
    KeySpec,
    PasswordSpec,
    RestartPolicy,
    Scenario,
    Server,
    Timeline,
    Traffic,
)

Z = 3.2905  # two-sided 99.9%
HEAP = 4 * 65536
C = (65535 - 128 + 1) / HEAP  # c(L, s, H) of one key piece
RHO = 0.6


def make_server(**fields: object) -> Server:
    base = Server(name="s", role="public", keys=KeySpec(reachable=RHO), heap_bytes=HEAP)
    return replace(base, **fields)


def make_attacker(rate: float, start: float, duration: float | None, **fields: object) -> Attacker:
    base = Attacker(name="a", targets=("s",), rate=rate, start_low=start, start_high=start,
                    duration=duration)
    return replace(base, **fields)


def make_scenario(server: Server, *attackers: Attacker, horizon: float) -> Scenario:
    return Scenario(
        name="closed-form",
        timeline=Timeline("2014-04-07T00:00:00Z", 0.0, horizon, horizon),
        servers={server.name: server},
        attackers={a.name: a for a in attackers},
    )


def run(scenario: Scenario, n: int, seed: int = 7) -> list[ReplicationRecord]:
    return [simulate(scenario, np.random.SeedSequence(seed, spawn_key=(i,))) for i in range(n)]


def assert_probability(flags: list[bool], expected: float) -> None:
    interval = wilson(sum(flags) / len(flags), len(flags), Z)
    low, high = interval.low, interval.high
    assert high is not None and low <= expected <= high, f"{expected:.4f} outside [{low:.4f}, {high:.4f}]"


def assert_mean(values: list[float], expected: float) -> None:
    x = np.asarray(values, dtype=float)
    half = Z * x.std(ddof=1) / math.sqrt(len(x))
    low, high = x.mean() - half, x.mean() + half
    assert low <= expected <= high, f"{expected:.4f} outside [{low:.4f}, {high:.4f}]"


def keys(records: list[ReplicationRecord]) -> list[bool]:
    return [r.servers["s"].key == 1 for r in records]


# -- the long-lived key ------------------------------------------------------------------------

M = 2.0  # mean heartbeats of the Poisson attack
POISSON_ATTACK = make_scenario(make_server(), make_attacker(0.1, 5.0, 10 * M), horizon=30.0)
Q = 1 - (1 - C) ** 2  # one heartbeat captures one of the 2 pieces


@pytest.fixture(scope="module")
def poisson_runs() -> list[ReplicationRecord]:
    return run(POISSON_ATTACK, 4000)


def test_key_with_poisson_heartbeats(poisson_runs: list[ReplicationRecord]) -> None:
    assert_probability(keys(poisson_runs), RHO * (1 - math.exp(-M * Q)))


def test_heartbeats_until_key_follow_the_geometric_law(
    poisson_runs: list[ReplicationRecord],
) -> None:
    """Given reachability, the k-th heartbeat is the first capturing one with probability
    q (1-q)^(k-1), and it is sent when the attack has at least k heartbeats."""
    k = np.arange(1, 200)
    weights = Q * (1 - Q) ** (k - 1) * poisson.sf(k - 1, M)
    expected = float((k * weights).sum() / weights.sum())
    assert_mean([r.servers["s"].key_heartbeats for r in poisson_runs if r.servers["s"].key], expected)


def test_stop_when_key_stops_sending() -> None:
    """Heartbeats sent = min(N, K) when reachable (K the capturing heartbeat), else N."""
    attacker = replace(POISSON_ATTACK.attackers["a"], stop_when=("key",))
    records = run(replace(POISSON_ATTACK, attackers={"a": attacker}), 4000)
    k = np.arange(1, 200)
    both = float(((1 - Q) ** (k - 1) * poisson.sf(k - 1, M)).sum())  # E[min(N, K)]
    sent = [sum(c.heartbeats_sent for c in r.observations.connections or []) for r in records]
    assert_mean(sent, (1 - RHO) * M + RHO * both)


def test_heartbeats_per_connection_one_connection() -> None:
    n, c = 5, 0.1
    server = make_server(keys=KeySpec(reachable=RHO, capture=c))
    attacker = make_attacker(n * 0.1, 5.0, 10.0, heartbeats_per_connection=n)
    records = run(make_scenario(server, attacker, horizon=20.0), 4000)
    single = [r for r in records if len(r.observations.connections or []) == 1]
    assert_probability(keys(single), RHO * (1 - (1 - c) ** (2 * n)))
    assert_probability(keys(records), RHO * (1 - math.exp(-1.0 * (1 - (1 - c) ** (2 * n)))))


def test_presence_scales_the_probability() -> None:
    attacker = replace(POISSON_ATTACK.attackers["a"], presence=0.4)
    records = run(replace(POISSON_ATTACK, attackers={"a": attacker}), 4000)
    assert_probability([r.present["a"] for r in records], 0.4)
    assert_probability(keys(records), 0.4 * RHO * (1 - math.exp(-M * Q)))


def test_connections_spread_over_all_workers() -> None:
    """Routing thins the Poisson heartbeats into independent streams of mean m / W."""
    m, workers = 8.0, 4
    server = make_server(hosts=2, workers=2)
    records = run(make_scenario(server, make_attacker(0.4, 5.0, m / 0.4), horizon=30.0), 3000)
    per_worker = 1 - RHO + RHO * math.exp(-m / workers * Q)
    assert_probability(keys(records), 1 - per_worker**workers)


# -- restarts --------------------------------------------------------------------------------


def test_max_requests_redraws_the_key_placement() -> None:
    """Restarting after every connection makes each heartbeat's placement a fresh draw."""
    rho, m = 0.3, 3.0
    server = make_server(keys=KeySpec(reachable=rho, capture=1.0),
                         restart=RestartPolicy(max_requests=1))
    records = run(make_scenario(server, make_attacker(0.3, 5.0, 10.0), horizon=20.0), 3000)
    assert_probability(keys(records), 1 - math.exp(-m * rho))


def test_scheduled_restarts_redraw_the_key_placement() -> None:
    """Window [0, kT), first restart at a ~ U(0, T): lifetimes a, T (k-1 times), T - a.

    With certain capture a lifetime of length x leaks with probability rho (1 - e^{-r x});
    averaging the two partial lifetimes over a gives the first factor.
    """
    rho, T, k, r = 0.4, 10.0, 3, 0.1
    server = make_server(keys=KeySpec(reachable=rho, capture=1.0), restart=RestartPolicy(every=T))
    records = run(make_scenario(server, make_attacker(r, 0.0, None), horizon=k * T), 4000)
    x = r * T
    edges = (1 - rho) ** 2 + 2 * (1 - rho) * rho * (1 - math.exp(-x)) / x + rho**2 * math.exp(-x)
    full = 1 - rho * (1 - math.exp(-x))
    assert_probability(keys(records), 1 - edges * full ** (k - 1))


def test_crashes_restart_the_worker() -> None:
    """States (reachable, unreachable); per heartbeat a crash (p) re-draws the placement,
    otherwise a reachable key is captured. P(no key) = v exp(-m (I - M)) 1."""
    rho, p, m = 0.5, 0.3, 3.0
    server = make_server(keys=KeySpec(reachable=rho, capture=1.0), crash_probability=p)
    records = run(make_scenario(server, make_attacker(0.3, 5.0, 10.0), horizon=20.0), 4000)
    step = np.array([[p * rho, p * (1 - rho)], [p * rho, p * (1 - rho) + 1 - p]])
    none = np.array([rho, 1 - rho]) @ expm(-m * (np.eye(2) - step)) @ np.ones(2)
    assert_probability(keys(records), 1 - float(none))
    # every heartbeat is answered-or-crashing, whatever was captured: Poisson(p m) crashes
    assert_mean([len(r.observations.crashes) for r in records], p * m)


def test_patch_ends_the_leak_mid_attack() -> None:
    patch = 15.0
    server = make_server(patched_at=patch)
    records = run(make_scenario(server, make_attacker(0.2, 5.0, 40.0), horizon=50.0), 4000)
    assert_probability(keys(records), RHO * (1 - math.exp(-0.2 * (patch - 5.0) * Q)))


# -- passwords -------------------------------------------------------------------------------


LOGIN_RATE, ATTACK_START, ATTACK_LENGTH, HB_RATE, PW_CAPTURE = 0.5, 2.0, 10.0, 0.5, 0.3


@pytest.fixture(scope="module")
def password_runs() -> list[ReplicationRecord]:
    server = make_server(
        keys=KeySpec(reachable=0.0),
        traffic=Traffic(logins_per_s=LOGIN_RATE, requests_per_s=LOGIN_RATE),
        passwords=PasswordSpec(capture=PW_CAPTURE),
    )
    attacker = make_attacker(HB_RATE, ATTACK_START, ATTACK_LENGTH)
    return run(make_scenario(server, attacker, horizon=ATTACK_START + ATTACK_LENGTH), 4000)


def _exposure_capture(a: float, lam: float, w: float) -> float:
    """P(a copy resident for min(Exp(lam), w) is hit by a Poisson(a) stream of captures)."""
    return a / (lam + a) * (1 - math.exp(-(lam + a) * w))


def test_password_none_captured(password_runs: list[ReplicationRecord]) -> None:
    """One copy at a time (next_request). It is missing only before the first login, so
    P(none) = E[exp(-a x resident time)], resident time D - min(E, D) when no login came
    before the attack (E ~ Exp(lambda) by memorylessness), D otherwise."""
    lam, a, d = LOGIN_RATE, HB_RATE * PW_CAPTURE, ATTACK_LENGTH
    empty = math.exp(-lam * ATTACK_START)
    late = lam * math.exp(-a * d) * math.expm1((a - lam) * d) / (a - lam) + math.exp(-lam * d)
    expected = (1 - empty) * math.exp(-a * d) + empty * late
    assert_probability([r.servers["s"].password == 0 for r in password_runs], expected)


def test_password_mean_count(password_runs: list[ReplicationRecord]) -> None:
    """The copy present at the attack's start plus every login during it, each resident
    until the next login (Exp(lambda)) or the attack's end."""
    lam, a, d = LOGIN_RATE, HB_RATE * PW_CAPTURE, ATTACK_LENGTH
    at_start = (1 - math.exp(-lam * ATTACK_START)) * _exposure_capture(a, lam, d)
    during = lam * a / (lam + a) * (d + math.expm1(-(lam + a) * d) / (lam + a))
    counts = [r.servers["s"].password for r in password_runs]
    assert_mean(counts, at_start + during)
    assert [r.servers["s"].password_reusable for r in password_runs] == counts
