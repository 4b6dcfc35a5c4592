"""What one scope (a server's malicious total, or one attacker on one target) has captured.

Secrets are kept as sets of ids so that a secret captured twice, or by several malicious
attackers, counts once (rule 12).
"""

from __future__ import annotations

import math

from sim.model.record import Captures


class Tally:
    __slots__ = ("heartbeats", "key_time", "key_heartbeats", "passwords", "sessions", "hijacked",
                 "checks_passed")

    def __init__(self) -> None:
        self.heartbeats = 0
        """Heartbeats this scope has sent to the server so far (malicious ones for a server)."""
        self.key_time = math.nan
        self.key_heartbeats = -1
        self.passwords: set[int] = set()
        self.sessions: set[int] = set()
        self.hijacked: set[int] = set()
        self.checks_passed: dict[int, int] = {}
        """Per session tried, the most binding checks any attempt on it passed before the first
        that failed (what each check bought)."""

    def tried(self, session: int, passed: int) -> None:
        self.checks_passed[session] = max(passed, self.checks_passed.get(session, 0))

    @property
    def has_key(self) -> bool:
        return self.key_heartbeats >= 0

    def key(self, now: float) -> None:
        """Note a key capture; only the first one sets the time and heartbeat count."""
        if not self.has_key:
            self.key_time = now
            self.key_heartbeats = self.heartbeats

    def captures(self, reusable_passwords: bool, checks: int = 0) -> Captures:
        """What was captured; ``checks``, the server's binding checks, for a server's total."""
        return Captures(
            key=int(self.has_key),
            password=len(self.passwords),
            password_reusable=len(self.passwords) if reusable_passwords else 0,
            session=len(self.sessions),
            session_hijack=len(self.hijacked),
            key_time=self.key_time,
            key_heartbeats=self.key_heartbeats,
            session_hijack_by_checks=tuple(
                sum(p >= k for p in self.checks_passed.values()) for k in range(checks)),
        )
