"""Raw scenario models to the resolved :class:`~sim.scenario.model.Scenario`.

This is where fields meet each other: anchors become seconds since ``start``, defaults that
depend on other fields are filled in (``scenario-format.md``, Defaults), names are checked
against what they name, and combinations that make no sense are refused. Every problem found
is collected before raising, so a user sees them all at once.

Maps of named things come out sorted by name, and so do lists of names: declaration order
must not change a run (engines draw random numbers per attacker in map order), so that two
files that differ only in order have the same scenario hash *and* the same results.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import replace
from fractions import Fraction
from typing import TypeVar

from sim.scenario.errors import Problem, ScenarioError
from sim.scenario.model import (
    NEVER,
    Attacker,
    Claim,
    Detector,
    KeySpec,
    ResidencySpec,
    MonteCarlo,
    PasswordSpec,
    RestartPolicy,
    Scenario,
    Server,
    SessionSpec,
    Timeline,
    Traffic,
)
from sim.scenario.schema import (
    RawAttacker,
    RawClaim,
    RawDetector,
    RawKeys,
    RawRate,
    RawScenario,
    RawServer,
    RawSession,
    RawSignature,
    RawAsymmetry,
)
from sim.scenario.timeline import Clock, resolve_timeline
from sim.scenario.values import TimeExpr, iso, suggest
from sim.scenario.yamlsafe import Document, Path, dotted

V = TypeVar("V")
REL_TOLERANCE = 1e-9
"""Rule 4 compares rates written in different units (1800/h and 0.5): allow rounding."""


def _sorted(items: dict[str, V]) -> dict[str, V]:
    return dict(sorted(items.items()))


def _seconds(value: Fraction | None) -> float | None:
    return None if value is None else float(value)


def _lifetime(value: Fraction | str) -> ResidencySpec:
    if isinstance(value, str):
        return "next_request" if value == "next_request" else "next_handshake"
    return float(value)


class Resolver:
    def __init__(self, raw: RawScenario, doc: Document, filename: str) -> None:
        self.raw = raw
        self.doc = doc
        self.filename = filename
        self.problems: list[Problem] = []

    def report(self, path: Path, message: str) -> None:
        self.problems.append(Problem(self.filename, self.doc.line_of(path), dotted(path), message))

    def time(self, clock: Clock, expr: TimeExpr, path: Path) -> float:
        if not clock.in_range(expr):
            self.report(path, f"{expr.text!r} falls outside the years 1 to 9999")
        return clock.seconds(expr)

    def names(self, path: Path, given: Iterable[str], known: dict[str, object], what: str) -> None:
        for i, name in enumerate(given):
            if name not in known:
                listed = ", ".join(known) or "none"
                self.report(path + (i,), f"{name!r} names no {what}{suggest(name, list(known))}; "
                            f"{what}s are: {listed}")

    def run(self) -> Scenario:
        raw = self.raw
        clock = resolve_timeline(raw.timeline, self.report)
        if clock is None or self.problems:  # everything else is measured against the timeline
            raise ScenarioError(self.problems)
        if not raw.servers:
            self.report(("servers",), "a scenario needs at least one server")
        if not raw.attackers:
            self.report(("attackers",), "a scenario needs at least one attacker")
        timeline = Timeline(
            start_iso=iso(clock.start),
            vulnerable_since=float(clock.instants["vulnerable_since"] - clock.start),
            disclosed_at=float(clock.instants["disclosed_at"] - clock.start),
            analysis_at=float(clock.instants["analysis_at"] - clock.start),
        )
        servers = {n: self.server(clock, timeline, n, s) for n, s in raw.servers.items()}
        attackers = {n: self.attacker(clock, timeline, n, a) for n, a in raw.attackers.items()}
        detectors = {n: self.detector(clock, n, d) for n, d in raw.detectors.items()}
        for name in raw.evidence:
            if name not in raw.detectors:
                self.report(("evidence", name), f"evidence about {name!r}, which is no detector"
                            f"{suggest(name, list(raw.detectors))}; detectors are: "
                            f"{', '.join(raw.detectors) or 'none'}")
        claims = {n: self.claim(n, c) for n, c in raw.claims.items()}
        mc = raw.monte_carlo
        if self.problems:
            raise ScenarioError(self.problems)
        return Scenario(
            name=raw.name,
            description=raw.description,
            timeline=timeline,
            servers=_sorted(servers),
            attackers=_sorted(attackers),
            detectors=_sorted(detectors),
            evidence=_sorted(dict(raw.evidence)),
            claims=_sorted(claims),
            monte_carlo=MonteCarlo(mc.replications, mc.seed, mc.engine or "fast"),
        )

    def server(self, clock: Clock, timeline: Timeline, name: str, raw: RawServer) -> Server:
        path: Path = ("servers", name)
        vulnerable_from = (timeline.vulnerable_since if raw.vulnerable_from is None
                           else self.time(clock, raw.vulnerable_from, path + ("vulnerable_from",)))
        if vulnerable_from < timeline.vulnerable_since:
            self.report(path + ("vulnerable_from",), "vulnerable_from is before "
                        "timeline.vulnerable_since: a server cannot be vulnerable before the bug exists")
        ends: dict[str, float] = {}
        for field in ("patched_at", "heartbeat_off_at"):
            expr: TimeExpr | None = getattr(raw, field)
            ends[field] = NEVER if expr is None else self.time(clock, expr, path + (field,))
            if ends[field] < vulnerable_from:
                self.report(path + (field,), f"{field} ({clock.iso(ends[field])}) is before the "
                            f"server became vulnerable ({clock.iso(vulnerable_from)}): "
                            "a patch or switch-off must come after the bug")
        self.secret_regions(path, raw)
        sessions = None
        if raw.sessions is not None:
            s = raw.sessions
            sessions = SessionSpec(
                ttl=float(s.ttl), requests_per_s=s.requests_per_s, bytes=s.bytes,
                lifetime=_lifetime(s.lifetime), binding=s.binding or (),
                shared_address_probability=s.shared_address_probability,
                browser_match_probability=s.browser_match_probability,
                concurrent_window=300.0 if s.concurrent_window is None else float(s.concurrent_window),
                region_bytes=s.region_bytes, capture=s.capture)
        passwords = None
        if raw.passwords is not None:
            p = raw.passwords
            passwords = PasswordSpec(bytes=p.bytes, lifetime=_lifetime(p.lifetime),
                                     kind=p.kind or "static",
                                     shared_address_probability=p.shared_address_probability,
                                     region_bytes=p.region_bytes,
                                     capture=p.capture)
        return Server(
            name=name, role=raw.role or name, keys=self.keys(raw.keys),
            hosts=raw.hosts, workers=raw.workers, heap_bytes=raw.heap_bytes,
            vulnerable_from=vulnerable_from, patched_at=ends["patched_at"],
            heartbeat_off_at=ends["heartbeat_off_at"], restart=self.restart(path, raw),
            crash_probability=raw.crash_probability,
            traffic=self.traffic(path, raw, sessions), passwords=passwords, sessions=sessions)

    def secret_regions(self, path: Path, raw: RawServer) -> None:
        """Rule 19: ``heap_bytes`` is the region of every kind that names neither its own
        region nor a measured capture, so it is required as soon as one such kind exists."""
        if raw.heap_bytes is not None:
            return
        kinds = {"keys": raw.keys, "passwords": raw.passwords, "sessions": raw.sessions}
        need = [k for k, spec in kinds.items()
                if spec is not None and spec.region_bytes is None and spec.capture is None]
        if need:
            self.report(path + ("heap_bytes",), "required field is missing: "
                        f"{', '.join(need)} set neither capture nor region_bytes, so their "
                        "region is the worker's heap")

    @staticmethod
    def keys(raw: RawKeys) -> KeySpec:
        return KeySpec(
            reachable=raw.reachable, bits=raw.bits,
            copies_per_handshake=raw.copies_per_handshake,
            copy_lifetime=_lifetime(raw.copy_lifetime),
            piece_bytes=raw.piece_bytes if raw.piece_bytes is not None else math.ceil(raw.bits / 16),
            region_bytes=raw.region_bytes, capture=raw.capture)

    def restart(self, path: Path, raw: RawServer) -> RestartPolicy:
        if raw.restart is None:
            return RestartPolicy()
        r = raw.restart
        if r.jitter is not None and r.every is None:
            self.report(path + ("restart", "jitter"), "jitter needs every: it spreads scheduled "
                        "restarts, and there are none without every")
        if r.jitter is not None and r.every is not None and r.jitter >= r.every:
            self.report(path + ("restart", "jitter"), "expected a jitter shorter than every, "
                        "so that restart periods stay positive")
        return RestartPolicy(every=_seconds(r.every), jitter=float(r.jitter or 0),
                             max_requests=r.max_requests)

    def traffic(self, path: Path, raw: RawServer, sessions: SessionSpec | None) -> Traffic:
        """Rule 4: logins and session requests are among the requests, so the request rate
        defaults to their sum and may not be below it."""
        t = raw.traffic
        if t is None:
            return Traffic()
        session_rate = 0.0 if sessions is None else sessions.ttl * sessions.requests_per_s
        needed = t.logins_per_s * (1.0 + session_rate)
        requests = needed if t.requests_per_s is None else t.requests_per_s
        if requests < needed * (1 - REL_TOLERANCE):
            self.report(path + ("traffic", "requests_per_s"), f"expected at least {needed:g}/s "
                        "(logins_per_s plus the expected session requests, logins x ttl x "
                        f"sessions.requests_per_s), got {requests:g}/s: logins and session "
                        "requests are among the requests")
        return Traffic(t.handshakes_per_s, t.logins_per_s, requests)

    def attacker(self, clock: Clock, timeline: Timeline, name: str, raw: RawAttacker) -> Attacker:
        path: Path = ("attackers", name)
        self.names(path + ("targets",), raw.targets, dict(self.raw.servers), "server")
        if isinstance(raw.start, tuple):
            low = self.time(clock, raw.start[0], path + ("start",))
            high = self.time(clock, raw.start[1], path + ("start",))
            if low > high:
                self.report(path + ("start", "between"), f"the window's start ({raw.start[0].text}"
                            f" = {clock.iso(low)}) is after its end ({raw.start[1].text} = "
                            f"{clock.iso(high)})")
        else:
            low = high = self.time(clock, raw.start, path + ("start",))
        duration = _seconds(raw.duration)
        latest_end = timeline.analysis_at if duration is None else high + duration
        if low >= timeline.analysis_at or latest_end <= 0.0:
            self.report(path + ("start",), "the attack window lies entirely outside the "
                        f"simulated time [{clock.iso(0.0)}, {clock.iso(timeline.analysis_at)}) "
                        "(timeline.start to analysis_at), so it can send nothing")
        encrypted = raw.encrypted
        return Attacker(
            name=name, targets=tuple(sorted(raw.targets)), rate=raw.rate,
            start_low=low, start_high=high, duration=duration, presence=raw.presence,
            heartbeats_per_connection=raw.heartbeats_per_connection,
            payload_bytes=raw.payload_bytes, sources=raw.sources, encrypted=encrypted,
            key_ops_per_connection=(raw.key_ops_per_connection
                                    if raw.key_ops_per_connection is not None else int(encrypted)),
            stop_when=raw.stop_when or (),  # type: ignore[arg-type]
            reuse=("sessions",) if raw.reuse is None else raw.reuse,  # type: ignore[arg-type]
            benign=raw.benign)

    def detector(self, clock: Clock, name: str, raw: RawDetector) -> Detector:
        path: Path = ("detectors", name)
        servers = tuple(sorted(raw.servers if raw.servers is not None else self.raw.servers))
        if raw.servers is not None:
            self.names(path + ("servers",), raw.servers, dict(self.raw.servers), "server")
        deployed = (-NEVER if raw.deployed_at is None
                    else self.time(clock, raw.deployed_at, path + ("deployed_at",)))
        base = Detector(name=name, kind=raw.kind, servers=servers, deployed_at=deployed,
                        retention=NEVER if raw.retention is None else float(raw.retention),
                        notice_probability=raw.notice_probability)
        if isinstance(raw, RawSignature):
            if (raw.threshold is None) != (raw.window is None):
                given, other = ("threshold", "window") if raw.window is None else ("window", "threshold")
                self.report(path + (given,), f"{given} needs {other}: a signature either alerts "
                            "on every match, or on threshold matches from one source within "
                            "one window")
            return replace(base, matches_encrypted=raw.matches_encrypted,
                           replay_capture=_seconds(raw.replay_capture),
                           threshold=raw.threshold, window=_seconds(raw.window))
        if isinstance(raw, RawRate):
            return replace(base, threshold=raw.threshold, window=float(raw.window),
                           count=raw.count or "connections")
        if isinstance(raw, RawAsymmetry):
            return replace(base, threshold_bytes=raw.threshold_bytes, window=float(raw.window))
        if isinstance(raw, RawSession):
            return replace(base, log_address_change=raw.log_address_change)
        return base

    def claim(self, name: str, raw: RawClaim) -> Claim:
        path: Path = ("claims", name)
        known_attackers: dict[str, object] = dict(self.raw.attackers)
        if raw.servers is not None:
            self.names(path + ("servers",), raw.servers, dict(self.raw.servers), "server")
        if raw.attackers is not None:
            self.names(path + ("attackers",), raw.attackers, known_attackers, "attacker")
        if raw.attacker is not None and raw.attacker not in known_attackers:
            self.report(path + ("attacker",), f"{raw.attacker!r} names no attacker"
                        f"{suggest(raw.attacker, list(known_attackers))}; attackers are: "
                        f"{', '.join(known_attackers)}")
        one_bound = (raw.at_most is None) != (raw.at_least is None)
        if not one_bound:
            self.report(path, "a claim needs exactly one bound: at_most (a probability the "
                        "outcome must not exceed) or at_least (for outcome: detected)")
        if raw.attacker is not None and raw.attackers is not None:
            self.report(path + ("attacker",), "give either attacker (one name) or attackers "
                        "(a list), not both")
        if raw.outcome == "detected":
            given = "prior"
            if raw.attacker is None and raw.attackers is None:
                self.report(path + ("attacker",), "required field is missing: a detected claim "
                            "names the attacker (attacker: NAME) or attackers (attackers: [A, B]) "
                            "whose detection it bounds")
            if one_bound and raw.at_most is not None:
                self.report(path + ("at_most",), "a detected claim bounds the detection "
                            "probability from below: use at_least")
            if raw.servers is not None:
                self.report(path + ("servers",), "a detected claim is about an attacker, "
                            "not servers: leave servers out")
            if raw.given is not None:
                self.report(path + ("given",), "a detected claim is always judged given that "
                            "the attacker exists (rule 14): leave given out")
        else:
            if one_bound and raw.at_least is not None:
                self.report(path + ("at_least",), f"a {raw.outcome} claim bounds a compromise "
                            "probability from above: use at_most (at_least is for detected)")
            given = raw.given or ("evidence" if self.raw.evidence else "prior")
            if given == "evidence" and not self.raw.evidence:
                self.report(path + ("given",), "given: evidence, but the scenario states no "
                            "evidence; add evidence or use given: prior")
        attackers = raw.attackers if raw.attackers is not None else (
            (raw.attacker,) if raw.attacker is not None else ())
        return Claim(
            name=name, outcome=raw.outcome, text=raw.text,
            servers=tuple(sorted(raw.servers or ())), attackers=tuple(sorted(attackers)),
            given=given,  # type: ignore[arg-type]
            at_most=raw.at_most, at_least=raw.at_least)


def resolve(raw: RawScenario, doc: Document, filename: str) -> Scenario:
    """The resolved scenario, or :class:`ScenarioError` with every semantic problem found."""
    return Resolver(raw, doc, filename).run()
