"""The ``bleedsim`` command: ``run``, ``report``, ``check``, ``schema``, ``diff``, ``init``,
``demo`` and ``--version`` (``sweep``, ``tune`` and ``sensitivity`` live in
``sim/whatif/commands.py``).

Presentation only: load, validate and refuse bad input here (exit status 2, a clear message,
no traceback, nothing written), then hand over to the Monte Carlo layer and the reports.
Ctrl-C exits with status 130 and a one-line message; ``run --fail-on`` exits with status 3
when a claim has a verdict it names. Any other exception is a bug and is raised as is, with
its traceback.
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
from sim.analysis.precision import assessor
from sim.analysis.sufficiency import shortfalls
from sim.atomic import write_text
from sim.engines import ENGINE_NAMES, EngineRefused, get_engine
from sim.montecarlo.executors import EXECUTOR_NAMES, ExecutorUnavailable
from sim.montecarlo.layout import Layout
from sim.montecarlo.outdir import OutputConflict, prepare
from sim.montecarlo.runner import RunInterrupted, RunResult, run
from sim.montecarlo.sequential import pilot_size, run_until_precise
from sim.report import diff, html, markdown, results_json, terminal
from sim.report.demo import command as demo
from sim.report.source import Node, ReportInputError
from sim.scenario import ScenarioError, json_schema, scenario_sha256, summary
from sim.scenario import templates
from sim.scenario.assumptions import Assumption, read_chain
from sim.scenario.loader import parse_scenario, read_text
from sim.scenario.model import Scenario
from sim.whatif import commands as whatif_commands

EXIT_USAGE = 2
EXIT_CLAIMS = 3
"""``run --fail-on``: a claim has a verdict the caller asked to fail on (results are written)."""
FAIL_ON = {"refuted": ("refuted",), "inconclusive": ("refuted", "inconclusive")}
"""``--fail-on`` word -> the verdicts that fail: inconclusive fails on anything not supported."""
STDIN = Path("-")
EXIT_INTERRUPTED = 130
RESULTS = "results.json"
TABLE = "table.txt"
REPORTS = {"report.md": markdown.render, "report.html": html.render, TABLE: terminal.render}
DEFAULT_MAX_REPLICATIONS = 200_000
"""Budget of a ``--precision`` run without ``--max-replications``."""


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
    loaded, assumed = _load_with_assumptions(args.file)
    scenario = _with_overrides(loaded, args)
    _check_engine(scenario)
    out_dir = args.out if args.out is not None else Path("reports") / scenario.name
    targets = [out_dir / RESULTS] + ([args.json] if args.json is not None else [])
    for path in targets:
        _writable(path)
    if args.fail_on and not scenario.claims:
        raise UsageError(f"--fail-on judges claims, and scenario {scenario.name} has none")
    try:
        resume = prepare(out_dir, scenario, args.force)
    except OutputConflict as e:
        raise UsageError(str(e)) from None
    # The shortfalls are those of crude sampling at the file's replications; a --precision run
    # places its replications by stratum and reports where it stopped instead.
    for warning in shortfalls(scenario) if args.precision is None else []:
        print(f"bleedsim: warning: {warning}", file=sys.stderr)
    if resume is not None:
        print(f"bleedsim: {resume}", file=sys.stderr)
    result = _simulate(scenario, out_dir, args)
    document = results_json.build(
        scenario, scenario_sha256(scenario), result.rows, result.layout, result.seconds,
        result.simulated, assumed, result.strata,
    )
    analysis = analyse(result.rows, result.layout, scenario, result.strata)
    results_json.merge(document, as_results(analysis, result.rows, result.layout, scenario))
    if result.sampling is not None:
        results_json.merge(document, {"sampling": result.sampling})
    text = results_json.dumps(document)
    for path in targets:
        write_text(path, text)
    reports = _write_reports(json.loads(text), out_dir)  # from the JSON, as `report` reads it
    sys.stdout.write((out_dir / TABLE).read_text(encoding="utf-8"))
    rate = document["timing"]["replications_per_second"]
    written = ", ".join(str(p) for p in [*targets, *reports])
    print(f"\nwrote {written} ({result.seconds:.1f} s, {rate:,.0f} replications/s)")
    return _gate(document, args.fail_on)


def _gate(document: dict[str, object], fail_on: list[str] | None) -> int:
    """``EXIT_CLAIMS`` when a claim's verdict is one ``--fail-on`` names, after writing."""
    failing = {v for word in fail_on or [] for v in FAIL_ON[word]}
    claims = document.get("claims")
    bad = {c: j["verdict"] for c, j in claims.items() if j["verdict"] in failing} \
        if isinstance(claims, dict) else {}
    for claim, verdict in bad.items():
        print(f"bleedsim: claim {claim} is {verdict} (--fail-on {','.join(fail_on or [])})",
              file=sys.stderr)
    return EXIT_CLAIMS if bad else 0


def _simulate(scenario: Scenario, out_dir: Path, args: argparse.Namespace) -> RunResult:
    """A fixed number of replications, or with ``--precision`` stratified rounds until precise."""
    if args.precision is None:
        if args.max_replications is not None:
            raise UsageError("--max-replications needs --precision")
        try:
            with whatif_commands.executor_for(args) as executor:
                return run(scenario, out_dir, jobs=args.jobs, progress=True, executor=executor)
        except ExecutorUnavailable as e:
            raise UsageError(str(e)) from None
    if args.executor != "local" or args.scheduler is not None:
        raise UsageError("--precision runs on the local process pool; leave out --executor "
                         "and --scheduler")
    if args.replications is not None:
        raise UsageError("--replications and --precision exclude each other; "
                         "bound a --precision run with --max-replications")
    budget = DEFAULT_MAX_REPLICATIONS if args.max_replications is None else args.max_replications
    if budget < pilot_size(scenario):
        raise UsageError(f"--max-replications {budget} is below the {pilot_size(scenario)} "
                         f"replications of the stratified pilot of {scenario.name}")
    assess = assessor(scenario, Layout(scenario), args.precision)
    return run_until_precise(scenario, out_dir, assess, args.precision, budget,
                             jobs=args.jobs, progress=True)


def _report(args: argparse.Namespace) -> int:
    """Render the reports of an earlier run from its results.json alone."""
    path: Path = args.results
    document = _results(path)
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


def _demo(args: argparse.Namespace) -> int:
    """Tell one replication as a story (``sim/report/demo/``)."""
    scenario = _load(args.file)
    seed = args.seed if args.seed is not None else scenario.monte_carlo.seed
    if args.out is not None:
        _writable(args.out / "demo.md")
    written = demo.run(scenario, seed, args.speed, args.out)
    if written:
        print(f"\nwrote {', '.join(str(p) for p in written)}")
    return 0


def _check(args: argparse.Namespace) -> int:
    scenario = _load(args.file)
    _check_engine(scenario)
    print(summary(scenario))
    engine = scenario.monte_carlo.engine
    notes = get_engine(engine).plan(scenario)
    if notes:
        print(f"engine {engine}:\n" + "".join(f"  {line}\n" for line in notes))
    for warning in shortfalls(scenario):
        print(f"bleedsim: warning: {warning}", file=sys.stderr)
    return 0


def _schema(args: argparse.Namespace) -> int:
    text = json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
    if args.out is None:
        sys.stdout.write(text)
        return 0
    _writable(args.out)
    write_text(args.out, text)
    print(f"wrote {args.out}; point your editor's YAML schema setting at it (README)")
    return 0


def _diff(args: argparse.Namespace) -> int:
    """Compare two runs' results.json: estimates, differences with intervals, verdict flips."""
    a, b = (_results(path) for path in (args.a, args.b))
    try:
        found = diff.compare(a, b, str(args.a), str(args.b), args.changed)
    except diff.NotResults as e:
        raise UsageError(str(e)) from None
    markdown_wanted = args.markdown or (args.out is not None and args.out.suffix == ".md")
    text = diff.render_markdown(found) if markdown_wanted else diff.render_text(found)
    if args.out is None:
        sys.stdout.write(text)
        return 0
    _writable(args.out)
    write_text(args.out, text)
    print(f"wrote {args.out}")
    return 0


def _results(path: Path) -> object:
    """The JSON of a run's results.json, or a UsageError saying why it cannot be read."""
    if not path.is_file():
        raise UsageError(f"{path}: {'is a folder' if path.is_dir() else 'no such file'}; "
                         f"give a {RESULTS} written by bleedsim run")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise UsageError(f"{path}: cannot read: {e.strerror}") from None
    except ValueError as e:  # not UTF-8, or not JSON
        raise UsageError(f"{path} is not JSON: {e}") from None


def _init(args: argparse.Namespace) -> int:
    """Write a commented scenario template that passes ``check`` as written."""
    text = templates.text(args.template)
    if args.file is None or args.file == STDIN:
        sys.stdout.write(text)
        return 0
    if args.file.exists() and not args.force:
        raise UsageError(f"{args.file} exists; choose another name, or add --force to "
                         "replace it")
    _writable(args.file)
    write_text(args.file, text)
    print(f"wrote {args.file} (template {args.template}); edit it, then: "
          f"bleedsim check {args.file}")
    return 0


def _load(path: Path) -> Scenario:
    return _load_text(path)[0]


def _load_with_assumptions(path: Path) -> tuple[Scenario, list[Assumption]]:
    """The scenario and the values its comments (and its bases') mark as assumptions."""
    scenario, text = _load_text(path)
    folder = Path(".") if path == STDIN else path.parent
    return scenario, read_chain(text, folder, str(path))


def _load_text(path: Path) -> tuple[Scenario, str]:
    if path == STDIN:
        try:
            text = sys.stdin.read()
            return parse_scenario(text, "<stdin>"), text
        except ScenarioError as e:
            raise UsageError(f"<stdin> is not a valid scenario:\n{e}") from None
        except UnicodeDecodeError:
            raise UsageError("<stdin>: not UTF-8 text") from None
    if not path.exists():
        raise UsageError(f"{path}: no such file")
    if path.is_dir():
        raise UsageError(f"{path}: is a folder; give a scenario file (scenarios/*.yaml)")
    try:
        text = read_text(path)
        return parse_scenario(text, str(path), path.parent), text
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


def _speed(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0.0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected 0 or more, got {text}")
    return value


def _fraction(text: str) -> float:
    """An argparse type for a relative precision, strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text}")
    return value


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
    run_cmd.add_argument("--executor", choices=EXECUTOR_NAMES, default="local",
                         help="where replications run: the local process pool (default) or "
                              "a Dask cluster; the numbers are the same")
    run_cmd.add_argument("--scheduler", metavar="ADDRESS",
                         help="Dask scheduler address (tcp://host:8786); default: a "
                              "LocalCluster on this machine")
    run_cmd.add_argument("--precision", type=_fraction, metavar="R",
                         help="run stratified rounds until every headline estimate's 95%% "
                              "half-width is at most R times itself (e.g. 0.05) or its claim "
                              "is settled")
    run_cmd.add_argument("--max-replications", type=_positive_int, metavar="N",
                         help="budget of a --precision run "
                              f"(default {DEFAULT_MAX_REPLICATIONS:,})")
    run_cmd.add_argument("--json", type=Path, metavar="PATH", help="also write results.json here")
    run_cmd.add_argument("--out", type=Path, metavar="DIR",
                         help="output folder (default: reports/<scenario name>/)")
    run_cmd.add_argument("--force", action="store_true",
                         help="replace another scenario's results in --out, or discard an "
                              "interrupted run with other settings")
    run_cmd.add_argument("--fail-on", type=_fail_on, metavar="VERDICT",
                         help="exit with status 3 when a claim is refuted (refuted) or not "
                              "supported (inconclusive); results are written all the same")
    run_cmd.set_defaults(command=_run)

    report_cmd = commands.add_parser(
        "report", help="write report.md, report.html and table.txt from a run's results.json")
    report_cmd.add_argument("results", type=Path, metavar="RESULTS_JSON",
                            help=f"the {RESULTS} of a run")
    report_cmd.add_argument("--out", type=Path, metavar="DIR",
                            help="output folder (default: the folder of RESULTS_JSON)")
    report_cmd.set_defaults(command=_report)

    demo_cmd = commands.add_parser(
        "demo", help="tell one replication as a story, for teaching")
    demo_cmd.add_argument("file", type=Path, metavar="FILE", nargs="?",
                          default=Path("scenarios") / "psmail-2014.yaml",
                          help="scenario file (default: scenarios/psmail-2014.yaml)")
    demo_cmd.add_argument("--seed", type=_seed, metavar="S",
                          help="random seed (default: the file's)")
    demo_cmd.add_argument("--speed", type=_speed, metavar="X", default=4.0,
                          help="lines per second (default 4; 0 prints at once)")
    demo_cmd.add_argument("--out", type=Path, metavar="DIR",
                          help="also write DIR/demo.md and DIR/demo.svg")
    demo_cmd.set_defaults(command=_demo)

    check_cmd = commands.add_parser("check", help="validate a scenario file and summarise it")
    check_cmd.add_argument("file", type=Path, metavar="FILE", help="scenario file (YAML)")
    check_cmd.set_defaults(command=_check)

    schema_cmd = commands.add_parser("schema", help="print the JSON Schema of scenario files")
    schema_cmd.add_argument("--out", type=Path, metavar="FILE",
                            help="write the schema to FILE, for an editor to point at")
    schema_cmd.set_defaults(command=_schema)

    diff_cmd = commands.add_parser("diff", help="compare two runs' results.json")
    diff_cmd.add_argument("a", type=Path, metavar="A", help=f"the first run's {RESULTS}")
    diff_cmd.add_argument("b", type=Path, metavar="B", help=f"the second run's {RESULTS}")
    diff_cmd.add_argument("--markdown", action="store_true", help="Markdown instead of text")
    diff_cmd.add_argument("--changed", action="store_true",
                          help="list only the estimates that differ beyond their interval")
    diff_cmd.add_argument("--out", type=Path, metavar="FILE",
                          help="write to FILE (Markdown when it ends in .md)")
    diff_cmd.set_defaults(command=_diff)

    init_cmd = commands.add_parser("init", help="write a commented scenario to start from")
    init_cmd.add_argument("file", type=Path, nargs="?", metavar="FILE",
                          help="where to write it (default: print it)")
    init_cmd.add_argument("--template", choices=templates.NAMES, default="web",
                          help="web (default), mail, vpn or full")
    init_cmd.add_argument("--force", action="store_true", help="replace FILE if it exists")
    init_cmd.set_defaults(command=_init)

    whatif_commands.register(commands, _whole_number)
    return parser


def _fail_on(text: str) -> list[str]:
    """``refuted``, ``inconclusive`` or both, comma-separated."""
    words = [w.strip() for w in text.split(",")]
    wrong = [w for w in words if w not in FAIL_ON]
    if wrong or not words:
        raise argparse.ArgumentTypeError(
            f"expected refuted or inconclusive (or both, comma-separated), got {text!r}")
    return words
