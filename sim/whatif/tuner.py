"""``bleedsim tune``: the largest (or smallest) field value at which a target still holds.

A target holds at a value when it holds at 95% confidence there: an outcome bound
``OUTCOME<=B`` when the estimate's upper 95% bound is at most ``B`` (``>=``: the lower bound at
least ``B``), a claim when its verdict is ``supported``. Its *margin* is the signed distance of
that bound from ``B`` (positive: holds). Every evaluation uses the same replication seeds
(common random numbers), which makes the margin a deterministic step function of the value
that moves only with the value's own effect, so a bracketing root finder (SciPy's ``brentq``)
on it converges like on a smooth monotone function.

The direction is read off the range's two ends: if the target holds at LOW and not at HIGH the
answer is the largest value that holds, in the reverse case the smallest. The answer is the
evaluated value nearest the boundary on the holding side, so re-running the scenario at that
value with the same seed and replications meets the target by construction.
"""

from __future__ import annotations

import math
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scipy import optimize

from sim.analysis.analyse import analyse
from sim.montecarlo.executors import Executor
from sim.montecarlo.layout import Layout
from sim.scenario.model import Scenario
from sim.whatif import points
from sim.whatif.outcomes import OutcomeError, OutcomeSpec
from sim.whatif.overrides import REPLICATIONS, SEED, Base, OverrideError, Scalar
from sim.whatif.ranges import FieldRange

_BOUND = re.compile(r"^\s*(.+?)\s*(<=|>=)\s*([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?\d+)?)\s*"
                    r"(given\s+evidence)?\s*$")
MAX_EVALUATIONS = 60


class TuneError(Exception):
    """A tune that cannot be set up or has no answer in the range."""


@dataclass(frozen=True, slots=True)
class Target:
    text: str
    claim: str | None = None
    spec: OutcomeSpec | None = None
    op: str = "<="
    bound: float = 0.0

    @classmethod
    def parse(cls, text: str) -> Target:
        if text.startswith("claim:"):
            name = text[len("claim:"):].strip()
            if not name:
                raise TuneError("--target claim: needs a claim name (claim:certs-not-stolen)")
            return cls(text, claim=name)
        m = _BOUND.match(text)
        if not m:
            raise TuneError(f"--target {text!r}: expected OUTCOME<=NUMBER or OUTCOME>=NUMBER "
                            "(e.g. 'password.mean<=10000', 'key.p_any<=0.01 given evidence') "
                            "or claim:NAME")
        outcome = m.group(1) + (" given evidence" if m.group(4) else "")
        try:
            spec = OutcomeSpec.parse(outcome)
        except OutcomeError as e:
            raise TuneError(f"--target {text!r}: {e}") from None
        return cls(text, spec=spec, op=m.group(2), bound=float(m.group(3)))

    def check(self, scenario: Scenario) -> None:
        if self.claim is not None and self.claim not in scenario.claims:
            known = ", ".join(scenario.claims) or "none"
            raise TuneError(f"--target {self.text}: {scenario.name} has no claim "
                            f"{self.claim!r} (its claims: {known})")
        if self.spec is not None:
            try:
                self.spec.check(scenario)
            except OutcomeError as e:
                raise TuneError(f"--target {self.text}: {e}") from None


@dataclass(frozen=True, slots=True)
class Evaluation:
    x: float
    estimate: float | None
    ci95: tuple[float, float | None]
    margin: float

    @property
    def holds(self) -> bool:
        return self.margin >= 0.0


@dataclass(frozen=True, slots=True)
class Problem:
    base: Base
    param: str
    range: FieldRange
    target: Target
    settings: dict[str, Scalar]

    @classmethod
    def parse(cls, base: Base, param: str, range_text: str, target_text: str,
              replications: int | None = None, seed: int | None = None) -> Problem:
        try:
            field_range = FieldRange.parse(range_text, "--range", base.value_at(param))
        except OverrideError as e:
            raise TuneError(str(e)) from None
        settings: dict[str, Scalar] = {}
        if replications is not None:
            settings[REPLICATIONS] = replications
        if seed is not None:
            settings[SEED] = seed
        problem = cls(base, param, field_range, Target.parse(target_text), settings)
        for x in (field_range.low, field_range.high):  # both ends validated before any work
            problem.target.check(problem.scenario(x))
        return problem

    @property
    def low(self) -> float:
        return self.range.low

    @property
    def high(self) -> float:
        return self.range.high

    def shown(self, x: float) -> str:
        return self.range.shown(x)

    def scenario(self, x: float) -> Scenario:
        label = f"{self.param}={self.shown(x)}"
        try:
            return points.build(self.base, {**self.settings, self.param: self.range.written(x)},
                                label)
        except OverrideError as e:
            raise TuneError(str(e)) from None


@dataclass(slots=True)
class Answer:
    problem: Problem
    best: Evaluation
    direction: str
    """``largest`` or ``smallest``."""
    whole_range: bool
    evaluations: list[Evaluation] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        p = self.problem
        out: dict[str, Any] = {
            "param": p.param,
            "value": p.range.written(self.best.x),
        }
        if p.range.kind == "duration":
            out["value_seconds"] = self.best.x
        out.update({
            "estimate": self.best.estimate,
            "ci95": list(self.best.ci95),
            "target": p.target.text,
            "evaluations": len(self.evaluations),
            "direction": self.direction,
            "holds_over_whole_range": self.whole_range,
        })
        return out

    def describe(self) -> str:
        p, b = self.problem, self.best
        what = "claim" if p.target.claim else "estimate"
        low, high = b.ci95
        ci = f"[{low:.4g}, {'?' if high is None else f'{high:.4g}'}]"
        head = (f"{p.target.text} holds over the whole range {p.shown(p.low)}..{p.shown(p.high)}; "
                f"at its {'high' if self.direction == 'largest' else 'low'} end"
                if self.whole_range else
                f"{self.direction} {p.param} at which {p.target.text} holds at 95% confidence:")
        return (f"{head} {p.shown(b.x)}\n  {what} there: {b.estimate if b.estimate is None else f'{b.estimate:.4g}'}"
                f", 95% interval {ci}\n  {len(self.evaluations)} evaluations of "
                f"{p.scenario(b.x).monte_carlo.replications} replications each, common random "
                "numbers")


def tune(problem: Problem, tolerance: float = 0.01, jobs: int | None = None,
         executor: Executor | None = None, progress: bool = True) -> Answer:
    """Progress (each evaluation's bar, then its value and margin) goes to stderr when it is a
    terminal."""
    show = progress and sys.stderr.isatty()
    if not 0 < tolerance < 1:
        raise TuneError(f"--tolerance {tolerance}: expected a fraction between 0 and 1")
    cache: dict[float, Evaluation] = {}
    xtol = max(tolerance * (problem.high - problem.low),
               1.0 if problem.range.kind in ("duration", "integer") else 0.0)
    digits = 1 - math.floor(math.log10(xtol))  # values a tenth of the tolerance apart: 0.125

    def evaluate(x: float) -> Evaluation:
        x = problem.range.snap(round(x, digits))
        if x not in cache:
            if len(cache) >= MAX_EVALUATIONS:
                raise TuneError(f"no answer after {MAX_EVALUATIONS} evaluations")
            cache[x] = _evaluate(problem, x, jobs, executor, show)
            if show:
                e = cache[x]
                sys.stderr.write(f"evaluation {len(cache)}: {problem.param}={problem.shown(x)}: "
                                 f"{_fmt(e)}, {'holds' if e.holds else 'fails'}\n")
        return cache[x]

    lo, hi = evaluate(problem.low), evaluate(problem.high)
    if lo.holds and hi.holds:
        easier_high = hi.margin >= lo.margin
        best = lo if easier_high else hi
        return Answer(problem, best, "smallest" if easier_high else "largest", True,
                      list(cache.values()))
    if not lo.holds and not hi.holds:
        raise TuneError(
            f"{problem.target.text} holds nowhere in {problem.shown(problem.low)}.."
            f"{problem.shown(problem.high)}: estimate {_fmt(lo)} at the low end, {_fmt(hi)} at "
            "the high end (95% intervals); widen the range or add replications")
    direction = "largest" if lo.holds else "smallest"
    optimize.brentq(lambda x: _finite(evaluate(x).margin), problem.low, problem.high,
                    xtol=xtol, rtol=1e-12, maxiter=MAX_EVALUATIONS)
    evaluated = sorted(cache.values(), key=lambda e: e.x)
    if direction == "largest":
        first_fail = min(e.x for e in evaluated if not e.holds)
        best = max((e for e in evaluated if e.holds and e.x < first_fail), key=lambda e: e.x)
    else:
        last_fail = max(e.x for e in evaluated if not e.holds)
        best = min((e for e in evaluated if e.holds and e.x > last_fail), key=lambda e: e.x)
    return Answer(problem, best, direction, False, list(cache.values()))


def _evaluate(problem: Problem, x: float, jobs: int | None,
              executor: Executor | None, progress: bool) -> Evaluation:
    scenario = problem.scenario(x)
    with tempfile.TemporaryDirectory(prefix="bleedsim-tune-") as work:
        rows = points.simulate(scenario, Path(work) / "point", jobs, executor, progress)
    layout = Layout(scenario)
    analysis = analyse(rows, layout, scenario)
    t = problem.target
    if t.claim is not None:
        j = analysis.claims[t.claim]
        high = j.ci95.high
        if j.claim.outcome == "detected":
            margin = j.ci95.low - j.bound
        else:
            margin = j.bound - (math.inf if high is None else high)
        if j.verdict != "supported":
            margin = min(margin, -1e-300)  # e.g. evidence impossible at this value
        return Evaluation(x, j.value, (j.ci95.low, high), margin)
    assert t.spec is not None
    value, ci = t.spec.measure(rows, layout, analysis)
    if value is None:
        margin = -math.inf
    elif t.op == "<=":
        margin = t.bound - (math.inf if ci.high is None else ci.high)
    else:
        margin = ci.low - t.bound
    return Evaluation(x, value, (ci.low, ci.high), margin)


def _finite(margin: float) -> float:
    """The margin as brentq needs it: finite, and never exactly 0 (0 counts as holding)."""
    return min(max(margin, -1e300), 1e300) or 1e-300


def _fmt(e: Evaluation) -> str:
    low, high = e.ci95
    value = "?" if e.estimate is None else f"{e.estimate:.4g}"
    return f"{value} [{low:.4g}, {'?' if high is None else f'{high:.4g}'}]"
