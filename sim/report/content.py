"""What a report says, read from a results.json document alone (``results-format.md``).

Presentation only: every number is one the document holds; nothing is recomputed, so a report
re-rendered from a stored results.json (``bleedsim report``) is the report of that run, to the
byte. Names come in the document's order (sorted, as results.json is written).
"""

from __future__ import annotations

from sim.report import cells, source
from sim.report.blocks import (
    Bar,
    Block,
    Chart,
    Inline,
    Items,
    Paragraph,
    Report,
    Safe,
    Section,
    Table,
)
from sim.report.source import Node

OUTCOME_COLUMNS: tuple[tuple[Safe, str, str], ...] = (
    (Safe("P(key)"), "key", "p_any"),
    (Safe("P(password)"), "password", "p_any"),
    (Safe("P(reusable password)"), "password_reusable", "p_any"),
    (Safe("mean passwords"), "password", "mean"),
    (Safe("P(session)"), "session", "p_any"),
    (Safe("P(hijack)"), "session_hijack", "p_any"),
)
HOLDER = {"key": "key", "password": "passwords", "password_reusable": "passwords",
          "session": "sessions", "session_hijack": "sessions"}
"""The secret kind (``servers.<s>.holds``) an outcome needs."""
CHARTED = ((Safe("key"), "key"), (Safe("password"), "password"), (Safe("session"), "session"))
NOTATION = Safe(
    "Each cell is an estimate with its 95% interval in brackets; probabilities in percent. "
    "0 (≤ u): no replication had it, and u is its one-sided 95% upper bound. "
    "-: those servers hold no such secret."
)


def build(doc: Node) -> Report:
    return Report(
        name=source.text(doc, "scenario"),
        description=source.text(doc, "description"),
        sections=(
            _run(doc), _outcomes(doc), _attackers(doc), _detectors(doc), _evidence(doc),
            _claims(doc),
        ),
        timing=_timing(doc),
    )


def _run(doc: Node) -> Section:
    items = (
        (Safe("Scenario"), (source.text(doc, "scenario"),)),
        (Safe("Scenario SHA-256"), (source.text(doc, "scenario_sha256"),)),
        (Safe("bleedsim version"), (source.text(doc, "version"),)),
        (Safe("Engine"), (source.text(doc, "engine"),)),
        (Safe("Seed"), (_count(doc, "seed"),)),
        (Safe("Replications"), (_count(doc, "replications"),)),
    )
    return Section(Safe("What was run"), (Items(items),))


def _holds(doc: Node) -> dict[str, set[str]]:
    """Per server, the secret kinds it keeps (``key``, ``passwords``, ``sessions``)."""
    servers = source.node(doc, "servers")
    return {s: set(source.strings(servers, s, "holds")) for s in servers}


def _outcomes(doc: Node) -> Section:
    servers = source.node(doc, "servers")
    holds = _holds(doc)
    rows = [
        ((Safe("server "), s), *_outcome_cells(source.node(servers, s, "outcomes"), holds[s]))
        for s in servers
    ]
    everything = set().union(*holds.values())
    total = source.node(doc, "outcomes")
    rows.append(((Safe("all servers"),), *_outcome_cells(total, everything)))
    blocks: list[Block] = [
        Paragraph((Safe("Captures by malicious attackers, over all replications."),)),
        Table((Safe(""), *(c[0] for c in OUTCOME_COLUMNS)), tuple(rows)),
        Paragraph((NOTATION,)),
        _chart(servers, holds),
        Table(
            (Safe("server"), Safe("replications with its key taken"),
             Safe("median time since start"), Safe("median heartbeats")),
            tuple(_key_capture(source.node(servers, s, "key_capture"), s) for s in servers),
        ),
    ]
    return Section(Safe("Outcomes"), tuple(blocks))


def _outcome_cells(outcomes: Node, holds: set[str]) -> tuple[Inline, ...]:
    return tuple(
        (cells.estimate(source.node(outcomes, o), field, HOLDER[o] in holds),)
        for _, o, field in OUTCOME_COLUMNS
    )


def _chart(servers: Node, holds: dict[str, set[str]]) -> Chart:
    groups = []
    for s in servers:
        bars = []
        for label, o in CHARTED:
            est = source.node(servers, s, "outcomes", o)
            value = source.optional_number(est, "p_any")
            low, high = source.interval(est, "p_any_ci95")
            if HOLDER[o] not in holds[s]:
                bars.append(Bar(label, None, 0.0, 0.0, Safe("not held")))
            elif value is None:
                bars.append(Bar(label, None, 0.0, 0.0, cells.UNDEFINED))
            else:
                bars.append(Bar(label, value, low, 1.0 if high is None else high))
        groups.append((s, tuple(bars)))
    return Chart(Safe("P(key), P(password) and P(session) per server, with 95% intervals"),
                 tuple(groups))


def _key_capture(capture: Node, server: str) -> tuple[Inline, ...]:
    seconds = source.optional_number(capture, "seconds_median")
    beats = source.optional_number(capture, "heartbeats_median")
    return (
        (server,),
        (_count(capture, "replications"),),
        (cells.UNDEFINED if seconds is None else cells.duration(seconds),),
        (cells.UNDEFINED if beats is None else Safe(cells.significant(beats)),),
    )


def _attackers(doc: Node) -> Section:
    attackers = source.node(doc, "attackers")
    holds = _holds(doc)
    outcome_rows = []
    detection_rows = []
    for a in attackers:
        att = source.node(attackers, a)
        label = (a, Safe(" (benign)")) if source.boolean(att, "benign") else (a,)
        present = _count(att, "given_present", "n_present")
        prior = cells.percent(source.number(att, "presence"))
        targets = set().union(*(holds.get(t, set()) for t in source.strings(att, "targets")))
        gp_outcomes = source.node(att, "given_present", "outcomes")
        outcome_rows.append(
            (label, (Safe(f"{present} (prior {prior})"),), *_outcome_cells(gp_outcomes, targets))
        )
        detection_rows.append((label, *_detection(att, targets)))
    blocks = (
        Paragraph((Safe(
            "Each attacker's own captures over the replications in which it exists "
            "(present: in how many; prior: its presence probability)."),)),
        Table((Safe("attacker"), Safe("present"), *(c[0] for c in OUTCOME_COLUMNS)),
              tuple(outcome_rows)),
        Table((Safe("attacker"), Safe("P(detected)"),
               *(Safe(f"P({label} & unseen)") for label, _ in CHARTED), Safe("Bayes factor")),
              tuple(detection_rows)),
        Paragraph((Safe(
            "P(detected): a retained alert attributable to it is noticed. P(key & unseen): it "
            "took a key and no log would have shown it (its blind spot; likewise for passwords "
            "and sessions). Bayes factor = P(evidence if absent) / P(evidence if present): "
            "above 1 the evidence speaks for its absence."),)),
    )
    return Section(Safe("Attackers, given present"), blocks)


def _detection(att: Node, holds: set[str]) -> tuple[Inline, ...]:
    if source.number(att, "given_present", "n_present") == 0:
        return ((Safe("n/a (never present)"),),) * (len(CHARTED) + 2)
    given_present = source.node(att, "given_present")
    unseen = tuple(
        (cells.probability(source.node(given_present, "blind_spot", o), "p", "ci95")
         if HOLDER[o] in holds else cells.NOT_HELD,)
        for _, o in CHARTED
    )
    return ((cells.probability(given_present, "detected"),), *unseen, (_bayes_factor(att),))


def _bayes_factor(att: Node) -> Safe:
    """An undefined factor is shown for what it means, as the terminal table does: the evidence
    cannot happen with it present (it rules the attacker out), or cannot happen at all."""
    if not source.has(att, "evidence", "bayes_factor"):
        return cells.UNDEFINED
    factor = source.optional_number(att, "evidence", "bayes_factor")
    if factor is not None:
        return Safe(cells.significant(factor))
    if source.optional_number(att, "evidence", "p_given_absent"):
        return Safe("∞ (rules it out)")
    return Safe("n/a (evidence impossible)")


def _detectors(doc: Node) -> Section:
    detectors = source.node(doc, "detectors")
    if not detectors:
        return Section(Safe("Detectors"), (Paragraph((Safe("No detectors in this scenario."),)),))
    rows = tuple(
        ((d,), (cells.probability(source.node(detectors, d), "p_alert"),)) for d in detectors
    )
    return Section(Safe("Detectors"), (
        Paragraph((Safe("P(alert): at least one retained malicious alert is noticed."),)),
        Table((Safe("detector"), Safe("P(alert)")), rows),
    ))


def _evidence(doc: Node) -> Section:
    evidence = source.node(doc, "evidence")
    items = source.node(evidence, "items")
    if not items:
        return Section(Safe("Evidence"), (Paragraph((Safe(
            "No evidence stated: the results above are not conditioned on the logs."),)),))
    blocks: list[Block] = [
        Paragraph((Safe("Stated in the scenario, per detector:"),)),
        Items(tuple((Safe(""), (d, Safe(": "), source.text(items, d))) for d in items)),
    ]
    if source.has(evidence, "impossible"):
        blamed = source.strings(evidence, "impossible", "detectors")
        names: list[str] = []
        for i, d in enumerate(blamed):
            names += [Safe(", ")] * (i > 0) + [d]
        blocks.append(Paragraph((
            Safe("The stated evidence is impossible in this scenario (detectors: "), *names,
            Safe("): "), source.text(evidence, "impossible", "reason"),
            Safe(". Nothing can be conditioned on it."),
        )))
        return Section(Safe("Evidence"), tuple(blocks))
    p = cells.probability(evidence, "p_consistent")
    ess = cells.significant(source.number(evidence, "effective_replications"))
    everything = set().union(*_holds(doc).values())
    blocks += [
        Paragraph((Safe(f"P(evidence) = {p}; effective replications given it: {ess}."),)),
        Table(
            (Safe(""), *(c[0] for c in OUTCOME_COLUMNS)),
            (((Safe("all servers, given the evidence"),),
              *_outcome_cells(source.node(evidence, "posterior", "outcomes"), everything)),),
        ),
    ]
    return Section(Safe("Evidence"), tuple(blocks))


def _claims(doc: Node) -> Section:
    claims = source.node(doc, "claims")
    if not claims:
        return Section(Safe("Claims"), (Paragraph((Safe("No claims in this scenario."),)),))
    rows = tuple(_claim(source.node(claims, c), c) for c in claims)
    return Section(Safe("Claims"), (
        Paragraph((Safe(
            "A claim is supported when its whole 95% interval is on the claimed side of its "
            "bound, refuted when it is wholly on the other side, else inconclusive."),)),
        Table((Safe("claim"), Safe("statement"), Safe("tested"), Safe("estimate"),
               Safe("bound"), Safe("verdict")), rows),
    ))


def _claim(claim: Node, name: str) -> tuple[Inline, ...]:
    sign = "≥" if source.text(claim, "bound_kind") == "at_least" else "≤"
    verdict: Inline = (source.text(claim, "verdict"),)
    if source.has(claim, "note"):
        verdict += (Safe(" ("), source.text(claim, "note"), Safe(")"))
    return (
        (name,),
        (source.text(claim, "text"),),
        (source.text(claim, "outcome"), Safe(", given "), source.text(claim, "given")),
        (cells.probability(claim, "value", "ci95"),),
        (Safe(f"{sign} {cells.percent(source.number(claim, 'bound'))}"),),
        verdict,
    )


def _timing(doc: Node) -> Safe:
    seconds = source.number(doc, "timing", "seconds")
    rate = source.number(doc, "timing", "replications_per_second")
    return Safe(f"Run time: {seconds:.1f} s ({rate:,.0f} replications/s), "
                "not part of the results.")


def _count(doc: Node, *path: str) -> Safe:
    value = source.number(doc, *path)
    if value != int(value):
        raise source.ReportInputError(f"{source.name(doc, *path)} is not a whole number")
    return Safe(str(int(value)))
