"""Poisson quantiles from ``scipy.special`` alone.

``scipy.stats`` costs about two seconds to import, which every command (even ``--version``)
would pay; these are the same formulas ``scipy.stats.poisson`` uses.
"""

from __future__ import annotations

import math

from scipy import special


def poisson_ppf(q: float, mean: float) -> int:
    """Least ``k`` with ``P(Poisson(mean) <= k) >= q``."""
    if mean <= 0.0 or q <= 0.0:
        return 0
    if q >= 1.0:
        raise ValueError("the quantile of probability 1 is infinite")
    k = math.ceil(float(special.pdtrik(q, mean)))
    below = max(k - 1, 0)
    return below if float(special.pdtr(below, mean)) >= q else k


def poisson_isf(tail: float, mean: float) -> int:
    """Least ``k`` with ``P(Poisson(mean) > k) <= tail``, accurate for tiny ``tail``."""
    if mean <= 0.0:
        return 0
    k = math.ceil(float(special.pdtrik(1.0 - tail, mean)))
    below = max(k - 1, 0)
    return below if float(special.pdtrc(below, mean)) <= tail else k
