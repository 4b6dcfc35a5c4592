"""Numbers at the edges: tiny and near-one probabilities keep their digits, intervals behave
at zero and full counts, nothing vulnerable means exactly zero, and huge rates or tiny heaps
saturate instead of overflowing.

Precision is judged against exact references computed with :mod:`decimal` at 60 digits, and
the allowed error is derived from the operations each formula performs (each correctly
rounded step adds at most half an ulp, relative ``EPS/2``; a step with condition number at
most 1 passes earlier errors on undiminished), never tuned to the results.
"""

from __future__ import annotations

import dataclasses
import math
from decimal import Decimal, localcontext
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from sim.analysis.analyse import analyse, as_results
from sim.engines import get_engine
from sim.engines.fast.reads import per_connection
from sim.model.record import Captures, ReplicationRecord
from sim.model.capture import any_of, piece_capture, window_capture
from sim.montecarlo import intervals
from sim.montecarlo.runner import run
from sim.report import results_json
from sim.scenario import scenario_sha256
from sim.scenario.model import (
    Attacker,
    Detector,
    KeySpec,
    MonteCarlo,
    PasswordSpec,
    RestartPolicy,
    Scenario,
    Server,
    SessionSpec,
    Timeline,
    Traffic,
)

EPS = float(np.finfo(float).eps)
PROPERTY = settings(max_examples=300, deadline=None, derandomize=True)


def exact(x: float) -> Decimal:
    return Decimal(x)  # a float converts exactly


def relative_error(got: float, want: Decimal) -> float:
    return float(abs(Decimal(got) - want) / want)


def exact_any_of(n: int, c: float) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 60
        return 1 - (1 - exact(c)) ** n


# ---------------------------------------------------------------- capture probabilities

tiny_or_not = st.one_of(st.floats(1e-15, 1e-6), st.floats(1e-6, 1.0 - 1e-12))


@PROPERTY
@given(c=tiny_or_not, pieces=st.integers(1, 4), heartbeats=st.integers(1, 10**6))
def test_any_of_keeps_relative_precision(c: float, pieces: int, heartbeats: int) -> None:
    """``-expm1(n log1p(-c))``: log1p and expm1 (glibc: < 1 ulp each), one product (n exact
    below 2^53) and ``expm1`` of a negative argument has condition number ``|y| e^y /
    |expm1(y)| <= 1``, so the relative error is at most ``EPS + EPS/2 + EPS`` < ``3 EPS``."""
    want = exact_any_of(pieces * heartbeats, c)
    got = any_of(pieces, c, heartbeats)
    assert 0.0 < got <= 1.0
    assert relative_error(got, want) <= 3 * EPS
    assert relative_error(per_connection(c, pieces * heartbeats), want) <= 3 * EPS


@PROPERTY
@given(survive_exponent=st.floats(-12.0, -1.0), c=st.floats(1e-15, 0.5))
def test_results_just_below_one_keep_their_complement(survive_exponent: float, c: float) -> None:
    """P(any) = 1 - s with s down to 1e-12: the complement ``1 - P`` must come back with the
    relative precision a double near 1 allows (absolute ``EPS``), not a cancelled ``0`` or
    ``1``. ``n`` is chosen so that ``(1 - c)^n`` is about ``10^survive_exponent``."""
    n = max(1, round(survive_exponent * math.log(10) / math.log1p(-c)))
    assume(2 * n < 2**53)  # exact float products of n: the premise of the error bound
    want = exact_any_of(2 * n, c)
    got = any_of(2, c, n)
    assert got < 1.0 or want > 1 - Decimal(EPS) / 2
    assert abs(Decimal(got) - want) <= Decimal(3 * EPS) * want


def test_certain_and_impossible_captures_are_exact() -> None:
    assert any_of(2, 0.0, 10**9) == 0.0 and any_of(0, 0.5, 10) == 0.0
    assert any_of(2, 1.0, 1) == 1.0 and per_connection(1.0, 3) == 1.0
    assert any_of(1, 5e-324, 1) == 5e-324  # the smallest subnormal survives


pos = st.integers(1, 1 << 22)


@PROPERTY
@given(payload=st.integers(1, 65535), piece=pos, heap=pos)
def test_window_capture_range_and_impossibility(payload: int, piece: int, heap: int) -> None:
    c = window_capture(payload, piece, heap)
    assert 0.0 <= c <= 1.0
    if piece > min(payload, heap):
        assert c == 0.0
    else:
        assert c == (min(payload, heap) - piece + 1) / heap > 0.0
    if piece == 1 and payload >= heap:
        assert c == 1.0  # the over-read copies the whole region


@PROPERTY
@given(payload=st.integers(1, 65535), more=st.integers(0, 65535), piece=pos, heap=pos)
def test_window_capture_grows_with_payload(payload: int, more: int, piece: int, heap: int) -> None:
    longer = min(65535, payload + more)
    assert window_capture(payload, piece, heap) <= window_capture(longer, piece, heap)


@PROPERTY
@given(payload=st.integers(1, 65535), piece=pos, more=pos, heap=pos)
def test_window_capture_shrinks_with_piece(payload: int, piece: int, more: int, heap: int) -> None:
    assert window_capture(payload, piece + more, heap) <= window_capture(payload, piece, heap)


@PROPERTY
@given(payload=st.integers(1, 65535), piece=pos, region=st.one_of(st.none(), pos),
       capture=st.floats(0.0, 1.0))
def test_measured_capture_keeps_the_size_check(
    payload: int, piece: int, region: int | None, capture: float
) -> None:
    """Rule 6: ``capture`` replaces ``c`` only when the over-read can hold the piece."""
    reach = payload if region is None else min(payload, region)
    got = piece_capture(payload, piece, region, capture, heap_bytes=None)
    assert got == (capture if reach >= piece else 0.0)


# ---------------------------------------------------------------- intervals

def exact_wilson(k: int, n: int) -> tuple[Decimal, Decimal]:
    """The textbook Wilson formula at 60 digits, where its cancellation costs nothing."""
    with localcontext() as ctx:
        ctx.prec = 60
        p, N, z = Decimal(k) / Decimal(n), Decimal(n), exact(intervals.Z)
        d = 1 + z * z / N
        centre = (p + z * z / (2 * N)) / d
        half = z / d * (p * (1 - p) / N + z * z / (4 * N * N)).sqrt()
        return centre - half, centre + half


@PROPERTY
@given(n=st.integers(1, 10**15), data=st.data())
def test_wilson_contains_estimate_and_keeps_digits(n: int, data: st.DataObject) -> None:
    """About twenty roundings, none cancelling (the lower end is ``p^2 / (d (c + h))``, a
    quotient of positive terms): each end within ``16 EPS`` of the exact value, relative."""
    k = data.draw(st.one_of(st.integers(0, min(n, 3)), st.integers(0, n),
                            st.integers(max(0, n - 3), n)))
    p = k / n
    ci = intervals.wilson(p, n)
    assert ci.high is not None
    assert 0.0 <= ci.low <= p <= ci.high <= 1.0
    low, high = exact_wilson(k, n)
    if k == 0:
        assert ci.low == 0.0
    else:
        assert relative_error(ci.low, low) <= 16 * EPS
    if k == n:
        assert ci.high == 1.0
    assert relative_error(ci.high, high) <= 16 * EPS


def test_wilson_lower_end_of_one_in_a_trillion_is_positive() -> None:
    ci = intervals.wilson(1e-12, 1e12)
    assert 0.0 < ci.low < 1e-12 < ci.high < 1e-11


@PROPERTY
@given(n=st.one_of(st.integers(1, 1000), st.floats(1.0, 1e15)))
def test_zero_event_bound(n: float) -> None:
    """``1 - 0.05^(1/n)``: relative error below ``3 EPS`` (log1p, a quotient, expm1 with
    condition <= 1), strictly inside (0, 1), and the defining equation ``(1-u)^n = 0.05``."""
    u = intervals.zero_events_upper(n)
    assert 0.0 < u < 1.0
    with localcontext() as ctx:
        ctx.prec = 60
        want = 1 - (Decimal("0.05").ln() / exact(n)).exp()
    assert relative_error(u, want) <= 3 * EPS
    assert math.isclose(n * math.log1p(-u), math.log(0.05), rel_tol=4 * EPS)


weights = st.lists(st.floats(1e-300, 1e300), min_size=1, max_size=40)


@PROPERTY
@given(w=weights, data=st.data())
def test_weighted_proportion(w: list[float], data: st.DataObject) -> None:
    x = np.array(data.draw(st.lists(st.booleans(), min_size=len(w), max_size=len(w))))
    p, ci, n = intervals.proportion(x, np.array(w))
    assert 0.0 <= ci.low <= p <= (ci.high or 0.0) <= 1.0
    assert 1.0 <= n <= len(w) * (1 + 4 * EPS)
    if not x.any():
        assert p == 0.0 and ci.low == 0.0
    if x.all():
        assert p == 1.0 and ci.high == 1.0


@PROPERTY
@given(w=weights, scale=st.sampled_from([1e-300, 1e-100, 1e100, 1e300]))
def test_effective_size_ignores_the_scale_of_weights(w: list[float], scale: float) -> None:
    a = np.array(w)
    with np.errstate(over="ignore", under="ignore"):
        b = a * scale
    assume(np.isfinite(b).all() and (b > 0).all())  # else scaled out of the doubles
    assert math.isclose(intervals.effective_size(a), intervals.effective_size(b), rel_tol=1e-12)


@PROPERTY
@given(values=st.lists(st.floats(0.0, 1e6), min_size=1, max_size=40), data=st.data())
def test_mean_interval_contains_the_mean_within_range(values: list[float],
                                                      data: st.DataObject) -> None:
    w = data.draw(st.one_of(st.none(), st.lists(st.floats(1e-9, 1e9), min_size=len(values),
                                                max_size=len(values))))
    m, ci = intervals.mean(np.array(values), None if w is None else np.array(w), 0.0, 1e6)
    assert ci.high is not None and 0.0 <= ci.low <= m <= ci.high <= 1e6


# ---------------------------------------------------------------- scenarios at the edges

START, DURATION = 100.0, 3600.0
HORIZON = START + DURATION + 10.0


def scenario(*, server: dict[str, Any] | None = None, attacker: dict[str, Any] | None = None,
             engine: str = "fast", replications: int = 4) -> Scenario:
    """One server holding every secret kind under steady traffic, one attacker hammering it:
    without the overrides every outcome is captured in every replication."""
    s = Server(
        name="s", role="mail", keys=KeySpec(reachable=1.0, copies_per_handshake=1.0),
        heap_bytes=1 << 20, workers=2,
        traffic=Traffic(handshakes_per_s=0.5, logins_per_s=0.05, requests_per_s=0.5),
        passwords=PasswordSpec(), sessions=SessionSpec(ttl=600.0, requests_per_s=0.01),
    )
    a = Attacker(name="a", targets=("s",), rate=2.0, start_low=START, start_high=START,
                 duration=DURATION)
    return Scenario(
        name="edge",
        timeline=Timeline("2014-01-01T00:00:00Z", 0.0, 0.0, HORIZON),
        servers={"s": dataclasses.replace(s, **(server or {}))},
        attackers={"a": dataclasses.replace(a, **(attacker or {}))},
        detectors={"ids": Detector(name="ids", kind="signature", servers=("s",))},
        evidence={"ids": "seen"},
        monte_carlo=MonteCarlo(replications=replications, seed=11, engine=engine),
    )


def records(sc: Scenario, n: int, seed: int = 5) -> list[ReplicationRecord]:
    engine = get_engine(sc.monte_carlo.engine)
    return [engine.simulate(sc, np.random.SeedSequence(seed, spawn_key=(i,))) for i in range(n)]


def all_captures(record: ReplicationRecord) -> list[Captures]:
    return [*record.servers.values(),
            *(c for per_server in record.attackers.values() for c in per_server.values())]


def is_zero(c: Captures) -> bool:
    counts = (c.key, c.password, c.password_reusable, c.session, c.session_hijack)
    return counts == (0, 0, 0, 0, 0) and math.isnan(c.key_time) and c.key_heartbeats == -1


NOTHING_VULNERABLE = {
    "patched before the attack": {"server": {"patched_at": START - 1.0}},
    "heartbeat off before the attack": {"server": {"heartbeat_off_at": START}},
    "vulnerable only after the analysis": {"server": {"vulnerable_from": HORIZON}},
    "rate 0": {"attacker": {"rate": 0.0}},
    "never present": {"attacker": {"presence": 0.0}},
    "key unreachable, no copies, no other secrets": {"server": {
        "keys": KeySpec(reachable=0.0), "passwords": None, "sessions": None}},
}


@pytest.mark.parametrize("engine", ["fast", "reference"])
def test_the_unchanged_scenario_captures_everything(engine: str) -> None:
    """The control for the zero cases below: they would fail if the override did nothing."""
    for record in records(scenario(engine=engine), 2):
        s = record.servers["s"]
        assert s.key == 1 and s.password > 0 and s.session > 0


@pytest.mark.parametrize("engine", ["fast", "reference"])
@pytest.mark.parametrize("case", sorted(NOTHING_VULNERABLE))
def test_nothing_vulnerable_gives_exactly_zero(case: str, engine: str) -> None:
    sc = scenario(engine=engine, **NOTHING_VULNERABLE[case])
    for record in records(sc, 3):
        assert all(is_zero(c) for c in all_captures(record)), record


def results(sc: Scenario, out: Path) -> dict[str, Any]:
    """results.json as ``bleedsim run`` builds it, without the files."""
    done = run(sc, out, jobs=1, progress=False)
    document = results_json.build(sc, scenario_sha256(sc), done.rows, done.layout,
                                  done.seconds, done.simulated)
    analysis = analyse(done.rows, done.layout, sc)
    results_json.merge(document, as_results(analysis, done.rows, done.layout, sc))
    return document


PROBABILITIES = {"p_any", "p_alert", "p_consistent", "value", "p", "detected",
                 "p_given_present", "p_given_absent"}


def check_document(node: Any) -> int:
    """Every probability in [0, 1], every count >= 0, every ``X_ci95`` contains ``X`` (a bare
    ``ci95`` belongs to ``value`` or ``p``), no NaN; returns how many intervals were checked."""
    checked = 0
    if isinstance(node, dict):
        for key, value in node.items():
            if key in PROBABILITIES and isinstance(value, float):
                assert 0.0 <= value <= 1.0, (key, value)
            if key.endswith("ci95") and value is not None:
                estimate = (node.get(key[:-len("_ci95")]) if key != "ci95"
                            else node.get("value", node.get("p")))
                low, high = value
                if estimate is not None:
                    assert 0.0 <= low <= estimate and (high is None or estimate <= high), node
                    checked += 1
            if key == "mean" and value is not None:
                assert value >= 0.0
            if key == "p_any_upper95":
                assert 0.0 < value < 1.0 and node["p_any"] == 0.0
            checked += check_document(value)
    elif isinstance(node, list):
        checked += sum(check_document(v) for v in node)
    elif isinstance(node, float):
        assert math.isfinite(node)
    return checked


def test_nothing_vulnerable_reports_exact_zeros(tmp_path: Path) -> None:
    sc = scenario(server={"patched_at": START - 1.0}, replications=30)
    document = results(sc, tmp_path)
    assert check_document(document) > 0
    for scope in (document["outcomes"], document["servers"]["s"]["outcomes"],
                  document["attackers"]["a"]["given_present"]["outcomes"],
                  document["evidence"]["posterior"]["outcomes"]):
        for outcome in scope.values():
            assert outcome["p_any"] == 0.0 and outcome["mean"] == 0.0
            assert outcome["p_any_ci95"][0] == 0.0
    bound = document["outcomes"]["key"]["p_any_upper95"]
    assert bound == intervals.zero_events_upper(30)
    assert document["servers"]["s"]["key_capture"]["replications"] == 0


HUGE = 1e9
"""Heartbeats per second: 3.6e12 in the attack window."""


def test_huge_rate_saturates_at_the_reachable_fraction() -> None:
    """With 1e9 heartbeats/s a reachable key is taken within microseconds, so P(key) is the
    chance that the one worker's key is reachable: 0.3, inside the run's 99.9% Wilson
    interval. Counts stay finite and the capture lands at the attack's start."""
    n = 300
    sc = scenario(server={"workers": 1, "keys": KeySpec(reachable=0.3)},
                  attacker={"rate": HUGE})
    runs = records(sc, n)
    leaked = [r.servers["s"] for r in runs if r.servers["s"].key]
    low, high = intervals.wilson(len(leaked) / n, n, z=float(norm.ppf(1 - 0.001 / 2))).as_list()
    assert high is not None and low <= 0.3 <= high
    for c in leaked:
        assert START <= c.key_time < START + 1e-3 and 1 <= c.key_heartbeats < 10**6
    for r in runs:
        for c in all_captures(r):
            assert 0 <= c.password == c.password_reusable and 0 <= c.session_hijack <= c.session


def test_huge_rate_with_restarts_and_copies_stays_finite(tmp_path: Path) -> None:
    sc = scenario(server={"restart": RestartPolicy(every=600.0, jitter=60.0),
                          "crash_probability": 1e-12},
                  attacker={"rate": HUGE, "heartbeats_per_connection": 1000},
                  replications=10)
    document = results(sc, tmp_path)
    assert check_document(document) > 0
    assert document["outcomes"]["key"]["p_any"] == 1.0  # copies at every handshake, always found


@pytest.mark.parametrize("heap", [1, 31])
def test_heap_smaller_than_every_piece_captures_nothing(heap: int) -> None:
    """``c = 0`` when ``min(L, H) < s``: keys (128-byte pieces), passwords (64) and session
    tokens (32) all stay out of reach of 3.6e12 heartbeats."""
    sc = scenario(server={"heap_bytes": heap}, attacker={"rate": HUGE})
    for record in records(sc, 3):
        assert all(is_zero(c) for c in all_captures(record)), record


def test_heap_equal_to_payload_saturates_at_one() -> None:
    """``H = L``: every heartbeat copies the whole heap's worth it can, ``c = (L - s + 1) / L``
    is nearly 1, and a reachable key leaks on the first heartbeats."""
    sc = scenario(server={"heap_bytes": 65535, "keys": KeySpec(reachable=1.0)},
                  attacker={"rate": HUGE, "payload_bytes": 65535})
    for record in records(sc, 5):
        s = record.servers["s"]
        assert s.key == 1 and s.key_heartbeats <= 3 and s.key_time < START + 1e-6


def test_heartbeats_before_a_late_capture_beyond_int64() -> None:
    """Attacking at 1e9/s from the start, a server that turns vulnerable after 2e10 s (634
    years, within the loader's limits) has its key taken after about 2e19 heartbeats: the
    count must saturate in a float, not crash the run."""
    late = 2e10
    sc = dataclasses.replace(
        scenario(server={"vulnerable_from": late, "keys": KeySpec(reachable=1.0),
                         "passwords": None, "sessions": None},
                 attacker={"rate": HUGE, "start_low": 0.0, "start_high": 0.0, "duration": None}),
        timeline=Timeline("2014-01-01T00:00:00Z", 0.0, 0.0, late + 100.0))
    (record,) = records(sc, 1)
    assert record.servers["s"].key == 1 and record.servers["s"].key_heartbeats >= 1e19


def test_fast_engine_refuses_a_crash_storm() -> None:
    """1e9 heartbeats/s with crash_probability 1e-3 would mean billions of simulated crashes:
    refused up front with the numbers, not left running forever."""
    from sim.engines import EngineRefused, get_engine

    sc = scenario(server={"crash_probability": 1e-3}, attacker={"rate": HUGE})
    with pytest.raises(EngineRefused, match="crash"):
        get_engine("fast").check(sc)
    get_engine("fast").check(scenario(server={"crash_probability": 1e-3}))
