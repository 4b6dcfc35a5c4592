"""Which side of each session-log cut a reusing attacker's first capture of a session falls on.

A ``session`` detector reads a reuse attempt through its time alone, and only against its
``deployed_at`` and its retention cutoff (:func:`sim.model.detectors.points.one_alert_each`):
those instants are the *cuts*. An attacker tries a session once, at its first capture of it
(rule 9). The integrated session path (:mod:`.sessions`) times attempts from the attacker's
capture profile over the attack, which counts every capture of a session where only the first
is tried, so where a cut falls inside the attack it put too many attempts after it (the session
log's retained alerts, ``docs/fast-engine.md``).

Here the integrated path is given the exact side. For a malicious attacker ``a`` and an instant
``t``, let ``E(a, t)`` be the event that ``a`` captures a given session nowhere before ``t``
(``t = inf``: nowhere at all). A *timed set* asks ``a`` to capture before ``t_a`` for each of
its members; the sweeps integrate ``U``, the expected sessions with some member capturing
before its instant, exactly as they integrate the untimed unions (the hazard of ``a`` counts on
the pieces before ``t_a``, its point reads before ``t_a``). Writing the class of ``a`` as "not
captured" (``E(a, inf)``) or "first captured in ``[T_j, T_(j+1))``" (``E(a, T_j)`` minus
``E(a, T_(j+1))``, ``T_0 = -inf``), the expected sessions of every combination of classes is a
finite difference along each attacker's axis of the array of ``-U`` over timed sets
(:func:`class_means`): inclusion and exclusion, refined by the cuts. Attackers that do not try
sessions keep the two classes of the untimed patterns.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from itertools import combinations

import numpy as np

from sim.model.detectors.counting import retention_cutoff
from sim.scenario.model import Scenario

#: Most timed sets integrated for one server and replication (the sweeps' cost and memory
#: grow with them); past it, attempts keep the profile's times (``docs/fast-engine.md``).
MAX_TIMED_SETS = 729

Until = Mapping[str, float]
"""A timed set: each member and the instant before which its captures count."""

Class = tuple[frozenset[str], tuple[int, ...]]
"""The malicious attackers that capture a session, and for each of them that tries sessions
(in name order) the interval between cuts of its first capture (0 before the first cut)."""


def session_log_cuts(scenario: Scenario, server: str) -> tuple[float, ...]:
    """The instants at which a ``session`` detector watching ``server`` starts logging reuse
    attempts (``deployed_at``) or stops keeping them (retention at ``analysis_at``), sorted."""
    cuts: set[float] = set()
    for d in scenario.detectors.values():
        if d.kind == "session" and server in d.servers:
            cuts.update(t for t in (d.deployed_at, retention_cutoff(d, scenario.horizon))
                        if math.isfinite(t))
    return tuple(sorted(cuts))


def timed_sets(
    malicious: Sequence[str], timing: frozenset[str], cuts: Sequence[float]
) -> list[dict[str, float]]:
    """Every timed set, in the C order of :func:`class_means`'s array: per malicious attacker
    (in ``malicious`` order) absent, then (attackers of ``timing`` only) each cut, then
    ``inf``. The first is empty."""
    options = [[-math.inf, *(cuts if a in timing else ()), math.inf] for a in malicious]
    return [{a: t for a, t in zip(malicious, combo) if t > -math.inf}
            for combo in itertools.product(*options)]


def timed_set_count(malicious: int, timing: int, cuts: int) -> int:
    """How many :func:`timed_sets` there are, to know the cost before building them."""
    return (cuts + 2) ** timing * 2 ** (malicious - timing)


def class_means(
    union: np.ndarray, malicious: Sequence[str], timing: frozenset[str], cuts: int
) -> dict[Class, float]:
    """Expected sessions of each class with any (:data:`Class`), from ``union[k]``, the
    expected sessions some member of timed set ``k`` (:func:`timed_sets`' order) captures
    before its instant. Differences that rounding alone could make are dropped: each class
    is a signed sum of at most ``2^len(malicious)`` terms, so anything within that many
    machine epsilons of the sum of their magnitudes is 0."""
    value, size = _differences(union, malicious, timing, cuts)
    noise = 2.0 ** len(malicious) * np.finfo(float).eps * size
    return {c: float(value[i]) for c, i in _classes(malicious, timing, value.shape)
            if value[i] > noise[i]}


def class_chances(
    union: np.ndarray, malicious: Sequence[str], timing: frozenset[str], cuts: int
) -> tuple[list[Class], np.ndarray]:
    """:func:`class_means` for many sessions at once: ``union[k, i]`` the chance that some
    member of timed set ``k`` captures session ``i`` before its instant; every class in
    :func:`class_means`' order, and each one's chance per session (rounding below 0 clipped)."""
    value, _ = _differences(union, malicious, timing, cuts)
    listed = _classes(malicious, timing, value.shape[:len(malicious)])
    chances = np.array([value[i] for _, i in listed]).reshape(len(listed), *union.shape[1:])
    return [c for c, _ in listed], np.maximum(chances, 0.0)


def _differences(union: np.ndarray, malicious: Sequence[str], timing: frozenset[str],
                 cuts: int) -> tuple[np.ndarray, np.ndarray]:
    """Per combination of classes (one axis per malicious attacker, then ``union``'s own),
    the signed sum of ``-union`` that gives its sessions, and the sum of the magnitudes."""
    shape = tuple(cuts + 2 if a in timing else 2 for a in malicious)
    rest = union.shape[1:]
    value, size = -union.reshape(shape + rest), np.abs(union).reshape(shape + rest)
    for axis, n in enumerate(shape):
        # inputs absent, T_1 .. T_C, inf; outputs not captured, then each interval of first capture
        d = np.zeros((n, n))
        d[0, n - 1] = 1.0
        for j in range(n - 1):
            d[j + 1, j], d[j + 1, j + 1] = 1.0, -1.0
        value = np.moveaxis(np.tensordot(d, value, axes=([1], [axis])), 0, axis)
        size = np.moveaxis(np.tensordot(np.abs(d), size, axes=([1], [axis])), 0, axis)
    return value, size


def _classes(malicious: Sequence[str], timing: frozenset[str],
             shape: tuple[int, ...]) -> list[tuple[Class, tuple[int, ...]]]:
    """Every class with a capture, by size, then in the order of combinations, then of the
    intervals; and its index along the attackers' axes."""
    out = []
    members = list(malicious)
    for k in range(1, len(members) + 1):
        for pattern in combinations(range(len(members)), k):
            tried = [i for i in pattern if members[i] in timing]
            ranges = [range(shape[i] - 1) for i in tried]
            for classes in itertools.product(*ranges):
                index = [0] * len(members)
                for i in pattern:
                    index[i] = 1
                for i, j in zip(tried, classes):
                    index[i] = j + 1
                out.append(((frozenset(members[i] for i in pattern), classes), tuple(index)))
    return out
