"""Small resolved scenarios built straight from the dataclasses, so that detector, evidence and
claim tests do not depend on the loader or an engine."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from sim.model.record import AttackPhase, Connection
from sim.montecarlo.layout import Layout
from sim.scenario.model import (
    Attacker,
    Claim,
    Detector,
    EvidenceState,
    KeySpec,
    Scenario,
    Server,
    Timeline,
)

#: Tests compare estimates with closed forms at 99.9% (two-sided), so that a file holding a few
#: dozen such checks stays reliable under fixed seeds that nobody tuned.
Z_CHECK = float(stats.norm.ppf(0.9995))


def attacker(name: str = "eve", targets: tuple[str, ...] = ("mail",), **kw: object) -> Attacker:
    base: dict[str, object] = {"rate": 1.0, "start_low": 0.0, "start_high": 0.0}
    base.update(kw)
    return Attacker(name=name, targets=targets, **base)  # type: ignore[arg-type]


def detector(name: str, kind: str, servers: tuple[str, ...] = ("mail",), **kw: object) -> Detector:
    return Detector(name=name, kind=kind, servers=servers, **kw)  # type: ignore[arg-type]


def scenario(
    attackers: list[Attacker],
    detectors: list[Detector],
    servers: tuple[str, ...] = ("mail",),
    horizon: float = 1000.0,
    evidence: dict[str, EvidenceState] | None = None,
    claims: list[Claim] | None = None,
) -> Scenario:
    return Scenario(
        name="test",
        timeline=Timeline("2014-04-01T00:00:00Z", 0.0, horizon / 2, horizon),
        servers={
            s: Server(name=s, role="mail", keys=KeySpec(reachable=1.0), heap_bytes=1 << 20)
            for s in servers
        },
        attackers={a.name: a for a in attackers},
        detectors={d.name: d for d in detectors},
        evidence=evidence or {},
        claims={c.name: c for c in claims or []},
    )


def literal_connections(
    phases: list[AttackPhase], sources: int, heartbeats: int, rng: np.random.Generator
) -> list[Connection]:
    """The connections a phase list stands for, drawn one by one: what the reference engine
    would list. Independent of the detector code it checks."""
    out: list[Connection] = []
    for p in phases:
        n = rng.poisson(p.connection_rate * (p.t1 - p.t0))
        for t, s in zip(rng.uniform(p.t0, p.t1, n), rng.integers(0, sources, n)):
            answered = heartbeats if p.vulnerable else 0
            out.append(Connection(float(t), p.attacker, p.server, int(s), heartbeats, answered))
    return out


def normal_interval(values: np.ndarray, z: float = Z_CHECK) -> tuple[float, float]:
    """Mean +/- z standard errors of per-replication values."""
    half = z * float(np.std(values, ddof=1)) / math.sqrt(values.size)
    m = float(np.mean(values))
    return m - half, m + half


def difference_interval(x: np.ndarray, y: np.ndarray, z: float = Z_CHECK) -> tuple[float, float]:
    """Interval for ``mean(x) - mean(y)`` of two independent samples."""
    d = float(np.mean(x) - np.mean(y))
    half = z * math.sqrt(np.var(x, ddof=1) / x.size + np.var(y, ddof=1) / y.size)
    return d - half, d + half


N = 20000
PI, Q, B, K, P = 0.4, 0.5, 0.3, 0.7, 0.6


def one_detector_rows(state: str, seed: int) -> tuple[Scenario, Layout, np.ndarray]:
    """Attacker ``eve`` present with probability ``PI`` leaves a retained alert with
    probability ``Q`` when present and takes the key with probability ``K`` (independently); a
    benign scanner leaves one with probability ``B``; the detector's notice probability is
    ``P``; the evidence about it is ``state``."""
    sc = scenario(
        [attacker("eve"), attacker("scan", benign=True)],
        [detector("ids", "signature", notice_probability=P)],
        evidence={"ids": state},  # type: ignore[dict-item]
    )
    layout, rows = rows_for(sc, N)
    rng = np.random.default_rng(seed)
    present = rng.random(N) < PI
    alert = present & (rng.random(N) < Q)
    key = present & (rng.random(N) < K)
    put(layout, rows, "present/eve", present)
    put(layout, rows, "present/scan", 1.0)
    put(layout, rows, "detector/ids/eve/retained", alert * (1 + rng.poisson(2.0, N)))
    put(layout, rows, "detector/ids/scan/retained", rng.random(N) < B)
    for col in ("total/key", "server/mail/key", "attacker/eve/key", "attacker/eve/server/mail/key"):
        put(layout, rows, col, key)
    return sc, layout, rows


def likelihoods(state: str) -> tuple[float, float]:
    """``(P(E | present), P(E | absent))``."""
    if state == "none":
        return 1 - P * (1 - (1 - Q) * (1 - B)), 1 - P * B
    if state == "benign_only":
        return 1 - P * Q, 1.0
    return P * Q, 0.0


def rows_for(sc: Scenario, n: int) -> tuple[Layout, np.ndarray]:
    """An all-zero block of ``n`` replication rows, to be filled column by column."""
    layout = Layout(sc)
    return layout, np.zeros((n, len(layout)))


def put(layout: Layout, rows: np.ndarray, name: str, values: np.ndarray | float) -> None:
    rows[:, layout.index[name]] = values
