"""Poisson and binomial quantiles from ``scipy.special`` alone.

``scipy.stats`` costs about two seconds to import, which every command (even ``--version``)
would pay, and its distributions' argument handling costs tens of microseconds a call, which
the fast engine would pay per worker lifetime: each quantile here is the least ``k`` whose
CDF reaches ``q``, searched from the continuous inverse ``scipy.stats`` starts from too.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from scipy import special


def poisson_ppf(q: float, mean: float) -> int:
    """Least ``k`` with ``P(Poisson(mean) <= k) >= q``."""
    if mean <= 0.0 or q <= 0.0:
        return 0
    if q >= 1.0:
        raise ValueError("the quantile of probability 1 is infinite")
    return _least(lambda k: float(special.pdtr(k, mean)) >= q, float(special.pdtrik(q, mean)))


def binomial_ppf(q: float, n: int, p: float) -> int:
    """Least ``k`` with ``P(Binomial(n, p) <= k) >= q``."""
    if n <= 0 or p <= 0.0 or q <= 0.0:
        return 0
    if p >= 1.0:
        return n
    guess = float(special.bdtrik(q, n, p))
    return _least(lambda k: k >= n or float(special.bdtr(k, n, p)) >= q,
                  min(guess, n) if math.isfinite(guess) else 0.0)


def poisson_isf(tail: float, mean: float) -> int:
    """Least ``k`` with ``P(Poisson(mean) > k) <= tail``, exact even for tiny ``tail`` (the
    survival function is tested directly, not through ``1 - tail``)."""
    if mean <= 0.0:
        return 0
    guess = float(special.pdtrik(1.0 - tail, mean))
    return _least(lambda k: float(special.pdtrc(k, mean)) <= tail, guess)


def _least(holds: Callable[[int], bool], guess: float) -> int:
    """Least ``k >= 0`` where the monotone condition ``holds``, starting near ``guess`` (the
    continuous inverse is within a few steps of it)."""
    k = max(0, math.ceil(guess))
    while not holds(k):
        k += 1
    while k > 0 and holds(k - 1):
        k -= 1
    return k
