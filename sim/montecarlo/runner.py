"""Run a scenario's replications on an executor (the local process pool by default),
resumably and interruptibly.

Replications are grouped into chunks whose size depends only on the number of replications,
never on ``jobs``, and every row is stored at its replication index, so the rows (and hence
every number derived from them) are identical for any number of workers. Each finished chunk is
checkpointed at once: Ctrl-C stops the run within moments, and the same command started again
redoes only the unfinished chunks. The checkpoint is removed after a complete run.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import sim
from sim.montecarlo.checkpoint import Checkpoint
from sim.montecarlo.executors import Executor, LocalExecutor
from sim.montecarlo.layout import Layout
from sim.montecarlo.progress import Progress
from sim.montecarlo.stratified import Strata
from sim.scenario import scenario_sha256
from sim.scenario.model import Scenario


MAX_CHUNKS = 100
MIN_CHUNK_SIZE = 10
MAX_CHUNK_SIZE = 250


def chunk_size(replications: int) -> int:
    """About ``MAX_CHUNKS`` chunks (fine-grained progress and checkpoints), at most
    ``MAX_CHUNK_SIZE`` replications each (an interrupted chunk costs little) and at least
    ``MIN_CHUNK_SIZE`` (saving a chunk costs a few milliseconds of disk syncs)."""
    return min(MAX_CHUNK_SIZE, max(MIN_CHUNK_SIZE, math.ceil(replications / MAX_CHUNKS)))


def default_jobs() -> int:
    """The cores this process may use (respects CPU affinity, e.g. in containers)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@dataclass(frozen=True, slots=True)
class RunResult:
    rows: np.ndarray
    """One row per replication, in index order (``layout.names`` are its columns)."""
    layout: Layout
    seconds: float
    simulated: int
    """Replications simulated by this call (the others came from a checkpoint)."""
    strata: Strata | None = None
    """The rows' strata, for a stratified run (``sequential.py``)."""
    sampling: dict[str, Any] | None = None
    """The ``sampling`` block of results.json, for a stratified run."""


class RunInterrupted(Exception):
    """Ctrl-C stopped the run; finished chunks are kept for resuming."""

    def __init__(self, done: int, total: int, checkpoint: Path) -> None:
        super().__init__(
            f"interrupted: {done} of {total} replications saved in {checkpoint}; "
            "run the same command again to resume"
        )
        self.done = done
        self.total = total
        self.checkpoint = checkpoint


def run(
    scenario: Scenario,
    out_dir: Path,
    jobs: int | None = None,
    progress: bool = True,
    executor: Executor | None = None,
) -> RunResult:
    """Simulate ``scenario.monte_carlo.replications`` replications; raise RunInterrupted on Ctrl-C.

    ``jobs=1`` runs in this process; ``None`` uses every available core. An ``executor``
    (``sim.montecarlo.executors``, e.g. a Dask cluster) runs the chunks instead of ``jobs``.
    """
    started = time.monotonic()
    mc = scenario.monte_carlo
    layout = Layout(scenario)
    size = chunk_size(mc.replications)
    bounds = [
        (start, min(start + size, mc.replications)) for start in range(0, mc.replications, size)
    ]
    checkpoint = Checkpoint(
        out_dir,
        {
            "scenario_sha256": scenario_sha256(scenario),
            "engine": mc.engine,
            "seed": mc.seed,
            "replications": mc.replications,
            "chunk_size": size,
            "version": sim.__version__,
            "columns": list(layout.names),
        },
    )
    rows = np.empty((mc.replications, len(layout)))
    finished = checkpoint.open({c: (b - a, len(layout)) for c, (a, b) in enumerate(bounds)})
    for c, chunk_rows in finished.items():
        a, b = bounds[c]
        rows[a:b] = chunk_rows
    pending = [c for c in range(len(bounds)) if c not in finished]
    bar = Progress(mc.replications, sum(bounds[c][1] - bounds[c][0] for c in finished), progress)

    def store(c: int, chunk_rows: np.ndarray) -> None:
        a, b = bounds[c]
        rows[a:b] = chunk_rows
        checkpoint.save(c, chunk_rows)
        bar.advance(b - a)

    if executor is None:
        executor = LocalExecutor(default_jobs() if jobs is None else jobs)
    tasks = [(scenario, mc.seed, *bounds[c]) for c in pending]
    try:
        for i, chunk_rows in executor.map_chunks(tasks):
            store(pending[i], chunk_rows)
    except KeyboardInterrupt:
        bar.close()
        raise RunInterrupted(bar.done, mc.replications, checkpoint.folder) from None
    bar.close()
    checkpoint.remove()
    simulated = sum(bounds[c][1] - bounds[c][0] for c in pending)
    return RunResult(rows, layout, time.monotonic() - started, simulated)
