"""Can the configured replications settle each claim at all? Warnings for ``bleedsim check``.

A claim is supported only when its 95% Wilson interval clears the bound (:mod:`claims`). Even
the best possible outcome has an interval of some width: with ``n`` replications and no
capture at all, the upper end is ``z^2 / (n + z^2)``; with every present attacker detected the
lower end is ``n / (n + z^2)``. When that best case already misses the bound, the run can only
end ``inconclusive`` (or ``refuted``), so ``check`` says so before any time is spent, with the
smallest number of replications whose best case would clear it. Evidence weights can only
lower the effective number of replications, so for ``given: evidence`` that number is a floor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sim.montecarlo.intervals import Z, wilson
from sim.scenario.model import Claim, Scenario


@dataclass(frozen=True, slots=True)
class Shortfall:
    claim: str
    message: str

    def __str__(self) -> str:
        return f"claims.{self.claim}: {self.message}"


def best_case_upper(n: float) -> float:
    """Upper end of the 95% Wilson interval when ``n`` replications show no event."""
    interval = wilson(0.0, n)
    assert interval.high is not None
    return interval.high


def replications_for_at_most(bound: float) -> int | None:
    """Fewest replications whose zero-event upper end is at most ``bound``; None if none."""
    if bound <= 0.0:
        return None
    n = max(1, math.ceil(Z * Z * (1.0 - bound) / bound))
    while best_case_upper(n) > bound:  # guards against rounding in the closed form
        n += 1
    return n


def replications_for_at_least(bound: float) -> int | None:
    """Fewest replications whose all-events lower end is at least ``bound``; None if none."""
    if bound >= 1.0:
        return None
    n = max(1, math.ceil(Z * Z * bound / (1.0 - bound)))
    while wilson(1.0, n).low < bound:
        n += 1
    return n


def shortfalls(scenario: Scenario) -> list[Shortfall]:
    """One warning per claim that ``scenario.monte_carlo.replications`` cannot support."""
    n = scenario.monte_carlo.replications
    return [s for c in scenario.claims.values() if (s := _shortfall(scenario, c, n)) is not None]


def _shortfall(scenario: Scenario, claim: Claim, n: int) -> Shortfall | None:
    if claim.outcome == "detected":
        assert claim.at_least is not None and claim.attackers, "the loader checks this"
        # Over several attackers the claim takes the worst verdict: the rarest one decides.
        rarest = min(claim.attackers, key=lambda a: scenario.attackers[a].presence)
        presence = scenario.attackers[rarest].presence
        if presence <= 0.0:
            return Shortfall(claim.name, f"attacker {rarest} has presence 0, so no "
                             "replication can tell whether it would be detected")
        needed = replications_for_at_least(claim.at_least)
        if needed is None:
            return Shortfall(claim.name, "at_least: 1 can never be supported by a finite "
                             "number of replications; lower the bound")
        best = wilson(1.0, n * presence).low
        if best >= claim.at_least:
            return None
        total = math.ceil(needed / presence)
        return Shortfall(claim.name, (
            f"cannot be supported with {n:,} replications: even if every one of the about "
            f"{n * presence:,.0f} replications with {rarest} present detected it, "
            f"the 95% lower bound would be {best:.4g}, below at_least {claim.at_least:g}; "
            f"about {total:,} replications would be needed (--replications {total})"))
    assert claim.at_most is not None, "the loader gives every capture claim at_most"
    needed = replications_for_at_most(claim.at_most)
    if needed is None:
        return Shortfall(claim.name, "at_most: 0 can never be supported by a finite number of "
                         "replications (the interval of a probability never seen still has "
                         "width); give a small positive bound such as 0.01")
    best = best_case_upper(n)
    if best <= claim.at_most:
        return None
    floor = " at least" if claim.given == "evidence" else ""
    return Shortfall(claim.name, (
        f"cannot be supported with {n:,} replications: even if no replication captured "
        f"{claim.outcome}, the 95% upper bound would be {best:.4g}, above at_most "
        f"{claim.at_most:g}; {floor.strip() + ' ' if floor else ''}{needed:,} replications "
        f"would be needed (--replications {needed})"
        + (", more as the evidence leaves fewer effective replications" if floor else "")))
