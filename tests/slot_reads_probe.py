"""Checks at full power the two draws that took ``next_request`` slots beside other residencies
off the chain and off drawing apart on 2026-12-07 (items 12 and 14 of ``docs/fast-engine.md``):

* ``reads``: ``next_request`` passwords beside tokens that outlive the next request, the slot
  drawn at the reads (``sim/engines/fast/password_reads.py``,
  ``sample_slot_passwords_at_reads``), on ``agreement.tokens_lasting`` (``choices`` with
  tokens kept 300 s, or until the next key operation with ``handshake``) without
  ``max_requests``. Its requests are few, so the fast engine would draw the slot literally or
  with the sessions (``shared_buffer.py``), and since 2026-12-07's last night past that with
  the sessions where the reads look (``takes`` below): all three are forced off.
* ``shared``: passwords kept 900 s (or until the next key operation) beside ``next_request``
  tokens, drawn with them by the shared buffer's literal draw (``shared_buffer.py``,
  ``lingers_beside_slot``), on ``agreement.passwords_lasting`` (one login in 1,000 s, no
  ``max_requests``), which takes it as it runs;
* ``counted``: the same with ``choices``' ``max_requests`` kept, which the shared buffer's
  draw takes on the logins the skeleton drew, each lifetime given its count (since
  2026-12-07 late; before, drawn apart: the passwords on the lingering path, the tokens on
  their own);
* ``looks``: the scenario of ``shared``, drawn where the reads look with the passwords
  along (``sim/engines/fast/lingering_looks.py``, since 2026-12-07 late; before, past the
  shared buffer's bounds, drawn apart): the shared buffer's draw is forced off;
* ``looks-counted``: the same on the scenario of ``counted``, on the logins the skeleton
  drew, each lifetime's connections given its count;
* ``takes``: the scenario of ``reads``, both kinds drawn together, the passwords where the
  reads look and the tokens where their copies are taken
  (``sim/engines/fast/slot_takes.py``, since 2026-12-07's last night; before, past the
  shared buffer's bounds, drawn apart as ``reads`` draws them): the shared buffer's draw is
  forced off;
* ``takes-counted``: the same with ``choices``' ``max_requests`` kept (the looks and the
  copies take each lifetime's requests free of the count that ended it, item 13).

A spy counts the server replications the draw took, and every quantity the suite extracts is
compared with a fresh reference run at the family ``z``, each side seeded apart from every
stored run:

    .venv/bin/python tests/slot_reads_probe.py
        reads|shared|counted|looks|looks-counted|takes|takes-counted [LIFETIME|handshake] [N] [SEED]
    # 40,000 a side (the default): about 3.5 minutes on 2 cores
"""

from __future__ import annotations

import sys
from concurrent.futures import ProcessPoolExecutor

import numpy as np

import sim.engines.fast as fast_engine
from agreement import (
    compared,
    differences,
    forced,
    outcomes,
    passwords_lasting,
    spied,
    tokens_lasting,
)
from sim.engines.fast import passwords, shared_buffer, slot_takes
from sim.scenario.model import Scenario

CHUNK = 1_000


def scenario(path: str, lifetime: str) -> Scenario:
    rule = "next_handshake" if lifetime == "handshake" else float(lifetime)
    if not path.startswith(("reads", "takes")):
        return passwords_lasting(rule, counted=path in ("counted", "looks-counted"))()
    return tokens_lasting(rule, counted=path == "takes-counted")()


def _run(engine: str, path: str, lifetime: str, start: int, stop: int,
         seed: int) -> tuple[dict[str, np.ndarray], int]:
    sc = scenario(path, lifetime)
    if engine == "reference":
        return outcomes("reference", sc, range(start, stop), seed), 0
    calls = {"drawn": 0}
    if path.startswith("looks"):
        with (forced(shared_buffer, "SHARED_LIMIT", -1.0),
              forced(fast_engine, "sample_lingering_looks",
                     spied(calls, "drawn", fast_engine.sample_lingering_looks))):
            return outcomes("fast", sc, range(start, stop), seed), calls["drawn"]
    if path.startswith("takes"):
        with (forced(shared_buffer, "SHARED_LIMIT", -1.0),
              forced(fast_engine, "sample_slot_takes",
                     spied(calls, "drawn", fast_engine.sample_slot_takes))):
            return outcomes("fast", sc, range(start, stop), seed), calls["drawn"]
    if path != "reads":
        with forced(fast_engine, "sample_shared_buffer",
                    spied(calls, "drawn", fast_engine.sample_shared_buffer)):
            return outcomes("fast", sc, range(start, stop), seed), calls["drawn"]
    with (forced(passwords, "DRAWN_LIMIT", -1.0), forced(shared_buffer, "SHARED_LIMIT", -1.0),
          forced(slot_takes, "LOOKS_LIMIT", -1.0),
          forced(passwords, "sample_slot_passwords_at_reads",
                 spied(calls, "drawn", passwords.sample_slot_passwords_at_reads))):
        return outcomes("fast", sc, range(start, stop), seed), calls["drawn"]


def _side(engine: str, path: str, lifetime: str, n: int,
          seed: int) -> tuple[dict[str, np.ndarray], int]:
    starts = list(range(0, n, CHUNK))
    jobs = [(engine, path, lifetime, s, min(s + CHUNK, n), seed) for s in starts]
    with ProcessPoolExecutor(2) as pool:
        parts = list(pool.map(_run, *zip(*jobs)))
    return ({q: np.concatenate([p[q] for p, _ in parts]) for q in parts[0][0]},
            sum(c for _, c in parts))


def main() -> None:
    path = sys.argv[1]
    default = "300" if path.startswith(("reads", "takes")) else "900"
    lifetime = sys.argv[2] if len(sys.argv) > 2 else default
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 40_000
    seed = int(sys.argv[4]) if len(sys.argv) > 4 else 901
    fast, drawn = _side("fast", path, lifetime, n, seed)
    reference, _ = _side("reference", path, lifetime, n, seed + 1)
    print(f"fast: the draw took {drawn:,} of {n:,} server replications")
    pairs = compared(path, fast, sorted(fast), reference)
    failures = differences(path, pairs)
    for line, f, r in pairs:
        if "password" in line or "session" in line.split(" ")[1]:
            z = (f.mean - r.mean) / max(np.sqrt(f.var / f.n + r.var / r.n), 1e-300)
            print(f"  {line}: fast {f.mean:.4f}, reference {r.mean:.4f}, z {z:+.2f}")
    print(f"{len(failures)} beyond the family z: " + ", ".join(failures))


if __name__ == "__main__":
    main()
