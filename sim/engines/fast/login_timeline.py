"""A server's logins drawn once, so that ``max_requests`` counts requests as the model sends them.

With sessions the legitimate requests a worker serves are not a Poisson process: every login
opens a session that sends requests for ``ttl`` (``model.md``, rule 4), so they come in
clusters, and a lifetime that reached its ``max_requests``-th request early more likely did so
on a burst of session requests than on attacker connections (``docs/fast-engine.md``, item 11).
Given the server's logins, though, everything else is Poisson again: each session's requests
are a Poisson stream routed per request to a uniform worker, so a worker's session requests
are Poisson at ``requests_per_s x M(t) / W``, ``M(t)`` the sessions open at ``t``,
independently of the other workers; the other requests are Poisson at their constant rate
(rule 18). So the skeleton counts a worker's own logins as known points and the rest by a
random time change of ``other + requests_per_s x M(t) / W`` plus the attackers' rates, which is
exact. The lingering-password path, which draws a lifetime's reads given the count its end
implies, reads these same logins (:func:`.lingering.sample_known_logins`); the paths that draw
a lifetime's requests free of that count draw their own (``docs/fast-engine.md``, item 11).

The skeleton draws them only where a path reads them (passwords resident for a duration or
until the next key operation; ``next_request`` passwords where the shared buffer's draw,
:mod:`.shared_buffer`, is sure to be taken, and so for ``next_request`` tokens alone;
without passwords, tokens that outlive the next request, counted login by login,
:mod:`.login_pairs`: :func:`drives_restarts`), where they drive a
``max_requests`` count (sessions that send requests) and where they are at most
:data:`LOGIN_LIMIT` per replication and :data:`ATTACKED_LOGIN_LIMIT` inside the attackers'
windows, since the cost grows with them; elsewhere it keeps the mean-rate time change (item 11
says what that leaves).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass

import numpy as np

from sim.engines.fast.segments import KnownLogins
from sim.engines.fast.token_takes import TAKES_LIMIT, takes_work
from sim.scenario.model import Server

#: Most logins one server may expect over a replication for the skeleton to draw them: the
#: timeline holds each about six times, as floats in arrays and in lists (about 350 bytes a
#: login measured, 175 MB at the limit).
LOGIN_LIMIT = 500_000
#: Most of them inside the attackers' windows, where each is an event of its worker (about
#: 20 microseconds: 2 s a replication at the limit). Across the attack-free stretches they
#: are counted in batches (:meth:`.skeleton.ServerRun._count_until`), at about the cost of
#: the restarts there.
ATTACKED_LOGIN_LIMIT = 100_000
#: Beside tokens that outlive the next request the paths that read the logins
#: (:mod:`.login_pairs`) cost about a millisecond a worker lifetime they read (measured on
#: random scenarios, 2026-12-07: 15 to 33 s a replication with 7,000 to 18,000 restarts in an
#: attack). Up to :data:`FEW_LOGINS` logins they are drawn whatever that costs, as they were
#: while that was the limit; past it only where the ``max_requests`` restarts expected
#: inside the attackers' windows are at most :data:`PAIRS_RESTART_LIMIT`.
FEW_LOGINS = 20_000
PAIRS_RESTART_LIMIT = 2_000
#: Steps :meth:`LoginTimeline.crossing` walks one by one before it walks in batches, of this
#: many at first, growing fourfold up to the last.
_WALK = 16
_FIRST_BATCH, _LAST_BATCH = 64, 65_536


def drives_restarts(server: Server, horizon: float, shared: bool, connections: float,
                    attacked: float) -> bool:
    """Whether the skeleton draws ``server``'s logins (module docstring): where they drive
    ``max_requests`` and a path reads them: the lingering path; for ``next_request``
    passwords, the shared buffer's (``shared``: :func:`.shared_buffer.always_shared` says it
    is taken in every replication, which it says for ``next_request`` tokens alone too);
    and for tokens that outlive the next request without passwords, the class per login or
    the draw where copies are taken (:mod:`.login_pairs`), where the latter fits its limit
    with ``connections``, the most the attackers can send the server. ``attacked``: how long
    some attacker sends to it (:data:`ATTACKED_LOGIN_LIMIT`, :data:`PAIRS_RESTART_LIMIT`).

    Not for ``next_request`` passwords or tokens elsewhere: the slot, chain and at-the-reads
    paths draw a lifetime's requests free of its count (``docs/fast-engine.md``, item 13),
    and with the restarts' true spread but that count left out they did worse than with the
    mean-rate time change (item 11)."""
    sessions, passwords = server.sessions, server.passwords
    logins = server.traffic.logins_per_s * server.hosts
    if (server.restart.max_requests is None or sessions is None or sessions.ttl <= 0.0
            or sessions.requests_per_s <= 0.0 or logins <= 0.0
            or logins * horizon > LOGIN_LIMIT or logins * attacked > ATTACKED_LOGIN_LIMIT):
        return False
    requests = server.traffic.requests_per_s * server.hosts * attacked + connections
    if (sessions.lifetime != "next_request" and logins * horizon > FEW_LOGINS
            and requests / server.restart.max_requests > PAIRS_RESTART_LIMIT):
        return False
    if passwords is not None and passwords.lifetime != "next_request":
        return True
    if passwords is not None or sessions.lifetime == "next_request":
        return shared
    handshakes = server.traffic.handshakes_per_s * server.hosts
    return takes_work(sessions, server.total_workers, logins, connections, horizon,
                      handshakes) <= TAKES_LIMIT


@dataclass(frozen=True, slots=True)
class LoginTimeline:
    """The server's logins over ``[0, horizon)`` and what they imply for each worker's traffic."""

    own: tuple[np.ndarray, ...]
    """Per worker, its logins in time order."""
    other: float
    """Requests per second per worker that are neither logins nor session requests."""
    session_rate: float
    """Requests per second one open session sends to one worker."""
    _edges: list[float]
    """Where the number of open sessions changes (logins and expiries), from 0 on."""
    _open: list[float]
    """Sessions open on ``[edges[k], edges[k + 1])``."""
    _area: list[float]
    """``int_0^edges[k] M``: session-seconds open before each edge."""
    _arrays: tuple[np.ndarray, np.ndarray, np.ndarray]
    """The three lists as arrays, for :meth:`requests_between` (the lists serve the calls
    made per event, where indexing an array costs more than a list)."""

    @classmethod
    def draw(cls, server: Server, horizon: float, rng: np.random.Generator) -> LoginTimeline:
        sessions = server.sessions
        assert sessions is not None
        w = server.total_workers
        rate = server.traffic.logins_per_s * server.hosts
        times = np.sort(horizon * rng.random(int(rng.poisson(rate * horizon))))
        workers = rng.integers(w, size=times.size)
        ends = np.minimum(times + sessions.ttl, horizon)
        edges = np.concatenate(([0.0], times, ends))
        steps = np.concatenate(([0], np.ones(times.size, dtype=np.int64),
                                -np.ones(times.size, dtype=np.int64)))
        order = np.argsort(edges, kind="stable")
        edges, opened = edges[order], np.cumsum(steps[order])
        area = np.concatenate(([0.0], np.cumsum(opened[:-1] * np.diff(edges))))
        opened = opened.astype(float)
        return cls(tuple(times[workers == k] for k in range(w)),
                   server.traffic.other_requests_per_s(sessions) / server.workers,
                   sessions.requests_per_s / w, edges.tolist(), opened.tolist(), area.tolist(),
                   (edges, opened, area))

    def open_at(self, t: float) -> float:
        """``M(t)``: sessions open at ``t``."""
        return self._open[bisect_right(self._edges, t) - 1]

    def _area_at(self, t: float) -> float:
        k = bisect_right(self._edges, t) - 1
        return self._area[k] + self._open[k] * (t - self._edges[k])

    def session_requests(self, t0: float, t1: float) -> float:
        """Session requests one worker expects on ``[t0, t1)`` given the logins."""
        return self.session_rate * (self._area_at(t1) - self._area_at(t0))

    def requests(self, t0: float, t1: float) -> float:
        """Legitimate requests other than its logins one worker expects on ``[t0, t1)``."""
        return self.other * (t1 - t0) + self.session_requests(t0, t1)

    def requests_between(self, t0: np.ndarray, t1: np.ndarray) -> np.ndarray:
        """:meth:`requests` over many stretches at once, with the same arithmetic step by
        step, so that each is the same float as one call would give (the skeleton's count
        across a quiet stretch must not depend on which of the two took it)."""
        edges, opened, area = self._arrays

        def area_at(t: np.ndarray) -> np.ndarray:
            k = edges.searchsorted(t, side="right") - 1
            return area[k] + opened[k] * (t - edges[k])

        return self.other * (t1 - t0) + self.session_rate * (area_at(t1) - area_at(t0))

    def request_rate(self, t: float) -> float:
        """Legitimate requests per second at ``t`` to one worker, its logins aside."""
        return self.other + self.session_rate * self.open_at(t)

    def crossing(self, t0: float, t1: float, rate: float, x: float) -> float | None:
        """The first ``t`` in ``(t0, t1]`` at which ``rate`` per second plus the session
        requests integrated from ``t0`` reach ``x`` (None if they do not by ``t1``): the
        random time change of :mod:`.skeleton`, ``rate`` the constant part (the other requests
        and the attackers'). Stepped edge by edge in Python at first: a worker's next event is
        mostly a few edges away, and numpy's calls cost more than that walk (they are made per
        event). Among many workers a worker's own events are many edges apart (every worker's
        logins and expiries are edges), so past :data:`_WALK` steps the walk goes on in
        batches (:meth:`_walk`), with the same floats."""
        if x <= 0.0:
            return t0
        edges, opened, kappa = self._edges, self._open, self.session_rate
        k = bisect_right(edges, t0) - 1
        t, done = t0, 0.0
        steps, size = 0, _FIRST_BATCH
        while True:
            if steps >= _WALK and k + 1 < len(edges) - 1:
                ended, found, t, done, k = self._walk(k, t, done, t1, rate, x, size)
                if ended:
                    return found
                size = min(4 * size, _LAST_BATCH)
                continue
            nxt = edges[k + 1] if k + 1 < len(edges) else math.inf
            stop = min(nxt, t1)
            slope = rate + kappa * opened[k]
            gain = slope * (stop - t)
            if done + gain >= x and slope > 0.0:
                return min(t + (x - done) / slope, stop)
            if stop >= t1:
                return None
            t, done, k, steps = stop, done + gain, k + 1, steps + 1

    def _walk(self, k: int, t: float, done: float, t1: float, rate: float, x: float,
              size: int) -> tuple[bool, float | None, float, float, int]:
        """Up to ``size`` steps of :meth:`crossing`'s walk from edge ``k`` (reached at ``t``
        with ``done`` counted), each computed as the loop computes it and the counts summed
        in the same order: whether the walk ended, and what it returned, else where it got."""
        edges, opened = self._arrays[0], self._arrays[1]
        m = min(size, edges.size - 1 - k)
        stops = np.minimum(edges[k + 1:k + 1 + m], t1)
        starts = np.concatenate(([t], stops[:-1]))
        slopes = rate + self.session_rate * opened[k:k + m]
        dones = np.add.accumulate(np.concatenate(([done], slopes * (stops - starts))))
        hits = (dones[1:] >= x) & (slopes > 0.0)
        ends = np.flatnonzero(hits | (stops >= t1))
        if ends.size == 0:
            return False, None, float(stops[-1]), float(dones[-1]), k + m
        i = int(ends[0])
        if not hits[i]:
            return True, None, 0.0, 0.0, 0
        found = float(starts[i]) + (x - float(dones[i])) / float(slopes[i])
        return True, min(found, float(stops[i])), 0.0, 0.0, 0

    def inside(self, worker: int, start: float, end: float) -> KnownLogins:
        """What a worker lifetime ``[start, end)`` knows of its legitimate requests."""
        own = self.own[worker]
        i, j = int(own.searchsorted(start, side="right")), int(own.searchsorted(end, side="left"))
        return KnownLogins(own[i:j], self.requests(start, end), self.request_rate(end))

    def every_login(self) -> tuple[np.ndarray, np.ndarray]:
        """The server's logins in time order, and the worker of each."""
        times = np.concatenate(self.own)
        workers = np.repeat(np.arange(len(self.own)), [t.size for t in self.own])
        order = np.argsort(times, kind="stable")
        return times[order], workers[order]
