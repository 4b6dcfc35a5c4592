"""``bleedsim run --precision``: stratified rounds until precise, reproducible for any ``--jobs``,
and its flags refused clearly when they cannot work."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest
from conftest import REPO
from test_cli_errors import refuse

from sim.analysis.precision import possible
from sim.cli import main
from sim.scenario import load_scenario
from sim.scenario.model import OUTCOMES

TIMING_LINE = re.compile(r'^\s*"(seconds|replications_per_second)": ')


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def reproducible_lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if not TIMING_LINE.match(line)]


def test_precision_run_is_identical_for_any_jobs_and_says_where_it_stopped(
    tiny_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flags = ["--precision", "0.2", "--max-replications", "300", "--engine", "fast"]
    assert main(["run", str(tiny_file), *flags, "--jobs", "1", "--out", "one"]) == 0
    assert main(["run", str(tiny_file), *flags, "--jobs", "2", "--out", "two"]) == 0
    out = capsys.readouterr().out
    assert "Stratified on eve (replications per stratum: none: " in out
    assert "Stopped after " in out
    one, two = tmp_path / "one" / "results.json", tmp_path / "two" / "results.json"
    assert reproducible_lines(one) == reproducible_lines(two)
    doc = json.loads(one.read_text())
    sampling = doc["sampling"]
    assert sampling["method"] == "stratified" and sampling["stratified_on"] == ["eve"]
    strata = sampling["strata"]
    assert [s["present"] for s in strata] == [[], ["eve"]]
    assert [s["probability"] for s in strata] == [0.5, 0.5]
    assert sum(s["replications"] for s in strata) == doc["replications"] <= 300
    precision = sampling["precision"]
    assert precision["stopped"] in ("precision", "max_replications")
    estimates = precision["estimates"]
    assert "outcomes.key.p_any" in estimates  # no evidence stated: the prior outcomes
    reached = all(e["reached"] for e in estimates.values())
    assert reached == (precision["stopped"] == "precision")
    for e in estimates.values():
        if e["reached"] and e["why"] == "precision":
            assert e["half_width"] <= 0.2 * e["value"]
    key = doc["outcomes"]["key"]
    assert key["p_any_ci95"][0] <= key["p_any"] <= key["p_any_ci95"][1]
    assert (tmp_path / "one" / "report.html").is_file()
    assert not (tmp_path / "one" / ".checkpoint").exists()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--precision", "0"], "expected a number between 0 and 1, got 0"),
        (["--precision", "1.5"], "expected a number between 0 and 1"),
        (["--precision", "tight"], "expected a number, got 'tight'"),
        (["--precision", "0.1", "--replications", "50"], "exclude each other"),
        (["--max-replications", "500"], "--max-replications needs --precision"),
        (["--precision", "0.1", "--max-replications", "10"], "below the 20 replications"),
    ],
)
def test_bad_precision_flags(
    args: list[str], says: str, tiny_file: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    err = refuse(["run", str(tiny_file), *args], capsys, tmp_path)
    assert says in err


def test_hijacks_are_a_target_only_where_an_attacker_replays_sessions() -> None:
    """In the skeptic's PSMail nobody replays what it takes, so no hijack can happen: a target
    of it could never be reached and would hold the run to its budget (30,000 replications
    and 7.6 minutes, measured before this check)."""
    plain = load_scenario(REPO / "scenarios" / "psmail-2014.yaml")
    skeptic = load_scenario(REPO / "scenarios" / "psmail-2014-skeptic.yaml")
    assert possible(plain, "session_hijack") and possible(plain, "session")
    assert not possible(skeptic, "session_hijack") and possible(skeptic, "session")


def test_a_key_out_of_every_reads_reach_is_no_target() -> None:
    """Lesson 2 puts every key out of reach (``reachable: 0``, no transient copies): its key
    estimates stay at 0 and, as targets, held the run to its budget (5,000 replications and
    36 s at ``--precision 0.1``, measured before this check)."""
    lesson = load_scenario(REPO / "scenarios" / "lessons" / "02-restarts-and-lingering.yaml")
    assert not possible(lesson, "key") and possible(lesson, "password")
    psmail = load_scenario(REPO / "scenarios" / "psmail-2014.yaml")
    assert possible(psmail, "key")
    # Only malicious attackers' captures count: with every attacker benign, none is a target.
    benign = {n: dataclasses.replace(a, benign=True) for n, a in psmail.attackers.items()}
    nobody = dataclasses.replace(psmail, attackers=benign)
    assert not any(possible(nobody, o) for o in OUTCOMES)
