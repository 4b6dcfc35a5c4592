"""``next_request`` passwords beside tokens that outlive the next request, drawn together: the
passwords where the reads look, the tokens where their copies are taken, given what the looks
found.

A password waits in its worker's ``next_request`` slot until the worker's next legitimate
request; each session request leaves a token copy that stays for the tokens' ``lifetime``
(``model.md``, Residency). The same requests decide both: a read that finds a password found
no request on its worker since that login, so no token copy was left there then, and the same
connections read both. So one attacker's password and session captures depend on each other
(``docs/fast-engine.md``, item 14). :mod:`.shared_buffer` draws both from every request while
they are few; past its bounds the passwords were drawn at the reads and the tokens where their
copies are taken, each from requests of its own. Here, given the skeleton:

* every attacker connection of the lifetimes an attacker meets is drawn once, with both
  kinds' chances (:func:`.reads.sample_shared_reads`); a connection takes the slot's password
  and each resident copy independently (every piece, every heartbeat), so the password's
  candidates are the connections whose own uniform falls below the password's chance;
* each candidate's look is drawn (:func:`.slot_looks.draw_looks`): the newest request on its
  worker back to the previous candidate, from the logins drawn over the stretches a look can
  meet. It gives the passwords as on the passwords' own draw at the reads, and two facts
  about the requests: none came on that worker between the newest one found and the
  candidate (the look's *silence*), and where the newest was a session request, that session
  sent one then (a *found* request);
* given the logins, each session's requests to a worker are a Poisson stream while it is
  valid, independent across sessions, workers and disjoint stretches. A silence is a
  stretch the look searched, so given the looks each session's requests are that stream off
  the silences, plus the found requests. The logins the looks did not draw are still the
  Poisson stream (no look read them; a session open in a silence has its login in the
  stretch the look drew), drawn now over the stretches where their sessions can meet a read;
* the copies some read takes are then drawn as :mod:`.token_takes` draws them (Poisson at
  ``own pi_w``, placed by inverting ``F_w``), less those in a silence of their worker, and
  each found request's copy is taken with its chance ``pi_w``. Each taken copy's first takes
  follow as there, and the ``concurrent`` check reads each victim's login, its copies, its
  found requests and, in the windows before the attempts, its other requests: the Poisson
  proposal of :mod:`.token_takes` on a uniform worker, kept off the silences and with chance
  ``1 - pi_w``.

So both kinds' counts, their joint per attacker, the passwords' first captures and the
sessions' attempts have their law given the skeleton. The cost is every connection read and
the logins the looks and the tokens' reads can meet (:data:`.slot_looks.LOOKS_LIMIT`), the
work of the draw where copies are taken (:data:`.token_takes.TAKES_LIMIT`), and the copies the
reads take (:data:`COPIES_LIMIT`): never the requests nothing reads, but where the reads take
most copies, those grow with the requests, and past that limit the kinds are drawn apart
(the tokens then counted, a class per login or by their means, at a cost that does not).
Beside ``max_requests`` the looks and the copies take the requests inside a lifetime as free
streams, while its end says how many there were (item 13), as the draws of each kind alone
do there (the skeleton draws no logins for these passwords but where the shared buffer's
draw is sure to be taken).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from sim.engines.fast.password_chain import PasswordDraw
from sim.engines.fast.reads import (
    Kinds,
    Reads,
    attacker_names,
    in_time_order,
    password_capture,
    sample_shared_reads,
)
from sim.engines.fast.segments import Segment, WorkerLifetime, expected_connections, read_span
from sim.engines.fast.session_literal import (
    Idle,
    SessionDraw,
    WorkerReads,
    lifetime_reads,
    never_idle,
    token_capture,
    try_sessions,
    victim_idle,
    worker_reads,
)
from sim.engines.fast.session_reads import PASSWORD, read_lifetimes
from sim.engines.fast.session_slot import count_passwords, count_takes
from sim.engines.fast.slot_looks import (
    LOOKS_LIMIT,
    DrawnLogins,
    Looks,
    WorkerCandidates,
    draw_looks,
    looks_at,
    slot_captures,
)
from sim.engines.fast.token_copies import (
    CHUNK,
    WorkerSums,
    exponents,
    meeting,
    prepare,
    read_work,
    residency_rate,
    set_chances,
)
from sim.engines.fast.token_takes import (
    TAKES_LIMIT,
    _first_takes,
    _request_times,
    attempt_windows,
    every_reader,
    taken_chance,
)
from sim.scenario.model import PasswordSpec, SessionSpec

#: Most copies one server replication may be expected to take (:func:`copies_bound`): each
#: costs a search over its worker's reads and its first takes, about 3 microseconds (an hour's
#: tokens under a heavy attack, 2026-12-07: 16 million copies in 54 s).
COPIES_LIMIT = 300_000

#: One worker that tokens are read on: its number, reads and sums.
Live = tuple[int, WorkerReads, WorkerSums]


def slot_takes_fit(passwords: PasswordSpec, sessions: SessionSpec,
                   segments: Sequence[Segment], workers: int, logins: float) -> bool:
    """Whether this draw takes the server (``logins`` per second on it): ``next_request``
    passwords beside tokens that outlive the next request, sessions that send requests, every
    connection and the logins within :data:`.slot_looks.LOOKS_LIMIT`, the copies' work within
    :data:`.token_takes.TAKES_LIMIT` (:func:`.token_copies.read_work`) and the copies taken
    within :data:`COPIES_LIMIT` (:func:`copies_bound`). The connections are those of the
    vulnerable window (outside it they capture nothing) and, under ``next_handshake``, those
    whose key operations clear the tokens."""
    if (passwords.lifetime != "next_request" or sessions.lifetime == "next_request"
            or logins <= 0.0 or sessions.requests_per_s <= 0.0):
        return False
    reads = expected_connections(segments, workers,
                                 vulnerable=sessions.lifetime != "next_handshake")
    looks = reads + logins * read_span(segments, sessions.ttl)
    return (looks <= LOOKS_LIMIT
            and sum(read_work(sessions, segments, workers, logins)) <= TAKES_LIMIT
            and copies_bound(sessions, segments, workers, logins, reads) <= COPIES_LIMIT)


def copies_bound(sessions: SessionSpec, segments: Sequence[Segment], workers: int,
                 logins: float, reads: float) -> float:
    """A bound above the copies one server replication is expected to take (``logins`` per
    second on it, ``reads`` connections): no more than the sessions that can meet a read
    send, nor than every read taking every copy resident on its worker (the session requests of a
    worker times a copy's mean stay: its lifetime, or under ``next_handshake`` the gap
    between legitimate handshakes). Unlike the draw's other work it grows with the requests,
    where the reads take most copies."""
    rate = logins * sessions.ttl * sessions.requests_per_s  # session requests a second
    every = rate * read_span(segments, sessions.ttl)
    if sessions.lifetime == "next_handshake":
        shakes = segments[0].handshakes if segments else 0.0
        stay = 1.0 / shakes if shakes > 0.0 else math.inf
    else:
        stay = float(sessions.lifetime)
    return min(every, reads * rate / workers * stay)


def sample_slot_takes(
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
    """The passwords and sessions captured on one server in one replication (module
    docstring; ``logins`` per second on the server). The connections, the looks and the
    copies come from streams of their own, spawned from ``rng``, which then tries the
    sessions."""
    reading, looking, taking = rng.spawn(3)
    names, malicious = attacker_names(segments)
    candidates, live = _reads(sessions, segments, lifetimes, names, reading)
    drawn = DrawnLogins(logins, workers, horizon, looking)
    looks = None
    taken = count_takes([], names, malicious)
    if any(c[1].size for c in candidates.values()):
        looks = looks_at(candidates, len(PASSWORD))
        drawn = draw_looks(sessions, segments, looks, workers, logins, horizon, looking)
        found = slot_captures(sessions, looks, drawn, len(names), PASSWORD, looking)
        taken = count_passwords(found.password, found.who, found.when, names, malicious)
    if not live:
        return taken, SessionDraw(0, 0, dict.fromkeys(names, 0), dict.fromkeys(names, 0), [])
    copies = SilencedCopies(sessions, live, workers, horizon, Silences(looks))
    copies.draw_sessions(drawn, logins, looks, taking)
    return taken, copies.tried(segments, attacker_sources, taking, rng, server=server,
                               reusing=reusing)


def _reads(sessions: SessionSpec, segments: Sequence[Segment],
           lifetimes: Sequence[WorkerLifetime], names: Sequence[str],
           rng: np.random.Generator) -> tuple[dict[int, WorkerCandidates], list[Live]]:
    """Every connection of the lifetimes an attacker meets, drawn once: per worker, the
    password's candidates, and the token reads with their sums (the workers with some)."""
    index = {n: i for i, n in enumerate(names)}
    kinds: Kinds = [(password_capture, "next_request"), (token_capture, sessions.lifetime)]
    starts = [s.t0 for s in segments]
    delta = residency_rate(sessions)
    restarts: dict[int, list[float]] = {}
    for lt in lifetimes:  # a token is gone at every restart, read or not
        if lt.end > lt.start:
            restarts.setdefault(lt.worker, []).extend((lt.start, lt.end))
    candidates: dict[int, WorkerCandidates] = {}
    live: list[Live] = []
    for w, lives in read_lifetimes(segments, lifetimes, index).items():
        at, by = [np.zeros(0)], [np.zeros(0, dtype=np.int64)]
        parts: list[Reads] = []
        for lt in lives:
            t, who, q, clears = in_time_order(
                lt, sample_shared_reads(segments, starts, lt, kinds, index, rng))
            candidate = rng.random(t.size) < q[:, 0]
            at.append(t[candidate])
            by.append(who[candidate])
            parts += lifetime_reads(sessions, segments, lt, Reads(t, who, q[:, 1], clears[:, 1]),
                                    rng)
        candidates[w] = (lives, np.concatenate(at), np.concatenate(by).astype(np.int64), None)
        wk = worker_reads(sessions.lifetime, parts, restarts[w])
        if wk.read_t.size:
            live.append((w, wk, prepare(wk, set_chances(wk, names, *every_reader(names)),
                                        delta)))
    return candidates, live


class Silences:
    """Per worker, the stretches ``(start, end]`` in which a look found no request, in time
    order (a look ends at its candidate and begins after the worker's previous one)."""

    def __init__(self, looks: Looks | None) -> None:
        self.by_worker: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        if looks is None:
            return
        start = np.where(looks.kind != Looks.NOTHING, looks.found, looks.lo)
        for w in np.unique(looks.worker).tolist():
            mine = looks.worker == w
            self.by_worker[w] = (start[mine], looks.t[mine])

    def hold(self, worker: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Whether each request time ``t`` on ``worker`` falls in a silence."""
        out = np.zeros(t.size, dtype=bool)
        for w, (start, end) in self.by_worker.items():
            mine = np.flatnonzero(worker == w)
            if mine.size:
                k = np.searchsorted(end, t[mine], side="left")
                inside = k < end.size
                inside[inside] = start[k[inside]] < t[mine][inside]
                out[mine] = inside
        return out


class SilencedCopies:
    """The sessions whose copies some read takes, given the looks (module docstring): the
    copies drawn as :class:`.token_takes.TakesTally` draws them, less the silences, and each
    found request's copy; then the sessions tried."""

    def __init__(self, spec: SessionSpec, live: Sequence[Live], workers: int, horizon: float,
                 silences: Silences) -> None:
        self.spec, self.workers, self.horizon, self.silences = spec, workers, horizon, silences
        self.ids = np.array([w for w, _, _ in live], dtype=np.int64)
        self.index = np.full(workers, -1, dtype=np.int64)
        """Per worker, where it sits in ``live`` (-1: nothing reads its tokens)."""
        self.index[self.ids] = np.arange(self.ids.size)
        self.live = [wk for _, wk, _ in live]
        self.sums = [s for _, _, s in live]
        self.delta = residency_rate(spec)
        self.own = spec.requests_per_s / workers
        self.u = np.zeros(0)
        self.copies = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0),
                       np.zeros(0, dtype=bool))
        """Every kept session's copies known: session, worker (an index into ``live``, -1:
        none), request time, and whether some read takes it."""

    def draw_sessions(self, drawn: DrawnLogins, logins: float, looks: Looks | None,
                      rng: np.random.Generator) -> None:
        """The sessions that can meet a token read: the logins the looks drew there and, on
        the rest, the Poisson stream; kept where a copy is taken (drawn chunk by chunk, as
        the draw where copies are taken draws them) or a found request's copy is."""
        read_t = np.sort(np.concatenate([wk.read_t for wk in self.live]))
        lo, hi = meeting(read_t, self.spec.ttl)
        k = np.searchsorted(hi, drawn.t, side="left")
        near = np.flatnonzero((k < hi.size) & (drawn.t > lo[np.minimum(k, lo.size - 1)]))
        pieces = [drawn.undrawn(a, b) for a, b in zip(lo.tolist(), hi.tolist())]
        start = np.concatenate([np.zeros(0), *(p[0] for p in pieces)])
        length = np.concatenate([np.zeros(0), *(p[1] for p in pieces)])
        piece = np.repeat(np.arange(start.size), rng.poisson(logins * length))
        u = np.concatenate([drawn.t[near], start[piece] + length[piece] * rng.random(piece.size)])
        row = np.full(drawn.t.size, -1, dtype=np.int64)
        row[near] = np.arange(near.size)
        found = self._found(row, looks, u, rng)
        copies = [found]
        kept = np.zeros(u.size, dtype=bool)
        kept[found[0][found[3]]] = True
        for a in range(0, u.size, CHUNK):
            sampled = self._sampled(u, np.arange(a, min(a + CHUNK, u.size)), rng)
            kept[sampled[0]] = True
            copies.append(sampled)
        renumber = np.cumsum(kept) - 1
        self.u = u[kept]
        session, worker, at, took = (np.concatenate(c) for c in zip(*copies))
        mine = kept[session]
        self.copies = (renumber[session[mine]], worker[mine], at[mine], took[mine])

    def _found(self, row: np.ndarray, looks: Looks | None, u: np.ndarray,
               rng: np.random.Generator
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The found requests' copies (``row``: each drawn login's session, -1 where it cannot
        meet a token read), each taken with its chance ``pi_w``: one whose session cannot meet
        a token read is never taken (it is dropped)."""
        if looks is None:
            return self._none()
        f = np.flatnonzero(looks.kind == Looks.TOKEN)
        session = row[looks.login[f]]
        f, session = f[session >= 0], session[session >= 0]
        worker = self.index[looks.worker[f]]
        at = looks.found[f]
        e = np.minimum(u[session] + self.spec.ttl, self.horizon)
        took = rng.random(f.size) < taken_chance(self.sums, self.delta, worker, at, e)
        return session, worker, at, took

    def _sampled(self, u: np.ndarray, rows: np.ndarray, rng: np.random.Generator
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The taken copies of the sessions ``rows``: Poisson with mean ``own sum_w X_w``,
        each on a worker in proportion to its ``X_w`` and placed by inverting ``F_w``
        (:func:`.token_takes._request_times`), less those in a silence of their worker."""
        e = np.minimum(u[rows] + self.spec.ttl, self.horizon)
        x = np.column_stack([w[:, 0] for w in exponents(self.sums, u[rows], e, self.delta)])
        count = rng.poisson(self.own * x.sum(axis=1))
        some = np.flatnonzero(count)
        if not some.size:
            return self._none()
        x, e, count = x[some], e[some], count[some]
        local = np.repeat(np.arange(some.size), count)
        share = np.cumsum(x, axis=1)[local]
        worker = (rng.random(local.size)[:, None] * share[:, -1:] >= share).sum(axis=1)
        worker = np.minimum(worker, len(self.sums) - 1)
        at = np.zeros(local.size)
        for i, w in enumerate(self.sums):
            mine = np.flatnonzero(worker == i)
            if mine.size:
                s = local[mine]
                at[mine] = _request_times(w, self.delta, u[rows[some]][s], e[s], x[s, i], rng)
        off = ~self.silences.hold(self.ids[worker], at)
        return rows[some][local][off], worker[off], at[off], np.ones(int(off.sum()), dtype=bool)

    def tried(self, segments: Sequence[Segment], attacker_sources: Mapping[str, int],
              rng: np.random.Generator, tries: np.random.Generator, *, server: str,
              reusing: frozenset[str] | None) -> SessionDraw:
        """Each attacker's first captures of the kept sessions, then the attempts (drawn from
        ``tries``) through the checks."""
        names, malicious = attacker_names(segments)
        session, worker, at, took = self.copies
        e = np.minimum(self.u + self.spec.ttl, self.horizon)
        first = np.full((self.u.size, len(names)), math.inf)
        for i, (w, wk) in enumerate(zip(self.sums, self.live)):
            mine = np.flatnonzero((worker == i) & took)
            if mine.size:
                s = session[mine]
                _first_takes(w, wk, self.delta, at[mine], e[s], s, first, len(names), rng)
        idle: Idle = never_idle
        if "concurrent" in self.spec.binding:
            reusers = sorted(malicious if reusing is None else malicious & reusing)
            quiet = self._quiet(e, first[:, [names.index(n) for n in reusers]], rng)
            idle = victim_idle(self.spec, self.u, np.concatenate([at, quiet[1]]),
                               np.concatenate([session, quiet[0]]))
        return try_sessions(self.spec, first, idle, names, malicious, attacker_sources, tries,
                            server=server, reusing=reusing)

    def _quiet(self, e: np.ndarray, tries: np.ndarray, rng: np.random.Generator
               ) -> tuple[np.ndarray, np.ndarray]:
        """The requests that left no copy known here, in the windows before the attempts: the
        session's Poisson stream there on a uniform worker, kept off the silences and unless
        its copy would have been taken (those are known)."""
        who, lo, hi = attempt_windows(self.u, tries, self.spec.concurrent_window)
        if not who.size:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        count = rng.poisson(self.spec.requests_per_s * (hi - lo))
        owner = np.repeat(who, count)
        at = np.repeat(lo, count) + np.repeat(hi - lo, count) * rng.random(owner.size)
        worker = rng.integers(self.workers, size=owner.size)
        keep = ~self.silences.hold(worker, at)
        chance = taken_chance(self.sums, self.delta, self.index[worker], at, e[owner])
        keep &= rng.random(owner.size) >= chance
        return owner[keep].astype(np.int64), at[keep]

    @staticmethod
    def _none() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        ints = np.zeros(0, dtype=np.int64)
        return ints, ints, np.zeros(0), np.zeros(0, dtype=bool)
