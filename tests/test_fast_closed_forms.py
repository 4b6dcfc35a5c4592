"""The fast engine against closed forms of ``model.md``.

Each statistical test runs a fixed-seed Monte Carlo and asks that the closed form lie inside
the run's own 99.9% Wilson interval: the tolerance comes from the run, not from tuning.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from sim.engines import get_engine
from sim.engines.fast.key_copies import KeyChain, chain_states, propagate
from sim.engines.fast.spectral import MAX_CONDITION
from sim.engines.fast.segments import AttackerRates, Segment
from sim.model.capture import window_capture
from sim.scenario.model import (
    Attacker,
    KeySpec,
    RestartPolicy,
    Scenario,
    Server,
    Timeline,
    Traffic,
)

fast = get_engine("fast")
Z = norm.ppf(1 - 0.001 / 2)
HEAP = 1 << 20
START, DURATION = 100.0, 3600.0


def wilson(k: int, n: int, z: float = Z) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def scenario(
    *,
    rate: float = 0.01,
    reachable: float = 0.5,
    heartbeats: int = 1,
    key_ops: int = 0,
    copies: float = 0.0,
    restart: RestartPolicy | None = None,
    presence: float = 1.0,
    patched_at: float = math.inf,
    heartbeat_off_at: float = math.inf,
    payload: int = 65535,
) -> Scenario:
    server = Server(
        name="s",
        role="public",
        keys=KeySpec(reachable=reachable, copies_per_handshake=copies),
        heap_bytes=HEAP,
        restart=restart or RestartPolicy(),
        patched_at=patched_at,
        heartbeat_off_at=heartbeat_off_at,
        traffic=Traffic(handshakes_per_s=1.0, requests_per_s=1.0),
    )
    attacker = Attacker(
        name="a", targets=("s",), rate=rate, start_low=START, start_high=START,
        duration=DURATION, heartbeats_per_connection=heartbeats,
        key_ops_per_connection=key_ops, presence=presence, payload_bytes=payload,
    )
    return Scenario(
        name="closed-form",
        timeline=Timeline("2014-01-01T00:00:00Z", 0.0, 0.0, START + DURATION + 10.0),
        servers={"s": server},
        attackers={"a": attacker},
    )


def key_frequency(sc: Scenario, n: int, seed: int) -> int:
    hits = 0
    for i in range(n):
        record = fast.simulate(sc, np.random.SeedSequence(seed, spawn_key=(i,)))
        hits += record.servers["s"].key
    return hits


def assert_within(expected: float, hits: int, n: int) -> None:
    low, high = wilson(hits, n)
    assert low <= expected <= high, f"closed form {expected:.5f} outside [{low:.5f}, {high:.5f}]"


C = window_capture(65535, 128, HEAP)


def test_long_lived_key_poisson_heartbeats() -> None:
    """P(key) = reachable (1 - exp(-m (1 - (1 - c)^2))) (model.md, Engines)."""
    m = 0.01 * DURATION
    expected = 0.5 * -math.expm1(-m * (1 - (1 - C) ** 2))
    n = 3000
    assert_within(expected, key_frequency(scenario(), n, seed=1), n)


def test_heartbeats_of_one_connection_share_their_capture() -> None:
    """k heartbeats per connection: each connection captures with 1 - (1 - c)^(2k) (rule 13)."""
    k = 20
    connections = 0.002 * DURATION
    expected = 0.5 * -math.expm1(-connections * (1 - (1 - C) ** (2 * k)))
    n = 3000
    hits = key_frequency(scenario(rate=0.002 * k, heartbeats=k), n, seed=2)
    assert_within(expected, hits, n)


def test_attackers_own_key_operation_exposes_copies() -> None:
    """An idle server's key can leak on the first heartbeat (facts.md section 11): with one key
    operation per connection and next_handshake copies, each connection sees its own copy."""
    k = 5
    connections = 0.02 / k * DURATION
    expected = -math.expm1(-connections * (1 - (1 - C) ** k))
    n = 2000
    sc = scenario(rate=0.02, reachable=0.0, heartbeats=k, key_ops=1, copies=1.0)
    assert_within(expected, key_frequency(sc, n, seed=3), n)


def test_restarts_redraw_reachability() -> None:
    """Scheduled restarts every 600 s: P(key) = 1 - E_U prod_i (1 - r (1 - exp(-rate q len_i)))
    over the lifetimes cut by restarts at U + 600 j, averaged over the phase U ~ U(0, 600)."""
    every, rate, r = 600.0, 0.05, 0.3
    q = 1 - (1 - C) ** 2
    phases = (np.arange(6000) + 0.5) / 6000 * every
    total = 0.0
    for u in phases:
        cuts = [START] + [u + every * j for j in range(12) if START < u + every * j < START + DURATION]
        cuts.append(START + DURATION)
        survive = 1.0
        for a, b in zip(cuts[:-1], cuts[1:]):
            survive *= 1 - r * -math.expm1(-rate * (b - a) * q)
        total += 1 - survive
    expected = total / len(phases)
    n = 4000
    sc = scenario(rate=rate, reachable=r, restart=RestartPolicy(every=every))
    assert_within(expected, key_frequency(sc, n, seed=4), n)


def test_presence_scales_the_marginal() -> None:
    m = 0.01 * DURATION
    expected = 0.4 * 0.5 * -math.expm1(-m * (1 - (1 - C) ** 2))
    n = 3000
    assert_within(expected, key_frequency(scenario(presence=0.4), n, seed=5), n)


@pytest.mark.parametrize(
    "closed",
    [dict(patched_at=START - 1.0), dict(heartbeat_off_at=START - 1.0), dict(rate=0.0)],
)
def test_nothing_leaks_outside_the_vulnerable_window(closed: dict) -> None:
    sc = scenario(rate=closed.pop("rate", 5.0), reachable=1.0, copies=2.0, key_ops=1, **closed)
    assert key_frequency(sc, 200, seed=6) == 0


def _segment(rate: float, c_key: float, heartbeats: int = 1) -> Segment:
    attacker = AttackerRates("a", False, rate, heartbeats, 1, c_key, 0.0, 0.0)
    return Segment(0.0, 1.0, True, 1.0, 0.0, 0.0, 1.0, 0.0, (attacker,))


@settings(max_examples=60, deadline=None)
@given(
    rate=st.floats(1e-4, 10.0),
    factor=st.floats(1.0, 10.0),
    c_key=st.floats(1e-6, 0.5),
    t=st.floats(1.0, 1e4),
    copies=st.sampled_from([0.0, 0.5, 1.0, 2.3]),
    reachable=st.booleans(),
)
def test_survival_falls_with_rate_and_time(
    rate: float, factor: float, c_key: float, t: float, copies: float, reachable: bool
) -> None:
    """Exact survival of the key: more heartbeats, or longer, never makes a leak less likely.

    Up to rounding: an eigen-decomposition is trusted up to a condition number of
    ``MAX_CONDITION``, so two survivals may differ by that many ulps the wrong way."""
    tol = MAX_CONDITION * np.finfo(float).eps
    keys = KeySpec(reachable=1.0, copies_per_handshake=copies)
    chain = KeyChain(keys, int(chain_states(keys, 1.0 + rate * factor, 1.0)))
    pi = np.zeros(chain.n)
    pi[0] = 1.0
    watched = frozenset({"a"})
    slow = chain.dynamics(_segment(rate, c_key), reachable, watched).G
    quick = chain.dynamics(_segment(rate * factor, c_key), reachable, watched).G
    s_slow = propagate(slow, pi, t).sum()
    s_quick = propagate(quick, pi, t).sum()
    s_later = propagate(slow, pi, 2 * t).sum()
    assert 0.0 <= s_quick <= s_slow + tol <= 1.0 + tol
    assert s_later <= s_slow + tol
