"""What one replication produces, whichever engine ran it.

An engine turns (scenario, one replication's seed) into a :class:`ReplicationRecord`: what was
captured (per server in total over malicious attackers, and per attacker of its own), plus the
observable traffic that log detectors turn into alerts: attack phases (or, for the reference
engine, every connection), worker crashes, session reuse attempts and logins with captured
passwords. Detectors read only the
observations, so both engines feed the same detector code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np


@dataclass(slots=True)
class Captures:
    """Counts of one scope (a server, or one attacker on one server) in one replication.

    Counts are per server (keys: 0 or 1), per login (passwords) and per session (rule 12).
    """

    key: int = 0
    password: int = 0
    password_reusable: int = 0
    session: int = 0
    session_hijack: int = 0
    key_time: float = math.nan
    """Seconds since start of the first key capture, ``nan`` when the key did not leak."""
    key_heartbeats: int = -1
    """Malicious heartbeats sent to the server up to and including the capturing one."""
    session_hijack_by_checks: tuple[int, ...] = ()
    """A server's sessions hijacked had it made only the first ``k`` of its binding checks
    (rule 21's order), ``k = 0 .. len(binding) - 1``: what each check bought. Kept per server
    only (``add`` leaves it out); empty where none was tried, which counts as zeros."""

    def add(self, other: Captures) -> None:
        self.key = max(self.key, other.key)
        self.password += other.password
        self.password_reusable += other.password_reusable
        self.session += other.session
        self.session_hijack += other.session_hijack


@dataclass(frozen=True, slots=True)
class AttackPhase:
    """An attacker sending at a constant rate to one server over ``[t0, t1)``.

    The fast engine describes traffic this way; connections in a phase form a Poisson process
    of ``connection_rate`` (crashing connections excluded: they are listed as crashes).
    ``vulnerable`` says whether heartbeats were answered.
    """

    attacker: str
    server: str
    t0: float
    t1: float
    connection_rate: float
    vulnerable: bool


@dataclass(frozen=True, slots=True)
class Connection:
    """One attacker connection known individually: every one in the reference engine, the
    key-capturing ones in the fast engine."""

    time: float
    attacker: str
    server: str
    source: int
    heartbeats_sent: int
    heartbeats_answered: int


@dataclass(frozen=True, slots=True)
class Crash:
    """A worker crash caused by an over-read; ``heartbeats_sent`` includes the crashing one."""

    time: float
    attacker: str
    server: str
    source: int
    heartbeats_sent: int
    heartbeats_answered: int


class ReuseAttempt(NamedTuple):
    """One malicious attempt to reuse a captured session (rule 9)."""

    time: float
    attacker: str
    server: str
    source: int
    blocked: bool
    shared_address: bool


@dataclass(frozen=True, slots=True, eq=False)
class SessionReuses:
    """An attacker's session reuse attempts on one server, as columns.

    A columnar batch rather than one object per attempt: an attack on a busy server can reuse
    tens of thousands of sessions, and building an object for each would make the fast
    engine's cost grow with them.
    """

    attacker: str
    server: str
    time: np.ndarray
    source: np.ndarray
    blocked: np.ndarray
    shared_address: np.ndarray

    @classmethod
    def one(cls, time: float, attacker: str, server: str, source: int, blocked: bool,
            shared_address: bool) -> SessionReuses:
        return cls(attacker, server, np.array([time]), np.array([source]),
                   np.array([blocked]), np.array([shared_address]))

    def __len__(self) -> int:
        return len(self.time)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SessionReuses):
            return NotImplemented
        return (self.attacker, self.server) == (other.attacker, other.server) and all(
            np.array_equal(getattr(self, f), getattr(other, f))
            for f in ("time", "source", "blocked", "shared_address")
        )

    def attempts(self) -> list[ReuseAttempt]:
        return [
            ReuseAttempt(float(t), self.attacker, self.server, int(s), bool(b), bool(h))
            for t, s, b, h in zip(self.time, self.source, self.blocked, self.shared_address)
        ]


@dataclass(frozen=True, slots=True, eq=False)
class PasswordLogins:
    """An attacker's logins with the static passwords it captured on one server (rule 22), as
    columns: one per distinct captured login, at its capture, from a uniform source."""

    attacker: str
    server: str
    time: np.ndarray
    source: np.ndarray
    shared_address: np.ndarray

    @classmethod
    def one(cls, time: float, attacker: str, server: str, source: int,
            shared_address: bool) -> PasswordLogins:
        return cls(attacker, server, np.array([time]), np.array([source]),
                   np.array([shared_address]))

    def __len__(self) -> int:
        return len(self.time)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PasswordLogins):
            return NotImplemented
        return (self.attacker, self.server) == (other.attacker, other.server) and all(
            np.array_equal(getattr(self, f), getattr(other, f))
            for f in ("time", "source", "shared_address")
        )


@dataclass(slots=True)
class Observations:
    """Everything a log detector could see of the attack traffic in one replication.

    Exactly one of ``phases`` (fast engine) or ``connections`` (reference engine) is filled.
    Crashing connections appear only in ``crashes``. The fast engine lists the connections it
    knows one by one in ``known_connections``, beside its phases (whose rates then leave them
    out): those that captured a key, the unanswered one of ``stop_when: patched``, and every
    connection of a light attacker (``sim/engines/fast/listed.py``), which has no phases. The
    reference engine has them all in ``connections``.
    """

    phases: list[AttackPhase] = field(default_factory=list)
    connections: list[Connection] | None = None
    known_connections: list[Connection] = field(default_factory=list)
    crashes: list[Crash] = field(default_factory=list)
    session_reuses: list[SessionReuses] = field(default_factory=list)
    password_logins: list[PasswordLogins] = field(default_factory=list)

    def reuse_attempts(self) -> list[ReuseAttempt]:
        """Every session reuse attempt, one by one (for tests and narration)."""
        return [a for batch in self.session_reuses for a in batch.attempts()]


@dataclass(slots=True)
class ReplicationRecord:
    present: dict[str, bool]
    servers: dict[str, Captures]
    """Malicious totals per server (a secret captured by several attackers counts once)."""
    attackers: dict[str, dict[str, Captures]]
    """Each attacker's own captures per target server (benign attackers included)."""
    observations: Observations = field(default_factory=Observations)
