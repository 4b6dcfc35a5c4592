"""Invariants of the fast engine on random small scenarios (hypothesis).

Whatever the scenario: a benign attacker compromises nothing; nothing leaks when the heartbeat
is off or the patch precedes the attack; reusable passwords never exceed passwords, hijacks
never exceed leaked sessions, a malicious attacker's own captures never exceed the total; a
captured key carries a capture time inside the attacker's window and at least one heartbeat;
the same seed gives the same record.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.engines import get_engine
from sim.engines.fast.reads import choices
from sim.model.record import ReplicationRecord
from sim.scenario.model import (
    Attacker,
    KeySpec,
    PasswordSpec,
    RestartPolicy,
    Scenario,
    Server,
    SessionSpec,
    Timeline,
    Traffic,
)

fast = get_engine("fast")
HORIZON = 4000.0


@st.composite
def scenarios(draw: st.DrawFn, benign: bool | None = None, closed: bool = False) -> Scenario:
    logins = draw(st.floats(0.0, 0.2))
    ttl = draw(st.floats(60.0, 900.0))
    per_session = draw(st.floats(0.0, 0.02))
    other = draw(st.floats(0.0, 1.0))
    every = draw(st.one_of(st.none(), st.floats(200.0, 3000.0)))
    server = Server(
        name="s",
        role="mail",
        hosts=draw(st.integers(1, 2)),
        workers=draw(st.integers(1, 3)),
        heap_bytes=draw(st.integers(1 << 12, 1 << 24)),
        patched_at=500.0 if closed else math.inf,
        restart=RestartPolicy(
            every=every,
            jitter=0.0 if every is None else draw(st.floats(0.0, every / 3)),
            max_requests=draw(st.one_of(st.none(), st.integers(5, 200))),
        ),
        crash_probability=draw(st.sampled_from([0.0, 0.001, 0.05])),
        traffic=Traffic(
            handshakes_per_s=draw(st.floats(0.0, 1.0)),
            logins_per_s=logins,
            requests_per_s=logins * (1 + ttl * per_session) + other,
        ),
        keys=KeySpec(
            reachable=draw(st.floats(0.0, 1.0)),
            copies_per_handshake=draw(st.sampled_from([0.0, 0.5, 1.0, 2.0])),
            capture=draw(st.one_of(st.none(), st.floats(0.0, 1.0))),
        ),
        passwords=PasswordSpec(
            capture=draw(st.one_of(st.none(), st.floats(0.0, 1.0))),
            kind=draw(st.sampled_from(["static", "otp"])),
        ),
        sessions=SessionSpec(
            ttl=ttl,
            requests_per_s=per_session,
            capture=draw(st.one_of(st.none(), st.floats(0.0, 1.0))),
            binding=draw(st.sampled_from([(), ("ip",), ("browser",), ("ip", "browser")])),
            shared_address_probability=draw(st.floats(0.0, 1.0)),
            browser_match_probability=draw(st.floats(0.0, 1.0)),
        ),
    )
    attackers = {}
    for i in range(draw(st.integers(1, 3))):
        name = f"a{i}"
        start = draw(st.floats(600.0, 3000.0))
        attackers[name] = Attacker(
            name=name,
            targets=("s",),
            rate=draw(st.floats(0.0, 2.0)),
            start_low=start,
            start_high=start + draw(st.floats(0.0, 500.0)),
            duration=draw(st.one_of(st.none(), st.floats(10.0, 2000.0))),
            heartbeats_per_connection=draw(st.integers(1, 5)),
            payload_bytes=draw(st.integers(1, 65535)),
            key_ops_per_connection=draw(st.integers(0, 2)),
            sources=draw(st.integers(1, 4)),
            stop_when=draw(st.sampled_from([("key",), (), ("patched",), ("key", "patched")])),
            reuse=draw(st.sampled_from([("sessions",), (), ("passwords",), ("sessions", "passwords")])),
            benign=draw(st.booleans()) if benign is None else benign,
            presence=draw(st.sampled_from([1.0, 0.5])),
        )
    return Scenario(
        name="property",
        timeline=Timeline("2014-04-07T00:00:00Z", 0.0, 0.0, HORIZON),
        servers={"s": server},
        attackers=attackers,
    )


def records(sc: Scenario, n: int = 8, seed: int = 0) -> list[ReplicationRecord]:
    return [fast.simulate(sc, np.random.SeedSequence(seed, spawn_key=(i,))) for i in range(n)]


SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(scenarios())
def test_counts_are_consistent(sc: Scenario) -> None:
    for r in records(sc):
        total = r.servers["s"]
        assert total.password_reusable <= total.password
        assert total.session_hijack <= total.session
        assert total.key in (0, 1)
        for name, attacker in sc.attackers.items():
            own = r.attackers[name]["s"]
            assert own.password_reusable <= own.password
            assert own.session_hijack <= own.session
            if not r.present[name]:
                assert (own.key, own.password, own.session) == (0, 0, 0)
            if own.key:
                assert attacker.start_low <= own.key_time <= HORIZON
                assert own.key_heartbeats >= 1
            if not attacker.benign:
                assert own.key <= total.key
                assert own.password <= total.password
                assert own.session <= total.session


@SETTINGS
@given(scenarios(benign=True))
def test_benign_attackers_compromise_nothing(sc: Scenario) -> None:
    for r in records(sc):
        total = r.servers["s"]
        assert (total.key, total.password, total.session, total.session_hijack) == (0, 0, 0, 0)
        assert not r.observations.reuse_attempts()


@SETTINGS
@given(scenarios(closed=True))
def test_a_patch_before_the_attack_leaks_nothing(sc: Scenario) -> None:
    for r in records(sc):
        for per_server in r.attackers.values():
            own = per_server["s"]
            assert (own.key, own.password, own.session) == (0, 0, 0)
        assert not r.observations.crashes


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_same_seed_same_record(sc: Scenario) -> None:
    assert records(sc, n=3, seed=5) == records(sc, n=3, seed=5)


@SETTINGS
@given(scenarios())
def test_attacker_choices_leave_only_their_own_traces(sc: Scenario) -> None:
    """Session reuses only by attackers that reuse sessions, one login per captured static
    password by those that log in, and at most one unanswered connection per attacker under
    ``stop_when: patched``, after which it sends nothing it could be seen for."""
    static = sc.servers["s"].passwords is not None and sc.servers["s"].passwords.kind == "static"
    for r in records(sc):
        obs = r.observations
        for attempt in obs.reuse_attempts():
            assert sc.attackers[attempt.attacker].reuses_sessions
        for name, attacker in sc.attackers.items():
            logins = sum(len(g) for g in obs.password_logins if g.attacker == name)
            own = r.attackers[name]["s"]
            assert logins == (own.password if attacker.logs_in and static else 0)
            unanswered = [c for c in obs.known_connections
                          if c.attacker == name and c.heartbeats_answered == 0]
            assert len(unanswered) <= (1 if attacker.stops_when_patched else 0)
            if unanswered:
                stop = unanswered[0].time
                assert all(c.time <= stop for c in obs.known_connections if c.attacker == name)
                assert all(p.t1 <= stop for p in obs.phases if p.attacker == name)


def test_a_near_silent_server_samples_its_key_state_from_a_valid_law() -> None:
    """Hypothesis found this: one key copy per handshake at 2e-80 handshakes/s, so the chain's
    eigenvectors cancel to about -1e-17 in states it cannot reach; sampling the copies after a
    capture from that vector raised ``ValueError: Probabilities are not non-negative``."""
    server = Server(
        name="s", role="mail", hosts=1, workers=1, heap_bytes=4096,
        traffic=Traffic(handshakes_per_s=2.4234799524014935e-80),
        keys=KeySpec(reachable=1.0, copies_per_handshake=1.0),
        passwords=PasswordSpec(), sessions=SessionSpec(ttl=60.0, requests_per_s=0.0),
    )
    attackers = {
        "a0": Attacker(name="a0", targets=("s",), rate=1.0, start_low=600.0, start_high=601.0,
                       payload_bytes=128),
        "a1": Attacker(name="a1", targets=("s",), rate=0.0, start_low=600.0, start_high=600.0,
                       payload_bytes=1),
    }
    sc = Scenario(name="near-silent", timeline=Timeline("2014-04-07T00:00:00Z", 0.0, 0.0, HORIZON),
                  servers={"s": server}, attackers=attackers)
    for r in records(sc):
        assert r.servers["s"].key in (0, 1)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.just(0.0), st.floats(1e-12, 1e3)), min_size=1, max_size=40)
       .filter(lambda w: sum(w) > 0.0), st.integers(0, 30), st.integers(0, 2**32 - 1))
def test_choices_draws_what_generator_choice_draws(weights: list[float], n: int, seed: int) -> None:
    """``reads.choices`` stands in for ``Generator.choice(size, n, p=p)`` on the login-time
    paths without its checks; the stored agreement runs hold it to the same draws."""
    p = np.array(weights) / sum(weights)
    expected = np.random.default_rng(seed).choice(p.size, size=n, p=p)
    assert choices(np.random.default_rng(seed), p, n).tolist() == expected.tolist()
