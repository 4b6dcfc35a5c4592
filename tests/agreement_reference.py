"""Run an engine on the agreement suite's scenarios and store its sums (``tests/agreement.py``).

    .venv/bin/python tests/agreement_reference.py [SCENARIO ...] [--engine reference|fast] [--jobs N]
    .venv/bin/python tests/agreement_reference.py --stale --engine fast   # after an engine change

With no names, every scenario of ``agreement.SCENARIOS``; the other tests' runs
(``agreement.SIDE_RUNS``) by name. The reference engine's runs
(:data:`agreement.REFERENCE_REPLICATIONS` replications) take about 30 CPU-minutes a scenario
at about 15 ms a replication (3.5 CPU-hours on ``heavy``); the fast engine's
(:data:`agreement.FAST_STORED`) 20 to 70 (2026-12-05); a side run a few. The chunks run on a
process pool and are summed in index order, so a file does not depend on ``--jobs``. Rerun it
when a test reports a stored run stale: after a change to that engine, to a scenario of the
suite, or to how a library draws. ``--stale`` finds those runs itself (of the names given, or
of every stored run), checking each as its test does.
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


def _chunk(name: str, engine: str, start: int, stop: int) -> dict[str, dict[str, float]]:
    return agreement.summarise(agreement.values(name, engine, range(start, stop)))


def _checked(name: str, engine: str) -> dict:
    """The replications every test recomputes: their digest and sums."""
    values = agreement.values(name, engine, agreement.checked(engine))
    return {"digest": agreement.digest(values), "sums": agreement.summarise(values)}


def generate(name: str, engine: str, pool: ProcessPoolExecutor, replications: int) -> Path:
    """The replications every test recomputes are the run's first ones: their sums count
    towards the run's, and the rest is run in chunks beside them."""
    first = len(agreement.checked(engine))
    if first > replications:
        raise SystemExit(f"{name}: at least {first:,} {engine} replications, the ones the "
                         "test recomputes")
    check: Future = pool.submit(_checked, name, engine)
    starts = range(first, replications, CHUNK)
    parts = pool.map(_chunk, *zip(*[(name, engine, s, min(s + CHUNK, replications))
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
        "fingerprint": agreement.fingerprint(agreement.build(name)),
        "seed": agreement.stored_seed(name, engine),
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


def recheck(name: str, engine: str) -> Path:
    """Recomputes only the checks of a stored run, after the number of replications every
    test recomputes changed: they are the run's first replications whatever their number, so
    its sums stand, and the file must still be the engine's output on the scenario."""
    out = agreement.path(name, engine)
    stored = json.loads(out.read_text())
    if stored["fingerprint"] != agreement.fingerprint(agreement.build(name)):
        raise SystemExit(f"{out}: computed for another version of {name!r}; regenerate it")
    old = stored["check"]
    stored["check"] = _checked(name, engine)
    if set(old["sums"]) != set(stored["check"]["sums"]):
        raise SystemExit(f"{out}: the engine's quantities changed; regenerate it")
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(stored, indent=1, sort_keys=True) + "\n")
    tmp.replace(out)
    return out


def stale(name: str, engine: str) -> bool:
    """Whether the stored run of ``name`` exists and its test would find it stale (another
    scenario, or its checked replications no longer the engine's output)."""
    if not agreement.path(name, engine).exists():
        return False
    load = agreement.load_reference if engine == "reference" else agreement.load_fast
    try:
        load(name)
    except agreement.StaleRun:
        return True
    return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="SCENARIO",
                        help=f"any of {', '.join(agreement.STORED)} (default: the every-outcome "
                             "comparison's)")
    parser.add_argument("--engine", choices=("reference", "fast"), default="reference")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--replications", type=int,
                        help=f"default {agreement.REFERENCE_REPLICATIONS:,} (reference) or "
                             f"{agreement.FAST_STORED:,} (fast), or the side run's own")
    parser.add_argument("--checks-only", action="store_true",
                        help="recompute only the replications every test checks (see recheck)")
    parser.add_argument("--stale", action="store_true",
                        help="of the named runs (default: every stored one), regenerate those "
                             "their tests would find stale, after checking each as they do")
    args = parser.parse_args()
    unknown = sorted(set(args.names) - set(agreement.STORED))
    if unknown:
        parser.error(f"no stored run named {', '.join(unknown)}")
    names = args.names or list(agreement.STORED if args.stale else agreement.SCENARIOS)
    if args.stale:
        with ProcessPoolExecutor(args.jobs) as pool:
            found = list(pool.map(stale, names, [args.engine] * len(names)))
        names = [name for name, is_stale in zip(names, found) if is_stale]
        print(f"stale {args.engine} runs: {', '.join(names) or 'none'}", file=sys.stderr)
    if args.checks_only:
        with ProcessPoolExecutor(args.jobs) as pool:
            for done in pool.map(recheck, names, [args.engine] * len(names)):
                print(done)
        return
    with ProcessPoolExecutor(args.jobs) as pool:
        for name in names:
            replications = args.replications or agreement.stored_replications(name, args.engine)
            print(generate(name, args.engine, pool, replications))


if __name__ == "__main__":
    main()
