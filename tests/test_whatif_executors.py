"""Executors: the local process pool and a Dask cluster give byte-identical rows and files.

The tests start their own ``distributed.LocalCluster`` listening on loopback only."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import distributed  # the test extra installs it: a missing install fails, never skips
import numpy as np
import pytest
from whatif_helpers import tiny_fast

from sim.cli import main
from sim.montecarlo.executors import DaskExecutor, LocalExecutor, make_executor
from sim.montecarlo.runner import run
from sim.report.results_json import without_timing
from sim.whatif.overrides import Base
from sim.whatif.sweep_files import FILES



@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address="127.0.0.1:0")
    try:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        yield cluster.scheduler_address
    finally:
        cluster.close()


def test_local_pool_and_dask_give_the_rows_of_one_process(tmp_path: Path, scheduler: str) -> None:
    scenario = Base.read(tiny_fast(tmp_path)).scenario({"monte_carlo.replications": 120})
    alone = run(scenario, tmp_path / "one", jobs=1, progress=False).rows
    pooled = run(scenario, tmp_path / "pool", progress=False, executor=LocalExecutor(2)).rows
    dask = DaskExecutor(scheduler)
    try:
        clustered = run(scenario, tmp_path / "dask", progress=False, executor=dask).rows
    finally:
        dask.close()
    assert alone.tobytes() == pooled.tobytes() == clustered.tobytes()
    assert np.count_nonzero(alone) > 0


def test_a_sweep_on_dask_writes_the_local_files(tmp_path: Path, scheduler: str) -> None:
    scenario = tiny_fast(tmp_path, replications=60)
    args = ["sweep", str(scenario), "--set", "attackers.eve.rate=0.02,0.1"]
    assert main([*args, "--out", str(tmp_path / "local"), "--jobs", "2"]) == 0
    assert main([*args, "--out", str(tmp_path / "dask"), "--executor", "dask",
                 "--scheduler", scheduler]) == 0
    for name in FILES:
        assert (tmp_path / "dask" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()


def test_dask_without_an_address_starts_a_loopback_cluster(tmp_path: Path) -> None:
    executor = make_executor("dask", 1)
    try:
        assert isinstance(executor, DaskExecutor)
        address = executor._client.scheduler.address
        assert address.startswith("tcp://127.0.0.1:")
        assert "127.0.0.1" in executor._client.dashboard_link  # nothing listens beyond loopback
        scenario = Base.read(tiny_fast(tmp_path)).scenario({"monte_carlo.replications": 20})
        rows = run(scenario, tmp_path / "d", progress=False, executor=executor).rows
    finally:
        executor.close()
    assert rows.tobytes() == run(scenario, tmp_path / "l", jobs=1, progress=False).rows.tobytes()


def test_an_unreachable_scheduler_is_a_clear_error(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    scenario = tiny_fast(tmp_path)
    code = main(["sweep", str(scenario), "--set", "attackers.eve.rate=0.02",
                 "--executor", "dask", "--scheduler", "tcp://127.0.0.1:9", "--out",
                 str(tmp_path / "out")])
    assert code == 2
    assert "cannot reach the Dask scheduler tcp://127.0.0.1:9" in capsys.readouterr().err


def test_a_lost_dask_worker_changes_nothing(tmp_path: Path) -> None:
    """A worker killed mid-run: Dask recomputes its chunks elsewhere, and since a chunk is a
    pure function of scenario and seeds the rows are those of one local process."""
    scenario = Base.read(tiny_fast(tmp_path)).scenario({"monte_carlo.replications": 2000})
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address="127.0.0.1:0")
    executor = DaskExecutor(cluster.scheduler_address)
    killed: list[int] = []
    try:
        pids = executor._client.run(os.getpid)
        victim = sorted(pids.values())[0]
        tasks = [(scenario, scenario.monte_carlo.seed, a, a + 10) for a in range(0, 2000, 10)]
        rows = [np.empty(0)] * len(tasks)
        for n, (i, chunk) in enumerate(executor.map_chunks(tasks)):
            rows[i] = chunk
            if n == 5:  # most chunks still to come
                os.kill(victim, signal.SIGKILL)
                killed.append(victim)
    finally:
        executor.close()
        cluster.close()
    assert killed
    alone = run(scenario, tmp_path / "one", jobs=1, progress=False).rows
    assert np.concatenate(rows).tobytes() == alone.tobytes()


def test_run_on_dask_writes_the_results_of_a_local_run(tmp_path: Path, scheduler: str) -> None:
    """``bleedsim run --executor dask``: the same results.json, timing aside."""
    scenario = tiny_fast(tmp_path, replications=60)
    assert main(["run", str(scenario), "--out", str(tmp_path / "local"), "--jobs", "2"]) == 0
    assert main(["run", str(scenario), "--out", str(tmp_path / "dask"), "--executor", "dask",
                 "--scheduler", scheduler]) == 0
    local, dask = (json.loads((tmp_path / d / "results.json").read_text()) for d in
                   ("local", "dask"))
    assert without_timing(local) == without_timing(dask)
