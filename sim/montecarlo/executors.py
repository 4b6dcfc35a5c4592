"""Where chunks of replications run: a local process pool, or a Dask cluster.

A *chunk task* is ``(scenario, seed, start, stop)``; running it is the pure function
:func:`run_chunk` (scenario and seeds in, rows out), so a task gives the same rows on any
machine, process or executor, and callers store each result at its task's index: results are
byte-identical whichever executor ran them and in whatever order they finished.

An executor yields ``(task index, rows)`` as tasks finish. On any exception (Ctrl-C included)
it stops its outstanding work before re-raising, so the caller's checkpoint stays the only
state left behind.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, Protocol, cast

import numpy as np

from sim.engines import get_engine
from sim.montecarlo.replicate import replicate_range
from sim.scenario.model import Scenario

ChunkTask = tuple[Scenario, int, int, int]
"""``(scenario, seed, start, stop)``: replications ``start`` to ``stop - 1``."""

EXECUTOR_NAMES = ("local", "dask")


def run_chunk(scenario: Scenario, seed: int, start: int, stop: int) -> np.ndarray:
    """The rows of one chunk task; what every executor runs."""
    return replicate_range(scenario, get_engine(scenario.monte_carlo.engine), seed, start, stop)


class Executor(Protocol):
    def map_chunks(self, tasks: Sequence[ChunkTask]) -> Iterator[tuple[int, np.ndarray]]:
        """Run ``tasks``; yield ``(index in tasks, rows)`` as each finishes."""
        ...

    def close(self) -> None:
        """Release workers and connections."""
        ...


class LocalExecutor:
    """A pool of ``jobs`` worker processes on this machine (``jobs=1``: this process)."""

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs

    def map_chunks(self, tasks: Sequence[ChunkTask]) -> Iterator[tuple[int, np.ndarray]]:
        if self.jobs == 1 or len(tasks) <= 1:
            for i, task in enumerate(tasks):
                yield i, run_chunk(*task)
            return
        # Import the engines here, before the workers fork: each would otherwise import its
        # own (scipy and all), 0.17 CPU s apiece for the fast engine, 3% of a PSMail run.
        for name in {scenario.monte_carlo.engine for scenario, *_ in tasks}:
            get_engine(name)
        pool = ProcessPoolExecutor(
            max_workers=min(self.jobs, len(tasks)), initializer=_ignore_sigint
        )
        try:
            futures: dict[Future[np.ndarray], int] = {
                pool.submit(run_chunk, *task): i for i, task in enumerate(tasks)
            }
            waiting = set(futures)
            while waiting:
                done, waiting = wait(waiting, return_when=FIRST_COMPLETED)
                for future in sorted(done, key=futures.__getitem__):
                    yield futures[future], future.result()
        except BaseException:
            previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # one Ctrl-C is enough
            try:
                kill_pool(pool)
            finally:
                signal.signal(signal.SIGINT, previous)
            raise
        pool.shutdown(wait=True)

    def close(self) -> None:
        """Pools live only as long as one ``map_chunks``: nothing to release."""


def _ignore_sigint() -> None:
    """Workers ignore SIGINT: the parent alone decides what Ctrl-C does."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def kill_pool(pool: ProcessPoolExecutor) -> None:
    """Stop ``pool``'s running work at once: ``shutdown(cancel_futures=True)`` alone would
    wait for the chunks being computed, which can take long with the reference engine."""
    # No public way to stop running work before Python 3.14 (``terminate_workers``).
    processes = list((pool._processes or {}).values())
    # typeshed gives this attribute the wake-up's type; it holds the manager thread
    manager = cast("threading.Thread | None", pool._executor_manager_thread)
    pool.shutdown(wait=False, cancel_futures=True)
    for p in processes:
        p.terminate()
    for p in processes:
        p.join()
    # The pool's manager thread closes its wake-up pipe as it ends, and Python's exit hook
    # (``concurrent.futures.process._python_exit``) writes to that pipe unguarded: a close
    # between its check and its write printed "Exception ignored ... Bad file descriptor"
    # after a Ctrl-C (CPython 3.11; the race of bpo-39995). Once the thread has ended, the
    # hook sees the pipe closed and writes nothing.
    if manager is not None:
        manager.join(timeout=30)


class DaskExecutor:
    """Tasks on a Dask ``distributed`` cluster: the one at ``scheduler`` (``tcp://host:8786``)
    or, without an address, a ``LocalCluster`` of ``jobs`` single-threaded worker processes
    listening on loopback only.

    Workers must have bleedsim importable (the same version). A lost worker's tasks are
    recomputed by Dask on another worker; since tasks are pure, the rows do not change.
    """

    def __init__(self, scheduler: str | None = None, jobs: int = 1) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise ExecutorUnavailable(
                "--executor dask needs the dask extra: pip install 'bleedsim[dask]'"
            ) from None
        self._cluster: Any = None
        if scheduler is None:
            self._cluster = LocalCluster(
                n_workers=jobs, threads_per_worker=1, processes=True,
                host="127.0.0.1", dashboard_address="127.0.0.1:0",  # loopback, any free port
            )
            self._client: Any = Client(self._cluster)
        else:
            try:
                self._client = Client(scheduler, timeout="10s")
            except (OSError, TimeoutError) as e:
                raise ExecutorUnavailable(f"cannot reach the Dask scheduler {scheduler}: {e}") from None

    def map_chunks(self, tasks: Sequence[ChunkTask]) -> Iterator[tuple[int, np.ndarray]]:
        from distributed import as_completed

        scattered: dict[int, Any] = {}
        futures: dict[Any, int] = {}
        for i, (scenario, seed, start, stop) in enumerate(tasks):
            key = id(scenario)
            if key not in scattered:  # ship each distinct scenario to the workers once
                scattered[key] = self._client.scatter(scenario, broadcast=True)
            future = self._client.submit(
                run_chunk, scattered[key], seed, start, stop, pure=False
            )
            futures[future] = i
        try:
            for future in as_completed(list(futures)):
                yield futures[future], future.result()
        except BaseException:
            self._client.cancel(list(futures))
            raise

    def close(self) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()


class ExecutorUnavailable(Exception):
    """The chosen executor cannot start (missing extra, unreachable scheduler)."""


def make_executor(name: str, jobs: int, scheduler: str | None = None) -> Executor:
    """``local`` (a process pool of ``jobs``) or ``dask`` (``scheduler`` or a LocalCluster)."""
    if name == "dask":
        return DaskExecutor(scheduler, jobs)
    if scheduler is not None:
        raise ExecutorUnavailable("--scheduler is for --executor dask")
    return LocalExecutor(jobs)
