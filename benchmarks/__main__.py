"""``python -m benchmarks``: the five targets of issue 9, measured on this machine.

Prints one table: each target, the figure measured, the bound, and their ratio (at most 1
meets the target), every comparison measured side by side in this run. ``--quick`` runs each
target at a small size to check that the benchmarks work (its figures are not the targets').
``--only 1,3`` runs some targets; ``--json PATH`` also writes the lines as JSON.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import sim  # noqa: F401 - sets single-threaded BLAS before numpy loads
from benchmarks import targets
from benchmarks.targets import Line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--only", default="1,2,3,4,5", help="targets to run, e.g. 1,3")
    parser.add_argument("--json", type=Path, help="also write the lines here")
    parser.add_argument("--budget", type=int, default=30_000,
                        help="most replications of target 3 (default 30,000); when it stops "
                             "short, the time to the precision is projected from the variance")
    args = parser.parse_args(argv)
    quick = args.quick
    runs = {
        "1": lambda: targets.psmail_in_seconds(200 if quick else 2000),
        "2": lambda: targets.never_slower_than_literal(5 if quick else 40, 1 if quick else 2,
                                                       5 if quick else 300),
        "3": lambda: targets.rare_attackers(0.3 if quick else 0.05,
                                            2000 if quick else args.budget),
        "4": lambda: targets.parallel_and_lean(200 if quick else 1000,
                                               100 if quick else 250, 400 if quick else 1000),
        "5": lambda: targets.flat_stays_flat(3 if quick else 20),
    }
    lines: list[Line] = []
    for key in args.only.split(","):
        print(f"target {key} ...", file=sys.stderr, flush=True)
        lines += runs[key.strip()]()
    width = max(len(line.target) for line in lines)
    print(f"{'target':<{width}}  {'ratio':>6}  {'met':<3}  measured (bound)")
    for line in lines:
        print(f"{line.target:<{width}}  {line.ratio:>6.2f}  {'yes' if line.met else 'NO':<3}  "
              f"{line.measured} ({line.bound})")
    if args.json is not None:
        args.json.write_text(targets.as_json(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
