"""How big a scenario the reference engine accepts.

The reference engine pays for every legitimate request, handshake and heartbeat, so its cost
per replication is their number. :data:`EVENT_LIMIT` keeps one replication to roughly a minute
at worst; anything larger is the fast engine's job.
"""

from __future__ import annotations

from sim.engines import EngineRefused
from sim.model.attackers import longest_window
from sim.scenario.model import Scenario

EVENT_LIMIT = 2_000_000
"""Most events (legitimate requests + handshakes + attacker heartbeats) per replication."""


def legitimate_events(scenario: Scenario) -> float:
    """Expected legitimate requests and handshakes over the horizon, summed over servers."""
    total = 0.0
    for server in scenario.servers.values():
        traffic = server.traffic
        sessions = server.sessions
        requests = traffic.logins_per_s + traffic.session_requests_per_s(sessions)
        requests += traffic.other_requests_per_s(sessions)
        total += scenario.horizon * server.hosts * (requests + traffic.handshakes_per_s)
    return total


def attack_events(scenario: Scenario) -> float:
    """Heartbeats of every attacker as if present, over its longest possible window.

    Heartbeats rather than connections: each one is a round of capture draws, and a
    connection carries ``heartbeats_per_connection`` of them.
    """
    return sum(a.rate * len(a.targets) * longest_window(a, scenario.horizon) for a in
               scenario.attackers.values())


def check(scenario: Scenario) -> None:
    legit, attack = legitimate_events(scenario), attack_events(scenario)
    if legit + attack > EVENT_LIMIT:
        raise EngineRefused(
            f"scenario {scenario.name!r} is too large for the reference engine: about "
            f"{legit:,.0f} legitimate requests and handshakes and {attack:,.0f} attacker "
            f"heartbeats per replication, more than its limit of {EVENT_LIMIT:,} events; "
            "use `--engine fast`, or shorten the timeline or lower the rates"
        )
