"""Measures docs/fast-engine.md item 9: a heavy attacker's captures and evidence together.

An attacker above ``LISTED_LIMIT`` keeps hazards for its reads and phases for the detectors,
independent given the skeleton where the model has them dependent. This runs ``sneak`` at
2,100 connections to the mail server (0.5 per second from 3,000 s to the horizon), with small
capture chances and detector thresholds near its window counts so that captures and retained
alerts are both far from certain, three ways: the fast engine as it runs (``unlisted``), the
fast engine with the attacker listed (``listed``, exact), and the reference engine; and
prints every P(any) against the reference, worst first.

    .venv/bin/python tests/heavy_evidence.py [REPLICATIONS]   # 8,000: about 25 CPU-minutes
"""

from __future__ import annotations

import math
import sys
from dataclasses import replace

from agreement import Detector, PasswordSpec, SessionSpec, never, outcomes, small_scenario

from sim.engines.fast import listed


def heavy():  # noqa: ANN201 - a Scenario
    sc = never(small_scenario(
        passwords=PasswordSpec(capture=0.004),
        sessions=SessionSpec(ttl=600.0, requests_per_s=0.002, capture=0.002, binding=("ip",),
                             shared_address_probability=0.3)))
    every = ("mail",)
    detectors = {
        **sc.detectors,
        "volume": Detector(name="volume", kind="rate", servers=every, count="heartbeats",
                           threshold=470, window=900.0, retention=1800.0),
        "bytes": Detector(name="bytes", kind="asymmetry", servers=every,
                          threshold_bytes=10_200_000, window=1200.0, retention=2400.0),
    }
    attackers = {**sc.attackers, "sneak": replace(sc.attackers["sneak"], rate=0.5, presence=1.0)}
    return replace(sc, attackers=attackers, detectors=detectors)


def main(n: int) -> None:
    sc = heavy()
    ref = outcomes("reference", sc, n, seed=23)
    unlisted = outcomes("fast", sc, n, seed=22)
    listed.LISTED_LIMIT = math.inf
    exact = outcomes("fast", sc, n, seed=21)
    for arm, values in (("unlisted", unlisted), ("listed", exact)):
        rows = []
        for q in sorted(values):
            a, b = values[q] > 0, ref[q] > 0
            se = math.sqrt(a.var() / a.size + b.var() / b.size)
            if se > 0:
                rows.append((abs(a.mean() - b.mean()) / se, q, a.mean(), b.mean(), se))
        rows.sort(reverse=True)
        print(f"{arm} against reference, {len(rows)} P(any), {n} replications a side:")
        for z, q, pa, pb, se in rows:
            print(f"  z = {z:4.2f}  {q:45s} {pa:.4f} vs {pb:.4f} (se {se:.4f})")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 8000)
