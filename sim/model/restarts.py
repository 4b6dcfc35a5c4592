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
    return workers_scheduled_restarts(policy, horizon, 1, rng)[0]


def workers_scheduled_restarts(
    policy: RestartPolicy, horizon: float, workers: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """:func:`scheduled_restarts` of ``workers`` workers drawn at once: their first restarts,
    then a row of gaps each. A server's workers cost one set of numpy calls, not one each
    (7% of a PSMail replication went to drawing its mail workers' two years of daily
    restarts one worker at a time); for one worker the draws are those of one worker."""
    if policy.every is None:
        return [np.empty(0)] * workers
    every, jitter = policy.every, policy.jitter
    first = rng.random(workers) * every
    earliest = float(first.min())
    if earliest >= horizon:
        return [np.empty(0)] * workers
    n = int((horizon - earliest) / max(every - jitter, 1e-9)) + 2
    gaps = rng.random((workers, n))
    gaps *= 2.0
    gaps -= 1.0
    gaps *= jitter
    gaps += every  # positive: jitter < every (validated), so the times ascend
    times = np.empty((workers, n + 1))
    times[:, 0] = 0.0
    np.cumsum(gaps, axis=1, out=times[:, 1:])
    times += first[:, None]
    return [row[: row.searchsorted(horizon)] for row in times]


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
