"""The reference engine on the precise rules of ``model.md`` that need no closed form:
what must never happen, what the record must contain, and what ``check`` refuses."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from sim.engines import EngineRefused
from sim.model.record import Captures, ReplicationRecord
from sim.engines.reference import EVENT_LIMIT, check, simulate
from sim.montecarlo.intervals import wilson
from sim.scenario.model import (
    Attacker,
    KeySpec,
    PasswordSpec,
    Scenario,
    Server,
    SessionSpec,
    Timeline,
    Traffic,
)

Z = 3.2905  # two-sided 99.9%

LEAKY = Server(
    name="s",
    role="mail",
    keys=KeySpec(reachable=1.0, capture=1.0, copies_per_handshake=1.0),
    traffic=Traffic(handshakes_per_s=0.5, logins_per_s=0.5, requests_per_s=0.5 * (1 + 20 * 0.5)),
    passwords=PasswordSpec(capture=1.0),
    sessions=SessionSpec(ttl=20.0, requests_per_s=0.5, capture=1.0),
)


def attacker(name: str, start: float, duration: float | None = 30.0, **fields: object) -> Attacker:
    return replace(
        Attacker(name=name, targets=("s",), rate=1.0, start_low=start, start_high=start,
                 duration=duration),
        **fields,
    )


def scenario(server: Server, *attackers: Attacker, horizon: float = 60.0) -> Scenario:
    return Scenario(
        name="rules",
        timeline=Timeline("2014-04-07T00:00:00Z", 0.0, horizon, horizon),
        servers={server.name: server},
        attackers={a.name: a for a in attackers},
    )


def run(sc: Scenario, n: int) -> list[ReplicationRecord]:
    return [simulate(sc, np.random.SeedSequence(3, spawn_key=(i,))) for i in range(n)]


def nothing(c: Captures) -> bool:
    return (c.key, c.password, c.session, c.session_hijack) == (0, 0, 0, 0)


@pytest.mark.parametrize(
    "server",
    [replace(LEAKY, heartbeat_off_at=25.0), replace(LEAKY, patched_at=25.0),
     replace(LEAKY, vulnerable_from=60.0)],
    ids=["heartbeat-off", "patched", "not-yet-vulnerable"],
)
def test_outside_the_vulnerable_window_nothing_leaks_but_heartbeats_are_sent(server: Server) -> None:
    sc = scenario(replace(server, crash_probability=1.0), attacker("a", 25.0))
    records = run(sc, 50)
    for record in records:
        assert nothing(record.servers["s"]) and nothing(record.attackers["a"]["s"])
        assert record.servers["s"].key_heartbeats == -1 and math.isnan(record.servers["s"].key_time)
        assert record.observations.crashes == [] and record.observations.session_reuses == []
        connections = record.observations.connections or []
        assert all(c.heartbeats_sent == 1 and c.heartbeats_answered == 0 for c in connections)
    assert sum(len(r.observations.connections or []) for r in records) > 0


def test_benign_captures_are_not_compromises_and_it_never_reuses() -> None:
    records = run(scenario(LEAKY, attacker("checker", 25.0, benign=True)), 50)
    assert all(nothing(r.servers["s"]) for r in records)
    assert all(r.observations.session_reuses == [] for r in records)
    own = [r.attackers["checker"]["s"] for r in records]
    assert all(c.key == 1 for c in own) and sum(c.session for c in own) > 0


def test_benign_key_operations_leave_copies_a_malicious_attacker_reads() -> None:
    """Rule 10: with the long-lived key out of reach and no legitimate handshakes, only the
    scanner's handshakes put the key in memory."""
    server = replace(LEAKY, keys=replace(LEAKY.keys, reachable=0.0), traffic=Traffic())
    scanner = attacker("scanner", 0.0, 10.0, rate=10.0, benign=True, key_ops_per_connection=1)
    thief = attacker("thief", 20.0, 10.0, rate=10.0)
    records = run(scenario(server, scanner, thief), 50)
    assert all(r.servers["s"].key == 1 for r in records)
    alone = run(scenario(server, thief), 50)
    assert all(r.servers["s"].key == 0 for r in alone)


def test_key_heartbeats_count_every_malicious_heartbeat_up_to_the_capture() -> None:
    server = replace(LEAKY, keys=KeySpec(reachable=1.0, capture=0.05), vulnerable_from=35.0)
    sc = scenario(server, attacker("a", 25.0, heartbeats_per_connection=3, rate=3.0),
                  attacker("b", 30.0), attacker("scan", 25.0, benign=True))
    leaked = 0
    for record in run(sc, 100):
        caps = record.servers["s"]
        if not caps.key:
            continue
        leaked += 1
        malicious = [c for c in record.observations.connections or [] if c.attacker != "scan"]
        before = sum(c.heartbeats_sent for c in malicious if c.time < caps.key_time)
        at = sum(c.heartbeats_sent for c in malicious if c.time == caps.key_time)
        assert before < caps.key_heartbeats <= before + at
        assert caps.key_time >= 35.0
        assert caps.key_time == min(record.attackers[a]["s"].key_time for a in ("a", "b")
                                    if record.attackers[a]["s"].key)
    assert leaked > 50


def test_session_reuse_by_binding() -> None:
    ip = replace(LEAKY, sessions=replace(LEAKY.sessions, binding=("ip",),
                                         shared_address_probability=0.25))
    records = run(scenario(ip, attacker("a", 30.0), attacker("b", 30.0)), 100)
    reuses = [u for r in records for u in r.observations.reuse_attempts()]
    interval = wilson(sum(u.shared_address for u in reuses) / len(reuses), len(reuses), Z)
    assert interval.high is not None and interval.low <= 0.25 <= interval.high
    assert all(u.blocked != u.shared_address for u in reuses)
    for r in records:
        for a in ("a", "b"):
            mine = [u for u in r.observations.reuse_attempts() if u.attacker == a]
            assert len(mine) == r.attackers[a]["s"].session  # once per captured session
            assert sum(not u.blocked for u in mine) == r.attackers[a]["s"].session_hijack
        total, own = r.servers["s"], [r.attackers[a]["s"] for a in ("a", "b")]
        assert max(c.session for c in own) <= total.session <= sum(c.session for c in own)
        assert max(c.password for c in own) <= total.password <= sum(c.password for c in own)
    none = run(scenario(LEAKY, attacker("a", 30.0)), 30)
    assert all(r.servers["s"].session_hijack == r.servers["s"].session for r in none)
    assert sum(r.servers["s"].session for r in none) > 0


def test_crashing_connections_are_listed_apart_and_end_at_the_crash() -> None:
    server = replace(LEAKY, crash_probability=0.5)
    records = run(scenario(server, attacker("a", 30.0, heartbeats_per_connection=4, rate=4.0)), 30)
    crashes = [c for r in records for c in r.observations.crashes]
    assert crashes and all(c.heartbeats_sent == c.heartbeats_answered + 1 for c in crashes)
    connections = [c for r in records for c in r.observations.connections or []]
    assert all(c.heartbeats_sent == c.heartbeats_answered == 4 for c in connections)


def test_absent_and_idle_attackers_are_listed_with_nothing() -> None:
    sc = scenario(LEAKY, attacker("ghost", 30.0, presence=0.0), attacker("late", 70.0))
    record = run(sc, 1)[0]
    assert record.present == {"ghost": False, "late": True}
    assert record.attackers == {"ghost": {"s": Captures()}, "late": {"s": Captures()}}
    assert record.observations.connections == []


def test_a_seed_gives_the_same_replication_every_time() -> None:
    sc = scenario(LEAKY, attacker("a", 30.0), attacker("b", 20.0, benign=True))
    seed = np.random.SeedSequence(11, spawn_key=(4,))
    first, second = simulate(sc, seed), simulate(sc, seed)
    assert repr(first) == repr(second)
    assert repr(simulate(sc, np.random.SeedSequence(11, spawn_key=(5,)))) != repr(first)


def test_check_refuses_what_is_too_large_and_says_what_to_do() -> None:
    check(scenario(LEAKY, attacker("a", 30.0)))
    busy = replace(LEAKY, hosts=4, traffic=replace(LEAKY.traffic, requests_per_s=100.0))
    huge = scenario(busy, attacker("a", 0.0, None), horizon=86400.0)
    with pytest.raises(EngineRefused, match="--engine fast") as refused:
        check(huge)
    legitimate = 86400.0 * 4 * (100.0 + 0.5)  # requests and handshakes of 4 hosts for a day
    assert f"{EVENT_LIMIT:,}" in str(refused.value) and f"{legitimate:,.0f}" in str(refused.value)
