"""Piecewise-constant traffic on one server: what the fast engine integrates over.

Between two state-changing events of a server (an attacker starting, stopping or giving up on
``stop_when: key``, the vulnerable window opening or closing, the session ramp after the cold
start) every rate is constant. A :class:`Segment` records those rates *per worker*, so that the
closed forms downstream (key capture hazards, password and session capture integrals) read
them directly. Worker restarts are not segment boundaries: they are per worker and are kept
as :class:`Lifetime` lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True, slots=True)
class AttackerRates:
    """One attacker's traffic to one worker during a segment."""

    name: str
    benign: bool
    connection_rate: float
    """Connections per second reaching this worker (all of them, crashing ones included)."""
    heartbeats: int
    """Heartbeats per connection (``heartbeats_per_connection``)."""
    key_ops: int
    """Private-key operations per connection (``key_ops_per_connection``)."""
    c_key: float
    c_password: float
    c_token: float
    """Per-heartbeat capture probabilities of one piece; all 0 outside the vulnerable window."""


@dataclass(frozen=True, slots=True)
class Segment:
    """Constant rates on ``[t0, t1)`` for every worker of one server."""

    t0: float
    t1: float
    vulnerable: bool
    requests: float
    """Legitimate requests per second per worker (logins and session requests included)."""
    logins: float
    """Logins per second per worker."""
    session_requests: float
    """Session requests per second per worker (rule 4; ramps up after the cold start)."""
    handshakes: float
    """Legitimate private-key operations per second per worker."""
    crash_probability: float
    """Per answered heartbeat; 0 outside the vulnerable window (rule 6)."""
    attackers: tuple[AttackerRates, ...] = ()

    @property
    def duration(self) -> float:
        return self.t1 - self.t0


EndCause = Literal["horizon", "scheduled", "max_requests", "crash", "patch"]


@dataclass(frozen=True, slots=True)
class CrashInfo:
    """The connection that crashed a worker: who sent it and how many heartbeats were answered
    before the crashing one (those could still capture)."""

    attacker: str
    answered_before: int
    source: int


@dataclass(slots=True)
class Lifetime:
    """One worker lifetime ``[start, end)``: memory is empty at ``start`` and cleared at ``end``."""

    worker: int
    start: float
    end: float
    key_reachable: bool
    end_cause: EndCause = "horizon"
    crash: CrashInfo | None = None
    crash_captures: dict[str, bool] = field(default_factory=dict)
    """Filled by the buffer integrals: whether the crashing connection captured each kind."""
