"""Evidence weights against closed forms and against brute-force rejection sampling.

Rows are synthetic (``evidence_builders.one_detector_rows``), so the checks isolate the
analysis from the engines.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from evidence_builders import (
    K,
    N,
    PI,
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

from sim.analysis.evidence import condition, weights
from sim.montecarlo import intervals
from sim.montecarlo.estimates import estimate

@pytest.mark.parametrize("state", ["none", "benign_only", "seen"])
def test_weights_give_the_closed_form_posterior(state: str) -> None:
    sc, layout, rows = one_detector_rows(state, seed=31)
    given_present, given_absent = likelihoods(state)
    p_e = PI * given_present + (1 - PI) * given_absent
    posterior_key = K * PI * given_present / p_e
    ev = condition(rows, layout, sc)
    lo, hi = normal_interval(ev.weights)
    assert lo <= p_e <= hi
    assert ev.ci95.low <= ev.p_consistent <= ev.ci95.high
    est = estimate(rows, layout, "total", ev.weights)["key"]
    ci = intervals.wilson(est["p_any"], intervals.effective_size(ev.weights), Z_CHECK)
    assert ci.low <= posterior_key <= ci.high


def test_results_without_evidence_are_the_prior() -> None:
    sc, layout, rows = one_detector_rows("none", seed=32)
    sc = dataclasses.replace(sc, evidence={})
    ev = condition(rows, layout, sc)
    assert ev.p_consistent == 1.0 and not ev.impossible
    assert estimate(rows, layout, "total", ev.weights) == estimate(rows, layout, "total")


def test_weights_match_rejection_sampling_of_notice_draws() -> None:
    """Three detectors with independent notice draws, two malicious attackers and a scanner:
    drawing every notice explicitly and keeping the consistent replications must agree with the
    exact weights, both on P(evidence) and on the posterior of the key and of passwords."""
    notice = {"a": 0.3, "b": 0.7, "c": 0.9}
    evidence = {"a": "none", "b": "benign_only", "c": "seen"}
    sc = scenario(
        [attacker("eve"), attacker("mal"), attacker("scan", benign=True)],
        [detector(d, "rate", notice_probability=p, threshold=1, window=1.0) for d, p in notice.items()],
        evidence=evidence,  # type: ignore[arg-type]
    )
    layout, rows = rows_for(sc, N)
    rng = np.random.default_rng(33)
    loud = rng.random(N) < 0.5  # replications where the attack is noisy and successful alike
    key = rng.random(N) < np.where(loud, 0.6, 0.2)
    put(layout, rows, "total/key", key)
    put(layout, rows, "total/password", rng.poisson(np.where(loud, 3.0, 1.0)))
    for d in notice:
        for a, rate in (("eve", 0.4), ("mal", 0.2), ("scan", 0.3)):
            boost = 1.5 if a != "scan" else 1.0
            hit = rng.random(N) < np.where(loud, min(1.0, rate * boost), rate / 2)
            put(layout, rows, f"detector/{d}/{a}/retained", hit * rng.integers(1, 4, N))

    w = weights(rows, layout, sc)
    noticed = {d: rng.random(N) < p for d, p in notice.items()}
    ok = np.ones(N, dtype=bool)
    for d, state in evidence.items():
        col = {a: layout.column(rows, f"detector/{d}/{a}/retained") > 0 for a in ("eve", "mal", "scan")}
        seen_any = noticed[d] & (col["eve"] | col["mal"] | col["scan"])
        seen_malicious = noticed[d] & (col["eve"] | col["mal"])
        ok &= {"none": ~seen_any, "benign_only": ~seen_malicious, "seen": seen_malicious}[state]
    assert 500 < ok.sum() < N - 500, "the evidence must be neither rare nor certain"

    accept = intervals.wilson(ok.mean(), N, Z_CHECK)
    assert accept.low <= w.mean() <= accept.high
    kept_key = intervals.wilson(key[ok].mean(), ok.sum(), Z_CHECK)
    posterior = estimate(rows, layout, "total", w)
    assert kept_key.low <= posterior["key"]["p_any"] <= kept_key.high
    lo, hi = normal_interval(layout.column(rows, "total/password")[ok])
    assert lo <= posterior["password"]["mean"] <= hi
    assert not kept_key.low <= key.mean() <= kept_key.high, "the evidence must move the key"
