"""Checks at full power the slot drawn at the reads for ``next_request`` passwords beside
tokens that outlive the next request (``sim/engines/fast/password_reads.py``,
``sample_slot_passwords_at_reads``), which replaced the counting chain there on 2026-12-07
(item 12 of ``docs/fast-engine.md``).

The agreement suite's ``choices`` with tokens kept 300 s (``tokens_lasting``; or until the next
key operation with ``handshake``) and without ``max_requests``, so nothing else on its paths
approximates (items 11 and 13). Its requests are few, so the fast engine would draw the slot
literally or with the sessions (``shared_buffer.py``): both are forced off, a spy counts the
server replications the new draw took, and every quantity the suite extracts is compared with
a fresh reference run at the family ``z``, each side seeded apart from every stored run:

    .venv/bin/python tests/slot_reads_probe.py [REPLICATIONS] [SEED] [300|handshake]
    # 40,000 a side: about 3.5 minutes on 2 cores
"""

from __future__ import annotations

import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace

import numpy as np

from agreement import compared, differences, forced, outcomes, spied, tokens_lasting
from sim.engines.fast import passwords, shared_buffer
from sim.scenario.model import Scenario

CHUNK = 1_000


def scenario(tokens: str) -> Scenario:
    sc = tokens_lasting("next_handshake" if tokens == "handshake" else float(tokens))()
    mail = sc.servers["mail"]
    return replace(sc, servers={"mail": replace(
        mail, restart=replace(mail.restart, max_requests=None))})


def _run(engine: str, tokens: str, start: int, stop: int,
         seed: int) -> tuple[dict[str, np.ndarray], int]:
    if engine == "reference":
        return outcomes("reference", scenario(tokens), range(start, stop), seed), 0
    calls = {"reads": 0}
    with (forced(passwords, "DRAWN_LIMIT", -1.0), forced(shared_buffer, "SHARED_LIMIT", -1.0),
          forced(passwords, "sample_slot_passwords_at_reads",
                 spied(calls, "reads", passwords.sample_slot_passwords_at_reads))):
        return outcomes("fast", scenario(tokens), range(start, stop), seed), calls["reads"]


def _side(engine: str, tokens: str, n: int, seed: int) -> tuple[dict[str, np.ndarray], int]:
    starts = list(range(0, n, CHUNK))
    with ProcessPoolExecutor(2) as pool:
        parts = list(pool.map(_run, [engine] * len(starts), [tokens] * len(starts), starts,
                              [min(s + CHUNK, n) for s in starts], [seed] * len(starts)))
    return ({q: np.concatenate([p[q] for p, _ in parts]) for q in parts[0][0]},
            sum(c for _, c in parts))


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 40_000
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 901
    tokens = sys.argv[3] if len(sys.argv) > 3 else "300"
    fast, drawn = _side("fast", tokens, n, seed)
    reference, _ = _side("reference", tokens, n, seed + 1)
    print(f"fast: the slot at the reads drew {drawn:,} of {n:,} server replications")
    pairs = compared("slot-reads", fast, sorted(fast), reference)
    failures = differences("slot-reads", pairs)
    for line, f, r in pairs:
        if "password" in line:
            z = (f.mean - r.mean) / max(np.sqrt(f.var / f.n + r.var / r.n), 1e-300)
            print(f"  {line}: fast {f.mean:.4f}, reference {r.mean:.4f}, z {z:+.2f}")
    print(f"{len(failures)} beyond the family z: " + ", ".join(failures))


if __name__ == "__main__":
    main()
