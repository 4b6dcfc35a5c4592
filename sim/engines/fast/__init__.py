"""The fast engine: the model of ``model.md`` at the level of state-changing events.

Per server, :mod:`.skeleton` simulates with SimPy the events that change what heartbeats can
capture (attack phases, vulnerability, restarts of every kind, crashes, key captures and
``stop_when``); :mod:`.password_chain` and :mod:`.sessions` then integrate password and session
captures over the resulting piecewise-constant segments and worker lifetimes in closed form.
Where the traffic that can matter is light, it is drawn one by one given the skeleton instead,
at a cost bounded per server (:mod:`.session_slot`, :mod:`.session_literal` and, for both kinds
at once, :mod:`.shared_buffer`), and ``next_request`` sessions are drawn where the reads look
while those are few (:mod:`.session_reads`; with ``next_request`` passwords beside them, both
kinds at once, :mod:`.buffer_reads`); the connections of light attackers (at most
:data:`.listed.LISTED_LIMIT` expected per server) are sampled one by one, so that detectors
and captures see the same ones (:mod:`.listed`; the skeleton draws them itself while they
watch the key). Nothing is simulated per heartbeat, so the
cost of a replication does not grow with the number of heartbeats.

Where the fast engine approximates the literal model, and why it stays within Monte Carlo
error of the reference engine, is documented in ``docs/fast-engine.md``.
"""

from __future__ import annotations

import numpy as np

from sim.engines import EngineRefused, child_seeds
from sim.engines.fast.buffer_reads import (
    ELSEWHERE,
    plan_reads,
    sample_benign_alone,
    sample_both_at_reads,
)
from sim.engines.fast.concurrent_bound import concurrent_never_passes, passing_captures_bound
from sim.engines.fast.counted_takes import CountedTakes
from sim.engines.fast.key_copies import MAX_STATES, server_chain_states
from sim.engines.fast.key_count import (
    KeyCount,
    expected_candidates,
    key_copies_for,
    refuse_many_candidates,
)
from sim.engines.fast.lingering import refuse_past_limit
from sim.engines.fast.lingering_looks import lingering_looks_fit, sample_lingering_looks
from sim.engines.fast.login_pairs import pairs_fit, sample_pairs
from sim.engines.fast.logins import sample_logins
from sim.engines.fast.password_chain import PasswordDraw
from sim.engines.fast.passwords import draw_passwords, refuse_many_patterns
from sim.engines.fast.patched import patched_stops
from sim.engines.fast.reads import attacker_names
from sim.engines.fast.session_cuts import Class, session_log_cuts
from sim.engines.fast.session_literal import SessionDraw
from sim.engines.fast.session_slot import readable_lifetimes
from sim.engines.fast.sessions import (
    MAX_MALICIOUS,
    MAX_UNIONS,
    SessionPlan,
    plan_sessions,
    refuse_session_checks,
    sample_sessions,
)
from sim.engines.fast.shared_buffer import sample_shared_buffer, shared_lifetimes
from sim.engines.fast.skeleton import ServerRun, crash_chance
from sim.engines.fast.slot_takes import sample_slot_takes, slot_takes_fit
from sim.engines.fast.token_copies import ClassTally
from sim.engines.fast.token_takes import TakesTally, every_reader
from sim.model.record import Captures, Observations, ReplicationRecord
from sim.model.attackers import draw_attackers, longest_union, longest_window
from sim.scenario.model import Scenario


#: Most state-changing events (crashes, request-count restarts) one replication may expect
#: (:func:`expected_events`); crashes and ``max_requests`` restarts are the only ones that
#: grow with attack traffic. The reference engine's event budget: each is at least one
#: connection or request that engine would simulate, so every scenario it accepts runs here
#: too. Each costs tens of microseconds and a worker lifetime's draws, more than a reference
#: event, so past :data:`SLOW_EVENTS` ``plan`` says the reference engine may be faster.
#: Until 2026-12-07 1,000,000, with the estimate then counting legitimate requests once per
#: attacker.
EVENT_LIMIT = 2_000_000

#: Expected events (or key candidates, :mod:`.key_count`) past which ``plan`` points at the
#: reference engine. Measured 2026-12-07:
#: 177,000 restarts of a server without passwords or sessions took 1.9 s a replication
#: (11 us each), 89,000 lifetimes beside lingering passwords and sessions 14.7 s (165 us).
SLOW_EVENTS = 100_000
#: Memory a replication holds per worker lifetime there, at its peak (the skeleton's lifetimes
#: and the secrets' draws over them), as measured on 2026-12-07 on a ``max_requests: 1`` mail
#: server with lingering sessions (0.54 GB for 290,000 lifetimes, 1.98 GB for about a
#: million). Twenty attackers, twelve of them malicious, held 1.53 GB for an estimated
#: 469,000: their counting sets multiply what each lifetime's reads hold.
LIFETIME_BYTES = 2_000


def plan(scenario: Scenario) -> list[str]:
    """Where this engine, on ``scenario``, draws what it elsewhere carries in closed form, or
    settles a check by a bound: what a reader of its results should know (``bleedsim
    check`` prints it). Every path is exact or documented (``docs/fast-engine.md``)."""
    lines = []
    events = expected_events(scenario)
    if events > SLOW_EVENTS:
        lines.append(
            f"about {events:.3g} worker crashes and max_requests restarts simulated one by one "
            f"per replication, each a worker lifetime to draw and hold (about "
            f"{events * LIFETIME_BYTES / 1e9:.2g} GB a process, more beside many attackers): "
            "the reference engine may be the faster one here")
    for name, server in scenario.servers.items():
        attackers = [a for a in scenario.attackers.values() if name in a.targets]
        if isinstance(key_copies_for(server, attackers, scenario.horizon), KeyCount):
            states = server_chain_states(server, attackers)
            why = (f"the chain would need {states:,.0f} states, more than {MAX_STATES}"
                   if states > MAX_STATES else
                   "beside max_requests, which counts the connections that did not take it")
            candidates = expected_candidates(server, attackers, scenario.horizon)
            slow = ("; at that many the reference engine may be the faster one"
                    if candidates > SLOW_EVENTS else "")
            lines.append(
                f"{name}: key copies counted, not carried as a chain ({why}); about "
                f"{candidates:.3g} connections that could take the key drawn one by one per "
                f"replication{slow}")
        if concurrent_never_passes(server, attackers, scenario.horizon):
            lines.append(
                f"{name}: the concurrent check never passes here (at most "
                f"{passing_captures_bound(server, attackers, scenario.horizon):.3g} passing "
                "captures expected per replication), so where sessions are not drawn "
                "literally every replay is blocked by it")
        elif (server.sessions is not None and "concurrent" in server.sessions.binding
              and server.sessions.lifetime != "next_request"):
            lines.append(
                f"{name}: the concurrent check can pass here, so where the sessions are not "
                "drawn literally they are drawn where their token copies are taken, with the "
                "victims' requests in each window before a replay")
        malicious = sum(not a.benign for a in attackers)
        if malicious > MAX_MALICIOUS and (server.sessions is not None or (
                server.passwords is not None and server.passwords.lifetime != "next_request")):
            lines.append(
                f"{name}: {malicious} malicious attackers, more than the {MAX_MALICIOUS} whose "
                "every union is counted at once: in a replication with more present, sessions "
                "and lingering passwords are drawn capture by capture, attacker by attacker, "
                f"where those draws fit their limits (else, up to {MAX_UNIONS}, every union "
                "is counted, which doubles the cost with each attacker)")
    return lines


def check(scenario: Scenario) -> None:
    """Refuse, before any work, what the fast engine cannot do in reasonable time or memory:
    where key copies are too many for the chain, more connections that could take the key
    drawn one by one than ``key_count.CANDIDATE_LIMIT``, more expected crashes and
    ``max_requests`` restarts per replication than ``EVENT_LIMIT``, and the session and
    password draws' own limits (with more malicious attackers than ``sessions.MAX_UNIONS``,
    those of the draws that follow each capture)."""
    for name, server in scenario.servers.items():
        attackers = [a for a in scenario.attackers.values() if name in a.targets]
        refuse_many_candidates(server, attackers, scenario.horizon)
        refuse_past_limit(scenario, server)
        refuse_session_checks(server, attackers, scenario.horizon)
        refuse_many_patterns(server, attackers, scenario.horizon)
    events = expected_events(scenario)
    if events > EVENT_LIMIT:
        raise EngineRefused(
            f"about {events:.3g} worker crashes and request-count restarts per replication "
            f"would be simulated one by one; the fast engine accepts at most {EVENT_LIMIT:,}. "
            "Lower the attack rate, crash_probability or raise restart.max_requests"
        )


def expected_events(scenario: Scenario) -> float:
    """About how many worker crashes and ``max_requests`` restarts a replication simulates one
    by one while attackers send (the cost ``check`` bounds by ``EVENT_LIMIT``): per server,
    every attacker's crashing connections, and with ``max_requests`` the requests it counts,
    the attackers' other connections and the legitimate requests over their windows, the
    windows summed but at most the horizon. The legitimate requests are counted once per
    server: until 2026-12-07 they were counted once per attacker, which refused a server
    with six attackers at 1.06 million restarts where a run counted 177,000."""
    events = 0.0
    for name, server in scenario.servers.items():
        counted = 0.0
        targeting = [a for a in scenario.attackers.values() if name in a.targets]
        for a in targeting:
            connections = a.connection_rate * longest_window(a, scenario.horizon)
            crashing = crash_chance(server.crash_probability, a.heartbeats_per_connection)
            events += connections * crashing
            counted += connections * (1.0 - crashing)
        if server.restart.max_requests is not None:
            span = longest_union(targeting, scenario.horizon)
            legit = server.traffic.requests_per_s * server.hosts * span
            events += (counted + legit) / server.restart.max_requests
    return events


def simulate(scenario: Scenario, seed: np.random.SeedSequence) -> ReplicationRecord:
    attacker_seed, *server_seeds = child_seeds(seed, 1 + len(scenario.servers))
    attacker_rng = np.random.default_rng(attacker_seed)
    present, windows = draw_attackers(scenario, attacker_rng)
    # stop_when: patched (rule 8): each target's answered window and last connection (.patched).
    stops = patched_stops(scenario, present, windows, attacker_rng)
    observations = Observations()
    servers: dict[str, Captures] = {}
    own: dict[str, dict[str, Captures]] = {
        name: {s: Captures() for s in a.targets} for name, a in scenario.attackers.items()
    }
    for (name, server), server_seed in zip(scenario.servers.items(), server_seeds):
        active = {
            a: (scenario.attackers[a], stops[a, name].answered if (a, name) in stops else windows[a])
            for a in scenario.attackers
            if present[a] and name in scenario.attackers[a].targets and not windows[a].empty
        }
        unanswered = [(a, stop.unanswered) for (a, target), stop in stops.items()
                      if target == name and stop.unanswered is not None]
        active = {a: aw for a, aw in active.items() if not aw[1].empty}
        if not active:
            observations.known_connections.extend(c for _, c in unanswered)
            servers[name] = Captures()
            continue
        rng = np.random.default_rng(server_seed)
        run = ServerRun(scenario, server, active, rng, observations)
        run.run()
        # stop_when: patched: the unanswered last connection, unless the key stopped it first.
        observations.known_connections.extend(
            c for a, c in unanswered
            if not (scenario.attackers[a].stops_at_key and a in run.keys.own
                    and run.keys.own[a].key))
        total = run.keys.total
        for a in active:
            own[a][name] = run.keys.own[a]
        draw, sessions = _secrets(scenario, name, run, rng)
        if draw is not None:
            reusable = server.passwords is not None and server.passwords.kind == "static"
            total.password = draw.total
            total.password_reusable = draw.total if reusable else 0
            for a, count in draw.by_attacker.items():
                own[a][name].password = count
                own[a][name].password_reusable = count if reusable else 0
        if sessions is not None:
            total.session = sessions.total_leaked
            total.session_hijack = sessions.total_hijacked
            total.session_hijack_by_checks = sessions.hijacked_by_checks
            for a, count in sessions.leaked_by_attacker.items():
                own[a][name].session = count
                own[a][name].session_hijack = sessions.hijacked_by_attacker.get(a, 0)
            observations.session_reuses.extend(sessions.reuses)
        if server.passwords is not None and draw is not None:
            # reuse: [passwords] (rule 22): logins at the captures, drawn after every other
            # draw of this server so that scenarios without it keep their random streams.
            observations.password_logins.extend(sample_logins(
                server.passwords, draw, scenario.attackers, name, rng))
        servers[name] = total
    return ReplicationRecord(present=present, servers=servers, attackers=own,
                             observations=observations)


def _secrets(
    scenario: Scenario, name: str, run: ServerRun, rng: np.random.Generator,
) -> tuple[PasswordDraw | None, SessionDraw | None]:
    """The passwords and sessions captured on one server, given its skeleton: drawn together
    where ``next_request`` passwords sit beside sessions and the traffic is light enough to
    draw both literally (:mod:`.shared_buffer`) or, beside ``next_request`` tokens, the reads
    that would capture are few enough (:mod:`.buffer_reads`; lingering passwords beside them,
    :mod:`.lingering_looks`, where every read and the logins are; beside tokens that outlive
    the next request, :mod:`.slot_takes`, where the copies' work is too), or where both linger
    and the sessions are drawn login by login (:mod:`.login_pairs`), else each on its own path.
    Sessions alone where the skeleton drew the logins: ``next_request`` tokens by the shared
    buffer's draw, the others login by login."""
    server = scenario.servers[name]
    workers = server.total_workers
    sources = {a: scenario.attackers[a].sources for a in run.attackers}
    reusing = frozenset(a for a in run.attackers if scenario.attackers[a].reuses_sessions)
    logins = server.hosts * server.traffic.logins_per_s
    targeting = [a for a in scenario.attackers.values() if name in a.targets]
    blocks = concurrent_never_passes(server, targeting, scenario.horizon)
    plan = ELSEWHERE
    if (server.passwords is None and server.sessions is not None and run.logins is not None
            and server.sessions.lifetime == "next_request"):
        # next_request tokens alone on the skeleton's logins, which it drew for this path
        # (shared_buffer.always_shared): the shared buffer's draw without passwords
        return None, sample_shared_buffer(
            server.sessions, run.segments, readable_lifetimes(run.segments, run.lifetimes),
            workers, scenario.horizon, sources, rng, server=name, reusing=reusing,
            known=run.logins, max_requests=server.restart.max_requests, passwords=False,
            lifetimes=run.lifetimes)[1]
    if server.passwords is not None and server.sessions is not None:
        # where the skeleton drew the logins beside next_request passwords, it did so for
        # this path (shared_buffer.always_shared); beside lingering ones, for the lingering
        # path, and this path reads them too where its bounds hold (shared_lifetimes)
        known = run.logins
        touched = shared_lifetimes(server.passwords, server.sessions, run.segments,
                                   run.lifetimes, workers, logins, blocks, known is not None,
                                   server.restart.max_requests)
        if touched is not None:
            return sample_shared_buffer(server.sessions, run.segments, touched, workers,
                                        scenario.horizon, sources, rng, server=name,
                                        reusing=reusing, known=known,
                                        max_requests=server.restart.max_requests,
                                        password_lifetime=server.passwords.lifetime,
                                        lifetimes=run.lifetimes)
        if lingering_looks_fit(server.passwords, server.sessions, run.segments, run.lifetimes,
                               workers, logins, blocks, server.restart.max_requests, known):
            return sample_lingering_looks(server.passwords, server.sessions, run.segments,
                                          run.lifetimes, workers, logins, scenario.horizon,
                                          sources, rng, server=name, reusing=reusing,
                                          known=known, max_requests=server.restart.max_requests)
        if slot_takes_fit(server.passwords, server.sessions, run.segments, workers, logins):
            return sample_slot_takes(server.sessions, run.segments, run.lifetimes, workers,
                                     logins, scenario.horizon, sources, rng, server=name,
                                     reusing=reusing)
        plan = plan_reads(server.passwords, server.sessions, run.segments, workers, logins,
                          blocks)
        if plan.draw is not None:
            return sample_both_at_reads(plan.draw, server.sessions, run.segments,
                                        run.lifetimes, workers, logins, scenario.horizon,
                                        sources, rng, server=name, reusing=reusing)
    draw: PasswordDraw | None = None
    sessions: SessionDraw | None = None
    classes: tuple[dict[Class, int], dict[str, int]] | None = None
    cuts = session_log_cuts(scenario, name)
    session_plan: SessionPlan | None = None
    together = (server.sessions is not None
                and pairs_fit(server.passwords, server.sessions, run.segments, run.lifetimes,
                              workers, logins, server.restart.max_requests, run.logins))
    if server.sessions is not None:
        session_plan = plan_sessions(server.sessions, run.segments, run.lifetimes, workers,
                                     logins, scenario.horizon, reusing=reusing,
                                     concurrent_blocks=blocks, cuts=cuts,
                                     passwords_along=together and server.passwords is not None,
                                     logins_known=together and server.passwords is None)
    if together and session_plan is not None and session_plan.path in ("logins", "takes"):
        draw, classes, sessions = _drawn_together(scenario, name, run, session_plan, sources,
                                                  reusing, rng)
    elif server.passwords is not None:
        logging_in = server.passwords.kind == "static" and any(
            scenario.attackers[a].logs_in for a in run.attackers)
        draw = draw_passwords(server.passwords, server.sessions, run.segments,
                              run.lifetimes, workers, server.restart.max_requests, rng,
                              times_read=logging_in, horizon=scenario.horizon)
    if server.sessions is not None and sessions is None:
        sessions = sample_sessions(server.sessions, run.segments, run.lifetimes, workers,
                                   server.hosts, server.traffic.logins_per_s, scenario.horizon,
                                   sources, rng, server=name, reusing=reusing,
                                   concurrent_blocks=blocks, cuts=cuts,
                                   drawn_apart=frozenset(n for n, _ in plan.alone),
                                   plan=session_plan, drawn_classes=classes)
    for reader, at_reads in plan.alone:
        assert draw is not None and sessions is not None and server.sessions is not None
        draw.by_attacker[reader], sessions.leaked_by_attacker[reader] = sample_benign_alone(
            reader, at_reads, server.sessions, run.segments, run.lifetimes, workers, logins,
            scenario.horizon, rng)
    return draw, sessions


def _drawn_together(
    scenario: Scenario, name: str, run: ServerRun, plan: SessionPlan, sources: dict[str, int],
    reusing: frozenset[str], rng: np.random.Generator,
) -> tuple[PasswordDraw | None, tuple[dict[Class, int], dict[str, int]] | None,
           SessionDraw | None]:
    """Lingering passwords drawn with the sessions login by login (:mod:`.login_pairs`), or
    without passwords the sessions alone, from the logins the skeleton drew: on the "logins"
    path with the sessions' classes (for :func:`.sessions.sample_sessions` to finish), on
    "takes" with the sessions themselves, drawn where their copies are taken."""
    server = scenario.servers[name]
    assert server.sessions is not None
    spec, workers = server.sessions, server.total_workers
    logins = server.hosts * server.traffic.logins_per_s
    common = (server.passwords, spec, run.segments, run.lifetimes, workers, logins)
    if plan.path == "logins":
        found = plan.found
        assert found is not None
        draw, tally = sample_pairs(
            *common, (found.srv.sets, found.srv.until),
            lambda live, sums, shares: ClassTally(
                spec, run.segments, sums, workers, scenario.horizon, found.srv.sets,
                found.timing, len(found.cuts), shares),
            rng, server.restart.max_requests, run.logins)
        return draw, (tally.counts, tally.benign), None
    names, _ = attacker_names(run.segments)
    draw, takes = sample_pairs(
        *common, every_reader(names),
        lambda live, sums, shares: (
            CountedTakes(spec, live, sums, workers, scenario.horizon, shares) if any(shares)
            else TakesTally(spec, live, sums, workers, scenario.horizon)),
        rng, server.restart.max_requests, run.logins)
    return draw, None, takes.draw(run.segments, sources, rng, server=name, reusing=reusing)
