"""95% intervals for Monte Carlo estimates (``model.md`` rule 20).

Three cases, each in its own function:

- a probability estimated from 0/1 outcomes: the Wilson score interval, plus, when no event was
  observed, the one-sided upper bound ``1 - 0.05^(1/n)``;
- the mean of per-replication values (counts, conditional probabilities): the normal interval,
  clipped to the values' valid range;
- weighted versions of both, with ``n`` replaced by Kish's effective sample size
  ``(sum w)^2 / sum w^2``;
- stratified versions of both (``strata`` given, :mod:`sim.montecarlo.stratified`): the
  linearised stratified variance ``V``, the normal interval of a mean at ``Z sqrt(V)`` and the
  Wilson interval of a probability at the effective size ``p (1 - p) / V``.

Results are small probabilities (a leaked key at 1e-6 is still an answer), so every formula is
written to keep the digits of tiny values: no ``1 - (1 - x)`` anywhere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from sim.montecarlo import stratified
from sim.montecarlo.stratified import Strata

LEVEL = 0.95
Z = float(special.ndtri(0.5 + LEVEL / 2))
"""Two-sided standard normal quantile for ``LEVEL`` (1.959963984540054)."""


@dataclass(frozen=True, slots=True)
class Interval:
    low: float
    high: float | None
    """``None`` when the data cannot bound the value from above (fewer than two replications)."""

    def as_list(self) -> list[float | None]:
        return [self.low, self.high]


def effective_size(weights: np.ndarray) -> float:
    """Kish's effective sample size ``(sum w)^2 / sum w^2``; ``n`` for equal weights.

    Kish, L. (1965). *Survey Sampling*, Wiley, section 11.7.
    """
    w = np.asarray(weights, dtype=float)
    top = float(w.max(initial=0.0))
    if top <= 0.0:
        return 0.0
    w = w / top  # scale-free, so tiny (subnormal) or huge weights neither underflow nor overflow
    return float(w.sum()) ** 2 / float(np.dot(w, w))


def wilson(p: float, n: float, z: float = Z) -> Interval:
    """Wilson score interval for a proportion ``p`` observed over ``n`` (possibly effective) trials.

    With ``d = 1 + z^2/n``, centre ``c = (p + z^2/(2n)) / d`` and half-width
    ``h = (z/d) sqrt(p(1-p)/n + z^2/(4n^2))`` the interval is ``[c - h, c + h]``.
    Since ``c^2 - h^2 = p^2/d``, the lower end is computed as ``p^2 / (d (c + h))``: a sum of
    positive terms, like the upper end, so neither end cancels for tiny ``p``.

    Wilson, E. B. (1927). Probable inference, the law of succession, and statistical inference.
    *JASA* 22(158), 209-212. Brown, Cai and DasGupta (2001), *Statistical Science* 16(2) 101-133.
    """
    if not n > 0:
        raise ValueError("a Wilson interval needs at least one trial")
    p = min(1.0, max(0.0, p))
    z2n = z * z / n
    d = 1.0 + z2n
    centre = (p + z2n / 2.0) / d
    half = (z / d) * math.sqrt(p * (1.0 - p) / n + z2n / (4.0 * n))
    low = p * p / (d * (centre + half))
    return Interval(min(low, p), max(min(1.0, centre + half), p))


def zero_events_upper(n: float, level: float = LEVEL) -> float:
    """One-sided upper bound on a probability when ``n`` trials showed no event.

    The largest ``p`` with ``(1 - p)^n >= 1 - level``: ``1 - (1 - level)^(1/n)``, about ``3/n``
    at 95% (the "rule of three"), computed as ``-expm1(log(1 - level) / n)``.

    Hanley, J. A. and Lippman-Hand, A. (1983). If nothing goes wrong, is everything all right?
    *JAMA* 249(13), 1743-1745.
    """
    if not n > 0:
        raise ValueError("an upper bound needs at least one trial")
    return -math.expm1(math.log1p(-level) / n)


def proportion(
    events: np.ndarray, weights: np.ndarray | None = None, strata: Strata | None = None
) -> tuple[float, Interval, float]:
    """``(p, Wilson interval, n)`` for 0/1 outcomes, weighted when ``weights`` is given.

    A weighted ``p`` is ``sum w x / sum w`` and its interval the Wilson interval at the effective
    sample size (Kish's design-effect correction, rule 20). Stratified, ``p`` is the stratified
    ratio and ``n = p (1 - p) / V``; when that is undefined (no event, or no spread inside any
    stratum) ``n`` is Kish's size of the design weights, which is exact for equal ``p_h``.
    """
    x = np.asarray(events, dtype=float)
    if strata is not None:
        p, v = stratified.ratio(x, weights, strata, events_z=Z)
        if math.isnan(p):
            raise ValueError("no replication carries weight")
        u = strata.design_weights()
        if weights is not None:
            u = u * np.asarray(weights, dtype=float)
        n = stratified.effective_size(p, v, effective_size(u))
        return p, wilson(p, n), n
    if weights is None:
        n = float(x.size)
        p = float(x.sum()) / n if n else math.nan
    else:
        w = np.asarray(weights, dtype=float)
        total = float(w.sum())
        n = effective_size(w)
        # the events' weight is part of the total, but summed in another order it can round
        # above it (1.0000000000000002 when every weighted replication is an event)
        p = min(1.0, float(np.dot(w, x)) / total) if total > 0 else math.nan
    if not n > 0:
        raise ValueError("no replication carries weight")
    return p, wilson(p, n), n


def mean(
    values: np.ndarray,
    weights: np.ndarray | None = None,
    low: float = 0.0,
    high: float = math.inf,
    strata: Strata | None = None,
) -> tuple[float, Interval]:
    """``(mean, normal interval)`` of per-replication values, clipped to ``[low, high]``.

    ``m +/- z s / sqrt(n)`` with the sample standard deviation ``s``. Weighted: ``m = sum w x /
    sum w``, ``s^2 = n_e/(n_e - 1) * sum w (x - m)^2 / sum w`` and ``n = n_e``, the effective
    size, which reduces to the unweighted formula for equal weights. With ``n_e <= 1`` the
    spread is unknown and the interval is the whole valid range (``high`` ``None`` if
    unbounded). Stratified: ``m +/- z sqrt(V)``, the whole range when ``V`` is unknown.
    """
    x = np.asarray(values, dtype=float)
    if strata is not None:
        m, v = stratified.ratio(x, weights, strata)
        if math.isnan(m):
            raise ValueError("no replication carries weight")
        if v == math.inf:
            return m, Interval(low, None if math.isinf(high) else high)
        half = Z * math.sqrt(v)
        return m, Interval(min(max(low, m - half), m), max(min(high, m + half), m))
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    total = float(w.sum())
    if not total > 0:
        raise ValueError("no replication carries weight")
    m = float(np.dot(w, x)) / total
    n = effective_size(w)
    if n <= 1.0:
        return m, Interval(low, None if math.isinf(high) else high)
    var = float(np.dot(w, (x - m) ** 2)) / total * n / (n - 1.0)
    half = Z * math.sqrt(var / n)
    lo = min(max(low, m - half), m)
    hi = max(min(high, m + half), m)
    return m, Interval(lo, hi)
