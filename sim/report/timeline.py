"""The scenario's schedule in results.json (``timeline``), so that a report re-rendered from the
document alone can draw when things happened: vulnerable windows, patches, heartbeat switch-offs,
restarts, attacker windows, detector deployment and log retention.

Times are seconds since ``timeline.start``; ``null`` stands for "never" (no patch, no
switch-off, records kept forever, a detector deployed from the start).
"""

from __future__ import annotations

import math
from typing import Any

from sim.scenario.model import Scenario


def as_results(scenario: Scenario) -> dict[str, Any]:
    t = scenario.timeline
    return {
        "start": t.start_iso,
        "vulnerable_since": t.vulnerable_since,
        "disclosed_at": t.disclosed_at,
        "analysis_at": t.analysis_at,
        "servers": {
            s: {
                "workers": sv.total_workers,
                "vulnerable_from": sv.vulnerable_from,
                "patched_at": _finite(sv.patched_at),
                "heartbeat_off_at": _finite(sv.heartbeat_off_at),
                "restart_every": sv.restart.every,
                "restart_jitter": sv.restart.jitter,
                "restart_max_requests": sv.restart.max_requests,
            }
            for s, sv in scenario.servers.items()
        },
        "attackers": {
            a: {
                "start_low": at.start_low,
                "start_high": at.start_high,
                "duration": at.duration,
            }
            for a, at in scenario.attackers.items()
        },
        "detectors": {
            d: {
                "servers": list(det.servers),
                "deployed_at": _finite(det.deployed_at),
                "retention": _finite(det.retention),
            }
            for d, det in scenario.detectors.items()
        },
    }


def _finite(seconds: float) -> float | None:
    return seconds if math.isfinite(seconds) else None
