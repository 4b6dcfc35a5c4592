"""One attacker on one target server: its connections, heartbeats and captures.

A connection (rules 5-10) picks a source and a worker, performs its key operations, then sends
its heartbeats back to back at the same instant, so no legitimate event can come in between.
Heartbeats outside the vulnerable window are sent (they count and are observed) but read
nothing and cannot crash. Only then is the connection counted toward ``max_requests`` (the
restart follows the Nth connection once it is served); a crashed connection is not counted
because its crash has already restarted the worker and reset the count.

``stop_when: patched`` (rule 8) ends the campaign after the first connection sent while the
server is outside its vulnerable window; a crashed connection does not count as unanswered
(the worker died mid-read, as it does on a vulnerable server: heartleech retries).
"""

from __future__ import annotations

from collections.abc import Generator

import numpy as np
import simpy

from sim.model.record import Connection, Crash, Observations, PasswordLogins, SessionReuses
from sim.engines.reference.heap import Worker
from sim.engines.reference.server import ServerSim
from sim.engines.reference.tally import Tally
from sim.engines.reference.trace import Window
from sim.model.attackers import ActiveWindow
from sim.model.capture import CaptureTable
from sim.scenario.model import Attacker


class Campaign:
    def __init__(
        self,
        attacker: Attacker,
        server: ServerSim,
        window: ActiveWindow,
        rng: np.random.Generator,
        observations: Observations,
    ) -> None:
        self.attacker = attacker
        self.server = server
        self.window = window
        self.rng = rng
        self.observations = observations
        self.table = CaptureTable(server.spec, attacker)
        self.own = Tally()
        self.stopped = False
        """``stop_when`` has been met (rule 8): the attacker sends nothing more to this target."""
        passwords = server.spec.passwords
        self.logs_in = attacker.logs_in and passwords is not None and passwords.kind == "static"
        """Rule 22: it logs in with each static password it captures here."""

    def run(self) -> Generator[simpy.Event, None, None]:
        """Connections as a Poisson process over the window, until the attacker stops."""
        env, rate = self.server.env, self.attacker.connection_rate
        if rate <= 0.0:
            return
        t = self.window.t0
        while not self.stopped:
            t += self.rng.exponential(1.0 / rate)
            if t >= self.window.t1:
                return
            yield env.timeout(t - env.now)
            self._connect()

    def _connect(self) -> None:
        attacker, server, rng = self.attacker, self.server, self.rng
        now = server.env.now
        source = int(rng.integers(attacker.sources))
        worker = server.pick(rng)
        for _ in range(attacker.key_ops_per_connection):
            server.key_op(worker, rng)
        vulnerable = server.spec.is_vulnerable(now)
        sent = answered = 0
        for _ in range(attacker.heartbeats_per_connection):
            sent += 1
            self.own.heartbeats += 1
            if not attacker.benign:
                server.malicious.heartbeats += 1
            if not vulnerable:
                if server.trace is not None:
                    server.trace.heartbeat(now, attacker.name, server.spec.name,
                                           server.workers.index(worker), source, None)
                continue
            crash = server.spec.crash_probability
            if crash > 0.0 and rng.random() < crash:
                self.observations.crashes.append(
                    Crash(now, attacker.name, server.spec.name, source, sent, answered)
                )
                if server.trace is not None:
                    server.trace.crash(now, attacker.name, server.spec.name,
                                       server.workers.index(worker))
                server.restart(worker, "crash")
                return
            answered += 1
            self._read(worker, source, now)
            if self.stopped:
                break
        assert self.observations.connections is not None
        self.observations.connections.append(
            Connection(now, attacker.name, server.spec.name, source, sent, answered)
        )
        server.served(worker)
        if attacker.stops_when_patched and not vulnerable:
            self.stopped = True  # rule 8: the first unanswered connection, sent and seen

    def _read(self, worker: Worker, source: int, now: float) -> None:
        """Credit what one answered heartbeat captured to the attacker and, if malicious, to
        the server's totals."""
        server, malicious = self.server, not self.attacker.benign
        if server.trace is not None:
            before = (worker.key_pieces, len(worker.key_copies.live(now)),
                      tuple(c.owner for c in worker.passwords.live(now)),
                      tuple(c.owner for c in worker.tokens.live(now)))
        key, passwords, tokens = server.read(worker, self.table, self.rng)
        if server.trace is not None:
            server.trace.heartbeat(now, self.attacker.name, server.spec.name,
                                   server.workers.index(worker), source,
                                   Window(*before, key, tuple(passwords), tuple(tokens)))
        if key:
            self.own.key(now)
            if malicious:
                server.malicious.key(now)
            if self.attacker.stops_at_key:
                self.stopped = True
        if self.logs_in:
            for login in dict.fromkeys(passwords):
                if login not in self.own.passwords:
                    self._login(now)
        self.own.passwords.update(passwords)
        if malicious:
            server.malicious.passwords.update(passwords)
        for session in tokens:
            if server.session_end[session] <= now or session in self.own.sessions:
                continue  # expired (rule 1), or already captured while valid
            self.own.sessions.add(session)
            if malicious:
                server.malicious.sessions.add(session)
                if self.attacker.reuses_sessions:
                    self._reuse(session, source, now)

    def _login(self, now: float) -> None:
        """Rule 22: log in with a newly captured static password, at once, from a uniform
        source; the shared-address draw is made here."""
        spec = self.server.spec.passwords
        assert spec is not None
        source = int(self.rng.integers(self.attacker.sources))
        shared = bool(self.rng.random() < spec.shared_address_probability)
        self.observations.password_logins.append(
            PasswordLogins.one(now, self.attacker.name, self.server.spec.name, source, shared))

    def _reuse(self, session: int, source: int, now: float) -> None:
        """Rule 9: try the session at once; the shared-address draw is made here, the binding
        checks follow in rule 21's order (the browser draw only when ``browser`` is listed)."""
        spec = self.server.spec.sessions
        assert spec is not None
        shared = bool(self.rng.random() < spec.shared_address_probability)
        hijacked = True
        passed = 0
        for check in spec.binding:
            if check == "ip":
                hijacked = shared
            elif check == "browser":
                hijacked = bool(self.rng.random() < spec.browser_match_probability)
            else:
                hijacked = self.server.session_last[session] <= now - spec.concurrent_window
            if not hijacked:
                break
            passed += 1
        self.server.malicious.tried(session, passed)
        if self.server.trace is not None:
            self.server.trace.reuse(now, self.attacker.name, self.server.spec.name, session,
                                    hijacked, shared)
        self.observations.session_reuses.append(
            SessionReuses.one(now, self.attacker.name, self.server.spec.name, source, not hijacked,
                              shared)
        )
        if hijacked:
            self.own.hijacked.add(session)
            self.server.malicious.hijacked.add(session)
