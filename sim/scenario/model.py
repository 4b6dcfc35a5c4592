"""The resolved scenario: what engines read.

A scenario file is validated (``sim.scenario.schema``) and then resolved into these frozen
objects: every default filled in, every time in seconds since ``timeline.start``, every size in
bytes, every rate per second, every duration in seconds. Engines, the Monte Carlo layer and the
analysis read only this module's types, never the raw YAML, so the meaning of a field is fixed
in one place.

``math.inf`` stands for "never" (no patch, no heartbeat switch-off, keep records forever).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

#: A residency rule: the mean of an exponential residency in seconds, or a traffic-driven rule
#: (``model.md``, "Residency").
ResidencySpec = float | Literal["next_request", "next_handshake"]

NEVER = math.inf


@dataclass(frozen=True, slots=True)
class Timeline:
    start_iso: str
    """``start`` as an ISO 8601 instant in UTC, for presenting times; engines use seconds."""
    vulnerable_since: float
    disclosed_at: float
    analysis_at: float


@dataclass(frozen=True, slots=True)
class KeySpec:
    reachable: float
    bits: int = 2048
    copies_per_handshake: float = 0.0
    copy_lifetime: ResidencySpec = "next_handshake"
    piece_bytes: int = 128
    region_bytes: int | None = None
    capture: float | None = None


@dataclass(frozen=True, slots=True)
class PasswordSpec:
    bytes: int = 64
    lifetime: ResidencySpec = "next_request"
    kind: Literal["static", "otp"] = "static"
    shared_address_probability: float = 0.0
    """Rule 22: chance that a login with a captured password comes from the victim's address."""
    region_bytes: int | None = None
    capture: float | None = None


@dataclass(frozen=True, slots=True)
class SessionSpec:
    ttl: float
    requests_per_s: float
    bytes: int = 32
    lifetime: ResidencySpec = "next_request"
    binding: tuple[str, ...] = ()
    """Checks made at a reuse attempt, in rule 21's order (``ip``, ``browser``, ``concurrent``);
    empty for ``binding: none``."""
    shared_address_probability: float = 0.0
    browser_match_probability: float = 1.0
    concurrent_window: float = 300.0
    region_bytes: int | None = None
    capture: float | None = None


@dataclass(frozen=True, slots=True)
class RestartPolicy:
    every: float | None = None
    jitter: float = 0.0
    max_requests: int | None = None


@dataclass(frozen=True, slots=True)
class Traffic:
    """Legitimate traffic per host (``model.md`` rules 4 and 18)."""

    handshakes_per_s: float = 0.0
    logins_per_s: float = 0.0
    requests_per_s: float = 0.0

    def session_requests_per_s(self, sessions: SessionSpec | None) -> float:
        """Expected request rate of open sessions per host in steady state."""
        if sessions is None:
            return 0.0
        return self.logins_per_s * sessions.ttl * sessions.requests_per_s

    def other_requests_per_s(self, sessions: SessionSpec | None) -> float:
        """Rate of requests that are neither logins nor session requests (rule 18)."""
        rest = self.requests_per_s - self.logins_per_s - self.session_requests_per_s(sessions)
        return max(0.0, rest)


@dataclass(frozen=True, slots=True)
class Server:
    name: str
    role: str
    keys: KeySpec
    hosts: int = 1
    workers: int = 1
    heap_bytes: int | None = None
    vulnerable_from: float = 0.0
    patched_at: float = NEVER
    heartbeat_off_at: float = NEVER
    restart: RestartPolicy = field(default_factory=RestartPolicy)
    crash_probability: float = 0.0
    traffic: Traffic = field(default_factory=Traffic)
    passwords: PasswordSpec | None = None
    sessions: SessionSpec | None = None

    @property
    def total_workers(self) -> int:
        return self.hosts * self.workers

    @property
    def binding(self) -> tuple[str, ...]:
        """The checks a session reuse must pass (rule 21); none without sessions."""
        return () if self.sessions is None else self.sessions.binding

    @property
    def vulnerable_until(self) -> float:
        """End of the half-open vulnerable window (rule 1)."""
        return min(self.patched_at, self.heartbeat_off_at)

    def is_vulnerable(self, t: float) -> bool:
        return self.vulnerable_from <= t < self.vulnerable_until

    def region(self, declared: int | None) -> int | None:
        """``H`` of the capture formula for a secret kind (rule 19)."""
        return declared if declared is not None else self.heap_bytes


@dataclass(frozen=True, slots=True)
class Attacker:
    name: str
    targets: tuple[str, ...]
    rate: float
    start_low: float
    """Earliest start; equal to ``start_high`` for a fixed start."""
    start_high: float
    duration: float | None = None
    """``None`` means until ``analysis_at``."""
    presence: float = 1.0
    heartbeats_per_connection: int = 1
    payload_bytes: int = 65535
    sources: int = 1
    encrypted: bool = False
    key_ops_per_connection: int = 0
    stop_when: tuple[Literal["key", "patched"], ...] = ()
    """Rule 8: ``key``, ``patched`` or both; empty means never stop."""
    reuse: tuple[Literal["sessions", "passwords"], ...] = ("sessions",)
    """Rules 9 and 22: what a malicious attacker does with what it captures."""
    benign: bool = False

    @property
    def stops_at_key(self) -> bool:
        return "key" in self.stop_when

    @property
    def stops_when_patched(self) -> bool:
        return "patched" in self.stop_when

    @property
    def reuses_sessions(self) -> bool:
        """Rule 9: a malicious attacker that tries each session it captures."""
        return not self.benign and "sessions" in self.reuse

    @property
    def logs_in(self) -> bool:
        """Rule 22: a malicious attacker that logs in with each static password it captures."""
        return not self.benign and "passwords" in self.reuse

    @property
    def connection_rate(self) -> float:
        """Connections per second per target (``rate / heartbeats_per_connection``)."""
        return self.rate / self.heartbeats_per_connection


DetectorKind = Literal["signature", "rate", "asymmetry", "crash", "session", "login", "access_log"]


@dataclass(frozen=True, slots=True)
class Detector:
    name: str
    kind: DetectorKind
    servers: tuple[str, ...]
    deployed_at: float = -NEVER
    retention: float = NEVER
    notice_probability: float = 1.0
    # signature
    matches_encrypted: bool = False
    replay_capture: float | None = None
    # signature (optional), rate (required)
    threshold: int | None = None
    window: float | None = None
    # rate
    count: Literal["connections", "heartbeats"] = "connections"
    # asymmetry
    threshold_bytes: int | None = None
    # session
    log_address_change: bool = False


EvidenceState = Literal["none", "benign_only", "seen"]
Outcome = Literal["key", "password", "password_reusable", "session", "session_hijack"]
OUTCOMES: tuple[Outcome, ...] = ("key", "password", "password_reusable", "session", "session_hijack")


@dataclass(frozen=True, slots=True)
class Claim:
    name: str
    outcome: Literal["key", "password", "password_reusable", "session", "session_hijack", "detected"]
    text: str = ""
    servers: tuple[str, ...] = ()
    """Empty means all servers."""
    attackers: tuple[str, ...] = ()
    """Empty means all malicious attackers."""
    given: Literal["evidence", "prior"] = "prior"
    at_most: float | None = None
    at_least: float | None = None


@dataclass(frozen=True, slots=True)
class MonteCarlo:
    replications: int = 10000
    seed: int = 0
    engine: Literal["fast", "reference"] = "fast"


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    timeline: Timeline
    servers: dict[str, Server]
    attackers: dict[str, Attacker]
    description: str = ""
    detectors: dict[str, Detector] = field(default_factory=dict)
    evidence: dict[str, EvidenceState] = field(default_factory=dict)
    claims: dict[str, Claim] = field(default_factory=dict)
    monte_carlo: MonteCarlo = field(default_factory=MonteCarlo)

    @property
    def horizon(self) -> float:
        """Simulation end (``analysis_at``) in seconds since start."""
        return self.timeline.analysis_at

    def malicious(self) -> list[Attacker]:
        return [a for a in self.attackers.values() if not a.benign]
