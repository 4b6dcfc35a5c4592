"""When workers restart on schedule (``model.md`` rule 3).

The first scheduled restart of a worker falls at U(0, every) after start (staggered phases),
then every ``every`` + U(-jitter, +jitter). Crash and ``max_requests`` restarts clear memory
but do not shift this sequence; ``patched_at`` restarts every worker at once.
"""

from __future__ import annotations

import numpy as np

from sim.scenario.model import RestartPolicy


def scheduled_restarts(
    policy: RestartPolicy, horizon: float, rng: np.random.Generator
) -> np.ndarray:
    """Scheduled restart times in ``(0, horizon)`` of one worker, ascending."""
    if policy.every is None:
        return np.empty(0)
    every, jitter = policy.every, policy.jitter
    first = rng.random() * every
    if first >= horizon:
        return np.empty(0)
    n = int((horizon - first) / max(every - jitter, 1e-9)) + 2
    gaps = rng.random(n)
    gaps *= 2.0
    gaps -= 1.0
    gaps *= jitter
    gaps += every  # positive: jitter < every (validated), so the times ascend
    times = np.empty(n + 1)
    times[0] = 0.0
    np.cumsum(gaps, out=times[1:])
    times += first
    return times[: times.searchsorted(horizon)]


def max_requests_restarts(
    max_requests: int, rate: float, begin: float, end: float, rng: np.random.Generator
) -> tuple[float | None, int]:
    """Restarts after every ``max_requests`` connections on ``[begin, end)``, count 0 at ``begin``.

    Arrivals are Poisson at a constant ``rate``, so their number ``M`` is Poisson and, given
    ``M``, their times are uniform order statistics: the last restart (arrival ``n N`` with
    ``n = M // N``) is ``begin + (end - begin) Beta(nN, M - nN + 1)``. Cost O(1) however many
    restarts the interval holds. Returns the last restart time (None if none) and the count of
    connections served since it at ``end``.
    """
    arrivals = int(rng.poisson(rate * (end - begin))) if rate > 0 and end > begin else 0
    n = arrivals // max_requests
    if n == 0:
        return None, arrivals
    k = n * max_requests
    return begin + (end - begin) * rng.beta(k, arrivals - k + 1), arrivals - k
