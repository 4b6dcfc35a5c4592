"""A worker's heap: the secret copies resident in it and the rules that remove them.

Every copy is an object so that each capture is a Bernoulli draw on a piece that is really
there (``model.md``, "Residency"). Traffic-driven lifetimes (``next_request``,
``next_handshake``) are enforced by the server when the matching event happens; a float
lifetime gives each copy its own exponential expiry time, and expired copies are dropped
whenever the heap is read, which is indistinguishable from removing them on time because
nothing but a heartbeat can observe a copy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.scenario.model import ResidencySpec


@dataclass(slots=True)
class Copy:
    """One resident piece of a secret."""

    owner: int
    """Login id (passwords) or session id (tokens); -1 for key copies."""
    expires: float
    """When an exponential residency ends; ``inf`` under a traffic-driven rule."""


class Residency:
    """How copies of one secret kind leave a worker, read once from the scenario."""

    __slots__ = ("mean", "on_request", "on_key_op")

    def __init__(self, lifetime: ResidencySpec) -> None:
        self.on_request = lifetime == "next_request"
        self.on_key_op = lifetime == "next_handshake"
        self.mean: float | None = None if isinstance(lifetime, str) else float(lifetime)

    def expiry(self, now: float, rng: np.random.Generator) -> float:
        if self.mean is None:
            return math.inf
        return now + rng.exponential(self.mean)


class Shelf:
    """The resident copies of one secret kind in one worker."""

    __slots__ = ("copies", "_timed", "_purge_at")

    def __init__(self, residency: Residency | None) -> None:
        self.copies: list[Copy] = []
        self._timed = residency is not None and residency.mean is not None
        self._purge_at = 16

    def add(self, copy: Copy, now: float) -> None:
        self.copies.append(copy)
        # On a worker no heartbeat reads, expired copies would pile up forever; purging when
        # the list doubles keeps memory bounded at amortised constant cost per copy.
        if self._timed and len(self.copies) >= self._purge_at:
            self.live(now)
            self._purge_at = 2 * len(self.copies) + 16

    def live(self, now: float) -> list[Copy]:
        """The copies still resident at ``now`` (residency is the half-open [made, expires))."""
        if self._timed:
            self.copies = [c for c in self.copies if c.expires > now]
        return self.copies

    def clear(self) -> None:
        self.copies = []


class Worker:
    """One worker process: its long-lived key placement, transient secrets and request count."""

    __slots__ = ("key_pieces", "key_copies", "passwords", "tokens", "served")

    def __init__(
        self, key: Residency, password: Residency | None, token: Residency | None
    ) -> None:
        self.key_pieces = 0
        """Pieces of the long-lived key within reach in this lifetime: 0, or 2 primes."""
        self.key_copies = Shelf(key)
        self.passwords = Shelf(password)
        self.tokens = Shelf(token)
        self.served = 0
        """Connections served since the last restart (rule 17)."""

    def wipe(self) -> None:
        """Forget everything transient: what a restart does to a heap."""
        self.key_copies.clear()
        self.passwords.clear()
        self.tokens.clear()
        self.served = 0
