"""Run the reference engine for the agreement suite and store its sums (``tests/agreement.py``).

    .venv/bin/python tests/agreement_reference.py [SCENARIO ...] [--jobs N]

With no names, every scenario of ``agreement.SCENARIOS``. Each takes about 8 CPU-minutes
(:data:`agreement.REFERENCE_REPLICATIONS` replications at about 4 ms); the chunks run on a
process pool and are summed in index order, so the file does not depend on ``--jobs``. Rerun
it when a test reports its stored reference stale: after a change to the reference engine, to
a scenario of the suite, or to how a library draws.
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import agreement  # noqa: E402

CHUNK = 2_000


def _chunk(name: str, start: int, stop: int) -> dict[str, dict[str, float]]:
    sc = agreement.SCENARIOS[name]()
    values = agreement.outcomes("reference", sc, range(start, stop), agreement.REFERENCE_SEED)
    return agreement.summarise(values)


def _add(total: dict[str, dict[str, float]], part: dict[str, dict[str, float]]) -> None:
    for quantity, sums in part.items():
        into = total.setdefault(quantity, {"sum": 0.0, "sum_squares": 0.0, "nonzero": 0})
        for key, value in sums.items():
            into[key] += value


def generate(name: str, pool: ProcessPoolExecutor, replications: int) -> Path:
    sc = agreement.SCENARIOS[name]()
    starts = range(0, replications, CHUNK)
    parts = pool.map(_chunk, [name] * len(starts), starts,
                     [min(s + CHUNK, replications) for s in starts])
    total: dict[str, dict[str, float]] = {}
    for done, part in enumerate(parts, 1):
        _add(total, part)
        print(f"\r{name}: {min(done * CHUNK, replications):,} of {replications:,}", end="",
              file=sys.stderr, flush=True)
    print(file=sys.stderr)
    spot = agreement.outcomes("reference", sc, agreement.spot_indices(replications),
                              agreement.REFERENCE_SEED)
    stored = {
        "scenario": name,
        "engine": "reference",
        "fingerprint": agreement.fingerprint(sc),
        "seed": agreement.REFERENCE_SEED,
        "replications": replications,
        "numpy": np.__version__,
        "spot": {"digest": agreement.digest(spot), "sums": agreement.summarise(spot)},
        "quantities": total,
    }
    out = agreement.path(name)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(stored, indent=1, sort_keys=True) + "\n")
    tmp.replace(out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="SCENARIO",
                        help=f"any of {', '.join(agreement.SCENARIOS)} (default: all)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--replications", type=int, default=agreement.REFERENCE_REPLICATIONS)
    args = parser.parse_args()
    unknown = sorted(set(args.names) - set(agreement.SCENARIOS))
    if unknown:
        parser.error(f"no agreement scenario named {', '.join(unknown)}")
    with ProcessPoolExecutor(args.jobs) as pool:
        for name in args.names or agreement.SCENARIOS:
            print(generate(name, pool, args.replications))


if __name__ == "__main__":
    main()
