"""``stop_when: patched`` in the fast engine (``model.md`` rule 8).

An attacker that stops on a target "right after its first connection there that got no
answer" sends, on that target, exactly what it would send during the answered part of its
window, plus one unanswered connection. Connections are a Poisson process of rate ``rate /
heartbeats_per_connection``, so that connection comes an exponential time after the attacker
is first outside the vulnerable window:

* starting before ``vulnerable_from``: its first connection at ``t0 + Exp`` is unanswered and
  ends everything if it comes before the window opens (and before the attack window ends);
  otherwise, by memorylessness, the attacker sent nothing before ``vulnerable_from`` and its
  connections from then on are a fresh Poisson process;
* still sending at ``vulnerable_until`` (patch or heartbeat off): its answered traffic ends
  there and the unanswered connection comes at ``max(t0, vulnerable_until) + Exp`` if that is
  inside its window (and it has not stopped on the key before: the caller checks).

The skeleton simulates the answered part as an ordinary window, so nothing else changes; the
unanswered connection is listed with the connections known one by one, which detectors count
as points. Its own key operations and its count toward ``max_requests`` are left out: they
happen on a server that can no longer be read (after the patch), or, before the window opens,
they are one connection's worth of transient copies that the next legitimate key operation
overwrites under ``next_handshake`` (``docs/fast-engine.md``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model.attackers import ActiveWindow
from sim.model.record import Connection
from sim.scenario.model import Attacker, Scenario, Server


@dataclass(frozen=True, slots=True)
class PatchedStop:
    """An attacker's traffic to one target under ``stop_when: patched``."""

    answered: ActiveWindow
    """The part of its window during which the target answers; may be empty."""
    unanswered: Connection | None
    """The connection that made it stop, if it came inside its window."""


def patched_stop(
    attacker: Attacker, server: Server, window: ActiveWindow, rng: np.random.Generator
) -> PatchedStop:
    t0, t1 = window.t0, window.t1
    vf, vu = server.vulnerable_from, server.vulnerable_until
    if attacker.connection_rate <= 0.0:
        return PatchedStop(window, None)  # it sends nothing, so nothing goes unanswered
    mean_gap = 1.0 / attacker.connection_rate

    def connection(t: float) -> Connection | None:
        if t >= t1:
            return None
        source = int(rng.integers(attacker.sources))
        k = attacker.heartbeats_per_connection
        return Connection(t, attacker.name, server.name, source, k, 0)

    if t0 < min(vf, t1) or vu <= vf:
        first = t0 + float(rng.exponential(mean_gap))
        if vu <= vf or first < min(vf, t1):
            return PatchedStop(ActiveWindow(t0, t0), connection(first))
        t0 = vf
    if t0 >= t1 or vu >= t1:
        return PatchedStop(ActiveWindow(t0, t1), None)
    last = max(t0, vu) + float(rng.exponential(mean_gap))
    return PatchedStop(ActiveWindow(t0, min(t1, vu)), connection(last))


def patched_stops(
    scenario: Scenario,
    present: dict[str, bool],
    windows: dict[str, ActiveWindow],
    rng: np.random.Generator,
) -> dict[tuple[str, str], PatchedStop]:
    """Per (attacker, target), for every present attacker with ``stop_when: patched``; draws
    nothing for the others, so scenarios without it keep their random streams."""
    out: dict[tuple[str, str], PatchedStop] = {}
    for name, attacker in scenario.attackers.items():
        if not (attacker.stops_when_patched and present[name]) or windows[name].empty:
            continue
        for target in attacker.targets:
            out[name, target] = patched_stop(attacker, scenario.servers[target], windows[name], rng)
    return out
