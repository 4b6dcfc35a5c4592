"""Poisson streams as SimPy processes, and independent random streams from one seed."""

from __future__ import annotations

from collections.abc import Callable, Generator

import numpy as np
import simpy


def stream(seed: np.random.SeedSequence, *path: int) -> np.random.Generator:
    """A Generator for one purpose, keyed by ``path`` under ``seed``.

    Unlike ``seed.spawn`` this does not mutate ``seed``, so simulating the same seed twice
    gives the same replication, and adding an attacker does not change the legitimate traffic.
    """
    child = np.random.SeedSequence(
        seed.entropy, spawn_key=(*seed.spawn_key, *path), pool_size=seed.pool_size
    )
    return np.random.Generator(np.random.PCG64(child))


def poisson(
    env: simpy.Environment,
    rate: float,
    t0: float,
    t1: float,
    rng: np.random.Generator,
    action: Callable[[], None],
) -> Generator[simpy.Event, None, None]:
    """Call ``action`` at the points of a Poisson process of ``rate`` on ``(t0, t1)``.

    Times accumulate as absolute values so that long streams do not drift.
    """
    if rate <= 0.0:
        return
    mean_gap = 1.0 / rate
    t = t0
    while True:
        t += rng.exponential(mean_gap)
        if t >= t1:
            return
        yield env.timeout(t - env.now)
        action()
