"""Ctrl-C on a real ``python -m sim run``: exit 130 at once with one line, old output intact,
no worker left behind; the same command then resumes and matches an uninterrupted run."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import TINY_YAML, bleedsim, sim_env

from sim.montecarlo.checkpoint import FOLDER

REPLICATIONS = 400
TIMING_LINE = re.compile(r'^\s*"(seconds|replications_per_second)": ')


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_run(scenario: Path, *args: str) -> subprocess.Popen[str]:
    """The run as a terminal starts it, with Ctrl-C at its default disposition: a child
    inherits an ignored SIGINT, and Python then never raises KeyboardInterrupt. Under xdist,
    some earlier test of the same worker process (not found yet) left it ignored, and the run
    finished with 0 instead of stopping (twice on 2026-12-03)."""
    return subprocess.Popen(
        [sys.executable, "-m", "sim", "run", str(scenario), *args],
        cwd=scenario.parent, env=sim_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, preexec_fn=_default_sigint,
    )


def wait_for_chunks(folder: Path, count: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while len(list((folder / FOLDER).glob("chunk-*.npz"))) < count:
        assert process.poll() is None, "the run ended before it could be interrupted"
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.02)


def processes_mentioning(text: str) -> list[int]:
    """Processes whose command line holds ``text`` (forked workers share their parent's)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text in cmdline.read_bytes().decode(errors="replace"):
                found.append(int(cmdline.parent.name))
        except OSError:
            continue
    return found


def reproducible_lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if not TIMING_LINE.match(line)]


def test_ctrl_c_stops_cleanly_and_the_same_command_resumes(tmp_path: Path) -> None:
    scenario = tmp_path / "slow.yaml"
    scenario.write_text(TINY_YAML.format(replications=REPLICATIONS))
    old = tmp_path / "old.json"
    old.write_text("previous results\n")
    args = ("--jobs", "2", "--out", "out", "--json", "old.json")

    process = start_run(scenario, *args)
    wait_for_chunks(tmp_path / "out", 3, process)
    process.send_signal(signal.SIGINT)
    stopped_at = time.monotonic()
    out, err = process.communicate(timeout=30)
    assert time.monotonic() - stopped_at < 5, "Ctrl-C did not stop the run promptly"

    assert process.returncode == 130
    assert out == ""
    assert re.fullmatch(
        rf"bleedsim: interrupted: \d+ of {REPLICATIONS} replications saved in out/{FOLDER}; "
        r"run the same command again to resume\n",
        err,
    ), err
    assert old.read_text() == "previous results\n"
    assert not (tmp_path / "out" / "results.json").exists()
    assert processes_mentioning(str(scenario)) == [], "a worker outlived the interrupted run"

    resumed = bleedsim("run", scenario, *args, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert not (tmp_path / "out" / FOLDER).exists()
    fresh = bleedsim("run", scenario, "--jobs", "2", "--out", "fresh", cwd=tmp_path)
    assert fresh.returncode == 0, fresh.stderr
    assert reproducible_lines(tmp_path / "out" / "results.json") == reproducible_lines(
        tmp_path / "fresh" / "results.json"
    )
    assert old.read_bytes() == (tmp_path / "out" / "results.json").read_bytes()
