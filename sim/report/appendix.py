"""The report's closing sections: the assumptions that drive the answer, how to reproduce the
run, and how to read every number (the glossary, also in the README under "Reading the
output")."""

from __future__ import annotations

from sim.report import source
from sim.report.blocks import Items, Paragraph, Safe, Section, Table
from sim.report.columns import count
from sim.report.source import Node

GLOSSARY: tuple[tuple[str, str], ...] = (
    ("21.2% [19.5, 23.0]", "an estimate with its 95% interval; probabilities in percent, "
     "three significant digits (1\u202f190 [1\u202f050, 1\u202f320]: thousands set apart by "
     "a narrow space)."),
    ("0 (≤ u)", "no replication had it; u is its 95% upper bound: for an outcome's P the "
     "one-sided bound 1 - 0.05^(1/n), for a claim or a blind spot the upper end of its 95% "
     "interval (what verdicts are judged on, so a little wider)."),
    ("- and n/a", "-: nothing to estimate (those servers hold no such secret, or a benign "
     "checker's loss); n/a: no replication to estimate from."),
    ("n=", "in how many replications the attacker exists (its presence is drawn per "
     "replication); its columns are over those replications only."),
    ("P(key), P(password), P(session), P(hijack)", "the probability that at least one was "
     "captured by a malicious attacker; a hijack is a captured session that can be reused."),
    ("P(detected)", "the probability that a retained alert attributable to the attacker is "
     "noticed at the analysis time, given that the attacker exists."),
    ("P(key & unseen)", "the attacker took a key and no retained log shows it: its blind "
     "spot, the part of the loss that evidence of clean logs cannot rule out."),
    ("benign", "a checker that reads memory but keeps nothing: its captures are not losses, "
     "so it has no blind spot; its alerts still count in the logs."),
    ("P(evidence)", "the probability that the logs look as the scenario states they did."),
    ("given the evidence / before the evidence", "estimates over the replications whose logs "
     "match the stated evidence (weighted), or over all of them."),
    ("Bayes factor", "P(evidence if the attacker were absent) / P(evidence if present): "
     "above 1 the clean logs speak for its absence; ∞ (rules it out): the evidence cannot "
     "happen with it present."),
    ("holds, does not hold, undecided", "verdicts supported, refuted, inconclusive: the whole "
     "95% interval is on the claimed side of the bound, wholly on the other side, or "
     "straddles it (the report then says how many replications would settle it)."),
    ("effective replications", "the weighted replications' worth as a plain count (Kish's "
     "effective sample size); intervals given the evidence use it."),
)


def assumptions(doc: Node) -> Section:
    title = Safe("Assumptions that drive the answer")
    if not source.has(doc, "assumptions"):
        return Section(title, (Paragraph((Safe(
            "This results.json predates the list of assumptions; run the scenario again to "
            "see them here."),)),))
    rows = [((source.text(item, "path"),), (source.text(item, "value"),),
             (source.text(item, "note"),)) for item in _items(doc)]
    if not rows:
        return Section(title, (Paragraph((Safe(
            "The scenario file marks no value as an assumption (a comment with the word "
            "\u201cassumption\u201d on the value's line)."),)),))
    return Section(title, (
        Paragraph((Safe(
            "Every value the scenario file marks as an assumption, with its comment. These, "
            "more than the simulation, decide what the numbers above say."),)),
        Table((Safe("field"), Safe("value"), Safe("why (the scenario's comment)")),
              tuple(rows), prose=(1, 2)),
    ))


def _items(doc: Node) -> list[Node]:
    value = doc["assumptions"]
    if not isinstance(value, list):
        raise source.ReportInputError(f"{source.name(doc, 'assumptions')} is not a list")
    return [source.node({"assumptions": {str(i): v}}, "assumptions", str(i))
            for i, v in enumerate(value)]


def reproduce(doc: Node) -> Section:
    name = source.text(doc, "scenario")
    command = (Safe("bleedsim run scenarios/"), name, Safe(
        f".yaml --seed {count(doc, 'seed')} --replications {count(doc, 'replications')} "
        f"--engine {_word(source.text(doc, 'engine'))}"))
    return Section(Safe("How to reproduce"), (
        Items((
            (Safe("Command"), command),
            (Safe("Scenario"), (name,)),
            (Safe("Scenario SHA-256"), (source.text(doc, "scenario_sha256"),)),
            (Safe("bleedsim version"), (source.text(doc, "version"),)),
            (Safe("Engine"), (source.text(doc, "engine"),)),
            (Safe("Seed"), (count(doc, "seed"),)),
            (Safe("Replications"), (count(doc, "replications"),)),
        )),
        Paragraph((Safe(
            "The same scenario (same SHA-256 of its normalised form), seed, replications and "
            "engine give the same numbers on any machine and any number of processes; "
            "bleedsim report results.json rewrites this report from them byte for byte. Run "
            "time is kept in results.json only."),)),
    ))


def _word(text: str) -> Safe:
    """A value that is one known word, as report text; anything else is shown as ``?``."""
    return Safe(text) if text.isalnum() else Safe("?")


def reading() -> Section:
    return Section(Safe("Reading the numbers"), (
        Items(tuple((Safe(term), (Safe(meaning),)) for term, meaning in GLOSSARY)),
    ))
