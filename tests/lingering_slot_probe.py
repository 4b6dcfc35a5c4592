"""Checks at full power passwords kept for a duration beside ``next_request`` tokens, drawn
with them by the shared buffer's literal draw since 2026-12-07 (``sim/engines/fast/
shared_buffer.py``, ``lingers_beside_slot``; item 14 of ``docs/fast-engine.md``).

``agreement.passwords_lasting(900)``: ``choices`` with passwords kept 15 minutes (or, with
``handshake``, until the next key operation), one login in 1,000 s and no ``max_requests``, which takes that draw as it runs (a spy counts the server
replications). Every quantity the suite extracts is compared with a fresh reference run at the
family ``z``, each side seeded apart from every stored run:

    .venv/bin/python tests/lingering_slot_probe.py [REPLICATIONS] [SEED] [900|handshake]
    # 40,000 a side: about 3 minutes on 2 cores
"""

from __future__ import annotations

import sys
from concurrent.futures import ProcessPoolExecutor

import numpy as np

import sim.engines.fast as fast_engine
from agreement import compared, differences, forced, outcomes, passwords_lasting, spied

CHUNK = 1_000


def _run(engine: str, lifetime: str, start: int, stop: int,
         seed: int) -> tuple[dict[str, np.ndarray], int]:
    sc = passwords_lasting("next_handshake" if lifetime == "handshake" else float(lifetime))()
    if engine == "reference":
        return outcomes("reference", sc, range(start, stop), seed), 0
    calls = {"shared": 0}
    with forced(fast_engine, "sample_shared_buffer",
                spied(calls, "shared", fast_engine.sample_shared_buffer)):
        return outcomes("fast", sc, range(start, stop), seed), calls["shared"]


def _side(engine: str, lifetime: str, n: int,
          seed: int) -> tuple[dict[str, np.ndarray], int]:
    starts = list(range(0, n, CHUNK))
    with ProcessPoolExecutor(2) as pool:
        parts = list(pool.map(_run, [engine] * len(starts), [lifetime] * len(starts), starts,
                              [min(s + CHUNK, n) for s in starts], [seed] * len(starts)))
    return ({q: np.concatenate([p[q] for p, _ in parts]) for q in parts[0][0]},
            sum(c for _, c in parts))


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 40_000
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 911
    lifetime = sys.argv[3] if len(sys.argv) > 3 else "900"
    fast, drawn = _side("fast", lifetime, n, seed)
    reference, _ = _side("reference", lifetime, n, seed + 1)
    print(f"fast: the shared draw took {drawn:,} of {n:,} server replications")
    pairs = compared("lingering-slot", fast, sorted(fast), reference)
    failures = differences("lingering-slot", pairs)
    for line, f, r in pairs:
        if "password" in line or "session" in line.split(" ")[1]:
            z = (f.mean - r.mean) / max(np.sqrt(f.var / f.n + r.var / r.n), 1e-300)
            print(f"  {line}: fast {f.mean:.4f}, reference {r.mean:.4f}, z {z:+.2f}")
    print(f"{len(failures)} beyond the family z: " + ", ".join(failures))


if __name__ == "__main__":
    main()
