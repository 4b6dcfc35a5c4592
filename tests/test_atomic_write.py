"""Output files are replaced whole or not at all, even when the writer is killed outright."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import TINY_YAML, sim_env

from sim.montecarlo.checkpoint import FOLDER
from sim.atomic import write_bytes, write_text

SIZE = 16 * 2**20

WRITER = f"""
import sys
from sim.atomic import write_bytes
target = sys.argv[1]
payloads = [b"a" * {SIZE}, b"b" * {SIZE}]
print("ready", flush=True)
i = 0
while True:
    write_bytes(target, payloads[i % 2])
    i += 1
"""


def test_write_replaces_the_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "new" / "folder" / "results.json"
    write_text(target, "first")
    write_text(target, "second")
    assert target.read_text() == "second"
    assert [p.name for p in target.parent.iterdir()] == ["results.json"]


def test_written_files_get_the_usual_permissions(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    os.umask(umask)
    write_bytes(tmp_path / "r.json", b"{}")
    assert (tmp_path / "r.json").stat().st_mode & 0o777 == 0o666 & ~umask


def test_a_writer_killed_mid_write_leaves_a_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "results.json"
    target.write_bytes(b"old")
    seen = set()
    for delay in (0.05, 0.13, 0.29, 0.41):
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(target)], env=sim_env(), stdout=subprocess.PIPE
        )
        assert writer.stdout is not None and writer.stdout.readline() == b"ready\n"
        time.sleep(delay)
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        data = target.read_bytes()
        assert data in (b"old", b"a" * SIZE, b"b" * SIZE)
        seen.add(data[:1])
    assert seen & {b"a", b"b"}, "the writer never finished a file: the test proved nothing"


def test_killing_a_run_leaves_the_previous_results_intact(tmp_path: Path) -> None:
    scenario = tmp_path / "slow.yaml"
    scenario.write_text(TINY_YAML.format(replications=400))
    results = tmp_path / "out" / "results.json"
    results.parent.mkdir()
    results.write_text("previous results\n")
    run = subprocess.Popen(
        [sys.executable, "-m", "sim", "run", str(scenario), "--jobs", "2", "--out", "out"],
        cwd=tmp_path, env=sim_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while not list((tmp_path / "out" / FOLDER).glob("chunk-*.npz")):
        assert run.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    os.killpg(run.pid, signal.SIGKILL)  # the whole job, workers included, as a crash would
    run.wait()
    assert results.read_text() == "previous results\n"
