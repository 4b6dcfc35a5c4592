"""The input limits are exact, enforced at their boundary, and documented with the values the
code uses: a limit that drifts from its documentation misleads exactly the user who hits it."""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.engines import EngineRefused, fast
from sim.engines.fast.key_copies import MAX_STATES
from sim.engines.fast.key_count import CANDIDATE_LIMIT
from sim.engines.fast.lingering import MANY_ATTACKERS_LOGIN_LIMIT
from sim.engines.fast.skeleton import ServerRun
from sim.engines.reference.budget import EVENT_LIMIT, attack_events, check, legitimate_events
from sim.model.attackers import ActiveWindow, covered, draw_window, longest_union
from sim.model.record import Observations
from sim.scenario import Scenario, ScenarioError, load_scenario, parse_scenario
from sim.scenario import yamlsafe
from sim.scenario.model import Attacker
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
    f"at most {fast.EVENT_LIMIT:,} worker crashes and `max_requests` restarts",
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


#: A busy mail server restarted every 50 requests, four attackers sending all the hour (one
#: benign), heartbeats that crash it now and then.
RESTARTS = """
name: restarts
timeline: {start: 2014-04-08T00:00:00Z, vulnerable_since: 2012-03-14T00:00:00Z,
           disclosed_at: 2014-04-07T17:27:00Z, analysis_at: start+1h}
servers:
  mail:
    role: mail
    workers: 4
    crash_probability: 0.01
    restart: {max_requests: 50}
    traffic: {handshakes_per_s: 1, requests_per_s: 20}
    keys: {reachable: 0.5, capture: 0.01}
attackers:
  a: {targets: [mail], start: start, duration: 1h, rate: 2, heartbeats_per_connection: 4}
  b: {targets: [mail], start: start, duration: 1h, rate: 1, heartbeats_per_connection: 1}
  c: {targets: [mail], start: start, duration: 1h, rate: 0.5, heartbeats_per_connection: 2}
  d: {targets: [mail], start: start, duration: 1h, rate: 0.1, benign: true}
"""


def test_the_fast_engines_growing_limits_are_the_reference_budget() -> None:
    """Each key candidate is at least a heartbeat, each crash or counted restart at least a
    connection or request, that the reference engine simulates: with these limits no lower
    than its budget, the fast engine refuses nothing it runs on their account
    (``test_engine_acceptance.py`` checks the same over random scenarios). So is each login
    of the lingering passwords' draw past ``MAX_UNIONS`` malicious attackers."""
    assert CANDIDATE_LIMIT >= EVENT_LIMIT and fast.EVENT_LIMIT >= EVENT_LIMIT
    assert MANY_ATTACKERS_LOGIN_LIMIT >= EVENT_LIMIT


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.floats(-5e3, 2e4), st.floats(0.0, 2e4),
                          st.one_of(st.none(), st.floats(0.0, 2e4))), min_size=1, max_size=6),
       st.integers(0, 2**32 - 1))
def test_the_windows_drawn_are_within_their_longest_union(
        ranges: list[tuple[float, float, float | None]], seed: int) -> None:
    """What ``check`` bounds by ``longest_union`` (the time some attacker sends) covers every
    draw: the union of the windows :func:`draw_window` gives (twenty draws of each set)."""
    horizon = 1e4
    attackers = [Attacker(name=f"a{i}", targets=("s",), rate=1.0, start_low=lo,
                          start_high=lo + width, duration=d)
                 for i, (lo, width, d) in enumerate(ranges)]
    rng = np.random.default_rng(seed)
    for _ in range(20):
        windows = [draw_window(a, horizon, rng) for a in attackers]
        # start + duration rounds to the horizon's last place: a few 1e-12 a window
        assert covered(windows, horizon) <= longest_union(attackers, horizon) + 1e-9 * len(windows)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.floats(-5e3, 2e4), st.floats(-5e3, 2e4)), max_size=6))
def test_covered_is_the_length_of_the_windows_union(spans: list[tuple[float, float]]) -> None:
    """:func:`covered` (how long some attacker sends, which bounds the skeleton's login events)
    against the union measured piece by piece: between consecutive ends, a piece is covered
    when its middle lies in some window (clipped to the horizon; empty windows count nothing)."""
    horizon = 1e4
    windows = [ActiveWindow(t0, t1) for t0, t1 in spans]
    ends = sorted({min(max(t, 0.0), horizon) for span in spans for t in span} | {0.0, horizon})
    pieces = sum(b - a for a, b in zip(ends, ends[1:])
                 if any(w.t0 < (a + b) / 2 < w.t1 for w in windows))
    assert math.isclose(covered(windows, horizon), pieces, rel_tol=1e-12, abs_tol=1e-9)


def test_fast_event_estimate_counts_what_a_run_simulates() -> None:
    """The fast engine's cost estimate against the crashes and ``max_requests`` restarts its
    skeleton simulates (10 replications, every attacker present all the timeline). The
    estimate counts every request once a restart per ``max_requests`` of them, so it may
    exceed a run's count by what a crash wastes (at most one restart each) and each
    worker's unfinished last cycle (one each), and fall below it only by chance (four
    standard errors of the runs' mean). Counting the legitimate requests once per attacker,
    as until 2026-12-07, put it near four times the run's count here."""
    sc = parse_scenario(RESTARTS, "restarts.yaml")
    estimate = fast.expected_events(sc)
    active = {name: (a, ActiveWindow(0.0, sc.horizon)) for name, a in sc.attackers.items()}
    crashes, events = [], []
    for seed in range(10):
        run = ServerRun(sc, sc.servers["mail"], active, np.random.default_rng(seed),
                        Observations())
        run.run()
        causes = [lt.end_cause for lt in run.lifetimes]
        crashes.append(causes.count("crash"))
        events.append(crashes[-1] + causes.count("max_requests"))
    mean, error = float(np.mean(events)), float(np.std(events, ddof=1) / np.sqrt(len(events)))
    slack = float(np.mean(crashes)) + sc.servers["mail"].total_workers
    print(f"estimate {estimate:.1f}, simulated {mean:.1f} +- {error:.1f}, slack {slack:.1f}")
    assert mean - 4.0 * error <= estimate <= mean + slack + 4.0 * error


def test_fast_refuses_past_its_event_limit() -> None:
    """A server restarted at every request, busy enough for more restarts than the fast
    engine's limit over the attack: refused before any work, the message giving the count
    and the limit. That limit is the reference engine's budget, which refuses it too; half as
    busy, both engines run it, and ``check`` says the reference engine may be faster."""
    def busy(requests: int) -> Scenario:
        return parse_scenario(RESTARTS.replace("max_requests: 50", "max_requests: 1")
                              .replace("requests_per_s: 20", f"requests_per_s: {requests}"),
                              "busy.yaml")

    sc = busy(600)
    assert fast.expected_events(sc) > fast.EVENT_LIMIT
    with pytest.raises(EngineRefused, match=f"accepts at most {fast.EVENT_LIMIT:,}"):
        fast.check(sc)
    with pytest.raises(EngineRefused, match="too large for the reference engine"):
        check(sc)
    half = busy(300)
    check(half)
    fast.check(half)
    note = fast.plan(half)[0]
    assert note.endswith("the reference engine may be the faster one here")
    gigabytes = fast.expected_events(half) * fast.LIFETIME_BYTES / 1e9
    assert f"(about {gigabytes:.2g} GB a process, more beside many attackers)" in note
