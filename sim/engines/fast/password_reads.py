"""``next_request`` passwords drawn where the reads look.

Without sessions a worker's legitimate requests are logins and other requests, two Poisson
streams of constant rates (rule 18), and its recycled read buffer holds what the newest one
left: a login's password, or nothing (``model.md``, Residency). The counting chain
(:mod:`.password_chain`) gets each lifetime's chance of no capture and the mean exactly, but
draws a count above zero as zero-truncated Poisson and its capture times apart from it (items
1 and 10 of ``docs/fast-engine.md``): a ``login`` detector cut inside the attack, or one whose
logins may come from the victim's own address, reads both.

Here, as in :mod:`.session_reads`, the reads that would capture a resident password
(*candidates*) are drawn first, and the buffer at each given the one before: between two
looks at a worker the newest request is a login with its rate's share, a new login each time
(logins never repeat), or none came and the buffer holds what it held; a restart empties it.
The workers' streams are independent, so each worker is drawn at once with arrays. Every
count, for each attacker and any set of them, and every first-capture time (when ``reuse:
[passwords]`` logs in) then has its law given the skeleton (with ``max_requests``, items 11
and 13, as on the chain).

With sessions their requests empty the slot too, whatever their tokens' residency, and the
requests are no longer Poisson: the chain's ``P(N = 0)`` and the workers' independence are
then approximate (item 12). Where the tokens share the slot, :mod:`.buffer_reads` draws both
kinds at the reads; where they outlive the next request (or are drawn literally), and the
requests are too many for :mod:`.session_slot` to draw them all, the looks of
:mod:`.session_reads` and :mod:`.slot_looks` draw the passwords alone
(:func:`sample_slot_passwords_at_reads`): each look's newest request from the logins, the
sessions they open and the other requests, exactly as for the tokens. The two kinds are then
drawn apart (item 14).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from sim.engines.fast import slot_looks
from sim.engines.fast.password_chain import PasswordDraw
from sim.engines.fast.reads import (
    Kinds,
    attacker_names,
    counted_shared_reads,
    password_capture,
)
from sim.engines.fast.segments import Segment, WorkerLifetime, expected_connections
from sim.engines.fast.session_reads import (
    PASSWORD,
    Pulls,
    candidate_work,
    candidates,
    read_lifetimes,
)
from sim.engines.fast.session_slot import Takes, count_passwords, count_takes, readable_lifetimes
from sim.scenario.model import SessionSpec


def reads_passwords(segments: Sequence[Segment], workers: int) -> bool:
    """Whether ``next_request`` passwords without sessions are drawn here: while at most
    :data:`.slot_looks.LOOKS_LIMIT` candidates are expected (arrays, as there; until
    2026-12-06 late, 5,000)."""
    return (candidate_work("next_request", segments, workers, kinds=PASSWORD)
            <= slot_looks.LOOKS_LIMIT)


def sample_passwords_at_reads(segments: Sequence[Segment], lifetimes: Sequence[WorkerLifetime],
                              rng: np.random.Generator) -> PasswordDraw:
    """Distinct passwords captured, in total (malicious attackers) and per attacker, with each
    attacker's first-capture times (module docstring)."""
    names, malicious = attacker_names(segments)
    index = {n: i for i, n in enumerate(names)}
    seg = segments[0]  # without sessions the legitimate rates never change (rule 18)
    logins, requests = seg.logins, seg.requests
    pulls: Pulls = {}
    taken: list[Takes] = []
    issued = 0
    for lives in read_lifetimes(segments, lifetimes, index).values():
        t, who, _ = candidates(segments, lives, index, "next_request", PASSWORD, pulls, rng)
        order = np.argsort(t, kind="stable")
        t, who = t[order], who[order]
        starts = np.array([lt.start for lt in lives])
        begun = starts[np.searchsorted(starts, t, side="right") - 1]
        before = np.concatenate(([-np.inf], t[:-1]))
        fresh = before < begun  # the first look in its lifetime: the buffer began empty
        since = np.where(fresh, begun, before)
        came = rng.random(t.size) < -np.expm1(-requests * (t - since))
        login = rng.random(t.size) * requests < logins
        # the buffer at each look: what the newest look with news left (a new login's
        # password, an index unique to it, or nothing)
        news = came | fresh
        left = np.where(came & login, issued + np.arange(t.size), -1)
        held = left[np.maximum.accumulate(np.where(news, np.arange(t.size), 0))]
        issued += t.size
        took = held >= 0
        taken.append((held[took], who[took], t[took]))
    return count_takes(taken, names, malicious)


def counted_reads_fit(segments: Sequence[Segment], workers: int) -> bool:
    """Whether :func:`sample_counted_passwords_at_reads` runs here: every connection of the
    attack is a read there, not only the candidates, within :data:`.slot_looks.LOOKS_LIMIT`
    expected."""
    return expected_connections(segments, workers, vulnerable=True) <= slot_looks.LOOKS_LIMIT


def sample_counted_passwords_at_reads(
    segments: Sequence[Segment], lifetimes: Sequence[WorkerLifetime], max_requests: int,
    rng: np.random.Generator,
) -> PasswordDraw:
    """:func:`sample_passwords_at_reads` beside ``max_requests``, each lifetime given the count
    that ended it (``docs/fast-engine.md``, item 13; the skeleton's restarts are exact here,
    item 11 being about sessions' clusters). Each readable lifetime's connections are drawn
    given that count (:func:`.reads.counted_shared_reads`), every one a read with its chance,
    and with them ``k``, how many legitimate requests fall inside. Their rates are constant
    without sessions (rule 18), so given ``k`` they fall independently and uniformly in the
    lifetime: the buffer has news at a read iff one fell since the read before (a multinomial
    over the gaps), and the newest of them is a login with the logins' share of the rate,
    independently of the rest (given their total, the split into logins and other requests
    types each request independently)."""
    names, malicious = attacker_names(segments)
    index = {n: i for i, n in enumerate(names)}
    starts = [s.t0 for s in segments]
    # a server with no legitimate requests has no news at any read (``k`` is 0 below)
    share = segments[0].logins / segments[0].requests if segments[0].requests > 0.0 else 0.0
    kinds: Kinds = [(password_capture, "next_request")]
    taken: list[Takes] = []
    issued = 0
    for lt in readable_lifetimes(segments, lifetimes):
        drawn = counted_shared_reads(segments, starts, lt, kinds, index, max_requests, rng)
        t, who, q, _ = drawn.reads
        order = np.argsort(t, kind="stable")
        t, who, q = t[order], who[order], q[order, 0]
        gaps = np.diff(np.concatenate(([lt.start], t, [lt.end])))
        k = drawn.logins + drawn.requests
        came = (rng.multinomial(k, gaps / gaps.sum())[:-1] > 0 if k
                else np.zeros(t.size, dtype=bool))
        login = rng.random(t.size) < share
        at = np.arange(t.size)
        # the buffer at each read: what the newest read with news found left (a new login's
        # password, an index unique to it, or nothing); empty before the lifetime's first
        left = np.where(came & login, issued + at, -1)
        newest = np.maximum.accumulate(np.where(came, at, -1))
        held = np.where(newest >= 0, left[newest], -1)
        issued += t.size
        took = (held >= 0) & (rng.random(t.size) < q)
        taken.append((held[took], who[took], t[took]))
    return count_takes(taken, names, malicious)


def slot_at_reads(sessions: SessionSpec, segments: Sequence[Segment],
                  workers: int) -> tuple[SessionSpec, slot_looks.DrawAtReads] | None:
    """The draw at the reads of ``next_request`` passwords beside ``sessions``
    (:func:`.slot_looks.draw_at_reads`, the cheaper of its two, within their limits), with
    the sessions as the slot sees them: their requests empty it, whatever their tokens'
    residency. None where neither fits."""
    slot = replace(sessions, lifetime="next_request")
    logins = segments[0].logins * workers
    draw = slot_looks.draw_at_reads(slot, segments, workers, logins, kinds=PASSWORD)
    return None if draw is None else (slot, draw)


def sample_slot_passwords_at_reads(
    slot: SessionSpec, draw: slot_looks.DrawAtReads, segments: Sequence[Segment],
    lifetimes: Sequence[WorkerLifetime], workers: int, horizon: float,
    rng: np.random.Generator,
) -> PasswordDraw:
    """Distinct passwords captured, in total (malicious attackers) and per attacker, with each
    attacker's first-capture times, where sessions empty the slot (:func:`slot_at_reads`)."""
    names, malicious = attacker_names(segments)
    found = draw(slot, segments, lifetimes, workers, segments[0].logins * workers, horizon,
                 names, rng, PASSWORD)
    return count_passwords(found.password, found.who, found.when, names, malicious)
