"""Measures the draw at the reads one look at a time (``sim/engines/fast/session_reads.py``) at
full power.

The agreement suite's ``heavy`` on PSMail's paths (``agreement.psmail_path_outcomes``, as the
stored ``heavy-psmail-paths``, which takes the draw with arrays since the dispatch takes the
cheaper draw, ``slot_looks.draw_at_reads``), with every server replication's passwords and
sessions drawn one look at a time wherever it may be taken (``slot_looks.ONE_LOOK_COST``
forced to 0), against the stored reference run of ``heavy`` (120,000 replications): every
quantity but item 9's (a capture read jointly with a heavy attacker's alerts), at the family
``z``, as ``test_engines_agree.py`` compares ``heavy-psmail-paths``. A fresh seed, so the
fast side is independent of every stored run:

    .venv/bin/python tests/looks_probe.py [REPLICATIONS] [SEED]   # 20,000: 10 minutes, 2 cores

``paired``: the arrays against the draw one look at a time on the same replications (the same
seeds give the same skeletons; both draws are exact given them, with the requests inside a
lifetime free of the ``max_requests`` count that ended it, items 11 and 13), each quantity's
mean difference against its own standard error, at the family ``z``:

    .venv/bin/python tests/looks_probe.py paired [REPLICATIONS] [SEED]   # 4,000: 2 minutes
"""

from __future__ import annotations

import math
import sys
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from agreement import (
    JOINT,
    SCENARIOS,
    compared,
    differences,
    family_z,
    forced,
    load_reference,
    psmail_path_outcomes,
)
from sim.engines.fast import slot_looks

CHUNK = 1_000


def _run(start: int, stop: int, seed: int, arrays: bool = True) -> dict[str, np.ndarray]:
    with (forced(slot_looks, "CANDIDATE_LIMIT", -1.0 if arrays else slot_looks.CANDIDATE_LIMIT),
          forced(slot_looks, "ONE_LOOK_COST", slot_looks.ONE_LOOK_COST if arrays else 0.0)):
        return psmail_path_outcomes("fast", SCENARIOS["heavy"](), range(start, stop), seed)


def _sides(n: int, seed: int, arrays: bool) -> dict[str, np.ndarray]:
    starts = list(range(0, n, CHUNK))
    with ProcessPoolExecutor(2) as pool:
        parts = list(pool.map(_run, starts, [min(s + CHUNK, n) for s in starts],
                              [seed] * len(starts), [arrays] * len(starts)))
    return {q: np.concatenate([p[q] for p in parts]) for q in parts[0]}


def against_reference(n: int, seed: int) -> None:
    fast = _sides(n, seed, False)
    pairs = [pair for pair in compared("heavy", fast, sorted(fast), load_reference("heavy"))
             if JOINT not in pair[0]]
    failures = differences("heavy", pairs)
    print(f"{len(failures)} beyond the family z: " + ", ".join(failures))


def paired(n: int, seed: int) -> None:
    arrays, one = _sides(n, seed, True), _sides(n, seed, False)
    rows = []
    for q in sorted(arrays):
        if JOINT in q:
            continue
        for label, f in (("p_any", lambda x: (x > 0).astype(float)), ("mean", lambda x: x)):
            d = f(arrays[q]) - f(one[q])
            se = float(d.std(ddof=1)) / math.sqrt(n)
            if se > 0.0:
                line = (f"{q} {label}: arrays {f(arrays[q]).mean():.4f}, one look at a time "
                        f"{f(one[q]).mean():.4f}, z = {d.mean() / se:+.2f}")
                rows.append((abs(d.mean()) / se, line))
    z = family_z(len(rows))
    for score, line in sorted(rows, reverse=True)[:10]:
        print(line)
    print(f"{len(rows)} paired comparisons, family z = {z:.2f}: "
          f"{sum(1 for score, _ in rows if score > z)} beyond it")


def main() -> None:
    args = sys.argv[1:]
    mode = paired if args[:1] == ["paired"] else against_reference
    args = args[1:] if mode is paired else args
    n = int(args[0]) if args else (4_000 if mode is paired else 20_000)
    seed = int(args[1]) if len(args) > 1 else 611
    mode(n, seed)


if __name__ == "__main__":
    main()
