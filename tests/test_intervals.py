"""The statistics of ``sim.montecarlo.intervals`` against closed forms and exact arithmetic."""

from __future__ import annotations

import math
from decimal import Decimal, getcontext

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from sim.montecarlo import intervals
from sim.montecarlo.intervals import Z, effective_size, wilson, zero_events_upper

Z_CHECK = float(stats.norm.ppf(1 - 0.001 / 2))
"""Two-sided 99.9% quantile: the tolerance of the coverage tests (false alarm 1 in 1000)."""


def exact_coverage(n: int, p: float) -> float:
    """P(Wilson interval of Binomial(n, p)/n contains p), summed over every outcome k."""
    k = np.arange(n + 1)
    covers = np.array([wilson(x / n, n).low <= p <= wilson(x / n, n).high for x in k])
    return float(stats.binom.pmf(k, n, p)[covers].sum())


@pytest.mark.parametrize(("n", "p"), [(500, 0.1), (1000, 0.3), (2000, 0.5), (100, 0.05)])
def test_wilson_covers_p_in_about_95_percent_of_binomials(n: int, p: float) -> None:
    exact = exact_coverage(n, p)
    # Wilson's coverage oscillates around the nominal level (Brown, Cai, DasGupta 2001, fig. 5)
    assert abs(exact - 0.95) < 0.02
    draws = 4000
    ks = np.random.default_rng(np.random.SeedSequence(20140407, spawn_key=(n,))).binomial(n, p, draws)
    covered = sum(1 for k in ks if wilson(k / n, n).low <= p <= wilson(k / n, n).high)
    tolerance = Z_CHECK * math.sqrt(exact * (1 - exact) / draws)
    assert abs(covered / draws - exact) <= tolerance


def _decimal_wilson_low(k: int, n: int) -> Decimal:
    getcontext().prec = 60
    p, nn, z = Decimal(k) / Decimal(n), Decimal(n), Decimal(repr(Z))
    d = 1 + z * z / nn
    centre = (p + z * z / (2 * nn)) / d
    half = z / d * (p * (1 - p) / nn + z * z / (4 * nn * nn)).sqrt()
    return centre - half


@pytest.mark.parametrize(("k", "n"), [(1, 10**12), (1, 10**15), (3, 10**9), (7, 10**6)])
def test_wilson_lower_end_keeps_its_digits_for_tiny_probabilities(k: int, n: int) -> None:
    exact = _decimal_wilson_low(k, n)
    low = wilson(k / n, n).low
    assert low > 0
    assert abs(Decimal(low) - exact) / exact < Decimal("1e-12")


@pytest.mark.parametrize("n", [1, 10, 10**4, 10**9, 10**13])
def test_zero_event_upper_bound_is_exact(n: int) -> None:
    getcontext().prec = 60
    exact = 1 - Decimal("0.05") ** (Decimal(1) / Decimal(n))
    bound = zero_events_upper(n)
    assert abs(Decimal(bound) - exact) / exact < Decimal("1e-12")


def test_zero_events_give_a_zero_lower_end_and_the_rule_of_three() -> None:
    assert wilson(0.0, 1000).low == 0.0
    # 1 - 0.05^(1/n) = -log(0.05)/n + O(1/n^2), i.e. about 3/n
    n = 10**6
    assert zero_events_upper(n) == pytest.approx(-math.log(0.05) / n, rel=1e-5)


def test_effective_size() -> None:
    assert effective_size(np.full(40, 0.3)) == pytest.approx(40)
    assert effective_size(np.array([0.0, 0.0, 2.0])) == pytest.approx(1)
    assert effective_size(np.array([2.0, 1.0])) == pytest.approx(9 / 5)


def test_normal_interval_of_the_mean_matches_the_textbook_formula() -> None:
    x = np.array([0.0, 1.0, 2.0, 3.0])
    m, ci = intervals.mean(x)
    half = Z * x.std(ddof=1) / 2.0
    assert m == 1.5
    assert (ci.low, ci.high) == pytest.approx((1.5 - half, 1.5 + half))


def test_normal_interval_is_clipped_to_the_valid_range() -> None:
    m, ci = intervals.mean(np.array([0.0] * 9 + [5.0]))
    assert ci.low == 0.0 and ci.high > m
    m, ci = intervals.mean(np.array([1.0] * 9 + [0.0]), high=1.0)
    assert ci.high == 1.0 and ci.low < m


def test_one_replication_cannot_bound_a_count() -> None:
    m, ci = intervals.mean(np.array([4.0]))
    assert m == 4.0 and ci.as_list() == [0.0, None]


def test_equal_weights_change_nothing() -> None:
    x = np.random.default_rng(1).poisson(2.0, 300).astype(float)
    assert intervals.mean(x, np.full(300, 0.25)) == intervals.mean(x)
    events = x > 2
    p, ci, n = intervals.proportion(events, np.full(300, 0.25))
    p0, ci0, n0 = intervals.proportion(events)
    assert p == pytest.approx(p0) and n == pytest.approx(n0)
    assert ci.as_list() == pytest.approx(ci0.as_list())


@given(n=st.integers(1, 10**12), data=st.data())
def test_wilson_contains_its_estimate_within_unit_interval(n: int, data: st.DataObject) -> None:
    k = data.draw(st.integers(0, n))
    ci = wilson(k / n, n)
    assert 0.0 <= ci.low <= k / n <= ci.high <= 1.0


@given(
    st.lists(st.tuples(st.booleans(), st.floats(0.0, 1e6)), min_size=1, max_size=60).filter(
        lambda rows: sum(w for _, w in rows) > 0
    )
)
def test_weighted_proportion_interval_contains_its_estimate(rows: list[tuple[bool, float]]) -> None:
    events = np.array([e for e, _ in rows])
    weights = np.array([w for _, w in rows])
    p, ci, n = intervals.proportion(events, weights)
    assert 0.0 <= ci.low <= p <= ci.high <= 1.0
    assert 0.0 < n <= len(rows) + 1e-9


@given(
    st.lists(st.tuples(st.integers(0, 50), st.floats(1e-3, 1e3)), min_size=1, max_size=60),
    st.booleans(),
)
def test_mean_interval_contains_its_estimate(rows: list[tuple[int, float]], weighted: bool) -> None:
    values = np.array([v for v, _ in rows], dtype=float)
    weights = np.array([w for _, w in rows]) if weighted else None
    m, ci = intervals.mean(values, weights)
    assert 0.0 <= ci.low <= m
    assert ci.high is None or m <= ci.high


def test_effective_size_does_not_depend_on_the_scale_of_weights() -> None:
    w = np.array([1.0, 2.0, 3.0])
    for scale in (1e-310, 1e-200, 1e200):
        assert effective_size(w * scale) == pytest.approx(effective_size(w))
