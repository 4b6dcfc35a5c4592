"""How a claim and a probability are worded, in one place for ``check``, ``run`` and the reports.

A reader who meets the same claim in the scenario summary, the terminal table and the report
must read the same words: ``P(key on vpn | evidence) ≤ 1.00%``,
``P(mass-reaper detected | present) ≥ 99.0%``. Probabilities are in percent with three
significant digits, trailing zeros kept (``16.0%``), so a column shows its precision alike.
"""

from __future__ import annotations

from collections.abc import Sequence


def significant(x: float) -> str:
    """Three significant digits, trailing zeros kept; ``0`` for zero. From 1000 on the digits
    are written out, grouped by thousands with a narrow no-break space (SI style: ``1 190``,
    not ``1.19e+03``, which a reader should not have to decode, nor ``1,190``, which reads as
    two numbers inside an interval's brackets), up to 1e15, past which exponents are kept."""
    if x == 0.0:
        return "0"
    digits = f"{x:#.3g}"
    if "e+" in digits and abs(float(digits)) < 1e15:
        return f"{float(digits):,.0f}".replace(",", "\u202f")
    return digits.rstrip(".")


def percent(p: float) -> str:
    return f"{significant(100.0 * p)}%"


def claim_statement(
    outcome: str,
    servers: Sequence[str],
    attackers: Sequence[str],
    given: str,
    bound_kind: str,
    bound: float,
) -> str:
    """The claim as a probability statement.

    ``given`` is ``evidence`` or ``prior`` for a capture claim and ``presence`` for a detection
    claim (written ``present``: the probability is over the replications in which the attacker
    exists). Empty ``servers`` or ``attackers`` mean every server, every malicious attacker.
    """
    sign = "≥" if bound_kind == "at_least" else "≤"
    if outcome == "detected" and len(attackers) > 1:  # judged per attacker, by the worst
        return (f"P(A detected | present) {sign} {percent(bound)} for each A of "
                f"{', '.join(attackers)}")
    if outcome == "detected":
        event = f"{', '.join(attackers)} detected"
        condition = "present"
    else:
        event = outcome + (f" on {', '.join(servers)}" if servers else "") + (
            f" by {', '.join(attackers)}" if attackers else "")
        condition = given
    return f"P({event} | {condition}) {sign} {percent(bound)}"
