"""The answer a report opens with: which claims hold and which do not, in plain words generated
from the numbers, the attackers and assumptions that carry the answer, then the claims table.

Words for verdicts: a claim ``holds`` (verdict ``supported``: its whole 95% interval is on the
claimed side of its bound), ``does not hold`` (``refuted``: wholly on the other side) or is
``undecided`` (``inconclusive``: the interval straddles the bound; the report says why).
"""

from __future__ import annotations

from sim.report import cells, source, verdicts
from sim.report.blocks import Block, Inline, Paragraph, Safe, Section, Table
from sim.report.columns import count, malicious, optional_strings
from sim.report.source import Node
from sim.scenario.wording import claim_statement

WORDS = {"supported": "holds", "refuted": "does not hold", "inconclusive": "undecided"}
PLURAL = {"supported": "hold", "refuted": "do not hold", "inconclusive": "undecided"}


def statement(claim: Node) -> str:
    """The claim as ``check`` and the terminal word it (``sim.scenario.wording``); plain text,
    to be escaped, since it holds names from the scenario."""
    return str(claim_statement(
        source.text(claim, "outcome"), optional_strings(claim, "servers"),
        optional_strings(claim, "attackers"), source.text(claim, "given"),
        source.text(claim, "bound_kind"), source.number(claim, "bound")))


def section(doc: Node) -> Section:
    claims = source.node(doc, "claims")
    blocks: list[Block] = [*_verdicts(doc, claims), _evidence(doc), *_deciding(doc, claims)]
    if claims:
        blocks.append(Table(
            (Safe("claim"), Safe("as written"), Safe("as tested"), Safe("estimate"),
             Safe("verdict")),
            tuple(_row(source.node(claims, c), c) for c in claims), (0, 2, 3, 4), (1, 2)))
        blocks += [_why(doc, source.node(claims, c), c) for c in claims
                   if source.text(claims, c, "verdict") == "inconclusive"]
    return Section(Safe("The answer"), tuple(blocks), terminal=True)


def _verdicts(doc: Node, claims: Node) -> list[Paragraph]:
    if not claims:
        return [Paragraph((Safe("The scenario states no claims; the figures and tables below "
                                "give the outcomes it leads to."),))]
    by: dict[str, list[str]] = {"supported": [], "refuted": [], "inconclusive": []}
    for c in claims:
        by.setdefault(source.text(claims, c, "verdict"), []).append(c)
    n = len(claims)
    unknown = [c for v, names in by.items() if v not in WORDS for c in names]
    counts = ", ".join([f"{len(by[v])} {(WORDS if len(by[v]) == 1 else PLURAL)[v]}"
                        for v in WORDS if by[v]] + [f"{len(unknown)} with another verdict"]
                       * bool(unknown))
    out = [Paragraph((Safe(f"Of the {n} claim{'s' * (n != 1)} checked against "
                           f"{count(doc, 'replications')} simulated replications: {counts} "
                           "(each judged on its 95% interval)."),))]
    if by["supported"]:
        out.append(Paragraph((Safe("Holds: "), *_names(by["supported"]), Safe("."))))
    for c in by["refuted"]:
        claim = source.node(claims, c)
        out.append(Paragraph((
            Safe("Does not hold: "), c, Safe(", “"), source.text(claim, "text"), Safe("”: "),
            statement(claim), Safe(" is claimed, but the simulation gives "
                                   f"{cells.probability(claim, 'value', 'ci95')}."))))
    for c in unknown:
        out.append(Paragraph((Safe("Verdict not known to this report: "), c, Safe(", "),
                              source.text(claims, c, "verdict"), Safe("."))))
    for c in by["inconclusive"]:
        claim = source.node(claims, c)
        out.append(Paragraph((Safe("Undecided: "), c, Safe(", “"), source.text(claim, "text"),
                              Safe("”; see below why."))))
    return out


def _names(names: list[str]) -> list[str]:
    out: list[str] = []
    for i, name in enumerate(names):
        out += [Safe(", ")] * (i > 0) + [name]
    return out


def _evidence(doc: Node) -> Paragraph:
    before = cells.estimate(source.node(doc, "outcomes", "key"), "p_any", True)
    evidence = source.node(doc, "evidence")
    if not source.node(evidence, "items"):
        return Paragraph((Safe(f"No evidence from the logs is stated: the chance that any key "
                               f"was taken is {before}."),))
    if source.has(evidence, "impossible") or not source.has(evidence, "posterior"):
        return Paragraph((Safe("The stated evidence cannot happen in this scenario, so "
                               "nothing is conditioned on it (see Evidence); before it, the "
                               f"chance that any key was taken is {before}."),))
    after = cells.estimate(source.node(evidence, "posterior", "outcomes", "key"), "p_any", True)
    seen = cells.probability(evidence, "p_consistent")
    return Paragraph((Safe(
        f"Given what the logs show (the stated evidence, found in {seen} of the "
        f"replications), the chance that any key was taken is {after}, against {before} "
        "before the evidence."),))


def _deciding(doc: Node, claims: Node) -> list[Paragraph]:
    """The attackers (and their presence probabilities) that carry most of the key loss the
    claims are judged on: for claims given the evidence, what the logs cannot see (presence
    times P(key & unseen)); for the others, all of it (presence times P(key)). The first of
    each kind of claim, or the first two where the claims are all of one kind."""
    givens = {source.text(claims, c, "given") for c in claims} or {"prior"}
    attackers = source.node(doc, "attackers")
    kinds: list[list[tuple[float, str, bool]]] = []
    if "evidence" in givens:
        kinds.append([(source.number(attackers, a, "presence")
                       * source.number(attackers, a, "given_present", "blind_spot", "key", "p"),
                       a, True) for a in malicious(doc)
                      if source.has(attackers, a, "given_present", "blind_spot", "key", "p")])
    if givens - {"evidence"}:
        kinds.append([(source.number(attackers, a, "presence")
                       * source.number(attackers, a, "given_present", "outcomes", "key", "p_any"),
                       a, False) for a in malicious(doc)])
    firsts = [sorted((w for w in kind if w[0] > 0), key=lambda w: (-w[0], w[1]))
              for kind in kinds]
    chosen: list[tuple[str, bool]] = []
    for ranked in (firsts if len(firsts) > 1 else [firsts[0][:2]] if firsts else []):
        for _, a, unseen in ranked[: 2 if len(firsts) == 1 else 1]:
            if a not in (c[0] for c in chosen):
                chosen.append((a, unseen))
    if not chosen:
        return []
    parts: list[str] = [Safe("What the answer rests on most: ")]
    for i, (a, unseen) in enumerate(chosen):
        gp = source.node(attackers, a, "given_present")
        rate = (cells.probability(source.node(gp, "blind_spot", "key"), "p", "ci95") if unseen
                else cells.probability(source.node(gp, "outcomes", "key"), "p_any"))
        presence = source.number(attackers, a, "presence")
        present = ("present in every replication" if presence == 1.0 else
                   f"present with probability {cells.percent(presence)}"
                   f"{_assumed(doc, f'attackers.{a}.presence')}")
        parts += [Safe("; and ")] * (i > 0) + [a, Safe(
            f", {present}, which where it exists takes a key "
            f"{'that no log shows ' if unseen else ''}in {rate} of the replications")]
    parts.append(Safe(". Change those numbers and the answer moves with them (see Assumptions)."))
    return [Paragraph(tuple(parts))]


def _assumed(doc: Node, path: str) -> str:
    if not source.has(doc, "assumptions") or not isinstance(doc["assumptions"], list):
        return ""
    paths = {a.get("path") for a in doc["assumptions"] if isinstance(a, dict)}
    return " (an assumption of the scenario)" if path in paths else ""


def _row(claim: Node, name: str) -> tuple[Inline, ...]:
    verdict = source.text(claim, "verdict")
    word = WORDS.get(verdict)
    return (
        (name,),
        (source.text(claim, "text"),),
        (statement(claim),),
        (cells.probability(claim, "value", "ci95"),),
        (verdict,) if word is None else (Safe(f"{word} ({verdict})"),),
    )


def _why(doc: Node, claim: Node, name: str) -> Paragraph:
    reason: Inline = (source.text(claim, "note"),) if source.has(claim, "note") else (
        Safe(verdicts.why_inconclusive(doc, claim)),)
    return Paragraph((Safe("Why "), name, Safe(" is undecided: "), *reason, Safe(".")))
