"""How a ``--precision`` run sampled and why it stopped, in sentences (read from results.json's
``sampling`` block); the content model shows them in every report."""

from __future__ import annotations

from typing import Any


def sentences(sampling: dict[str, Any]) -> list[str]:
    precision = sampling["precision"]
    estimates = precision["estimates"]
    missing = [path for path, e in estimates.items() if not e["reached"]]
    strata = ", ".join(
        f"{'+'.join(s['present']) or 'none'}: {s['replications']}" for s in sampling["strata"]
    )
    why = (
        f"every target reached {precision['target']:g} relative half-width"
        if precision["stopped"] == "precision"
        else f"budget of {precision['max_replications']:,} replications spent; "
        f"{len(missing)} of {len(estimates)} targets not reached"
    )
    first = (
        f"Stratified on {', '.join(sampling['stratified_on'])} (replications per stratum: "
        f"{strata})." if sampling["stratified_on"]
        else "One stratum: no attacker's presence is uncertain."
    )
    rounds = precision["rounds"]
    lines = [first, f"Stopped after {rounds} round{'s' if rounds > 1 else ''}: {why}."]
    for path in missing:
        e = estimates[path]
        lines.append(f"{path}: {e['why']}")
    return lines
