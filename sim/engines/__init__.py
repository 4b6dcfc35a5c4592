"""Engines: a resolved scenario plus one replication's seed in, one replication's record out.

Every engine module exposes ``check(scenario)`` (raise :class:`EngineRefused` for a scenario it
cannot run), ``plan(scenario)`` (what a reader should know of how it will run it, for
``bleedsim check``) and ``simulate(scenario, seed) -> ReplicationRecord``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

import numpy as np

ENGINE_NAMES = ("fast", "reference")


class EngineRefused(Exception):
    """The engine cannot run this scenario; the message says why and what to do instead."""


def child_seeds(seed: np.random.SeedSequence, n: int) -> list[np.random.SeedSequence]:
    """``n`` independent children of ``seed`` without mutating it (unlike ``seed.spawn``), so
    simulating the same seed twice gives the same replication."""
    return [
        np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, i), pool_size=seed.pool_size)
        for i in range(n)
    ]


def get_engine(name: str) -> ModuleType:
    if name not in ENGINE_NAMES:
        raise ValueError(f"unknown engine {name!r}; expected one of {', '.join(ENGINE_NAMES)}")
    return importlib.import_module(f"sim.engines.{name}")
