"""Detector alert counts against closed forms, for both input forms (explicit connections drawn
by the test itself, and phases sampled by the detector code).

One attacker sends connections as a Poisson process of rate ``lam`` split evenly over ``s``
sources, so each source's count in a window of ``W`` seconds is Poisson(``lam W / s``); a
windowed detector alerts in a source-window with probability ``P(Poisson(mu) >= k)``.
"""

from __future__ import annotations

import numpy as np
import pytest
from evidence_builders import attacker, detector, literal_connections, normal_interval, scenario
from scipy import stats

from sim.model.record import AttackPhase, Connection, Crash, Observations, SessionReuses
from sim.model.detectors import evaluate

REPS = 300
HORIZON = 400.0


def tail(k: int, mu: float) -> float:
    """``P(Poisson(mu) >= k)``."""
    return float(stats.poisson.sf(k - 1, mu))


def run(sc, phases, form: str, seed: int, crashes=()) -> dict[str, dict[str, np.ndarray]]:
    """Raised and retained counts of attacker ``eve`` per detector over ``REPS`` replications."""
    rng = np.random.default_rng(seed)
    eve = sc.attackers["eve"]
    out: dict[str, dict[str, list[int]]] = {d: {"raised": [], "retained": []} for d in sc.detectors}
    for _ in range(REPS):
        if form == "explicit":
            conns = literal_connections(phases, eve.sources, eve.heartbeats_per_connection, rng)
            obs = Observations(connections=conns, crashes=list(crashes))
        else:
            obs = Observations(phases=list(phases), crashes=list(crashes))
        summary = evaluate(sc, obs, rng)
        for d in sc.detectors:
            c = summary.counts(d, "eve")
            out[d]["raised"].append(c.raised)
            out[d]["retained"].append(c.retained)
    return {d: {k: np.array(v) for k, v in per.items()} for d, per in out.items()}


def assert_mean(values: np.ndarray, expected: float) -> None:
    lo, hi = normal_interval(values)
    assert lo <= expected <= hi, (lo, expected, hi)


@pytest.mark.parametrize("form", ["explicit", "phases"])
def test_rate_windows_deployment_and_retention(form: str) -> None:
    """Windows of 2 s; deployed mid-window at 101 s (only traffic after it counts in that
    window); retention cut-off at 249 s, inside window [248, 250): an alert there is kept only
    when the k-th connection came after 249 s."""
    lam, s, width, k = 6.0, 2, 2.0, 5
    det = detector("rate", "rate", threshold=k, window=width, deployed_at=101.0, retention=151.0)
    sc = scenario([attacker(rate=lam, sources=s)], [det], horizon=HORIZON)
    phases = [AttackPhase("eve", "mail", 0.0, HORIZON, lam, True)]
    counts = run(sc, phases, form, seed=11)["rate"]
    mu = lam * width / s
    p = tail(k, mu)
    raised = s * (tail(k, mu / 2) + 149 * p)
    straddling = tail(k, mu) - tail(k, mu / 2)  # k-th arrival in (249, 250)
    retained = s * (75 * p + straddling)
    assert_mean(counts["raised"], raised)
    assert_mean(counts["retained"], retained)


@pytest.mark.parametrize("form", ["explicit", "phases"])
def test_signature_threshold_counts_heartbeats(form: str) -> None:
    """Snort-style 3 matches in 1 s with 2 heartbeats per connection: 2 connections suffice."""
    lam, s = 1.5, 3
    det = detector("ids", "signature", threshold=3, window=1.0)
    sc = scenario([attacker(rate=2 * lam, heartbeats_per_connection=2, sources=s)], [det], horizon=HORIZON)
    phases = [AttackPhase("eve", "mail", 0.0, HORIZON, lam, True)]
    counts = run(sc, phases, form, seed=12)["ids"]
    assert_mean(counts["raised"], HORIZON * s * tail(2, lam / s))


@pytest.mark.parametrize("form", ["explicit", "phases"])
def test_replay_capture_and_retention_without_threshold(form: str) -> None:
    """Every matching heartbeat alerts at its traffic time: deployed at 300 s with 100 s of
    packet capture sees [200, 400); retention keeps (250, 400)."""
    lam, hpc = 2.0, 3
    det = detector("sig", "signature", deployed_at=300.0, replay_capture=100.0, retention=150.0)
    plain = detector("late", "signature", deployed_at=300.0)
    sc = scenario([attacker(rate=lam * hpc, heartbeats_per_connection=hpc)], [det, plain], horizon=HORIZON)
    phases = [AttackPhase("eve", "mail", 0.0, HORIZON, lam, False)]
    counts = run(sc, phases, form, seed=13)
    assert_mean(counts["sig"]["raised"], hpc * lam * 200.0)
    assert_mean(counts["sig"]["retained"], hpc * lam * 150.0)
    assert_mean(counts["late"]["raised"], hpc * lam * 100.0)


@pytest.mark.parametrize("form", ["explicit", "phases"])
def test_sum_over_watched_servers(form: str) -> None:
    """One sensor watching both targets sees each source's two streams added; a sensor on one
    server sees only its own."""
    lam, width, k = 1.0, 4.0, 6
    both = detector("both", "rate", servers=("mail", "vpn"), threshold=k, window=width)
    one = detector("one", "rate", servers=("mail",), threshold=k, window=width)
    sc = scenario(
        [attacker(rate=lam, targets=("mail", "vpn"))], [both, one], servers=("mail", "vpn"), horizon=HORIZON
    )
    phases = [AttackPhase("eve", s, 0.0, HORIZON, lam, True) for s in ("mail", "vpn")]
    counts = run(sc, phases, form, seed=14)
    windows = HORIZON / width
    assert_mean(counts["both"]["raised"], windows * tail(k, 2 * lam * width))
    assert_mean(counts["one"]["raised"], windows * tail(k, lam * width))


@pytest.mark.parametrize("form", ["explicit", "phases"])
def test_asymmetry_counts_answered_bytes_only(form: str) -> None:
    """A patched server answers nothing: no asymmetry alert after the patch at 200 s, while the
    rate detector and the signature keep counting (rule 6)."""
    lam, payload = 2.0, 1000
    asym = detector("asym", "asymmetry", threshold_bytes=5 * payload, window=2.0)
    rate = detector("rate", "rate", threshold=5, window=2.0)
    sc = scenario([attacker(rate=lam, payload_bytes=payload)], [asym, rate], horizon=HORIZON)
    phases = [
        AttackPhase("eve", "mail", 0.0, 200.0, lam, True),
        AttackPhase("eve", "mail", 200.0, HORIZON, lam, False),
    ]
    counts = run(sc, phases, form, seed=15)
    p = tail(5, lam * 2.0)
    assert_mean(counts["asym"]["raised"], 100 * p)
    assert_mean(counts["rate"]["raised"], 200 * p)


@pytest.mark.parametrize("form", ["explicit", "phases"])
def test_encrypted_requests_need_a_protocol_decoder(form: str) -> None:
    snort = detector("snort", "signature")
    zeek = detector("zeek", "signature", matches_encrypted=True)
    sc = scenario([attacker(rate=1.0, encrypted=True)], [snort, zeek], horizon=HORIZON)
    phases = [AttackPhase("eve", "mail", 0.0, HORIZON, 1.0, True)]
    counts = run(sc, phases, form, seed=16)
    assert counts["snort"]["raised"].max() == 0
    assert_mean(counts["zeek"]["raised"], HORIZON)


def test_crash_and_session_logs_one_alert_per_event() -> None:
    crashes = [Crash(t, "eve", "mail", 0, 2, 1) for t in (50.0, 150.0, 350.0)]
    reuses = [
        SessionReuses("eve", "mail", np.array([100.0, 200.0, 300.0]), np.zeros(3, dtype=int),
                      np.array([True, False, False]), np.array([False, False, True])),
    ]
    dets = [
        detector("crash", "crash", deployed_at=100.0, retention=100.0),
        detector("blocked", "session"),
        detector("moved", "session", log_address_change=True, retention=250.0),
        detector("access", "access_log"),
    ]
    sc = scenario([attacker()], dets, horizon=HORIZON)
    summary = evaluate(sc, Observations(crashes=crashes, session_reuses=reuses), np.random.default_rng(0))
    got = {d: (summary.counts(d, "eve").raised, summary.counts(d, "eve").retained) for d in sc.detectors}
    assert got == {"crash": (2, 1), "blocked": (1, 1), "moved": (2, 1), "access": (0, 0)}


def test_alerts_belong_to_the_attacker_owning_the_source() -> None:
    sc = scenario(
        [attacker(rate=1.0), attacker("scanner", rate=1.0, benign=True)],
        [detector("sig", "signature", servers=("mail",))],
        horizon=HORIZON,
    )
    phases = [AttackPhase("scanner", "mail", 0.0, 10.0, 1.0, True)]
    summary = evaluate(sc, Observations(phases=phases), np.random.default_rng(1))
    assert summary.counts("sig", "eve").raised == 0
    assert summary.counts("sig", "scanner").raised > 0


def test_crash_completes_a_window_at_its_own_time() -> None:
    """Crashing connections count for traffic detectors: 2 connections of 2 heartbeats, then a
    crash that sent 2 more, reach a threshold of 6 at the crash (rule 7), at 5 s; it is retained
    when the cut-off is before 5 s, not when it is exactly 5 s (retained means after it)."""
    kept = detector("kept", "signature", threshold=6, window=10.0, retention=HORIZON - 4.5)
    lost = detector("lost", "signature", threshold=6, window=10.0, retention=HORIZON - 5.0)
    sc = scenario([attacker(heartbeats_per_connection=2)], [kept, lost], horizon=HORIZON)
    conns = [Connection(t, "eve", "mail", 0, 2, 2) for t in (1.0, 2.0)]
    crash = Crash(5.0, "eve", "mail", 0, 2, 1)
    summary = evaluate(sc, Observations(connections=conns, crashes=[crash]), np.random.default_rng(2))
    assert (summary.counts("kept", "eve").raised, summary.counts("kept", "eve").retained) == (1, 1)
    assert (summary.counts("lost", "eve").raised, summary.counts("lost", "eve").retained) == (1, 0)
    other_source = Crash(5.0, "eve", "mail", 1, 2, 1)
    summary = evaluate(sc, Observations(connections=conns, crashes=[other_source]), np.random.default_rng(2))
    assert summary.counts("kept", "eve").raised == 0


@pytest.mark.parametrize("form", ["explicit", "phases"])
def test_retention_cutoff_inside_a_window(form: str) -> None:
    """One 100 s window, cut-off at 50 s: an alert is retained when the k-th connection of its
    source came after 50 s, i.e. the window reached k but its first half did not."""
    lam, s, k = 0.12, 2, 4
    det = detector("rate", "rate", threshold=k, window=100.0, retention=50.0)
    sc = scenario([attacker(rate=lam, sources=s)], [det], horizon=100.0)
    phases = [AttackPhase("eve", "mail", 0.0, 100.0, lam, True)]
    counts = run(sc, phases, form, seed=17)["rate"]
    mu = lam * 100.0 / s
    assert_mean(counts["raised"], s * tail(k, mu))
    assert_mean(counts["retained"], s * (tail(k, mu) - tail(k, mu / 2)))


@pytest.mark.parametrize("form", ["explicit", "phases"])
def test_crash_adds_its_heartbeats_to_the_window(form: str) -> None:
    """One source, one 100 s window, 2 heartbeats per connection, threshold 9: a crash at 90 s
    that sent 3 heartbeats leaves 6 to find, i.e. 3 connections in the window. With the cut-off
    at 50 s the alert is lost only when 5 connections (10 heartbeats) came before 50 s."""
    lam, k = 0.05, 9
    det = detector("sig", "signature", threshold=k, window=100.0, retention=50.0)
    sc = scenario([attacker(rate=2 * lam, heartbeats_per_connection=2)], [det], horizon=100.0)
    phases = [AttackPhase("eve", "mail", 0.0, 100.0, lam, True)]
    crash = Crash(90.0, "eve", "mail", 0, 3, 2)
    counts = run(sc, phases, form, seed=18, crashes=[crash])["sig"]
    assert_mean(counts["raised"], tail(3, lam * 100.0))
    assert_mean(counts["retained"], tail(3, lam * 100.0) - tail(5, lam * 50.0))
