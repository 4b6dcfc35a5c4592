"""How likely one over-read is to copy out a resident secret piece (``model.md``).

A heartbeat copies ``L`` bytes starting at a uniformly random position of a region of ``H``
bytes; a piece of ``s`` bytes is captured when it lies whole inside the copied window:

    c(L, s, H) = max(0, min(L, H) - s + 1) / H

A secret kind may replace ``c`` by a measured ``capture`` probability (``facts.md`` section 11:
capture on a real OpenSSL 1.0.1f server is nearly all or nothing); rule 6 keeps the size check:
an over-read shorter than the piece captures nothing.
"""

from __future__ import annotations

import math

import numpy as np

from sim.scenario.model import Attacker, Server


def window_capture(payload_bytes: int, piece_bytes: int, region_bytes: int) -> float:
    """``c(L, s, H)``: the chance that one over-read holds a given piece whole."""
    reach = min(payload_bytes, region_bytes)
    return max(0, reach - piece_bytes + 1) / region_bytes


def piece_capture(
    payload_bytes: int,
    piece_bytes: int,
    region_bytes: int | None,
    capture: float | None,
    heap_bytes: int | None,
) -> float:
    """Per-heartbeat capture probability of one piece of a secret kind (rules 6 and 19)."""
    region = region_bytes if region_bytes is not None else heap_bytes
    if capture is not None:
        reach = payload_bytes if region is None else min(payload_bytes, region)
        return capture if reach >= piece_bytes else 0.0
    if region is None:  # the loader refuses this combination; kept as a guard for direct use
        raise ValueError("a secret kind without capture needs region_bytes or heap_bytes")
    return window_capture(payload_bytes, piece_bytes, region)


def any_of(pieces: float, per_piece: float, heartbeats: float = 1.0) -> float:
    """P(at least one of ``pieces`` independent pieces is captured in ``heartbeats`` tries).

    Computed as ``-expm1(n log1p(-c))`` so that tiny probabilities keep their digits.
    """
    if per_piece <= 0.0 or pieces <= 0 or heartbeats <= 0:
        return 0.0
    if per_piece >= 1.0:
        return 1.0
    return -math.expm1(pieces * heartbeats * math.log1p(-per_piece))


def any_of_counts(count: np.ndarray, per_piece: float) -> np.ndarray:
    """:func:`any_of` for an array of piece counts (one try each)."""
    if per_piece >= 1.0:
        return (count > 0).astype(float)
    if per_piece <= 0.0:
        return np.zeros(np.shape(count))
    return -np.expm1(count * math.log1p(-per_piece))


class CaptureTable:
    """Per-heartbeat capture probabilities of every secret kind for one attacker on one server."""

    __slots__ = ("key", "password", "token")

    def __init__(self, server: Server, attacker: Attacker) -> None:
        L = attacker.payload_bytes
        k = server.keys
        self.key = piece_capture(L, k.piece_bytes, k.region_bytes, k.capture, server.heap_bytes)
        pw = server.passwords
        self.password = (
            piece_capture(L, pw.bytes, pw.region_bytes, pw.capture, server.heap_bytes) if pw else 0.0
        )
        ss = server.sessions
        self.token = (
            piece_capture(L, ss.bytes, ss.region_bytes, ss.capture, server.heap_bytes) if ss else 0.0
        )
