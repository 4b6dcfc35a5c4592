"""Stratified estimators: replications grouped by which attackers exist, strata weighed by their
known probabilities (``docs/stratified-sampling.md`` derives every formula here).

A stratum ``h`` has a probability ``pi_h``, known exactly from the attackers' ``presence``, and
``n_h`` replications drawn from the model conditioned on it. With per-replication weights ``w``
(evidence likelihoods; 1 without evidence) and values ``x``, every estimate is the ratio

    R = sum_h pi_h mean_h(w x) / sum_h pi_h mean_h(w)

(the posterior mean when ``w`` is the evidence likelihood, the plain mean when ``w = 1``), and its
variance is the linearised one:

    z_i = w_i (x_i - R) / B,   B = sum_h pi_h mean_h(w),   V = sum_h pi_h^2 s_h^2(z) / n_h

with ``s_h^2`` the sample variance of ``z`` over the ``n_h`` replications of stratum ``h``.
For a probability (0/1 values) a stratum that showed few or no events cannot show its spread,
so ``s_h^2`` is floored at ``p~_h (1 - p~_h) mean_h(w^2) / B^2`` with the Agresti-Coull centre
``p~_h = (k_h + z^2/2) / (n_h + z^2)`` of its ``k_h`` events: an unseen event in a large stratum
widens the interval as Wilson's does for one sample, instead of being ignored. The floor is
skipped in a stratum that cannot have the event: no malicious attacker exists in any of its
replications (``Strata.capable``) and none had it, since captures and malicious alerts need an
attacker; their estimate there is exactly 0, a conditional expectation known in closed form.
For captures (:meth:`Strata.for_captures`) the same holds where every malicious attacker starts
after all its targets stopped being vulnerable.
A *domain* (e.g. the replications where an attacker exists) is a subset of rows; its estimates
keep each stratum's full ``n_h``, rows outside the domain counting as ``z = 0``, which is why
:meth:`Strata.subset` keeps the counts of the whole sample.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np


@dataclass(frozen=True, slots=True)
class Strata:
    """Which stratum each row came from, and what the strata weigh.

    ``counts`` are the replications of each stratum in the whole run, also after
    :meth:`subset`: a domain estimate divides by the whole stratum, not by the rows kept.
    """

    index: np.ndarray
    """Per row: its stratum (an index into ``probability``)."""
    counts: np.ndarray
    """Per stratum: replications in the whole run (``n_h``)."""
    probability: np.ndarray
    """Per stratum: ``pi_h``, summing to 1."""
    capable: np.ndarray | None = None
    """Per row: does a malicious attacker exist in it (``None``: assume so everywhere)?"""
    capturing: np.ndarray | None = None
    """Per row: does a malicious attacker exist in it that does not start after all its
    targets stopped being vulnerable (``None``: as ``capable``)? Only such an attacker can
    capture; the others can still raise alerts."""

    @classmethod
    def of_rows(
        cls,
        index: np.ndarray,
        probability: np.ndarray,
        capable: np.ndarray | None = None,
        capturing: np.ndarray | None = None,
    ) -> Strata:
        index = np.asarray(index, dtype=np.int64)
        probability = np.asarray(probability, dtype=float)
        counts = np.bincount(index, minlength=probability.size).astype(float)
        if np.any((counts == 0) & (probability > 0)):
            raise ValueError("every stratum of positive probability needs a replication")
        return cls(index, counts, probability, _array(capable), _array(capturing))

    def subset(self, mask: np.ndarray) -> Strata:
        return Strata(self.index[mask], self.counts, self.probability,
                      None if self.capable is None else self.capable[mask],
                      None if self.capturing is None else self.capturing[mask])

    def for_captures(self) -> Strata:
        """These strata for an estimate of captures: a stratum where no attacker can capture
        has the estimate 0 in closed form, like one without attackers (the floor of unseen
        events is skipped there)."""
        if self.capturing is None:
            return self
        return Strata(self.index, self.counts, self.probability, self.capturing, self.capturing)

    def attributed_to(self, present: np.ndarray) -> Strata:
        """These strata for an estimate of one attacker's own captures or alerts, benign or
        not: only the rows where it exists (``present``) can have them."""
        return Strata(self.index, self.counts, self.probability, np.asarray(present), None)

    def design_weights(self) -> np.ndarray:
        """Per row: ``pi_h / n_h``, what one replication of its stratum stands for."""
        return self.probability[self.index] / self.counts[self.index]


def _array(values: np.ndarray | None) -> np.ndarray | None:
    return None if values is None else np.asarray(values)


def ratio(
    values: np.ndarray, weights: np.ndarray | None, strata: Strata, events_z: float | None = None
) -> tuple[float, float]:
    """``(R, V)``: the stratified ratio estimate and its linearised variance (module docstring).

    ``events_z``: the values are 0/1 events; floor each stratum's spread with the
    Agresti-Coull centre at this normal quantile. ``V`` is infinite when a stratum holding part
    of the estimate has a single replication (its spread is unknown); ``R`` is NaN when no row
    carries weight.
    """
    r, s_sq, _ = spread(values, weights, strata, events_z)
    if math.isnan(r):
        return r, math.inf
    n = strata.counts
    if np.any(np.isinf(s_sq)):
        return r, math.inf
    safe_n = np.where(n > 0, n, 1.0)
    return r, float(np.sum(strata.probability**2 * s_sq / safe_n))


class Spread(NamedTuple):
    """What the variance, and the allocation of further replications (``sequential.py``), are
    made of."""

    estimate: float
    """``R``."""
    s_sq: np.ndarray
    """Per stratum: the sample variance of the linearised residuals ``z`` (infinite for a
    stratum with rows of weight but one replication; 0 for a stratum without rows of weight)."""
    unseen: np.ndarray
    """Per stratum: is ``s_sq`` the floor of an event not seen yet? That floor falls as
    ``1/n_h``, so the stratum's part of the variance as ``1/n_h^2``."""


def spread(
    values: np.ndarray, weights: np.ndarray | None, strata: Strata, events_z: float | None = None
) -> Spread:
    """The ratio estimate and each stratum's spread (module docstring)."""
    x = np.asarray(values, dtype=float)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    k = strata.probability.size
    d = strata.design_weights()
    b = float(np.dot(d, w))
    if not b > 0:
        return Spread(math.nan, np.full(k, math.inf), np.zeros(k, dtype=bool))
    r = float(np.dot(d, w * x)) / b
    z = w * (x - r) / b
    s1 = np.bincount(strata.index, weights=z, minlength=k)
    s2 = np.bincount(strata.index, weights=z * z, minlength=k)
    held = np.bincount(strata.index, weights=(w > 0).astype(float), minlength=k) > 0
    n = strata.counts
    use = n >= 2
    safe_n = np.where(use, n, 2.0)
    m = s1 / safe_n
    s_sq = np.where(use, np.maximum(s2 - safe_n * m * m, 0.0) / (safe_n - 1.0), 0.0)
    s_sq[_constant(z, strata)] = 0.0  # not the rounding of the line above
    unseen = np.zeros(k, dtype=bool)
    if events_z is not None:
        z2 = events_z * events_z
        k_h = np.bincount(strata.index, weights=((x > 0) & (w > 0)).astype(float), minlength=k)
        p_tilde = (k_h + z2 / 2.0) / (n + z2)
        w2_h = np.bincount(strata.index, weights=w * w, minlength=k) / np.where(n > 0, n, 1.0)
        floor = p_tilde * (1.0 - p_tilde) * w2_h / (b * b)
        if strata.capable is not None:
            can = np.bincount(strata.index, weights=strata.capable.astype(float), minlength=k)
            floor = np.where((can > 0) | (k_h > 0), floor, 0.0)
        unseen = (k_h == 0) & (floor > s_sq)
        s_sq = np.maximum(s_sq, floor)
    return Spread(r, np.where(held & ~use, math.inf, s_sq), unseen)


def _constant(z: np.ndarray, strata: Strata) -> np.ndarray:
    """Per stratum: are its residuals all equal (rows outside a domain counting as 0)? The
    allocation of a ``--precision`` run tells such strata apart (``sequential.EXPLORE``)."""
    k = strata.probability.size
    low = np.full(k, math.inf)
    high = np.full(k, -math.inf)
    np.minimum.at(low, strata.index, z)
    np.maximum.at(high, strata.index, z)
    rows = np.bincount(strata.index, minlength=k)
    outside = rows < strata.counts
    low = np.where(outside, np.minimum(low, 0.0), low)
    high = np.where(outside, np.maximum(high, 0.0), high)
    return low == high


def weighted_mean(values: np.ndarray, strata: Strata) -> float:
    """``sum_h pi_h mean_h(x)`` over the rows given, as a fraction of the strata they stand for
    (e.g. P(evidence | present) over the rows where an attacker is present)."""
    d = strata.design_weights()
    total = float(d.sum())
    return float(np.dot(d, np.asarray(values, dtype=float))) / total if total > 0 else math.nan


def effective_size(p: float, variance: float, fallback: float) -> float:
    """The sample size a simple random sample would need for the same variance of a proportion,
    ``p (1 - p) / V``; ``fallback`` when that says nothing (``p`` at 0 or 1, or ``V = 0``)."""
    if 0.0 < p < 1.0 and 0.0 < variance < math.inf:
        return p * (1.0 - p) / variance
    if variance == math.inf:
        return 1.0
    return fallback
