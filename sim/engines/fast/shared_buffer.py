"""Passwords in a ``next_request`` slot and the sessions of the same server, drawn together.

Under ``next_request`` a worker's recycled read buffer holds what its latest request left
(``model.md``, Residency): a login's password, a session request's token, or nothing. A
password and a token are never resident together, and the request that brings one takes the
other away. Where tokens outlive the next request (a duration or ``next_handshake``), the
session request that leaves a copy still takes the password away, and the same connections
read both. Either way one attacker's password and session captures depend on each other.
Drawn apart (:mod:`.session_slot` for the passwords, :mod:`.session_literal` for the
sessions, each from request streams of its own) each margin is exact and the joint is not
(``docs/fast-engine.md``, item 14).

Where both of those paths would be taken, this module draws the server's traffic once, given
the skeleton:

* the logins from a ``ttl`` before the first lifetime an attacker can read (sessions opened
  earlier send nothing into it) to the last one's end, each to a uniform worker
  (:func:`.session_slot.server_logins`);
* each session's requests over its validity, Poisson at ``requests_per_s``, each routed to a
  uniform worker (rule 4), on every worker, so the ``concurrent`` check sees them all;
* the other requests of each readable lifetime, Poisson at their constant rate (rule 18);
* the attackers' connections of each readable lifetime, once, with each kind's chance to
  capture and whether it clears a ``next_handshake`` token buffer
  (:func:`.reads.sample_shared_reads`).

At each read the password slot holds what the worker's newest request inside the lifetime
left (it is empty at the lifetime's start, rule 2), and the read takes that login's password
with its chance. A ``next_request`` token is taken the same way, with the same uniform (the
two being exclusive), if its session is still valid; token copies as
:func:`.session_literal.copy_captures` takes them. Passwords are then counted as
:func:`.session_slot.count_passwords` counts them and sessions tried as
:func:`.session_literal.try_sessions` tries them: every count, every first-capture time and
their joint are drawn from their exact law given the skeleton, on a server without
``max_requests`` (with it, items 11 and 13 stay, as on the two paths this replaces).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from sim.engines.fast.password_chain import PasswordDraw
from sim.engines.fast.reads import Reads, attacker_names, password_capture, sample_shared_reads
from sim.engines.fast.segments import AttackerRates, Segment, WorkerLifetime
from sim.engines.fast.session_literal import (
    SessionDraw,
    copy_captures,
    lifetime_reads,
    token_capture,
    try_sessions,
    worker_reads,
)
from sim.engines.fast.session_slot import (
    DRAWN_LIMIT,
    count_passwords,
    literal_cost,
    other_requests,
    readable_lifetimes,
    server_logins,
    session_slot,
)
from sim.engines.fast.sessions import literal_sessions
from sim.scenario.model import PasswordSpec, ResidencySpec, SessionSpec


def shared_lifetimes(
    passwords: PasswordSpec, sessions: SessionSpec, segments: Sequence[Segment],
    lifetimes: Sequence[WorkerLifetime], workers: int, logins: float, concurrent_blocks: bool,
) -> list[WorkerLifetime] | None:
    """The lifetimes an attacker can read, when this module is to draw the server, else None:
    ``next_request`` passwords beside sessions (:func:`.session_slot.session_slot`) that are
    simulated literally (:func:`.sessions.literal_sessions`; ``logins`` per second on the
    whole server, ``concurrent_blocks`` as there), and few requests to draw
    (:func:`.session_slot.literal_cost`): where the two paths it replaces would be taken."""
    if (not session_slot(passwords.lifetime, segments)
            or not literal_sessions(sessions, segments, workers, logins, concurrent_blocks)):
        return None
    touched = readable_lifetimes(segments, lifetimes)
    if not touched:
        return touched
    # the passwords' path's draws, and every session's requests to every worker (the
    # ``concurrent`` check needs them all)
    span = max(lt.end for lt in touched) - min(lt.start for lt in touched) + sessions.ttl
    requests = logins * span * sessions.requests_per_s * sessions.ttl
    if sessions.lifetime == "next_handshake":  # the legitimate handshakes, drawn too
        requests += sum(lt.end - lt.start for lt in touched) * segments[0].handshakes
    cost = literal_cost(sessions, segments, touched, workers) + requests
    return touched if cost <= DRAWN_LIMIT else None


def sample_shared_buffer(
    sessions: SessionSpec,
    segments: Sequence[Segment],
    touched: Sequence[WorkerLifetime],
    workers: int,
    horizon: float,
    attacker_sources: Mapping[str, int],
    rng: np.random.Generator,
    *,
    server: str,
    reusing: frozenset[str] | None,
) -> tuple[PasswordDraw, SessionDraw]:
    """The passwords and sessions captured on one server in one replication, with every
    request that can matter drawn (module docstring). ``touched`` are the lifetimes an
    attacker can read (:func:`.session_slot.readable_lifetimes`).

    The legitimate traffic and the reads come from streams of their own, spawned from ``rng``
    (which then draws the reuse attempts): the traffic depends on the skeleton alone, so sweep
    points that differ in an attack rate share it."""
    traffic, reading = rng.spawn(2)
    names, malicious = attacker_names(segments)
    index = {name: i for i, name in enumerate(names)}
    ttl = sessions.ttl
    lo = max(0.0, min((lt.start for lt in touched), default=0.0) - ttl)
    hi = max((lt.end for lt in touched), default=0.0)
    login, login_w = server_logins(segments, lo, hi, workers, traffic)
    end = np.minimum(login + ttl, horizon)
    counts = traffic.poisson(sessions.requests_per_s * np.maximum(end - login, 0.0))
    owner = np.repeat(np.arange(login.size), counts)
    req_t = login[owner] + (end - login)[owner] * traffic.random(owner.size)
    req_w = traffic.integers(workers, size=owner.size)
    # Per worker, its logins and session requests in time order, and what each leaves: the
    # login's password (an index into the logins) or the session's token (-1: neither).
    on_worker = []
    for w in range(workers):
        logs, reqs = np.flatnonzero(login_w == w), np.flatnonzero(req_w == w)
        times = np.concatenate([login[logs], req_t[reqs]])
        password = np.concatenate([logs, np.full(reqs.size, -1)])
        token = np.concatenate([np.full(logs.size, -1), owner[reqs]])
        order = np.argsort(times, kind="stable")
        on_worker.append((times[order], password[order], token[order]))
    starts = [s.t0 for s in segments]
    rule = sessions.lifetime
    kinds: list[tuple[Callable[[AttackerRates], float], ResidencySpec]] = [
        (password_capture, "next_request"), (token_capture, rule)]
    taken: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    first = np.full((login.size, len(names)), math.inf)
    for lt in touched:
        times, password, token = on_worker[lt.worker]
        a, b = np.searchsorted(times, [lt.start, lt.end])
        other = other_requests(lt, segments, traffic)
        times = np.concatenate([times[a:b], other])
        password = np.concatenate([password[a:b], np.full(other.size, -1)])
        token = np.concatenate([token[a:b], np.full(other.size, -1)])
        order = np.argsort(times, kind="stable")
        times, password, token = times[order], password[order], token[order]
        t, who, q, clears = sample_shared_reads(segments, starts, lt, kinds, index, reading)
        newest = np.searchsorted(times, t, side="left") - 1
        pw = np.where(newest >= 0, np.append(password, -1)[newest], -1)
        u = reading.random(t.size)
        took_pw = (pw >= 0) & (u < q[:, 0])
        taken.append((pw[took_pw], who[took_pw], t[took_pw]))
        if rule == "next_request":  # the token of the newest request, the same uniform
            tok = np.where(newest >= 0, np.append(token, -1)[newest], -1)
            took = (tok >= 0) & (u < q[:, 1])
            took[took] = t[took] < end[tok[took]]  # the session still valid
            np.minimum.at(first, (tok[took], who[took]), t[took])
        else:
            _token_copies(sessions, segments, lt, times, token,
                          Reads(t, who, q[:, 1], clears[:, 1]), end, first, reading)
    password, who, when = (np.concatenate([np.zeros(0, dtype=d), *(c[i] for c in taken)])
                           for i, d in enumerate((int, int, float)))
    passwords = count_passwords(password, who, when, names, malicious)
    drawn = try_sessions(sessions, first, login, req_t, owner, names, malicious,
                         attacker_sources, rng, server=server, reusing=reusing)
    return passwords, drawn


def _token_copies(
    spec: SessionSpec, segments: Sequence[Segment], lt: WorkerLifetime, times: np.ndarray,
    token: np.ndarray, reads: Reads, end: np.ndarray, first: np.ndarray,
    rng: np.random.Generator,
) -> None:
    """Tokens that outlive the next request (a duration or ``next_handshake``): each session
    request of the lifetime (``times``, ``token``) leaves a copy that every read takes with its
    chance until the copy goes, as on the sessions' path (:func:`.session_literal.copy_captures`
    with the lifetime's reads as :func:`.session_literal.lifetime_reads` gives them)."""
    worker = worker_reads(spec.lifetime, lifetime_reads(spec, segments, lt, reads, rng),
                          [lt.start, lt.end])
    copies = token >= 0
    copy_captures(spec, [worker], token[copies], times[copies],
                  np.zeros(int(copies.sum()), dtype=int), end, first, rng)
