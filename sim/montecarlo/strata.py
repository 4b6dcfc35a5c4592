"""The strata of a stratified run: which attackers exist, and whether each starts before or after
its targets stop being vulnerable (``docs/stratified-sampling.md``).

Attackers exist independently with known probabilities (``presence``), and each one's start is
uniform in ``[start_low, start_high]`` independently of the rest, so the probability of every
combination of presence and start bin is known exactly:
``pi_h = prod_a (1 - p_a)`` over the absent ones times ``p_a |bin| / |window|`` over the present
ones. A replication of stratum ``h`` runs the scenario with each stratified attacker's
``presence`` set to 1 or 0 and, where present, its start window narrowed to its bin: the engines
draw presence as ``u < presence`` and the start as ``start_low + u (start_high - start_low)``
with one uniform draw each either way, so the rest of the replication's random stream is
untouched and the replication is an exact draw from the model conditioned on the stratum.

Only attackers whose presence is uncertain (strictly between 0 and 1) are stratified, at most
:data:`MAX_STRATIFIED` of them, the rarest first (smallest ``min(p, 1 - p)``): the others keep
their random presence inside every stratum, which leaves the estimator exact, only less
efficient. A stratified attacker's start window is cut where the last of its targets stops being
vulnerable (patched or heartbeat off), when that falls inside it: an attacker that starts
later reads nothing anywhere, so its captures are 0 in one bin and its whole variance sits in
the other (on PSMail the harvester, who takes the key in every replication where it starts
before the patch and in none after).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from sim.scenario.model import Attacker, Scenario

MAX_STRATIFIED = 5
"""At most five attackers, so at most ``3^5 = 243`` strata: each needs a pilot, and beyond that
pilots cost more than the strata save."""

Bin = tuple[float, float]


@dataclass(frozen=True)
class StrataPlan:
    attackers: tuple[str, ...]
    """Stratified attackers; digit ``i`` of a stratum's number (in the mixed radix of
    ``1 + len(bins[i])``) says whether ``attackers[i]`` exists (0: absent) and in which of its
    start bins it starts (``j + 1``: ``bins[i][j]``)."""
    presence: tuple[float, ...]
    bins: tuple[tuple[Bin, ...], ...]
    """Per stratified attacker: its start window cut into bins (the whole window when uncut)."""

    @classmethod
    def of(cls, scenario: Scenario) -> StrataPlan:
        uncertain = [
            (min(a.presence, 1.0 - a.presence), i, name)
            for i, (name, a) in enumerate(scenario.attackers.items())
            if 0.0 < a.presence < 1.0
        ]
        chosen = sorted(sorted(uncertain)[:MAX_STRATIFIED], key=lambda t: t[1])
        names = tuple(name for _, _, name in chosen)
        return cls(
            names,
            tuple(scenario.attackers[n].presence for n in names),
            tuple(start_bins(scenario, scenario.attackers[n]) for n in names),
        )

    def __len__(self) -> int:
        return int(np.prod([1 + len(b) for b in self.bins], dtype=np.int64))

    def digits(self, stratum: int) -> tuple[int, ...]:
        """Per stratified attacker: 0 when absent, else 1 + the index of its start bin."""
        out = []
        for bins in self.bins:
            stratum, digit = divmod(stratum, 1 + len(bins))
            out.append(digit)
        return tuple(out)

    def present(self, stratum: int) -> tuple[bool, ...]:
        return tuple(d > 0 for d in self.digits(stratum))

    def late(self, stratum: int, attacker: str) -> bool:
        """Does ``attacker`` start, in this stratum, after all its targets stopped being
        vulnerable (the second of its bins), so that it can capture nothing?"""
        if attacker not in self.attackers:
            return False
        i = self.attackers.index(attacker)
        return len(self.bins[i]) > 1 and self.digits(stratum)[i] == len(self.bins[i])

    @cached_property
    def probability(self) -> np.ndarray:
        """``pi_h`` for every stratum, in stratum order."""
        out = np.ones(len(self))
        for h in range(len(self)):
            for p, bins, digit in zip(self.presence, self.bins, self.digits(h)):
                out[h] *= 1.0 - p if digit == 0 else p * _share(bins, digit - 1)
        return out

    def scenario(self, base: Scenario, stratum: int) -> Scenario:
        """``base`` conditioned on stratum ``stratum``: stratified presences set to 1 or 0, and
        the start windows of the present ones narrowed to their bins."""
        attackers = dict(base.attackers)
        for name, bins, digit in zip(self.attackers, self.bins, self.digits(stratum)):
            if digit == 0:
                attackers[name] = dataclasses.replace(attackers[name], presence=0.0)
            else:
                low, high = bins[digit - 1]
                attackers[name] = dataclasses.replace(
                    attackers[name], presence=1.0, start_low=low, start_high=high
                )
        return dataclasses.replace(base, attackers=attackers)

    def describe(self, counts: np.ndarray) -> list[dict[str, object]]:
        """The ``sampling.strata`` list of results.json (``start`` only for attackers whose
        window is cut)."""
        out: list[dict[str, object]] = []
        for h in range(len(self)):
            digits = self.digits(h)
            stratum: dict[str, object] = {
                "present": [a for a, d in zip(self.attackers, digits) if d > 0],
            }
            starts = {
                a: list(bins[d - 1])
                for a, bins, d in zip(self.attackers, self.bins, digits)
                if d > 0 and len(bins) > 1
            }
            if starts:
                stratum["start"] = starts
            stratum["probability"] = float(self.probability[h])
            stratum["replications"] = int(counts[h])
            out.append(stratum)
        return out


def start_bins(scenario: Scenario, attacker: Attacker) -> tuple[Bin, ...]:
    """The attacker's start window, cut where the last of its targets stops being vulnerable
    when that falls strictly inside it."""
    low, high = attacker.start_low, attacker.start_high
    cut = max(scenario.servers[t].vulnerable_until for t in attacker.targets)
    if low < cut < high:
        return ((low, cut), (cut, high))
    return ((low, high),)


def _share(bins: tuple[Bin, ...], j: int) -> float:
    """The probability of starting in bin ``j`` of a window cut into ``bins``."""
    if len(bins) == 1:
        return 1.0
    low, high = bins[0][0], bins[-1][1]
    return (bins[j][1] - bins[j][0]) / (high - low)
