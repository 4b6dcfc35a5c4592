"""Which attackers exist in a replication, and when each one sends (``model.md``, Attackers)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from sim.scenario.model import Attacker, Scenario


@dataclass(frozen=True, slots=True)
class ActiveWindow:
    """An attacker's sending window, clipped to ``[0, analysis_at]``; empty when t0 >= t1."""

    t0: float
    t1: float

    @property
    def empty(self) -> bool:
        return self.t1 <= self.t0

    def open_before(self, end: float) -> float:
        """How long the window is open in ``[0, end)``."""
        return max(0.0, min(self.t1, end) - max(self.t0, 0.0))


def draw_window(attacker: Attacker, horizon: float, rng: np.random.Generator) -> ActiveWindow:
    """Start uniform in ``[start_low, start_high]`` (one draw even for a fixed start, so that
    the stream of draws does not depend on the file's choice), then ``duration``."""
    u = rng.random()
    start = attacker.start_low + u * (attacker.start_high - attacker.start_low)
    end = horizon if attacker.duration is None else start + attacker.duration
    return ActiveWindow(max(0.0, start), min(horizon, end))


def longest_window(attacker: Attacker, horizon: float) -> float:
    """The longest sending window :func:`draw_window` can give (clipped to ``[0, horizon]``):
    what an engine's ``check`` multiplies rates by to bound the work of one replication.

    The clipped length ``min(s + d, horizon) - max(s, 0)`` is concave in the start ``s``, so
    its maximum over ``[start_low, start_high]`` is at an end or where a clip begins.
    """
    lo, hi = attacker.start_low, attacker.start_high
    if attacker.duration is None:
        return max(0.0, horizon - max(0.0, lo))
    d = attacker.duration
    starts = {lo, hi, *(s for s in (0.0, horizon - d) if lo <= s <= hi)}
    return max(max(0.0, min(s + d, horizon) - max(s, 0.0)) for s in starts)


def longest_union(attackers: Iterable[Attacker], horizon: float) -> float:
    """The longest time some attacker of ``attackers`` can send: their windows' union, at
    most their longest windows' sum and the horizon, since each lies in ``[0, horizon]``. The
    work that grows with the time anyone reads (the logins a read can meet) is bounded by
    this: bounded by the sum, the fast engine refused scenarios with many overlapping
    attackers that the reference engine runs."""
    return min(horizon, sum(longest_window(a, horizon) for a in attackers))


def covered(windows: Iterable[ActiveWindow], horizon: float) -> float:
    """How long in ``[0, horizon]`` at least one of ``windows`` is open: their union's
    length."""
    spans = sorted((max(w.t0, 0.0), min(w.t1, horizon)) for w in windows
                   if min(w.t1, horizon) > max(w.t0, 0.0))
    total, reach = 0.0, -np.inf
    for t0, t1 in spans:
        if t1 > reach:
            total += t1 - max(t0, reach)
            reach = t1
    return total


def draw_attackers(
    scenario: Scenario, rng: np.random.Generator
) -> tuple[dict[str, bool], dict[str, ActiveWindow]]:
    """Presence (prior ``presence``) and window of every attacker, in declaration order."""
    present: dict[str, bool] = {}
    windows: dict[str, ActiveWindow] = {}
    for name, attacker in scenario.attackers.items():
        present[name] = bool(rng.random() < attacker.presence)
        windows[name] = draw_window(attacker, scenario.horizon, rng)
    return present, windows
