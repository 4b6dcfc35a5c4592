"""The ``bleedsim`` command: ``run``, ``report``, ``check``, ``schema`` and ``--version``
(``sweep``, ``tune`` and ``sensitivity`` live in ``sim/whatif/commands.py``).

Presentation only: load, validate and refuse bad input here (exit status 2, a clear message,
no traceback, nothing written), then hand over to the Monte Carlo layer and the reports.
Ctrl-C exits with status 130 and a one-line message. Any other exception is a bug and is
raised as is, with its traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Callable
from pathlib import Path

import sim
from sim.analysis.analyse import analyse, as_results
from sim.atomic import write_text
from sim.engines import ENGINE_NAMES, EngineRefused, get_engine
from sim.montecarlo.runner import RunInterrupted, run
from sim.report import evidence_table, html, markdown, results_json, table
from sim.report.source import Node, ReportInputError
from sim.scenario import ScenarioError, json_schema, load_scenario, scenario_sha256, summary
from sim.scenario.model import Scenario
from sim.whatif import commands as whatif_commands

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
RESULTS = "results.json"
TABLE = "table.txt"
REPORTS = {"report.md": markdown.render, "report.html": html.render}


class UsageError(Exception):
    """Bad input from the user: reported in one message, exit status 2."""


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return int(args.command(args))
    except UsageError as e:
        print(f"bleedsim: {e}", file=sys.stderr)
        return EXIT_USAGE
    except RunInterrupted as e:
        print(f"bleedsim: {e}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        print("bleedsim: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _run(args: argparse.Namespace) -> int:
    scenario = _with_overrides(_load(args.file), args)
    _check_engine(scenario)
    out_dir = args.out if args.out is not None else Path("reports") / scenario.name
    targets = [out_dir / RESULTS] + ([args.json] if args.json is not None else [])
    for path in targets:
        _writable(path)
    result = run(scenario, out_dir, jobs=args.jobs, progress=True)
    document = results_json.build(
        scenario, scenario_sha256(scenario), result.rows, result.layout, result.seconds,
        result.simulated,
    )
    analysis = analyse(result.rows, result.layout, scenario)
    results_json.merge(document, as_results(analysis, result.rows, result.layout, scenario))
    text = results_json.dumps(document)
    rendered = table.render(scenario, document)
    if scenario.detectors or scenario.claims:
        rendered += "\n" + evidence_table.render(scenario, analysis)
    for path in targets:
        write_text(path, text)
    write_text(out_dir / TABLE, rendered)
    reports = _write_reports(json.loads(text), out_dir)  # from the JSON, as `report` reads it
    sys.stdout.write(rendered)
    rate = document["timing"]["replications_per_second"]
    written = ", ".join(str(p) for p in [*targets, *reports])
    print(f"\nwrote {written} ({result.seconds:.1f} s, {rate:,.0f} replications/s)")
    return 0


def _report(args: argparse.Namespace) -> int:
    """Render the reports of an earlier run from its results.json alone."""
    path: Path = args.results
    if not path.is_file():
        raise UsageError(f"{path}: {'is a folder' if path.is_dir() else 'no such file'}; "
                         f"give a {RESULTS} written by bleedsim run")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise UsageError(f"{path}: cannot read: {e.strerror}") from None
    except ValueError as e:  # not UTF-8, or not JSON
        raise UsageError(f"{path} is not JSON: {e}") from None
    if not isinstance(document, dict):
        raise UsageError(f"{path} is not a bleedsim {RESULTS}: not a JSON object")
    out_dir = args.out if args.out is not None else path.parent
    for name in REPORTS:
        _writable(out_dir / name)
    try:
        written = _write_reports(document, out_dir)
    except ReportInputError as e:
        raise UsageError(f"{path} is not a bleedsim {RESULTS}: {e}") from None
    print(f"wrote {', '.join(str(p) for p in written)}")
    return 0


def _write_reports(document: Node, out_dir: Path) -> list[Path]:
    """Render every report before writing any, so a bad document leaves no file behind."""
    rendered = {out_dir / name: render(document) for name, render in REPORTS.items()}
    for path, body in rendered.items():
        write_text(path, body)
    return list(rendered)


def _check(args: argparse.Namespace) -> int:
    scenario = _load(args.file)
    _check_engine(scenario)
    print(summary(scenario))
    return 0


def _schema(args: argparse.Namespace) -> int:
    print(json.dumps(json_schema(), indent=2, sort_keys=True))
    return 0


def _load(path: Path) -> Scenario:
    if not path.exists():
        raise UsageError(f"{path}: no such file")
    if path.is_dir():
        raise UsageError(f"{path}: is a folder; give a scenario file (scenarios/*.yaml)")
    try:
        return load_scenario(path)
    except ScenarioError as e:
        raise UsageError(f"{path} is not a valid scenario:\n{e}") from None
    except OSError as e:
        raise UsageError(f"{path}: cannot read: {e.strerror}") from None


def _with_overrides(scenario: Scenario, args: argparse.Namespace) -> Scenario:
    """Command-line flags win over the file's ``monte_carlo`` block."""
    flags = {"replications": args.replications, "seed": args.seed, "engine": args.engine}
    given = {k: v for k, v in flags.items() if v is not None}
    if not given:
        return scenario
    monte_carlo = dataclasses.replace(scenario.monte_carlo, **given)
    return dataclasses.replace(scenario, monte_carlo=monte_carlo)


def _check_engine(scenario: Scenario) -> None:
    try:
        get_engine(scenario.monte_carlo.engine).check(scenario)
    except EngineRefused as e:
        engine = scenario.monte_carlo.engine
        raise UsageError(f"engine {engine} cannot run {scenario.name}: {e}") from None


def _writable(path: Path) -> None:
    """Refuse an output path that can never be written before spending time on the run."""
    if path.is_dir():
        raise UsageError(f"{path}: is a folder; --json and --out/<file> must name a file")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise UsageError(f"{path}: {parent} is a file, not a folder")
            break


def _whole_number(minimum: int, expected: str) -> Callable[[str], int]:
    """An argparse type for whole numbers of at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {value}")
        return value

    return parse


_positive_int = _whole_number(1, "at least 1")
_seed = _whole_number(0, "0 or more")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bleedsim",
        description="Monte-Carlo attack outcomes for Heartbleed-class memory-disclosure bugs.",
    )
    parser.add_argument("--version", action="version", version=f"bleedsim {sim.__version__}")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    run_cmd = commands.add_parser("run", help="simulate a scenario, report outcome probabilities")
    run_cmd.add_argument("file", type=Path, metavar="FILE", help="scenario file (YAML)")
    run_cmd.add_argument("--replications", type=_positive_int, metavar="N",
                         help="number of replications (default: the file's monte_carlo)")
    run_cmd.add_argument("--seed", type=_seed, metavar="S",
                         help="random seed (default: the file's)")
    run_cmd.add_argument("--engine", choices=ENGINE_NAMES, help="engine (default: the file's)")
    run_cmd.add_argument("--jobs", type=_positive_int, metavar="N",
                         help="worker processes (default: all cores; 1 runs in this process)")
    run_cmd.add_argument("--json", type=Path, metavar="PATH", help="also write results.json here")
    run_cmd.add_argument("--out", type=Path, metavar="DIR",
                         help="output folder (default: reports/<scenario name>/)")
    run_cmd.set_defaults(command=_run)

    report_cmd = commands.add_parser(
        "report", help="write report.md and report.html from an earlier run's results.json")
    report_cmd.add_argument("results", type=Path, metavar="RESULTS_JSON",
                            help=f"the {RESULTS} of a run")
    report_cmd.add_argument("--out", type=Path, metavar="DIR",
                            help="output folder (default: the folder of RESULTS_JSON)")
    report_cmd.set_defaults(command=_report)

    check_cmd = commands.add_parser("check", help="validate a scenario file and summarise it")
    check_cmd.add_argument("file", type=Path, metavar="FILE", help="scenario file (YAML)")
    check_cmd.set_defaults(command=_check)

    schema_cmd = commands.add_parser("schema", help="print the JSON Schema of scenario files")
    schema_cmd.set_defaults(command=_schema)
    whatif_commands.register(commands, _whole_number)
    return parser
