"""Alerts from traffic listed event by event: the literal reading of the detector rules.

The reference engine lists every connection; both engines list crashes and session reuses.
Counting them literally is the definition the sampled phase path (``phases.py``) must match.
"""

from __future__ import annotations

import numpy as np

from sim.model.alerts import AlertCounts
from sim.model.detectors.counting import Counting


def one_alert_each(times: np.ndarray, seen_from: float, cutoff: float) -> AlertCounts:
    """One alert per logged event (crashes, session reuses) at or after deployment."""
    seen = times[times >= seen_from]
    return AlertCounts(raised=int(seen.size), retained=int(np.count_nonzero(seen > cutoff)))


def count_points(
    times: np.ndarray, sources: np.ndarray, units: np.ndarray, counting: Counting
) -> AlertCounts:
    """Alerts of one attacker's traffic, given as events ``(time, source, units)``.

    Without a threshold every unit is an alert at its event's time. With one, each source's
    units are summed per tumbling window (aligned to start); a window alerts once, at the
    event that brings its sum to the threshold.
    """
    keep = (times >= counting.seen_from) & (units > 0)
    t, s, u = times[keep], sources[keep], units[keep].astype(np.int64)
    if counting.threshold is None or counting.window is None:
        return AlertCounts(raised=int(u.sum()), retained=int(u[t > counting.cutoff].sum()))
    if t.size == 0:
        return AlertCounts()
    w = np.floor(t / counting.window).astype(np.int64)
    order = np.lexsort((t, w, s))
    t, s, u, w = t[order], s[order], u[order], w[order]
    starts = np.ones(t.size, dtype=bool)
    starts[1:] = (s[1:] != s[:-1]) | (w[1:] != w[:-1])
    group = np.cumsum(starts) - 1
    total = np.cumsum(u)
    before_group = (total - u)[starts]
    reached = (total - before_group[group]) >= counting.threshold
    reached_before = np.zeros(t.size, dtype=bool)
    reached_before[1:] = reached[:-1] & ~starts[1:]
    alert_times = t[reached & ~reached_before]
    return AlertCounts(
        raised=int(alert_times.size),
        retained=int(np.count_nonzero(alert_times > counting.cutoff)),
    )
