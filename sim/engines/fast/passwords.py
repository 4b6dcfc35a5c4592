"""Passwords captured on one server: the requests drawn one by one where sessions empty a
``next_request`` slot and they are few, the slot drawn at the reads where the reads are few
(since 2026-12-07 with sessions too), else the counting chain when few passwords can be
resident at once, the lingering-password sampler when many can.

The chain costs about the cube of its states per piece of a lifetime, the sampler about the
number of attacker connections it samples: the sampler is taken past :data:`SMALL_CHAIN`
states unless the attack is heavy, and always past the chain's limit (``check`` bounds its
cost there). Where the chain would leave out what can be read, the sampler is taken whatever
the cost within :data:`.lingering.READ_LIMIT` reads: where an attacker logs in with the
passwords (their times and spread, item 10 of ``docs/fast-engine.md``) and with
``max_requests`` (each lifetime read given the count that ended it, item 13; where the
skeleton drew the logins, :mod:`.login_timeline`, the sampler follows them). With two or
more malicious attackers the chain and the sampler count every set of them; lingering
passwords are then drawn login by login where that costs less, and always past
:data:`.sessions.MAX_MALICIOUS` of them (:func:`.lingering.sample_each_login`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sim.engines.fast.password_chain import MAX_STATES, PasswordDraw, sample_passwords, state_count
from sim.engines.fast.lingering import (
    EACH_LOGIN_LIMIT,
    MANY_ATTACKERS_LOGIN_LIMIT,
    READ_LIMIT,
    each_login_work,
    sample_each_login,
    sample_known_logins,
    sample_lingering,
)
from sim.engines.fast.password_reads import (
    counted_reads_fit,
    reads_passwords,
    sample_counted_passwords_at_reads,
    sample_passwords_at_reads,
    sample_slot_passwords_at_reads,
    slot_at_reads,
)
from sim.engines.fast.reads import attacker_names, counting_sets
from sim.engines.fast.segments import Segment, WorkerLifetime, expected_connections
from sim.engines.fast.sessions import CONCURRENT_LITERAL_LIMIT, MAX_MALICIOUS, MAX_UNIONS
from sim.engines.fast.slot_looks import LOOKS_LIMIT, looks_bound
from sim.engines.fast.session_slot import (
    DRAWN_LIMIT,
    literal_cost,
    readable_lifetimes,
    sample_slot_passwords,
    session_slot,
)
from sim.engines import EngineRefused
from sim.model.attackers import longest_union, longest_window
from sim.scenario.model import Attacker, PasswordSpec, Server, SessionSpec


#: Chains up to this many states are integrated whatever the attack.
SMALL_CHAIN = 12
#: Expected attacker connections per replication above which a chain (up to its limit) is
#: cheaper than sampling them.
HEAVY_ATTACK = 10_000
#: Seconds per login and attacker of the draw login by login, and per counting set and
#: lifetime, and per set and read, of the sampler's (measured on the agreement suite's
#: ``lingering`` without sessions, 2 to 6 malicious attackers, their rates and the logins
#: times 1 to 300, 2026-12-06: the draw login by login 1.5 to 43 ms a replication, the
#: sampler 1.9 to 249). Both are exact; these only pick the cheaper.
EACH_LOGIN_COST = 0.1e-6
SET_LIFETIME_COST = 5e-6
SET_READ_COST = 0.6e-6


def draw_passwords(
    spec: PasswordSpec,
    sessions: SessionSpec | None,
    segments: Sequence[Segment],
    lifetimes: Sequence[WorkerLifetime],
    workers: int,
    max_requests: int | None,
    rng: np.random.Generator,
    times_read: bool = False,
    *,
    horizon: float,
) -> PasswordDraw:
    """Distinct passwords captured, in total (malicious attackers) and per attacker, with what
    :mod:`.logins` needs to draw each attacker's first-capture times on any path.
    ``times_read``: some attacker logs in with what it captures here (rule 22), so the
    captures' times and their spread are read."""
    names, malicious = attacker_names(segments)
    if sessions is not None and session_slot(spec.lifetime, segments):
        touched = readable_lifetimes(segments, lifetimes)
        # past MAX_MALICIOUS attackers the chain's 2^n sets grow costly (17.7 s a replication
        # at fourteen, where this took 0.43): drawn literally within a larger limit, which
        # check bounds past MAX_UNIONS (refuse_many_patterns)
        limit = CONCURRENT_LITERAL_LIMIT if len(malicious) > MAX_MALICIOUS else DRAWN_LIMIT
        if literal_cost(sessions, segments, touched, workers) <= limit:
            return sample_slot_passwords(sessions, segments, touched, workers, rng)
        # past it the slot at the reads, where the chain would approximate it (item 12)
        if (at_reads := slot_at_reads(sessions, segments, workers)) is not None:
            return sample_slot_passwords_at_reads(*at_reads, segments, lifetimes, workers,
                                                  horizon, rng)
    elif spec.lifetime == "next_request" and reads_passwords(segments, workers):
        if max_requests is not None and counted_reads_fit(segments, workers):
            return sample_counted_passwords_at_reads(segments, lifetimes, max_requests, rng)
        return sample_passwords_at_reads(segments, lifetimes, rng)
    reads = expected_connections(segments, workers)
    sets = counting_sets(names, malicious)
    # Where the skeleton drew the logins (item 11) the lingering path follows them, unless a
    # heavy attack makes the chain cheaper; past the chain's size it follows them whatever
    # the attack (``check`` bounds the reads there as for the lingering path).
    known = (max_requests is not None and spec.lifetime != "next_request" and bool(lifetimes)
             and lifetimes[0].logins is not None)
    # The chain draws the login times apart from their count, and with max_requests reads
    # each lifetime free of the count that ended it (items 10 and 13): where either can be
    # read, lingering passwords take the exact path within its limit, whatever the cost.
    exact = (spec.lifetime != "next_request" and (times_read or max_requests is not None)
             and reads <= READ_LIMIT)
    each = not known and _login_by_login(spec, segments, lifetimes, workers, reads,
                                         len(malicious))
    many = len(malicious) > MAX_MALICIOUS
    if not exact and (not known or reads > HEAVY_ATTACK) and not (each and many):
        states = state_count(spec, segments, lifetimes)
        if states <= SMALL_CHAIN or (states <= MAX_STATES and reads > HEAVY_ATTACK):
            return sample_passwords(spec, segments, lifetimes, workers, rng)
    if known:
        assert max_requests is not None
        counts, times = sample_known_logins(spec, segments, lifetimes, sets, rng, max_requests)
        count, first_times = dict(zip(sets, counts)), dict(zip(sets, times))
        return PasswordDraw(count[malicious] if malicious else 0,
                            {name: count[frozenset({name})] for name in names},
                            capture_times={name: first_times[frozenset({name})]
                                           for name in names})
    if each:
        total, by_attacker, taken_at = sample_each_login(spec, segments, lifetimes, rng,
                                                         max_requests)
        return PasswordDraw(total, by_attacker, capture_times=taken_at)
    counts, marks = sample_lingering(spec, segments, lifetimes, sets, rng, max_requests)
    count, first = dict(zip(sets, counts)), dict(zip(sets, marks))
    return PasswordDraw(count[malicious] if malicious else 0,
                        {name: count[frozenset({name})] for name in names},
                        first_reads={name: first[frozenset({name})] for name in names})


def _login_by_login(spec: PasswordSpec, segments: Sequence[Segment],
                    lifetimes: Sequence[WorkerLifetime], workers: int, reads: float,
                    malicious: int) -> bool:
    """Whether lingering passwords are drawn login by login (:func:`.lingering.sample_each_login`)
    rather than by the sampler's counting sets, where two or more malicious attackers make
    the sampler count every set of them (``2^n``, and the chain as many): past
    :data:`.sessions.MAX_MALICIOUS` of them wherever it is within its limits, below where it
    is expected to cost less. Both are exact."""
    if spec.lifetime == "next_request" or malicious < 2 or reads > READ_LIMIT:
        return False
    work = each_login_work(segments, workers)
    if work > EACH_LOGIN_LIMIT:
        # past MAX_UNIONS nothing else can draw them, and check bounded the logins
        return malicious > MAX_UNIONS
    sets = 2.0**malicious
    return malicious > MAX_MALICIOUS or work * EACH_LOGIN_COST <= sets * (
        len(lifetimes) * SET_LIFETIME_COST + reads * SET_READ_COST)


def refuse_many_patterns(server: Server, attackers: Sequence[Attacker], horizon: float) -> None:
    """Raise :class:`EngineRefused` where past :data:`.sessions.MAX_UNIONS` malicious attackers
    the passwords could reach the counting chain or the sampler, which count every set of
    them (``2^n``): where neither draw that follows each capture is sure to fit, from the
    scenario alone (every connection a candidate read, every attacker over its longest
    window): ``next_request`` passwords at the reads (:data:`.slot_looks.LOOKS_LIMIT`
    candidates, and where sessions empty their slot the logins the looks draw) or, where
    sessions empty it, literally (:data:`.sessions.CONCURRENT_LITERAL_LIMIT`), lingering ones
    login by login
    (:data:`.lingering.MANY_ATTACKERS_LOGIN_LIMIT` logins, :data:`.lingering.READ_LIMIT`
    reads)."""
    spec = server.passwords
    malicious = sum(not a.benign for a in attackers)
    if spec is None or malicious <= MAX_UNIONS or server.traffic.logins_per_s <= 0.0:
        return
    windows = [longest_window(a, horizon) for a in attackers]
    reads = sum(a.connection_rate * w for a, w in zip(attackers, windows))
    logins = server.traffic.logins_per_s * server.hosts
    sessions = server.sessions
    if spec.lifetime == "next_request" and sessions is not None and sessions.requests_per_s > 0:
        # sessions empty the slot: drawn literally (session_slot.literal_cost, at most every
        # request and login of the timeline) or, past that, at the reads
        work = (server.traffic.requests_per_s * server.hosts * horizon
                + logins * (horizon + sessions.ttl) + reads)
        looks = looks_bound(attackers, horizon, logins, sessions.ttl)
        if work <= CONCURRENT_LITERAL_LIMIT or looks <= LOOKS_LIMIT:
            return
        work, limit, what = looks, LOOKS_LIMIT, "candidate reads and logins at the reads"
    elif spec.lifetime == "next_request":
        work, limit, what = reads, LOOKS_LIMIT, "candidate reads at the reads"
    else:
        # each login of a worker while someone reads it (lingering.each_login_work, which
        # multiplies by the attackers): over the windows' union, not their sum
        work = logins * longest_union(attackers, horizon)
        limit, what = MANY_ATTACKERS_LOGIN_LIMIT, "logins drawn one by one"
        if reads > READ_LIMIT:
            work, limit, what = reads, READ_LIMIT, "reads"
    if work > limit:
        raise EngineRefused(
            f"server {server.name}: {malicious} malicious attackers target it, more than the "
            f"{MAX_UNIONS} whose every set the fast engine can count for its passwords, and the "
            f"draw that follows each capture could need about {work:,.0f} {what} per "
            f"replication, more than its limit of {limit:,.0f}. Merge attackers, or shorten "
            "the timeline or lower the rates")
