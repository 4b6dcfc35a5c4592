"""What a run may do with its output folder: resume, start afresh, or refuse.

An output folder can hold two things from an earlier run: ``results.json`` (a finished run)
and ``.checkpoint/`` (an interrupted one). Both are worth protecting. A checkpoint whose
settings differ from the run being started (another ``--replications``, seed, engine, an
edited scenario, another bleedsim version) would otherwise be thrown away without a word, and
a folder holding another scenario's results would be overwritten: both are refused unless the
user says ``--force``. A checkpoint of the very same run is resumed, and the run says so.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sim
from sim.montecarlo.checkpoint import FOLDER
from sim.scenario import scenario_sha256
from sim.scenario.model import Scenario

RESULTS = "results.json"
_CHUNK = re.compile(r"chunk-(\d+)\.npz")


class OutputConflict(Exception):
    """The output folder holds work this run would destroy; ``--force`` allows it."""


@dataclass(frozen=True, slots=True)
class Resume:
    done: int
    total: int
    folder: Path

    def __str__(self) -> str:
        return (f"resuming the interrupted run saved in {self.folder}: {self.done:,} of "
                f"{self.total:,} replications already done")


def settings(scenario: Scenario) -> dict[str, Any]:
    mc = scenario.monte_carlo
    return {"replications": mc.replications, "seed": mc.seed, "engine": mc.engine,
            "scenario_sha256": scenario_sha256(scenario), "version": sim.__version__}


def prepare(out_dir: Path, scenario: Scenario, force: bool) -> Resume | None:
    """Check ``out_dir`` before a run of ``scenario``; the resume it will do, if any.

    Raises :class:`OutputConflict` when the run would silently discard an interrupted run
    with other settings, or replace another scenario's results, unless ``force``.
    """
    if not force:
        _refuse_other_results(out_dir, scenario.name)
    manifest = _manifest(out_dir / FOLDER)
    if manifest is None:
        return None
    done = _saved_replications(out_dir / FOLDER, manifest)
    changed = _changes(manifest, scenario)
    if changed and done and not force:
        raise OutputConflict(
            f"{out_dir / FOLDER} holds an interrupted run ({done:,} replications saved) with "
            f"other settings: {'; '.join(changed)}. Run with the same settings to resume it, "
            "or add --force to discard it and start afresh")
    if changed or not done:
        return None
    return Resume(done, int(manifest["replications"]), out_dir / FOLDER)


def _refuse_other_results(out_dir: Path, name: str) -> None:
    path = out_dir / RESULTS
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return  # nothing there, or nothing bleedsim wrote: the atomic write replaces it
    other = document.get("scenario") if isinstance(document, dict) else None
    if isinstance(other, str) and other != name:
        raise OutputConflict(
            f"{path} holds the results of scenario {other!r}, not {name!r}; choose another "
            "--out folder, or add --force to replace them")


def _manifest(folder: Path) -> dict[str, Any] | None:
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def _saved_replications(folder: Path, manifest: dict[str, Any]) -> int:
    total, size = manifest.get("replications"), manifest.get("chunk_size")
    if not isinstance(total, int) or not isinstance(size, int) or size < 1:
        return 0
    done = 0
    for path in folder.glob("chunk-*.npz"):
        m = _CHUNK.fullmatch(path.name)
        if m is not None and int(m.group(1)) * size < total:
            done += min(size, total - int(m.group(1)) * size)
    return done


def _changes(stored: dict[str, Any], scenario: Scenario) -> list[str]:
    """The settings that differ, in the user's terms.

    The scenario hash covers ``monte_carlo`` too, so the scenario counts as changed only when
    it still differs with the stored run's replications, seed and engine put back.
    """
    current = settings(scenario)
    out = [f"{key} {stored.get(key)} then, {current[key]} now"
           for key in ("replications", "seed", "engine") if stored.get(key) != current[key]]
    try:
        as_then = dataclasses.replace(scenario, monte_carlo=dataclasses.replace(
            scenario.monte_carlo, replications=stored["replications"], seed=stored["seed"],
            engine=stored["engine"]))
        edited = scenario_sha256(as_then) != stored.get("scenario_sha256")
    except (KeyError, TypeError, ValueError):
        edited = True
    if edited:
        out.append("the scenario changed since (its file, or what it resolves to)")
    if stored.get("version") != current["version"]:
        out.append(f"bleedsim {stored.get('version')} then, {current['version']} now")
    return out
