"""The draw where copies are taken with each session's requests its share of the counted
lifetimes' requests (``sim/engines/fast/counted_takes.py``).

Given a session's count ``R`` on a part of a counted lifetime, its requests there are uniform,
so it escapes a counting set there with chance ``(1 - x / o)^R``; one session alone in a
lifetime whose ``L`` requests it shares with other traffic holds ``R ~ Binomial(L, own o /
Lambda)``, so it escapes with chance ``(1 - own x / Lambda)^L``, and with ``exp(-own x)`` on a
worker whose requests are free. Each attacker's capture (and both) is checked against that
closed form; the requests that left no copy against their binomial shares of the windows and
their density ``1 - pi``; the helpers that skip and find the counted parts on examples; and
the whole draw, with the ``concurrent`` check, against the reference engine at full power
(stored runs).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from agreement import compared, counted_binding, differences, forced, load_both, outcomes
from scipy import stats
from test_fast_request_shares import lifetime
from test_many_attackers import many

import sim.engines.fast as fast
from sim.engines.fast import counted_takes, token_copies
from sim.engines.fast.counted_takes import CountedTakes, Parts
from sim.engines.fast.request_shares import RequestShares
from sim.engines.fast.session_literal import WorkerReads
from sim.engines.fast.token_takes import every_reader
from sim.scenario.model import SessionSpec

Z = 3.29


def test_a_value_skips_the_counted_parts_of_its_session_and_worker() -> None:
    parts = Parts(np.array([0, 0, 1]), np.array([0, 0, 0]), np.zeros(3), np.ones(3),
                  np.array([1.0, 2.0, 5.0]), np.zeros(3, dtype=int), np.zeros(3, dtype=int))
    start = np.array([4.0, 1.0, 0.0])  # session 0: [1, 3] and [4, 5]; session 1: [0, 5]
    value = np.array([0.5, 1.5, 2.5, 0.5, 0.5])
    got = counted_takes._skip(value, np.array([0, 0, 0, 1, 0]), np.array([0, 0, 0, 0, 1]),
                              parts, start, 2)
    np.testing.assert_allclose(got, [0.5, 3.5, 5.5, 5.5, 0.5])


def test_a_request_inside_a_counted_part_of_its_session_is_found() -> None:
    parts = Parts(np.array([0, 0, 1]), np.array([1, 1, 0]), np.array([0.0, 10.0, 5.0]),
                  np.array([5.0, 20.0, 6.0]), np.zeros(3), np.zeros(3, dtype=int),
                  np.zeros(3, dtype=int))
    got = counted_takes._inside_parts(np.array([0, 0, 0, 1, 1, 0]), np.array([1, 1, 0, 0, 3, 1]),
                                      np.array([4.0, 7.0, 4.0, 5.5, 5.5, 19.0]), parts, 4)
    np.testing.assert_array_equal(got, [True, False, False, True, False, True])


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 1), st.floats(0.0, 50.0),
                          st.lists(st.tuples(st.floats(0.01, 5.0), st.floats(0.0, 2.0),
                                             st.sampled_from([0, 0, 0, 1, 2]),
                                             st.sampled_from([0, 0, 0, 1]),
                                             st.sampled_from([0.0, 0.0, 0.0, 1.5])),
                                   min_size=1, max_size=12)),
                min_size=1, max_size=5, unique_by=lambda r: (r[0], r[1])),
       st.lists(st.tuples(st.integers(0, 2), st.integers(0, 1), st.floats(1e-3, 1.0),
                          st.floats(0.0, 120.0)), max_size=20))
def test_merged_empty_parts_read_as_the_parts_they_join(
        runs: list[tuple[int, int, float, list[tuple[float, float, int, int]]]],
        probes: list[tuple[int, int, float, float]]) -> None:
    """:meth:`Parts.merged` against the parts it joins: each session's parts on a worker
    adjacent in time (as a counted worker's lifetimes cut them) or not (a lifetime not
    counted between, whose free mass ``F`` counts too: as much as its length here), their
    ``F`` values what lies after them. The skip carries every value as far (values off the boundaries, where
    sums in another order may round either way, a set of measure zero for the uniform values
    it is given), the rejection finds every request inside the same, the parts with requests
    are the same in the same order, and no ``x`` is lost."""
    rows, workers, a, b, x, taken, untaken = [], [], [], [], [], [], []
    gaps: list[tuple[int, int, float]] = []  # session, worker, start of a stretch not counted
    for row, worker, t, cut in sorted(runs):
        for length, mass, took, left, gap in cut:
            if gap:
                gaps.append((row, worker, t))
            t += gap
            rows.append(row), workers.append(worker), a.append(t), b.append(t + length)
            x.append(mass), taken.append(took), untaken.append(left)
            t += length
    parts = Parts(np.array(rows), np.array(workers), np.array(a), np.array(b), np.array(x),
                  np.array(taken), np.array(untaken))
    merged = parts.merged()

    def start(p: Parts) -> np.ndarray:  # F(b) of each part: the x and the gaps after it
        after = np.zeros(p.row.size)
        for i in range(p.row.size):
            later = (p.row == p.row[i]) & (p.worker == p.worker[i]) & (p.a >= p.b[i])
            after[i] = p.x[later].sum() + 1.5 * sum(
                r == p.row[i] and w == p.worker[i] and g >= p.b[i] for r, w, g in gaps)
        return after

    session = np.array([r for r, _, _, _ in probes], dtype=int)
    worker = np.array([w for _, w, _, _ in probes], dtype=int)
    value = np.array([v for _, _, v, _ in probes]) * 20.0
    at = np.array([t for _, _, _, t in probes])
    np.testing.assert_allclose(counted_takes._skip(value, session, worker, merged,
                                                   start(merged), 2),
                               counted_takes._skip(value, session, worker, parts, start(parts), 2),
                               rtol=1e-12, atol=1e-9)
    np.testing.assert_array_equal(counted_takes._inside_parts(session, worker, at, merged, 2),
                                  counted_takes._inside_parts(session, worker, at, parts, 2))
    held = (parts.taken > 0) | (parts.untaken > 0)
    kept = (merged.taken > 0) | (merged.untaken > 0)
    for before, after in zip(parts, merged):
        np.testing.assert_array_equal(after[kept], before[held])
    assert math.isclose(merged.x.sum(), parts.x.sum(), rel_tol=1e-12, abs_tol=1e-12)
    assert merged.row.size <= parts.row.size


def _reads(rng: np.random.Generator, clears: np.ndarray) -> WorkerReads:
    t = np.sort(rng.uniform(0.0, 100.0, 20))
    who = rng.integers(2, size=t.size)
    return WorkerReads(t, who, np.where(who == 0, 0.2, 0.5), clears, clears)


def test_each_attackers_capture_has_the_counted_law() -> None:
    """Worker 0 counted in two lifetimes (a restart at 50 s: 6 and 3 requests shared with
    other traffic), worker 1 free; one session valid on ``[20, 80)``; tokens resident 50 s
    on average. 6,000 draws: P(eve), P(mallory), P(both) against the closed form."""
    rng = np.random.default_rng(11)
    names = ["eve", "mallory"]
    sets = [frozenset({"eve"}), frozenset({"mallory"}), frozenset(names)]
    delta, own, u, e = 0.02, 0.05, 20.0, 80.0
    reads = [_reads(rng, np.array([50.0])), _reads(rng, np.array([30.0]))]
    spec = SessionSpec(ttl=e - u, requests_per_s=2 * own, capture=0.5, lifetime=1.0 / delta)
    one = [token_copies.prepare(wk, token_copies.set_chances(wk, names, *every_reader(names)),
                                delta) for wk in reads]
    by_set = [token_copies.prepare(wk, token_copies.set_chances(wk, names, sets,
                                                                [{}, {}, {}]), delta)
              for wk in reads]
    counted = [(0.0, 50.0, 6, own * 80.0), (50.0, 100.0, 3, own * 50.0)]
    escape = np.ones(3)
    for lo, hi, left, mass in counted:
        a, b = max(u, lo), min(e, hi)
        x = token_copies.exponent(by_set[0], np.array([a]), np.array([b]), delta)[0]
        escape *= (1.0 - own * x / mass) ** left
    escape *= np.exp(-own * token_copies.exponent(by_set[1], np.array([u]), np.array([e]),
                                                  delta)[0])
    want = {"eve": 1 - escape[0], "mallory": 1 - escape[1],
            "both": escape[2] - escape[0] - escape[1] + 1}
    n = 6_000
    seen = {"eve": 0, "mallory": 0, "both": 0}
    for _ in range(n):
        shares = RequestShares([lifetime(lo, hi, mass) for lo, hi, _, mass in counted],
                               [left for _, _, left, _ in counted])
        tally = CountedTakes(spec, reads, one, 2, 100.0, [shares, None])
        tally.add(np.array([u]), rng)
        kept = np.concatenate(tally.u)
        if not kept.size:
            continue
        first = np.full((1, 2), math.inf)
        tally._taken(kept, np.array([e]), first, 2, rng)
        took = np.isfinite(first[0])
        seen["eve"] += int(took[0])
        seen["mallory"] += int(took[1])
        seen["both"] += int(took.all())
    for name, p in want.items():
        se = math.sqrt(p * (1 - p) / n)
        assert abs(seen[name] / n - p) < Z * se, (name, seen[name] / n, p)
    assert 0.2 < want["both"] and want["eve"] < 0.95  # neither certain nor rare


def test_the_untaken_requests_are_shared_among_the_windows_by_their_mass() -> None:
    """One counted part ``[0, 40)`` holding 12 untaken requests on a worker whose reads take
    copies; two windows ``[5, 15)`` and ``[25, 40)``: each window's count is binomial with its
    untaken mass over the part's, and the points have density ``1 - pi`` there."""
    rng = np.random.default_rng(3)
    names = ["eve", "mallory"]
    delta = 0.02
    wk = _reads(rng, np.array([40.0]))
    sums = token_copies.prepare(wk, token_copies.set_chances(wk, names, *every_reader(names)),
                                delta)
    spec = SessionSpec(ttl=100.0, requests_per_s=0.05, capture=0.5, lifetime=1.0 / delta,
                       binding=("concurrent",))
    tally = CountedTakes(spec, [wk], [sums], 1, 100.0, [None])
    e = np.array([100.0])
    x = token_copies.exponent(sums, np.array([0.0]), np.array([40.0]), delta)[0, 0]
    parts = Parts(np.array([0]), np.array([0]), np.array([0.0]), np.array([40.0]),
                  np.array([x]), np.array([0]), np.array([12]))
    windows = [(5.0, 15.0), (25.0, 40.0)]

    def untaken_mass(c: float, d: float) -> float:
        f = token_copies.exponent(sums, np.array([c, d]), np.array([40.0, 40.0]), delta)[:, 0]
        return (d - c) - (f[0] - f[1])

    n = 4_000
    counts = np.zeros((n, 2))
    points = []
    for i in range(n):
        owner, at = tally._counted_untaken(np.array([0, 0]), np.array([5.0, 25.0]),
                                           np.array([15.0, 40.0]), e, parts, rng)
        assert (owner == 0).all()
        counts[i] = [((c <= at) & (at < d)).sum() for c, d in windows]
        points.append(at[at < 15.0])
    room = 40.0 - x
    for j, (c, d) in enumerate(windows):
        p = untaken_mass(c, d) / room
        assert abs(counts[:, j].mean() - 12 * p) < Z * math.sqrt(12 * p * (1 - p) / n)
    # density 1 - pi on the first window: the CDF by the untaken mass up to each point
    first = np.concatenate(points)
    cdf = np.vectorize(lambda t: untaken_mass(5.0, t) / untaken_mass(5.0, 15.0))
    assert stats.kstest(first, cdf).pvalue > 0.001


def test_many_attackers_beside_max_requests_take_this_draw() -> None:
    """``test_many_attackers``' lingering variant (fourteen malicious attackers, the draw where
    copies are taken with the passwords along, ``max_requests: 80`` with the skeleton's logins)
    counts its sessions' requests here, so its agreement test carries this draw."""
    made: list[int] = []

    class Spy(CountedTakes):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            made.append(sum(s is not None for s in self.shares))

    with forced(fast, "CountedTakes", Spy):
        outcomes("fast", many(True), 6, 5)
    assert len(made) >= 5 and all(made)


@pytest.mark.slow
def test_the_concurrent_check_on_counted_requests_agrees_with_the_reference() -> None:
    """``agreement.counted_binding`` (tokens kept five minutes, passwords fifteen, ``[ip,
    browser, concurrent]``, ``max_requests: 80``): every replication takes this draw (a spy
    over the first 20), and every quantity of ``results.json``, what each check bought
    included, agrees with the reference at the family's ``z``. Both runs are stored
    (``agreement.SIDE_RUNS``, ``binding-counted``, 60,000 replications each) and proved current
    on their first ones: a P(any hijack) near 0.13 differs with a standard error of 0.19
    points, so a 1-point bias is caught with probability above 0.8."""
    made: list[int] = []

    class Spy(CountedTakes):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            made.append(1)

    with forced(fast, "CountedTakes", Spy):
        outcomes("fast", counted_binding(), 20, 1)
    assert len(made) == 20
    fast_run, reference = load_both("binding-counted")
    pairs = compared("binding-counted", fast_run, sorted(fast_run.sums), reference)
    failures = differences("binding-counted", pairs)
    assert not failures, "\n".join(failures.values())
    hijacks = reference.sample("mail/session_hijack", "p_any").mean
    address = reference.sample("mail/session_hijack/checks/2", "p_any").mean
    assert 0.05 < hijacks < address - 0.05  # the concurrent check passes, and blocks
