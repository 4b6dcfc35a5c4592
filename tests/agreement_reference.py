"""Run an engine on the agreement suite's scenarios and store its sums (``tests/agreement.py``).

    .venv/bin/python tests/agreement_reference.py [SCENARIO ...] [--engine reference|fast] [--jobs N]

With no names, every scenario of ``agreement.SCENARIOS``. The reference engine's runs
(:data:`agreement.REFERENCE_REPLICATIONS` replications) take about 8 CPU-minutes a scenario
at about 4 ms a replication; the fast engine's (:data:`agreement.FAST_STORED`) about 10 at
4 ms (2026-12-04). The chunks run on a process pool and are summed in index order, so a file
does not depend on ``--jobs``. Rerun it when a test reports a stored run stale: after a change
to that engine, to a scenario of the suite, or to how a library draws.
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import agreement  # noqa: E402

CHUNK = 2_000


def _chunk(name: str, engine: str, seed: int, start: int, stop: int) -> dict[str, dict[str, float]]:
    values = agreement.outcomes(engine, agreement.SCENARIOS[name](), range(start, stop), seed)
    return agreement.summarise(values)


def _checked(name: str, engine: str, seed: int) -> dict:
    """The replications every test recomputes: their digest and sums."""
    values = agreement.outcomes(engine, agreement.SCENARIOS[name](),
                                agreement.checked(name, engine), seed)
    return {"digest": agreement.digest(values), "sums": agreement.summarise(values)}


def generate(name: str, engine: str, pool: ProcessPoolExecutor, replications: int) -> Path:
    """The replications every test recomputes are the run's first ones: their sums count
    towards the run's, and the rest is run in chunks beside them."""
    seed = agreement.REFERENCE_SEED if engine == "reference" else agreement.FAST_SEED
    first = len(agreement.checked(name, engine))
    if first > replications:
        raise SystemExit(f"{name}: at least {first:,} {engine} replications, the ones the "
                         "test recomputes")
    check: Future = pool.submit(_checked, name, engine, seed)
    starts = range(first, replications, CHUNK)
    parts = pool.map(_chunk, *zip(*[(name, engine, seed, s, min(s + CHUNK, replications))
                                   for s in starts])) if starts else iter(())
    total: dict[str, dict[str, float]] = {}
    agreement.add_sums(total, check.result()["sums"])
    for done, part in enumerate(parts, 1):
        agreement.add_sums(total, part)
        print(f"\r{name} ({engine}): {min(first + done * CHUNK, replications):,} of "
              f"{replications:,}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    stored = {
        "scenario": name,
        "engine": engine,
        "fingerprint": agreement.fingerprint(agreement.SCENARIOS[name]()),
        "seed": seed,
        "replications": replications,
        "numpy": np.__version__,
        "check": check.result(),
        "quantities": total,
    }
    out = agreement.path(name, engine)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(stored, indent=1, sort_keys=True) + "\n")
    tmp.replace(out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="SCENARIO",
                        help=f"any of {', '.join(agreement.SCENARIOS)} (default: all)")
    parser.add_argument("--engine", choices=("reference", "fast"), default="reference")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--replications", type=int,
                        help=f"default {agreement.REFERENCE_REPLICATIONS:,} (reference) or "
                             f"{agreement.FAST_STORED:,} (fast)")
    args = parser.parse_args()
    unknown = sorted(set(args.names) - set(agreement.SCENARIOS))
    if unknown:
        parser.error(f"no agreement scenario named {', '.join(unknown)}")
    replications = args.replications or (agreement.REFERENCE_REPLICATIONS
                                         if args.engine == "reference" else agreement.FAST_STORED)
    with ProcessPoolExecutor(args.jobs) as pool:
        for name in args.names or agreement.SCENARIOS:
            print(generate(name, args.engine, pool, replications))


if __name__ == "__main__":
    main()
