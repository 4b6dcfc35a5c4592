"""The report's shared vocabulary: outcome columns, which secret each needs, and the cells that
every section writes alike (outcome estimates, counts, Bayes factors)."""

from __future__ import annotations

from sim.report import cells, source
from sim.report.blocks import Inline, Safe
from sim.report.source import Node

OUTCOME_COLUMNS: tuple[tuple[Safe, str, str], ...] = (
    (Safe("P(key)"), "key", "p_any"),
    (Safe("P(password)"), "password", "p_any"),
    (Safe("P(reusable password)"), "password_reusable", "p_any"),
    (Safe("mean passwords"), "password", "mean"),
    (Safe("P(session)"), "session", "p_any"),
    (Safe("P(hijack)"), "session_hijack", "p_any"),
)
OUTCOME_NAMES = {"key": "key", "password": "password", "password_reusable": "reusable password",
                 "session": "session", "session_hijack": "hijack"}
HOLDER = {"key": "key", "password": "passwords", "password_reusable": "passwords",
          "session": "sessions", "session_hijack": "sessions"}
"""The secret kind (``servers.<s>.holds``) an outcome needs."""
CHARTED = ((Safe("key"), "key"), (Safe("password"), "password"), (Safe("session"), "session"))


def holds(doc: Node) -> dict[str, set[str]]:
    """Per server, the secret kinds it keeps (``key``, ``passwords``, ``sessions``)."""
    servers = source.node(doc, "servers")
    return {s: set(source.strings(servers, s, "holds")) for s in servers}


def held_anywhere(doc: Node) -> set[str]:
    return set().union(*holds(doc).values())


def outcome_cells(outcomes: Node, held: set[str]) -> tuple[Inline, ...]:
    return tuple(
        (cells.estimate(source.node(outcomes, o), field, HOLDER[o] in held),)
        for _, o, field in OUTCOME_COLUMNS
    )


def targets_hold(doc: Node, attacker: Node) -> set[str]:
    held = holds(doc)
    return set().union(*(held.get(t, set()) for t in source.strings(attacker, "targets")))


def malicious(doc: Node) -> list[str]:
    """Malicious attackers present in at least one replication, in the document's order."""
    attackers = source.node(doc, "attackers")
    return [a for a in attackers if not source.boolean(attackers, a, "benign")
            and source.number(attackers, a, "given_present", "n_present") > 0]


def bayes_factor(att: Node) -> Safe:
    """An undefined factor is shown for what it means: the evidence cannot happen with it
    present (it rules the attacker out), or cannot happen at all."""
    if not source.has(att, "evidence", "bayes_factor"):
        return cells.UNDEFINED
    factor = source.optional_number(att, "evidence", "bayes_factor")
    if factor is not None:
        return Safe(cells.significant(factor))
    if source.optional_number(att, "evidence", "p_given_absent"):
        return Safe("∞ (rules it out)")
    return Safe("n/a (evidence impossible)")


def count(doc: Node, *path: str) -> Safe:
    value = source.number(doc, *path)
    if value != int(value):
        raise source.ReportInputError(f"{source.name(doc, *path)} is not a whole number")
    return Safe(str(int(value)))


def optional_strings(doc: Node, *path: str) -> list[str]:
    """A list of strings that older documents may lack (an empty list then)."""
    return source.strings(doc, *path) if source.has(doc, *path) else []
