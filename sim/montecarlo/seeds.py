"""Where each replication's random numbers come from.

Replication ``i`` of a run with seed ``S`` draws from ``SeedSequence(S, spawn_key=(i,))``,
whatever process, chunk or order it runs in: that is what makes results identical for any
number of workers and lets a single replication be re-run alone to look at it. Replication ``j``
of stratum ``h`` of a stratified run draws from ``SeedSequence(S, spawn_key=(h, j))``: two-word
keys, never equal to an unstratified run's one-word keys. Inside a
replication, the engine and the detectors get separate children, so a detector change never
shifts the engine's draws.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class ReplicationSeeds:
    engine: np.random.SeedSequence
    detectors: np.random.SeedSequence


def replication_seeds(seed: int, index: int) -> ReplicationSeeds:
    """The two independent streams of replication ``index`` of a run seeded with ``seed``."""
    engine, detectors = np.random.SeedSequence(seed, spawn_key=(index,)).spawn(2)
    return ReplicationSeeds(engine=engine, detectors=detectors)


def stratum_replication_seeds(seed: int, stratum: int, index: int) -> ReplicationSeeds:
    """The two streams of replication ``index`` of stratum ``stratum`` (a stratified run)."""
    engine, detectors = np.random.SeedSequence(seed, spawn_key=(stratum, index)).spawn(2)
    return ReplicationSeeds(engine=engine, detectors=detectors)
