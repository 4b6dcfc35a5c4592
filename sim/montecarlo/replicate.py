"""One replication, from its index to its row of numbers."""

from __future__ import annotations

from types import ModuleType

import numpy as np

from sim.model.detectors import evaluate
from sim.montecarlo.layout import Layout
from sim.montecarlo.seeds import ReplicationSeeds, replication_seeds, stratum_replication_seeds
from sim.scenario.model import Scenario


def replicate(
    scenario: Scenario, engine: ModuleType, layout: Layout, seed: int, index: int
) -> np.ndarray:
    """Run replication ``index`` and reduce it to its row (``Layout.row``)."""
    return _row(scenario, engine, layout, replication_seeds(seed, index))


def _row(
    scenario: Scenario, engine: ModuleType, layout: Layout, seeds: ReplicationSeeds
) -> np.ndarray:
    record = engine.simulate(scenario, seeds.engine)
    alerts = evaluate(scenario, record.observations, np.random.default_rng(seeds.detectors))
    return layout.row(record, alerts)


def replicate_range(
    scenario: Scenario, engine: ModuleType, seed: int, start: int, stop: int
) -> np.ndarray:
    """Rows of replications ``start`` to ``stop - 1``, one per line, in index order."""
    layout = Layout(scenario)
    rows = np.empty((stop - start, len(layout)))
    for i in range(start, stop):
        rows[i - start] = replicate(scenario, engine, layout, seed, i)
    return rows


def replicate_stratum(
    scenario: Scenario, engine: ModuleType, seed: int, stratum: int, start: int, stop: int
) -> np.ndarray:
    """Rows of replications ``start`` to ``stop - 1`` of stratum ``stratum``; ``scenario`` is
    already conditioned on the stratum (``StrataPlan.scenario``)."""
    layout = Layout(scenario)
    rows = np.empty((stop - start, len(layout)))
    for j in range(start, stop):
        seeds = stratum_replication_seeds(seed, stratum, j)
        rows[j - start] = _row(scenario, engine, layout, seeds)
    return rows
