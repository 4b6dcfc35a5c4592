"""The law of a worker's transient key copies in closed form, where the fast engine needs it.

Key operations are Poisson streams (legitimate handshakes, each attacker's connections), and
each leaves a batch of copies: ``floor(cph)`` or one more per operation (rule 5), several
operations at once for an attacker's connection. Copies leave one by one at rate ``decay``
(a duration ``copy_lifetime``, exponential) or all at once at the worker's next request
(``next_request``, at rate ``clear``). The stationary count's generating function is then

* with decay, a Poisson cluster process: ``log E[z^n] = sum_K rate_K / decay sum_{i<=K}
  (z^i - 1) / i`` (a batch of ``K`` made ``a`` ago keeps ``Binomial(K, e^(-decay a))``, and
  ``int_0^1 ((1 - x (1 - z))^K - 1) / x dx = sum_{i<=K} (z^i - 1) / i``);
* with clearing, the copies made over the exponential age of the last request:
  ``E[z^n] = clear / (clear - sum_K rate_K (z^K - 1))``.

The key chain reads its size from it (a Chernoff bound on the tail), the counted copies
their stationary miss (``docs/fast-engine.md``, item 7).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from functools import lru_cache

import numpy as np
from scipy import optimize, special

from sim.scenario.model import Attacker, KeySpec, Server

Streams = tuple[tuple[int, float], ...]
"""``(copies, rate)``: Poisson streams of key operations by the copies each batch leaves."""

#: The tail mass a chain may leave out: below anything a replication could feel.
TAIL = 1e-15


@lru_cache(maxsize=256)
def batch_sizes(keys: KeySpec, ops: int) -> tuple[tuple[int, float], ...]:
    """The copies ``ops`` key operations leave, as ``(count, probability)`` pairs (kept: the
    counted copies ask it at every candidate connection)."""
    low = math.floor(keys.copies_per_handshake)
    frac = keys.copies_per_handshake - low
    if frac == 0.0:
        return ((low * ops, 1.0),)
    k = np.arange(ops + 1)
    extra = special.comb(ops, k) * frac**k * (1.0 - frac) ** (ops - k)
    return tuple((low * ops + int(i), float(p)) for i, p in zip(k, extra) if p > 0.0)


def key_operations(keys: KeySpec, handshakes: float,
                   connections: Iterable[tuple[float, int]]) -> tuple[dict[int, float], float]:
    """The streams of ``handshakes`` legitimate key operations per second and of
    ``connections`` (per second, operations each), merged by the copies a batch leaves (rate
    by copies); and the events per second that make an operation (a connection's several
    count once)."""
    streams: dict[int, float] = {}
    events = handshakes
    batches = [(handshakes, batch_sizes(keys, 1))]
    for rate, ops in connections:
        if ops:
            batches.append((rate, batch_sizes(keys, ops)))
            events += rate
    for rate, sizes in batches:
        for copies, p in sizes:
            if copies > 0 and rate * p > 0.0:
                streams[copies] = streams.get(copies, 0.0) + rate * p
    return streams, events


def server_streams(server: Server, attackers: Iterable[Attacker]) -> tuple[Streams, float]:
    """A worker's streams when every attacker of ``attackers`` sends at once, and its slowest
    clearing by requests (at the cold start, before sessions ramp up): the most copies the
    worker can be expected to hold."""
    streams, _ = key_operations(
        server.keys, server.traffic.handshakes_per_s / server.workers,
        ((a.connection_rate / server.total_workers, a.key_ops_per_connection)
         for a in attackers))
    tr = server.traffic
    clear = (tr.other_requests_per_s(server.sessions) + tr.logins_per_s) / server.workers
    return tuple(sorted(streams.items())), clear


def log_pgf(streams: Streams, decay: float, clear: float, z: float) -> float:
    """``log E[z^n]`` under the stationary law (the module docstring); ``inf`` where the
    series diverges (``z`` past the clearing's radius), ``-inf`` where copies pile up
    without bound (neither decay nor clearing) and ``z < 1``."""
    if decay > 0.0:
        return sum(rate / decay * sum((z**i - 1.0) / i for i in range(1, k + 1))
                   for k, rate in streams)
    made = sum(rate * (z**k - 1.0) for k, rate in streams)
    if clear > 0.0:
        return math.log(clear / (clear - made)) if made < clear else math.inf
    return 0.0 if made == 0.0 else (-math.inf if made < 0.0 else math.inf)


def tail_count(streams: Streams, decay: float, clear: float) -> float:
    """A count the stationary law exceeds with probability at most ``TAIL``: the least ``x``
    with ``min_theta E[e^(theta n)] e^(-theta x) <= TAIL`` (Chernoff), infinity where copies
    pile up without bound."""
    if not streams:
        return 0.0
    if decay == 0.0 and clear == 0.0:
        return math.inf
    reach = 600.0 / max(k for k, _ in streams)  # e^(theta K) stays a float
    limit = math.inf
    if decay == 0.0:  # E[e^(theta n)] is finite while sum rate (e^(theta K) - 1) < clear
        limit = optimize.brentq(lambda t: sum(r * math.expm1(t * k) for k, r in streams) - clear,
                                0.0, reach)

    hi_theta = min(limit * (1.0 - 1e-9), reach)

    def bound(x: float) -> float:
        """``log`` of the Chernoff bound at ``x`` less ``log TAIL``."""
        best = optimize.minimize_scalar(lambda t: log_pgf(streams, decay, clear, math.exp(t))
                                        - t * x, bounds=(0.0, hi_theta), method="bounded")
        return float(best.fun) - math.log(TAIL)

    mean = sum(k * r for k, r in streams) / (decay if decay > 0.0 else clear)
    hi = 2.0 * mean + 40.0
    while bound(hi) > 0.0:
        hi *= 2.0
    return optimize.brentq(bound, mean, hi)
