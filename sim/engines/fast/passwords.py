"""Passwords captured on one server: the requests drawn one by one where sessions empty a
``next_request`` slot and they are few, the slot drawn at the reads where no session does and
the reads are few, else the counting chain when few passwords can be resident at once, the
lingering-password sampler when many can.

The chain costs about the cube of its states per piece of a lifetime, the sampler about the
number of attacker connections it samples: the sampler is taken past :data:`SMALL_CHAIN`
states unless the attack is heavy, and always past the chain's limit (``check`` bounds its
cost there). Where the chain would leave out what can be read, the sampler is taken whatever
the cost within :data:`.lingering.READ_LIMIT` reads: where an attacker logs in with the
passwords (their times and spread, item 10 of ``docs/fast-engine.md``) and with
``max_requests`` (each lifetime read given the count that ended it, item 13; where the
skeleton drew the logins, :mod:`.login_timeline`, the sampler follows them).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sim.engines.fast.password_chain import MAX_STATES, PasswordDraw, sample_passwords, state_count
from sim.engines.fast.lingering import READ_LIMIT, sample_known_logins, sample_lingering
from sim.engines.fast.password_reads import reads_passwords, sample_passwords_at_reads
from sim.engines.fast.reads import attacker_names, counting_sets
from sim.engines.fast.segments import WorkerLifetime, Segment
from sim.engines.fast.session_slot import (
    DRAWN_LIMIT,
    literal_cost,
    readable_lifetimes,
    sample_slot_passwords,
    session_slot,
)
from sim.scenario.model import PasswordSpec, SessionSpec


#: Chains up to this many states are integrated whatever the attack.
SMALL_CHAIN = 12
#: Expected attacker connections per replication above which a chain (up to its limit) is
#: cheaper than sampling them.
HEAVY_ATTACK = 10_000


def draw_passwords(
    spec: PasswordSpec,
    sessions: SessionSpec | None,
    segments: Sequence[Segment],
    lifetimes: Sequence[WorkerLifetime],
    workers: int,
    max_requests: int | None,
    rng: np.random.Generator,
    times_read: bool = False,
) -> PasswordDraw:
    """Distinct passwords captured, in total (malicious attackers) and per attacker, with what
    :mod:`.logins` needs to draw each attacker's first-capture times on any path.
    ``times_read``: some attacker logs in with what it captures here (rule 22), so the
    captures' times and their spread are read."""
    if sessions is not None and session_slot(spec.lifetime, segments):
        touched = readable_lifetimes(segments, lifetimes)
        if literal_cost(sessions, segments, touched, workers) <= DRAWN_LIMIT:
            return sample_slot_passwords(sessions, segments, touched, workers, rng)
    elif spec.lifetime == "next_request" and reads_passwords(segments, workers):
        return sample_passwords_at_reads(segments, lifetimes, rng)
    reads = workers * sum(s.duration * sum(a.connection_rate for a in s.attackers)
                          for s in segments)
    names, malicious = attacker_names(segments)
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
    if not exact and (not known or reads > HEAVY_ATTACK):
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
    counts, marks = sample_lingering(spec, segments, lifetimes, sets, rng, max_requests)
    count, first = dict(zip(sets, counts)), dict(zip(sets, marks))
    return PasswordDraw(count[malicious] if malicious else 0,
                        {name: count[frozenset({name})] for name in names},
                        first_reads={name: first[frozenset({name})] for name in names})
