"""Alerts a log detector raised in one replication, counted per attacker.

Detectors attribute every alert to the source that caused it, and every source belongs to one
attacker, so per-attacker counts are all that evidence, ``detected`` and blind spots need.
Whether the team noticed a detector's log (``notice_probability``) is not sampled here: the
analysis weighs each replication by that probability exactly (a Rao-Blackwellised weight).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class AlertCounts:
    raised: int = 0
    retained: int = 0
    """Alerts newer than ``analysis_at - retention`` (rule 11)."""


@dataclass(slots=True)
class AlertSummary:
    """``by_detector[detector][attacker]`` counts; attackers with no alert may be absent."""

    by_detector: dict[str, dict[str, AlertCounts]] = field(default_factory=dict)

    def counts(self, detector: str, attacker: str) -> AlertCounts:
        return self.by_detector.get(detector, {}).get(attacker, AlertCounts())
