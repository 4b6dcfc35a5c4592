"""Why a claim is inconclusive, in words: the rule, the replications behind its interval, and
about how many would settle it.

A claim is judged on its 95% interval (``model.md`` rule 14): an ``at_most`` claim is supported
when the whole interval is at or below the bound, refuted when it is wholly above, and
inconclusive when the interval straddles the bound. ``100% [96.3, 100]: inconclusive`` against
``≥ 99.0%`` reads as a contradiction unless the report says that the interval, not the
estimate, decides.

The number that would settle it is a planning figure, not a promise: the Wilson interval
(``sim.montecarlo.intervals.wilson``, the interval the claims use) recomputed at the same
estimate for more replications, doubling until it clears the bound. If the estimate moves,
so does the answer.
"""

from __future__ import annotations

import math

from sim.montecarlo.intervals import wilson
from sim.report import cells, source
from sim.report.source import Node

LIMIT = 1e9
"""Beyond this many replications the report says only that many more would be needed."""


def effective_replications(doc: Node, claim: Node) -> float | None:
    """The (effective) number of replications behind a claim's interval, where the document
    says it: the evidence's effective size, the run's replications, or the one attacker's
    ``n_present`` for a detection claim."""
    given = source.text(claim, "given")
    if given == "evidence" and source.has(doc, "evidence", "effective_replications"):
        return source.number(doc, "evidence", "effective_replications")
    if given == "prior":
        return source.number(doc, "replications")
    attackers = source.strings(claim, "attackers") if source.has(claim, "attackers") else []
    if given == "presence" and len(attackers) == 1 and source.has(
            doc, "attackers", attackers[0], "given_present", "n_present"):
        return source.number(doc, "attackers", attackers[0], "given_present", "n_present")
    return None


def settling_replications(value: float, bound: float, at_least: bool, n: float) -> float | None:
    """About how many (effective) replications would put the interval wholly on one side of
    ``bound`` if the estimate stayed ``value``; ``None`` when no number would (the estimate
    sits on the bound)."""
    if value == bound or n <= 0:
        return None

    def settles(size: float) -> bool:
        ci = wilson(value, size)
        assert ci.high is not None
        return ci.high < bound or ci.low > bound or (ci.low >= bound if at_least
                                                     else ci.high <= bound)

    size = n
    while not settles(size):
        size *= 2.0
        if size >= LIMIT:
            return LIMIT
    low = size / 2.0
    for _ in range(40):  # bisect to a relative precision far below the rounding
        middle = (low + size) / 2.0
        low, size = (low, middle) if settles(middle) else (middle, size)
    return _round_up(size)


def _round_up(x: float) -> float:
    """Up to two significant digits: a planning figure should not look precise."""
    scale = 10.0 ** max(0, math.floor(math.log10(x)) - 1)
    return math.ceil(x / scale) * scale


def why_inconclusive(doc: Node, claim: Node) -> str:
    """One sentence; empty when the document gives no estimate to reason from."""
    value = source.optional_number(claim, "value")
    if value is None:
        return ""
    low, high = source.interval(claim, "ci95")
    at_least = source.text(claim, "bound_kind") == "at_least"
    bound = source.number(claim, "bound")
    rule = (f"its 95% interval [{cells.bare(low)}, {cells.bare(high)}] contains the bound "
            f"{cells.percent(bound)}, and a verdict needs the whole interval on one side")
    n = effective_replications(doc, claim)
    if n is None:
        return rule
    effective = "effective " if source.text(claim, "given") == "evidence" else ""
    said = f"{rule}; it rests on {_count(n)} {effective}replications"
    needed = settling_replications(value, bound, at_least, n)
    if needed is None:
        return f"{said}, and an estimate on the bound is settled by no number of them"
    if needed >= LIMIT:
        return f"{said}; over {_count(LIMIT)} would be needed"
    return (f"{said}; about {_count(needed)} would settle it if the estimate "
            f"stays at {cells.percent(value)}")


def _count(n: float) -> str:
    return f"{int(n):,}" if n == int(n) else cells.significant(n)
