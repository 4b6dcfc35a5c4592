"""The what-if commands ``sweep``, ``tune`` and ``sensitivity``: arguments and messages.

Registered by ``sim/cli.py``. Bad input is reported as one message with exit status 2 before
any simulation; Ctrl-C exits with 130 and says how to resume. The modules doing the work (and
SALib and matplotlib with them) are imported only when one of these commands runs, so that
``bleedsim run`` does not pay for them at start-up.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sim.atomic import write_text
from sim.montecarlo.executors import EXECUTOR_NAMES, Executor, ExecutorUnavailable, make_executor
from sim.montecarlo.runner import RunInterrupted, default_jobs
from sim.scenario import ScenarioError
from sim.whatif.outcomes import OutcomeError
from sim.whatif.overrides import Base, OverrideError, parse_set

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    whole_number: Callable[[int, str], Callable[[str], int]],
) -> None:
    """Add the three commands to ``bleedsim``'s sub-command parser."""
    positive, seed = whole_number(1, "at least 1"), whole_number(0, "0 or more")

    sweep = commands.add_parser("sweep", help="run a scenario at every combination of field values")
    _common(sweep, positive, seed)
    sweep.add_argument("--set", dest="sets", action="append", required=True, metavar="PATH=V1,V2,...",
                       help="a field by dotted path and its values in the field's own units "
                            "(repeat for a grid)")
    sweep.add_argument("--out", type=Path, metavar="DIR",
                       help="output folder (default: reports/<scenario name>/sweep/)")
    sweep.add_argument("--resume", action="store_true",
                       help="finish an interrupted sweep in DIR, reusing its finished points")
    sweep.set_defaults(command=_guarded(_sweep))

    tune = commands.add_parser(
        "tune", help="find the largest (or smallest) field value at which a target still holds")
    _common(tune, positive, seed)
    tune.add_argument("--param", required=True, metavar="PATH", help="the field to tune, by dotted path")
    tune.add_argument("--range", dest="range_", required=True, metavar="LOW..HIGH",
                      help="the values to search, in the field's units (e.g. 10m..7d)")
    tune.add_argument("--target", required=True, metavar="TARGET",
                      help="'password.mean<=10000', 'key.p_any<=0.01 given evidence' or "
                           "'claim:NAME'")
    tune.add_argument("--tolerance", type=float, metavar="FRACTION", default=0.01,
                      help="stop when the answer is known to this fraction of the range "
                           "(default 0.01)")
    tune.add_argument("--json", type=Path, metavar="PATH", help="also write the answer as JSON")
    tune.set_defaults(command=_guarded(_tune))

    sens = commands.add_parser("sensitivity",
                               help="Sobol indices of an outcome over field ranges (SALib)")
    _common(sens, positive, seed)
    sens.add_argument("--vary", action="append", required=True, metavar="PATH=LOW..HIGH",
                      help="a field and its range in the field's units (repeat per field)")
    sens.add_argument("--outcome", required=True, metavar="OUTCOME",
                      help="e.g. key.p_any, password.mean, evidence.key.p_any")
    sens.add_argument("--samples", type=positive, default=64, metavar="N",
                      help="Saltelli base samples, a power of 2 (default 64; N*(D+2) runs)")
    sens.add_argument("--out", type=Path, metavar="DIR",
                      help="output folder (default: reports/<scenario name>/sensitivity/)")
    sens.set_defaults(command=_guarded(_sensitivity))


def _common(p: argparse.ArgumentParser, positive: Callable[[str], int],
            seed: Callable[[str], int]) -> None:
    p.add_argument("file", type=Path, metavar="FILE", help="scenario file (YAML)")
    p.add_argument("--replications", type=positive, metavar="N",
                   help="replications per point (default: the file's monte_carlo)")
    p.add_argument("--seed", type=seed, metavar="S", help="random seed (default: the file's)")
    p.add_argument("--jobs", type=positive, metavar="N",
                   help="worker processes or Dask workers (default: all cores)")
    p.add_argument("--executor", choices=EXECUTOR_NAMES, default="local",
                   help="where replications run (default: local process pool)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="Dask scheduler address (tcp://host:8786); default: a LocalCluster")


def _guarded(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from sim.whatif import sensitivity, tuner
        from sim.whatif.sweep import ResumeRefused, SweepInterrupted

        usage_errors = (OverrideError, OutcomeError, ResumeRefused, ExecutorUnavailable,
                        tuner.TuneError, sensitivity.SensitivityError)
        try:
            return command(args)
        except usage_errors as e:
            print(f"bleedsim: {e}", file=sys.stderr)
            return EXIT_USAGE
        except (SweepInterrupted, RunInterrupted) as e:
            print(f"bleedsim: {e}", file=sys.stderr)
            return EXIT_INTERRUPTED
    return run


def _base(path: Path) -> Base:
    try:
        return Base.read(path)
    except ScenarioError as e:
        raise OverrideError(f"{path} is not a valid scenario:\n{e}") from None


@contextmanager
def executor_for(args: argparse.Namespace) -> Iterator[Executor | None]:
    """None for the local pool (the runner's own); a started Dask client otherwise."""
    if args.executor == "local" and args.scheduler is None:
        yield None
        return
    executor = make_executor(args.executor, args.jobs or default_jobs(), args.scheduler)
    try:
        yield executor
    finally:
        executor.close()


def _sweep(args: argparse.Namespace) -> int:
    from sim.whatif.sweep import Sweep, run_sweep
    from sim.whatif.sweep_files import FILES, csv_text

    base = _base(args.file)
    sweep = Sweep(base, [parse_set(s) for s in args.sets], args.replications, args.seed)
    scenarios = sweep.scenarios()  # every point validated before any work
    out_dir = args.out if args.out is not None else Path("reports") / scenarios[0].name / "sweep"
    with executor_for(args) as executor:
        document = run_sweep(sweep, out_dir, resume=args.resume, jobs=args.jobs,
                             executor=executor)
    sys.stdout.write(csv_text(document))
    print(f"\nwrote {', '.join(str(out_dir / f) for f in FILES)}")
    return 0


def _tune(args: argparse.Namespace) -> int:
    from sim.whatif import tuner

    base = _base(args.file)
    problem = tuner.Problem.parse(base, args.param, args.range_, args.target,
                                  args.replications, args.seed)
    if args.json is not None and args.json.is_dir():
        raise OverrideError(f"{args.json}: is a folder; --json must name a file")
    with executor_for(args) as executor:
        answer = tuner.tune(problem, args.tolerance, jobs=args.jobs, executor=executor)
    print(answer.describe())
    if args.json is not None:
        write_text(args.json, json.dumps(answer.as_json(), indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


def _sensitivity(args: argparse.Namespace) -> int:
    from sim.whatif import sensitivity

    base = _base(args.file)
    study = sensitivity.Study.parse(base, args.vary, args.outcome, args.samples,
                                    args.replications, args.seed)
    out_dir = args.out if args.out is not None else (
        Path("reports") / study.name / "sensitivity")
    with executor_for(args) as executor:
        result = sensitivity.analyse_study(study, jobs=args.jobs, executor=executor)
    written = sensitivity.write_outputs(result, out_dir)
    sys.stdout.write(sensitivity.csv_text(result))
    print(f"\nwrote {', '.join(str(p) for p in written)}")
    return 0
