"""``bleedsim sweep``: one scenario at every combination of field values, with common random
numbers, written point by point so that an interrupted sweep resumes.

Every point runs the same replication seeds (``monte_carlo.seed``, replications ``0..N-1``), so
the differences between points come from the values alone, and each point's paired difference
from the first point has a much tighter interval than the two estimates' intervals suggest.

``DIR/.sweep/`` holds the sweep's manifest (base scenario hash and every setting) and one
``point-NNNN.npz`` of replication rows per finished point; a point being simulated keeps its
chunk checkpoint in ``point-NNNN/``. ``--resume`` reuses them when the manifest matches and
refuses otherwise; the folder is removed when the sweep's files are written, so a resumed sweep
ends with exactly the files of an uninterrupted one.
"""

from __future__ import annotations

import io
import itertools
import json
import shutil
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import sim
from sim.atomic import write_bytes, write_text
from sim.montecarlo.executors import Executor
from sim.montecarlo.layout import Layout
from sim.montecarlo.runner import RunInterrupted
from sim.scenario import scenario_sha256
from sim.scenario.model import Scenario
from sim.whatif import points
from sim.whatif.outcomes import SWEEP_OUTCOMES, OutcomeSpec, paired_difference, point_result
from sim.whatif.overrides import REPLICATIONS, SEED, Base, OverrideError, Scalar, format_value
from sim.whatif.sweep_files import write_outputs

STATE = ".sweep"


class SweepInterrupted(Exception):
    def __init__(self, done: int, total: int, out_dir: Path) -> None:
        super().__init__(
            f"interrupted: {done} of {total} points saved in {out_dir / STATE}; run the same "
            "command with --resume to finish"
        )


class ResumeRefused(Exception):
    """``--resume`` on a folder written by a different sweep."""


@dataclass(frozen=True, slots=True)
class Sweep:
    base: Base
    fields: list[tuple[str, list[Scalar]]]
    """``--set`` flags in order: each field path and its values."""
    replications: int | None = None
    seed: int | None = None

    def settings(self) -> dict[str, Scalar]:
        """Overrides every point shares (the command line's --replications and --seed)."""
        out: dict[str, Scalar] = {}
        if self.replications is not None:
            out[REPLICATIONS] = self.replications
        if self.seed is not None:
            out[SEED] = self.seed
        return out

    def grid(self) -> list[dict[str, Scalar]]:
        """Every combination, the first field varying slowest."""
        paths = [p for p, _ in self.fields]
        return [dict(zip(paths, combo)) for combo in itertools.product(*(v for _, v in self.fields))]

    def scenarios(self) -> list[Scenario]:
        """Every point built and validated before any is simulated (OverrideError names it)."""
        dup = {p for p, _ in self.fields if sum(q == p for q, _ in self.fields) > 1}
        if dup:
            raise OverrideError(f"--set {sorted(dup)[0]} is given twice; give its values once")
        out = []
        for i, values in enumerate(self.grid()):
            label = f"point {i + 1} ({label_of(values)})"
            scenario = points.build(self.base, {**self.settings(), **values}, label)
            if scenario.monte_carlo.replications < 2:
                raise OverrideError(f"{label}: a sweep needs at least 2 replications per point")
            out.append(scenario)
        return out


def label_of(values: dict[str, Scalar]) -> str:
    return ", ".join(f"{p}={format_value(v)}" for p, v in values.items())


def run_sweep(
    sweep: Sweep,
    out_dir: Path,
    *,
    resume: bool = False,
    jobs: int | None = None,
    executor: Executor | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Simulate every missing point, write DIR/sweep.{csv,json,svg,png}; return the JSON."""
    scenarios = sweep.scenarios()
    grid = sweep.grid()
    state = out_dir / STATE
    manifest = _manifest(sweep, scenarios)
    _open_state(state, manifest, resume)
    show = progress and sys.stderr.isatty()
    started = time.monotonic()
    done_now = 0
    rows: list[np.ndarray | None] = [_load(state, i, s) for i, s in enumerate(scenarios)]
    try:
        for i, scenario in enumerate(scenarios):
            if rows[i] is not None:
                continue
            if show:
                _announce(i, len(scenarios), grid[i], done_now, started, rows)
            point_rows = points.simulate(scenario, state / f"point-{i:04d}", jobs, executor, show)
            _save(state, i, point_rows)
            rows[i] = point_rows
            done_now += 1
    except (KeyboardInterrupt, RunInterrupted):
        raise SweepInterrupted(sum(r is not None for r in rows), len(scenarios), out_dir) from None
    finished = [r for r in rows if r is not None]
    document = _document(sweep, scenarios, grid, finished, manifest)
    write_outputs(document, out_dir)
    shutil.rmtree(state, ignore_errors=True)
    return document


def _announce(
    i: int, total: int, values: dict[str, Scalar], done_now: int, started: float,
    rows: list[np.ndarray | None],
) -> None:
    """``[3/8] servers.mail.restart.every=6h  ETA 2m10s`` on stderr (terminals only)."""
    left = sum(r is None for r in rows)
    eta = ""
    if done_now:
        per_point = (time.monotonic() - started) / done_now
        eta = f"  ETA {per_point * left:,.0f} s"
    sys.stderr.write(f"\r\x1b[K[{i + 1}/{total}] {label_of(values)}{eta}\n")
    sys.stderr.flush()


def _manifest(sweep: Sweep, scenarios: list[Scenario]) -> dict[str, Any]:
    mc = scenarios[0].monte_carlo
    return {
        "base_scenario_sha256": scenario_sha256(sweep.base.scenario({})),
        "fields": [[p, [format_value(v) for v in vs]] for p, vs in sweep.fields],
        "replications": mc.replications,
        "seed": mc.seed,
        "engine": mc.engine,
        "version": sim.__version__,
    }


def _open_state(state: Path, manifest: dict[str, Any], resume: bool) -> None:
    stored = _stored_manifest(state)
    if resume and stored is not None and stored != manifest:
        changed = [k for k in manifest if stored.get(k) != manifest[k]]
        what = {
            "base_scenario_sha256": "the scenario file",
            "fields": "the --set values", "replications": "--replications", "seed": "--seed",
            "engine": "the engine", "version": "the bleedsim version",
        }
        raise ResumeRefused(
            f"{state.parent} holds a different sweep ({', '.join(what[k] for k in changed)} "
            "changed); resume with the same scenario and settings, or drop --resume to start over"
        )
    if not resume or stored is None:
        shutil.rmtree(state, ignore_errors=True)
        write_text(state / "manifest.json", json.dumps(manifest, sort_keys=True))


def _stored_manifest(state: Path) -> Any:
    try:
        return json.loads((state / "manifest.json").read_text())
    except (OSError, ValueError):
        return None


def _save(state: Path, i: int, rows: np.ndarray) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, rows=rows)
    write_bytes(state / f"point-{i:04d}.npz", buffer.getvalue())


def _load(state: Path, i: int, scenario: Scenario) -> np.ndarray | None:
    try:
        with np.load(state / f"point-{i:04d}.npz") as data:
            rows = np.asarray(data["rows"])
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        return None
    expected = (scenario.monte_carlo.replications, len(Layout(scenario)))
    return rows if rows.shape == expected else None


def _document(
    sweep: Sweep,
    scenarios: list[Scenario],
    grid: list[dict[str, Scalar]],
    rows: list[np.ndarray],
    manifest: dict[str, Any],
) -> dict[str, Any]:
    """sweep.json: settings, then per point its values, estimates, verdicts and paired
    differences from point 1 (prior outcomes; an evidence-weighted difference would mix two
    different weightings)."""
    first = rows[0]
    specs = [OutcomeSpec.parse(o) for o in SWEEP_OUTCOMES]
    out_points = []
    for values, scenario, point_rows in zip(grid, scenarios, rows):
        layout = Layout(scenario)
        entry: dict[str, Any] = {"values": {p: format_value(v) for p, v in values.items()}}
        entry.update(point_result(point_rows, layout, scenario).as_json())
        diffs = {}
        for spec in specs:
            d, ci = paired_difference(spec, point_rows, first, layout)
            diffs[spec.name] = {"value": d, "ci95": ci.as_list()}
        entry["paired_difference"] = diffs
        out_points.append(entry)
    mc = scenarios[0].monte_carlo
    return {
        "bleedsim_version": sim.__version__,
        "scenario": scenarios[0].name,
        "scenario_sha256": manifest["base_scenario_sha256"],
        "fields": [p for p, _ in sweep.fields],
        "replications": mc.replications,
        "seed": mc.seed,
        "engine": mc.engine,
        "common_random_numbers": True,
        "points": out_points,
    }
