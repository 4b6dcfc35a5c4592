"""One server as the reference engine runs it: its workers, restarts and legitimate traffic.

Per-host rates times ``hosts`` give the server's rates, and every request, login and handshake
goes to a worker drawn uniformly among all ``hosts x workers`` workers (``model.md``, "Servers,
hosts and workers"), so one stream per kind at the server's rate is the same process as one
stream per host. Attackers act on a server through :meth:`ServerSim.key_op`,
:meth:`ServerSim.served`, :meth:`ServerSim.restart` and :meth:`ServerSim.read`.
"""

from __future__ import annotations

import math
from collections.abc import Generator

import numpy as np
import simpy

from sim.engines.reference.arrivals import poisson
from sim.engines.reference.heap import Copy, Residency, Shelf, Worker
from sim.engines.reference.tally import Tally
from sim.engines.reference.trace import Trace
from sim.model.capture import CaptureTable
from sim.model.restarts import scheduled_restarts
from sim.scenario.model import Server


class ServerSim:
    def __init__(
        self,
        env: simpy.Environment,
        spec: Server,
        end: float,
        traffic_rng: np.random.Generator,
        state_rng: np.random.Generator,
        begin: float = 0.0,
        trace: Trace | None = None,
    ) -> None:
        """``end`` is where the run stops; ``traffic_rng`` drives legitimate traffic,
        ``state_rng`` the restart schedule and every key placement. ``begin`` (the
        environment's start) and ``trace`` are for ``bleedsim demo``, which runs stretches of
        a timeline from a cold start at ``begin`` and listens to the events."""
        self.env = env
        self.begin = begin
        self.trace = trace
        self.spec = spec
        self.end = end
        self.traffic_rng = traffic_rng
        self.state_rng = state_rng
        self.key_residency = Residency(spec.keys.copy_lifetime)
        self.password_residency = Residency(spec.passwords.lifetime) if spec.passwords else None
        self.token_residency = Residency(spec.sessions.lifetime) if spec.sessions else None
        self.workers = [
            Worker(self.key_residency, self.password_residency, self.token_residency)
            for _ in range(spec.total_workers)
        ]
        for worker in self.workers:  # cold start (rule 2): a lifetime begins at t = 0
            self._place_key(worker)
        if trace is not None:
            for i, worker in enumerate(self.workers):
                trace.restart(begin, spec.name, i, "start", worker.key_pieces > 0)
        self.session_end: list[float] = []
        """End of validity of session ``i`` (opened by login ``i``)."""
        self.session_last: list[float] = []
        """Time of session ``i``'s latest request, its login included (the ``concurrent``
        check of rule 21)."""
        self.logins = 0
        self.malicious = Tally()
        """Captures by malicious attackers on this server, each secret once."""

    def start(self) -> None:
        env, rng, spec, end = self.env, self.traffic_rng, self.spec, self.end
        traffic = spec.traffic
        env.process(self._restarts())
        begin = self.begin
        env.process(poisson(env, spec.hosts * traffic.logins_per_s, begin, end, rng, self._login))
        other = spec.hosts * traffic.other_requests_per_s(spec.sessions)
        env.process(poisson(env, other, begin, end, rng, self._other_request))
        handshakes = spec.hosts * traffic.handshakes_per_s
        env.process(poisson(env, handshakes, begin, end, rng, self._handshake))

    def pick(self, rng: np.random.Generator) -> Worker:
        """A uniform worker. ``floor(U n)`` with ``U`` in [0, 1) is uniform on 0..n-1 and never
        rounds up to ``n``; it costs a third of ``rng.integers``, and routing is the engine's
        most frequent draw."""
        return self.workers[int(rng.random() * len(self.workers))]

    # -- worker lifetimes -------------------------------------------------------------------

    def restart(self, worker: Worker, reason: str = "") -> None:
        worker.wipe()
        self._place_key(worker)
        if self.trace is not None:
            self.trace.restart(self.env.now, self.spec.name, self.workers.index(worker), reason,
                               worker.key_pieces > 0)

    def served(self, worker: Worker) -> None:
        """Count a connection the worker has finished serving; restart it at ``max_requests``."""
        worker.served += 1
        limit = self.spec.restart.max_requests
        if limit is not None and worker.served >= limit:
            self.restart(worker, "max_requests")

    def _place_key(self, worker: Worker) -> None:
        reachable = self.state_rng.random() < self.spec.keys.reachable
        worker.key_pieces = 2 if reachable else 0

    def _restarts(self) -> Generator[simpy.Event, None, None]:
        """Scheduled restarts of every worker (rule 3) and the patch (rule 1), in time order."""
        plan: list[tuple[float, int]] = []
        for i in range(len(self.workers)):
            times = scheduled_restarts(self.spec.restart, self.end, self.state_rng)
            plan += [(float(t), i) for t in times if t >= self.begin]
        everyone = -1
        if self.begin <= self.spec.patched_at < self.end:
            plan.append((self.spec.patched_at, everyone))
        plan.sort()
        for t, i in plan:
            yield self.env.timeout(t - self.env.now)
            targets = self.workers if i == everyone else [self.workers[i]]
            for worker in targets:
                self.restart(worker, "patch" if i == everyone else "scheduled")

    # -- legitimate traffic -----------------------------------------------------------------

    def _login(self) -> None:
        login = self.logins
        self.logins += 1
        worker = self.pick(self.traffic_rng)
        self._request(worker, password=login)
        if self.trace is not None:
            self.trace.login(self.env.now, self.spec.name, self.workers.index(worker), login)
        sessions = self.spec.sessions
        if sessions is not None:
            now = self.env.now
            self.session_end.append(now + sessions.ttl)
            self.session_last.append(now)
            env, rng = self.env, self.traffic_rng
            stop = min(now + sessions.ttl, self.end)
            env.process(
                poisson(env, sessions.requests_per_s, now, stop, rng, lambda: self._session(login))
            )

    def _session(self, session: int) -> None:
        self.session_last[session] = self.env.now
        self._request(self.pick(self.traffic_rng), token=session)

    def _other_request(self) -> None:
        self._request(self.pick(self.traffic_rng))

    def _handshake(self) -> None:
        self.key_op(self.pick(self.traffic_rng), self.traffic_rng)

    def _request(self, worker: Worker, password: int = -1, token: int = -1) -> None:
        """A legitimate request overwrites ``next_request`` copies, then leaves its own."""
        now, rng = self.env.now, self.traffic_rng
        self._evict(worker, on_request=True)
        if password >= 0 and self.password_residency is not None:
            worker.passwords.add(Copy(password, self.password_residency.expiry(now, rng)), now)
        if token >= 0 and self.token_residency is not None:
            worker.tokens.add(Copy(token, self.token_residency.expiry(now, rng)), now)
        self.served(worker)

    def key_op(self, worker: Worker, rng: np.random.Generator) -> None:
        """A private-key operation (rule 5): evict ``next_handshake`` copies, add its own."""
        now = self.env.now
        self._evict(worker, on_request=False)
        per_op = self.spec.keys.copies_per_handshake
        copies = math.floor(per_op)
        remainder = per_op - copies
        if remainder > 0.0 and rng.random() < remainder:
            copies += 1
        for _ in range(copies):
            worker.key_copies.add(Copy(-1, self.key_residency.expiry(now, rng)), now)
        if self.trace is not None and copies:
            self.trace.key_op(now, self.spec.name, self.workers.index(worker), copies)

    def _evict(self, worker: Worker, on_request: bool) -> None:
        shelves: list[tuple[Shelf, Residency | None]] = [
            (worker.key_copies, self.key_residency),
            (worker.passwords, self.password_residency),
            (worker.tokens, self.token_residency),
        ]
        for shelf, residency in shelves:
            if residency is not None and (
                residency.on_request if on_request else residency.on_key_op
            ):
                shelf.clear()

    # -- over-reads -------------------------------------------------------------------------

    def read(
        self, worker: Worker, table: CaptureTable, rng: np.random.Generator
    ) -> tuple[bool, list[int], list[int]]:
        """One answered heartbeat: a Bernoulli draw for every resident piece.

        Returns whether any key piece was captured, and the owners (login ids, session ids)
        of the password and token copies captured.
        """
        now = self.env.now
        key = False
        if table.key > 0.0:
            pieces = worker.key_pieces + len(worker.key_copies.live(now))
            key = pieces > 0 and bool((rng.random(pieces) < table.key).any())
        return key, _hits(worker.passwords, table.password, rng, now), _hits(
            worker.tokens, table.token, rng, now
        )


def _hits(shelf: Shelf, p: float, rng: np.random.Generator, now: float) -> list[int]:
    if p <= 0.0:
        return []
    copies = shelf.live(now)
    if not copies:
        return []
    drawn = rng.random(len(copies)) < p
    return [c.owner for c, hit in zip(copies, drawn) if hit]
