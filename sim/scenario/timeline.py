"""Times of a scenario: timeline anchors resolved, every time measured from ``start``.

Timeline entries may be written in terms of each other (``analysis_at: disclosed+7d``), so
they are resolved by following anchors, refusing cycles. Everything stays an exact fraction of
seconds since 1970 until it is measured from ``start`` and handed out as a float.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from fractions import Fraction

from sim.scenario.schema import RawTimeline
from sim.scenario.values import ANCHORS, TimeExpr, epoch_seconds, iso

TIMELINE_FIELDS = ("start", "vulnerable_since", "disclosed_at", "analysis_at")
EARLIEST = epoch_seconds(datetime(1, 1, 2, tzinfo=timezone.utc))
LATEST = epoch_seconds(datetime(9999, 12, 30, tzinfo=timezone.utc))
"""Instants a calendar can show: times outside years 1 to 9999 are refused."""

Report = Callable[[tuple[str, ...], str], None]


class Clock:
    """The resolved timeline: turns any time expression into seconds since ``start``."""

    def __init__(self, instants: dict[str, Fraction]) -> None:
        self.instants = instants
        self.start = instants["start"]

    def epoch(self, expr: TimeExpr) -> Fraction:
        if expr.anchor is None:
            return expr.instant
        return self.instants[ANCHORS[expr.anchor]] + expr.offset

    def seconds(self, expr: TimeExpr) -> float:
        return float(self.epoch(expr) - self.start)

    def in_range(self, expr: TimeExpr) -> bool:
        return EARLIEST <= self.epoch(expr) <= LATEST

    def iso(self, seconds: float) -> str:
        return iso(self.start + Fraction(seconds))


def resolve_timeline(raw: RawTimeline, report: Report) -> Clock | None:
    """Resolve the four timeline entries (``start`` defaults to ``vulnerable_since``); report
    cycles and impossible orders, and return ``None`` when the entries cannot be computed."""
    written: dict[str, TimeExpr] = {
        "start": raw.start or TimeExpr("vulnerable_since", "vulnerable_since", Fraction(0)),
        "vulnerable_since": raw.vulnerable_since,
        "disclosed_at": raw.disclosed_at,
        "analysis_at": raw.analysis_at,
    }
    instants: dict[str, Fraction] = {}
    broken = False
    for name in TIMELINE_FIELDS:
        chain = [name]
        expr = written[name]
        offset = Fraction(0)
        while expr.anchor is not None:
            offset += expr.offset
            target = ANCHORS[expr.anchor]
            if target in chain:
                cycle = " -> ".join(chain + [target])
                report(("timeline", name), f"timeline anchors form a cycle ({cycle}); "
                       "at least one entry must be an ISO 8601 instant")
                broken = True
                break
            chain.append(target)
            expr = written[target]
        else:
            instants[name] = expr.instant + offset
            if not EARLIEST <= instants[name] <= LATEST:
                report(("timeline", name), "time falls outside the years 1 to 9999")
                broken = True
    if broken:
        return None
    t = instants
    if t["disclosed_at"] < t["vulnerable_since"]:
        report(("timeline", "disclosed_at"), f"disclosed_at ({iso(t['disclosed_at'])}) is before "
               f"vulnerable_since ({iso(t['vulnerable_since'])}): a bug is disclosed after it exists")
    if t["analysis_at"] <= t["start"]:
        report(("timeline", "analysis_at"), f"analysis_at ({iso(t['analysis_at'])}) must be after "
               f"start ({iso(t['start'])}): the simulation runs from start to analysis_at")
    if t["analysis_at"] < t["disclosed_at"]:
        report(("timeline", "analysis_at"), f"analysis_at ({iso(t['analysis_at'])}) is before "
               f"disclosed_at ({iso(t['disclosed_at'])}): logs are read after the disclosure")
    return Clock(instants)
