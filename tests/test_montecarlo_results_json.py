"""results.json follows ``results-format.md``: its paths, ranges and determinism."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from conftest import tiny_scenario

import sim
from sim.montecarlo.runner import run
from sim.report import results_json
from sim.scenario.model import OUTCOMES

SCENARIO = tiny_scenario(replications=60, presence=0.3)


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    result = run(SCENARIO, tmp_path_factory.mktemp("out"), jobs=1, progress=False)
    return results_json.build(SCENARIO, "f" * 64, result.rows, result.layout, 2.0, result.simulated)


def estimates(document: dict[str, Any]) -> list[dict[str, Any]]:
    found = [document["outcomes"]]
    found += [s["outcomes"] for s in document["servers"].values()]
    for a in document["attackers"].values():
        found += [a["outcomes"], a["given_present"]["outcomes"]]
    return [per_outcome[o] for per_outcome in found for o in OUTCOMES]


def test_the_documented_paths_are_there(document: dict[str, Any]) -> None:
    assert (document["scenario"], document["scenario_sha256"], document["version"]) == (
        "tiny", "f" * 64, sim.__version__
    )
    assert (document["engine"], document["seed"], document["replications"]) == ("reference", 1, 60)
    assert set(document["outcomes"]) == set(OUTCOMES)
    assert set(document["servers"]["web"]["outcomes"]) == set(OUTCOMES)
    assert set(document["attackers"]["eve"]["given_present"]["outcomes"]) == set(OUTCOMES)
    assert 0 < document["attackers"]["eve"]["given_present"]["n_present"] < 60
    assert document["timing"] == {"seconds": 2.0, "replications_per_second": 30.0}
    for est in estimates(document):
        assert set(est) - {"p_any_upper95"} == {"p_any", "p_any_ci95", "mean", "mean_ci95"}


def test_probabilities_are_in_range_and_intervals_contain_estimates(document: dict[str, Any]) -> None:
    for est in estimates(document):
        low, high = est["p_any_ci95"]
        assert 0.0 <= low <= est["p_any"] <= high <= 1.0
        low, high = est["mean_ci95"]
        assert 0.0 <= low <= est["mean"] <= high
        if "p_any_upper95" in est:
            assert est["p_any"] == 0.0 and 0.0 < est["p_any_upper95"] <= 1.0


def test_serialisation_is_deterministic_and_sorted(document: dict[str, Any]) -> None:
    text = results_json.dumps(document)
    assert text == results_json.dumps(json.loads(text))
    keys = list(json.loads(text))
    assert keys == sorted(keys)


def test_serialisation_refuses_nan(document: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        results_json.dumps({**document, "broken": math.nan})


def test_analysis_sections_merge_in_without_overwriting(document: dict[str, Any]) -> None:
    doc = json.loads(results_json.dumps(document))
    results_json.merge(doc, {
        "detectors": {"ids": {"p_alert": 0.5}},
        "attackers": {"eve": {"given_present": {"detected": 0.25}}},
    })
    assert doc["detectors"]["ids"]["p_alert"] == 0.5
    assert doc["attackers"]["eve"]["given_present"]["detected"] == 0.25
    assert doc["attackers"]["eve"]["given_present"]["n_present"] == document["attackers"]["eve"][
        "given_present"]["n_present"]
    with pytest.raises(ValueError, match="n_present"):
        results_json.merge(doc, {"attackers": {"eve": {"given_present": {"n_present": 1}}}})


def test_dumped_files_are_identical_across_runs(tmp_path: Path, document: dict[str, Any]) -> None:
    again = run(SCENARIO, tmp_path, jobs=2, progress=False)
    rebuilt = results_json.build(SCENARIO, "f" * 64, again.rows, again.layout, 2.0, 60)
    assert results_json.dumps(rebuilt) == results_json.dumps(document)
