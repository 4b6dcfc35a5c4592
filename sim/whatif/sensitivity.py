"""``bleedsim sensitivity``: Sobol first-order and total indices of one outcome over field
ranges, with SALib (Saltelli's extension of the Sobol' sequence, ``calc_second_order=False``:
``N (D + 2)`` model runs) and its bootstrap 95% intervals.

The model is "the outcome's estimate from R replications at these field values". Its Monte
Carlo noise is handled with common random numbers: every sample runs the same replication seeds
(``monte_carlo.seed``, replications ``0..R-1``), so the seed is one fixed input of a
deterministic function rather than noise that varies between samples. A field the outcome does
not depend on then gives bit-identical outputs in Saltelli's paired samples and a total index
of exactly 0, where independent seeds would charge it with the noise variance; what noise
remains (the estimate's error at R replications) is common to every sample.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from SALib.analyze import sobol as sobol_analyze
from SALib.sample import sobol as sobol_sample

from sim.analysis.analyse import analyse
from sim.atomic import write_bytes, write_text
from sim.montecarlo.executors import Executor, LocalExecutor
from sim.montecarlo.layout import Layout
from sim.montecarlo.progress import Progress
from sim.montecarlo.runner import default_jobs
from sim.report import sensitivity_figure
from sim.scenario.model import Scenario
from sim.whatif import points
from sim.whatif.outcomes import OutcomeError, OutcomeSpec
from sim.whatif.overrides import REPLICATIONS, SEED, Base, OverrideError, Scalar, split_assignment
from sim.whatif.ranges import FieldRange

BOOTSTRAP_RESAMPLES = 1000
SAMPLE_SEED = 2014
"""Scrambling seed of the Sobol' sequence and the bootstrap: fixed, for reproducible files
(not 0: SALib's bootstrap treats a falsy seed as none)."""


class SensitivityError(Exception):
    """A study that cannot be set up."""


@dataclass(frozen=True, slots=True)
class Study:
    base: Base
    fields: list[tuple[str, FieldRange]]
    outcome: OutcomeSpec
    samples: int
    settings: dict[str, Scalar]
    name: str

    @classmethod
    def parse(cls, base: Base, varies: list[str], outcome: str, samples: int,
              replications: int | None = None, seed: int | None = None) -> Study:
        if samples < 2 or samples & (samples - 1):
            raise SensitivityError(f"--samples {samples}: Saltelli sampling needs a power of 2")
        fields = []
        for text in varies:
            path, rest = split_assignment(text, "--vary")
            fields.append((path, FieldRange.parse(rest, f"--vary {path}=", base.value_at(path))))
        if len({p for p, _ in fields}) < len(fields):
            raise SensitivityError("--vary names the same field twice")
        try:
            spec = OutcomeSpec.parse(outcome)
        except OutcomeError as e:
            raise SensitivityError(f"--outcome: {e}") from None
        settings: dict[str, Scalar] = {}
        if replications is not None:
            settings[REPLICATIONS] = replications
        if seed is not None:
            settings[SEED] = seed
        study = cls(base, fields, spec, samples, settings, "")
        corners = [study.scenario([r.low if k == 0 else r.high for _, r in fields], "")
                   for k in (0, 1)]  # both corners validated before any work
        spec.check(corners[0])
        return cls(base, fields, spec, samples, settings, corners[0].name)

    def problem(self) -> dict[str, Any]:
        return {"num_vars": len(self.fields), "names": [p for p, _ in self.fields],
                "bounds": [[r.low, r.high] for _, r in self.fields]}

    def scenario(self, x: list[float], label: str) -> Scenario:
        values = {p: r.written(v) for (p, r), v in zip(self.fields, x)}
        label = label or ", ".join(f"{p}={r.shown(v)}" for (p, r), v in zip(self.fields, x))
        return points.build(self.base, {**self.settings, **values}, label)


@dataclass(frozen=True, slots=True)
class Result:
    study: Study
    indices: dict[str, dict[str, float]]
    """Per field: S1, S1_low, S1_high, ST, ST_low, ST_high."""
    evaluations: int
    replications: int


def analyse_study(study: Study, jobs: int | None = None, executor: Executor | None = None,
                  progress: bool = True) -> Result:
    """Every sample built and validated first, then run as one task each."""
    x = sobol_sample.sample(study.problem(), study.samples, calc_second_order=False,
                            seed=SAMPLE_SEED)
    scenarios = [study.scenario([f.snap(v) for (_, f), v in zip(study.fields, row)],
                                f"sample {i + 1}")
                 for i, row in enumerate(x)]
    mc = scenarios[0].monte_carlo
    runner = executor if executor is not None else LocalExecutor(jobs or default_jobs())
    tasks = [(s, s.monte_carlo.seed, 0, s.monte_carlo.replications) for s in scenarios]
    y = np.full(len(scenarios), np.nan)
    bar = Progress(len(tasks) * mc.replications, enabled=progress)
    for i, rows in runner.map_chunks(tasks):
        y[i] = _output(study.outcome, scenarios[i], rows)
        bar.advance(mc.replications)
    bar.close()
    if np.isnan(y).any():
        raise SensitivityError(f"{study.outcome.name} is undefined at some samples (e.g. the "
                               "evidence is impossible there); narrow the ranges")
    indices: dict[str, dict[str, float]] = {}
    if float(np.var(y)) == 0.0:  # nothing moves the outcome: no variance to apportion
        for path, _ in study.fields:
            indices[path] = dict.fromkeys(("S1", "S1_low", "S1_high", "ST", "ST_low", "ST_high"), 0.0)
    else:
        si = sobol_analyze.analyze(study.problem(), y, calc_second_order=False,
                                   num_resamples=BOOTSTRAP_RESAMPLES, conf_level=0.95,
                                   seed=SAMPLE_SEED)
        for k, (path, _) in enumerate(study.fields):
            s1, s1c, st, stc = (float(si[n][k]) for n in ("S1", "S1_conf", "ST", "ST_conf"))
            indices[path] = {"S1": s1, "S1_low": s1 - s1c, "S1_high": s1 + s1c,
                             "ST": st, "ST_low": st - stc, "ST_high": st + stc}
    return Result(study, indices, len(scenarios), mc.replications)


def _output(spec: OutcomeSpec, scenario: Scenario, rows: np.ndarray) -> float:
    layout = Layout(scenario)
    value, _ = spec.measure(rows, layout, analyse(rows, layout, scenario))
    return math.nan if value is None else float(value)


def csv_text(result: Result) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    columns = ["S1", "S1_low", "S1_high", "ST", "ST_low", "ST_high"]
    writer.writerow(["parameter", *columns])
    for path, idx in result.indices.items():
        writer.writerow([path, *(repr(idx[c]) for c in columns)])
    return buffer.getvalue()


def write_outputs(result: Result, out_dir: Path) -> list[Path]:
    """``sensitivity.csv`` and the bar chart (``.svg`` and ``.png``), rendered before written."""
    title = (f"{result.study.name}: Sobol indices of {result.study.outcome.name} "
             f"({result.evaluations} runs x {result.replications} replications)")
    svg, png = sensitivity_figure.render(result.indices, title)
    files: dict[str, str | bytes] = {"sensitivity.csv": csv_text(result),
                                     "sensitivity.svg": svg, "sensitivity.png": png}
    for name, body in files.items():
        if isinstance(body, bytes):
            write_bytes(out_dir / name, body)
        else:
            write_text(out_dir / name, body)
    return [out_dir / name for name in files]
