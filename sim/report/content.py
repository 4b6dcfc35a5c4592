"""What a report says, read from a results.json document alone (``results-format.md``): the one
content model that the terminal table, ``report.md`` and ``report.html`` all render, so that
they cannot disagree.

Presentation only: every number is one the document holds (the few derived ones, such as how
many replications would settle a claim, are computed from those numbers alone), so a report
re-rendered from a stored results.json (``bleedsim report``) is the report of that run, to the
byte. Names come in the document's order (sorted, as results.json is written). Fields added to
results.json after a document was written are optional here: an older document gives a report
without the parts it cannot support.
"""

from __future__ import annotations

from sim.report import answer, appendix, cells, figures, sampling, source
from sim.report.blocks import Block, Inline, Items, Paragraph, Report, Safe, Section, Table
from sim.report.columns import (
    CHARTED,
    HOLDER,
    OUTCOME_COLUMNS,
    bayes_factor,
    count,
    held_anywhere,
    holds,
    outcome_cells,
    targets_hold,
)
from sim.report.source import Node

NOTATION = Safe(
    "Each cell is an estimate with its 95% interval in brackets; probabilities in percent. "
    "0 (≤ u): no replication had it, and u is its 95% upper bound. "
    "-: those servers hold no such secret."
)


def build(doc: Node) -> Report:
    """The whole report: the answer first, then the figures, the details, the assumptions
    that drive the answer and how to reproduce it. Nothing in it measures the machine (run
    time lives in results.json only), so the same document gives the same bytes."""
    return Report(
        name=source.text(doc, "scenario"),
        description=source.text(doc, "description"),
        header=(Safe("engine "), source.text(doc, "engine"), Safe(
            f", {count(doc, 'replications')} replications, seed {count(doc, 'seed')}")),
        sections=(
            answer.section(doc),
            figures.section(doc),
            _outcomes(doc),
            _attackers(doc),
            _captures(doc),
            _detectors(doc),
            _evidence(doc),
            *_sampling(doc),
            appendix.assumptions(doc),
            appendix.reproduce(doc),
            appendix.reading(),
        ),
    )


def _sampling(doc: Node) -> tuple[Section, ...]:
    """How a ``--precision`` run sampled (strata) and why it stopped; nothing otherwise."""
    if not source.has(doc, "sampling"):
        return ()
    block = source.node(doc, "sampling")
    assert isinstance(block, dict)
    lines = sampling.sentences(block)
    return (Section(Safe("Sampling"), tuple(Paragraph((line,)) for line in lines),
                    terminal=True),)


def _outcomes(doc: Node) -> Section:
    servers = source.node(doc, "servers")
    held = holds(doc)
    rows = [
        ((Safe("server "), s), *outcome_cells(source.node(servers, s, "outcomes"), held[s]))
        for s in servers
    ]
    total = source.node(doc, "outcomes")
    rows.append(((Safe("all servers"),), *outcome_cells(total, held_anywhere(doc))))
    blocks: list[Block] = [
        Paragraph((Safe("Captures by malicious attackers, over all replications."),)),
        Table((Safe(""), *(c[0] for c in OUTCOME_COLUMNS)), tuple(rows)),
        Paragraph((NOTATION,)),
        *_binding_checks(servers),
    ]
    return Section(Safe("Outcomes"), tuple(blocks), terminal=True)


def _binding_checks(servers: Node) -> tuple[Block, ...]:
    """What each session binding check bought, per server that makes any and saw a replay (an
    older document without ``binding_checks`` gives nothing)."""
    rows = []
    for s in servers:
        if not source.has(servers, s, "binding_checks"):
            continue
        ladder = source.objects(servers, s, "binding_checks")
        if len(ladder) < 2 or not source.optional_number(ladder[0], "session_hijack", "p_any"):
            continue  # no check, or no replay to check: nothing bought
        for k, step in enumerate(ladder):
            checks = source.strings(step, "checks")
            made = ", ".join(checks) if checks else "none"
            hijack = source.node(step, "session_hijack")
            rows.append(((s,), (made, Safe(" (as run)") if k == len(ladder) - 1 else Safe("")),
                         (cells.estimate(hijack, "p_any", True),),
                         (cells.estimate(hijack, "mean", True),)))
    if not rows:
        return ()
    return (
        Paragraph((Safe(
            "What each session binding check bought: the hijacks had the server made only the "
            "checks listed, in the order the model makes them (rule 21: the first that fails "
            "blocks the replay and the session log records it), from the same replications "
            "and the same replays."),)),
        Table((Safe("server"), Safe("checks made"), Safe("P(hijack)"), Safe("mean hijacks")),
              tuple(rows)),
    )


def _attackers(doc: Node) -> Section:
    attackers = source.node(doc, "attackers")
    rows = []
    for a in attackers:
        att = source.node(attackers, a)
        rows.append((_label(att, a), (_present(att),), *_detection(att, targets_hold(doc, att))))
    blocks = (
        Paragraph((Safe(
            "Each attacker over the replications in which it exists (present: in how many of "
            "them, and its presence probability)."),)),
        Table((Safe("attacker"), Safe("present"), Safe("P(key)"), Safe("P(detected)"),
               *(Safe(f"P({label} & unseen)") for label, _ in CHARTED), Safe("Bayes factor")),
              tuple(rows)),
        Paragraph((Safe(
            "P(detected): a retained alert attributable to it is noticed. P(key & unseen): it "
            "took a key and no log would have shown it (its blind spot; likewise for passwords "
            "and sessions); benign checkers take nothing that counts as a loss, so they have "
            "no blind spot. Bayes factor = P(evidence if absent) / P(evidence if present): "
            "above 1 the evidence speaks for its absence; ∞ (rules it out): the evidence "
            "cannot happen with it present."),)),
    )
    return Section(Safe("Attackers, given present"), blocks, terminal=True)


def _label(att: Node, name: str) -> Inline:
    return (name, Safe(" (benign)")) if source.boolean(att, "benign") else (name,)


def _present(att: Node) -> Safe:
    return Safe(f"n={count(att, 'given_present', 'n_present')} "
                f"(prior {cells.percent(source.number(att, 'presence'))})")


def _detection(att: Node, held: set[str]) -> tuple[Inline, ...]:
    if source.number(att, "given_present", "n_present") == 0:
        return ((Safe("n/a (never present)"),),) * (len(CHARTED) + 3)
    given_present = source.node(att, "given_present")
    key = (cells.estimate(source.node(given_present, "outcomes", "key"), "p_any", True),)
    benign = source.boolean(att, "benign")
    unseen = tuple(
        (Safe("- (benign)") if benign
         else cells.probability(source.node(given_present, "blind_spot", o), "p", "ci95")
         if HOLDER[o] in held else cells.NOT_HELD,)
        for _, o in CHARTED
    )
    return (key, (cells.probability(given_present, "detected"),), *unseen, (bayes_factor(att),))


def _captures(doc: Node) -> Section:
    attackers = source.node(doc, "attackers")
    rows = tuple(
        (_label(source.node(attackers, a), a), (_present(source.node(attackers, a)),),
         *outcome_cells(source.node(attackers, a, "given_present", "outcomes"),
                        targets_hold(doc, source.node(attackers, a))))
        for a in attackers
    )
    servers = source.node(doc, "servers")
    blocks = (
        Paragraph((Safe("Each attacker's own captures over the replications in which it "
                        "exists."),)),
        Table((Safe("attacker"), Safe("present"), *(c[0] for c in OUTCOME_COLUMNS)), rows),
        Paragraph((Safe("When keys were taken, per server:"),)),
        Table(
            (Safe("server"), Safe("replications with its key taken"),
             Safe("median time since start"), Safe("median heartbeats")),
            tuple(_key_capture(source.node(servers, s, "key_capture"), s) for s in servers),
        ),
    )
    return Section(Safe("Captures in detail"), blocks)


def _key_capture(capture: Node, server: str) -> tuple[Inline, ...]:
    seconds = source.optional_number(capture, "seconds_median")
    beats = source.optional_number(capture, "heartbeats_median")
    return (
        (server,),
        (count(capture, "replications"),),
        (cells.UNDEFINED if seconds is None else cells.duration(seconds),),
        (cells.UNDEFINED if beats is None else Safe(cells.significant(beats)),),
    )


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
    blocks += [
        Paragraph((Safe(f"P(evidence) = {p}; effective replications given it: {ess}."),)),
        Table(
            (Safe(""), *(c[0] for c in OUTCOME_COLUMNS)),
            (((Safe("all servers, before the evidence"),),
              *outcome_cells(source.node(doc, "outcomes"), held_anywhere(doc))),
             ((Safe("all servers, given the evidence"),),
              *outcome_cells(source.node(evidence, "posterior", "outcomes"),
                             held_anywhere(doc)))),
        ),
    ]
    return Section(Safe("Evidence"), tuple(blocks))
