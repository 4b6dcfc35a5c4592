"""Run until precise: stratified replications in rounds, each round allocated where the variance
is, until every target estimate is precise enough or the replication budget is spent
(``bleedsim run --precision``; ``docs/stratified-sampling.md``).

Round 0 (the pilot) gives every stratum one chunk. After each round the caller's ``assess``
judges the targets on all rows so far; the least precise target that can still be helped
(finite relative half-width) steers the next round (:class:`_Parts`): a tenth of the run goes
to the strata whose rows show no spread yet, the rest where it cuts the predicted variance most
(Neyman's ``n_h`` proportional to ``pi_h s_h``, Neyman 1934, corrected for the floors of events
not seen yet), and the run grows to the size at which that variance reaches the target
(between 1.25x and 4x per round).

Determinism: a stratum's replications are cut into chunks at fixed boundaries
(:func:`chunk_bounds`), every round's plan depends only on the rows of earlier rounds, and rows
are kept in (stratum, replication) order, so the result is the same, to the byte, for any
``jobs``. Every chunk is checkpointed; re-running the same command replays the rounds, reading
back the chunks already done.
"""

from __future__ import annotations

import math
import signal
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
from scipy.optimize import brentq

import sim
from sim.engines import get_engine
from sim.montecarlo.checkpoint import Checkpoint
from sim.montecarlo.intervals import Z
from sim.montecarlo.layout import Layout
from sim.montecarlo.progress import Progress
from sim.montecarlo.replicate import replicate_stratum
from sim.montecarlo.executors import kill_pool
from sim.montecarlo.runner import RunInterrupted, RunResult, default_jobs
from sim.montecarlo.strata import StrataPlan
from sim.montecarlo.stratified import Strata, spread
from sim.scenario import scenario_sha256
from sim.scenario.model import Scenario

SMALL_CHUNK = 10
SMALL_CHUNKS = 10
LARGE_CHUNK = 100
"""A stratum's first ``SMALL_CHUNKS`` chunks hold ``SMALL_CHUNK`` replications (a cheap pilot
of rare strata), the later ones ``LARGE_CHUNK`` (less overhead per chunk)."""

GROWTH = (1.25, 4.0)
"""Bounds of the factor by which one round grows the run."""
EXPLORE = 0.1
"""Share of the run kept for the strata whose rows show no spread for the steering target (no
row with evidence weight, or the same value in every row), split in proportion to ``pi_h``:
Neyman's rule would give them nothing, yet more replications are the only way to learn that
their spread is not 0. A fixed share keeps every stratum growing with the run, whatever the
number of strata, at a cost of at most this share of the run."""


def chunk_bounds(chunk: int) -> tuple[int, int]:
    """Replications ``[start, stop)`` of a stratum's chunk number ``chunk``."""
    if chunk < SMALL_CHUNKS:
        return chunk * SMALL_CHUNK, (chunk + 1) * SMALL_CHUNK
    start = SMALL_CHUNKS * SMALL_CHUNK + (chunk - SMALL_CHUNKS) * LARGE_CHUNK
    return start, start + LARGE_CHUNK


def pilot_size(scenario: Scenario) -> int:
    """Replications of the pilot round: one small chunk per stratum."""
    return len(StrataPlan.of(scenario)) * SMALL_CHUNK


@dataclass(frozen=True, slots=True)
class Target:
    """One estimate the run must make precise, as the caller judged it on the rows so far."""

    name: str
    """Its results.json path, e.g. ``evidence.posterior.outcomes.key.p_any``."""
    values: np.ndarray
    """Per row: the values it averages (the estimate is the stratified ratio of these)."""
    weights: np.ndarray | None
    """Per row: evidence weights times domain indicator, ``None`` for plain means."""
    value: float | None
    half_width: float | None
    """Half the width of its reported 95% interval."""
    reached: bool
    why: str
    """``precision`` or ``verdict settled`` when reached; else what is missing."""
    captures: bool = False
    """Its values count captures, which need an attacker that can capture
    (:meth:`Strata.for_captures`)."""

    @property
    def relative(self) -> float:
        """Half-width over the estimate; infinite when the estimate is 0 or undefined."""
        if self.value is None or self.half_width is None or self.value == 0.0:
            return math.inf
        return self.half_width / abs(self.value)

    def as_results(self) -> dict[str, Any]:
        relative = self.relative
        return {
            "value": self.value,
            "half_width": self.half_width,
            "relative_half_width": None if math.isinf(relative) else relative,
            "reached": self.reached,
            "why": self.why,
        }


Assess = Callable[[np.ndarray, Strata], Sequence[Target]]
"""Judges the targets on the rows so far (rows, their strata) -> targets."""


def run_until_precise(
    scenario: Scenario,
    out_dir: Path,
    assess: Assess,
    precision: float,
    max_replications: int,
    jobs: int | None = None,
    progress: bool = True,
) -> RunResult:
    """Stratified rounds until ``assess`` reports every target reached or ``max_replications``
    would be exceeded; raise RunInterrupted on Ctrl-C. ``results`` of the returned RunResult
    carries the ``sampling`` block of results.json."""
    started = time.monotonic()
    mc = scenario.monte_carlo
    plan = StrataPlan.of(scenario)
    layout = Layout(scenario)
    if max_replications < len(plan) * SMALL_CHUNK:
        raise ValueError(
            f"max_replications {max_replications} is below the pilot: {len(plan)} strata "
            f"need {SMALL_CHUNK} replications each ({len(plan) * SMALL_CHUNK})"
        )
    checkpoint = Checkpoint(out_dir, {
        "scenario_sha256": scenario_sha256(scenario),
        "engine": mc.engine,
        "seed": mc.seed,
        "sampling": "stratified",
        "stratified_on": list(plan.attackers),
        # A stratum's number and a chunk's replications mean something only under this plan
        # and these chunk sizes; a checkpoint written under others is stale.
        "start_bins": [[list(b) for b in bins] for bins in plan.bins],
        "chunks": [SMALL_CHUNK, SMALL_CHUNKS, LARGE_CHUNK],
        "precision": precision,
        "max_replications": max_replications,
        "version": sim.__version__,
        "columns": list(layout.names),
    })
    checkpoint.open({})
    malicious = [(a.name, layout.index[f"present/{a.name}"]) for a in scenario.malicious()]
    done: dict[tuple[int, int], np.ndarray] = {}
    chunks_of = [0] * len(plan)
    bar = Progress(max_replications, 0, progress)
    simulated = 0
    jobs = default_jobs() if jobs is None else jobs
    executor = _Executor(scenario, plan, jobs)
    rounds = 0
    wanted: list[tuple[int, int]] = [(h, 0) for h in range(len(plan))]
    try:
        while True:
            fresh = []
            for h, c in wanted:
                n = chunk_bounds(c)[1] - chunk_bounds(c)[0]
                saved = checkpoint.load(_chunk_id(h, c), (n, len(layout)))
                if saved is None:
                    fresh.append((h, c))
                else:
                    done[h, c] = saved
                    bar.advance(n)
                chunks_of[h] = max(chunks_of[h], c + 1)

            def store(h: int, c: int, rows: np.ndarray) -> None:
                done[h, c] = rows
                checkpoint.save(_chunk_id(h, c), rows)
                bar.advance(rows.shape[0])

            executor.run(fresh, store)
            simulated += sum(done[k].shape[0] for k in fresh)
            rounds += 1
            rows, strata = _assemble(done, plan, malicious)
            targets = list(assess(rows, strata))
            if all(t.reached for t in targets):
                reason = "precision"
                break
            wanted = _next_round(targets, strata, chunks_of, precision, max_replications)
            if not wanted:
                reason = "max_replications"
                break
    except KeyboardInterrupt:
        executor.close(kill=True)
        bar.close()
        raise RunInterrupted(bar.done, max_replications, checkpoint.folder) from None
    except BaseException:
        executor.close(kill=True)
        raise
    executor.close()
    bar.close()
    checkpoint.remove()
    sampling = {
        "method": "stratified",
        "stratified_on": list(plan.attackers),
        "strata": plan.describe(strata.counts),
        "precision": {
            "target": precision,
            "max_replications": max_replications,
            "stopped": reason,
            "rounds": rounds,
            "estimates": {t.name: t.as_results() for t in targets},
        },
    }
    return RunResult(rows, layout, time.monotonic() - started, simulated, strata, sampling)


def _chunk_id(stratum: int, chunk: int) -> int:
    return stratum * 1_000_000 + chunk


def _assemble(
    done: dict[tuple[int, int], np.ndarray], plan: StrataPlan, malicious: list[tuple[str, int]]
) -> tuple[np.ndarray, Strata]:
    """All rows so far in (stratum, replication) order, with their strata; ``malicious`` are
    the malicious attackers and the columns of their presence."""
    keys = sorted(done)
    rows = np.concatenate([done[k] for k in keys])
    index = np.concatenate([np.full(done[k].shape[0], k[0]) for k in keys])
    present = rows[:, [column for _, column in malicious]] == 1.0
    late = np.array([[plan.late(h, name) for name, _ in malicious] for h in range(len(plan))],
                    dtype=bool).reshape(len(plan), len(malicious))
    capturing = (present & ~late[index]).any(axis=1)
    return rows, Strata.of_rows(index, plan.probability, present.any(axis=1), capturing)


def _next_round(
    targets: list[Target],
    strata: Strata,
    chunks_of: list[int],
    precision: float,
    max_replications: int,
) -> list[tuple[int, int]]:
    """The chunks of the next round (empty when the budget allows none)."""
    n = strata.counts
    total = float(n.sum())
    open_targets = [t for t in targets if not t.reached and math.isfinite(t.relative)]
    if open_targets:
        worst = max(open_targets, key=lambda t: t.relative)
        binary = bool(np.all((worst.values == 0.0) | (worst.values == 1.0)))
        judged = strata.for_captures() if worst.captures else strata
        _, s_sq, unseen = spread(worst.values, worst.weights, judged, Z if binary else None)
        s_sq = np.where(np.isfinite(s_sq), s_sq, 0.0)
        parts = _Parts(n, strata.probability, strata.probability**2 * s_sq / n, unseen)
        goal = parts.goal((worst.relative / precision) ** 2)
    else:  # no estimate to steer by (no event yet): proportional allocation, doubling
        parts = _Parts(n, strata.probability, np.zeros_like(n), np.zeros(n.size, dtype=bool))
        goal = 2.0 * total
    goal = min(float(max_replications), goal)
    if goal <= total:
        return []
    deficit = parts.allocated(goal) - n
    wanted: list[tuple[int, int]] = []
    planned = list(chunks_of)
    budget = max_replications - int(total)
    while True:
        h = int(np.argmax(deficit))
        if deficit[h] <= 0:
            break
        start, stop = chunk_bounds(planned[h])
        if stop - start > budget:
            deficit[h] = 0.0
            continue
        wanted.append((h, planned[h]))
        planned[h] += 1
        budget -= stop - start
        deficit[h] -= stop - start
    return wanted


@dataclass(frozen=True)
class _Parts:
    """The steering target's variance stratum by stratum, from which the next round is planned.

    A stratum's part ``pi_h^2 s_h^2 / n_h`` falls as ``1/n_h``, or as ``1/n_h^2`` where ``s_h^2``
    is the floor of an event not seen yet (the floor itself falls as ``1/n_h``). The allocation
    minimises the predicted variance for the run's size (Lagrange: ``n_h`` proportional to
    ``pi_h s_h``, Neyman's rule, for the first kind, and to the cube root of twice the part's
    coefficient for the second), after ``EXPLORE`` of the run is set aside for the strata
    without spread.
    """

    n: np.ndarray
    probability: np.ndarray
    parts: np.ndarray
    unseen: np.ndarray

    def ideal(self, goal: float) -> np.ndarray:
        """Per stratum: the replications it should hold in a run of ``goal``."""
        flat = (self.parts == 0) & (self.probability > 0)
        if flat.all() or not self.parts.sum() > 0:
            return goal * self.probability / self.probability.sum()
        out = np.zeros_like(self.parts)
        rest = goal
        if flat.any():
            out[flat] = EXPLORE * goal * self.probability[flat] / self.probability[flat].sum()
            rest = (1.0 - EXPLORE) * goal
        # Parts a/n_h (a = part * n_h) and c/n_h^2 (c = part * n_h^2): with t = lambda^(-1/2)
        # the optimum is n_h = sqrt(a) t and n_h = (2 c)^(1/3) t^(2/3).
        root_a = np.sqrt(np.where(self.unseen, 0.0, self.parts * self.n))
        cube_c = np.cbrt(np.where(self.unseen, 2.0 * self.parts * self.n**2, 0.0))
        a, c = float(root_a.sum()), float(cube_c.sum())
        # Either term alone reaches ``rest`` by ``t = rest / a`` or ``(rest / c)^1.5``; twice
        # that brackets the root whatever the rounding.
        high = 2.0 * max(rest / a if a > 0 else 0.0, (rest / c) ** 1.5 if c > 0 else 0.0)
        t = brentq(lambda t: a * t + c * t ** (2 / 3) - rest, 0.0, high)
        return np.where(flat, out, root_a * t + cube_c * t ** (2 / 3))

    def allocated(self, goal: float) -> np.ndarray:
        """Per stratum: replications once the run has grown to ``goal``, the new ones topping
        up the strata below their ideal (before cutting into chunks)."""
        ideal = self.ideal(goal)
        deficit = np.maximum(ideal - self.n, 0.0)
        if not deficit.sum() > 0:
            deficit = ideal
        return self.n + deficit * (goal - float(self.n.sum())) / float(deficit.sum())

    def goal(self, rho_sq: float) -> float:
        """The run size at which the predicted variance falls ``1.05 rho_sq``-fold (``rho``:
        relative half-width over its target), within the growth bounds."""
        wanted = float(self.parts.sum()) / (1.05 * rho_sq)
        total = float(self.n.sum())

        def excess(goal: float) -> float:
            shrink = self.n / self.allocated(goal)
            return float(np.sum(self.parts * shrink * np.where(self.unseen, shrink, 1.0))) - wanted

        low, high = GROWTH[0] * total, GROWTH[1] * total
        if not wanted > 0 or excess(high) >= 0:
            return high
        if excess(low) <= 0:
            return low
        return float(brentq(excess, low, high, xtol=1.0))


class _Executor:
    """Runs chunks in this process (``jobs == 1``) or on a process pool kept across rounds."""

    def __init__(self, scenario: Scenario, plan: StrataPlan, jobs: int) -> None:
        self.scenario = scenario
        self.plan = plan
        self.jobs = jobs
        self.pool: ProcessPoolExecutor | None = None

    def run(self, chunks: list[tuple[int, int]], store: Callable[[int, int, np.ndarray], None]) -> None:
        if self.jobs == 1 or len(chunks) <= 1 and self.pool is None:
            _init_worker(self.scenario, self.plan, ignore_sigint=False)
            for h, c in chunks:
                store(h, c, _run_chunk(h, c))
            return
        if self.pool is None:
            self.pool = ProcessPoolExecutor(
                max_workers=self.jobs, initializer=_init_worker, initargs=(self.scenario, self.plan)
            )
        futures: dict[Future[np.ndarray], tuple[int, int]] = {
            self.pool.submit(_run_chunk, h, c): (h, c) for h, c in chunks
        }
        waiting = set(futures)
        while waiting:
            finished, waiting = wait(waiting, return_when=FIRST_COMPLETED)
            for future in sorted(finished, key=futures.__getitem__):
                store(*futures[future], future.result())

    def close(self, kill: bool = False) -> None:
        if self.pool is None:
            return
        if kill:
            previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # one Ctrl-C is enough
            try:
                kill_pool(self.pool)
            finally:
                signal.signal(signal.SIGINT, previous)
        else:
            self.pool.shutdown(wait=True)
        self.pool = None


class _WorkerState:
    """What a worker keeps between chunks: the scenario, its plan, and each stratum's
    conditioned scenario, built once."""

    def __init__(self, scenario: Scenario, plan: StrataPlan) -> None:
        self.scenario = scenario
        self.plan = plan
        self.engine: ModuleType = get_engine(scenario.monte_carlo.engine)
        self.conditioned: dict[int, Scenario] = {}

    def rows(self, stratum: int, chunk: int) -> np.ndarray:
        if stratum not in self.conditioned:
            self.conditioned[stratum] = self.plan.scenario(self.scenario, stratum)
        start, stop = chunk_bounds(chunk)
        seed = self.scenario.monte_carlo.seed
        return replicate_stratum(self.conditioned[stratum], self.engine, seed, stratum, start, stop)


_state: _WorkerState | None = None


def _init_worker(scenario: Scenario, plan: StrataPlan, ignore_sigint: bool = True) -> None:
    global _state
    if ignore_sigint:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    if _state is None or _state.scenario is not scenario:
        _state = _WorkerState(scenario, plan)


def _run_chunk(stratum: int, chunk: int) -> np.ndarray:
    """Pure given the worker's scenario: stratum and chunk in, rows out."""
    assert _state is not None, "the worker is initialised first"
    return _state.rows(stratum, chunk)
