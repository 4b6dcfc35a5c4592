"""A piecewise-constant arrival rate: the connections one source sends over time.

The fast engine describes attack traffic as phases of constant connection rate; a detector
watching several servers sees their sum. Counting and timing connections of such a Poisson
process only needs the cumulative intensity ``Lambda(t)`` and its inverse: the number of
arrivals in ``[a, b)`` is Poisson(``Lambda(b) - Lambda(a)``) and, given that number, arrival
times are i.i.d. with ``Lambda`` uniform (the time-change theorem).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from itertools import accumulate

import numpy as np


class Intensity:
    """Rate ``rates[i]`` on ``[edges[i], edges[i+1])``, zero outside ``[edges[0], edges[-1])``."""

    __slots__ = ("edges", "rates", "_cum", "_x", "_y")

    def __init__(self, edges: np.ndarray, rates: np.ndarray) -> None:
        self.edges = edges
        self.rates = rates
        # Lists for :meth:`cumulative`: a detector evaluates it a few hundred times per
        # replication, one point at a time, where ``np.interp``'s call costs ten times the
        # arithmetic. The running sum is ``np.cumsum``'s (which adds in order) at half its
        # cost for the few pieces here.
        self._x: list[float] = edges.tolist()
        self._y: list[float] = [0.0, *accumulate(
            r * (b - a) for r, a, b in zip(rates.tolist(), self._x, self._x[1:]))]
        self._cum = np.array(self._y)

    @classmethod
    def from_intervals(cls, intervals: Iterable[tuple[float, float, float]]) -> Intensity:
        """Sum of constant rates ``(t0, t1, rate)``; a sweep over endpoints keeps it O(n log n)."""
        kept = [(t0, t1, r) for t0, t1, r in intervals if t1 > t0 and r > 0.0]
        if not kept:
            return cls(np.zeros(1), np.zeros(0))
        t0s, t1s, rs = zip(*kept)
        starts, ends, rates = np.array(t0s), np.array(t1s), np.array(rs)
        edges = np.array(sorted({*t0s, *t1s}))  # np.unique's call costs more, for a few edges
        # Each edge's change of rate, the starts' then the ends' in order, as np.add.at would
        # add them (bincount sums in the order given, at a fraction of its cost).
        delta = np.bincount(np.searchsorted(edges, np.concatenate((starts, ends))),
                            weights=np.concatenate((rates, -rates)), minlength=len(edges))
        summed = np.cumsum(delta)[:-1]
        # Rates that cancel at a shared endpoint leave rounding residue: make them exactly 0.
        summed[summed <= 1e-12 * rates.max()] = 0.0
        return cls(edges, summed)

    @property
    def empty(self) -> bool:
        return len(self.rates) == 0

    def cumulative(self, t: float) -> float:
        """``Lambda(t)``, the expected number of arrivals before ``t``: the very float
        ``np.interp(t, edges, cumulative)`` gives (same search, same slope arithmetic)."""
        x, y = self._x, self._y
        if t >= x[-1]:
            return y[-1]
        if t <= x[0]:
            return y[0]
        j = bisect.bisect_right(x, t) - 1
        if x[j] == t:
            return y[j]
        return (y[j + 1] - y[j]) / (x[j + 1] - x[j]) * (t - x[j]) + y[j]

    def integral(self, a: float, b: float) -> float:
        return self.cumulative(b) - self.cumulative(a) if b > a else 0.0

    def inverse(self, a: float, mass: float) -> float:
        """The time ``t >= a`` with ``Lambda(t) - Lambda(a) = mass`` (a reachable ``mass``)."""
        target = self.cumulative(a) + mass
        i = int(np.searchsorted(self._cum, target, side="left"))
        i = min(max(i, 1), len(self.edges) - 1)
        lo = self._cum[i - 1]
        rate = self.rates[i - 1]
        t = self.edges[i - 1] + (target - lo) / rate if rate > 0.0 else self.edges[i - 1]
        return max(a, float(t))

    def pieces(self) -> Iterable[tuple[float, float, float]]:
        """Constant pieces ``(t0, t1, rate)`` with a positive rate."""
        for t0, t1, r in zip(self.edges[:-1], self.edges[1:], self.rates):
            if r > 0.0:
                yield float(t0), float(t1), float(r)
