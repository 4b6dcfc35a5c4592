"""The stratified estimator (``docs/stratified-sampling.md``) against closed forms.

Three levels: the variance formula against its textbook special case (exact), the intervals'
coverage over many synthetic stratified samples with a known truth (statistical, tolerance from
the binomial spread of the coverage count), and whole stratified runs of the fast engine against
the closed form of P(key) with a rare attacker (statistical, the run's own 99.9% interval).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from sim.engines import get_engine
from sim.model.capture import window_capture
from sim.montecarlo import intervals
from sim.montecarlo.estimates import _outcome, estimate
from sim.montecarlo.layout import Layout
from sim.montecarlo.sequential import (
    EXPLORE,
    Target,
    _next_round,
    _Parts,
    chunk_bounds,
    run_until_precise,
)
from sim.montecarlo.strata import StrataPlan
from sim.montecarlo.stratified import Strata, ratio, spread
from sim.report.sampling import sentences
from sim.scenario.model import (
    Attacker,
    KeySpec,
    MonteCarlo,
    Scenario,
    Server,
    Timeline,
    Traffic,
)

Z999 = float(norm.ppf(1 - 0.001 / 2))


def test_variance_is_the_textbook_stratified_variance_for_plain_proportions() -> None:
    """Without weights, V = sum_h pi_h^2 p_h (1 - p_h) / (n_h - 1) (Cochran 1977, 5.7)."""
    rng = np.random.default_rng(1)
    pi = np.array([0.7, 0.29, 0.01])
    n = [50, 80, 30]
    index = np.repeat(np.arange(3), n)
    x = (rng.random(index.size) < np.array([0.1, 0.4, 0.9])[index]).astype(float)
    p_h = np.array([x[index == h].mean() for h in range(3)])
    r, v = ratio(x, None, Strata.of_rows(index, pi))
    assert r == pytest.approx(float(pi @ p_h), rel=1e-12)
    assert v == pytest.approx(float(np.sum(pi**2 * p_h * (1 - p_h) / (np.array(n) - 1))), rel=1e-12)


def test_domain_keeps_the_whole_stratum_counts() -> None:
    """A domain estimate equals the same estimate with the domain folded into the weights."""
    rng = np.random.default_rng(2)
    index = np.repeat(np.arange(2), [40, 60])
    strata = Strata.of_rows(index, np.array([0.6, 0.4]))
    x = rng.random(100)
    domain = rng.random(100) < 0.5
    sub = ratio(x[domain], None, strata.subset(domain))
    folded = ratio(x, domain.astype(float), strata)
    assert sub == pytest.approx(folded, rel=1e-12)


def test_a_single_replication_in_a_stratum_leaves_the_spread_unknown() -> None:
    strata = Strata.of_rows(np.array([0, 0, 1]), np.array([0.5, 0.5]))
    assert ratio(np.array([0.0, 1.0, 1.0]), None, strata)[1] == math.inf
    with pytest.raises(ValueError, match="needs a replication"):
        Strata.of_rows(np.array([0, 0]), np.array([0.5, 0.5]))


@pytest.mark.parametrize("weighted", [False, True])
def test_intervals_cover_a_rare_posterior(weighted: bool) -> None:
    """2,000 synthetic stratified samples of a rare outcome (1% stratum, Neyman-like allocation)
    with evidence weights: the 95% intervals must cover the true value in at least 93% of them
    (the coverage count of a true 95% interval falls below that with probability < 1e-4)."""
    rng = np.random.default_rng(3 + weighted)
    pi = np.array([0.99, 0.01])
    n = np.array([100, 300])
    p_x = np.array([0.0005, 0.6])  # outcome probability per stratum
    p_w = np.array([0.5, 0.2]) if weighted else np.array([1.0, 1.0])  # P(evidence) per stratum
    truth = float(pi @ (p_x * p_w) / (pi @ p_w))  # x and w independent within a stratum
    index = np.repeat(np.arange(2), n)
    strata = Strata.of_rows(index, pi)
    covered = 0
    trials = 2000
    for _ in range(trials):
        x = (rng.random(index.size) < p_x[index]).astype(float)
        w = (rng.random(index.size) < p_w[index]).astype(float) if weighted else None
        _, ci, _ = intervals.proportion(x, w, strata)
        covered += ci.low <= truth <= (ci.high if ci.high is not None else 1.0)
    assert covered / trials >= 0.93


def test_captures_skip_the_floor_where_no_attacker_can_capture() -> None:
    """A stratum of probability 0.6 with no capture in 50 replications: while an attacker
    there could capture, the interval keeps room for an unseen capture (the floor); where its
    only attacker starts after the patch it cannot, and a capture's interval (as the outcomes
    are estimated) holds no such room, while an alert's still does."""
    index = np.repeat([0, 1], 50)
    x = np.where(index == 0, np.arange(100) % 5 == 0, False).astype(float)
    present = np.ones(100, dtype=bool)
    strata = Strata.of_rows(index, np.array([0.4, 0.6]), present, capturing=index == 0)
    _, alerts, _ = intervals.proportion(x, None, strata)
    _, captures, _ = intervals.proportion(x, None, strata.for_captures())
    assert captures.high is not None and alerts.high is not None
    assert captures.high < alerts.high
    reported = _outcome(x, None, 1.0, strata)
    assert reported["p_any_ci95"] == captures.as_list()
    late = strata.subset(index == 1).capturing
    assert late is not None and not late.any(), "a domain keeps what its rows can capture"


def test_an_attackers_own_estimates_keep_the_floor_wherever_it_exists() -> None:
    """No malicious attacker in stratum 0, yet attacker ``a0`` (benign, say, like a public
    checker) exists in every row and could take the key there: its own estimate keeps room
    for an unseen capture in both strata, while a total of malicious captures need not."""
    sc = _scenario()
    layout = Layout(sc)
    rows = np.zeros((100, len(layout)))
    rows[:, layout.index["present/a0"]] = 1.0
    index = np.repeat([0, 1], 50)
    x = ((index == 1) & (np.arange(100) % 5 == 0)).astype(float)  # 10 keys, all in stratum 1
    rows[:, layout.index["attacker/a0/key"]] = rows[:, layout.index["total/key"]] = x
    strata = Strata.of_rows(index, np.array([0.5, 0.5]), capable=index == 1)
    own = estimate(rows, layout, "attacker/a0", strata=strata)["key"]["p_any_ci95"]
    total = estimate(rows, layout, "total", strata=strata)["key"]["p_any_ci95"]
    _, everywhere, _ = intervals.proportion(x, None, Strata.of_rows(index, np.array([0.5, 0.5])))
    assert own == everywhere.as_list()
    assert total[1] < own[1]


def test_strata_probabilities_are_exact_and_sum_to_one() -> None:
    sc = _scenario(presences=(0.02, 0.5, 1.0))
    plan = StrataPlan.of(sc)
    assert plan.attackers == ("a0", "a1")  # presence 1 is certain: not a stratum
    assert plan.probability.sum() == pytest.approx(1.0, abs=1e-15)
    assert plan.probability[0b01] == pytest.approx(0.02 * 0.5)
    conditioned = plan.scenario(sc, 0b10)
    assert [a.presence for a in conditioned.attackers.values()] == [0.0, 1.0, 1.0]


def test_chunk_bounds_tile_a_stratum() -> None:
    stops = [chunk_bounds(c) for c in range(12)]
    assert all(a[1] == b[0] for a, b in zip(stops, stops[1:]))
    assert stops[0][0] == 0


def test_neyman_allocation_keeps_a_share_for_the_strata_without_spread() -> None:
    """Strata 1 and 3 show spread, 0 and 2 none (no row of stratum 2 carries weight; stratum
    0's rows are all equal). The round grows the run fourfold: the strata with spread get
    ``1 - EXPLORE`` of it in proportion to ``pi_h s_h`` (Neyman), the others ``EXPLORE`` in
    proportion to ``pi_h``, each to within the last chunk it was given."""
    pi = np.array([0.5, 0.3, 0.15, 0.05])
    counts = np.array([20, 400, 20, 400])
    index = np.repeat(np.arange(4), counts)
    strata = Strata.of_rows(index, pi)
    values = np.where(np.isin(index, (1, 3)), np.random.default_rng(3).random(index.size), 0.25)
    weights = np.where(index == 2, 0.0, 1.0)
    _, s_sq, _ = spread(values, weights, strata)
    assert s_sq[0] == s_sq[2] == 0.0 and s_sq[1] > 0 and s_sq[3] > 0
    target = Target("t", values, weights, 0.5, 0.5, False, "")  # 10x too wide at precision 0.1
    ends = [chunk_bounds(c)[1] for c in range(100)]
    chunks_of = [ends.index(int(k)) + 1 for k in counts]  # the chunks that hold ``counts``
    wanted = _next_round([target], strata, chunks_of, 0.1, 100_000)
    score = pi * np.sqrt(s_sq)
    share = np.where(s_sq > 0, (1 - EXPLORE) * score / score.sum(), EXPLORE * pi / pi[[0, 2]].sum())
    expected = 4 * counts.sum() * share
    assert np.all(expected > counts)  # every stratum below its share: no rescaling
    reached = counts.astype(float)
    for h, c in wanted:
        start, stop = chunk_bounds(c)
        reached[h] += stop - start
    for h in range(4):
        last = max(chunk_bounds(c)[1] - chunk_bounds(c)[0] for g, c in wanted if g == h)
        assert expected[h] <= reached[h] < expected[h] + last, (h, reached, expected)


def test_allocation_minimises_the_predicted_variance_with_unseen_event_floors() -> None:
    """A stratum whose part of the variance is an unseen event's floor (falling as
    ``1/n^2``) beside two whose parts fall as ``1/n``: the allocation for a run of 3,000 meets
    Lagrange's conditions (``a_h / n_h^2 = 2 c / n^3 = lambda``) and predicts less variance than
    Neyman's rule on the floored spread, which treats the floor as if it stayed."""
    n = np.array([100.0, 100.0, 100.0])
    parts = np.array([4e-6, 1e-6, 2e-6])
    unseen = np.array([False, False, True])
    plan = _Parts(n, np.array([0.5, 0.3, 0.2]), parts, unseen)
    m = plan.ideal(3000.0)
    assert m.sum() == pytest.approx(3000.0, rel=1e-9)
    a, c = parts * n, parts * n**2
    lagrange = np.array([a[0] / m[0] ** 2, a[1] / m[1] ** 2, 2 * c[2] / m[2] ** 3])
    np.testing.assert_allclose(lagrange, lagrange[0], rtol=1e-6)

    def predicted(counts: np.ndarray) -> float:
        return float(np.sum(np.where(unseen, c / counts**2, a / counts)))

    neyman = 3000.0 * np.sqrt(a) / np.sqrt(a).sum()
    assert predicted(m) < predicted(neyman)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.floats(1e-12, 1.0), st.integers(10, 5000),
                       st.sampled_from(["spread", "unseen", "flat"])), min_size=1, max_size=12),
    st.floats(1.25, 4.0),
)
def test_every_allocation_fills_the_run_exactly(
    strata_drawn: list[tuple[float, int, str]], growth: float
) -> None:
    """Whatever the parts of the variance (each kind, any scale), the ideal allocation and the
    topped-up one hold exactly the run's size, none negative; the root search never fails."""
    pi = np.array([p for p, _, _ in strata_drawn])
    pi /= pi.sum()
    n = np.array([float(k) for _, k, _ in strata_drawn])
    kinds = [kind for _, _, kind in strata_drawn]
    parts = np.array([0.0 if kind == "flat" else p * 1e-3 / k for p, k, kind in strata_drawn])
    plan = _Parts(n, pi, parts, np.array([kind == "unseen" for kind in kinds]))
    goal = growth * float(n.sum())
    for counts in (plan.ideal(goal), plan.allocated(goal)):
        assert counts.sum() == pytest.approx(goal, rel=1e-9)
        assert np.all(counts >= 0)
    assert np.all(plan.allocated(goal) >= n)


fast = get_engine("fast")
HEAP = 1 << 20
START, DURATION = 100.0, 3600.0
C = window_capture(65535, 128, HEAP)


def _scenario(
    presences: tuple[float, ...] = (0.02,),
    rate: float = 0.01,
    starts: tuple[float, float] = (START, START),
    patched_at: float = math.inf,
) -> Scenario:
    server = Server(
        name="s", role="public", keys=KeySpec(reachable=0.5), heap_bytes=HEAP,
        traffic=Traffic(handshakes_per_s=1.0, requests_per_s=1.0), patched_at=patched_at,
    )
    attackers = {
        f"a{i}": Attacker(
            name=f"a{i}", targets=("s",), rate=rate, start_low=starts[0], start_high=starts[1],
            duration=DURATION, presence=p,
        )
        for i, p in enumerate(presences)
    }
    return Scenario(
        name="stratified-closed-form",
        timeline=Timeline("2014-01-01T00:00:00Z", 0.0, 0.0, starts[1] + DURATION + 10.0),
        servers={"s": server},
        attackers=attackers,
        monte_carlo=MonteCarlo(replications=1, seed=11, engine="fast"),
    )


def _key_target(scenario: Scenario, precision: float):  # type: ignore[no-untyped-def]
    layout = Layout(scenario)

    def assess(rows: np.ndarray, strata: Strata) -> list[Target]:
        x = (layout.column(rows, "total/key") > 0).astype(float)
        p, ci, _ = intervals.proportion(x, None, strata.for_captures())
        half = None if ci.high is None else (ci.high - ci.low) / 2
        reached = p > 0 and half is not None and half <= precision * p
        return [Target("outcomes.key.p_any", x, None, p, half, reached, "", captures=True)]

    return assess


@pytest.mark.parametrize("jobs", [1, 2])
def test_stratified_run_matches_the_closed_form_of_a_rare_attacker(tmp_path, jobs) -> None:  # type: ignore[no-untyped-def]
    """One attacker present with probability 2%: P(key) = 0.02 * 0.5 (1 - exp(-m q)). The
    stratified run puts its replications where the attacker exists and must contain the closed
    form in its own 99.9% interval; the rows are the same for any ``jobs``."""
    sc = _scenario()
    m = 0.01 * DURATION
    expected = 0.02 * 0.5 * -math.expm1(-m * (1 - (1 - C) ** 2))
    result = run_until_precise(sc, tmp_path, _key_target(sc, 0.1), 0.1, 3000, jobs=jobs,
                               progress=False)
    assert result.strata is not None and result.sampling is not None
    x = (Layout(sc).column(result.rows, "total/key") > 0).astype(float)
    p, v = ratio(x, None, result.strata)
    half = Z999 * math.sqrt(v)
    assert p - half <= expected <= p + half, f"{expected} outside {p} +/- {half}"
    assert result.sampling["precision"]["stopped"] == "precision"
    counts = result.strata.counts
    assert counts[1] > counts[0], "replications go where the variance is"
    crude_needed = (1.96 / 0.1) ** 2 * (1 - expected) / expected
    assert counts.sum() < crude_needed / 5, "far cheaper than crude sampling for the same precision"
    if jobs == 2:
        again = run_until_precise(sc, tmp_path, _key_target(sc, 0.1), 0.1, 3000, jobs=1,
                                  progress=False)
        np.testing.assert_array_equal(again.rows, result.rows)


def test_start_bins_are_exact_conditional_draws_and_match_the_closed_form(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The attacker starts uniformly in ``[L, H]`` and the server is patched at ``T`` inside
    it, with ``T - L`` the attack's duration: started at ``s < T`` it sends ``rate (T - s)``
    connections while the key can leak, none after. So
    P(key) = p 0.5 (1 / (H - L)) int_L^T (1 - exp(-k rate (T - s))) ds
           = p 0.5 ((T - L) - (1 - exp(-k rate (T - L))) / (k rate)) / (H - L),
    ``k`` the per-connection capture. The window is cut at ``T``: three strata (absent, early,
    late) of exact probabilities; the late one, where nothing can leak (so no floor of an
    unseen capture either), gets only the share kept for strata without spread; the closed
    form lies in the run's 99.9% interval."""
    low, patch, high, rate = START, START + DURATION, START + 3 * DURATION, 0.01
    sc = _scenario(starts=(low, high), patched_at=patch, rate=rate)
    plan = StrataPlan.of(sc)
    assert plan.bins == (((low, patch), (patch, high)),)
    np.testing.assert_allclose(plan.probability, [0.98, 0.02 / 3, 0.02 * 2 / 3], rtol=1e-15)
    late = plan.scenario(sc, 2).attackers["a0"]
    assert (late.presence, late.start_low, late.start_high) == (1.0, patch, high)
    k = 1 - (1 - C) ** 2
    a = k * rate * (patch - low)
    expected = 0.02 * 0.5 * ((patch - low) + math.expm1(-a) / (k * rate)) / (high - low)
    result = run_until_precise(sc, tmp_path, _key_target(sc, 0.1), 0.1, 6000, jobs=1,
                               progress=False)
    assert result.strata is not None and result.sampling is not None
    assert result.sampling["precision"]["stopped"] == "precision"
    x = (Layout(sc).column(result.rows, "total/key") > 0).astype(float)
    assert not x[result.strata.index == 2].any(), "nothing leaks after the patch"
    p, v = ratio(x, None, result.strata)
    half = Z999 * math.sqrt(v)
    assert p - half <= expected <= p + half, f"{expected} outside {p} +/- {half}"
    assert plan.late(2, "a0") and not plan.late(1, "a0")
    capturing = result.strata.capturing
    assert capturing is not None
    assert capturing[result.strata.index == 1].all()
    assert not capturing[result.strata.index == 2].any(), "the late bin cannot capture"
    counts = result.strata.counts
    assert counts[1] > 10 * counts[2], "the early bin holds the variance, the late one none"
    assert [s.get("start") for s in result.sampling["strata"]] == [
        None, {"a0": [low, patch]}, {"a0": [patch, high]}
    ]
    said = sentences(result.sampling)[0]
    n = [int(k) for k in counts]
    assert f"none: {n[0]}, a0 (early): {n[1]}, a0 (late): {n[2]})." in said
    assert "Early and late: a0 starting before or after" in said


def test_budget_stops_the_run_and_says_so(tmp_path) -> None:  # type: ignore[no-untyped-def]
    sc = _scenario()
    result = run_until_precise(sc, tmp_path, _key_target(sc, 0.001), 0.001, 200, jobs=1,
                               progress=False)
    assert result.sampling is not None
    assert result.sampling["precision"]["stopped"] == "max_replications"
    assert result.rows.shape[0] <= 200
    assert not (tmp_path / ".checkpoint").exists()


def test_interrupted_run_resumes_to_the_same_rows(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Ctrl-C after the pilot keeps its chunks; the same run again replays the rounds, reads
    them back instead of simulating them, and ends with the rows of an uninterrupted run."""
    from sim.montecarlo.runner import RunInterrupted

    sc = _scenario()
    assess = _key_target(sc, 0.1)
    calls = 0

    def interrupt_after_pilot(rows: np.ndarray, strata: Strata) -> list[Target]:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise KeyboardInterrupt
        return assess(rows, strata)

    with pytest.raises(RunInterrupted):
        run_until_precise(sc, tmp_path / "a", interrupt_after_pilot, 0.1, 3000, jobs=1,
                          progress=False)
    assert any((tmp_path / "a" / ".checkpoint").glob("chunk-*.npz"))
    resumed = run_until_precise(sc, tmp_path / "a", assess, 0.1, 3000, jobs=1, progress=False)
    fresh = run_until_precise(sc, tmp_path / "b", assess, 0.1, 3000, jobs=1, progress=False)
    np.testing.assert_array_equal(resumed.rows, fresh.rows)
    assert resumed.simulated < fresh.simulated == fresh.rows.shape[0]


def test_a_checkpoint_of_another_plan_of_strata_is_not_read(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Stratum ``h`` names other conditions under another plan (here, the start window left
    uncut, as before start bins): chunks of equal shape but other meaning. Such a checkpoint
    is stale, and the run starts afresh."""
    from sim.montecarlo import strata
    from sim.montecarlo.runner import RunInterrupted

    sc = _scenario(starts=(START, START + 3 * DURATION), patched_at=START + DURATION)
    assess = _key_target(sc, 0.1)

    def interrupt(rows: np.ndarray, strata: Strata) -> list[Target]:
        raise KeyboardInterrupt

    with pytest.raises(RunInterrupted):
        run_until_precise(sc, tmp_path, interrupt, 0.1, 3000, jobs=1, progress=False)
    assert any((tmp_path / ".checkpoint").glob("chunk-*.npz"))
    monkeypatch.setattr(strata, "start_bins", lambda _, a: ((a.start_low, a.start_high),))
    again = run_until_precise(sc, tmp_path, assess, 0.1, 3000, jobs=1, progress=False)
    assert again.simulated == again.rows.shape[0], "every chunk simulated, none read back"
