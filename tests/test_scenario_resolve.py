"""Resolution: defaults, anchors, units, canonical form, hash, schema and summary."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pytest
import yaml

from sim.scenario import (
    ScenarioError,
    canonical_json,
    json_schema,
    load_scenario,
    parse_scenario,
    scenario_sha256,
    summary,
)
from sim.scenario.model import KeySpec, MonteCarlo, RestartPolicy, Traffic
from sim.scenario.yamlsafe import load_yaml

GOOD = Path(__file__).parent / "data" / "good"
DAY = 86400.0
MINIMAL = (GOOD / "minimal.yaml").read_text(encoding="utf-8")


def test_minimal_scenario_gets_every_default() -> None:
    s = load_scenario(GOOD / "minimal.yaml")
    assert s.timeline.start_iso == "2014-01-01T00:00:00Z"
    assert (s.timeline.vulnerable_since, s.timeline.disclosed_at, s.timeline.analysis_at) == (
        0.0, 90 * DAY, 97 * DAY)
    web = s.servers["web"]
    assert (web.role, web.hosts, web.workers, web.heap_bytes) == ("web", 1, 1, 2**20)
    assert web.vulnerable_from == 0.0
    assert web.patched_at == web.heartbeat_off_at == math.inf
    assert web.restart == RestartPolicy(None, 0.0, None)
    assert web.crash_probability == 0.0
    assert web.traffic == Traffic(0.0, 0.0, 0.0)
    assert web.keys == KeySpec(reachable=1.0, bits=2048, copies_per_handshake=0.0,
                               copy_lifetime="next_handshake", piece_bytes=128)
    assert web.passwords is None and web.sessions is None
    probe = s.attackers["probe"]
    assert (probe.start_low, probe.start_high, probe.duration) == (90 * DAY, 90 * DAY, None)
    assert (probe.presence, probe.payload_bytes, probe.heartbeats_per_connection, probe.sources) == (
        1.0, 65535, 1, 1)
    assert (probe.encrypted, probe.benign, probe.key_ops_per_connection, probe.stop_when) == (
        False, False, 0, ())
    assert probe.reuse == ("sessions",)
    assert s.detectors == {} and s.evidence == {} and s.claims == {}
    assert s.monte_carlo == MonteCarlo(10000, 0, "fast")


def test_every_field_resolves_to_seconds_bytes_and_rates() -> None:
    s = load_scenario(GOOD / "every-field.yaml")
    t = s.timeline
    disclosed = 96 * DAY + 17.5 * 3600  # 2014-04-07T17:30Z, written with a +02:00 zone
    assert t.disclosed_at == disclosed
    assert t.analysis_at == disclosed + 6 * DAY + 6.5 * 3600
    assert t.vulnerable_since == -(365 + 293) * DAY
    mail = s.servers["mail"]
    assert mail.vulnerable_from == t.vulnerable_since + DAY
    assert mail.patched_at == disclosed + 12 * 3600
    assert mail.heap_bytes == 64 * 2**20
    assert mail.restart == RestartPolicy(21600.0, 3600.0, 10000)
    assert mail.traffic == Traffic(30.0, 0.5, 400.0)
    assert mail.keys == KeySpec(0.05, 2048, 1.5, "next_handshake", 120, 8 * 2**20, None)
    assert mail.passwords is not None and mail.passwords.kind == "otp"
    assert (mail.passwords.capture, mail.passwords.region_bytes) == (0.9, 544 * 1024)
    ss = mail.sessions
    assert ss is not None
    assert (ss.ttl, ss.requests_per_s, ss.bytes, ss.lifetime, ss.binding) == (1800.0, 0.2, 40, 2.5, ("ip",))
    assert s.servers["vpn"].heartbeat_off_at == disclosed - 90 * DAY
    assert s.servers["vpn"].heap_bytes == 500 * 10**6
    www = s.servers["www"]
    assert (www.role, www.keys.piece_bytes) == ("www", 256)
    reaper, checkers = s.attackers["reaper"], s.attackers["checkers"]
    assert (reaper.start_low, reaper.start_high, reaper.duration) == (0.0, disclosed + 12 * 3600, 21600.0)
    assert (reaper.key_ops_per_connection, reaper.stop_when, reaper.targets) == (2, ("key", "patched"), ("mail", "vpn"))
    assert reaper.reuse == ("sessions", "passwords")
    assert s.detectors["mail-logins"].kind == "login"
    assert checkers.targets == ("mail", "www")  # written [www, mail]: order does not matter
    assert (checkers.rate, checkers.payload_bytes, checkers.benign) == (0.05, 16384, True)
    d = s.detectors
    assert d["ids-signature"].servers == ("mail", "www")
    assert d["ids-signature"].deployed_at == disclosed + DAY
    assert (d["ids-signature"].threshold, d["ids-signature"].window) == (3, 1.0)
    assert d["ids-signature"].replay_capture == 7 * DAY
    assert d["netflow-rate"].servers == ("mail", "vpn", "www")
    assert d["netflow-rate"].deployed_at == -math.inf
    assert d["netflow-rate"].count == "heartbeats"
    assert d["bytes-per-packet"].threshold_bytes == 500 * 10**6
    assert d["access"].retention == 14 * DAY
    c = s.claims
    assert c["sessions-default-given"].given == "evidence"  # rule 14: evidence is stated
    assert c["sessions-default-given"].attackers == ("reaper",)
    assert c["reaper-seen"].attackers == ("reaper",) and c["reaper-seen"].given == "prior"
    assert c["certs-not-stolen"].servers == () and c["certs-not-stolen"].at_most == 0.01
    assert s.monte_carlo == MonteCarlo(20000, 2014, "reference")


def _variant(old: str, new: str, text: str = MINIMAL) -> str:
    assert old in text
    return text.replace(old, new)


def test_dependent_defaults() -> None:
    traffic = _variant("    keys: {reachable: 1}\n", "    keys: {reachable: 1}\n"
                       "    traffic: {logins_per_s: 1800/h}\n"
                       "    sessions: {ttl: 30m, requests_per_s: 0.2}\n")
    assert parse_scenario(traffic).servers["web"].traffic.requests_per_s == pytest.approx(
        0.5 + 0.5 * 1800 * 0.2, rel=1e-12)
    encrypted = parse_scenario(_variant("    rate: 1\n", "    rate: 1\n    encrypted: true\n"))
    assert encrypted.attackers["probe"].key_ops_per_connection == 1
    bits = parse_scenario(_variant("{reachable: 1}", "{reachable: 1, bits: 1030}"))
    assert bits.servers["web"].keys.piece_bytes == 65  # ceil(1030 / 16)
    no_heap = _variant("    heap_bytes: 1MiB\n", "").replace("{reachable: 1}", "{reachable: 1, capture: 1}")
    assert parse_scenario(no_heap).servers["web"].heap_bytes is None
    with pytest.raises(ScenarioError, match="heap_bytes"):
        parse_scenario(_variant("    heap_bytes: 1MiB\n", ""))
    no_evidence = parse_scenario(MINIMAL + "claims:\n  c: {outcome: key, at_most: 0.1}\n")
    assert no_evidence.claims["c"].given == "prior"


def test_timeline_entries_may_anchor_on_each_other() -> None:
    text = _variant("""  vulnerable_since: 2014-01-01T00:00:00Z
  disclosed_at: vulnerable_since+90d
""", """  start: disclosed-30d
  vulnerable_since: start-1d
  disclosed_at: 2014-04-01T00:00:00Z
""")
    t = parse_scenario(text).timeline
    assert t.start_iso == "2014-03-02T00:00:00Z"
    assert (t.vulnerable_since, t.disclosed_at, t.analysis_at) == (-DAY, 30 * DAY, 37 * DAY)


def _reordered(node: object) -> object:
    """Every mapping and every list of names reversed; ``between`` keeps its order."""
    if isinstance(node, dict):
        return {k: (v if k == "between" else _reordered(v)) for k, v in reversed(node.items())}
    if isinstance(node, list):
        return [_reordered(v) for v in reversed(node)]
    return node


def test_hash_ignores_order_and_units_but_not_content() -> None:
    text = (GOOD / "every-field.yaml").read_text(encoding="utf-8")
    base = parse_scenario(text)
    shuffled = yaml.safe_dump(_reordered(load_yaml(text, "x").data), sort_keys=False)
    assert shuffled != text
    again = parse_scenario(shuffled)
    assert list(again.servers) == list(base.servers)
    assert scenario_sha256(again) == scenario_sha256(base)
    units = (text.replace("heap_bytes: 64MiB", "heap_bytes: 67108864")
             .replace("logins_per_s: 1800/h", "logins_per_s: 0.5")
             .replace("patched_at: disclosed+12h", "patched_at: 2014-04-08T05:30:00Z")
             .replace("every: 6h", "every: 360m"))
    assert units != text
    assert canonical_json(parse_scenario(units)) == canonical_json(base)
    changed = parse_scenario(text.replace("every: 6h", "every: 7h"))
    assert scenario_sha256(changed) != scenario_sha256(base)


def test_canonical_json_is_sorted_finite_json() -> None:
    s = load_scenario(GOOD / "every-field.yaml")
    text = canonical_json(s)
    data = json.loads(text)
    assert json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False) == text
    assert data["servers"]["www"]["patched_at"] is None  # never
    assert data["detectors"]["crashes"]["deployed_at"] is None  # since always
    assert data["servers"]["mail"]["heap_bytes"] == 64 * 2**20
    assert len(scenario_sha256(s)) == 64


def test_json_schema_is_serialisable_and_strict() -> None:
    schema = json_schema()
    text = json.dumps(schema)
    assert "null" not in text  # null is never a valid value
    assert set(schema["required"]) == {"name", "timeline", "servers", "attackers"}
    assert schema["additionalProperties"] is False
    for name, definition in schema["$defs"].items():
        assert definition.get("additionalProperties") is False, name
    assert set(schema["properties"]) == {"extends", "name", "description", "timeline", "servers", "attackers",
                                         "detectors", "evidence", "claims", "monte_carlo"}


def test_summary_shows_resolved_times_and_numbers() -> None:
    s = load_scenario(GOOD / "every-field.yaml")
    text = summary(s)
    assert text == summary(load_scenario(GOOD / "every-field.yaml"))
    for fragment in ["disclosed_at     2014-04-07T17:30:00Z", "analysis_at      2014-04-14T00:00:00Z",
                     "mail (role mail): 2 host(s) x 16 worker(s), heap 64MiB",
                     "until 2014-04-08T05:30:00Z", "0.5 logins/s, 400 requests/s",
                     "reaper (malicious, presence 0.1)", "ids-signature (signature)",
                     "ids-signature: benign_only", "P(key | evidence) ≤ 1.00%",
                     "20000 replications, seed 2014, engine reference"]:
        assert fragment in text


def test_loading_a_normal_file_is_fast() -> None:
    path = GOOD / "every-field.yaml"
    load_scenario(path)
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        load_scenario(path)
        timings.append(time.perf_counter() - started)
    assert sorted(timings)[2] < 0.05
