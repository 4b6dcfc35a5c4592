"""Bad input gets exit status 2, a clear message on stderr, no traceback and no output file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import TINY_YAML, bleedsim

from sim.cli import main


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def refuse(args: list[str], capsys: pytest.CaptureFixture[str], folder: Path) -> str:
    """Run ``args`` in-process; assert a usage failure that wrote nothing; return stderr."""
    before = files_under(folder)
    try:
        status = main(args)
    except SystemExit as e:  # argparse refuses bad flag values this way
        status = e.code
    out, err = capsys.readouterr()
    assert status == 2
    assert out == ""
    assert "Traceback" not in err and err.startswith(("bleedsim: ", "usage: bleedsim"))
    assert files_under(folder) == before
    return err


@pytest.mark.parametrize("command", ["run", "check"])
def test_missing_file(command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = refuse([command, "nope.yaml"], capsys, tmp_path)
    assert err == "bleedsim: nope.yaml: no such file\n"


@pytest.mark.parametrize("command", ["run", "check"])
def test_folder_instead_of_file(command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "scenarios").mkdir()
    err = refuse([command, "scenarios"], capsys, tmp_path)
    assert "scenarios: is a folder" in err


@pytest.mark.parametrize(
    ("flag", "value", "says"),
    [
        ("--replications", "0", "expected at least 1, got 0"),
        ("--replications", "many", "expected a whole number, got 'many'"),
        ("--replications", "2.5", "expected a whole number"),
        ("--jobs", "0", "expected at least 1"),
        ("--seed", "-3", "expected 0 or more, got -3"),
        ("--engine", "warp", "invalid choice: 'warp'"),
    ],
)
def test_bad_flag_values(
    flag: str, value: str, says: str, tiny_file: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    err = refuse(["run", str(tiny_file), flag, value], capsys, tmp_path)
    assert flag in err and says in err


def test_invalid_scenario_names_file_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(TINY_YAML.format(replications=10).replace("rate: 0.02", "rate: 0.02\n    colour: red"))
    err = refuse(["run", str(bad)], capsys, tmp_path)
    assert err.startswith(f"bleedsim: {bad} is not a valid scenario:\n")
    assert "attackers.eve.colour" in err


def test_engine_refusal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    big = tmp_path / "big.yaml"
    big.write_text(TINY_YAML.format(replications=10).replace("rate: 0.02", "rate: 2000"))
    err = refuse(["run", str(big)], capsys, tmp_path)
    assert "engine reference cannot run tiny" in err and "--engine fast" in err


def test_output_path_that_is_a_folder(
    tiny_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "taken").mkdir()
    err = refuse(["run", str(tiny_file), "--json", "taken"], capsys, tmp_path)
    assert "taken: is a folder" in err


def test_output_folder_that_is_a_file(
    tiny_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "out").write_text("")
    err = refuse(["run", str(tiny_file), "--out", "out"], capsys, tmp_path)
    assert "out is a file, not a folder" in err


def test_the_real_command_exits_2_without_traceback(tmp_path: Path) -> None:
    missing = bleedsim("run", "nope.yaml", cwd=tmp_path)
    assert (missing.returncode, missing.stdout) == (2, "")
    assert missing.stderr == "bleedsim: nope.yaml: no such file\n"
    bad_flag = bleedsim("run", "nope.yaml", "--jobs", "-1", cwd=tmp_path)
    assert bad_flag.returncode == 2 and "Traceback" not in bad_flag.stderr
    assert os.listdir(tmp_path) == []
