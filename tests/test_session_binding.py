"""Session binding as a list of checks (``model.md`` rule 21), end to end: the file, ``check``'s
summary, both engines, the session detector's blocked-reuse log."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import bleedsim

from sim.engines import EngineRefused, get_engine
from sim.engines.fast.concurrent_bound import NEGLIGIBLE, passing_captures_bound
from sim.model.record import ReplicationRecord
from sim.scenario import ScenarioError, load_scenario
from sim.scenario.model import (
    Attacker,
    KeySpec,
    PasswordSpec,
    Scenario,
    Server,
    SessionSpec,
    Timeline,
    Traffic,
)

LEAKY = Server(
    name="s",
    role="mail",
    workers=2,
    heap_bytes=1 << 20,
    keys=KeySpec(reachable=0.0, capture=0.5),
    traffic=Traffic(logins_per_s=0.5, requests_per_s=0.5 * (1 + 20 * 0.5) + 1.0),
    passwords=PasswordSpec(capture=0.5),
    sessions=SessionSpec(ttl=20.0, requests_per_s=0.5, capture=0.8),
)


def scenario(binding: tuple[str, ...], **fields: object) -> Scenario:
    server = replace(LEAKY, sessions=replace(LEAKY.sessions, binding=binding, **fields))
    attackers = {n: Attacker(name=n, targets=("s",), rate=1.0, start_low=30.0, start_high=30.0,
                             duration=30.0, sources=2) for n in ("a", "b")}
    return Scenario(name="binding", timeline=Timeline("2014-04-07T00:00:00Z", 0.0, 60.0, 60.0),
                    servers={"s": server}, attackers=attackers)


def run(engine: str, sc: Scenario, n: int) -> list[ReplicationRecord]:
    simulate = get_engine(engine).simulate
    return [simulate(sc, np.random.SeedSequence(5, spawn_key=(i,))) for i in range(n)]


def attempts(record: ReplicationRecord) -> list:
    return record.observations.reuse_attempts()


@pytest.mark.parametrize("engine", ["fast", "reference"])
def test_a_browser_never_matched_blocks_and_logs_every_attempt(engine: str) -> None:
    records = run(engine, scenario(("ip", "browser"), shared_address_probability=1.0,
                                   browser_match_probability=0.0), 40)
    assert sum(r.servers["s"].session for r in records) > 20
    for r in records:
        assert r.servers["s"].session_hijack == 0
        tried = attempts(r)
        assert all(u.blocked for u in tried)
        assert len(tried) == sum(r.attackers[a]["s"].session for a in ("a", "b"))


@pytest.mark.parametrize("engine", ["fast", "reference"])
def test_checks_that_always_pass_hijack_every_leaked_session(engine: str) -> None:
    records = run(engine, scenario(("ip", "browser"), shared_address_probability=1.0,
                                   browser_match_probability=1.0), 40)
    assert sum(r.servers["s"].session for r in records) > 20
    for r in records:
        assert r.servers["s"].session_hijack == r.servers["s"].session
        for a in ("a", "b"):
            assert r.attackers[a]["s"].session_hijack == r.attackers[a]["s"].session
        assert not any(u.blocked for u in attempts(r))


@pytest.mark.parametrize("engine", ["fast", "reference"])
def test_concurrent_window_longer_than_the_session_blocks_everything(engine: str) -> None:
    """A session is valid for ``ttl`` after its login, and the login counts as a request: with
    a window longer than ``ttl`` every attempt finds the login inside it (rule 21)."""
    records = run(engine, scenario(("concurrent",), concurrent_window=25.0), 40)
    assert sum(len(attempts(r)) for r in records) > 20
    assert all(r.servers["s"].session_hijack == 0 for r in records)
    assert all(u.blocked for r in records for u in attempts(r))


@pytest.mark.parametrize("engine", ["fast", "reference"])
def test_concurrent_blocks_a_captured_recent_request(engine: str) -> None:
    """A copy captured from a request inside the window always blocks: with copies overwritten
    by the next request (a busy slot) a captured copy is recent, so a long window blocks more
    attempts than a short one, and a window far shorter than the request gaps blocks few."""
    short = run(engine, scenario(("concurrent",), concurrent_window=1e-6), 60)
    long = run(engine, scenario(("concurrent",), concurrent_window=5.0), 60)
    blocked_short = np.mean([u.blocked for r in short for u in attempts(r)])
    blocked_long = np.mean([u.blocked for r in long for u in attempts(r)])
    assert blocked_short < 0.05 < 0.5 < blocked_long


def ladder(record: ReplicationRecord, checks: int) -> tuple[int, ...]:
    """The server's hijacks had it made only its first ``k`` of ``checks`` checks, ``k = 0 ..
    checks`` (a draw that tried no session keeps no counts: zeros)."""
    caps = record.servers["s"]
    return (*(caps.session_hijack_by_checks or (0,) * checks), caps.session_hijack)


@pytest.mark.parametrize("engine", ["fast", "reference"])
def test_what_each_check_bought_is_counted_prefix_by_prefix(engine: str) -> None:
    """With the address always shared and the browser never matched, every replay passes no
    check and ``ip``, and none passes ``browser``: the ladder is (leaked, leaked, 0)."""
    records = run(engine, scenario(("ip", "browser"), shared_address_probability=1.0,
                                   browser_match_probability=0.0), 40)
    assert sum(r.servers["s"].session for r in records) > 20
    for r in records:
        leaked = r.servers["s"].session
        assert ladder(r, 2) == (leaked, leaked, 0)


@pytest.mark.parametrize("engine", ["fast", "reference"])
def test_each_check_can_only_block_more(engine: str) -> None:
    """Every check listed later can only block more replays: the ladder starts at the sessions
    tried (here every leaked one: both attackers reuse), never rises, and ends at the hijacks;
    with chances strictly between 0 and 1 each step does block some."""
    records = run(engine, scenario(("ip", "browser", "concurrent"),
                                   shared_address_probability=0.6, browser_match_probability=0.5,
                                   concurrent_window=2.0), 60)
    steps = np.zeros(3)
    for r in records:
        counts = ladder(r, 3)
        assert counts[0] == r.servers["s"].session
        assert all(a >= b for a, b in zip(counts, counts[1:]))
        steps += np.array(counts[:-1]) > np.array(counts[1:])
    assert (steps > 0).all(), steps


def busy(binding: tuple[str, ...], **fields: object) -> Scenario:
    """:data:`LEAKY` with 500 logins a second: its sessions are too many to draw one by one
    (:data:`.session_literal.LITERAL_LIMIT`), and a worker serves about 1,250 requests in a
    5-second window, so a captured copy is never older than the window and ``concurrent``
    provably never passes (:mod:`sim.engines.fast.concurrent_bound`)."""
    sc = scenario(binding, concurrent_window=5.0, **fields)
    traffic = Traffic(logins_per_s=500.0, requests_per_s=500.0 * (1 + 20 * 0.5))
    return replace(sc, servers={"s": replace(sc.servers["s"], traffic=traffic)})


def test_fast_engine_refuses_concurrent_only_where_it_could_pass_past_its_limit() -> None:
    """``concurrent`` is run by simulating the sessions that meet the attack wherever it could
    pass (here tokens last until the next request); a server where they could be too many
    (``CONCURRENT_LITERAL_LIMIT``) is refused up front. One where it cannot pass is run
    however busy."""
    get_engine("fast").check(scenario(("ip", "concurrent")))
    get_engine("fast").check(busy(("ip", "concurrent")))
    quiet = scenario(("ip", "concurrent"), concurrent_window=5.0)
    month = Timeline("2014-04-07T00:00:00Z", 0.0, 30 * 86400.0, 30 * 86400.0)
    quiet = replace(quiet, timeline=month, attackers={n: replace(a, duration=None)
                                                      for n, a in quiet.attackers.items()})
    with pytest.raises(EngineRefused, match="the concurrent binding check could pass here"):
        get_engine("fast").check(quiet)
    # a day of it (about 691,000 sessions, requests and connections) is drawn literally
    day = Timeline("2014-04-07T00:00:00Z", 0.0, 86400.0, 86400.0)
    get_engine("fast").check(replace(quiet, timeline=day))


def test_concurrent_blocks_every_attempt_past_the_literal_draw() -> None:
    """Past the literal draw's limit, with the check proven never to pass, every leaked
    session's attempt is blocked and logged; without ``concurrent`` the same attempts, all
    passing the address check, hijack every leaked session."""
    sc = busy(("ip", "concurrent"), shared_address_probability=1.0)
    server = sc.servers["s"]
    assert passing_captures_bound(server, list(sc.attackers.values()), sc.horizon) <= NEGLIGIBLE
    blocked = run("fast", sc, 12)
    open_ = run("fast", busy(("ip",), shared_address_probability=1.0), 12)
    assert sum(r.servers["s"].session for r in blocked) > 100
    for r in blocked:
        assert r.servers["s"].session_hijack == 0
        assert ladder(r, 2) == (r.servers["s"].session, r.servers["s"].session, 0)
        assert all(u.blocked for u in attempts(r))
        assert len(attempts(r)) == sum(r.attackers[a]["s"].session for a in ("a", "b"))
    # the same random numbers: the checks draw nothing for concurrent, so only it differs
    for b, o in zip(blocked, open_):
        assert o.servers["s"].session == b.servers["s"].session
        assert o.servers["s"].session_hijack == o.servers["s"].session


BASE = """\
name: bound
description: binding forms
timeline:
  start: 2014-04-08T00:00:00Z
  vulnerable_since: 2012-03-14T00:00:00Z
  disclosed_at: 2014-04-07T17:27:00Z
  analysis_at: start+1h
servers:
  mail:
    heap_bytes: 1MB
    traffic: {{logins_per_s: 0.1, requests_per_s: 1}}
    keys: {{reachable: 0.5}}
    sessions: {{ttl: 10m, requests_per_s: 0.01, {extra}}}
attackers:
  eve: {{targets: [mail], start: start, rate: 1}}
"""


@pytest.mark.parametrize(
    ("written", "checks"),
    [("binding: none", ()), ("binding: ip", ("ip",)), ("binding: []", ()),
     ("binding: [concurrent, ip]", ("ip", "concurrent")),
     ("binding: [ip, browser, concurrent]", ("ip", "browser", "concurrent")),
     ("shared_address_probability: 0.1", ())],
)
def test_binding_forms(tmp_path: Path, written: str, checks: tuple[str, ...]) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(BASE.format(extra=written))
    spec = load_scenario(path).servers["mail"].sessions
    assert spec is not None
    assert spec.binding == checks
    assert (spec.browser_match_probability, spec.concurrent_window) == (1.0, 300.0)


@pytest.mark.parametrize(
    ("written", "says"),
    [("binding: [ip, ip]", "ip listed more than once"),
     ("binding: [ip, cookie]", "expected one of ip, browser, concurrent, got 'cookie'"),
     ("binding: adress", "expected one of none, ip, browser, concurrent"),
     ("browser_match_probability: 1.5", "browser_match_probability"),
     ("concurrent_window: 0s", "concurrent_window")],
)
def test_bad_binding_is_one_clear_problem(tmp_path: Path, written: str, says: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(BASE.format(extra=written))
    with pytest.raises(ScenarioError) as e:
        load_scenario(path)
    assert says in str(e.value)


def test_check_summarises_each_check(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(BASE.format(extra="binding: [ip, browser, concurrent], "
                                "shared_address_probability: 0.1, browser_match_probability: 0.4, "
                                "concurrent_window: 10m") + "monte_carlo: {engine: reference}\n")
    done = bleedsim("check", str(path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert ("binding ip (shared address 0.1), browser (match 0.4), concurrent (no victim "
            "request within 10m)") in done.stdout


def test_check_says_where_the_fast_engine_blocks_every_replay(tmp_path: Path) -> None:
    """On PSMail the fast engine blocks every replay of a session it does not draw literally
    by the bound's proof: ``bleedsim check`` says so, with the bound, for the mail server
    alone."""
    psmail = Path(__file__).parents[1] / "scenarios" / "psmail-2014.yaml"
    done = bleedsim("check", str(psmail), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    notes = done.stdout.split("engine fast:\n", 1)[1].strip().splitlines()
    assert notes == ["mail: the concurrent check never passes here (at most 5.8e-188 passing "
                     "captures expected per replication), so where sessions are not drawn "
                     "literally every replay is blocked by it"]


def test_fast_refuses_concurrent_past_its_limit_through_the_cli(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    quiet = BASE.format(extra="binding: [ip, concurrent]").replace(
        "analysis_at: start+1h", "analysis_at: start+90d").replace(
        "logins_per_s: 0.1, requests_per_s: 1", "logins_per_s: 0.001, requests_per_s: 0.007")
    path.write_text(quiet)
    done = bleedsim("run", str(path), "--engine", "fast", "--out", str(tmp_path / "out"),
                    cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("bleedsim: engine fast cannot run bound: server mail: "
                                  "the concurrent binding check could pass here")
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_results_and_report_say_what_each_check_bought(tmp_path: Path) -> None:
    """``servers.<s>.binding_checks`` holds one estimate per prefix of the checks, the last the
    reported hijacks themselves; the report shows them as a table."""
    path = tmp_path / "s.yaml"
    path.write_text(BASE.format(extra="binding: [ip, browser], shared_address_probability: 0.3, "
                                "browser_match_probability: 0.5, capture: 0.9")
                    + "monte_carlo: {replications: 300, seed: 4}\n")
    done = bleedsim("run", str(path), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    mail = doc["servers"]["mail"]
    steps = mail["binding_checks"]
    assert [s["checks"] for s in steps] == [[], ["ip"], ["ip", "browser"]]
    assert steps[-1]["session_hijack"] == mail["outcomes"]["session_hijack"]
    means = [s["session_hijack"]["mean"] for s in steps]
    assert means[0] > means[1] > means[2] > 0
    report = (tmp_path / "out" / "report.md").read_text()
    assert "What each session binding check bought" in report
    assert "| mail | ip\\, browser (as run) |" in report


def test_the_report_leaves_out_checks_nothing_reached(tmp_path: Path) -> None:
    """An attacker that replays nothing leaves every check untried: results.json keeps the
    (all-zero) ladder, the report says nothing of it."""
    path = tmp_path / "s.yaml"
    path.write_text(BASE.format(extra="binding: [ip, browser], capture: 0.9").replace(
        "rate: 1}", "rate: 1, reuse: []}") + "monte_carlo: {replications: 100, seed: 4}\n")
    done = bleedsim("run", str(path), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    assert doc["servers"]["mail"]["outcomes"]["session"]["p_any"] > 0
    assert [s["session_hijack"]["p_any"] for s in doc["servers"]["mail"]["binding_checks"]] == [
        0.0, 0.0, 0.0]
    assert "What each session binding check bought" not in (
        tmp_path / "out" / "report.md").read_text()
