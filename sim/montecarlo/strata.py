"""The strata of a stratified run: which attackers exist (``docs/stratified-sampling.md``).

Attackers exist independently with known probabilities (``presence``), so the probability of
every combination is known exactly: ``pi_h = prod_a p_a^[a in h] (1 - p_a)^[a not in h]``.
A replication of stratum ``h`` runs the scenario with each stratified attacker's ``presence``
set to 1 or 0: the engines draw presence as ``u < presence`` with one uniform draw either way,
so the rest of the replication's random stream is untouched and the replication is an exact
draw from the model conditioned on the stratum.

Only attackers whose presence is uncertain (strictly between 0 and 1) are stratified, at most
:data:`MAX_STRATIFIED` of them, the rarest first (smallest ``min(p, 1 - p)``): the others keep
their random presence inside every stratum, which leaves the estimator exact, only less
efficient.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from sim.scenario.model import Scenario

MAX_STRATIFIED = 5
"""At most ``2^5 = 32`` strata: each needs a pilot, and beyond that pilots cost more than the
strata save."""


@dataclass(frozen=True)
class StrataPlan:
    attackers: tuple[str, ...]
    """Stratified attackers; bit ``i`` of a stratum's number says whether ``attackers[i]`` exists."""
    presence: tuple[float, ...]

    @classmethod
    def of(cls, scenario: Scenario) -> StrataPlan:
        uncertain = [
            (min(a.presence, 1.0 - a.presence), i, name)
            for i, (name, a) in enumerate(scenario.attackers.items())
            if 0.0 < a.presence < 1.0
        ]
        chosen = sorted(sorted(uncertain)[:MAX_STRATIFIED], key=lambda t: t[1])
        names = tuple(name for _, _, name in chosen)
        return cls(names, tuple(scenario.attackers[n].presence for n in names))

    def __len__(self) -> int:
        return 1 << len(self.attackers)

    def present(self, stratum: int) -> tuple[bool, ...]:
        return tuple(bool(stratum >> i & 1) for i in range(len(self.attackers)))

    @cached_property
    def probability(self) -> np.ndarray:
        """``pi_h`` for every stratum, in stratum order."""
        out = np.ones(len(self))
        for h in range(len(self)):
            for p, here in zip(self.presence, self.present(h)):
                out[h] *= p if here else 1.0 - p
        return out

    def scenario(self, base: Scenario, stratum: int) -> Scenario:
        """``base`` conditioned on stratum ``stratum``: stratified presences set to 1 or 0."""
        attackers = dict(base.attackers)
        for name, here in zip(self.attackers, self.present(stratum)):
            attackers[name] = dataclasses.replace(attackers[name], presence=1.0 if here else 0.0)
        return dataclasses.replace(base, attackers=attackers)

    def describe(self, counts: np.ndarray) -> list[dict[str, object]]:
        """The ``sampling.strata`` list of results.json."""
        return [
            {
                "present": [a for a, here in zip(self.attackers, self.present(h)) if here],
                "probability": float(self.probability[h]),
                "replications": int(counts[h]),
            }
            for h in range(len(self))
        ]
