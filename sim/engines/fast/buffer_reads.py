"""Passwords and session tokens in one ``next_request`` slot, drawn together where the reads
look.

Under ``next_request`` a worker's recycled read buffer holds what its newest request left: a
login's password, a session request's token, or nothing (``model.md``, Residency), so one
attacker's password and session captures depend on each other (``docs/fast-engine.md``,
item 14). :mod:`.shared_buffer` draws both from every request while they are few; past that,
the passwords took the counting chain (item 12: a lifetime's ``P(N = 0)`` and its workers'
independence approximate) and the sessions the draw at the reads, each on its own.

Here the draw at the reads (:mod:`.session_reads`) carries the passwords too: a candidate is a
read that would capture the likelier of the two kinds, and at each candidate the slot is drawn
as there; a login it finds newest leaves its password, which the candidate takes with that
kind's share of its chance. Everything the slot held at any read is drawn from its law given
the skeleton, so both counts, their joint, and every password's first-capture time (the
logins of ``reuse: [passwords]``) are exact given it, as the draw at the reads makes the
sessions (with ``max_requests``, items 11 and 13 as there).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np

from sim.engines.fast.password_chain import PasswordDraw
from sim.engines.fast.reads import attacker_names
from sim.engines.fast.segments import Segment, WorkerLifetime
from sim.engines.fast.session_literal import SessionDraw, never_idle, try_sessions
from sim.engines.fast.session_reads import BOTH
from sim.engines.fast.session_slot import count_passwords
from sim.engines.fast.sessions import concurrent_needs_literal, literal_sessions
from sim.engines.fast.slot_looks import DrawAtReads, draw_at_reads
from sim.scenario.model import PasswordSpec, SessionSpec


class ReadsPlan(NamedTuple):
    """What is drawn here on one server: the server, with ``draw``, or beside the integrated
    sweep and the chain, each benign reader of ``alone`` at its own reads, with its draw."""

    draw: DrawAtReads | None
    alone: tuple[tuple[str, DrawAtReads], ...]


#: Nothing drawn here.
ELSEWHERE = ReadsPlan(None, ())


def plan_reads(passwords: PasswordSpec, sessions: SessionSpec, segments: Sequence[Segment],
               workers: int, logins: float, concurrent_blocks: bool) -> ReadsPlan:
    """The server is drawn here, past the shared path (:mod:`.shared_buffer`, which the caller
    tried first), where both kinds sit in the slot, the sessions send requests and no
    ``concurrent`` check needs the literal draw (:func:`.sessions.concurrent_needs_literal`,
    with ``logins`` per second on the whole server and ``concurrent_blocks`` as there), and
    the candidates expected are few enough for a draw at the reads
    (:func:`.slot_looks.draw_at_reads`). Until 2026-12-07 not where the sessions were drawn
    literally for cost either, whose passwords were then drawn apart (item 14).

    Where they are more than that even for the tokens alone, the sessions take the
    integrated sweep and the passwords the chain, and each benign reader whose own candidates
    are few enough is drawn here alone (:func:`sample_benign_alone`): a benign reader's counts
    are reported alone (nothing reads them jointly with another attacker's; the totals count
    the malicious ones), so they can be drawn exactly whatever the heavy readers beside them,
    where the sweep and the chain would approximate them (items 3 and 12)."""
    if not _both_in_slot(passwords, sessions, logins, concurrent_blocks):
        return ELSEWHERE
    if (draw := draw_at_reads(sessions, segments, workers, logins, kinds=BOTH)) is not None:
        return ReadsPlan(draw, ())
    if (literal_sessions(sessions, segments, workers, logins, concurrent_blocks)
            or draw_at_reads(sessions, segments, workers, logins) is not None):
        return ELSEWHERE  # the sessions alone, literally or at the reads (sessions.py)
    names, malicious = attacker_names(segments)
    return ReadsPlan(None, tuple(
        (n, draw) for n in names if n not in malicious and (draw := draw_at_reads(
            sessions, segments, workers, logins, frozenset({n}), BOTH)) is not None))


def _both_in_slot(passwords: PasswordSpec, sessions: SessionSpec, logins: float,
                  concurrent_blocks: bool) -> bool:
    """Both kinds in a ``next_request`` slot, sessions that send requests, and no check that
    only the literal draw can run."""
    return (passwords.lifetime == "next_request" and sessions.lifetime == "next_request"
            and logins > 0.0 and sessions.requests_per_s > 0.0
            and not concurrent_needs_literal(sessions, concurrent_blocks))


def sample_both_at_reads(
    draw: DrawAtReads,
    sessions: SessionSpec,
    segments: Sequence[Segment],
    lifetimes: Sequence[WorkerLifetime],
    workers: int,
    logins: float,
    horizon: float,
    attacker_sources: Mapping[str, int],
    rng: np.random.Generator,
    *,
    server: str,
    reusing: frozenset[str] | None,
) -> tuple[PasswordDraw, SessionDraw]:
    """The passwords and sessions captured on one server in one replication by ``draw``
    (:func:`plan_reads`; module docstring); the sessions are tried as on the draw at the
    reads alone."""
    names, malicious = attacker_names(segments)
    found = draw(sessions, segments, lifetimes, workers, logins, horizon, names, rng, BOTH)
    drawn = try_sessions(sessions, found.first, never_idle, names, malicious, attacker_sources,
                         rng, server=server, reusing=reusing)
    return count_passwords(found.password, found.who, found.when, names, malicious), drawn


def sample_benign_alone(
    name: str,
    draw: DrawAtReads,
    sessions: SessionSpec,
    segments: Sequence[Segment],
    lifetimes: Sequence[WorkerLifetime],
    workers: int,
    logins: float,
    horizon: float,
    rng: np.random.Generator,
) -> tuple[int, int]:
    """One benign reader's passwords and sessions captured (:func:`plan_reads`), drawn at its
    own reads."""
    found = draw(sessions, segments, lifetimes, workers, logins, horizon, [name], rng, BOTH)
    return int(np.unique(found.password).size), int(np.isfinite(found.first).any(axis=1).sum())
