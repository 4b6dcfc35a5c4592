"""Messages and safety of the command (issue 12), through the real ``python -m sim``: standard
input, a resumed run that says so and refuses changed settings, ``--out`` that protects another
scenario's results, and the wording of common mistakes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import TINY_YAML, bleedsim

from sim.montecarlo import executors, runner
from sim.montecarlo.checkpoint import FOLDER
from sim.scenario import load_scenario

REPLICATIONS = 40  # four chunks of 10 (runner.chunk_size)


def interrupted_run(scenario_file: Path, out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real checkpoint: the runner stops with Ctrl-C after its first chunk."""
    real = executors.replicate_range
    calls = []

    def first_chunk_only(*args: object) -> np.ndarray:
        if calls:
            raise KeyboardInterrupt
        calls.append(args)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(executors, "replicate_range", first_chunk_only)
    with pytest.raises(runner.RunInterrupted):
        runner.run(load_scenario(scenario_file), out, jobs=1, progress=False)
    monkeypatch.undo()
    assert len(list((out / FOLDER).glob("chunk-*.npz"))) == 1


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_YAML.format(replications=REPLICATIONS))
    return path


def test_a_resumed_run_says_so_and_matches_an_uninterrupted_one(
    tmp_path: Path, tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    interrupted_run(tiny, tmp_path / "out", monkeypatch)
    resumed = bleedsim("run", tiny, "--out", "out", "--jobs", "1", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert (f"resuming the interrupted run saved in out/{FOLDER}: 10 of 40 replications "
            "already done") in resumed.stderr
    fresh = bleedsim("run", tiny, "--out", "fresh", "--jobs", "1", cwd=tmp_path)
    assert "resuming" not in fresh.stderr

    def numbers(folder: str) -> dict[str, object]:
        doc = json.loads((tmp_path / folder / "results.json").read_text())
        doc.pop("timing")
        return doc

    assert numbers("out") == numbers("fresh")


@pytest.mark.parametrize(("flags", "change"), [
    (("--replications", "20"), "replications 40 then, 20 now"),
    (("--seed", "7"), "seed 1 then, 7 now"),
    (("--engine", "fast"), "engine reference then, fast now"),
])
def test_resuming_with_other_settings_is_refused_until_forced(
    tmp_path: Path, tiny: Path, monkeypatch: pytest.MonkeyPatch, flags: tuple[str, str],
    change: str,
) -> None:
    interrupted_run(tiny, tmp_path / "out", monkeypatch)
    refused = bleedsim("run", tiny, "--out", "out", *flags, cwd=tmp_path)
    assert refused.returncode == 2
    assert (f"out/{FOLDER} holds an interrupted run (10 replications saved) with other "
            f"settings: {change}.") in refused.stderr
    assert "--force" in refused.stderr
    assert len(list((tmp_path / "out" / FOLDER).glob("chunk-*.npz"))) == 1  # kept
    assert not (tmp_path / "out" / "results.json").exists()
    forced = bleedsim("run", tiny, "--out", "out", *flags, "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert "resuming" not in forced.stderr
    assert not (tmp_path / "out" / FOLDER).exists()


def test_an_edited_scenario_does_not_resume_silently(
    tmp_path: Path, tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    interrupted_run(tiny, tmp_path / "out", monkeypatch)
    tiny.write_text(tiny.read_text().replace("rate: 0.02", "rate: 0.03"))
    refused = bleedsim("run", tiny, "--out", "out", cwd=tmp_path)
    assert refused.returncode == 2
    assert "the scenario changed since" in refused.stderr


def test_out_refuses_to_replace_another_scenarios_results(tmp_path: Path, tiny: Path) -> None:
    assert bleedsim("run", tiny, "--out", "out", cwd=tmp_path).returncode == 0
    before = (tmp_path / "out" / "results.json").read_bytes()
    other = tmp_path / "other.yaml"
    other.write_text(tiny.read_text().replace("name: tiny", "name: other"))
    refused = bleedsim("run", other, "--out", "out", cwd=tmp_path)
    assert refused.returncode == 2
    assert ("out/results.json holds the results of scenario 'tiny', not 'other'; choose "
            "another --out folder, or add --force to replace them") in refused.stderr
    assert (tmp_path / "out" / "results.json").read_bytes() == before
    again = bleedsim("run", tiny, "--out", "out", "--replications", "20", cwd=tmp_path)
    assert again.returncode == 0, again.stderr  # the same scenario again: a normal re-run
    forced = bleedsim("run", other, "--out", "out", "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert json.loads((tmp_path / "out" / "results.json").read_text())["scenario"] == "other"


def test_a_dash_reads_the_scenario_from_standard_input(tmp_path: Path) -> None:
    text = TINY_YAML.format(replications=20)
    import subprocess
    import sys

    from conftest import sim_env

    def run(*args: str, stdin: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "sim", *args], input=stdin, cwd=tmp_path,
                              env=sim_env(), capture_output=True, text=True, timeout=120)

    checked = run("check", "-", stdin=text)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.startswith("scenario tiny:")
    ran = run("run", "-", "--out", "out", stdin=text)
    assert ran.returncode == 0, ran.stderr
    assert (tmp_path / "out" / "results.json").is_file()
    bad = run("check", "-", stdin=text.replace("rate: 0.02", "rate: -1"))
    assert bad.returncode == 2
    assert bad.stderr.startswith("bleedsim: <stdin> is not a valid scenario:\n<stdin>:")
    assert "attackers.eve.rate" in bad.stderr


MISTAKES = """\
name: mistakes
timeline: {vulnerable_since: 2014-01-01T00:00:00Z, disclosed_at: 2014-04-07T00:00:00Z,
           analysis_at: 2014-04-14T00:00:00Z}
servers:
  web: {heap_bytes: 64mb, keys: {reachable: 0.5}, patched_at: -12h}
attackers:
  a: {targets: [web], rate: 1, start: {between: [start, disclosed]}, duration: -12h,
      payload_bytes: 64KiB}
"""


def test_common_mistakes_are_explained(tmp_path: Path) -> None:
    path = tmp_path / "mistakes.yaml"
    path.write_text(MISTAKES)
    done = bleedsim("check", path, cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.splitlines()[1:]
    assert lines == [
        f"{path}:5: servers.web.heap_bytes: expected a size: whole bytes, or a number with a "
        "unit B KB MB GB KiB MiB GiB (64MiB), got '64mb'; size units are case-sensitive and "
        "end in B: did you mean 64MB (64,000,000 bytes) or 64MiB (67,108,864 bytes)?",
        f"{path}:5: servers.web.patched_at: a time needs an anchor before its offset, got "
        "'-12h': write, for example, disclosed-12h",
        f"{path}:7: attackers.a.duration: durations take no sign, got '-12h': write a length "
        "such as 12h; to place a time before an anchor, write a time (disclosed-12h) in a "
        "time field",
        f"{path}:8: attackers.a.payload_bytes: expected a size of 1 to 65535 bytes, got "
        "'64KiB' = 65,536 bytes",
    ]


@pytest.mark.parametrize(("text", "line", "message"), [
    ("name: t\n  foo: 1\n", 2, "unexpected ':' (column 6): a value that contains ': ' must be "
     "quoted, and a field must be indented exactly like the fields beside it"),
    ("name: t\nservers: [web,\nattackers: 1\n", 2,
     "a list opened with '[' here is not closed with ']'"),
    ("name: t\nservers: {web: 1\n", 2, "a mapping opened with '{' here is not closed"),
    ("name: 'unclosed\nservers: 1\n", 1, "a quoted text opened here is never closed"),
    ("name: t\nservers:\n\tweb: 1\n", 3, "a tab: YAML indents with spaces only"),
    ("name: t\nservers:\n    web: 1\n  mail: 2\n", 4,
     "this line does not line up with the fields above it"),
    ("name: t\nservers: {web: 1,, mail: 2}\n", 2, "an empty item in a [list] or {mapping}"),
    ("name: @home\n", 1, "'@' cannot start a value; put the value in quotes"),
])
def test_yaml_syntax_errors_in_our_own_words(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    done = bleedsim("check", path, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.splitlines()[1].startswith(f"{path}:{line}: not valid YAML: {message}")
    assert "Traceback" not in done.stderr
