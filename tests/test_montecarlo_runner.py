"""The runner: same rows for any number of workers, replications re-runnable alone, and
checkpoints that resume an interrupted run without redoing or trusting the wrong work."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from conftest import tiny_scenario

from sim.engines import get_engine
from sim.montecarlo import executors
from sim.montecarlo.checkpoint import FOLDER
from sim.montecarlo.layout import Layout
from sim.montecarlo.progress import Progress
from sim.montecarlo.replicate import replicate
from sim.montecarlo.runner import RunInterrupted, chunk_size, run

SCENARIO = tiny_scenario(replications=40)


@pytest.fixture(scope="module")
def reference_rows(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    return run(SCENARIO, tmp_path_factory.mktemp("full"), jobs=1, progress=False).rows


def test_rows_are_identical_for_any_number_of_workers(
    tmp_path: Path, reference_rows: np.ndarray
) -> None:
    pooled = run(SCENARIO, tmp_path, jobs=2, progress=False)
    np.testing.assert_array_equal(pooled.rows, reference_rows)
    assert pooled.simulated == 40
    assert not (tmp_path / FOLDER).exists()


def test_a_replication_rerun_alone_gives_its_row(reference_rows: np.ndarray) -> None:
    engine, layout = get_engine("reference"), Layout(SCENARIO)
    for i in (0, 23, 39):
        np.testing.assert_array_equal(replicate(SCENARIO, engine, layout, 1, i), reference_rows[i])


def test_chunk_size_does_not_depend_on_jobs() -> None:
    assert [chunk_size(n) for n in (1, 40, 1001, 10**6)] == [10, 10, 11, 250]


def interrupt_after(monkeypatch: pytest.MonkeyPatch, chunks: int) -> None:
    """Make the in-process runner (the local executor with one job) receive Ctrl-C while
    computing chunk number ``chunks``."""
    real = executors.replicate_range
    calls = []

    def flaky(*args: object) -> np.ndarray:
        calls.append(1)
        if len(calls) > chunks:
            raise KeyboardInterrupt
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(executors, "replicate_range", flaky)


def test_an_interrupted_run_resumes_from_its_checkpoint(
    tmp_path: Path, reference_rows: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as m:
        interrupt_after(m, 2)
        with pytest.raises(RunInterrupted) as stopped:
            run(SCENARIO, tmp_path, jobs=1, progress=False)
    assert (stopped.value.done, stopped.value.total) == (20, 40)
    assert len(list((tmp_path / FOLDER).glob("chunk-*.npz"))) == 2

    # Mark a saved chunk: the resumed run must take it from disk rather than recompute it.
    marked = np.full((10, reference_rows.shape[1]), 7.0)
    np.savez(tmp_path / FOLDER / "chunk-000001.npz", rows=marked)
    resumed = run(SCENARIO, tmp_path, jobs=1, progress=False)
    assert resumed.simulated == 20
    expected = reference_rows.copy()
    expected[10:20] = marked
    np.testing.assert_array_equal(resumed.rows, expected)
    assert not (tmp_path / FOLDER).exists()


def test_a_checkpoint_of_another_run_is_discarded(
    tmp_path: Path, reference_rows: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    other_seed = tiny_scenario(replications=40, seed=2)
    with monkeypatch.context() as m:
        interrupt_after(m, 2)
        with pytest.raises(RunInterrupted):
            run(other_seed, tmp_path, jobs=1, progress=False)
    result = run(SCENARIO, tmp_path, jobs=1, progress=False)
    assert result.simulated == 40
    np.testing.assert_array_equal(result.rows, reference_rows)


def test_a_damaged_chunk_is_recomputed(
    tmp_path: Path, reference_rows: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as m:
        interrupt_after(m, 3)
        with pytest.raises(RunInterrupted):
            run(SCENARIO, tmp_path, jobs=1, progress=False)
    (tmp_path / FOLDER / "chunk-000001.npz").write_bytes(b"not a zip")
    result = run(SCENARIO, tmp_path, jobs=1, progress=False)
    assert result.simulated == 20
    np.testing.assert_array_equal(result.rows, reference_rows)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_drawn_on_a_terminal_only() -> None:
    tty = Terminal()
    bar = Progress(10, stream=tty)
    bar.advance(10)
    bar.close()
    assert "10/10" in tty.getvalue() and tty.getvalue().startswith("\r[")
    pipe = io.StringIO()
    bar = Progress(10, stream=pipe)
    bar.advance(10)
    bar.close()
    assert pipe.getvalue() == ""


def test_a_killed_pool_leaves_no_thread_for_the_exit_hook_to_race() -> None:
    """``kill_pool`` (Ctrl-C) returns only once the pool's manager thread has ended: Python's
    exit hook writes to that thread's wake-up pipe unguarded, and a close in between printed
    "Exception ignored ... Bad file descriptor" after the interrupt message (CI, 2026-12-06)."""
    import time
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(max_workers=2)
    futures = [pool.submit(time.sleep, 30) for _ in range(4)]
    while pool._executor_manager_thread is None or not any(f.running() for f in futures):
        time.sleep(0.01)
    manager, wakeup = pool._executor_manager_thread, pool._executor_manager_thread_wakeup
    executors.kill_pool(pool)
    assert not manager.is_alive()
    assert wakeup._closed  # the exit hook skips a closed pipe
