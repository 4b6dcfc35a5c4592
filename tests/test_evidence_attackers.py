"""Per-attacker detection, blind spots and Bayes factors against closed forms, and the
evidence table.

In ``one_detector_rows`` the attacker leaves a retained alert with probability ``Q`` when
present, noticed with probability ``P``, and takes the key with probability ``K`` independently:
P(detected) = Q P and P(key & unseen) = K (1 - Q P). Its Bayes factor is the ratio of the closed
forms of P(E | absent) and P(E | present).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from evidence_builders import (
    K,
    P,
    Q,
    Z_CHECK,
    attacker,
    detector,
    likelihoods,
    normal_interval,
    one_detector_rows,
    put,
    rows_for,
    scenario,
)

from sim.analysis.analyse import analyse, as_results
from sim.analysis.attackers import findings
from sim.analysis.evidence import weights
from sim.montecarlo import intervals
from sim.analysis.analyse import Analysis
from sim.montecarlo.layout import Layout
from sim.report import results_json, terminal
from sim.scenario.model import Claim, Scenario


def render(sc: Scenario, analysis: Analysis, rows: np.ndarray, layout: Layout) -> str:
    """The terminal text of a run, from its results.json as ``bleedsim run`` prints it."""
    doc = results_json.build(sc, "0" * 64, rows, layout, 1.0, rows.shape[0])
    results_json.merge(doc, as_results(analysis, rows, layout, sc))
    return terminal.render(json.loads(results_json.dumps(doc)))


def attacker_line(text: str, name: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(name + " "))


def test_detected_and_blind_spot_closed_forms() -> None:
    sc, layout, rows = one_detector_rows("none", seed=41)
    f = findings(rows, layout, sc, "eve")
    assert f.detected is not None
    detected = intervals.wilson(f.detected[0], f.n_present, Z_CHECK)
    assert detected.low <= Q * P <= detected.high
    blind, _ = f.blind_spots["key"]
    ci = intervals.wilson(blind, f.n_present, Z_CHECK)
    assert ci.low <= K * (1 - Q * P) <= ci.high
    assert f.blind_spots["password"][0] == 0.0


@pytest.mark.parametrize("state", ["none", "benign_only", "seen"])
def test_bayes_factor_closed_form(state: str) -> None:
    """The counterfactual (its alerts removed, same replications) and the replications where it
    is absent estimate the same P(E | absent) here, since the scanner ignores it."""
    sc, layout, rows = one_detector_rows(state, seed=42)
    f = findings(rows, layout, sc, "eve")
    present = layout.column(rows, "present/eve") == 1.0
    given_present, given_absent = likelihoods(state)
    w_present = weights(rows[present], layout, sc)
    w_counterfactual = weights(rows[present], layout, sc, excluding="eve")
    w_absent = weights(rows[~present], layout, sc)
    for values, expected, got in (
        (w_present, given_present, f.evidence_given_present),
        (w_counterfactual, given_absent, f.evidence_given_absent),
        (w_absent, given_absent, None),
    ):
        lo, hi = normal_interval(values) if values.std() > 0 else (values[0], values[0])
        assert lo <= expected <= hi
        assert got is None or got == pytest.approx(values.mean())
    assert f.bayes_factor == pytest.approx(f.evidence_given_absent / f.evidence_given_present)


def test_bayes_factor_undefined_when_the_evidence_excludes_it() -> None:
    """Evidence 'none' from a detector that always catches it (notice 1): impossible when
    present, so P(E | present) = 0 and the factor is reported as undefined, not infinite."""
    sc = scenario([attacker("eve")], [detector("ids", "crash")], evidence={"ids": "none"})
    layout, rows = rows_for(sc, 10)
    put(layout, rows, "present/eve", np.arange(10) < 5)
    put(layout, rows, "detector/ids/eve/retained", np.arange(10) < 5)
    f = findings(rows, layout, sc, "eve")
    assert f.evidence_given_present == 0.0 and f.evidence_given_absent == 1.0
    assert f.bayes_factor is None
    analysis = analyse(rows, layout, sc)
    assert as_results(analysis, rows, layout, sc)["attackers"]["eve"]["evidence"]["bayes_factor"] is None
    assert attacker_line(render(sc, analysis, rows, layout), "eve").endswith("∞ (rules it out)")


def test_evidence_table_is_exact_and_deterministic() -> None:
    """Four replications, numbers exact by hand: eve present in 3, key in 2 of them, one of those
    with a retained alert noticed with probability 1/2, so P(detected) = (1/2)/3 and
    P(key & unseen) = (1 + 1/2)/3; evidence 'none' gives weights 1, 1, 1/2, 1: 3.5/4 overall,
    P(E | present) = 2.5/3 and P(E | absent) = 1, factor 1.2; P(key | E) = 1.5/3.5."""
    sc = scenario(
        [attacker("eve"), attacker("scan", benign=True)],
        [detector("ids", "signature", notice_probability=0.5)],
        evidence={"ids": "none"},
        claims=[Claim("keys-safe", "key", "Keys are safe.", given="evidence", at_most=0.5)],
    )
    layout, rows = rows_for(sc, 4)
    put(layout, rows, "present/eve", np.array([1, 1, 1, 0]))
    for col in ("total/key", "attacker/eve/key", "attacker/eve/server/mail/key"):
        put(layout, rows, col, np.array([1, 1, 0, 0]))
    put(layout, rows, "detector/ids/eve/retained", np.array([0, 4, 0, 0]))
    analysis = analyse(rows, layout, sc)
    text = render(sc, analysis, rows, layout)
    assert text == render(sc, analyse(rows, layout, sc), rows, layout)
    eve = attacker_line(text, "eve")
    assert eve.split()[1] == "n=3"
    assert "16.7% [" in eve and "50.0% [" in eve and eve.endswith("1.20")
    scan = attacker_line(text, "scan (benign)")
    assert "n=0" in scan and scan.endswith("n/a (never present)")
    assert "(the stated evidence, found in 87.5% [" in text
    claim = next(line for line in text.splitlines() if line.startswith("keys-safe "))
    assert "P(key | evidence) ≤ 50.0%" in claim and "42.9% [" in claim
    assert claim.endswith("undecided (inconclusive)")
    assert "Why keys-safe is undecided: its 95% interval [11.1, 81.8] contains the bound 50.0%" \
        in " ".join(text.split())
