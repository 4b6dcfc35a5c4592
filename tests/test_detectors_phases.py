"""The sampled phase path against the literal count, where no closed form is handy: phase
boundaries inside windows, two servers overlapping, crashes completing windows, and retention
and deployment cut-offs falling inside windows. Both paths must give the same mean alert
counts (two-sample interval at 99.9%); and sampling must not grow with the number of windows.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from evidence_builders import attacker, detector, difference_interval, literal_connections, scenario

from sim.model.record import AttackPhase, Crash, Observations
from sim.model.detectors import evaluate
from sim.model.detectors.intensity import Intensity

REPS = 400
HORIZON = 300.0

PHASES = [
    AttackPhase("eve", "mail", 10.3, 95.3, 1.6, True),
    AttackPhase("eve", "mail", 95.3, 241.7, 1.6, False),
    AttackPhase("eve", "vpn", 50.5, 200.2, 0.9, True),
]
CRASHES = [
    Crash(t, "eve", server, src, 2, 1)
    for t, server, src in [
        (20.1, "mail", 0), (20.7, "mail", 1), (61.2, "vpn", 0), (149.9, "vpn", 1), (150.1, "vpn", 1)
    ]
]
DETECTORS = [
    detector("sig", "signature", servers=("mail", "vpn"), threshold=5, window=2.0, retention=150.4),
    detector("beats", "rate", servers=("mail", "vpn"), count="heartbeats", threshold=8, window=3.0,
             deployed_at=60.5, retention=149.0),
    detector("asym", "asymmetry", servers=("mail", "vpn"), threshold_bytes=3000, window=5.0,
             retention=200.0),
    detector("conns", "rate", servers=("vpn",), threshold=3, window=2.5, deployed_at=100.0),
    detector("every", "signature", servers=("mail",), deployed_at=150.0, replay_capture=60.0,
             retention=120.0),
]


def counts(form: str, seed: int) -> dict[tuple[str, str], np.ndarray]:
    sc = scenario(
        [attacker(rate=3.2, targets=("mail", "vpn"), heartbeats_per_connection=2, sources=2,
                  payload_bytes=500)],
        DETECTORS,
        servers=("mail", "vpn"),
        horizon=HORIZON,
    )
    rng = np.random.default_rng(seed)
    out: dict[tuple[str, str], list[int]] = {}
    for _ in range(REPS):
        if form == "explicit":
            obs = Observations(connections=literal_connections(PHASES, 2, 2, rng), crashes=CRASHES)
        else:
            obs = Observations(phases=PHASES, crashes=CRASHES)
        summary = evaluate(sc, obs, rng)
        for d in sc.detectors:
            c = summary.counts(d, "eve")
            out.setdefault((d, "raised"), []).append(c.raised)
            out.setdefault((d, "retained"), []).append(c.retained)
    return {k: np.array(v) for k, v in out.items()}


@pytest.fixture(scope="module")
def both() -> tuple[dict[tuple[str, str], np.ndarray], dict[tuple[str, str], np.ndarray]]:
    return counts("explicit", 21), counts("phases", 22)


@pytest.mark.parametrize("detector_name", [d.name for d in DETECTORS])
@pytest.mark.parametrize("which", ["raised", "retained"])
def test_phases_match_literal_counts(both, detector_name: str, which: str) -> None:
    explicit, phases = both
    x, y = explicit[(detector_name, which)], phases[(detector_name, which)]
    assert x.mean() > 0, "the scenario must exercise this detector"
    lo, hi = difference_interval(x, y)
    assert lo <= 0.0 <= hi, (detector_name, which, x.mean(), y.mean())


def test_cost_is_flat_in_the_number_of_windows() -> None:
    """Two years of 1 s windows at 20 heartbeats/s (1.3e9 heartbeats) evaluate in well under a
    second: identical windows are drawn as one binomial."""
    years = 2 * 365 * 86400.0
    det = detector("ids", "signature", threshold=3, window=1.0, retention=90 * 86400.0, deployed_at=1e6 + 0.5)
    sc = scenario([attacker(rate=20.0, sources=7)], [det], horizon=years)
    obs = Observations(phases=[AttackPhase("eve", "mail", 0.0, years, 20.0, True)])
    began = time.perf_counter()
    summary = evaluate(sc, obs, np.random.default_rng(3))
    assert time.perf_counter() - began < 1.0
    c = summary.counts("ids", "eve")
    assert 0 < c.retained < c.raised <= (years - 1e6) * 7


@settings(max_examples=200, deadline=None)
@given(
    edges=st.lists(st.floats(-50.0, 500.0), min_size=1, max_size=8, unique=True).map(sorted),
    data=st.data(),
)
def test_cumulative_intensity_is_numpys_interpolation(edges: list[float], data) -> None:
    """``Intensity.cumulative`` walks Python lists for speed; it must give the very float
    ``np.interp`` gives, at edges, between them and outside, so no draw downstream moves."""
    rates = data.draw(st.lists(st.sampled_from([0.0, 1e-9, 0.37, 2.0, 1e4]),
                               min_size=len(edges) - 1, max_size=len(edges) - 1))
    intensity = Intensity(np.array(edges), np.array(rates, dtype=float))
    points = edges + data.draw(st.lists(st.floats(-100.0, 600.0), max_size=6)) + [-np.inf, np.inf]
    for t in points:
        assert intensity.cumulative(t) == float(np.interp(t, intensity.edges, intensity._cum))
