"""The scenario layer of attacker choices: ``stop_when`` and ``reuse`` lists, the ``login``
detector, shared addresses on passwords, ``detected`` claims over several attackers."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.scenario import ScenarioError, json_schema, parse_scenario, summary

MINIMAL = (Path(__file__).parent / "data" / "good" / "minimal.yaml").read_text(encoding="utf-8")


def with_attacker_fields(*lines: str) -> str:
    old = "    rate: 1\n"
    assert old in MINIMAL
    return MINIMAL.replace(old, old + "".join(f"    {line}\n" for line in lines))


@pytest.mark.parametrize(("written", "resolved"), [
    ("key", ("key",)), ("patched", ("patched",)), ("never", ()), ("[]", ()),
    ("[patched, key]", ("key", "patched")), ("[key]", ("key",)),
])
def test_stop_when_is_a_list_and_one_word_is_still_valid(written: str, resolved: tuple) -> None:
    a = parse_scenario(with_attacker_fields(f"stop_when: {written}")).attackers["probe"]
    assert a.stop_when == resolved
    assert (a.stops_at_key, a.stops_when_patched) == ("key" in resolved, "patched" in resolved)


@pytest.mark.parametrize(("written", "resolved"), [
    (None, ("sessions",)), ("none", ()), ("[]", ()), ("passwords", ("passwords",)),
    ("[passwords, sessions]", ("sessions", "passwords")),
])
def test_reuse_defaults_to_sessions(written: str | None, resolved: tuple) -> None:
    text = MINIMAL if written is None else with_attacker_fields(f"reuse: {written}")
    a = parse_scenario(text).attackers["probe"]
    assert a.reuse == resolved
    assert (a.reuses_sessions, a.logs_in) == ("sessions" in resolved, "passwords" in resolved)


def test_benign_attackers_never_reuse_whatever_they_list() -> None:
    a = parse_scenario(with_attacker_fields("benign: true", "reuse: [sessions, passwords]"))
    assert not a.attackers["probe"].reuses_sessions and not a.attackers["probe"].logs_in


@pytest.mark.parametrize(("line", "message"), [
    ("stop_when: [key, patch]", "expected one of key, patched, got 'patch' (did you mean 'patched'?)"),
    ("stop_when: [key, key]", "key listed more than once"),
    ("stop_when: [never]", "expected one of key, patched, got 'never'"),
    ("reuse: [password]", "did you mean 'passwords'?"),
    ("reuse: 3", "expected a list of sessions, passwords (or none), got 3"),
])
def test_bad_lists_name_the_field_and_the_problem(line: str, message: str) -> None:
    with pytest.raises(ScenarioError) as e:
        parse_scenario(with_attacker_fields(line), "f.yaml")
    text = str(e.value)
    assert f"attackers.probe.{line.split(':')[0]}" in text and message in text and "f.yaml:" in text


def test_login_detector_and_shared_addresses_on_passwords() -> None:
    text = MINIMAL.replace("    keys: {reachable: 1}\n", "    keys: {reachable: 1}\n"
                           "    traffic: {logins_per_s: 0.1}\n"
                           "    passwords: {shared_address_probability: 0.2}\n")
    text += "detectors:\n  mail-logins: {kind: login, retention: 180d, notice_probability: 0.9}\n"
    s = parse_scenario(text)
    d = s.detectors["mail-logins"]
    assert (d.kind, d.retention, d.notice_probability) == ("login", 180 * 86400.0, 0.9)
    assert s.servers["web"].passwords is not None
    assert s.servers["web"].passwords.shared_address_probability == 0.2
    assert "shared address 0.2 at a stolen login" in summary(s)
    with pytest.raises(ScenarioError, match="log_address_change"):
        parse_scenario(MINIMAL + "detectors:\n  l: {kind: login, log_address_change: true}\n")


def test_detected_claims_take_one_attacker_or_a_list() -> None:
    two = MINIMAL + ("  other:\n    targets: [web]\n    start: disclosed\n    rate: 2\n"
                     "claims:\n  seen: {outcome: detected, attackers: [probe, other], at_least: 0.9}\n"
                     "  one: {outcome: detected, attacker: other, at_least: 0.9}\n")
    s = parse_scenario(two)
    assert s.claims["seen"].attackers == ("other", "probe")
    assert s.claims["one"].attackers == ("other",)
    with pytest.raises(ScenarioError, match="attacker or attackers, not both|not both"):
        parse_scenario(two.replace("attackers: [probe, other]", "attackers: [probe], attacker: other"))
    with pytest.raises(ScenarioError, match="attackers: \\[A, B\\]"):
        parse_scenario(two.replace("attackers: [probe, other], ", ""))


def test_summary_and_schema_show_the_choices() -> None:
    s = parse_scenario(with_attacker_fields("stop_when: [key, patched]", "reuse: []"))
    assert "stop when key or patched, reuses nothing" in summary(s)
    assert "stop when never, reuses sessions" in summary(parse_scenario(MINIMAL))
    attacker = json_schema()["$defs"]["RawAttacker"]["properties"]
    assert {"never", "key", "patched"} <= set(attacker["stop_when"]["anyOf"][0]["enum"])
    assert attacker["reuse"]["anyOf"][1]["items"]["enum"] == ["sessions", "passwords"]
    assert "RawLogin" in json_schema()["$defs"]
