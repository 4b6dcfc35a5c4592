"""How a ``--precision`` run sampled and why it stopped, in sentences (read from results.json's
``sampling`` block); the content model shows them in every report."""

from __future__ import annotations

from typing import Any


def sentences(sampling: dict[str, Any]) -> list[str]:
    precision = sampling["precision"]
    estimates = precision["estimates"]
    missing = [path for path, e in estimates.items() if not e["reached"]]
    earliest = _earliest(sampling["strata"])
    shown, rest = _largest(sampling["strata"])
    strata = ", ".join(
        f"{'+'.join(_named(s, earliest)) or 'none'}: {s['replications']}" for s in shown
    )
    if rest:
        counts = sorted(s["replications"] for s in rest)
        each = f"{counts[0]}" if counts[0] == counts[-1] else f"{counts[0]} to {counts[-1]}"
        strata += f"; {len(rest)} more with {each} each"
    why = (
        f"every target reached {precision['target']:g} relative half-width"
        if precision["stopped"] == "precision"
        else f"budget of {precision['max_replications']:,} replications spent; "
        f"{len(missing)} of {len(estimates)} targets not reached"
    )
    first = (
        f"Stratified on {', '.join(sampling['stratified_on'])} (replications per stratum"
        f"{', largest first' if rest else ''}: {strata})." if sampling["stratified_on"]
        else "One stratum: no attacker's presence is uncertain."
    )
    if earliest:
        first += (f" Early and late: {', '.join(earliest)} starting before or after the last of "
                  "their targets stops being vulnerable.")
    rounds = precision["rounds"]
    lines = [first, f"Stopped after {rounds} round{'s' if rounds > 1 else ''}: {why}."]
    for path in missing:
        e = estimates[path]
        lines.append(f"{path}: {e['why']}")
    return lines


def _earliest(strata: list[dict[str, Any]]) -> dict[str, float]:
    """Per attacker whose start window is cut into bins: the start of its first bin."""
    out: dict[str, float] = {}
    for s in strata:
        for attacker, (low, _) in s.get("start", {}).items():
            out[attacker] = min(low, out.get(attacker, low))
    return out


def _named(stratum: dict[str, Any], earliest: dict[str, float]) -> list[str]:
    """The attackers present in a stratum, each cut one marked by the bin it starts in: early
    (before its targets stop being vulnerable) or late."""
    start = stratum.get("start", {})
    return [
        a if a not in start else f"{a} ({'early' if start[a][0] == earliest[a] else 'late'})"
        for a in stratum["present"]
    ]


SHOWN = 8
"""At most this many strata are named, largest first (PSMail has 54)."""


def _largest(strata: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The strata to name, largest first (all of them when they are few), and the rest."""
    if len(strata) <= SHOWN:
        return strata, []
    ranked = sorted(strata, key=lambda s: -s["replications"])
    return ranked[:SHOWN], ranked[SHOWN:]
