"""How a traffic detector counts one attacker's traffic (``model.md``, Detectors; rules 6, 11, 16).

Signature, rate and asymmetry detectors differ only in what they count per connection and
from when: a signature counts heartbeats sent (all of them, also to a patched server, since the
request is still malformed), a rate detector connections or heartbeats sent, an asymmetry
detector the bytes answered. Reducing each detector to that unit lets one counting routine per
input form (explicit connections, sampled phases) serve all three.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from sim.scenario.model import Attacker, Detector

Unit = Literal["connections", "heartbeats", "answered_bytes"]


@dataclass(frozen=True, slots=True)
class Counting:
    servers: frozenset[str]
    seen_from: float
    """Traffic before this is invisible: ``deployed_at``, less ``replay_capture`` (rule 16)."""
    cutoff: float
    """``analysis_at - retention``: an alert is retained when its time is after it (rule 11)."""
    unit: Unit
    payload_bytes: int
    threshold: int | None
    """Units per source and window that raise an alert; ``None``: one alert per unit."""
    window: float | None

    def units(self, sent: int, answered: int) -> int:
        """What one connection (or crashing connection) adds to its source's count."""
        if self.unit == "connections":
            return 1
        if self.unit == "heartbeats":
            return sent
        return answered * self.payload_bytes


def retention_cutoff(detector: Detector, analysis_at: float) -> float:
    return analysis_at - detector.retention if math.isfinite(detector.retention) else -math.inf


def traffic_counting(detector: Detector, attacker: Attacker, analysis_at: float) -> Counting | None:
    """The counting rule of a traffic detector for this attacker, ``None`` if it sees nothing.

    A byte-pattern signature cannot read encrypted heartbeats; only a protocol decoder
    (``matches_encrypted``) can. ``replay_capture`` moves the start of visibility back by the
    length of the packet capture, and replayed matches keep the time of the traffic.
    """
    kind = detector.kind
    threshold: int | None = detector.threshold
    seen_from = detector.deployed_at
    unit: Unit
    if kind == "signature":
        if attacker.encrypted and not detector.matches_encrypted:
            return None
        unit = "heartbeats"
        if detector.replay_capture is not None:
            seen_from -= detector.replay_capture
    elif kind == "rate":
        unit = detector.count
    elif kind == "asymmetry":
        unit = "answered_bytes"
        threshold = detector.threshold_bytes
    else:
        return None
    return Counting(
        servers=frozenset(detector.servers),
        seen_from=seen_from,
        cutoff=retention_cutoff(detector, analysis_at),
        unit=unit,
        payload_bytes=attacker.payload_bytes,
        threshold=max(1, threshold) if threshold is not None else None,
        window=detector.window if threshold is not None else None,
    )
