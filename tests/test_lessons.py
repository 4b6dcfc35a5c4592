"""The lessons in ``scenarios/lessons/`` load, and say what their README says they show."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sim.cli import main
from sim.scenario import load_scenario

LESSONS = Path(__file__).parent.parent / "scenarios" / "lessons"


def test_every_lesson_loads_and_is_in_the_readme() -> None:
    readme = (LESSONS / "README.md").read_text(encoding="utf-8")
    files = sorted(LESSONS.glob("*.yaml"))
    assert len(files) >= 3
    for f in files:
        load_scenario(f)
        assert f"bleedsim run scenarios/lessons/{f.name}" in readme
        assert f"bleedsim demo scenarios/lessons/{f.name}" in readme


def run(tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main(["run", str(LESSONS / name), "--jobs", "1", "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    doc: dict[str, Any] = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    return doc


@pytest.mark.slow
def test_lesson_one_a_handful_suffices_only_where_the_key_is_cached(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    attackers = run(tmp_path, "01-one-heartbeat.yaml", capsys)["attackers"]
    key = {a: attackers[a]["given_present"]["outcomes"]["key"] for a in attackers}
    assert key["one-shot"]["p_any_ci95"][0] > 0.9
    assert key["one-shot-cold"]["p_any_ci95"][1] < 0.05
    assert key["patient"]["p_any_ci95"][0] > 0.9


@pytest.mark.slow
def test_lesson_three_verdicts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    claims = run(tmp_path, "03-binding-and-retention.yaml", capsys)["claims"]
    assert {c: v["verdict"] for c, v in claims.items()} == {
        "bound-not-reusable": "supported", "unbound-not-reusable": "refuted",
        "replays-would-show": "refuted"}
