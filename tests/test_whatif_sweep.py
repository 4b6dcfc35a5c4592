"""Sweeps: common random numbers, paired differences, files, validation before work, resume."""

from __future__ import annotations

import csv
import io
import math
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, sim_env
from whatif_helpers import tiny_fast

from sim.cli import main
from sim.montecarlo import intervals
from sim.montecarlo.estimates import estimate
from sim.montecarlo.layout import Layout
from sim.montecarlo.runner import run
from sim.whatif import points
from sim.whatif.outcomes import OutcomeSpec
from sim.whatif.overrides import Base
from sim.whatif.sweep import STATE, Sweep, SweepInterrupted, run_sweep
from sim.whatif.sweep_files import FILES

RATES: list[str | int | float | bool] = [0.02, 0.05, 0.1, 0.2]


def files(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in FILES}


def test_points_are_plain_runs_with_the_same_seeds(tmp_path: Path) -> None:
    base = Base.read(tiny_fast(tmp_path))
    doc = run_sweep(Sweep(base, [("attackers.eve.rate", RATES)], 60), tmp_path / "out",
                    jobs=1, progress=False)
    scenario = base.scenario({"attackers.eve.rate": 0.1, "monte_carlo.replications": 60})
    rows = run(scenario, tmp_path / "plain", jobs=1, progress=False).rows
    plain = estimate(rows, Layout(scenario), "total")
    point = doc["points"][2]["outcomes"]
    assert point["password.mean"]["value"] == plain["password"]["mean"]
    assert point["key.p_any"]["ci95"] == plain["key"]["p_any_ci95"]
    assert [p["values"]["attackers.eve.rate"] for p in doc["points"]] == ["0.02", "0.05", "0.1", "0.2"]
    assert not (tmp_path / "out" / STATE).exists()


def test_paired_differences_are_exact_and_tighter_than_independent_seeds(
    tmp_path: Path,
) -> None:
    base = Base.read(tiny_fast(tmp_path))
    n = 200
    doc = run_sweep(Sweep(base, [("attackers.eve.rate", [0.02, 0.04])], n), tmp_path / "out",
                    jobs=1, progress=False)
    first, second = doc["points"]
    diff = second["paired_difference"]["password.mean"]
    d = second["outcomes"]["password.mean"]["value"] - first["outcomes"]["password.mean"]["value"]
    assert diff["value"] == pytest.approx(d, abs=1e-12)
    assert first["paired_difference"]["password.mean"] == {"value": 0.0, "ci95": [0.0, 0.0]}
    # The same difference with the second point on other seeds: its interval is what the
    # comparison would cost without common random numbers (the attacker's presence and timing
    # are shared between the paired points, so much of the spread cancels).
    spec = OutcomeSpec.parse("password.mean")
    one = base.scenario({"attackers.eve.rate": 0.02, "monte_carlo.replications": n})
    two = base.scenario({"attackers.eve.rate": 0.04, "monte_carlo.replications": n,
                         "monte_carlo.seed": 99})
    x = spec.per_replication(run(one, tmp_path / "a", jobs=1, progress=False).rows, Layout(one))
    y = spec.per_replication(run(two, tmp_path / "b", jobs=1, progress=False).rows, Layout(two))
    _, unpaired = intervals.mean(y - x, None, -math.inf, math.inf)
    assert unpaired.high is not None
    paired_width = diff["ci95"][1] - diff["ci95"][0]
    assert paired_width < unpaired.high - unpaired.low


def test_a_grid_has_one_row_per_combination_first_field_slowest(tmp_path: Path) -> None:
    scenario = tiny_fast(tmp_path, replications=20)
    out = tmp_path / "grid"
    assert main(["sweep", str(scenario), "--set", "attackers.eve.rate=0.02,0.05",
                 "--set", "servers.web.sessions.ttl=5m,10m,15m", "--out", str(out),
                 "--jobs", "1"]) == 0
    rows = list(csv.reader((out / "sweep.csv").open()))
    assert rows[0][:5] == ["attackers.eve.rate", "servers.web.sessions.ttl", "key.p_any",
                           "key.p_any_low", "key.p_any_high"]
    assert "diff.password.mean_high" in rows[0]
    assert [r[:2] for r in rows[1:]] == [[a, t] for a in ("0.02", "0.05")
                                          for t in ("5m", "10m", "15m")]
    assert (out / "sweep.png").read_bytes().startswith(b"\x89PNG")
    assert "<svg" in (out / "sweep.svg").read_text()


def test_a_bad_point_is_refused_before_any_work(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = tiny_fast(tmp_path)
    out = tmp_path / "out"
    code = main(["sweep", str(scenario), "--set", "servers.web.sessions.ttl=5m,1x,10m",
                 "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert "point 2 (servers.web.sessions.ttl=1x)" in err and "expected a duration" in err
    assert "Traceback" not in err
    assert not out.exists()


def test_an_interrupted_sweep_resumes_to_identical_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = Base.read(tiny_fast(tmp_path))
    sweep = Sweep(base, [("attackers.eve.rate", RATES)], 30)
    run_sweep(sweep, tmp_path / "whole", jobs=1, progress=False)

    real = points.simulate
    calls: list[int] = []

    def interrupted_after_two(*args: object, **kwargs: object) -> np.ndarray:
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(points, "simulate", interrupted_after_two)
    with pytest.raises(SweepInterrupted, match="2 of 4 points saved"):
        run_sweep(sweep, tmp_path / "cut", jobs=1, progress=False)
    assert not (tmp_path / "cut" / "sweep.csv").exists()
    calls.clear()
    monkeypatch.setattr(points, "simulate", lambda *a, **k: (calls.append(1), real(*a, **k))[1])
    run_sweep(sweep, tmp_path / "cut", resume=True, jobs=1, progress=False)
    assert len(calls) == 2  # only the missing points
    assert files(tmp_path / "cut") == files(tmp_path / "whole")
    assert sorted(p.name for p in (tmp_path / "cut").iterdir()) == sorted(FILES)


def test_a_killed_sweep_process_resumes_to_identical_files(tmp_path: Path) -> None:
    """SIGKILL once the first point is saved: four points of 50 replications (about 2.5 s)
    are still to run, against a poll every 10 ms."""
    scenario = tiny_fast(tmp_path, replications=50)
    args = ["sweep", str(scenario), "--set", "attackers.eve.rate=0.02,0.05,0.1,0.2,0.3,0.4",
            "--jobs", "1"]
    whole = subprocess.run([sys.executable, "-m", "sim", *args, "--out", str(tmp_path / "whole")],
                           env=sim_env(), cwd=REPO, capture_output=True, text=True, timeout=300)
    assert whole.returncode == 0, whole.stderr
    cut = tmp_path / "cut"
    process = subprocess.Popen([sys.executable, "-m", "sim", *args, "--out", str(cut)],
                               env=sim_env(), cwd=REPO, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not (cut / STATE / "point-0001.npz").exists():
        assert process.poll() is None, "the sweep ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (cut / "sweep.csv").exists()
    resumed = subprocess.run([sys.executable, "-m", "sim", *args, "--out", str(cut), "--resume"],
                             env=sim_env(), cwd=REPO, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert files(cut) == files(tmp_path / "whole")


def test_resuming_with_changed_scenario_or_settings_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = tiny_fast(tmp_path, replications=20)
    out = tmp_path / "out"
    monkeypatch.setattr(points, "simulate", _interrupting(points.simulate, 2))
    args = ["sweep", str(scenario), "--set", "attackers.eve.rate=0.02,0.05,0.1", "--out", str(out),
            "--jobs", "1"]
    assert main(args) == 130
    capsys.readouterr()
    assert main([*args, "--resume", "--replications", "30"]) == 2
    assert "holds a different sweep (--replications changed)" in capsys.readouterr().err
    assert main([*args, "--resume", "--set", "servers.web.sessions.ttl=5m"]) == 2
    assert "(the --set values changed)" in capsys.readouterr().err
    scenario.write_text(scenario.read_text().replace("presence: 0.5", "presence: 0.6"))
    assert main([*args, "--resume"]) == 2
    err = capsys.readouterr().err
    assert "the scenario file" in err and "drop --resume to start over" in err
    assert not (out / "sweep.csv").exists()
    json.loads((out / STATE / "manifest.json").read_text())  # kept for a proper resume


def _interrupting(real: object, after: int) -> object:
    calls: list[int] = []

    def simulate(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) > after:
            raise KeyboardInterrupt
        return real(*args, **kwargs)  # type: ignore[operator]

    return simulate


@pytest.mark.slow
def test_frequent_restarts_cut_lingering_passwords(tmp_path: Path) -> None:
    """restart-tuning.yaml: passwords linger 2 h on average, so restarting every 10 minutes
    instead of daily must capture far fewer; the paired interval is all below zero."""
    base = Base.read(REPO / "scenarios" / "restart-tuning.yaml")
    doc = run_sweep(Sweep(base, [("servers.mail.restart.every", ["1d", "10m"])], 30),
                    tmp_path / "out", jobs=1, progress=False)
    daily, often = doc["points"]
    diff = often["paired_difference"]["password.mean"]
    assert diff["ci95"][1] < 0
    # Back of the envelope (the file's header): captured fraction 0.35/(0.35+0.5+2/every),
    # 0.41 daily against 0.03 every 10 minutes: more than a factor 5 apart.
    assert often["outcomes"]["password.mean"]["value"] < daily["outcomes"]["password.mean"]["value"] / 5
    assert OutcomeSpec.parse("password.mean").name in daily["outcomes"]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_only_on_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    scenario = tiny_fast(tmp_path, replications=20)
    args = ["sweep", str(scenario), "--set", "attackers.eve.rate=0.02,0.05", "--jobs", "1"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    assert capsys.readouterr().err == ""  # a pipe: quiet
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main([*args, "--out", str(tmp_path / "b")]) == 0
    shown = terminal.getvalue()
    assert "[1/2] attackers.eve.rate=0.02" in shown and "[2/2] attackers.eve.rate=0.05" in shown
    assert "ETA" in shown and "rep/s" in shown
