"""The session log against the reference engine where attempts used to be timed by every capture.

    .venv/bin/python tests/session_cuts_probe.py [REPLICATIONS] [--jobs N]

``test_fast_session_cuts.cut_case`` (busy sessions read many times each, the retention cutoff
mid-attack), the fast engine on its heavy paths (the integrated session sweep, forced) against
the reference engine, ``REPLICATIONS`` a side (default 3,000; fast seed 11, reference seed 12),
every quantity of ``tests/agreement.py`` compared at z = 3.29. On 2026-12-06: the session log's
retained alerts 15.62 against the reference's 15.50 +- 0.10, where timing attempts by every
capture (``session_cuts.MAX_TIMED_SETS = 0``) gave 17.16.
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from agreement import JOINT, compared, heavy_path_outcomes, judge  # noqa: E402
from test_fast_session_cuts import cut_case  # noqa: E402


def _chunk(engine: str, start: int, stop: int) -> dict[str, np.ndarray]:
    return heavy_path_outcomes(engine, cut_case(), range(start, stop),
                               11 if engine == "fast" else 12)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("replications", type=int, nargs="?", default=3_000)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    edges = np.linspace(0, args.replications, args.jobs + 1).astype(int).tolist()
    runs = {}
    with ProcessPoolExecutor(args.jobs) as pool:
        for engine in ("fast", "reference"):
            parts = list(pool.map(_chunk, [engine] * args.jobs, edges[:-1], edges[1:]))
            runs[engine] = {q: np.concatenate([p[q] for p in parts]) for q in parts[0]}
    quantities = [q for q in sorted(runs["fast"]) if JOINT not in q]
    for line, f, r in compared("cuts", runs["fast"], quantities, runs["reference"]):
        if f.var or r.var:
            judge(line, f, r)


if __name__ == "__main__":
    main()
