"""Engines: a resolved scenario plus one replication's seed in, one replication's record out.

Every engine module exposes ``check(scenario)`` (raise :class:`EngineRefused` for a scenario it
cannot run) and ``simulate(scenario, seed) -> ReplicationRecord``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

ENGINE_NAMES = ("fast", "reference")


class EngineRefused(Exception):
    """The engine cannot run this scenario; the message says why and what to do instead."""


def get_engine(name: str) -> ModuleType:
    if name not in ENGINE_NAMES:
        raise ValueError(f"unknown engine {name!r}; expected one of {', '.join(ENGINE_NAMES)}")
    return importlib.import_module(f"sim.engines.{name}")
