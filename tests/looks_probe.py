"""Measures the draw at the reads with arrays (``sim/engines/fast/slot_looks.py``) at full power.

The agreement suite's ``heavy`` on PSMail's paths (``agreement.psmail_path_outcomes``, as the
stored ``heavy-psmail-paths``), with every server replication's passwords and sessions drawn
with arrays where they would be drawn one look at a time (``slot_looks.CANDIDATE_LIMIT``
forced below every candidate count), against the stored reference run of ``heavy``
(120,000 replications): every quantity but item 9's (a capture read jointly with a heavy
attacker's alerts), at the family ``z``, as ``test_engines_agree.py`` compares
``heavy-psmail-paths``. A fresh seed, so the fast side is independent of every stored run:

    .venv/bin/python tests/looks_probe.py [REPLICATIONS] [SEED]   # 20,000: 4 minutes, 2 cores
"""

from __future__ import annotations

import sys
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from agreement import (
    JOINT,
    SCENARIOS,
    compared,
    differences,
    forced,
    load_reference,
    psmail_path_outcomes,
)
from sim.engines.fast import slot_looks

CHUNK = 1_000


def _run(start: int, stop: int, seed: int) -> dict[str, np.ndarray]:
    with forced(slot_looks, "CANDIDATE_LIMIT", -1.0):
        return psmail_path_outcomes("fast", SCENARIOS["heavy"](), range(start, stop), seed)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 611
    starts = list(range(0, n, CHUNK))
    with ProcessPoolExecutor(2) as pool:
        parts = list(pool.map(_run, starts, [min(s + CHUNK, n) for s in starts],
                              [seed] * len(starts)))
    fast = {q: np.concatenate([p[q] for p in parts]) for q in parts[0]}
    pairs = [pair for pair in compared("heavy", fast, sorted(fast), load_reference("heavy"))
             if JOINT not in pair[0]]
    failures = differences("heavy", pairs)
    print(f"{len(failures)} beyond the family z: " + ", ".join(failures))


if __name__ == "__main__":
    main()
