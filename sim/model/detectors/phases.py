"""Alerts from attack phases: sampled per source and window, not per heartbeat.

In a phase, connections are Poisson; a detector watching several servers sees the sum of an
attacker's phases on them, split evenly over its ``sources`` (each connection picks a source
uniformly, so each source sees an independent Poisson process of ``1/sources`` the rate).

Without a threshold the alert count is just ``units x Poisson(mass)``, split at the retention
cutoff. With a threshold ``m`` and window ``W``, a window of one source whose expected
connection count is ``mu`` alerts when it holds at least ``k = ceil(m / u)`` connections
(``u`` units each): probability ``P(Poisson(mu) >= k) = P(k, mu)``, the regularised lower
incomplete gamma function, because the ``k``-th arrival is Gamma(``k``) on the
cumulative-intensity scale. Windows lying whole inside one constant-rate piece and wholly on
one side of the retention cutoff are identical, so their alert count is one binomial draw: the
cost is flat in the number of heartbeats and windows. Only the few other windows (those cut by
a phase boundary, holding a crash of the attacker, or straddling the cutoff) are drawn one by
one, with exact alert times where the cutoff needs them.
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict

import numpy as np
from scipy.special import gammainc, gammaincinv

from sim.model.alerts import AlertCounts
from sim.model.detectors.counting import Counting
from sim.model.detectors.intensity import Intensity

#: A crashing connection as a detector counts it: ``(time, source, units)``.
PointEvent = tuple[float, int, int]


def count_phases(
    total: Intensity,
    sources: int,
    units_per_connection: int,
    crashes: list[PointEvent],
    counting: Counting,
    rng: np.random.Generator,
) -> AlertCounts:
    """Alerts of one attacker: ``total`` is its connection rate summed over watched servers,
    already clipped to ``counting.seen_from``; ``crashes`` are its crashing connections there."""
    crashes = sorted(c for c in crashes if c[0] >= counting.seen_from and c[2] > 0)
    if total.empty and not crashes:
        # Nothing to count: both ways below would draw nothing (Poisson and binomial draws
        # of zero mean consume no random number) and find no alert. A present attacker whose
        # traffic this detector does not see (another server's, answered bytes after the
        # patch): one call in four on PSMail (absent attackers never get here, evaluate).
        return AlertCounts()
    if counting.threshold is None or counting.window is None:
        return _unwindowed(total, units_per_connection, crashes, counting.cutoff, rng)
    per_source = Intensity(total.edges, total.rates / sources)
    return _windowed(per_source, sources, units_per_connection, crashes, counting, rng)


def _unwindowed(
    total: Intensity, u: int, crashes: list[PointEvent], cutoff: float, rng: np.random.Generator
) -> AlertCounts:
    dropped = int(rng.poisson(total.integral(-math.inf, cutoff)))
    kept = int(rng.poisson(total.integral(cutoff, math.inf)))
    crash_kept = sum(c[2] for c in crashes if c[0] > cutoff)
    crash_all = sum(c[2] for c in crashes)
    return AlertCounts(raised=u * (dropped + kept) + crash_all, retained=u * kept + crash_kept)


def _windowed(
    per_source: Intensity,
    sources: int,
    u: int,
    crashes: list[PointEvent],
    counting: Counting,
    rng: np.random.Generator,
) -> AlertCounts:
    assert counting.window is not None and counting.threshold is not None
    width, threshold, cutoff = counting.window, counting.threshold, counting.cutoff
    need = math.ceil(threshold / u)
    crash_windows: dict[int, list[PointEvent]] = defaultdict(list)
    for c in crashes:
        crash_windows[math.floor(c[0] / width)].append(c)
    special = set(crash_windows)
    for edge in (*per_source.edges, cutoff):
        if math.isfinite(edge):
            k = math.floor(edge / width)
            if edge > k * width:
                special.add(k)
    singled = sorted(special)
    first_after = math.ceil(cutoff / width) if math.isfinite(cutoff) else None

    raised = retained = 0
    for t0, t1, rate in per_source.pieces():
        lo, hi = math.ceil(t0 / width), math.floor(t1 / width)
        if hi <= lo:
            continue
        p = float(gammainc(need, rate * width))
        split = lo if first_after is None else min(max(first_after, lo), hi)
        before = (split - lo) - _count_in(singled, lo, split)
        after = (hi - split) - _count_in(singled, split, hi)
        kept = int(rng.binomial(after * sources, p))
        raised += kept + int(rng.binomial(before * sources, p))
        retained += kept

    for k in singled:
        a, b = k * width, (k + 1) * width
        by_source: dict[int, list[PointEvent]] = defaultdict(list)
        for c in crash_windows.get(k, []):
            by_source[c[1]].append(c)
        for events in by_source.values():
            t = _crossing(per_source, a, b, events, threshold, u, rng)
            if t is not None:
                raised += 1
                retained += t > cutoff
        mu = per_source.integral(a, b)
        p = float(gammainc(need, mu))
        n = int(rng.binomial(sources - len(by_source), p))
        if n == 0:
            continue
        raised += n
        if a < cutoff < b:
            # Alert time = the need-th arrival, Gamma(need) on the Lambda scale, given <= mu.
            mass = gammaincinv(need, rng.random(n) * p)
            retained += sum(per_source.inverse(a, float(x)) > cutoff for x in mass)
        elif a >= cutoff:
            retained += n
    return AlertCounts(raised=raised, retained=int(retained))


def _count_in(sorted_ks: list[int], lo: int, hi: int) -> int:
    """How many of ``sorted_ks`` lie in ``[lo, hi)`` (a list and :mod:`bisect`: a handful of
    windows, where two ``np.searchsorted`` calls cost ten times the search)."""
    return bisect.bisect_left(sorted_ks, hi) - bisect.bisect_left(sorted_ks, lo)


def _crossing(
    per_source: Intensity,
    a: float,
    b: float,
    crashes: list[PointEvent],
    threshold: int,
    u: int,
    rng: np.random.Generator,
) -> float | None:
    """When one source's count in window ``[a, b)`` reaches ``threshold``, or ``None``.

    Between crashes the Poisson count is drawn; if it completes the threshold, the crossing is
    the ``need``-th of its ``n`` arrivals, whose position on the cumulative-intensity scale is
    the ``need``-th of ``n`` uniforms, Beta(``need``, ``n - need + 1``).
    """
    acc = 0
    cur = a
    for time, _, units in [*crashes, (b, -1, 0)]:
        mu = per_source.integral(cur, time)
        need = math.ceil((threshold - acc) / u)
        n = int(rng.poisson(mu))
        if n >= need:
            return per_source.inverse(cur, float(rng.beta(need, n - need + 1)) * mu)
        acc += n * u + units
        if acc >= threshold:
            return time
        cur = time
    return None
