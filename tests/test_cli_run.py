"""``bleedsim run``, ``check``, ``schema`` and ``--version`` on good input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import REPO, bleedsim

import sim
from sim.cli import main
from sim.report.results_json import without_timing
from sim.scenario import load_scenario, scenario_sha256

TIMING_LINE = re.compile(r'^\s*"(seconds|replications_per_second)": ')


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def reproducible_lines(path: Path) -> list[str]:
    """The bytes of a results.json, line by line, minus the two timing values."""
    return [line for line in path.read_text().splitlines() if not TIMING_LINE.match(line)]


def test_results_are_byte_identical_for_any_number_of_jobs(
    tiny_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(tiny_file), "--jobs", "1", "--out", "one", "--json", "one.json"]) == 0
    assert main(["run", str(tiny_file), "--jobs", "2", "--out", "two"]) == 0
    capsys.readouterr()
    one, two = tmp_path / "one" / "results.json", tmp_path / "two" / "results.json"
    assert reproducible_lines(one) == reproducible_lines(two)
    assert (tmp_path / "one.json").read_bytes() == one.read_bytes()
    assert len(one.read_text().splitlines()) == len(reproducible_lines(one)) + 2


def test_default_output_folder_table_and_identity(
    tiny_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(tiny_file), "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    folder = tmp_path / "reports" / "tiny"
    assert sorted(p.name for p in folder.iterdir()) == [
        "report.html", "report.md", "results.json", "table.txt"
    ]
    table = (folder / "table.txt").read_text()
    assert out.startswith(table)
    assert table.splitlines()[0] == "tiny: engine reference, 40 replications, seed 1"
    assert "wrote reports/tiny/results.json" in out
    doc = json.loads((folder / "results.json").read_text())
    assert doc["scenario_sha256"] == scenario_sha256(load_scenario(tiny_file))
    assert (doc["scenario"], doc["version"], doc["engine"], doc["seed"], doc["replications"]) == (
        "tiny", sim.__version__, "reference", 1, 40
    )


def test_flags_override_the_files_monte_carlo_block(
    tiny_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(tiny_file), "--jobs", "1", "--replications", "20", "--seed", "9"]) == 0
    capsys.readouterr()
    doc = json.loads((tmp_path / "reports" / "tiny" / "results.json").read_text())
    assert (doc["replications"], doc["seed"]) == (20, 9)
    assert doc["attackers"]["eve"]["given_present"]["n_present"] <= 20
    # what was run is what is hashed: the overridden run has its own identity
    assert doc["scenario_sha256"] != scenario_sha256(load_scenario(tiny_file))


def test_rerunning_overwrites_with_identical_results(
    tiny_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(tiny_file), "--jobs", "1"]) == 0
    path = tmp_path / "reports" / "tiny" / "results.json"
    first = without_timing(json.loads(path.read_text()))
    assert main(["run", str(tiny_file), "--jobs", "2"]) == 0
    capsys.readouterr()
    assert without_timing(json.loads(path.read_text())) == first


def test_check_prints_a_summary(tiny_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(tiny_file)]) == 0
    out, err = capsys.readouterr()
    assert "tiny" in out and "eve" in out and err == ""


def test_schema_is_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert "servers" in schema["properties"]


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out == f"bleedsim {sim.__version__}\n"


def test_a_variant_finds_its_base_beside_it_from_any_folder(tmp_path: Path) -> None:
    """``extends`` is read relative to the variant's folder, not the working directory."""
    done = bleedsim("check", REPO / "scenarios" / "psmail-2014-skeptic.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "psmail-2014-skeptic" in done.stdout
