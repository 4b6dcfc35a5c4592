"""Passwords kept for a duration or until the next key operation beside ``next_request``
tokens, drawn with the tokens where the reads look.

Such a password is not in the token slot, but it comes from the login that opens the session
whose requests put tokens there, and the same connections read both: one attacker's password
and session captures depend on each other (``docs/fast-engine.md``, item 14).
:mod:`.shared_buffer` draws both from every request while they are few; past its bounds the
tokens were drawn at the reads and the passwords on the lingering path, each from logins of
its own. Here the arrays' draw at the reads (:mod:`.slot_looks`) carries the passwords:

* every attacker connection to a lifetime that can hold a candidate is drawn once, with each
  kind's chance (:func:`.reads.sample_shared_reads`). Given the skeleton a connection takes
  the token in the slot and each resident password independently (``model.md``: every piece,
  every heartbeat), so the token's candidates are the connections whose own uniform falls
  below the token's chance: the Poisson law :func:`.session_reads.sorted_candidates` draws
  them from, the same point reads kept with the same chance;
* the looks are drawn at those candidates (:func:`.slot_looks.draw_looks`), and the tokens
  taken as there;
* each login's password is then followed through its residency by every connection of its
  lifetime (:func:`.lingering.lingering_takes`, exact given the reads). The logins are those
  the looks drew and, on the rest of each lifetime up to its last read, a Poisson stream at
  the per-worker login rate drawn now: no look read those stretches, so given the looks the
  logins there are still that stream (:meth:`.slot_looks.DrawnLogins.undrawn`), and what
  becomes of a password, given its login, depends on the reads and the key operations alone,
  not on the sessions' requests.

So both kinds' counts, their joint per attacker and the passwords' first captures (the
logins of ``reuse: [passwords]``) have their law given the skeleton. The cost is every
connection read, not only the candidates, beside the logins the looks draw and those of the
lifetimes read (:func:`lingering_looks_work`, at most :data:`.slot_looks.LOOKS_LIMIT`).
With ``max_requests`` only where the skeleton drew the logins (:mod:`.login_timeline`, for
the lingering passwords' own path): the looks and the passwords then read those logins, every
one of them (nothing is left to draw), and each lifetime's connections are drawn given the
count that ended it (:func:`.reads.counted_shared_reads`). The passwords are then exact given
the count, as on the shared path; the looks still take the requests inside a lifetime as
free streams, as the tokens' own draw at the reads does (item 13).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from sim.engines.fast.lingering import lingering_takes
from sim.engines.fast.password_chain import PasswordDraw
from sim.engines.fast.login_timeline import LoginTimeline
from sim.engines.fast.reads import (
    Kinds,
    attacker_names,
    counted_shared_reads,
    in_time_order,
    password_capture,
    sample_shared_reads,
)
from sim.engines.fast.segments import Segment, WorkerLifetime, expected_connections, read_span
from sim.engines.fast.session_literal import SessionDraw, never_idle, token_capture, try_sessions
from sim.engines.fast.session_reads import TOKEN, read_lifetimes
from sim.engines.fast.session_slot import Takes, count_takes
from sim.engines.fast.sessions import concurrent_needs_literal
from sim.engines.fast.slot_looks import (
    LOOKS_LIMIT,
    DrawnLogins,
    WorkerCandidates,
    draw_looks,
    looks_at,
    slot_captures,
)
from sim.scenario.model import PasswordSpec, SessionSpec

#: A lifetime's connections: times in order, attackers, the password's chance and whether
#: the connection's key operations clear a ``next_handshake`` password first.
LifetimeReads = tuple[WorkerLifetime, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def lingering_looks_work(
    passwords: PasswordSpec, sessions: SessionSpec, segments: Sequence[Segment],
    lifetimes: Sequence[WorkerLifetime], workers: int, logins: float,
    concurrent_blocks: bool, max_requests: int | None, known: LoginTimeline | None = None,
) -> float | None:
    """Expected connections and logins this draw lists on one server replication (``logins``
    per second on it), or None where it does not apply: lingering passwords beside
    ``next_request`` tokens whose sessions send requests, ``max_requests`` only on the logins
    the skeleton drew (``known``), and no ``concurrent`` check that only the literal draw can
    run. The connections are those of the vulnerable window (outside it they capture
    nothing; under ``next_handshake`` those that make a key operation are drawn too, as
    clears), the logins those over the stretches the looks can meet
    (:func:`.segments.read_span`) and over each lifetime read, up to the attack's end (none
    where the skeleton drew them)."""
    if (passwords.lifetime == "next_request" or sessions.lifetime != "next_request"
            or (max_requests is not None and known is None) or logins <= 0.0
            or sessions.requests_per_s <= 0.0
            or concurrent_needs_literal(sessions, concurrent_blocks)):
        return None
    names, _ = attacker_names(segments)
    by_worker = read_lifetimes(segments, lifetimes, {n: i for i, n in enumerate(names)})
    if not by_worker:
        return 0.0
    reads = expected_connections(segments, workers,
                                 vulnerable=passwords.lifetime != "next_handshake")
    if known is not None:
        return reads
    last = max(s.t1 for s in segments if s.attackers)
    held = sum(max(0.0, min(lt.end, last) - lt.start)
               for lives in by_worker.values() for lt in lives)
    return reads + logins * read_span(segments, sessions.ttl) + logins / workers * held


def lingering_looks_fit(
    passwords: PasswordSpec, sessions: SessionSpec, segments: Sequence[Segment],
    lifetimes: Sequence[WorkerLifetime], workers: int, logins: float,
    concurrent_blocks: bool, max_requests: int | None, known: LoginTimeline | None = None,
) -> bool:
    """Whether this draw takes the server (:func:`lingering_looks_work` within
    :data:`.slot_looks.LOOKS_LIMIT`)."""
    work = lingering_looks_work(passwords, sessions, segments, lifetimes, workers, logins,
                                concurrent_blocks, max_requests, known)
    return work is not None and work <= LOOKS_LIMIT


def sample_lingering_looks(
    passwords: PasswordSpec,
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
    known: LoginTimeline | None = None,
    max_requests: int | None = None,
) -> tuple[PasswordDraw, SessionDraw]:
    """The passwords and sessions captured on one server in one replication (module
    docstring; ``logins`` per second on the server). ``known``: the logins the skeleton drew
    to time the ``max_requests`` restarts, which the looks and the passwords then read
    (nothing is left to draw), each lifetime's connections drawn given the count that ended
    it. The connections, the looks and the passwords' fates come from streams of their own,
    spawned from ``rng``, which then tries the sessions."""
    reading, looking, fates = rng.spawn(3)
    names, malicious = attacker_names(segments)
    index = {n: i for i, n in enumerate(names)}
    kinds: Kinds = [(password_capture, passwords.lifetime), (token_capture, "next_request")]
    starts = [s.t0 for s in segments]
    read: list[LifetimeReads] = []
    candidates: dict[int, WorkerCandidates] = {}
    for w, lives in read_lifetimes(segments, lifetimes, index).items():
        at, by = [np.zeros(0)], [np.zeros(0, dtype=np.int64)]
        for lt in lives:
            t, who, q, clears = in_time_order(lt, (
                sample_shared_reads(segments, starts, lt, kinds, index, reading)
                if known is None or max_requests is None else
                counted_shared_reads(segments, starts, lt, kinds, index, max_requests,
                                     reading).reads))
            token = reading.random(t.size) < q[:, 1]
            at.append(t[token])
            by.append(who[token])
            read.append((lt, t, who, q[:, 0], clears[:, 0]))
        candidates[w] = (lives, np.concatenate(at), np.concatenate(by).astype(np.int64), None)
    drawn = (DrawnLogins(logins, workers, horizon, looking) if known is None
             else DrawnLogins.every(*known.every_login(), workers, horizon, looking))
    first = np.zeros((0, len(names)))
    if any(c[1].size for c in candidates.values()):
        looks = looks_at(candidates, len(TOKEN))
        drawn = draw_looks(sessions, segments, looks, workers, logins, horizon, looking,
                           None if known is None else drawn)
        first = slot_captures(sessions, looks, drawn, len(names), TOKEN, looking).first
    taken = _password_takes(passwords, segments, read, drawn, logins / workers, len(names),
                            fates)
    tried = try_sessions(sessions, first, never_idle, names, malicious, attacker_sources, rng,
                         server=server, reusing=reusing)
    return count_takes(taken, names, malicious), tried


def _password_takes(
    passwords: PasswordSpec, segments: Sequence[Segment], read: Sequence[LifetimeReads],
    drawn: DrawnLogins, rate: float, attackers: int, rng: np.random.Generator,
) -> list[Takes]:
    """Every first take of a password (login, attacker, time) over the lifetimes ``read``:
    the logins the looks drew on the lifetime's worker and, on the stretches they did not
    draw, a Poisson stream at the worker's login ``rate``, each numbered apart (the drawn
    ones by their index, the others past them)."""
    taken: list[Takes] = []
    fresh = drawn.t.size
    for lt, t, who, q, clears in read:
        if not t.size:
            continue
        hi = float(t[-1])  # a login after the last read is never read
        mine = np.flatnonzero((drawn.at == lt.worker) & (drawn.t > lt.start) & (drawn.t < hi))
        start, length = drawn.undrawn(lt.start, hi)
        piece = np.repeat(np.arange(start.size), rng.poisson(rate * length))
        new = start[piece] + length[piece] * rng.random(piece.size)
        at = np.concatenate([drawn.t[mine], new])
        ids = np.concatenate([mine, fresh + np.arange(new.size)])
        fresh += new.size
        taken.append(lingering_takes(lt, segments, at, ids, t, who, q, clears, attackers,
                                     passwords.lifetime, rng))
    return taken
