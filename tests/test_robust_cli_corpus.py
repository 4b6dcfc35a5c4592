"""Every bad scenario file, through the command a user types: exit status 2, the problems on
stderr (file, line, field path), no traceback, nothing written.

``tests/test_scenario_bad.py`` checks what the loader reports; this file checks that the CLI
passes it on intact for both commands that read a scenario, and that no mutated file, however
broken, escapes as anything but status 0 or 2. Most cases run ``sim.cli.main`` in-process (a
fresh interpreter per file would cost a second each); a few real processes check that the exit
status reaches the shell.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from pathlib import Path

import pytest
import yaml
from conftest import TINY_YAML, bleedsim
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.cli import main

BAD = Path(__file__).parent / "data" / "bad"
GOOD = Path(__file__).parent / "data" / "good"
EXPECTED: dict[str, dict] = yaml.safe_load((BAD / "expected.yaml").read_text(encoding="utf-8"))
CASES = sorted(EXPECTED)


def call(argv: list[str]) -> tuple[int, str, str]:
    """``main(argv)`` in-process: (exit status, stdout, stderr). argparse exits via SystemExit;
    any other exception propagates and fails the test with its traceback, as it would the user."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(argv)
        except SystemExit as e:
            status = e.code if isinstance(e.code, int) else 1
    return status, out.getvalue(), err.getvalue()


def files_under(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*"))


def where(path: Path, expected: dict) -> str:
    """The start of the line that must report the expected problem."""
    field = expected["path"]
    return f"{path}:{expected['line']}: {field}: " if field else f"{path}:{expected['line']}: "


def assert_refused(status: int, out: str, err: str, path: Path) -> list[str]:
    """Status 2, silent stdout, a header naming the file, no traceback; returns problem lines."""
    assert status == 2, err
    assert out == ""
    assert "Traceback" not in err
    header, *problems = err.rstrip("\n").split("\n")
    assert header == f"bleedsim: {path} is not a valid scenario:"
    assert problems and all(line.startswith(f"{path}") for line in problems), err
    return problems


@pytest.mark.parametrize("name", CASES)
def test_check_refuses_every_bad_file(name: str, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = BAD / name
    problems = assert_refused(*call(["check", str(path)]), path)
    assert len(problems) == EXPECTED[name].get("count", 1)
    assert any(line.startswith(where(path, EXPECTED[name])) for line in problems), problems
    assert files_under(tmp_path) == []


@pytest.mark.parametrize("name", CASES)
def test_run_refuses_every_bad_file_and_writes_nothing(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = BAD / name
    problems = assert_refused(*call(["run", str(path), "--out", str(tmp_path / "out")]), path)
    assert any(line.startswith(where(path, EXPECTED[name])) for line in problems), problems
    assert files_under(tmp_path) == []


@pytest.mark.parametrize(
    ("command", "name"),
    [("check", "alias-bomb.yaml"), ("run", "nesting-deep.yaml")],
)
def test_the_real_process_exits_2(command: str, name: str, tmp_path: Path) -> None:
    path = BAD / name
    done = bleedsim(command, path, cwd=tmp_path)
    assert_refused(done.returncode, done.stdout, done.stderr, path)
    assert files_under(tmp_path) == []


def test_undecodable_file_name_is_reported_not_crashed_on(tmp_path: Path) -> None:
    """A name that is not UTF-8 reaches Python as surrogate escapes, which cannot be printed
    strictly; the message must still come out (stderr escapes them) with status 2."""
    name = os.fsdecode(b"sc\xe9nario.yaml")
    (tmp_path / name).write_bytes((BAD / "rate-zero.yaml").read_bytes())
    done = bleedsim("check", name, cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert "Traceback" not in done.stderr and "attackers.reaper.rate" in done.stderr


@pytest.mark.parametrize("command", ["run", "check"])
def test_hundred_megabyte_file(command: str, tmp_path: Path,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    big = tmp_path / "big.yaml"
    with big.open("wb") as f:
        f.truncate(100 * 2**20)
    status, out, err = call([command, str(big), "--out", "out"] if command == "run"
                            else [command, str(big)])
    (problem,) = assert_refused(status, out, err, big)
    assert "limited to 1048576 bytes" in problem
    assert files_under(tmp_path) == [big]


@pytest.mark.parametrize("command", ["run", "check"])
def test_missing_path_and_folder(command: str, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert call([command, "nowhere.yaml"]) == (2, "", "bleedsim: nowhere.yaml: no such file\n")
    (tmp_path / "scenarios").mkdir()
    status, out, err = call([command, "scenarios"])
    assert (status, out) == (2, "") and err.startswith("bleedsim: scenarios: is a folder")
    assert files_under(tmp_path) == [tmp_path / "scenarios"]


def test_non_utf8_text_names_the_byte_and_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(TINY_YAML.format(replications=5).replace(
        "description: One", "description: Caf\xe9 one").encode("latin-1"))
    (problem,) = assert_refused(*call(["check", str(path)]), path)
    assert problem.startswith(f"{path}:2: not UTF-8 text: byte 0xe9")


SEEDS = [
    (GOOD / "every-field.yaml").read_bytes(),
    (GOOD / "minimal.yaml").read_bytes(),
    TINY_YAML.format(replications=5).encode(),
]
SPLICES = [b"", b"\n", b": ", b"- ", b"[", b"]", b"{", b"}", b"&a ", b"*a", b"!!", b"\t",
           b"\xe9", b"\xff\xfe", b"\x00", b"\xef\xbb\xbf", b"0", b"-1", b".nan", b"1e400",
           b"65536", b"'", b'"', b"#", b"---\n", b"<<: ", b"disclosed+1h", b"\n  x: 1\n"]


@st.composite
def mutated_file(draw: st.DrawFn) -> bytes:
    """A good file with a few byte-level edits: deleted spans, spliced fragments (including
    bytes that are not UTF-8) and copied lines, so structure, encoding and values all break."""
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["delete", "splice", "bytes", "copy"]))
        if op == "delete":
            data[i:i + draw(st.integers(1, 40))] = b""
        elif op == "splice":
            data[i:i] = draw(st.sampled_from(SPLICES))
        elif op == "bytes":
            data[i:i] = draw(st.binary(min_size=1, max_size=4))
        else:
            j = draw(st.integers(0, len(data)))
            data[i:i] = data[min(i, j):max(i, j)][:200]
    return bytes(data)


@settings(max_examples=100, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(mutated_file())
def test_mutated_files_exit_0_or_2_without_traceback(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mutant.yaml"
        path.write_bytes(data)
        status, out, err = call(["check", str(path)])
        assert "Traceback" not in err
        if status == 0:
            assert err == "" and out
        else:
            assert status == 2 and out == ""
            assert err.startswith((f"bleedsim: {path} is not a valid scenario:\n",
                                   "bleedsim: engine "))
        assert files_under(Path(folder)) == [path]
