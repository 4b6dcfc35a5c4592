"""Whatever the reference engine runs, the fast engine runs (issue 7: "every scenario the
reference engine can run, the fast engine runs").

Random scenarios across the format (one or two servers of every role, restarts by time and
by request count, crashes, key copies of every lifetime, passwords and sessions of every
lifetime and binding, attackers of every kind): each one the reference engine's ``check``
accepts, the fast engine's must accept too. Its limits that grow with the attack (the key
candidates, the crashes and restarts) are the reference engine's budget for that reason.
Left out, and said so in ``docs/scenario-reference.md``: more malicious attackers on one
server than ``sessions.MAX_UNIONS``, where the draws that follow each capture have limits of
their own. A search of 3,000 such random scenarios on 2026-12-07 found the fast engine
refusing 8% of those the reference engine accepted (43 for the key candidates, 30 for the
crashes and restarts, 9 past ``MAX_UNIONS``); with the limits raised, none of 2,324 below
``MAX_UNIONS``. Past it, once the bounds counted the logins over the attackers' windows'
union (not their sum) and the lingering passwords' logins against the reference budget, none
of 1,946 with up to 20 attackers (171 past ``MAX_UNIONS``); that is measured, not stated
here, since the ``next_request`` draws' limits there are not the reference budget.
"""

from __future__ import annotations

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sim.engines import EngineRefused, get_engine
from sim.engines.fast.sessions import MAX_UNIONS
from sim.scenario import Scenario, parse_scenario

reference, fast = get_engine("reference"), get_engine("fast")
REUSE = ["[]", "[passwords]", "[sessions]", "[passwords, sessions]"]


def _log_uniform(low: float, high: float) -> st.SearchStrategy[float]:
    """Rates spread over decades, written with four significant digits."""
    return st.floats(low, high).map(lambda e: float(f"{10.0 ** e:.4g}"))


def _lifetime(draw: st.DrawFn, low: float, high: float) -> str:
    return draw(st.sampled_from(["next_request", "next_handshake", "duration"])).replace(
        "duration", f"{draw(_log_uniform(low, high))}s")


def _server(draw: st.DrawFn, name: str) -> str:
    logins, ttl, per_session = (draw(_log_uniform(-4, 1.5)),
                                draw(st.sampled_from([300, 1800, 7200])),
                                draw(_log_uniform(-3, 0)))
    # requests include the logins and the session requests (the format's rule), and more
    other = draw(_log_uniform(-3, 1.5))
    requests = float(f"{logins * (1 + ttl * per_session) * 1.01 + other:.6g}")
    restart = {}
    if draw(st.booleans()):
        restart["every"] = draw(st.sampled_from(["10m", "1h", "6h"]))
    if draw(st.booleans()):
        restart["max_requests"] = draw(st.sampled_from([1, 5, 80, 10000]))
    lines = [
        f"  {name}:",
        f"    role: {draw(st.sampled_from(['mail', 'vpn', 'public']))}",
        f"    hosts: {draw(st.sampled_from([1, 2, 4]))}",
        f"    workers: {draw(st.sampled_from([1, 2, 4, 16, 64]))}",
        f"    crash_probability: {draw(st.sampled_from([0, 0.001, 0.05, 0.5, 1]))}",
        f"    traffic: {{handshakes_per_s: {draw(_log_uniform(-3, 1.5))}, logins_per_s: "
        f"{logins:.6g}, requests_per_s: {requests}}}",
        f"    keys: {{reachable: {draw(st.sampled_from([0.05, 0.5, 1]))}, copies_per_handshake: "
        f"{draw(st.sampled_from([0, 1, 1.5, 4]))}, copy_lifetime: "
        f"{_lifetime(draw, 0, 3.5)}, capture: {draw(st.sampled_from([1, 0.01, 1e-4]))}}}",
    ]
    if restart:
        lines.append("    restart: {" + ", ".join(f"{k}: {v}" for k, v in restart.items()) + "}")
    if draw(st.booleans()):
        lines.append(f"    passwords: {{lifetime: {_lifetime(draw, 0, 4)}, capture: "
                     f"{draw(st.sampled_from([1, 0.1, 0.001]))}}}")
    if draw(st.booleans()):
        binding = draw(st.sampled_from(["none", "ip", "[ip, browser]",
                                        "[ip, browser, concurrent]", "concurrent"]))
        lines.append(f"    sessions: {{lifetime: {_lifetime(draw, 0, 4)}, ttl: {ttl}s, "
                     f"requests_per_s: {per_session:.6g}, binding: {binding}, capture: "
                     f"{draw(st.sampled_from([1, 0.1, 0.001]))}}}")
    return "\n".join(lines)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    hours = draw(st.sampled_from([1, 2, 6, 24, 72]))
    servers = [f"s{i}" for i in range(draw(st.integers(1, 2)))]
    attackers = []
    for i in range(draw(st.integers(1, MAX_UNIONS))):
        targets = [servers[0]] + [s for s in servers[1:] if draw(st.booleans())]
        attackers.append("\n".join([
            f"  a{i}:",
            f"    targets: [{', '.join(targets)}]",
            f"    benign: {str(draw(st.booleans())).lower()}",
            "    start: start",
            f"    duration: {draw(st.sampled_from([1, hours]))}h",
            f"    rate: {draw(_log_uniform(-3, 2))}",
            f"    heartbeats_per_connection: {draw(st.sampled_from([1, 4, 50]))}",
            f"    presence: {draw(st.sampled_from([1, 0.5]))}",
            f"    reuse: {draw(st.sampled_from(REUSE))}",
            f"    key_ops_per_connection: {draw(st.sampled_from([0, 1, 2]))}",
            f"    stop_when: {draw(st.sampled_from(['never', 'key', 'patched']))}",
        ]))
    text = "\n".join([
        "name: acceptance",
        "timeline:",
        "  start: 2014-04-08T00:00:00Z",
        "  vulnerable_since: 2012-03-14T00:00:00Z",
        "  disclosed_at: 2014-04-07T17:27:00Z",
        f"  analysis_at: start+{hours}h",
        "servers:",
        *(_server(draw, name) for name in servers),
        "attackers:",
        *attackers,
    ]) + "\n"
    return parse_scenario(text, "acceptance.yaml")


@settings(max_examples=400, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(scenarios())
def test_the_fast_engine_runs_what_the_reference_engine_runs(sc: Scenario) -> None:
    try:
        reference.check(sc)
    except EngineRefused:
        assume(False)
    fast.check(sc)
