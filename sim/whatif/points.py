"""Running one what-if point: a scenario's replications, and where they are kept meanwhile."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from sim.engines import EngineRefused, get_engine
from sim.montecarlo.executors import Executor
from sim.montecarlo.runner import run
from sim.scenario.model import Scenario
from sim.whatif.overrides import Base, OverrideError, Scalar


def build(base: Base, overrides: dict[str, Scalar], label: str) -> Scenario:
    """The point's scenario, validated and accepted by its engine, or OverrideError."""
    scenario = base.scenario(overrides, label)
    engine = scenario.monte_carlo.engine
    try:
        get_engine(engine).check(scenario)
    except EngineRefused as e:
        raise OverrideError(f"{label}: engine {engine} cannot run it: {e}") from None
    return scenario


def simulate(
    scenario: Scenario,
    work_dir: Path,
    jobs: int | None,
    executor: Executor | None,
    progress: bool,
) -> np.ndarray:
    """The point's replication rows; ``work_dir`` holds its chunk checkpoint meanwhile, so an
    interrupted point resumes where it stopped; it is removed once the point is done."""
    rows = run(scenario, work_dir, jobs=jobs, progress=progress, executor=executor).rows
    shutil.rmtree(work_dir, ignore_errors=True)
    return rows
