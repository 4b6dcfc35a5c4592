"""The outcome table printed after a run: the answer at a glance, details in results.json."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sim.scenario.model import Scenario

COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("P(key)", "key", "p_any"),
    ("P(any password)", "password", "p_any"),
    ("mean passwords", "password", "mean"),
    ("P(session)", "session", "p_any"),
    ("P(hijack)", "session_hijack", "p_any"),
)
GAP = "  "


def render(scenario: Scenario, document: dict[str, Any]) -> str:
    """Rows per server, all servers together, and per attacker given that it exists.

    A cell is ``estimate [low, high]`` (95%); probabilities are in percent. A cell with no
    event shows ``0 (<= bound)``, the one-sided 95% upper bound; ``-`` marks a secret the
    servers in that row do not hold.
    """
    header = (
        f"{document['scenario']}: engine {document['engine']}, "
        f"{document['replications']} replications, seed {document['seed']}"
    )
    lines: list[list[str]] = [["", *(c[0] for c in COLUMNS)]]
    for s in scenario.servers:
        lines.append([f"server {s}", *_cells(document["servers"][s]["outcomes"], scenario, [s])])
    lines.append(["all servers", *_cells(document["outcomes"], scenario, list(scenario.servers))])
    lines.append(["given present:", *([""] * len(COLUMNS))])
    for name, attacker in scenario.attackers.items():
        gp = document["attackers"][name]["given_present"]
        label = f"  {name} (n={gp['n_present']}{', benign' if attacker.benign else ''})"
        lines.append([label, *_cells(gp["outcomes"], scenario, list(attacker.targets))])
    widths = [max(len(line[i]) for line in lines) for i in range(len(COLUMNS) + 1)]
    body = [
        GAP.join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in
                 enumerate(zip(line, widths))).rstrip()
        for line in lines
    ]
    footer = "95% intervals in brackets; 0 (<= u): no replication had it, u is the 95% upper bound."
    return "\n".join([header, *body, footer]) + "\n"


def _cells(outcomes: dict[str, Any], scenario: Scenario, servers: list[str]) -> list[str]:
    return [
        _cell(outcomes[o], field, o == "key" or _holds(scenario, servers, o))
        for _, o, field in COLUMNS
    ]


def _holds(scenario: Scenario, servers: list[str], outcome: str) -> bool:
    kind = "passwords" if outcome.startswith("password") else "sessions"
    return any(getattr(scenario.servers[s], kind) is not None for s in servers)


def _cell(est: dict[str, Any], field: str, held: bool) -> str:
    if not held:
        return "-"
    value = est[field]
    if value is None:
        return "n/a"
    fmt = _percent if field == "p_any" else _number
    if "p_any_upper95" in est:
        bound = est["p_any_upper95"] if field == "p_any" else None
        return "0" if bound is None else f"0 (<= {fmt(bound)})"
    low, high = est[f"{field}_ci95"]
    return f"{fmt(value)} [{_bare(fmt, low)}, {_bare(fmt, high)}]"


def _percent(p: float) -> str:
    return f"{_significant(100.0 * p)}%"


def _number(x: float) -> str:
    return _significant(x)


def _significant(x: float) -> str:
    """Three significant digits, trailing zeros kept (``16.0``, ``0.0500``), so columns of
    estimates show their precision alike."""
    if x == 0.0:
        return "0"
    return f"{x:#.3g}".rstrip(".")


def _bare(fmt: Callable[[float], str], x: float | None) -> str:
    return "?" if x is None else fmt(x).rstrip("%")
