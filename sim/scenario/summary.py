"""A short human summary of a resolved scenario, for ``bleedsim check``.

It shows what the simulator will actually use: every default filled in, anchors resolved to
ISO times, rates per second, so a user can see how the file was read before running it.
"""

from __future__ import annotations

import math
from fractions import Fraction

from sim.scenario.model import Attacker, Claim, Detector, ResidencySpec, Scenario, Server, SessionSpec
from sim.scenario.values import format_duration, format_size, iso, parse_time
from sim.scenario.wording import claim_statement


def _clock(s: Scenario) -> Fraction:
    return parse_time(s.timeline.start_iso).instant


def _at(start: Fraction, seconds: float) -> str:
    if math.isinf(seconds):
        return "never" if seconds > 0 else "always"
    return iso(start + Fraction(seconds))


def _life(value: ResidencySpec) -> str:
    return value if isinstance(value, str) else f"mean {format_duration(value)}"


def _region(declared: int | None, capture: float | None) -> str:
    if capture is not None:
        return f"capture {capture:g} per heartbeat"
    return "region heap" if declared is None else f"region {format_size(declared)}"


def _server(start: Fraction, sv: Server) -> list[str]:
    k, t, r = sv.keys, sv.traffic, sv.restart
    heap = "no heap_bytes" if sv.heap_bytes is None else f"heap {format_size(sv.heap_bytes)}"
    lines = [
        f"  {sv.name} (role {sv.role}): {sv.hosts} host(s) x {sv.workers} worker(s), {heap}",
        f"    vulnerable {_at(start, sv.vulnerable_from)} until {_at(start, sv.vulnerable_until)}"
        f" (patched {_at(start, sv.patched_at)}, heartbeat off {_at(start, sv.heartbeat_off_at)})",
        "    restarts: " + ("none scheduled" if r.every is None else
                            f"every {format_duration(r.every)} +/- {format_duration(r.jitter)}")
        + ("" if r.max_requests is None else f", after {r.max_requests} connections")
        + f"; crash probability {sv.crash_probability:g} per heartbeat",
        f"    traffic per host: {t.handshakes_per_s:g} handshakes/s, {t.logins_per_s:g} logins/s, "
        f"{t.requests_per_s:g} requests/s ({t.other_requests_per_s(sv.sessions):g}/s other requests)",
        f"    keys: {k.bits} bits, pieces of {k.piece_bytes} B, reachable {k.reachable:g}, "
        f"{k.copies_per_handshake:g} copies per handshake ({_life(k.copy_lifetime)}), "
        f"{_region(k.region_bytes, k.capture)}",
    ]
    if sv.passwords is not None:
        p = sv.passwords
        lines.append(f"    passwords: {p.kind}, {p.bytes} B, {_life(p.lifetime)}, "
                     f"{_region(p.region_bytes, p.capture)}, shared address "
                     f"{p.shared_address_probability:g} at a stolen login")
    if sv.sessions is not None:
        ss = sv.sessions
        lines.append(f"    sessions: ttl {format_duration(ss.ttl)}, {ss.requests_per_s:g} requests/s, "
                     f"{ss.bytes} B tokens, {_life(ss.lifetime)}, {_binding(ss)}, "
                     f"{_region(ss.region_bytes, ss.capture)}")
    return lines


def _binding(ss: SessionSpec) -> str:
    """What each binding check lets through (rule 21), e.g. ``binding ip (shared address 0.3),
    browser (match 0.5)``; a reuse is tried against every check listed."""
    if not ss.binding:
        return f"binding none (every reuse succeeds; shared address {ss.shared_address_probability:g})"
    parts = {
        "ip": f"ip (shared address {ss.shared_address_probability:g})",
        "browser": f"browser (match {ss.browser_match_probability:g})",
        "concurrent": f"concurrent (no victim request within {format_duration(ss.concurrent_window)})",
    }
    return "binding " + ", ".join(parts[c] for c in ss.binding)


def _attacker(start: Fraction, a: Attacker) -> str:
    when = (f"from {_at(start, a.start_low)}" if a.start_low == a.start_high else
            f"starting between {_at(start, a.start_low)} and {_at(start, a.start_high)}")
    length = "until analysis" if a.duration is None else f"for {format_duration(a.duration)}"
    return (f"  {a.name} ({'benign' if a.benign else 'malicious'}, presence {a.presence:g}): "
            f"targets {', '.join(a.targets)}; {when} {length}; {a.rate:g} heartbeats/s per target, "
            f"{a.heartbeats_per_connection} per connection, {a.payload_bytes} B, {a.sources} "
            f"source(s), {'encrypted' if a.encrypted else 'unencrypted'}, "
            f"{a.key_ops_per_connection} key op(s)/connection, "
            f"stop when {' or '.join(a.stop_when) or 'never'}"
            + ("" if a.benign else f", reuses {', '.join(a.reuse) or 'nothing'}"))


def _detector(start: Fraction, d: Detector) -> str:
    extra = []
    if d.threshold is not None:
        extra.append(f"threshold {d.threshold}")
    if d.threshold_bytes is not None:
        extra.append(f"threshold {format_size(d.threshold_bytes)}")
    if d.window is not None:
        extra.append(f"window {format_duration(d.window)}")
    if d.kind == "rate":
        extra.append(f"counts {d.count}")
    if d.kind == "signature":
        extra.append("matches encrypted" if d.matches_encrypted else "unencrypted only")
        if d.replay_capture is not None:
            extra.append(f"replay capture {format_duration(d.replay_capture)}")
    if d.kind == "session" and d.log_address_change:
        extra.append("logs address changes")
    return (f"  {d.name} ({d.kind}): servers {', '.join(d.servers)}; deployed "
            f"{_at(start, d.deployed_at)}; retention {format_duration(d.retention)}; "
            f"notice {d.notice_probability:g}" + "".join(f"; {e}" for e in extra))


def _claim(c: Claim) -> str:
    bound_kind = "at_most" if c.at_most is not None else "at_least"
    bound = c.at_most if c.at_most is not None else c.at_least
    assert bound is not None, "the loader gives every claim its bound"
    statement = claim_statement(c.outcome, c.servers, c.attackers, c.given, bound_kind, bound)
    return f"  {c.name}: {statement}" + (f" -- {c.text}" if c.text else "")


def summary(s: Scenario) -> str:
    """Normalised, deterministic text: the same scenario always gives the same summary."""
    start = _clock(s)
    t = s.timeline
    lines = [f"scenario {s.name}" + (f": {s.description}" if s.description else ""),
             "timeline (UTC):",
             f"  start            {t.start_iso}",
             f"  vulnerable_since {_at(start, t.vulnerable_since)}",
             f"  disclosed_at     {_at(start, t.disclosed_at)}",
             f"  analysis_at      {_at(start, t.analysis_at)} "
             f"({format_duration(t.analysis_at)} simulated)",
             "servers:"]
    for sv in s.servers.values():
        lines += _server(start, sv)
    lines.append("attackers:")
    lines += [_attacker(start, a) for a in s.attackers.values()]
    lines.append("detectors:" + ("" if s.detectors else " none"))
    lines += [_detector(start, d) for d in s.detectors.values()]
    lines.append("evidence:" + ("" if s.evidence else " none stated"))
    lines += [f"  {d}: {v}" for d, v in s.evidence.items()]
    lines.append("claims:" + ("" if s.claims else " none"))
    lines += [_claim(c) for c in s.claims.values()]
    mc = s.monte_carlo
    lines.append(f"monte carlo: {mc.replications} replications, seed {mc.seed}, engine {mc.engine}")
    return "\n".join(lines) + "\n"
