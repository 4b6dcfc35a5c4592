"""The tuner: its answer, re-run as a plain ``bleedsim run``, meets the target and a value 50%
worse does not; the direction is detected; a claim's tipping point is found.

minimal.yaml has a closed form: P(key) = presence x 0.3160 (its header), so with 400
replications the tipping point of ``key.p_any <= 0.1`` lies near presence 0.25 to 0.3."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from whatif_helpers import minimal_with_claim

from sim.cli import main
from sim.whatif import tuner
from sim.whatif.overrides import Base

N = 400


def plain_run(tmp_path: Path, presence: float, name: str) -> dict[str, object]:
    scenario = minimal_with_claim(tmp_path, presence=presence, replications=N, name=f"{name}.yaml")
    out = tmp_path / name
    assert main(["run", str(scenario), "--out", str(out), "--jobs", "1"]) == 0
    results: dict[str, object] = json.loads((out / "results.json").read_text())
    return results


def test_the_answer_holds_in_a_plain_run_and_fifty_percent_worse_does_not(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = minimal_with_claim(tmp_path, replications=N)
    answer_file = tmp_path / "answer.json"
    assert main(["tune", str(scenario), "--param", "attackers.prober.presence", "--range",
                 "0..1", "--target", "key.p_any<=0.1", "--json", str(answer_file),
                 "--jobs", "1"]) == 0
    printed = capsys.readouterr().out
    answer = json.loads(answer_file.read_text())
    assert set(answer) >= {"param", "value", "estimate", "ci95", "target", "evaluations"}
    assert answer["direction"] == "largest" and f"{answer['evaluations']} evaluations" in printed
    assert 0.1 < answer["value"] < 0.5
    assert answer["ci95"][1] <= 0.1

    at = plain_run(tmp_path, answer["value"], "at")["outcomes"]["key"]  # type: ignore[index]
    assert at["p_any_ci95"][1] <= 0.1  # meets the target
    assert at["p_any"] == answer["estimate"]
    worse = plain_run(tmp_path, answer["value"] * 1.5, "worse")["outcomes"]["key"]  # type: ignore[index]
    assert worse["p_any_ci95"][1] > 0.1  # does not


def test_the_direction_is_detected_when_larger_values_are_easier(tmp_path: Path) -> None:
    base = Base.read(minimal_with_claim(tmp_path, replications=N))
    problem = tuner.Problem.parse(base, "attackers.prober.presence", "0..1", "key.p_any>=0.1")
    answer = tuner.tune(problem, 0.02, jobs=1)
    assert answer.direction == "smallest"
    assert answer.best.ci95[0] >= 0.1
    below = [e for e in answer.evaluations if e.x < answer.best.x]
    assert below and not any(e.holds for e in below)


def test_a_claim_tipping_point(tmp_path: Path) -> None:
    base = Base.read(minimal_with_claim(tmp_path, replications=N))
    problem = tuner.Problem.parse(base, "attackers.prober.presence", "0..1", "claim:key-safe")
    answer = tuner.tune(problem, 0.02, jobs=1)
    claim = tuner.Problem.parse(base, "attackers.prober.presence", "0..1", "key.p_any<=0.1")
    same = tuner.tune(claim, 0.02, jobs=1)
    assert answer.best.x == same.best.x  # the claim is key.p_any <= 0.1 (prior)
    assert answer.as_json()["target"] == "claim:key-safe"


def test_durations_are_answered_in_seconds_too(tmp_path: Path) -> None:
    base = Base.read(minimal_with_claim(tmp_path, replications=100))
    problem = tuner.Problem.parse(base, "attackers.prober.duration", "1m..1h", "key.p_any<=0.2")
    result = tuner.tune(problem, 0.05, jobs=1).as_json()
    assert result["value"] == f"{int(result['value_seconds'])}s"
    assert 60 <= result["value_seconds"] < 3600


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--range", "1..0"], "LOW must be below HIGH"),
        (["--range", "0..1", "--target", "claim:nope"], "has no claim 'nope' (its claims: key-safe)"),
        (["--range", "0..1", "--target", "key.p_many<=1"], "is not an outcome"),
        (["--range", "0..1", "--target", "key.p_any<=0.1 given evidence"], "states no evidence"),
        (["--range", "0..2"], "attackers.prober.presence"),
    ],
)
def test_bad_tunes_are_refused_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    scenario = minimal_with_claim(tmp_path, replications=N)
    full = ["tune", str(scenario), "--param", "attackers.prober.presence",
            "--target", "key.p_any<=0.1", *args]
    assert main(full) == 2
    assert message in capsys.readouterr().err


def test_no_answer_in_range_is_said_plainly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = minimal_with_claim(tmp_path, replications=100)
    assert main(["tune", str(scenario), "--param", "attackers.prober.presence", "--range",
                 "0.8..1", "--target", "key.p_any<=0.01", "--jobs", "1"]) == 2
    assert "holds nowhere in 0.8..1" in capsys.readouterr().err
