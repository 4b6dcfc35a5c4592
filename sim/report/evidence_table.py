"""The evidence table printed after a run: which attacks the logs would have caught and which
they could not have, what the stated evidence weighs, and each claim's verdict.

Deterministic text (no times, no machine data): the same analysis gives the same bytes.
"""

from __future__ import annotations

from sim.analysis.analyse import Analysis
from sim.analysis.attackers import AttackerFindings
from sim.analysis.claims import Judgement
from sim.montecarlo.intervals import Interval
from sim.scenario.model import Scenario

HEADER = ("attacker (given present)", "P(key)", "P(detected)", "P(key & unseen)", "Bayes factor")
GAP = "  "


def render(scenario: Scenario, analysis: Analysis) -> str:
    lines: list[tuple[str, ...]] = [HEADER]
    for name, found in analysis.attackers.items():
        label = f"{name} (n={found.n_present}{', benign' if found.benign else ''})"
        lines.append((label, *_row(found)))
    widths = [max(len(line[i]) for line in lines) for i in range(len(HEADER))]
    table = [
        GAP.join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths)))
        .rstrip()
        for line in lines
    ]
    out = [*table, "", _evidence_line(scenario, analysis)]
    out += [_claim_line(j) for j in analysis.claims.values()]
    out += [
        "",
        "P(detected): a retained alert attributable to it is noticed. P(key & unseen): it took",
        "a key and no log would have shown it. Bayes factor = P(evidence | absent) /",
        "P(evidence | present): above 1 the evidence speaks for its absence.",
        "95% intervals in brackets.",
    ]
    return "\n".join(out) + "\n"


def _row(found: AttackerFindings) -> tuple[str, str, str, str]:
    if found.detected is None:
        return ("n/a", "n/a", "n/a", "n/a")
    key = found.outcomes["key"]
    if "p_any_upper95" in key:
        key_cell = f"0 (<= {_pct(key['p_any_upper95'])})"
    else:
        key_cell = _with_ci(key["p_any"], Interval(*key["p_any_ci95"]))
    blind = _with_ci(*found.blind_spots["key"])
    return (key_cell, _with_ci(*found.detected), blind, _factor(found))


def _factor(found: AttackerFindings) -> str:
    """An undefined factor is shown for what it means: the evidence cannot happen with it
    present (it rules the attacker out), or cannot happen at all."""
    if found.bayes_factor is not None:
        return _sig(found.bayes_factor)
    return "inf (rules it out)" if found.evidence_given_absent else "n/a (evidence impossible)"


def _evidence_line(scenario: Scenario, analysis: Analysis) -> str:
    if not scenario.evidence:
        return "evidence: none stated"
    items = ", ".join(f"{d}: {s}" for d, s in scenario.evidence.items())
    ev = analysis.evidence
    if ev.impossible:
        return f"evidence ({items}) is impossible in this scenario: {ev.reason}"
    return f"evidence ({items}): P = {_with_ci(ev.p_consistent, ev.ci95)}"


def _claim_line(j: Judgement) -> str:
    c = j.claim
    if c.outcome == "detected":
        who = c.attackers[0] if len(c.attackers) == 1 else f"each of {', '.join(c.attackers)}"
        what = f"P({who} detected) >= {_pct(j.bound)}"
    else:
        who = f" by {', '.join(c.attackers)}" if c.attackers else ""
        where = f" on {', '.join(c.servers)}" if c.servers else ""
        what = f"P({c.outcome}{who}{where} | {c.given}) <= {_pct(j.bound)}"
    value = "n/a" if j.value is None else _with_ci(j.value, j.ci95)
    note = f" ({j.note})" if j.note else ""
    return f"claim {c.name}: {what}: {value}: {j.verdict}{note}"


def _with_ci(p: float, ci: Interval) -> str:
    high = "?" if ci.high is None else _pct(ci.high).rstrip("%")
    return f"{_pct(p)} [{_pct(ci.low).rstrip('%')}, {high}]"


def _pct(p: float) -> str:
    return f"{_sig(100.0 * p)}%"


def _sig(x: float) -> str:
    """Three significant digits with trailing zeros kept, so a column shows its precision."""
    return "0" if x == 0.0 else f"{x:#.3g}".rstrip(".")
