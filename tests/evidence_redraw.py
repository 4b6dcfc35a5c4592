"""Bounds docs/fast-engine.md item 9 on a scenario file: what drawing heavy attackers' alerts
from the attack phases, apart from their captures and each detector apart from the others,
can move.

Given the skeleton ``S`` (restarts, crashes, key captures, attackers' windows: what the fast
engine's record holds besides the captures), the fast engine draws each traffic detector's
window counts of a heavy attacker from its phases (``sim/model/detectors/phases.py``), on its
own and apart from the captures; in the model the same connections make them all. Each
detector's law given ``S`` is the model's (item 9; item 7 aside). Let ``B`` run over the
indicators such a draw decides (per detector and attacker: an alert raised, an alert
retained) and ``m_B = min(P(B | S), 1 - P(B | S))``. Whatever the joint law of the captures
and of every ``B`` given ``S``, all ``B`` take their likelier values with probability at least
``1 - sum m_B``, so any probability of captures and alerts together (a joint quantity of the
agreement suite, the evidence, a result given it, detection by any of several detectors)
differs between the model and the engine by at most ``2 E[sum m_B]`` (each law's value is
within ``E[sum m_B]`` of the same quantity with every ``B`` at its likelier value). A
result given the evidence, ``P(A, E) / P(E)``, whose numerator and denominator each move
by at most ``b`` (that bound over the indicators the evidence reads), moves by at most
``2 b / (P(E) - b)``.

Two independent draws of the detectors for one record disagree on ``B`` with probability
``E[2 m_B (1 - m_B)] >= E[m_B]``, so ``E[sum m_B] <= E[D]``, ``D`` the number of indicators on
which the two draws of a replication disagree. ``D`` is rarely above 0, so ``E[D]`` is bounded
by the exact one-sided 95% Poisson bound on the number of replications with ``D > 0`` times the
largest ``D`` seen (an assumption: that no replication unseen disagrees on more indicators).
Listed attackers, crashes, logins and session reuses are counted from the record, so their
indicators never disagree. The same over the indicators the evidence reads bounds what a
result given the evidence can move; and how often the two draws disagree on the evidence
itself (``|W1 - W2|``, ``W`` the weight ``analysis.evidence`` gives a replication) is printed.

    .venv/bin/python tests/evidence_redraw.py scenarios/psmail-2014.yaml [REPLICATIONS] [--jobs N]

Replications are the run's own (``monte_carlo.seed``, unstratified), the detectors' second
draw from a stream spawned beside them.
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from scipy.stats import chi2

from sim.analysis.evidence import weights
from sim.engines import get_engine
from sim.model.detectors import evaluate
from sim.montecarlo.layout import Layout
from sim.montecarlo.seeds import replication_seeds
from sim.scenario import Scenario, load_scenario

TRAFFIC = ("signature", "rate", "asymmetry")
CHUNK = 250


def indicators(sc: Scenario) -> list[tuple[str, str, str]]:
    """(detector, attacker, raised or retained) of every traffic detector and every attacker
    sending to a server it watches: the indicators a phase draw can decide."""
    return [(d, a, kind) for d, detector in sc.detectors.items() if detector.kind in TRAFFIC
            for a, attacker in sc.attackers.items()
            if set(attacker.targets) & set(detector.servers) for kind in ("raised", "retained")]


def read_by_evidence(sc: Scenario) -> np.ndarray:
    """Which of :func:`indicators` the evidence reads: retained alerts of every attacker for an
    item ``none``, of malicious ones otherwise (``analysis.evidence.item_factor``)."""
    malicious = {a.name for a in sc.malicious()}
    return np.array([kind == "retained" and d in sc.evidence
                     and (sc.evidence[d] == "none" or a in malicious)
                     for d, a, kind in indicators(sc)], dtype=bool)


def _chunk(path: str, start: int, stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per indicator, the replications whose two detector draws disagree on it; per
    replication, ``D`` over every indicator and over those the evidence reads; and per
    replication the two draws' evidence weights."""
    sc = load_scenario(path)
    simulate = get_engine("fast").simulate
    which = indicators(sc)
    layout = Layout(sc)
    evidence = read_by_evidence(sc)
    disagree = np.zeros(len(which))
    d = np.zeros((stop - start, 2))
    w = np.zeros((stop - start, 2))
    for j, i in enumerate(range(start, stop)):
        seeds = replication_seeds(sc.monte_carlo.seed, i)
        record = simulate(sc, seeds.engine)
        again = np.random.SeedSequence(sc.monte_carlo.seed, spawn_key=(i, 1, 1))
        draws = [evaluate(sc, record.observations, np.random.default_rng(s))
                 for s in (seeds.detectors, again)]
        got = np.array([[getattr(alerts.counts(det, a), kind) > 0 for det, a, kind in which]
                        for alerts in draws], dtype=bool).reshape(2, len(which))
        differ = got[0] != got[1]
        disagree += differ
        d[j] = differ.sum(), differ[evidence].sum()
        w[j] = [weights(layout.row(record, alerts)[None, :], layout, sc)[0] for alerts in draws]
    return disagree, d, w


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario")
    parser.add_argument("replications", nargs="?", type=int, default=20_000)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    sc = load_scenario(args.scenario)
    which = indicators(sc)
    n = args.replications
    starts = range(0, n, CHUNK)
    disagree = np.zeros(len(which))
    ds, ws = [], []
    with ProcessPoolExecutor(args.jobs) as pool:
        for done, (part, d, w) in enumerate(pool.map(
                _chunk, [args.scenario] * len(starts), starts,
                [min(s + CHUNK, n) for s in starts]), 1):
            disagree += part
            ds.append(d)
            ws.append(w)
            print(f"\r{min(done * CHUNK, n):,} of {n:,}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    d, w = np.concatenate(ds), np.concatenate(ws)
    some, most = int((d[:, 0] > 0).sum()), d[:, 0].max(initial=0.0)
    some_read, most_read = int((d[:, 1] > 0).sum()), d[:, 1].max(initial=0.0)
    p_evidence, gap = w[:, 0].mean(), np.abs(w[:, 0] - w[:, 1]).mean()
    for (det, a, kind), k in sorted(zip(which, disagree), key=lambda x: -x[1]):
        if k:
            print(f"{det:18s} {a:18s} {kind:8s} disagree in {int(k)} of {n:,}")

    def upper(replications: float, largest: float, indicators: int) -> float:
        """95% bound on ``E[D]``: Poisson on the replications with ``D > 0``, times the
        largest ``D`` seen (0 without an indicator that could disagree)."""
        if indicators == 0:
            return 0.0
        return float(chi2.ppf(0.95, 2 * (replications + 1))) / 2 / n * max(largest, 1.0)

    every = upper(some, most, len(which))
    read_count = int(read_by_evidence(sc).sum())
    read = upper(some_read, most_read, read_count)
    print(f"{Path(args.scenario).name}, {n:,} replications, {len(which)} indicators a phase "
          f"draw decides ({read_count} read by the evidence):\n"
          f"  D > 0 in {int(some)} (largest {int(most)}), E[D] <= {every:.5f} (95%): any joint "
          f"probability of captures and "
          f"alerts moves by at most {2 * every:.5f}\n"
          f"  over the evidence's: D > 0 in {int(some_read)} (largest {int(most_read)}), E[D] "
          f"<= {read:.5f}: a joint "
          f"probability of captures and the evidence by at most {2 * read:.5f}, a result given "
          f"the evidence (P(evidence) {p_evidence:.4f}) by at most "
          f"{4 * read / (p_evidence - 2 * read):.5f}\n"
          f"  the two draws' evidence weights differ by {gap:.6f} on average")


if __name__ == "__main__":
    main()
