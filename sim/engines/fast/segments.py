"""Piecewise-constant traffic on one server: what the fast engine integrates over.

Between two state-changing events of a server (an attacker starting, stopping or giving up on
``stop_when: key``, the vulnerable window opening or closing, the session ramp after the cold
start) every rate is constant. A :class:`Segment` records those rates *per worker*, so that the
closed forms downstream (key capture hazards, password and session capture integrals) read
them directly. Worker restarts are not segment boundaries: they are per worker and are kept
as :class:`WorkerLifetime` lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

import numpy as np


class AttackerRates(NamedTuple):
    """One attacker's traffic to one worker during a segment.

    A named tuple, as :class:`Segment`: the skeleton makes one per attacker and configuration
    and hashes them into the key chain's cache keys, where a frozen dataclass's constructor
    and hash cost several times a tuple's."""

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
    listed: bool = False
    """Its ordinary connections are sampled one by one (:mod:`.listed`) and read as point
    reads (:attr:`WorkerLifetime.listed`), not integrated as a hazard."""
    key_miss: tuple[float, float] = (1.0, 1.0)
    """While this attacker still "watches" the server's key (has not captured it yet), the
    chance that one of its non-crashing connections does *not* capture the key, in a worker
    lifetime whose long-lived key is (index 1) or is not (index 0) reachable; (1, 1) once it
    has. The skeleton samples the capturing connections itself (:class:`KeyCapture`), so the
    password and session integrals must count only the others: rate ``connection_rate * (1 -
    crash)^k * key_miss[L]``."""
    followed: bool = False
    """A listed attacker while it watches the key: the skeleton draws each of its connections
    as an event of its own and reads the key-copy state at it (:meth:`.skeleton.ServerRun.
    _followed_connection`), so its ordinary connections are known one by one from the skeleton
    and :attr:`key_miss` is not used."""

    def ordinary_rate(self, crash_probability: float, reachable: bool) -> float:
        """Connections per second that neither crash nor capture the key, in a lifetime whose
        long-lived key is (or is not) ``reachable``: those the password and session reads
        count, integrated (:func:`.reads.segment_hazards`) or listed (:mod:`.listed`)."""
        survive = (1.0 - crash_probability) ** self.heartbeats
        return self.connection_rate * survive * self.key_miss[int(reachable)]

    def watching(self, key_miss: tuple[float, float] = (1.0, 1.0),
                 followed: bool = False) -> AttackerRates:
        """This attacker while it watches the key (the constructor, as :meth:`Segment.reshaped`)."""
        return AttackerRates(self.name, self.benign, self.connection_rate, self.heartbeats,
                             self.key_ops, self.c_key, self.c_password, self.c_token,
                             self.listed, key_miss, followed)


class Segment(NamedTuple):
    """Constant rates on ``[t0, t1)`` for every worker of one server (a named tuple: the
    skeleton makes a few hundred per replication, and a frozen dataclass's constructor cost
    2% of a PSMail replication)."""

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
    session_rate: float = 0.0
    """Requests per second that one open session sends to this worker (its
    ``requests_per_s`` over the server's workers): ``session_requests / session_rate`` is the
    mean number of open sessions, which the password chain needs under ``next_request``."""

    @property
    def duration(self) -> float:
        return self.t1 - self.t0

    def reshaped(self, t1: float, attackers: tuple[AttackerRates, ...]) -> Segment:
        """The same rates until ``t1``, with ``attackers`` (the constructor: ``_replace``
        costs several times it, on the skeleton's path)."""
        return Segment(self.t0, t1, self.vulnerable, self.requests, self.logins,
                       self.session_requests, self.handshakes, self.crash_probability,
                       attackers, self.session_rate)


EndCause = Literal["horizon", "scheduled", "max_requests", "crash", "patch"]


def read_span(segments: Sequence[Segment], ttl: float,
              only: frozenset[str] | None = None) -> float:
    """How long the logins of sessions that can meet a read last: the stretches an attacker
    of ``only`` (default every one) reads, each run of them with the ``ttl`` before it."""
    span, reading = 0.0, False
    for seg in segments:
        now = any(only is None or a.name in only for a in seg.attackers)
        span += seg.duration * now + ttl * (now and not reading)
        reading = now
    return span


def expected_connections(segments: Sequence[Segment], workers: int,
                         vulnerable: bool = False) -> float:
    """The attackers' connections one server replication expects over ``segments`` on its
    ``workers`` (over the vulnerable ones only with ``vulnerable``): what the cost of every
    draw that lists them grows with."""
    return workers * sum(s.duration * sum(a.connection_rate for a in s.attackers)
                         for s in segments if s.vulnerable or not vulnerable)


@dataclass(frozen=True, slots=True)
class CrashInfo:
    """The connection that crashed a worker: who sent it and how many heartbeats were answered
    before the crashing one (those could still capture)."""

    attacker: str
    answered_before: int
    source: int


@dataclass(frozen=True, slots=True)
class KeyCapture:
    """The connection that first captured the key for ``attacker`` (inside a lifetime).

    Its heartbeats also read the worker's other secrets at that instant: ``heartbeats_read``
    of them were sent (all ``k``, or up to the capturing one under ``stop_when: key``)."""

    time: float
    attacker: str
    heartbeats_read: int


class ListedConnection(NamedTuple):
    """An ordinary connection (neither crashing nor capturing the key) of a listed attacker,
    sampled one by one so that detectors count the same connections that read secrets (a
    named tuple, as :class:`.reads.PointRead`: there can be hundreds per lifetime)."""

    time: float
    attacker: str
    heartbeats: int


class KnownLogins(NamedTuple):
    """A worker lifetime's legitimate requests where the skeleton drew the server's logins
    (:mod:`.login_timeline`): its own logins are known, the rest are Poisson given them."""

    times: np.ndarray
    """The worker's logins strictly inside the lifetime, in time order."""
    requests: float
    """The other legitimate requests expected inside (session requests given the logins)."""
    rate_at_end: float
    """Their rate per second at the lifetime's end."""


@dataclass(slots=True)
class WorkerLifetime:
    """One worker lifetime ``[start, end)``: memory is empty at ``start`` and cleared at ``end``."""

    worker: int
    start: float
    end: float
    key_reachable: bool
    end_cause: EndCause = "horizon"
    crash: CrashInfo | None = None
    key_captures: list[KeyCapture] = field(default_factory=list)
    """Key-capturing connections in this lifetime, in time order."""
    listed: list[ListedConnection] = field(default_factory=list)
    """Listed attackers' ordinary connections in this lifetime, in time order."""
    last_known: bool = False
    """Ended at ``max_requests`` by a connection known one by one (followed or listed): it is
    the last of :attr:`listed` or :attr:`key_captures`, placed the last representable instant
    inside the lifetime so that its reads count (the restart follows it once served), or
    one of its :attr:`logins`."""
    logins: KnownLogins | None = None
    """Its logins, where the skeleton drew them (with ``max_requests`` beside sessions)."""
