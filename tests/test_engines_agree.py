"""The fast engine agrees with the reference engine on scenarios small enough for both.

For every outcome (per server, in total and per attacker) and every detector's alerts the two engines' estimates of
P(at least one) and of the mean count must differ by less than what their own sampling error
allows: ``|a - b| <= z sqrt(se_a^2 + se_b^2)`` at z for a two-sided 99.9% level. Seeds are
fixed, so the test is deterministic; the tolerance comes from the runs, not from tuning.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from scipy.stats import norm

from sim.engines import get_engine
from sim.model.record import ReplicationRecord
from sim.model.alerts import AlertSummary
from sim.model.detectors import evaluate
from sim.scenario.model import (
    Attacker,
    Detector,
    KeySpec,
    PasswordSpec,
    RestartPolicy,
    Scenario,
    Server,
    SessionSpec,
    Timeline,
    Traffic,
)

Z = norm.ppf(1 - 0.001 / 2)
HORIZON = 7200.0


def mail_server(**overrides) -> Server:
    fields = dict(
        name="mail",
        role="mail",
        hosts=1,
        workers=2,
        heap_bytes=1 << 20,
        restart=RestartPolicy(every=1500.0, jitter=200.0, max_requests=80),
        crash_probability=0.002,
        traffic=Traffic(handshakes_per_s=0.05, logins_per_s=0.02,
                        requests_per_s=0.02 + 0.02 * 600 * 0.002 + 0.03),
        keys=KeySpec(reachable=0.2, copies_per_handshake=1.0, piece_bytes=120, capture=0.05),
        passwords=PasswordSpec(capture=0.6),
        sessions=SessionSpec(ttl=600.0, requests_per_s=0.002, capture=0.5, binding=("ip",),
                             shared_address_probability=0.3),
    )
    fields.update(overrides)
    return Server(**fields)


def small_scenario(**server_overrides) -> Scenario:
    attackers = {
        "reaper": Attacker(name="reaper", targets=("mail",), rate=0.02, start_low=2400.0,
                           start_high=3600.0, duration=2400.0, heartbeats_per_connection=2,
                           key_ops_per_connection=1, sources=3, stop_when="key", encrypted=True),
        "sneak": Attacker(name="sneak", targets=("mail",), rate=0.004, start_low=3000.0,
                          start_high=3000.0, presence=0.5, payload_bytes=16384),
        "checker": Attacker(name="checker", targets=("mail",), rate=0.01, start_low=5000.0,
                            start_high=5000.0, duration=1200.0, benign=True, payload_bytes=16384),
    }
    every = ("mail",)
    detectors = {
        "ids": Detector(name="ids", kind="signature", servers=every, threshold=2,
                        window=600.0, deployed_at=3600.0, replay_capture=900.0),
        "ids-all": Detector(name="ids-all", kind="signature", servers=every,
                            matches_encrypted=True, retention=3600.0),
        "volume": Detector(name="volume", kind="rate", servers=every, count="heartbeats",
                           threshold=4, window=900.0),
        "bytes": Detector(name="bytes", kind="asymmetry", servers=every,
                          threshold_bytes=150_000, window=1200.0),
        "crashes": Detector(name="crashes", kind="crash", servers=every),
        "sessions": Detector(name="sessions", kind="session", servers=every,
                             log_address_change=True, retention=2400.0),
    }
    return Scenario(
        name="agree",
        timeline=Timeline("2014-04-07T00:00:00Z", 0.0, 5400.0, HORIZON),
        servers={"mail": mail_server(**server_overrides)},
        attackers=attackers,
        detectors=detectors,
    )


Run = tuple[ReplicationRecord, AlertSummary]


def run(engine: str, sc: Scenario, n: int, seed: int) -> list[Run]:
    """Replications of one engine, each with the alerts its observations raise."""
    simulate = get_engine(engine).simulate
    out = []
    for i in range(n):
        engine_seed, detector_seed = np.random.SeedSequence(seed, spawn_key=(i,)).spawn(2)
        record = simulate(sc, engine_seed)
        out.append((record, evaluate(sc, record.observations,
                                     np.random.default_rng(detector_seed))))
    return out


Extract = Callable[[Run], float]

OUTCOMES = ("key", "password", "password_reusable", "session", "session_hijack")


def extractors(sc: Scenario) -> dict[str, Extract]:
    out: dict[str, Extract] = {}
    for o in OUTCOMES:
        out[f"mail/{o}"] = lambda r, o=o: getattr(r[0].servers["mail"], o)
        for a in sc.attackers:
            out[f"{a}/{o}"] = lambda r, o=o, a=a: getattr(r[0].attackers[a]["mail"], o)
    out["crashes"] = lambda r: len(r[0].observations.crashes)
    out["session_reuses"] = lambda r: len(r[0].observations.reuse_attempts())
    for d in sc.detectors:
        for a in sc.attackers:
            for kind in ("raised", "retained"):
                out[f"{d}/{a}/{kind}"] = (
                    lambda r, d=d, a=a, kind=kind: getattr(r[1].counts(d, a), kind)
                )
    return out


def compare(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Difference of the means and its allowed size from both samples' standard errors."""
    se = math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    return abs(a.mean() - b.mean()), Z * se


@pytest.mark.slow
@pytest.mark.parametrize(
    "variant",
    [
        {},
        {"passwords": PasswordSpec(capture=0.6, lifetime=900.0, kind="otp"),
         "sessions": SessionSpec(ttl=600.0, requests_per_s=0.002, capture=0.5, binding=(),
                                 lifetime=300.0)},
    ],
    ids=["traffic-driven", "exponential-lifetimes"],
)
def test_fast_matches_reference_for_every_outcome(variant: dict) -> None:
    sc = small_scenario(**variant)
    n = 1500
    fast = run("fast", sc, n, seed=11)
    ref = run("reference", sc, n, seed=12)
    failures = []
    for name, get in extractors(sc).items():
        fa = np.array([get(r) for r in fast], dtype=float)
        ra = np.array([get(r) for r in ref], dtype=float)
        for label, f, r in (("p_any", fa > 0, ra > 0), ("mean", fa, ra)):
            f, r = f.astype(float), r.astype(float)
            if f.var() == 0 and r.var() == 0:
                if f.mean() != r.mean():
                    failures.append(f"{name} {label}: fast {f.mean()} vs reference {r.mean()}")
                continue
            diff, allowed = compare(f, r)
            if diff > allowed:
                failures.append(
                    f"{name} {label}: fast {f.mean():.4f} vs reference {r.mean():.4f} "
                    f"(difference {diff:.4f} > {allowed:.4f})"
                )
    assert not failures, "\n".join(failures)
