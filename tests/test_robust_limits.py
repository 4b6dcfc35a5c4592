"""The input limits are exact, enforced at their boundary, and documented with the values the
code uses: a limit that drifts from its documentation misleads exactly the user who hits it."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
import yaml

from sim.engines import EngineRefused
from sim.engines.fast.key_copies import MAX_STATES
from sim.engines.fast.key_count import CANDIDATE_LIMIT
from sim.engines.reference.budget import EVENT_LIMIT, attack_events, check, legitimate_events
from sim.scenario import ScenarioError, load_scenario, parse_scenario
from sim.scenario import yamlsafe
from sim.scenario.yamlsafe import MAX_BYTES, MAX_DEPTH, MAX_NODES, load_yaml

REFERENCE = (Path(__file__).parents[1] / "docs" / "scenario-reference.md").read_text()
MINIMAL = (Path(__file__).parent / "data" / "good" / "minimal.yaml").read_text()


def documented(phrase: str) -> bool:
    """``phrase`` in the reference page, ignoring how the text was wrapped."""
    return phrase in re.sub(r"\s+", " ", REFERENCE)


@pytest.mark.parametrize("phrase", [
    f"at most 1 MiB ({MAX_BYTES:,} bytes)",
    f"at most {MAX_NODES:,} YAML nodes",
    f"at most {MAX_DEPTH} levels",
    f"at most {EVENT_LIMIT:,} simulated events per replication",
    f"than the {MAX_STATES} states of the chain it carries",
    f"more than {CANDIDATE_LIMIT:,} such connections per replication",
])
def test_limit_is_documented_with_its_value(phrase: str) -> None:
    assert documented(phrase)


def test_file_size_limit_is_exact(tmp_path: Path) -> None:
    """A file of exactly ``MAX_BYTES`` is read (and refused for what it says); one byte more is
    refused for its size."""
    padding = MAX_BYTES - len(MINIMAL.encode()) - 2
    at_limit = tmp_path / "at.yaml"
    at_limit.write_text(MINIMAL + "#" + "x" * padding + "\n")
    assert at_limit.stat().st_size == MAX_BYTES
    assert load_scenario(at_limit).name == "minimal"
    over = tmp_path / "over.yaml"
    over.write_text(MINIMAL + "#" + "x" * (padding + 1) + "\n")
    with pytest.raises(ScenarioError, match=f"limited to {MAX_BYTES} bytes"):
        load_scenario(over)


def _nested(levels: int) -> str:
    return "x: " + "[" * (levels - 1) + "]" * (levels - 1) + "\n"


def test_nesting_limit_is_exact() -> None:
    """The root mapping is the first level."""
    load_yaml(_nested(MAX_DEPTH), "f.yaml")
    with pytest.raises(ScenarioError, match=f"nested more than {MAX_DEPTH} levels"):
        load_yaml(_nested(MAX_DEPTH + 1), "f.yaml")


DEEP = {
    "a run of brackets": ("name: x\ndescription: " + "[" * 5000 + "\n", 2, "description"),
    "inside a list": ("list: [a, b, " + "[" * 3000 + "]" * 3001 + "\n", 1, "list"),
    "over two lines": ("a: " + "[" * 40 + "\n" + "[" * 2000 + "\n", 2, "a"),
    "flow mappings": ("a:\n  b: " + "{k: " * 2000 + "1" + "}" * 2000 + "\n", 2, "a.b"),
    "block mappings": ("".join("  " * i + f"k{i}:\n" for i in range(70)), 65, "k0.k1"),
}
LOADERS = [yaml.SafeLoader] + ([yaml.CSafeLoader] if yaml.__with_libyaml__ else [])


@pytest.mark.parametrize("loader", LOADERS, ids=lambda loader: loader.__name__)
@pytest.mark.parametrize("case", sorted(DEEP))
def test_too_deep_is_one_problem_whichever_parser(case: str, loader: type,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """libyaml 0.2.5+ refuses 1000 flow levels on one line before any event reaches the depth
    check; its refusal must read exactly like the pure-Python parser's (CI once failed on it)."""
    text, line, path = DEEP[case]
    monkeypatch.setattr(yamlsafe, "_Loader", loader)
    with pytest.raises(ScenarioError) as info:
        load_yaml(text, "f.yaml")
    (problem,) = info.value.problems
    assert (problem.line, problem.path) == (line, path)
    assert problem.message.startswith(f"nested more than {MAX_DEPTH} levels deep")


@pytest.mark.parametrize("loader", LOADERS, ids=lambda loader: loader.__name__)
def test_control_character_line_whichever_parser(loader: type,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """libyaml reports the offset in UTF-8 bytes, PyYAML in characters: after accented text
    the line must still be the character's own."""
    monkeypatch.setattr(yamlsafe, "_Loader", loader)
    with pytest.raises(ScenarioError) as info:
        load_yaml("name: caf\u00e9\nrole: " + "\u00e9" * 30 + "\nx: a\x07\n", "f.yaml")
    (problem,) = info.value.problems
    assert problem.line == 3 and "U+0007; control characters are not allowed" in problem.message


def test_node_limit_is_exact() -> None:
    """The root mapping, its key and the list are three nodes; the rest are list items."""
    def items(n: int) -> str:
        return "x: [" + ",".join(["1"] * n) + "]\n"
    load_yaml(items(MAX_NODES - 3), "f.yaml")
    with pytest.raises(ScenarioError, match=f"more than {MAX_NODES}"):
        load_yaml(items(MAX_NODES - 2), "f.yaml")


@pytest.mark.parametrize("events", [EVENT_LIMIT, EVENT_LIMIT + 1000])
def test_reference_event_limit_is_exact(events: int) -> None:
    """At exactly ``EVENT_LIMIT`` events the reference engine runs; above it, it refuses. (A
    1000 s window keeps ``rate x window`` exact in floating point.)"""
    sc = parse_scenario(MINIMAL)
    attacker = dataclasses.replace(sc.attackers["probe"], duration=1000.0, rate=events / 1000.0)
    sc = dataclasses.replace(sc, attackers={"probe": attacker})
    assert legitimate_events(sc) == 0.0 and attack_events(sc) == events
    if events > EVENT_LIMIT:
        with pytest.raises(EngineRefused, match=f"{EVENT_LIMIT:,} events"):
            check(sc)
    else:
        check(sc)
