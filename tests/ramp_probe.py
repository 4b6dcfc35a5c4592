"""Measures docs/fast-engine.md item 8: an attack inside the session ramp after the cold start.

The agreement suite's mail server (sessions of 600 s, ``max_requests: 80``) with the reaper
alone, sending from the cold start for 2,400 s, so its first ``ttl`` falls on the ramp the
fast engine follows as a staircase (rule 2 advises against such a start; nothing refuses it).
Both engines, every quantity of the suite compared at its family ``z``
(``agreement.differences``, as the every-outcome test does):

    .venv/bin/python tests/ramp_probe.py [REPLICATIONS]   # 20,000 a side: 6 minutes, 2 cores
"""

from __future__ import annotations

import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace

import numpy as np

from agreement import compared, differences, never, outcomes, small_scenario
from sim.scenario.model import Scenario


def ramp() -> Scenario:
    sc = never(small_scenario())
    reaper = replace(sc.attackers["reaper"], start_low=0.0, start_high=0.0)
    return replace(sc, attackers={"reaper": reaper})


def _run(engine: str, n: int, seed: int) -> dict[str, np.ndarray]:
    return outcomes(engine, ramp(), n, seed)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    with ProcessPoolExecutor(2) as pool:
        fast, ref = pool.map(_run, ("fast", "reference"), (n, n), (501, 502))
    failures = differences("ramp", compared("ramp", fast, sorted(fast), ref))
    print(f"{len(failures)} beyond the family z: " + ", ".join(failures))


if __name__ == "__main__":
    main()
