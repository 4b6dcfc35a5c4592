"""Run a scenario's replications on a process pool, resumably and interruptibly.

Replications are grouped into chunks whose size depends only on the number of replications,
never on ``jobs``, and every row is stored at its replication index, so the rows (and hence
every number derived from them) are identical for any number of workers. Each finished chunk is
checkpointed at once: Ctrl-C stops the run within moments, and the same command started again
redoes only the unfinished chunks. The checkpoint is removed after a complete run.
"""

from __future__ import annotations

import math
import os
import signal
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

import sim
from sim.engines import get_engine
from sim.montecarlo.checkpoint import Checkpoint
from sim.montecarlo.layout import Layout
from sim.montecarlo.progress import Progress
from sim.montecarlo.replicate import replicate_range
from sim.montecarlo.stratified import Strata
from sim.scenario import scenario_sha256
from sim.scenario.model import Scenario

if TYPE_CHECKING:
    from sim.montecarlo.executors import Executor

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

    jobs = default_jobs() if jobs is None else jobs
    try:
        if executor is not None:
            tasks = [(scenario, mc.seed, *bounds[c]) for c in pending]
            for i, chunk_rows in executor.map_chunks(tasks):
                store(pending[i], chunk_rows)
        elif jobs == 1 or len(pending) <= 1:
            engine = get_engine(mc.engine)
            for c in pending:
                store(c, replicate_range(scenario, engine, mc.seed, *bounds[c]))
        else:
            _run_pool(scenario, mc.seed, bounds, pending, min(jobs, len(pending)), store)
    except KeyboardInterrupt:
        bar.close()
        raise RunInterrupted(bar.done, mc.replications, checkpoint.folder) from None
    bar.close()
    checkpoint.remove()
    simulated = sum(bounds[c][1] - bounds[c][0] for c in pending)
    return RunResult(rows, layout, time.monotonic() - started, simulated)


def _run_pool(
    scenario: Scenario,
    seed: int,
    bounds: list[tuple[int, int]],
    pending: list[int],
    workers: int,
    store: Callable[[int, np.ndarray], None],
) -> None:
    """Hand chunks to worker processes; on any exception (Ctrl-C included) kill them at once.

    ``shutdown(cancel_futures=True)`` alone would wait for the chunks being computed, which
    can take long with the reference engine, so workers are terminated outright.
    """
    pool = ProcessPoolExecutor(
        max_workers=workers, initializer=_init_worker, initargs=(scenario,)
    )
    try:
        futures: dict[Future[np.ndarray], int] = {
            pool.submit(_run_chunk, seed, *bounds[c]): c for c in pending
        }
        waiting = set(futures)
        while waiting:
            done, waiting = wait(waiting, return_when=FIRST_COMPLETED)
            for future in sorted(done, key=futures.__getitem__):
                store(futures[future], future.result())
    except BaseException:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # one Ctrl-C is enough
        try:
            _kill(pool)
        finally:
            signal.signal(signal.SIGINT, previous)
        raise
    pool.shutdown(wait=True)


def _kill(pool: ProcessPoolExecutor) -> None:
    # The executor has no public way to stop running work before Python 3.14
    # (``terminate_workers``); its process table is the documented-by-use alternative.
    processes = list((pool._processes or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in processes:
        p.terminate()
    for p in processes:
        p.join()


_worker_scenario: Scenario | None = None
_worker_engine: ModuleType | None = None


def _init_worker(scenario: Scenario) -> None:
    """Workers ignore SIGINT: the parent alone decides what Ctrl-C does (no stray tracebacks)."""
    global _worker_scenario, _worker_engine
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker_scenario = scenario
    _worker_engine = get_engine(scenario.monte_carlo.engine)


def _run_chunk(seed: int, start: int, stop: int) -> np.ndarray:
    assert _worker_scenario is not None and _worker_engine is not None
    return replicate_range(_worker_scenario, _worker_engine, seed, start, stop)
