"""Bad scenario files are refused with one clear problem each, never with a traceback.

The corpus in ``tests/data/bad`` holds one problem per file; ``expected.yaml`` says where
(field path and line) and what the message must say. Inputs that cannot be committed (a
100 MB file, a folder, a missing path) are made here at run time.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from sim.scenario import Problem, ScenarioError, load_scenario, parse_scenario

BAD = Path(__file__).parent / "data" / "bad"
EXPECTED: dict[str, dict] = yaml.safe_load((BAD / "expected.yaml").read_text(encoding="utf-8"))
CASES = sorted(p.name for p in BAD.glob("*.yaml") if p.name != "expected.yaml")


def refuse(path: Path | str) -> list[Problem]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return info.value.problems


def test_every_bad_file_has_an_expectation() -> None:
    assert len(CASES) >= 45
    assert set(CASES) == set(EXPECTED)


@pytest.mark.parametrize("name", CASES)
def test_bad_file_is_refused_with_where_and_what(name: str) -> None:
    expected = EXPECTED[name]
    path = BAD / name
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    problems = info.value.problems
    assert len(problems) == expected.get("count", 1), str(info.value)
    assert all(p.file == str(path) for p in problems)
    at_path = [p for p in problems if p.path == expected["path"]]
    assert at_path, str(info.value)
    problem = at_path[0]
    assert problem.line == expected["line"], str(problem)
    for fragment in expected["contains"]:
        assert fragment in problem.message, str(problem)
    assert str(problem).startswith(f"{path}:{expected['line']}: ")


@pytest.mark.parametrize("name", ["alias-bomb.yaml", "nesting-deep.yaml"])
def test_bombs_are_refused_without_expanding(name: str) -> None:
    started = time.perf_counter()
    refuse(BAD / name)
    assert time.perf_counter() - started < 1.0


def test_hundred_megabyte_file_is_refused_unread(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as f:
        f.truncate(100 * 2**20)
    started = time.perf_counter()
    (problem,) = refuse(big)
    assert time.perf_counter() - started < 1.0
    assert problem.file == str(big) and "limited to 1048576 bytes" in problem.message


def test_folder_is_refused(tmp_path: Path) -> None:
    (problem,) = refuse(tmp_path)
    assert "is a folder" in problem.message and problem.file == str(tmp_path)


def test_missing_path_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.yaml"
    (problem,) = refuse(missing)
    assert problem.message == "no such file" and str(problem) == f"{missing}: no such file"


def test_text_that_is_not_unicode_is_refused() -> None:
    with pytest.raises(ScenarioError, match="not valid Unicode"):
        parse_scenario("name: a\ud800b\n")


def test_all_problems_of_a_file_are_reported_together() -> None:
    good = (Path(__file__).parent / "data" / "good" / "minimal.yaml").read_text()
    fields = good.replace("heap_bytes: 1MiB", "heap_bytes: 1MiB\n    hosts: 0\n    workers: x") \
                 .replace("rate: 1", "rate: -1\n    sources: 0")
    with pytest.raises(ScenarioError) as info:
        parse_scenario(fields, "f.yaml")
    assert {p.path for p in info.value.problems} == {
        "servers.web.hosts", "servers.web.workers", "attackers.probe.rate", "attackers.probe.sources"}
    semantic = good.replace("targets: [web]", "targets: [web, mail]") \
                   .replace("    rate: 1\n", "    rate: 1\n    duration: 1h\nevidence: {ids: none}\n")
    semantic = semantic.replace("start: disclosed", "start: start-2h")
    with pytest.raises(ScenarioError) as info:
        parse_scenario(semantic, "f.yaml")
    assert {p.path for p in info.value.problems} == {
        "attackers.probe.targets[1]", "attackers.probe.start", "evidence.ids"}
    assert str(info.value).count("\n") == 2


def test_error_text_is_one_line_per_problem() -> None:
    err = ScenarioError([Problem("a.yaml", 3, "servers.mail.hosts", "expected a whole number"),
                         Problem("a.yaml", None, "", "no such file")])
    assert str(err) == "a.yaml:3: servers.mail.hosts: expected a whole number\na.yaml: no such file"
