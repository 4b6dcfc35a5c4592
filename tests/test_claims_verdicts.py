"""Claim verdicts: edge cases of the bound rules, which replications a claim counts, zero
events, and evidence that no replication can meet."""

from __future__ import annotations

import numpy as np
import pytest
from evidence_builders import attacker, detector, put, rows_for, scenario

from sim.analysis.analyse import analyse, as_results
from sim.analysis.attackers import AttackerFindings
from sim.analysis.claims import capture_indicator, judge_detected, verdict_at_least, verdict_at_most
from sim.montecarlo import intervals
from sim.montecarlo.intervals import Interval
from sim.scenario.model import Claim


@pytest.mark.parametrize(
    ("ci", "bound", "verdict"),
    [
        (Interval(0.001, 0.01), 0.01, "supported"),  # upper end exactly at the bound
        (Interval(0.01, 0.02), 0.01, "inconclusive"),  # lower end exactly at it: not above
        (Interval(0.0100001, 0.02), 0.01, "refuted"),
        (Interval(0.0, None), 0.5, "inconclusive"),  # no upper end: cannot support
        (Interval(0.01, 0.01), 0.01, "supported"),
    ],
)
def test_at_most(ci: Interval, bound: float, verdict: str) -> None:
    assert verdict_at_most(ci, bound) == verdict


@pytest.mark.parametrize(
    ("ci", "bound", "verdict"),
    [
        (Interval(0.9, 0.99), 0.9, "supported"),  # lower end exactly at the bound
        (Interval(0.5, 0.9), 0.9, "inconclusive"),  # upper end exactly at it: not below
        (Interval(0.5, 0.8999), 0.9, "refuted"),
        (Interval(0.5, None), 0.9, "inconclusive"),
    ],
)
def test_at_least(ci: Interval, bound: float, verdict: str) -> None:
    assert verdict_at_least(ci, bound) == verdict


def two_server_scenario(claims: list[Claim], evidence=None):
    return scenario(
        [attacker("eve", targets=("mail", "vpn")), attacker("mal", targets=("vpn",)),
         attacker("scan", targets=("mail",), benign=True)],
        [detector("ids", "signature", servers=("mail", "vpn"))],
        servers=("mail", "vpn"),
        claims=claims,
        evidence=evidence,
    )


def test_a_claim_counts_its_servers_and_attackers_only() -> None:
    """Row 0: eve took mail's key. Row 1: mal took vpn's. Row 2: only the scanner took one."""
    sc = two_server_scenario([])
    layout, rows = rows_for(sc, 3)
    put(layout, rows, "attacker/eve/server/mail/key", np.array([1, 0, 0]))
    put(layout, rows, "attacker/mal/server/vpn/key", np.array([0, 1, 0]))
    put(layout, rows, "attacker/scan/server/mail/key", np.array([0, 0, 1]))
    put(layout, rows, "server/mail/key", np.array([1, 0, 0]))
    put(layout, rows, "server/vpn/key", np.array([0, 1, 0]))
    put(layout, rows, "total/key", np.array([1, 1, 0]))

    def hits(**kw: object) -> list[bool]:
        claim = Claim("c", "key", at_most=0.1, **kw)  # type: ignore[arg-type]
        return capture_indicator(rows, layout, sc, claim).tolist()

    assert hits() == [True, True, False]
    assert hits(servers=("vpn",)) == [False, True, False]
    assert hits(attackers=("eve",)) == [True, False, False]
    assert hits(attackers=("eve",), servers=("vpn",)) == [False, False, False]
    assert hits(attackers=("scan",)) == [False, False, True]


def test_zero_events_bound_by_the_wilson_upper_end() -> None:
    """No key in 1000 replications: the value is 0 and the upper end the Wilson bound, so a
    claim bounding it just above is supported and just below inconclusive, never refuted."""
    n = 1000
    upper = intervals.wilson(0.0, n).high
    assert upper is not None
    claims = [
        Claim("loose", "key", at_most=upper),
        Claim("tight", "key", at_most=upper * 0.99),
    ]
    sc = two_server_scenario(claims)
    layout, rows = rows_for(sc, n)
    out = as_results(analyse(rows, layout, sc), rows, layout, sc)["claims"]
    assert out["loose"]["value"] == 0.0 and out["loose"]["verdict"] == "supported"
    assert out["tight"]["verdict"] == "inconclusive"
    assert out["loose"]["ci95"] == [0.0, upper]
    assert out["loose"]["bound"] == upper and out["loose"]["given"] == "prior"


def test_claim_given_evidence_uses_the_weights() -> None:
    """Key taken in rows 0-4 only, which all hold a noticed alert; evidence 'none' (notice 1)
    leaves rows 5-9: the key is then impossible, while the prior says 1/2."""
    claims = [
        Claim("posterior", "key", given="evidence", at_most=0.5),
        Claim("prior", "key", given="prior", at_most=0.1),
    ]
    sc = two_server_scenario(claims, evidence={"ids": "none"})
    layout, rows = rows_for(sc, 10)
    first_half = np.arange(10) < 5
    put(layout, rows, "total/key", first_half)
    put(layout, rows, "detector/ids/eve/retained", first_half)
    out = as_results(analyse(rows, layout, sc), rows, layout, sc)
    assert out["evidence"]["p_consistent"] == 0.5
    assert out["claims"]["posterior"]["value"] == 0.0
    assert out["claims"]["posterior"]["verdict"] == "supported"
    assert out["claims"]["prior"]["value"] == 0.5 and out["claims"]["prior"]["verdict"] == "refuted"


def test_impossible_evidence_names_the_detector_and_judges_nothing() -> None:
    sc = scenario(
        [attacker("eve")],
        [detector("ids", "signature"), detector("crashes", "crash")],
        evidence={"ids": "seen", "crashes": "none"},
        claims=[Claim("safe", "key", given="evidence", at_most=0.01)],
    )
    layout, rows = rows_for(sc, 50)
    out = as_results(analyse(rows, layout, sc), rows, layout, sc)
    assert out["evidence"]["p_consistent"] == 0.0
    assert out["evidence"]["impossible"]["detectors"] == ["ids"]
    assert "no replication has a retained malicious alert" in out["evidence"]["impossible"]["reason"]
    assert "posterior" not in out["evidence"]
    claim = out["claims"]["safe"]
    assert claim["value"] is None and claim["verdict"] == "inconclusive"
    assert "ids" in claim["note"]


def test_jointly_impossible_evidence_names_every_item_involved() -> None:
    """Each item holds in some replications, never both at once."""
    sc = scenario(
        [attacker("eve")],
        [detector("ids", "signature"), detector("flow", "rate", threshold=1, window=1.0)],
        evidence={"ids": "seen", "flow": "none"},
    )
    layout, rows = rows_for(sc, 4)
    both = np.array([1, 1, 0, 0])
    put(layout, rows, "detector/ids/eve/retained", both)
    put(layout, rows, "detector/flow/eve/retained", both)
    out = as_results(analyse(rows, layout, sc), rows, layout, sc)["evidence"]
    assert out["impossible"]["detectors"] == ["ids", "flow"]
    assert "together" in out["impossible"]["reason"]


def test_detected_claim_and_p_alert() -> None:
    """eve present in 8 of 10 replications, with a retained alert in 6 of those; notice 1/2:
    P(detected | present) = 6/8 x 1/2; p_alert = 6/10 x 1/2 over all replications."""
    sc = scenario(
        [attacker("eve")],
        [detector("ids", "signature", notice_probability=0.5)],
        claims=[
            Claim("caught", "detected", attackers=("eve",), at_least=0.1),
            Claim("surely", "detected", attackers=("eve",), at_least=0.99),
        ],
    )
    layout, rows = rows_for(sc, 10)
    put(layout, rows, "present/eve", np.arange(10) < 8)
    put(layout, rows, "detector/ids/eve/retained", np.arange(10) < 6)
    out = as_results(analyse(rows, layout, sc), rows, layout, sc)
    assert out["claims"]["caught"]["value"] == pytest.approx(0.375)
    assert out["claims"]["caught"]["verdict"] == "supported"
    assert out["claims"]["caught"]["given"] == "presence"
    assert out["claims"]["surely"]["verdict"] == "refuted"
    assert out["detectors"]["ids"]["p_alert"] == pytest.approx(0.3)
    assert out["attackers"]["eve"]["given_present"]["detected"] == pytest.approx(0.375)


def _found(name: str, detected: tuple[float, Interval] | None) -> AttackerFindings:
    return AttackerFindings(name, False, 0 if detected is None else 10, {}, detected, {}, None, None)


def test_detected_over_several_attackers_takes_the_worst_verdict() -> None:
    """Refuted before inconclusive before supported; the smallest value among equals; an
    attacker never present is inconclusive, below every measured inconclusive one."""
    claim = Claim("seen", "detected", attackers=("a", "b", "c"), at_least=0.9)
    found = {
        "a": _found("a", (0.99, Interval(0.95, 1.0))),   # supported
        "b": _found("b", (0.92, Interval(0.85, 0.97))),  # inconclusive
        "c": _found("c", (0.90, Interval(0.80, 0.96))),  # inconclusive, smaller
    }
    j = judge_detected(claim, found)
    assert (j.verdict, j.value, j.note) == ("inconclusive", 0.90, "the worst of 3 attackers: c")
    found["b"] = _found("b", (0.5, Interval(0.4, 0.6)))  # refuted beats any inconclusive
    assert judge_detected(claim, found).value == 0.5
    assert judge_detected(claim, found).verdict == "refuted"
    found["b"] = _found("b", None)
    j = judge_detected(claim, found)
    assert (j.verdict, j.value) == ("inconclusive", None)
    assert j.note == "the worst of 3 attackers: b; b is present in no replication"
    one = judge_detected(Claim("one", "detected", attackers=("a",), at_least=0.9), found)
    assert (one.verdict, one.note) == ("supported", "")
