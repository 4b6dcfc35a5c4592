"""Numbers as report text: estimates with their 95% intervals, as the terminal table shows them
(``sim/report/table.py``) but with ``≤`` for the one-sided bound of an outcome never seen.

Three significant digits with trailing zeros kept (``16.0%``, ``0.0500``), so a column of
estimates shows its precision alike; probabilities are in percent.
"""

from __future__ import annotations

from sim.report import source
from sim.report.blocks import Safe
from sim.report.source import Node

NOT_HELD = Safe("-")
UNDEFINED = Safe("n/a")


def significant(x: float) -> str:
    return "0" if x == 0.0 else f"{x:#.3g}".rstrip(".")


def percent(p: float) -> Safe:
    return Safe(f"{significant(100.0 * p)}%")


def with_interval(value: float, low: float, high: float | None, as_percent: bool) -> Safe:
    def bare(x: float) -> str:
        return percent(x).rstrip("%") if as_percent else significant(x)

    shown = percent(value) if as_percent else significant(value)
    return Safe(f"{shown} [{bare(low)}, {'?' if high is None else bare(high)}]")


def probability(node: Node, field: str, ci_field: str = "") -> Safe:
    """``node[field]`` with its interval ``node[ci_field]`` (default ``<field>_ci95``)."""
    value = source.optional_number(node, field)
    if value is None:
        return UNDEFINED
    low, high = source.interval(node, ci_field or f"{field}_ci95")
    return with_interval(value, low, high, as_percent=True)


def estimate(est: Node, field: str, held: bool) -> Safe:
    """A cell of an outcome estimate (``p_any`` or ``mean``): ``-`` for a secret not held,
    ``0 (≤ u)`` when no replication had it (``u`` its one-sided 95% upper bound; a mean has
    no such bound and shows ``0``), ``n/a`` over no replications."""
    if not held:
        return NOT_HELD
    value = source.optional_number(est, field)
    if value is None:
        return UNDEFINED
    if source.has(est, "p_any_upper95"):
        if field != "p_any":
            return Safe("0")
        return Safe(f"0 (≤ {percent(source.number(est, 'p_any_upper95'))})")
    low, high = source.interval(est, f"{field}_ci95")
    return with_interval(value, low, high, as_percent=field == "p_any")


def duration(seconds: float) -> Safe:
    """A time since the scenario's start in the unit a reader would use for it."""
    for unit, size, below in (("s", 1.0, 120.0), ("min", 60.0, 7200.0), ("h", 3600.0, 172800.0)):
        if seconds < below:
            return Safe(f"{significant(seconds / size)} {unit}")
    return Safe(f"{significant(seconds / 86400.0)} d")
