"""Passwords and the sessions of the same server, drawn together, where a ``next_request`` slot
holds one kind or both.

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
* the other requests (neither logins nor session requests) of each readable lifetime, Poisson
  (rule 18), unlisted: all they do is empty the slot, so at each read whether one came since
  the newest listed request is drawn from their integrated rate, one exponential per listed
  request a read follows (since 2026-12-07 late; listed one by one before, which made them
  most of this path's cost);
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
their joint are drawn from their exact law given the skeleton.

With ``max_requests`` that needs the skeleton to have timed the restarts by these very logins
and each lifetime's requests to be drawn given the count that ended it
(``docs/fast-engine.md``, items 11 and 13). Where this path is sure to be taken whatever the
skeleton (:func:`always_shared`), the skeleton draws the server's logins
(:mod:`.login_timeline`) and this module reads them: each readable lifetime's free
connections are drawn given its count (:func:`.reads.counted_shared_reads`), its session
requests placed among the sessions open in it by their overlap with it (given the logins each
session's requests to the worker are a Poisson stream while it is valid), the other requests
uniformly; with a ``concurrent`` check, so are those of every lifetime around the readable
ones that the check can read (:func:`checked_lifetimes`). Elsewhere with ``max_requests``
those two items stay, as on the paths this replaces. Without passwords the same holds for
``next_request`` tokens alone: where this draw is sure to be taken the skeleton draws the
logins for it, and it runs with the logins emptying the slot and no passwords to count.

Passwords kept for a duration or until the next key operation beside ``next_request`` tokens
(since 2026-12-07; with ``max_requests`` only on the logins the skeleton drew, each lifetime
given its count as above) are not in the slot: each login's password stays in freed memory
for an exponential time or until the worker's next key operation, or to the restart, and each
read takes it with its chance (:func:`.lingering.password_fates`, exact given the reads).
They come from the same logins as the sessions and are read by the same connections, which
no other path draws together.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from sim.engines.fast.lingering import lingering_takes
from sim.engines.fast.login_timeline import LoginTimeline
from sim.engines.fast.password_chain import PasswordDraw
from sim.engines.fast.reads import (
    Reads,
    attacker_names,
    counted_shared_reads,
    password_capture,
    sample_shared_reads,
)
from sim.engines.fast.segments import AttackerRates, Segment, WorkerLifetime
from sim.engines.fast.session_literal import (
    LITERAL_LIMIT,
    SessionDraw,
    copy_captures,
    lifetime_reads,
    token_capture,
    try_sessions,
    victim_idle,
    worker_reads,
)
from sim.engines.fast.session_slot import (
    Takes,
    count_takes,
    literal_cost,
    other_hazard,
    readable_lifetimes,
    server_logins,
    session_slot,
)
from sim.engines.fast.sessions import (
    CONCURRENT_LITERAL_LIMIT,
    concurrent_needs_literal,
    literal_sessions,
)
from sim.scenario.model import PasswordSpec, ResidencySpec, Server, SessionSpec


#: Most requests, logins and reads one server replication may expect to draw here: as many as
#: the literal session draw it replaces where that is taken for cost
#: (:data:`.session_literal.LITERAL_LIMIT`), since past it the two kinds are drawn apart (item
#: 14 of ``docs/fast-engine.md``); where a ``concurrent`` check could pass, as many as that
#: draw takes there (:data:`.sessions.CONCURRENT_LITERAL_LIMIT`). Until 2026-12-07 the
#: passwords' literal draw's 20,000 (:data:`.session_slot.DRAWN_LIMIT`), past which the
#: counting chain took them.
SHARED_LIMIT = LITERAL_LIMIT
#: On the skeleton's logins this draw is the one exact path (past it ``max_requests`` keeps
#: the mean-rate time change: ``docs/fast-engine.md``, item 11), so there it may cost this
#: many times :data:`SHARED_LIMIT` (:func:`known_cost`): 4,000,000 units (a request, login or
#: read drawn, about 0.4 microseconds), about 1.6 s a replication, as much as the literal
#: session draw may take where only it is exact (:data:`.sessions.CONCURRENT_LITERAL_LIMIT`).
#: A multiple, so that a limit forced below zero turns both off, as the tests that leave this
#: path force it.
KNOWN_FACTOR = 20.0
#: What a lifetime read on the skeleton's logins costs besides its draws, in those units: its
#: calls (about 85 microseconds a lifetime, measured on random scenarios, 2026-12-08: 120,000
#: crash-ended lifetimes in 10 s) and, for each of the server's logins, which it scans for the
#: sessions open in the lifetime, about 40 nanoseconds (1,869 lifetimes among 4,925 logins:
#: 0.24 s in ``_counted_requests`` alone).
LIFETIME_UNITS = 200.0
LOGIN_SCAN_UNITS = 0.1


def always_shared(server: Server, horizon: float, connections: float, *, attacked: float,
                  windows: int, crashes: float) -> bool:
    """Whether :func:`shared_lifetimes` takes this path in every replication, whatever the
    skeleton, within a cost bound: so the skeleton draws the logins for it beside
    ``max_requests`` (:func:`.login_timeline.drives_restarts`), and then it is taken whatever
    its bounds (``known``). Until 2026-12-08 only where its bounds on the literal draws hold
    with every worker read over the whole horizon and ``connections``, the most the attackers
    can send the server (with a ``concurrent`` check that could pass beside ``next_request``
    tokens, as far as only the literal draw runs it, :func:`.sessions.concurrent_needs_literal`;
    this module then draws the session requests of the lifetimes around the readable ones too,
    :func:`checked_lifetimes`, which those bounds already count). Since, with ``max_requests``,
    also past them where the draw on the logins is expected to cost at most
    :data:`KNOWN_FACTOR` times :data:`SHARED_LIMIT` (:func:`known_cost`, from the attackers'
    ``windows``, ``attacked`` seconds of the vulnerable window in all, and the ``crashes``
    they can cause there): past those bounds the other paths are not exact (item 11), not
    merely cheaper. Not beside a ``concurrent`` check: the lifetimes around the readable ones
    that it reads (:func:`checked_lifetimes`) are those the skeleton lists, and across an
    attack-free stretch it lists only the first and the last, so a replay early in a window
    that follows one does not see the victim's requests before it (``docs/fast-engine.md``,
    item 11: open); busier servers, with shorter lifetimes, would see less.

    Without passwords, for ``next_request`` tokens alone: where the skeleton drew the logins
    this module is the one draw of them that reads those logins and each lifetime's count
    (``docs/fast-engine.md``, items 11 and 13)."""
    passwords, sessions, traffic = server.passwords, server.sessions, server.traffic
    if (sessions is None or (passwords or sessions).lifetime != "next_request"
            or sessions.ttl <= 0.0 or sessions.requests_per_s <= 0.0):
        return False
    logins = server.hosts * traffic.logins_per_s
    requests = _requests_per_s(server, sessions)
    handshakes = (server.hosts * traffic.handshakes_per_s * (horizon + 2.0 * sessions.ttl)
                  if sessions.lifetime == "next_handshake" else 0.0)
    span = horizon + sessions.ttl
    literal = (logins * (horizon + 2.0 * sessions.ttl)
               * (2.0 + sessions.requests_per_s * sessions.ttl) + connections + handshakes)
    drawn = (requests * horizon + logins * span + connections
             + logins * span * sessions.requests_per_s * sessions.ttl + handshakes)
    if concurrent_needs_literal(sessions, False):
        if literal <= CONCURRENT_LITERAL_LIMIT and drawn <= CONCURRENT_LITERAL_LIMIT:
            return True
    elif literal <= LITERAL_LIMIT and drawn <= SHARED_LIMIT:
        return True
    return (server.restart.max_requests is not None and logins > 0.0
            and "concurrent" not in sessions.binding
            and known_cost(server, horizon, connections, attacked, windows, crashes)
            <= KNOWN_FACTOR * SHARED_LIMIT)


def known_cost(server: Server, horizon: float, connections: float, attacked: float,
               windows: int, crashes: float) -> float:
    """The expected work of this draw on the skeleton's logins, in the units of
    :data:`SHARED_LIMIT`: the requests, logins and reads it draws, and each lifetime it reads
    (:func:`known_lifetimes`; :data:`LIFETIME_UNITS` and, for each of the server's logins,
    :data:`LOGIN_SCAN_UNITS`). The readable lifetimes' requests: over the attacked stretches
    and, for the first and last lifetime of each worker, about a lifetime (a restart
    interval, or the time its ``max_requests`` take) on either side of each window."""
    sessions, traffic, restart = server.sessions, server.traffic, server.restart
    assert sessions is not None and restart.max_requests is not None
    span = min(attacked, horizon)
    requests = _requests_per_s(server, sessions)
    lifetime = min(restart.every or horizon, horizon,
                   restart.max_requests * server.total_workers / requests)
    if sessions.lifetime == "next_handshake":  # the legitimate handshakes, drawn too
        requests += server.hosts * traffic.handshakes_per_s
    logins = server.hosts * traffic.logins_per_s * horizon
    draws = requests * (span + min(horizon - span, 2.0 * windows * lifetime)) + logins
    lifetimes = known_lifetimes(server, horizon, connections, attacked, windows, crashes)
    return draws + connections + lifetimes * (LIFETIME_UNITS + LOGIN_SCAN_UNITS * logins)


def known_lifetimes(server: Server, horizon: float, connections: float, attacked: float,
                    windows: int, crashes: float) -> float:
    """How many lifetimes this draw reads on the skeleton's logins, expected, at most: those
    that cross the attackers' ``windows`` (``attacked`` seconds in all), one per worker and
    window and one more for each restart inside them, by ``max_requests`` (the legitimate
    requests and the attackers' ``connections``), by time, and by ``crashes``."""
    sessions, restart = server.sessions, server.restart
    assert sessions is not None and restart.max_requests is not None
    span = min(attacked, horizon)
    requests = _requests_per_s(server, sessions)
    workers = server.total_workers
    timed = workers * span / restart.every if restart.every else 0.0
    return (workers * windows + timed + (requests * span + connections) / restart.max_requests
            + crashes)


def _requests_per_s(server: Server, sessions: SessionSpec) -> float:
    """The server's legitimate requests a second: logins, session requests and the others."""
    traffic = server.traffic
    return server.hosts * (traffic.other_requests_per_s(sessions) + traffic.logins_per_s
                           + traffic.session_requests_per_s(sessions))


def shared_lifetimes(
    passwords: PasswordSpec, sessions: SessionSpec, segments: Sequence[Segment],
    lifetimes: Sequence[WorkerLifetime], workers: int, logins: float, concurrent_blocks: bool,
    known: bool = False, max_requests: int | None = None,
) -> list[WorkerLifetime] | None:
    """The lifetimes an attacker can read, when this module is to draw the server, else None:
    ``next_request`` passwords beside sessions (:func:`.session_slot.session_slot`) that are
    simulated literally (:func:`.sessions.literal_sessions`; ``logins`` per second on the
    whole server, ``concurrent_blocks`` as there) or that every other draw would take apart
    from them (:func:`drawn_apart_elsewhere`), and at most :data:`SHARED_LIMIT` listed
    requests, logins and reads to draw (:func:`.session_slot.literal_cost` and every
    session's requests; the other requests are listed only with ``known``), or as many as
    the literal session draw takes where only it can run a ``concurrent`` check. Always where
    the skeleton drew the logins for it (``known``, :func:`always_shared`).

    Since 2026-12-07 also passwords kept for a duration or until the next key operation beside
    ``next_request`` tokens (which no other path draws together: item 14), with
    ``max_requests`` only where the skeleton drew the logins (``known``), as it does for such
    passwords when they are few enough (:func:`.login_timeline.drives_restarts`): then each
    readable lifetime is drawn given its count, as the lingering path draws it (item 13). The
    skeleton drew them for the lingering path, not for this one, so the bounds are checked
    here."""
    if known and passwords.lifetime == "next_request":
        return readable_lifetimes(segments, lifetimes)
    if (not (session_slot(passwords.lifetime, segments)
             or lingers_beside_slot(passwords, sessions, max_requests, known))
            or not (literal_sessions(sessions, segments, workers, logins, concurrent_blocks)
                    or drawn_apart_elsewhere(passwords, sessions))):
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
    # the other requests are listed only where each lifetime is drawn given its count
    cost = literal_cost(sessions, segments, touched, workers, other=known) + requests
    limit = (CONCURRENT_LITERAL_LIMIT if concurrent_needs_literal(sessions, concurrent_blocks)
             else SHARED_LIMIT)
    return touched if cost <= limit else None


def checked_lifetimes(sessions: SessionSpec, touched: Sequence[WorkerLifetime],
                      lifetimes: Sequence[WorkerLifetime]) -> list[WorkerLifetime]:
    """Besides the readable lifetimes ``touched``, those whose session requests a
    ``concurrent`` check can read, where each lifetime is drawn given its count (on the
    skeleton's logins): every worker's lifetimes from a ``concurrent_window`` before the first
    readable one starts to the last one's end, since a session is tried when first captured,
    inside a readable lifetime, and the check asks whether its victim sent a request, on any
    worker, within the window before. Drawn even where :mod:`.concurrent_bound` proves the
    check never passes: read from the readable lifetimes alone it could. Only those the
    skeleton lists: across an attack-free stretch it lists the first and the last, so the
    ones inside a window before an attack that follows such a stretch are missing (found
    2026-12-08, open: ``docs/fast-engine.md``, item 11)."""
    if "concurrent" not in sessions.binding or not touched:
        return []
    lo = min(lt.start for lt in touched) - sessions.concurrent_window
    hi = max(lt.end for lt in touched)
    readable = {id(lt) for lt in touched}
    return [lt for lt in lifetimes
            if lt.start < hi and lt.end > lo and lt.end > lt.start and id(lt) not in readable]


def drawn_apart_elsewhere(passwords: PasswordSpec, sessions: SessionSpec) -> bool:
    """Whether, past this path, every other draw of the server would take the passwords apart
    from the tokens (item 14): beside each other in one ``next_request`` slot they are drawn
    together at the reads (:mod:`.buffer_reads`, cheaper than this path and exact), but
    ``next_request`` passwords beside tokens that outlive the next request, or lingering
    passwords beside ``next_request`` tokens, have no draw together but this one. There this
    path is taken as far as its own bounds go, whichever path the sessions alone would take
    (until late on 2026-12-07 only where that was the literal draw)."""
    return (passwords.lifetime == "next_request") != (sessions.lifetime == "next_request")


def lingers_beside_slot(passwords: PasswordSpec, sessions: SessionSpec,
                        max_requests: int | None, known: bool) -> bool:
    """Passwords kept for a duration or until the next key operation beside ``next_request``
    tokens: the lingering passwords this path draws (:func:`shared_lifetimes`). With
    ``max_requests`` only on the logins the skeleton drew (``known``)."""
    return (passwords.lifetime != "next_request" and sessions.lifetime == "next_request"
            and (max_requests is None or known))


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
    known: LoginTimeline | None = None,
    max_requests: int | None = None,
    passwords: bool = True,
    password_lifetime: ResidencySpec = "next_request",
    lifetimes: Sequence[WorkerLifetime] = (),
) -> tuple[PasswordDraw | None, SessionDraw]:
    """The passwords and sessions captured on one server in one replication, with every
    request that can matter drawn (module docstring). ``touched`` are the lifetimes an
    attacker can read (:func:`.session_slot.readable_lifetimes`); ``known``, the logins the
    skeleton drew to time the ``max_requests`` restarts (:func:`always_shared`). Without
    ``passwords`` (``next_request`` tokens alone, only where the skeleton drew the logins)
    the logins still empty the slot, and no passwords are counted. ``password_lifetime``: a
    duration or ``next_handshake`` keeps each login's password for an exponential time or
    until the worker's next key operation, or to the restart, taken by every read it meets
    with the read's chance (:func:`lingers_beside_slot`), from the same logins and reads as
    the tokens. ``lifetimes``: with ``known``, every lifetime of the server, of which a
    ``concurrent`` check reads the session requests of those around ``touched``
    (:func:`checked_lifetimes`).

    The legitimate traffic and the reads come from streams of their own, spawned from ``rng``
    (which then draws the reuse attempts): without ``known`` the traffic depends on the
    skeleton alone, so sweep points that differ in an attack rate share it; with it, how many
    requests a lifetime holds depends on how many connections it does."""
    traffic, reading = rng.spawn(2)
    names, malicious = attacker_names(segments)
    index = {name: i for i, name in enumerate(names)}
    ttl = sessions.ttl
    lo = max(0.0, min((lt.start for lt in touched), default=0.0) - ttl)
    hi = max((lt.end for lt in touched), default=0.0)
    checked = [] if known is None else checked_lifetimes(sessions, touched, lifetimes)
    if known is None:
        login, login_w = server_logins(segments, lo, hi, workers, traffic)
    else:
        # the sessions that send into any lifetime drawn, the checked ones included
        lo = min([lo, *(lt.start - ttl for lt in checked)])
        login, login_w = known.every_login()
        keep = (login >= lo) & (login < hi)
        login, login_w = login[keep], login_w[keep]
    end = np.minimum(login + ttl, horizon)
    starts = [s.t0 for s in segments]
    rule = sessions.lifetime
    kinds: list[tuple[Callable[[AttackerRates], float], ResidencySpec]] = [
        (token_capture, rule)]
    if passwords:
        kinds.insert(0, (password_capture, password_lifetime))
    else:
        assert known is not None, "tokens alone take this path only on the skeleton's logins"
    if known is None:
        counts = traffic.poisson(sessions.requests_per_s * np.maximum(end - login, 0.0))
        owner = np.repeat(np.arange(login.size), counts)
        req_t = login[owner] + (end - login)[owner] * traffic.random(owner.size)
        req_w = traffic.integers(workers, size=owner.size)
        on_worker = [_worker_requests(login, login_w == w, req_t, owner, req_w == w)
                     for w in range(workers)]
    else:
        assert max_requests is not None
        counted = [counted_shared_reads(segments, starts, lt, kinds, index, max_requests,
                                        reading) for lt in touched]
        inside = [_counted_requests(lt, d.requests, login, end, known, traffic)
                  for lt, d in zip(touched, counted)]
        # what ``try_sessions`` reads the session requests for, a ``concurrent`` check, also
        # reads those of the lifetimes around the readable ones (``checked``), each drawn
        # given its count from a stream of its own
        victims = rng.spawn(1)[0] if checked else reading
        around = [_counted_requests(
            lt, counted_shared_reads(segments, starts, lt, kinds, index, max_requests,
                                     victims).requests, login, end, known, victims)
            for lt in checked]
        owner = np.concatenate([np.zeros(0, dtype=int), *(r[1] for r in inside + around)])
        req_t = np.concatenate([np.zeros(0), *(r[0] for r in inside + around)])
    taken: list[Takes] = []
    first = np.full((login.size, len(names)), math.inf)
    hazard = other_hazard(segments) if known is None else None
    for j, lt in enumerate(touched):
        if known is None:
            times, password, token = on_worker[lt.worker]
            a, b = np.searchsorted(times, [lt.start, lt.end])
            times, password, token = times[a:b], password[a:b], token[a:b]
            t, who, q, clears = sample_shared_reads(segments, starts, lt, kinds, index, reading)
        else:
            (t, who, q, clears), (session_t, session_of, other) = counted[j].reads, inside[j]
            mine = np.flatnonzero((login_w == lt.worker) & (login > lt.start) & (login < lt.end))
            times, password, token = _in_order(
                np.concatenate([login[mine], session_t, other]),
                np.concatenate([mine, np.full(session_t.size + other.size, -1)]),
                np.concatenate([np.full(mine.size, -1), session_of, np.full(other.size, -1)]))
        newest = np.searchsorted(times, t, side="left") - 1
        if hazard is not None:
            newest = _unless_other(newest, times, t, hazard, traffic)
        u = reading.random(t.size)
        if password_lifetime != "next_request":
            logins_here = password >= 0  # the lifetime's own logins, in time order
            taken.append(lingering_takes(lt, segments, times[logins_here],
                                         password[logins_here], t, who, q[:, 0],
                                         clears[:, 0], len(names), password_lifetime,
                                         reading))
        elif passwords:
            pw = np.where(newest >= 0, np.append(password, -1)[newest], -1)
            took_pw = (pw >= 0) & (u < q[:, 0])
            taken.append((pw[took_pw], who[took_pw], t[took_pw]))
        if rule == "next_request":  # the token of the newest request, the same uniform
            tok = np.where(newest >= 0, np.append(token, -1)[newest], -1)
            took = (tok >= 0) & (u < q[:, -1])
            took[took] = t[took] < end[tok[took]]  # the session still valid
            np.minimum.at(first, (tok[took], who[took]), t[took])
        else:
            _token_copies(sessions, segments, lt, times, token,
                          Reads(t, who, q[:, -1], clears[:, -1]), end, first, reading)
    counted_passwords = count_takes(taken, names, malicious) if passwords else None
    drawn = try_sessions(sessions, first, victim_idle(sessions, login, req_t, owner), names,
                         malicious, attacker_sources, rng, server=server, reusing=reusing)
    return counted_passwords, drawn


def _unless_other(newest: np.ndarray, times: np.ndarray, t: np.ndarray,
                  hazard: Callable[[np.ndarray], np.ndarray],
                  rng: np.random.Generator) -> np.ndarray:
    """``newest``, each read's newest listed request (an index into ``times``, -1: none),
    set to -1 where one of the requests left unlisted (neither logins nor session requests,
    Poisson: :func:`.session_slot.other_hazard`) came between it and the read, leaving the
    slot empty. The first of them after listed request ``k`` comes when their integrated
    rate has grown by an exponential from ``times[k]``: one draw per ``k`` that a read
    follows, so reads after the same ``k`` see the same one (disjoint stretches are
    independent), as the sessions' literal draw (:mod:`.session_literal`) does at a constant
    rate."""
    seen = np.flatnonzero(newest >= 0)
    if seen.size == 0:
        return newest
    after, which = np.unique(newest[seen], return_inverse=True)
    gap = rng.exponential(1.0, after.size)
    h = hazard(np.concatenate([t[seen], times[after]]))
    gone = h[:seen.size] - h[seen.size:][which] >= gap[which]
    out = newest.copy()
    out[seen[gone]] = -1
    return out


def _worker_requests(login: np.ndarray, logs: np.ndarray, req_t: np.ndarray,
                     owner: np.ndarray, reqs: np.ndarray) -> tuple[np.ndarray, ...]:
    """One worker's logins (mask ``logs``) and session requests (mask ``reqs``) in time order,
    and what each leaves: the login's password (an index into the logins) or the session's
    token (-1: neither)."""
    logs, reqs = np.flatnonzero(logs), np.flatnonzero(reqs)
    return _in_order(np.concatenate([login[logs], req_t[reqs]]),
                     np.concatenate([logs, np.full(reqs.size, -1)]),
                     np.concatenate([np.full(logs.size, -1), owner[reqs]]))


def _in_order(times: np.ndarray, password: np.ndarray,
              token: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    order = np.argsort(times, kind="stable")
    return times[order], password[order], token[order]


def _counted_requests(
    lt: WorkerLifetime, n: int, login: np.ndarray, end: np.ndarray, known: LoginTimeline,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``n`` legitimate requests inside ``lt`` besides its own logins, given the logins
    (:func:`.reads.counted_shared_reads` drew ``n`` given the lifetime's count): session
    requests, each session's to the worker a Poisson stream at ``known.session_rate`` while
    it is valid, and the other requests, Poisson at ``known.other``. Given their number the
    requests fall in each stream in proportion to its integrated rate inside the lifetime (a
    multinomial), uniformly in it. Returns the session requests' times and sessions (indices
    into ``login``), and the other requests' times."""
    lo, hi = np.maximum(login, lt.start), np.minimum(end, lt.end)
    overlap = np.maximum(hi - lo, 0.0)
    mass = np.concatenate(([known.other * (lt.end - lt.start)], known.session_rate * overlap))
    total = float(mass.sum())
    k = rng.multinomial(n, mass / total) if n and total > 0.0 else np.zeros(mass.size, int)
    session_of = np.repeat(np.arange(login.size), k[1:])
    session_t = lo[session_of] + overlap[session_of] * rng.random(session_of.size)
    return session_t, session_of, lt.start + (lt.end - lt.start) * rng.random(int(k[0]))


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
