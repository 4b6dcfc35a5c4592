"""Attacker choices in both engines, against closed forms (``model.md`` rules 8, 9 and 22).

- ``reuse: []`` leaves no session or login trace, though the attacker captures both kinds;
- ``reuse: [passwords]`` logs in once per distinct static password captured, so with notice 1,
  no shared addresses and logs kept forever a ``login`` detector alerts in exactly the
  replications with a reusable password (an identity per replication, hence P(alert) = P(any
  reusable password) exactly); each login is logged unless the address is shared;
- ``stop_when: [patched]`` stops at the first unanswered connection: before the window opens
  it comes after an exponential gap from the start, after the patch an exponential gap after
  it, and nothing follows it.

Statistical checks put the closed form inside the run's own 99.9% interval (Wilson, rule 20).
Where the choices interact (a session replayed by one attacker only, logins beside a harvester,
the unanswered connection), the engines are compared on every outcome by the agreement suite's
``choices`` scenario (``test_engines_agree.py``).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from agreement import listed

from sim.engines import get_engine
from sim.model.alerts import AlertSummary
from sim.model.detectors import evaluate
from sim.model.record import ReplicationRecord
from sim.montecarlo.intervals import wilson
from sim.scenario.model import (
    Attacker,
    Detector,
    KeySpec,
    PasswordSpec,
    Scenario,
    Server,
    SessionSpec,
    Timeline,
    Traffic,
)

Z = 3.2905  # two-sided 99.9%
HORIZON = 7200.0
ENGINES = ("fast", "reference")


def server(**fields: object) -> Server:
    base = Server(
        name="s", role="mail", workers=2, heap_bytes=1 << 20,
        traffic=Traffic(handshakes_per_s=0.02, logins_per_s=0.01, requests_per_s=0.05),
        keys=KeySpec(reachable=0.3, capture=0.05),
        passwords=PasswordSpec(capture=0.5),
        sessions=SessionSpec(ttl=600.0, requests_per_s=0.002, capture=0.5),
    )
    return replace(base, **fields)


def attacker(name: str = "a", **fields: object) -> Attacker:
    base = Attacker(name=name, targets=("s",), rate=0.05, start_low=1200.0, start_high=1200.0,
                    sources=3)
    return replace(base, **fields)


def scenario(srv: Server, *attackers: Attacker, detectors: tuple[Detector, ...] = ()) -> Scenario:
    return Scenario(name="choices", timeline=Timeline("2014-04-07T00:00:00Z", 0.0, 3600.0, HORIZON),
                    servers={"s": srv}, attackers={a.name: a for a in attackers},
                    detectors={d.name: d for d in detectors})


def run(engine: str, sc: Scenario, n: int, seed: int = 5) -> list[tuple[ReplicationRecord, AlertSummary]]:
    simulate = get_engine(engine).simulate
    out = []
    for i in range(n):
        engine_seed, detector_seed = np.random.SeedSequence(seed, spawn_key=(i,)).spawn(2)
        record = simulate(sc, engine_seed)
        out.append((record, evaluate(sc, record.observations, np.random.default_rng(detector_seed))))
    return out


def assert_probability(flags: list[bool], expected: float) -> None:
    interval = wilson(sum(flags) / len(flags), len(flags), Z)
    assert interval.high is not None
    assert interval.low <= expected <= interval.high, (
        f"{expected:.4f} outside [{interval.low:.4f}, {interval.high:.4f}]")


LOGINS = Detector(name="logins", kind="login", servers=("s",))
SESSIONS = Detector(name="session-log", kind="session", servers=("s",), log_address_change=True)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_harvester_leaves_no_session_or_login_trace(engine: str) -> None:
    sc = scenario(server(), attacker(reuse=()), detectors=(LOGINS, SESSIONS))
    runs = run(engine, sc, 300)
    own = [r.attackers["a"]["s"] for r, _ in runs]
    assert sum(c.session for c in own) > 0 and sum(c.password_reusable for c in own) > 0
    for record, alerts in runs:
        assert record.observations.session_reuses == [] and record.observations.password_logins == []
        assert record.servers["s"].session_hijack == 0 and record.attackers["a"]["s"].session_hijack == 0
        assert alerts.counts("logins", "a").raised == 0 and alerts.counts("session-log", "a").raised == 0


@pytest.mark.parametrize("engine", ENGINES)
def test_login_alerts_exactly_when_a_reusable_password_was_taken(engine: str) -> None:
    """notice 1, no shared address, kept forever: alert <=> a static password captured, and one
    login per distinct captured password."""
    sc = scenario(server(), attacker(reuse=("passwords",), rate=0.003, duration=1200.0),
                  attacker("b", reuse=(), rate=0.03),
                  detectors=(LOGINS, SESSIONS))
    runs = run(engine, sc, 400)
    took = [r.attackers["a"]["s"].password_reusable for r, _ in runs]
    assert 0 < sum(t > 0 for t in took) < len(took)
    for (record, alerts), n in zip(runs, took):
        logins = sum(len(g) for g in record.observations.password_logins)
        assert logins == n == alerts.counts("logins", "a").retained
        assert all(g.attacker == "a" for g in record.observations.password_logins)
        assert alerts.counts("session-log", "a").raised == 0  # it does not reuse sessions
        assert alerts.counts("logins", "b").raised == 0


@pytest.mark.parametrize("engine", ENGINES)
def test_one_time_codes_are_never_tried(engine: str) -> None:
    sc = scenario(server(passwords=PasswordSpec(capture=0.5, kind="otp")),
                  attacker(reuse=("passwords", "sessions")), detectors=(LOGINS,))
    runs = run(engine, sc, 200)
    assert sum(r.attackers["a"]["s"].password for r, _ in runs) > 0
    assert all(r.observations.password_logins == [] for r, _ in runs)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_login_from_a_shared_address_is_not_logged(engine: str) -> None:
    """Each login is logged with probability 1 - p, independently: Binomial(logins, 1 - p)."""
    p = 0.3
    sc = scenario(server(passwords=PasswordSpec(capture=0.5, shared_address_probability=p)),
                  attacker(reuse=("passwords",)), detectors=(LOGINS,))
    runs = run(engine, sc, 400)
    logins = sum(len(g) for r, _ in runs for g in r.observations.password_logins)
    logged = sum(alerts.counts("logins", "a").raised for _, alerts in runs)
    assert logins > 500
    assert_probability([True] * logged + [False] * (logins - logged), 1 - p)


# -- stop_when: patched ------------------------------------------------------------------------

T0, OPENS, PATCH = 600.0, 2400.0, 4800.0
RATE = 3e-5
"""Connections per second: about 5% of replications stop before the window opens and 7% after
the patch, so 16,000 replications (below) detect a 1-point error in either."""


def patched_scenario() -> Scenario:
    srv = Server(name="s", role="public", heap_bytes=1 << 20, vulnerable_from=OPENS,
                 patched_at=PATCH, keys=KeySpec(reachable=0.5, capture=0.5))
    a = attacker(start_low=T0, start_high=T0, rate=RATE, stop_when=("patched",))
    return scenario(srv, a)


@pytest.mark.slow
@pytest.mark.parametrize("engine", ENGINES)
def test_stop_when_patched_stops_at_the_first_unanswered_connection(engine: str) -> None:
    """Closed forms: P(it stops before the window opens) = 1 - exp(-r (opens - t0)); P(it
    stops after the patch) = exp(-r (opens - t0)) (1 - exp(-r (horizon - patch))).

    n = 16,000: for p about 0.06, a 1-point error is (0.01 - 3.29 se) / se = 2.8 standard
    errors beyond the 99.9% bound (se = sqrt(p (1 - p) / n) = 0.0019): power above 99%."""
    n = 16_000
    early, late = [], []
    for record, _ in run(engine, patched_scenario(), n, seed=9):
        unanswered = [c for c in listed(record) if c.heartbeats_answered == 0]
        assert len(unanswered) <= 1
        if unanswered:
            stop = unanswered[0].time
            assert not (OPENS <= stop < PATCH)
            assert all(c.time <= stop for c in listed(record))
            if stop < OPENS:
                assert record.attackers["a"]["s"].key == 0
        early.append(bool(unanswered) and unanswered[0].time < OPENS)
        late.append(bool(unanswered) and unanswered[0].time >= PATCH)
    a, b = RATE * (OPENS - T0), RATE * (HORIZON - PATCH)
    assert_probability(early, -math.expm1(-a))
    assert_probability(late, math.exp(-a) * -math.expm1(-b))


@pytest.mark.parametrize("engine", ENGINES)
def test_stop_when_key_and_patched_whichever_comes_first(engine: str) -> None:
    """With the key certain to leak on the first heartbeat, the attacker stops there and never
    sends the unanswered connection; without ``key`` it sends exactly one after the patch."""
    srv = Server(name="s", role="public", heap_bytes=1 << 20, patched_at=PATCH,
                 keys=KeySpec(reachable=1.0, capture=1.0))
    for stop, unanswered_expected in ((("key", "patched"), 0), (("patched",), 1)):
        sc = scenario(srv, attacker(start_low=PATCH - 10.0, start_high=PATCH - 10.0, rate=1.0,
                                    stop_when=stop))
        for record, _ in run(engine, sc, 50):
            if record.attackers["a"]["s"].key_time < PATCH:
                unanswered = [c for c in listed(record) if c.heartbeats_answered == 0]
                assert len(unanswered) == unanswered_expected
