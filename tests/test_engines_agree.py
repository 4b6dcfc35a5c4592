"""The fast engine agrees with the reference engine, the literal model, on small scenarios.

For every outcome (per server, in total and per attacker), the session reuse log and every
detector's alerts (raised and retained), the two engines' estimates of P(at least one) and of
the mean must differ by less than their own sampling error allows:
``|a - b| <= z sqrt(se_a^2 + se_b^2)``. One scenario makes 100 to 200 such comparisons, so
``z`` holds the whole scenario's chance of a false failure at 1% (Bonferroni, :func:`family_z`:
3.9 to 4.1); the other tests here and their users compare a few quantities each, at a
two-sided 99.9% level (``Z``). Seeds are fixed, so the test is deterministic; the tolerance
comes from the runs, not from tuning.

**Power.** A bias ``d`` is caught with probability 1/2 when ``d = z se`` and with probability
0.8 when ``d = (z + 0.84) se``. With ``n_f`` fast and ``n_r`` reference replications a
probability ``p`` has ``se = sqrt(p (1 - p) (1/n_f + 1/n_r))``; a 1-point bias at ``p = 0.5``
needs ``n_f = n_r`` of about 85,000 at 80% power (54,000 at 1/2), about 15 CPU-minutes per
scenario, more than the whole suite's budget (15 minutes on 2 cores). The counts below are
what that budget allows: the reference engine costs about 4 ms a replication here and the
fast one about 7 ms, so the cheapest split for a given ``se`` puts ``sqrt(7/4) = 1.3`` times
more replications on the reference (:data:`SIZES`). :func:`detectable` prints, for every
quantity, the bias each scenario detects at 80% power: with 8,000 and 10,000 replications and
``z`` of 4.1, a 1-point bias for ``p`` below 1.7% or above 98.3%, 3.7 points at ``p = 0.5``,
and 3% of a mean whose coefficient of variation is below about 0.4.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pytest
from scipy.stats import norm

from sim.engines import get_engine
from sim.engines.fast import sessions
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
                           key_ops_per_connection=1, sources=3, stop_when=("key",), encrypted=True),
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


def outcomes(engine: str, sc: Scenario, n: int, seed: int) -> dict[str, np.ndarray]:
    """Every extracted quantity of ``n`` replications, without keeping the records."""
    simulate = get_engine(engine).simulate
    get = extractors(sc)
    out = {name: np.empty(n) for name in get}
    for i in range(n):
        engine_seed, detector_seed = np.random.SeedSequence(seed, spawn_key=(i,)).spawn(2)
        record = simulate(sc, engine_seed)
        r = (record, evaluate(sc, record.observations, np.random.default_rng(detector_seed)))
        for name, f in get.items():
            out[name][i] = f(r)
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


def compare(a: np.ndarray, b: np.ndarray, z: float = Z) -> tuple[float, float]:
    """Difference of the means and its allowed size from both samples' standard errors."""
    se = math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    return abs(a.mean() - b.mean()), z * se


def paired(
    fast: dict[str, np.ndarray], ref: dict[str, np.ndarray], quantity: str, label: str
) -> tuple[np.ndarray, np.ndarray]:
    """Both engines' samples of ``quantity``: 0/1 for ``p_any``, the counts for ``mean``."""
    if label == "p_any":
        return (fast[quantity] > 0).astype(float), (ref[quantity] > 0).astype(float)
    return fast[quantity], ref[quantity]


def judge(line: str, f: np.ndarray, r: np.ndarray, z: float = Z) -> str | None:
    """Print one comparison; return its line when the engines differ beyond ``z``."""
    diff, allowed = compare(f, r, z)
    full = (f"{line}: fast {f.mean():.4f} vs reference {r.mean():.4f} (difference {diff:.4f}, "
            f"allowed {allowed:.4f}, detectable {detectable(f, r, z):.4f})")
    print(full)
    return full if diff > allowed else None


#: Chance that a correct fast engine fails one scenario of the every-outcome comparison.
FAMILY_ERROR = 0.01


def family_z(comparisons: int) -> float:
    """Bonferroni: ``z`` for a two-sided level of :data:`FAMILY_ERROR` over all ``comparisons``.

    One scenario compares 100 to 200 quantities. At ``z = 3.29`` each (two-sided 0.001), a
    correct engine fails a scenario in about one draw order of six: on 2026-12-03 a change of
    draw order alone moved the benign checker's signature alerts on ``lingering`` to 12.19
    (+2.4 standard errors from the model's 12 connections exactly; the phases' own integral
    gave 12.06 +- 0.04 and another seed 12.06) against the reference's 11.93 (-1.8).
    """
    return float(norm.ppf(1 - FAMILY_ERROR / (2 * comparisons)))


def never(sc: Scenario) -> Scenario:
    """Every attacker sends through its whole window (``stop_when: never``)."""
    return replace(sc, attackers={n: replace(a, stop_when="never") for n, a in sc.attackers.items()})


#: Small scenarios for both engines: overlapping attackers with ``stop_when`` both ways,
#: crashes and ``max_requests`` (in every one), lingering secrets and binding checks.
SCENARIOS: dict[str, Callable[[], Scenario]] = {
    "overlap-never": lambda: never(small_scenario()),
    "stop-on-key": lambda: small_scenario(),
    "lingering": lambda: never(small_scenario(
        keys=KeySpec(reachable=0.2, copies_per_handshake=1.0, piece_bytes=120, capture=0.05,
                     copy_lifetime=60.0),
        passwords=PasswordSpec(capture=0.6, lifetime=900.0, kind="otp"),
        sessions=SessionSpec(ttl=600.0, requests_per_s=0.002, capture=0.5, binding=("ip",),
                             shared_address_probability=0.3, lifetime=300.0))),
    "binding": lambda: small_scenario(
        sessions=SessionSpec(ttl=600.0, requests_per_s=0.002, capture=0.5,
                             binding=("ip", "browser", "concurrent"),
                             shared_address_probability=0.6, browser_match_probability=0.5,
                             concurrent_window=300.0)),
}
#: Replications per scenario, fast and reference: about 100 CPU-seconds each (the lingering
#: scenario's fast engine integrates a key-copy chain of about 17 states: 23 ms a replication).
SIZES = {"overlap-never": (8_000, 10_000), "stop-on-key": (8_000, 10_000),
         "binding": (8_000, 10_000), "lingering": (4_000, 8_000)}

def detectable(f: np.ndarray, r: np.ndarray, z: float = Z) -> float:
    """The bias this comparison detects with probability 0.8."""
    se = math.sqrt(f.var(ddof=1) / len(f) + r.var(ddof=1) / len(r))
    return (z + norm.ppf(0.8)) * se


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_fast_matches_reference_for_every_outcome(name: str) -> None:
    sc = SCENARIOS[name]()
    n_fast, n_reference = SIZES[name]
    fast = outcomes("fast", sc, n_fast, seed=11)
    ref = outcomes("reference", sc, n_reference, seed=12)
    pairs = [(f"{name} {quantity} {label}", *paired(fast, ref, quantity, label))
             for quantity in fast for label in ("p_any", "mean")]
    z = family_z(sum(1 for _, f, r in pairs if f.var() > 0 or r.var() > 0))
    failures: list[str] = []
    for line, f, r in pairs:
        if f.var() == 0 and r.var() == 0:
            if f.mean() != r.mean():
                failures.append(f"{line}: fast {f.mean()} vs reference {r.mean()}")
            continue
        failed = judge(line, f, r, z)
        if failed:
            failures.append(failed)
    assert not failures, "\n".join(failures)


@pytest.mark.slow
def test_integrated_sessions_are_exact_in_the_mean(monkeypatch: pytest.MonkeyPatch) -> None:
    """Heavy attacks take the integrated session path (``docs/fast-engine.md``, items 3 to 5):
    exact in the mean of every session and hijack count, with overlapping attackers; P(any)
    is printed, not asserted (item 3)."""
    monkeypatch.setattr(sessions, "LITERAL_LIMIT", -1.0)
    sc = SCENARIOS["overlap-never"]()
    fast = outcomes("fast", sc, 6_000, seed=13)
    ref = outcomes("reference", sc, 6_000, seed=14)
    failures = []
    for quantity in fast:
        if not quantity.endswith(("/session", "/session_hijack")):
            continue
        for label in ("p_any", "mean"):
            failed = judge(f"{quantity} {label}", *paired(fast, ref, quantity, label))
            if label == "mean" and failed:
                failures.append(failed)
    assert not failures, "\n".join(failures)
