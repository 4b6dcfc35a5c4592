"""Mutated scenario text either loads or is refused with ScenarioError, never anything else."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.scenario import ScenarioError, Scenario, canonical_json, parse_scenario, summary

GOOD = (Path(__file__).parent / "data" / "good" / "every-field.yaml").read_text(encoding="utf-8")
LINES = GOOD.splitlines()
VALUES = ["0", "-1", "1.5", ".nan", ".inf", "1e400", "x", "[]", "{}", "true", "null", "~",
          "0s", "-3h", "65536", "64MiB", "1/h", "analysis+1d", "start-1w", "2014-01-01T00:00:00",
          "!!python/object:os.system x", "*nothing", "&a [*a]", "'", "{between: [analysis, start]}",
          "[mail, mail]", "disclosed+520000w", "\"\\ud800\""]


def _value_split(line: str) -> tuple[str, str] | None:
    head, sep, tail = line.partition(": ")
    return (head, tail) if sep else None


@st.composite
def mutated(draw: st.DrawFn) -> str:
    lines = list(LINES)
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["delete", "duplicate", "retype", "flip", "swap"]))
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "retype" and (split := _value_split(lines[i])):
            lines[i] = f"{split[0]}: {draw(st.sampled_from(VALUES))}"
        elif op == "flip" and lines[i]:
            j = draw(st.integers(0, len(lines[i]) - 1))
            lines[i] = lines[i][:j] + draw(st.characters(codec="utf-8")) + lines[i][j + 1:]
        elif op == "swap":
            k = draw(st.integers(0, len(lines) - 1))
            a, b = _value_split(lines[i]), _value_split(lines[k])
            if a and b:
                lines[i], lines[k] = f"{a[0]}: {b[1]}", f"{b[0]}: {a[1]}"
        if not lines:
            break
    return "\n".join(lines) + "\n"


@settings(max_examples=200, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutations_load_or_are_refused(text: str) -> None:
    try:
        scenario = parse_scenario(text, "mutant.yaml")
    except ScenarioError as err:
        assert err.problems and all(p.file == "mutant.yaml" and p.message for p in err.problems)
        return
    assert isinstance(scenario, Scenario)
    canonical_json(scenario)
    summary(scenario)
