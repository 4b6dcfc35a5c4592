"""The reference engine: ``model.md`` simulated literally, event by event, with SimPy.

Every login, session request, other request, legitimate handshake, attacker connection,
heartbeat, scheduled, ``max_requests``, crash and patch restart is an event; every resident
secret copy is an object; every capture is a Bernoulli draw per resident piece and answered
heartbeat with the probabilities of :class:`sim.model.capture.CaptureTable`. It is slow and meant
to be obviously right: the yardstick for the fast engine on small scenarios.

Readings of the spec chosen here:

- Legitimate streams run at the server's rate (per-host rate x ``hosts``) with each event
  routed to a uniform worker of the whole server, which is the same process as per-host
  streams. Sessions are numbered by the login that opened them.
- A legitimate request first evicts the worker's ``next_request`` copies, leaves its own copy,
  then counts toward ``max_requests`` (so the Nth request's own copy is wiped by the restart).
- Crash draws are made only for heartbeats that would be answered; a crash is drawn before
  the capture draws of the same heartbeat. ``Crash.heartbeats_answered`` excludes the
  crashing heartbeat.
- The shared-address draw is made at every reuse attempt, for ``binding: none`` too, because
  the session detector's address-change log needs it.
- Events at exactly equal times have probability zero except by construction (e.g. a patch
  at a scheduled restart time); SimPy then runs them in the order they were scheduled.
- Nothing after the last attacker window can be observed, and a server no present attacker
  targets captures nothing, so the run stops at the end of the last window and only targeted
  servers are simulated. Legitimate traffic always starts at t = 0 (cold start, rule 2).

Random streams are keyed by purpose under the replication's seed (attackers; per server its
traffic and its restarts/key placements; per attacker and target its connections and draws),
so a replication can be re-run alone and gives the same record.
"""

from __future__ import annotations

import numpy as np
import simpy

from sim.model.record import Captures, Observations, ReplicationRecord
from sim.engines.reference.arrivals import stream
from sim.engines.reference.budget import EVENT_LIMIT, check
from sim.engines.reference.campaign import Campaign
from sim.engines.reference.server import ServerSim
from sim.model.attackers import draw_attackers
from sim.scenario.model import Scenario

__all__ = ["EVENT_LIMIT", "check", "simulate"]

_ATTACKERS, _SERVERS, _CAMPAIGNS = 0, 1, 2
_TRAFFIC, _STATE = 0, 1


def plan(scenario: Scenario) -> list[str]:
    """Nothing to say: every event of the model is simulated one by one."""
    return []


def simulate(scenario: Scenario, seed: np.random.SeedSequence) -> ReplicationRecord:
    present, windows = draw_attackers(scenario, stream(seed, _ATTACKERS))
    active = [
        (i, name, target)
        for i, (name, attacker) in enumerate(scenario.attackers.items())
        if present[name] and not windows[name].empty
        for target in attacker.targets
    ]
    end = max((windows[name].t1 for _, name, _ in active), default=0.0)
    targeted = {target for _, _, target in active}

    env = simpy.Environment()
    observations = Observations(connections=[])
    servers: dict[str, ServerSim] = {}
    for k, (name, spec) in enumerate(scenario.servers.items()):
        if name in targeted:
            servers[name] = ServerSim(
                env, spec, end, stream(seed, _SERVERS, k, _TRAFFIC), stream(seed, _SERVERS, k, _STATE)
            )
            servers[name].start()
    campaigns: dict[tuple[str, str], Campaign] = {}
    for i, name, target in active:
        attacker = scenario.attackers[name]
        j = attacker.targets.index(target)
        campaign = Campaign(
            attacker, servers[target], windows[name], stream(seed, _CAMPAIGNS, i, j), observations
        )
        campaigns[name, target] = campaign
        env.process(campaign.run())
    if end > 0.0:
        env.run(until=end)

    def reusable(server: str) -> bool:
        passwords = scenario.servers[server].passwords
        return passwords is not None and passwords.kind == "static"

    return ReplicationRecord(
        present=present,
        servers={
            name: (servers[name].malicious.captures(reusable(name),
                                                    len(scenario.servers[name].binding))
                   if name in servers else Captures())
            for name in scenario.servers
        },
        attackers={
            name: {
                target: campaigns[name, target].own.captures(reusable(target))
                if (name, target) in campaigns
                else Captures()
                for target in attacker.targets
            }
            for name, attacker in scenario.attackers.items()
        },
        observations=observations,
    )
