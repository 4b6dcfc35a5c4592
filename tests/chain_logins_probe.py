"""Measures item 10 of ``docs/fast-engine.md`` (the counting chain draws each attacker's login
times apart from how many passwords it took) at full power.

The agreement suite's ``choices`` (attackers that log in with the passwords they capture, some
from shared addresses, a ``login`` detector whose retention cuts inside the attacks) without
sessions and without ``max_requests``, so that the chain is exact but for this item: no slot
that sessions empty (item 12), no lifetime whose requests its count conditions (item 13). The
fast engine is forced onto the chain (the draw at the reads, which it takes here, off), a spy
checks that the chain drew every server replication with a reader, and every quantity the
suite extracts is compared with a fresh reference run at the family ``z``, each side seeded
apart from every stored run:

    .venv/bin/python tests/chain_logins_probe.py [REPLICATIONS] [SEED]   # 100,000: 10 min, 2 cores
"""

from __future__ import annotations

import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace

import numpy as np

from agreement import choices, compared, differences, forced, outcomes, spied
from sim.engines.fast import passwords, slot_looks
from sim.scenario.model import Scenario

CHUNK = 5_000


def scenario() -> Scenario:
    sc = choices()
    mail = sc.servers["mail"]
    return replace(sc, servers={"mail": replace(
        mail, sessions=None, restart=replace(mail.restart, max_requests=None))})


def _run(engine: str, start: int, stop: int, seed: int) -> tuple[dict[str, np.ndarray], int]:
    if engine == "reference":
        return outcomes("reference", scenario(), range(start, stop), seed), 0
    calls = {"chain": 0}
    with (forced(slot_looks, "LOOKS_LIMIT", -1.0),
          forced(passwords, "sample_passwords",
                 spied(calls, "chain", passwords.sample_passwords))):
        return outcomes("fast", scenario(), range(start, stop), seed), calls["chain"]


def _side(engine: str, n: int, seed: int) -> tuple[dict[str, np.ndarray], int]:
    starts = list(range(0, n, CHUNK))
    with ProcessPoolExecutor(2) as pool:
        parts = list(pool.map(_run, [engine] * len(starts), starts,
                              [min(s + CHUNK, n) for s in starts], [seed] * len(starts)))
    return ({q: np.concatenate([p[q] for p, _ in parts]) for q in parts[0][0]},
            sum(c for _, c in parts))


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1010
    fast, chained = _side("fast", n, seed)
    reference, _ = _side("reference", n, seed + 1)
    print(f"fast: the chain drew {chained:,} of {n:,} server replications")
    pairs = compared("chain-logins", fast, sorted(fast), reference)
    failures = differences("chain-logins", pairs)
    for line, f, r in pairs:
        quantity = line.split(" ")[1]
        if quantity.startswith("logins/") or quantity == "password_logins":
            print(f"  {line}: fast {f.mean:.4f}, reference {r.mean:.4f}")
    print(f"{len(failures)} beyond the family z: " + ", ".join(failures))


if __name__ == "__main__":
    main()
