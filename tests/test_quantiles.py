"""``sim.model.quantiles`` meet their definitions, checked with the exact CDF and survival
functions (``scipy.stats.poisson`` itself is off by one near 0 and 1)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

from sim.model.quantiles import binomial_ppf, poisson_isf, poisson_ppf

MEANS = st.floats(1e-6, 1e7)


@settings(max_examples=400, deadline=None)
@given(q=st.floats(0.0, 1.0, exclude_min=True, exclude_max=True), mean=MEANS)
def test_ppf_is_the_least_k_whose_cdf_reaches_q(q: float, mean: float) -> None:
    k = poisson_ppf(q, mean)
    assert special.pdtr(k, mean) >= q
    assert k == 0 or special.pdtr(k - 1, mean) < q


@settings(max_examples=200, deadline=None)
@given(tail=st.sampled_from([1e-15, 1e-12, 1e-9, 1e-6, 1e-3, 0.1]), mean=MEANS)
def test_isf_is_the_least_k_whose_tail_is_below(tail: float, mean: float) -> None:
    """Checked against the survival function itself: ``scipy.stats.poisson.isf`` goes through
    ``1 - tail`` and can be one short in the far tail (1420 for mean 1142 at 1e-15, where the
    tail past 1420 is still 1.002e-15)."""
    k = poisson_isf(tail, mean)
    assert special.pdtrc(k, mean) <= tail
    assert k == 0 or special.pdtrc(k - 1, mean) > tail


@settings(max_examples=400, deadline=None)
@given(q=st.floats(0.0, 1.0, exclude_min=True, exclude_max=True), n=st.integers(1, 10**6),
       p=st.one_of(st.floats(0.0, 1.0), st.sampled_from([0.0, 1e-12, 0.5, 1.0 - 1e-12, 1.0])))
def test_binomial_ppf_is_the_least_k_whose_cdf_reaches_q(q: float, n: int, p: float) -> None:
    k = binomial_ppf(q, n, p)
    assert 0 <= k <= n
    assert k == n or special.bdtr(k, n, p) >= q
    assert k == 0 or special.bdtr(k - 1, n, p) < q
