"""Logins with captured passwords in the fast engine (``model.md`` rule 22).

An attacker whose ``reuse`` lists ``passwords`` logs in once with each static password it
captures, at the capture, from a uniform one of its sources; the login is logged unless the
shared-address draw says the attacker shares the victim's address. The number of logins is
the attacker's own count of distinct captured logins, drawn by :mod:`.buffers` (so P(any
login) is exactly P(any reusable password)); only their times need drawing here.

Times follow the attacker's rate of first captures per worker in each segment, in steady
state: a login leaves an uncaptured password at rate ``lambda`` (logins per worker), the
attacker's connections read it at ``h = nu (1 - (1 - c)^k)``, and its residency ends at
``delta`` (the worker's request rate for ``next_request``, its key operations for
``next_handshake``, ``1/m`` for a mean residency ``m``), so the slot holds an uncaptured
password with probability ``lambda / (delta + h)`` (``lambda <= delta`` for ``next_request``,
where a login is itself a request) and first captures come at ``h lambda / (delta + h)``.
This profile ignores the point reads of crashing and key-capturing connections and the
transient after restarts: it places logins in the right attack phases, which is what a login
detector's ``deployed_at`` and ``retention`` can tell apart (``docs/fast-engine.md``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from sim.engines.fast.segments import AttackerRates, Segment
from sim.model.record import PasswordLogins
from sim.scenario.model import Attacker, PasswordSpec


def _residency_end(spec: PasswordSpec, seg: Segment) -> float:
    if spec.lifetime == "next_request":
        return seg.requests
    if spec.lifetime == "next_handshake":
        return seg.handshakes + sum(a.connection_rate * a.key_ops for a in seg.attackers)
    return 1.0 / spec.lifetime


def _first_capture_rate(spec: PasswordSpec, seg: Segment, a: AttackerRates) -> float:
    """``h lambda / (delta + h)`` per worker, ``h`` the attacker's reading rate."""
    reads = 1.0 if a.c_password >= 1.0 else -math.expm1(a.heartbeats * math.log1p(-a.c_password))
    h = a.connection_rate * reads
    return h * seg.logins / (_residency_end(spec, seg) + h) if h > 0 else 0.0


def login_times(
    spec: PasswordSpec, segments: Sequence[Segment], name: str, n: int, rng: np.random.Generator
) -> np.ndarray:
    """``n`` login times of attacker ``name``, sorted, from its first-capture profile."""
    starts, widths, weights = [], [], []
    for seg in segments:
        for a in seg.attackers:
            if a.name == name and seg.vulnerable and seg.duration > 0:
                starts.append(seg.t0)
                widths.append(seg.duration)
                weights.append(_first_capture_rate(spec, seg, a) * seg.duration)
    assert starts, "passwords are captured only while the attacker reads a vulnerable server"
    w = np.array(weights) if sum(weights) > 0 else np.array(widths)
    pick = rng.choice(len(w), size=n, p=w / w.sum())
    return np.sort(np.array(starts)[pick] + rng.random(n) * np.array(widths)[pick])


def sample_logins(
    spec: PasswordSpec,
    segments: Sequence[Segment],
    captured: dict[str, int],
    attackers: dict[str, Attacker],
    server: str,
    rng: np.random.Generator,
) -> list[PasswordLogins]:
    """The logins of every attacker that logs in with static passwords, given its captures."""
    if spec.kind != "static":
        return []
    out = []
    for name in sorted(captured):
        n = captured[name]
        attacker = attackers[name]
        if n <= 0 or not attacker.logs_in:
            continue
        out.append(PasswordLogins(
            name, server, login_times(spec, segments, name, n, rng),
            rng.integers(attacker.sources, size=n),
            rng.random(n) < spec.shared_address_probability))
    return out
