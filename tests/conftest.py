"""Shared helpers for Monte Carlo and command-line tests: a tiny scenario (as dataclasses and as
the YAML a user writes) and a way to run ``python -m sim`` as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sim.scenario.model import (
    Attacker,
    Detector,
    KeySpec,
    MonteCarlo,
    PasswordSpec,
    Scenario,
    Server,
    SessionSpec,
    Timeline,
    Traffic,
)

REPO = Path(__file__).resolve().parents[1]

TINY_YAML = """\
name: tiny
description: One server, one attacker present half the time; a few milliseconds a replication.
timeline:
  start: 2014-04-07T00:00:00Z
  vulnerable_since: 2014-04-07T00:00:00Z
  disclosed_at: start+1h
  analysis_at: start+2h
servers:
  web:
    role: public
    heap_bytes: 4MiB
    traffic: {{logins_per_s: 0.01, requests_per_s: 0.1}}
    keys: {{reachable: 0.5}}
    passwords: {{capture: 0.01}}
    sessions: {{ttl: 10m, requests_per_s: 0.01}}
attackers:
  eve:
    targets: [web]
    presence: 0.5
    start: {{between: [start, disclosed]}}
    duration: 30m
    rate: 0.02
detectors:
  ids: {{kind: signature}}
monte_carlo: {{replications: {replications}, seed: 1, engine: reference}}
"""


def tiny_scenario(replications: int = 40, seed: int = 1, presence: float = 0.5) -> Scenario:
    """``TINY_YAML`` resolved by hand, for tests that do not go through the loader."""
    return Scenario(
        name="tiny",
        timeline=Timeline("2014-04-07T00:00:00Z", 0.0, 3600.0, 7200.0),
        servers={
            "web": Server(
                name="web",
                role="public",
                keys=KeySpec(reachable=0.5),
                heap_bytes=4 * 2**20,
                traffic=Traffic(logins_per_s=0.01, requests_per_s=0.1),
                passwords=PasswordSpec(capture=0.01),
                sessions=SessionSpec(ttl=600.0, requests_per_s=0.01),
            )
        },
        attackers={
            "eve": Attacker(
                name="eve", targets=("web",), rate=0.02, start_low=0.0, start_high=3600.0,
                duration=1800.0, presence=presence,
            )
        },
        detectors={"ids": Detector(name="ids", kind="signature", servers=("web",))},
        monte_carlo=MonteCarlo(replications=replications, seed=seed, engine="reference"),
    )


@pytest.fixture
def tiny_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_YAML.format(replications=40))
    return path


def bleedsim(
    *args: str | os.PathLike[str], cwd: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m sim ARGS`` in ``cwd`` and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "sim", *map(str, args)],
        cwd=cwd, env=sim_env(), capture_output=True, text=True, timeout=timeout,
    )


def sim_env() -> dict[str, str]:
    """The environment of a child process that imports this checkout's ``sim``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The statistical tests marked ``slow`` (two to three minutes each for the agreement
    suite) first: with ``--maxschedchunk=1`` (``pyproject.toml``) xdist then hands them out
    one at a time while the quick tests fill the gaps, instead of leaving one worker with
    several of them at the end (a run on 2 cores kept the cores only 68% busy, 988 s)."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
