"""Numbers as report text, one notation everywhere (terminal table, report.md, report.html):

- an estimate with its 95% interval: ``21.2% [19.5, 23.0]``, probabilities in percent, three
  significant digits with trailing zeros kept (``16.0%``, ``0.0500``) so a column shows its
  precision alike (``sim.scenario.wording``, which ``check`` uses too);
- an outcome never seen: ``0 (≤ u)``, ``u`` its 95% upper bound (the one-sided bound
  ``p_any_upper95`` where results.json gives one, else the upper end of the interval);
- ``-``: nothing to estimate (the servers hold no such secret); ``n/a``: no replication to
  estimate from.
"""

from __future__ import annotations

from sim.report import source
from sim.report.blocks import Safe
from sim.report.source import Node
from sim.scenario.wording import percent as _percent
from sim.scenario.wording import significant

__all__ = ["significant", "percent", "bare", "zero", "with_interval", "probability",
           "estimate", "duration", "NOT_HELD", "UNDEFINED"]

NOT_HELD = Safe("-")
UNDEFINED = Safe("n/a")


def percent(p: float) -> Safe:
    return Safe(_percent(p))


def bare(p: float | None) -> str:
    """A percentage without its sign, for inside brackets; ``?`` for no upper end."""
    return "?" if p is None else _percent(p).rstrip("%")


def zero(upper: float, as_percent: bool = True) -> Safe:
    return Safe(f"0 (≤ {percent(upper) if as_percent else significant(upper)})")


def with_interval(value: float, low: float, high: float | None, as_percent: bool) -> Safe:
    if value == 0.0 and low == 0.0 and high is not None:
        return zero(high, as_percent) if high > 0.0 else Safe("0")

    def inner(x: float | None) -> str:
        return bare(x) if as_percent else "?" if x is None else significant(x)

    shown = percent(value) if as_percent else significant(value)
    return Safe(f"{shown} [{inner(low)}, {inner(high)}]")


def probability(node: Node, field: str, ci_field: str = "") -> Safe:
    """``node[field]`` with its interval ``node[ci_field]`` (default ``<field>_ci95``)."""
    value = source.optional_number(node, field)
    if value is None:
        return UNDEFINED
    low, high = source.interval(node, ci_field or f"{field}_ci95")
    return with_interval(value, low, high, as_percent=True)


def estimate(est: Node, field: str, held: bool) -> Safe:
    """A cell of an outcome estimate (``p_any`` or ``mean``): ``-`` for a secret not held,
    ``0 (≤ u)`` when no replication had it (a mean shows its interval's upper end),
    ``n/a`` over no replications."""
    if not held:
        return NOT_HELD
    value = source.optional_number(est, field)
    if value is None:
        return UNDEFINED
    if field == "p_any" and source.has(est, "p_any_upper95"):
        return zero(source.number(est, "p_any_upper95"))
    low, high = source.interval(est, f"{field}_ci95")
    return with_interval(value, low, high, as_percent=field == "p_any")


def duration(seconds: float) -> Safe:
    """A time span in the unit a reader would use for it."""
    for unit, size, below in (("s", 1.0, 120.0), ("min", 60.0, 7200.0), ("h", 3600.0, 172800.0)):
        if seconds < below:
            return Safe(f"{significant(seconds / size)} {unit}")
    return Safe(f"{significant(seconds / 86400.0)} d")
