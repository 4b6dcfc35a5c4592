"""The shipped what-if scenario, ``scenarios/restart-tuning.yaml``, in both engines.

Since late on 2026-12-06 no entry of ``docs/fast-engine.md``'s "Where it approximates" acts on
this scenario (the paragraph "`restart-tuning` feels none of them" says why, entry by entry):
its lingering passwords and tokens are drawn together login by login (``login_pairs.py``), it
has no ``max_requests``, no ``next_request`` buffer, no transient key copies and no detector.
This checks the claim against the reference engine, which takes 15 to 30 seconds a
replication here (three days of requests at 3 a second and 52,000 attacker connections, every
one simulated), so the reference side is small and the comparison is of means: each of the
server's key, password and session outcomes, with the z of their difference.

    .venv/bin/python tests/restart_tuning_probe.py [REFERENCE_REPLICATIONS]   # 100: 28 min

on 2 cores; the fast side runs 20 times as many.
"""

from __future__ import annotations

import math
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from sim.engines import get_engine
from sim.scenario.loader import load_scenario

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "restart-tuning.yaml"
SEEDS = {"fast": 81, "reference": 82}
OUTCOMES = ("key", "password", "session", "session_hijack")


def replicate(engine: str, i: int) -> tuple[float, ...]:
    """The server's count of each outcome in replication ``i`` of ``engine``."""
    sc = load_scenario(SCENARIO)
    record = get_engine(engine).simulate(sc, np.random.SeedSequence(SEEDS[engine],
                                                                     spawn_key=(i,)))
    return tuple(float(getattr(record.servers["mail"], o)) for o in OUTCOMES)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    with ProcessPoolExecutor(2) as pool:
        runs = {engine: np.array(list(pool.map(replicate, [engine] * size, range(size),
                                                chunksize=max(1, size // 40))))
                for engine, size in (("fast", 20 * n), ("reference", n))}
    for j, outcome in enumerate(OUTCOMES):
        f, r = runs["fast"][:, j], runs["reference"][:, j]
        se = math.sqrt(f.var(ddof=1) / f.size + r.var(ddof=1) / r.size)
        z = (f.mean() - r.mean()) / se if se > 0 else 0.0
        print(f"{outcome:15s} fast {f.mean():10.3f} ({f.size})  reference {r.mean():10.3f} "
              f"({r.size})  difference {f.mean() - r.mean():+.3f}  z {z:+.2f}")


if __name__ == "__main__":
    main()
