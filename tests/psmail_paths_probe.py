"""PSMail's own paths on the agreement suite's ``heavy`` scenario, against its stored reference.

    .venv/bin/python tests/psmail_paths_probe.py [REPLICATIONS] [--jobs N]

PSMail's mail servers are too busy for the literal draws: their passwords take the counting
chain beside sessions that empty the slot (``docs/fast-engine.md`` item 12) and their sessions
the integrated sweep (items 3, 4 and 6), beside heavy attackers' phases (item 9). ``heavy``
(one heavy attacker beside listed ones) takes the shared buffer's literal draw for both, so the
agreement suite never meets those paths there. This forces them (the drawn and shared paths'
limits closed) and compares ``REPLICATIONS`` fast replications (default 20,000; seed 11) with
the stored 120,000 reference replications on every quantity, at the scenario's family ``z``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from agreement import (  # noqa: E402
    FAST_SEED,
    JOINT,
    SCENARIOS,
    compared,
    family_z,
    forced,
    judge,
    outcomes,
    pooled,
    standard_error,
)


def _chunk(start: int, stop: int) -> dict[str, np.ndarray]:
    from sim.engines.fast import passwords, sessions, shared_buffer

    with (forced(sessions, "LITERAL_LIMIT", -1.0), forced(shared_buffer, "DRAWN_LIMIT", -1.0),
          forced(passwords, "DRAWN_LIMIT", -1.0)):
        return outcomes("fast", SCENARIOS["heavy"](), range(start, stop), FAST_SEED)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("replications", type=int, nargs="?", default=20_000)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    fast = pooled(_chunk, args.replications, args.jobs)
    pairs = [(line, f, r) for line, f, r in compared("heavy", fast, sorted(fast))
             if f.var or r.var]
    z = family_z(len(pairs))
    print(f"{len(pairs)} comparisons, family z {z:.2f}")
    ranked = sorted(pairs, key=lambda p: -abs(p[1].mean - p[2].mean) / standard_error(p[1], p[2]))
    for line, f, r in ranked[:15]:
        judge(("(joint, item 9) " if JOINT in line else "") + line, f, r, z)


if __name__ == "__main__":
    main()
