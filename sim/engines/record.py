"""What one replication produces, whichever engine ran it.

An engine turns (scenario, one replication's seed) into a :class:`ReplicationRecord`: what was
captured (per server in total over malicious attackers, and per attacker of its own), plus the
observable traffic that log detectors turn into alerts: attack phases (or, for the reference
engine, every connection), worker crashes and session reuse attempts. Detectors read only the
observations, so both engines feed the same detector code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


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
    """One attacker connection, as the reference engine simulated it."""

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


@dataclass(frozen=True, slots=True)
class SessionReuse:
    """A malicious attacker trying a captured session (rule 9)."""

    time: float
    attacker: str
    server: str
    source: int
    blocked: bool
    shared_address: bool


@dataclass(slots=True)
class Observations:
    """Everything a log detector could see of the attack traffic in one replication.

    Exactly one of ``phases`` (fast engine) or ``connections`` (reference engine) is filled.
    Crashing connections appear only in ``crashes``. The fast engine lists the connections it
    knows happened because they captured a key in ``key_connections``, beside its phases
    (whose rates then leave them out); the reference engine has them in ``connections``.
    """

    phases: list[AttackPhase] = field(default_factory=list)
    connections: list[Connection] | None = None
    key_connections: list[Connection] = field(default_factory=list)
    crashes: list[Crash] = field(default_factory=list)
    session_reuses: list[SessionReuse] = field(default_factory=list)


@dataclass(slots=True)
class ReplicationRecord:
    present: dict[str, bool]
    servers: dict[str, Captures]
    """Malicious totals per server (a secret captured by several attackers counts once)."""
    attackers: dict[str, dict[str, Captures]]
    """Each attacker's own captures per target server (benign attackers included)."""
    observations: Observations = field(default_factory=Observations)
