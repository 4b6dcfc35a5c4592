"""``bleedsim demo``: one replication told as a story, on every shipped scenario (psmail-2014
included, which the reference engine refuses whole), deterministic for a seed, consistent with
what its trace heard, and with its Markdown and figure."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sim.cli import main
from sim.report.demo.replication import EVENT_BUDGET, episodes, legit_rate, trace
from sim.report.demo.story import tell
from sim.scenario import load_scenario

SCENARIOS = Path(__file__).parent.parent / "scenarios"
SHIPPED = sorted(p.name for p in SCENARIOS.glob("*.yaml"))
QUICK = {"minimal.yaml"}


def demo(tmp_path: Path, name: str, *flags: str) -> str:
    out = tmp_path / "out"
    assert main(["demo", str(SCENARIOS / name), "--speed", "0", "--out", str(out),
                 *flags]) == 0
    return (out / "demo.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", [
    pytest.param(n, marks=() if n in QUICK else pytest.mark.slow) for n in SHIPPED])
def test_every_shipped_scenario_tells_a_story(tmp_path: Path, name: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    markdown = demo(tmp_path, name)
    told = capsys.readouterr().out
    for part in ("The story of replication", "What was lost", "What the logs show",
                 "wrote "):
        assert part in told, part
    assert "What was lost" in markdown and "![" in markdown
    svg = (tmp_path / "out" / "demo.svg").read_text(encoding="utf-8")
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")


@pytest.mark.slow
def test_psmail_is_zoomed_into_its_attack(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """The reference engine refuses psmail-2014 whole; the demo traces the attack within its
    event budget and says what it left untraced."""
    demo(tmp_path, "psmail-2014.yaml")
    told = " ".join(capsys.readouterr().out.split())
    assert "zoom in" in told and "untraced" in told
    assert "quiet, no malicious attacker sends" in told
    assert re.search(r"mass-reaper starts on mail, vpn, www: 50\.0 heartbeats/s", told)


def test_same_seed_same_bytes_other_seed_other_story(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    first = demo(tmp_path / "a", "minimal.yaml", "--seed", "5")
    again = demo(tmp_path / "b", "minimal.yaml", "--seed", "5")
    other = demo(tmp_path / "c", "minimal.yaml", "--seed", "6")
    capsys.readouterr()
    assert first == again and first != other
    assert ((tmp_path / "a" / "out" / "demo.svg").read_bytes()
            == (tmp_path / "b" / "out" / "demo.svg").read_bytes())


def test_story_counts_are_the_traced_heartbeats() -> None:
    """Summary lines add up to every heartbeat the trace heard, and the minimal scenario
    (one worker, no transient copies) takes a key only where the key is within reach."""
    scenario = load_scenario(SCENARIOS / "minimal.yaml")
    traced = trace(scenario, 3)
    lines = ["".join(line.parts) for line in tell(traced)]
    sent = sum(int(m.replace(",", "")) for line in lines
               for m in re.findall(r"sent ([\d,]+) heartbeats", line))
    assert sent == len(traced.heard.heartbeats) > 0
    for h in traced.heard.heartbeats:
        assert h.window is not None and h.window.key_copies == 0
        assert not h.window.key_taken or h.window.key_pieces == 2


def test_episodes_respect_the_event_budget() -> None:
    scenario = load_scenario(SCENARIOS / "psmail-2014.yaml")
    present = dict.fromkeys(scenario.attackers, True)
    from sim.model.attackers import ActiveWindow

    windows = {a: ActiveWindow(at.start_low, min(scenario.horizon,
                                                 at.start_low + (at.duration or 1e9)))
               for a, at in scenario.attackers.items()}
    for ep in episodes(scenario, present, windows):
        for a, window in ep.traced.items():
            attacker = scenario.attackers[a]
            if attacker.benign:
                continue
            cost = (window.t1 - window.t0) * (
                attacker.rate * len(attacker.targets)
                + sum(legit_rate(scenario.servers[s]) for s in attacker.targets))
            assert cost <= EVENT_BUDGET * 1.0001


def test_bad_input_is_refused_with_status_2(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", str(tmp_path / "missing.yaml"), "--speed", "0"]) == 2
    assert "no such file" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        main(["demo", str(SCENARIOS / "minimal.yaml"), "--speed", "-1"])
    assert stop.value.code == 2


def test_trace_hooks_change_nothing_in_the_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a listener attached, the reference engine draws the same numbers and gives the
    same replication: the hooks only report."""
    import numpy as np

    import sim.engines.reference as reference
    from sim.engines.reference.server import ServerSim
    from sim.report.demo.replication import Heard

    scenario = load_scenario(Path(__file__).parent / "data" / "golden" / "scenario.yaml")
    seeds = [np.random.SeedSequence(7, spawn_key=(i,)) for i in range(12)]
    plain = [repr(reference.simulate(scenario, s)) for s in seeds]
    heard = Heard()

    class Traced(ServerSim):
        def __init__(self, *args: object) -> None:
            super().__init__(*args, trace=heard)  # type: ignore[arg-type]

    monkeypatch.setattr(reference, "ServerSim", Traced)
    assert [repr(reference.simulate(scenario, s)) for s in seeds] == plain
    assert heard.heartbeats and heard.restarts and heard.logins
