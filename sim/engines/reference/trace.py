"""An optional listener for the reference engine's events, for telling one replication as a
story (``bleedsim demo``). The engine calls it only when one is given (``trace is not None``),
so a normal run pays one attribute test per event and nothing else.

Workers are named by their index in the server's list (``0 .. hosts x workers - 1``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Window:
    """What one answered heartbeat could reach in a worker, and what it took."""

    key_pieces: int
    """Pieces of the long-lived key within reach (0 or 2)."""
    key_copies: int
    """Transient key copies resident."""
    passwords: tuple[int, ...]
    """Login ids whose password copies are resident."""
    tokens: tuple[int, ...]
    """Session ids whose token copies are resident."""
    key_taken: bool
    passwords_taken: tuple[int, ...]
    tokens_taken: tuple[int, ...]


class Trace(Protocol):
    def restart(self, now: float, server: str, worker: int, reason: str, key_reachable: bool
                ) -> None:
        """``reason``: ``start``, ``scheduled``, ``patch``, ``max_requests`` or ``crash``."""

    def login(self, now: float, server: str, worker: int, login: int) -> None: ...

    def key_op(self, now: float, server: str, worker: int, copies: int) -> None:
        """A private-key operation (a handshake, or an attacker's) that left ``copies``
        transient key copies in the worker's memory."""

    def heartbeat(self, now: float, attacker: str, server: str, worker: int, source: int,
                  window: Window | None) -> None:
        """One heartbeat sent; ``window`` is ``None`` when it was not answered (the server
        was not vulnerable)."""

    def crash(self, now: float, attacker: str, server: str, worker: int) -> None: ...

    def reuse(self, now: float, attacker: str, server: str, session: int, hijacked: bool,
              shared_address: bool) -> None: ...
