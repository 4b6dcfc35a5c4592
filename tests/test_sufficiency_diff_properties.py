"""Properties of the replication advice of ``check`` and of ``diff``'s interval (Hypothesis)."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from sim.analysis.sufficiency import (
    best_case_upper,
    replications_for_at_least,
    replications_for_at_most,
)
from sim.montecarlo.intervals import wilson
from sim.report.diff import Estimate, mover

bounds = st.floats(min_value=1e-4, max_value=0.999)


@given(bounds)
def test_at_most_advice_is_the_fewest_replications_that_can_support_the_bound(b: float) -> None:
    n = replications_for_at_most(b)
    assert n is not None
    assert best_case_upper(n) <= b
    assert n == 1 or best_case_upper(n - 1) > b


@given(bounds)
def test_at_least_advice_is_the_fewest_replications_that_can_support_the_bound(b: float) -> None:
    n = replications_for_at_least(b)
    assert n is not None
    assert wilson(1.0, n).low >= b
    assert n == 1 or wilson(1.0, n - 1).low < b


def test_bounds_that_no_number_of_replications_can_support() -> None:
    assert replications_for_at_most(0.0) is None
    assert replications_for_at_least(1.0) is None


def estimate(k: int, n: int) -> Estimate:
    ci = wilson(k / n, n)
    assert ci.high is not None
    return Estimate(k / n, ci.low, ci.high)


counts = st.integers(min_value=1, max_value=5000).flatmap(
    lambda n: st.tuples(st.integers(min_value=0, max_value=n), st.just(n)))


@given(counts, counts)
def test_mover_contains_the_difference_and_is_antisymmetric(
    a: tuple[int, int], b: tuple[int, int]
) -> None:
    ea, eb = estimate(*a), estimate(*b)
    low, high = mover(ea, eb)
    assert low is not None and high is not None
    d = eb.value - ea.value
    assert low <= d + 1e-12 and d - 1e-12 <= high
    assert -1 - 1e-12 <= low and high <= 1 + 1e-12
    back_low, back_high = mover(eb, ea)
    assert math.isclose(back_low or 0, -high, abs_tol=1e-12)
    assert math.isclose(back_high or 0, -low, abs_tol=1e-12)


@given(counts)
def test_a_run_compared_with_itself_is_centred_on_zero(a: tuple[int, int]) -> None:
    low, high = mover(estimate(*a), estimate(*a))
    assert low is not None and high is not None
    assert math.isclose(low, -high, abs_tol=1e-12) and low <= 0 <= high
