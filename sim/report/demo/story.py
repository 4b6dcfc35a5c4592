"""A traced replication as lines of a story, in time order: the quiet stretches in one line,
the attack zoomed into (the first heartbeats in full, every kind of capture the first few
times, then a summary every few minutes), and at the end what was lost and what the logs show.

A line is an ``Inline`` (``sim.report.blocks``): names from the scenario are plain strings, so
the terminal shows them through ``escape.plain`` and Markdown escapes them.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sim.engines.reference.trace import Window
from sim.model.detectors.counting import retention_cutoff, traffic_counting
from sim.report import cells
from sim.report.blocks import Inline, Safe
from sim.report.demo.replication import Episode, Heartbeat, Traced
from sim.scenario.model import Attacker, Scenario

IN_FULL = 1
"""Answered heartbeats told in full per attacker and server, before the first capture."""
FIRST = 2
"""Captures (and reuses) of each kind told one by one per attacker and server."""
SUMMARIES = 5
"""About this many summary lines per traced attack."""


@dataclass(frozen=True, slots=True)
class Line:
    t: float | None
    """When it happens (seconds since the start); ``None`` for lines outside time."""
    parts: Inline
    zoom: bool = False
    """A line inside a traced stretch (shown indented)."""


class Clock:
    def __init__(self, start_iso: str) -> None:
        origin = datetime.fromisoformat(start_iso)
        self.origin = origin.astimezone(UTC) if origin.tzinfo else origin.replace(tzinfo=UTC)

    def day(self, t: float) -> str:
        return (self.origin + timedelta(seconds=t)).strftime("%d %b %Y %H:%M UTC")

    def exact(self, t: float) -> str:
        moment = self.origin + timedelta(seconds=t)
        return moment.strftime("%d %b %H:%M:%S.") + f"{moment.microsecond // 10000:02d}"


def tell(traced: Traced) -> list[Line]:
    sc = traced.scenario
    clock = Clock(sc.timeline.start_iso)
    lines = _cast(traced)
    now = 0.0
    for episode in traced.episodes:
        lines += _quiet(sc, clock, now, episode.start, traced)
        lines += _episode(traced, episode, clock)
        now = episode.end
    lines += _quiet(sc, clock, now, sc.horizon, traced)
    lines += _lost(traced, clock)
    lines += _logs(traced, clock)
    return lines


def _names(names: list[str]) -> list[str]:
    out: list[str] = []
    for i, n in enumerate(names):
        out += [Safe(", ")] * (i > 0) + [n]
    return out


def _cast(traced: Traced) -> list[Line]:
    sc = traced.scenario
    here = [a for a in sc.attackers if traced.present[a] and not traced.windows[a].empty]
    absent = [a for a in sc.attackers if a not in here]
    out = [Line(None, (Safe("The story of replication "), Safe(str(traced.index)),
                       Safe(f" of seed {traced.seed} of "), sc.name,
                       Safe(" (the first replication of that seed in which a malicious attacker "
                            "exists). Every heartbeat, login and restart below is simulated "
                            "literally, by the reference engine.")))]
    out.append(Line(None, (Safe("Who exists in it: "), *(_names(here) or [Safe("nobody")]),
                           Safe(". Who does not (each exists only with its presence "
                                "probability): "), *(_names(absent) or [Safe("nobody")]),
                           Safe("."))))
    return out


def _quiet(sc: Scenario, clock: Clock, t0: float, t1: float, traced: Traced) -> list[Line]:
    """One line for a stretch nobody traces (none for less than a second): what happens in
    it, on the servers' side."""
    if t1 - t0 < 1.0:
        return []
    going = [a for a, at in sc.attackers.items() if not at.benign and traced.present[a]
             and traced.windows[a].t0 < t1 and traced.windows[a].t1 > t0]
    parts: list[str] = [Safe(f"{clock.day(t0)} to {clock.day(t1)} ({cells.duration(t1 - t0)}): ")]
    if going:
        parts += [Safe("untraced; "), *_names(going), Safe(" still sending.")]
    else:
        parts.append(Safe("quiet, no malicious attacker sends."))
    t = sc.timeline
    if t0 <= t.disclosed_at < t1:
        parts.append(Safe(f" The bug is disclosed on {clock.day(t.disclosed_at)}."))
    for name, server in sc.servers.items():
        facts = []
        if t0 <= server.heartbeat_off_at < t1:
            facts.append(f"switches heartbeats off on {clock.day(server.heartbeat_off_at)}")
        if t0 <= server.patched_at < t1:
            facts.append(f"is patched on {clock.day(server.patched_at)}")
        every = server.restart.every
        if every is not None and t1 - t0 > every:
            facts.append(f"restarts each of its {server.total_workers} workers every "
                         f"{cells.duration(every)} (about "
                         f"{round(server.total_workers * (t1 - t0) / every):,} restarts, each "
                         "wiping what sat in that worker's memory)")
        if facts:
            parts += [Safe(" "), name, Safe(" " + "; ".join(facts) + ".")]
    benign = [a for a, at in sc.attackers.items() if at.benign and traced.present[a]
              and traced.windows[a].t0 < t1 and traced.windows[a].t1 > t0
              and not any(a in e.traced and e.traced[a].t0 < t1 and e.traced[a].t1 > t0
                          for e in traced.episodes)]
    if benign:
        parts += [Safe(" Benign checkers at work, untraced: "), *_names(benign),
                  Safe(" (they read memory and keep nothing).")]
    return [Line(t0, tuple(parts))]


def _episode(traced: Traced, ep: Episode, clock: Clock) -> list[Line]:
    sc = traced.scenario
    n = traced.episodes.index(ep)
    out: list[Line] = []
    starts = [r for r in traced.heard.restarts if r[3] == "start" and r[0] in ep.begin.values()
              and r[1] in ep.servers]
    for s in ep.servers:
        mine = [r for r in starts if r[1] == s and r[0] == ep.begin[s]]
        reach = sum(1 for r in mine if r[4])
        lead = cells.duration(min(ep.windows[a].t0 for a in ep.windows) - ep.begin[s])
        out.append(Line(ep.begin[s], (Safe(f"{clock.exact(ep.begin[s])}: zoom in. "), s,
                                      Safe(f" is simulated event by event from here, {lead} "
                                           "before the attack (long enough that its memory then "
                                           f"holds what a full run would): {len(mine)} worker"
                                           f"{'s' * (len(mine) != 1)}, the private key within a "
                                           f"heartbeat's reach in {reach} of them."))))
    for a, window in ep.traced.items():
        out.append(_arrival(sc.attackers[a], a, ep.windows[a].t0, ep.windows[a].t1, window.t1,
                            clock))
        if not sc.attackers[a].benign:
            out += _watching(sc, a, ep.windows[a].t0, ep.windows[a].t1, clock)
    beats = [h for h in traced.heard.heartbeats if ep.start <= h.t <= ep.end]
    out += _heartbeats(traced, n, beats, clock)
    out += _summaries(traced, ep, beats, clock)
    attack = min(w.t0 for w in ep.traced.values())
    for t, server, worker, reason, reachable in traced.heard.restarts:
        if attack <= t <= ep.end and reason in ("scheduled", "max_requests"):
            out.append(Line(t, (Safe(f"{clock.exact(t)}: "), server, Safe(
                f" worker {worker} restarts ({'its schedule' if reason == 'scheduled' else 'after its last request'}"
                f"): its memory is wiped, and in its new life the key is "
                f"{'within reach' if reachable else 'out of reach'}.")), True))
    patched = sorted({(t, server) for t, server, _, reason, _ in traced.heard.restarts
                      if reason == "patch" and ep.start <= t <= ep.end})
    for t, server in patched:
        out.append(Line(t, (Safe(f"{clock.exact(t)}: "), server, Safe(
            " is patched: every worker restarts, and heartbeats from now on read nothing.")),
            True))
    for t, attacker, server, worker in traced.heard.crashes:
        if ep.start <= t <= ep.end:
            out.append(Line(t, (Safe(f"{clock.exact(t)}: "), server, Safe(f" worker {worker} "),
                                Safe("crashes on an over-read by "), attacker, Safe(
                                    ": it restarts, and the crash is in the system log.")), True))
    out += _reuses(traced, ep, clock)
    for a, window in ep.traced.items():
        rest = ep.windows[a].t1 - window.t1
        if rest > 1.0:
            sender = sc.attackers[a]
            more = sender.rate * len(sender.targets) * rest
            out.append(Line(window.t1, (Safe(f"{clock.exact(window.t1)}: the trace of "), a, Safe(
                f" stops here; it goes on for {cells.duration(rest)} more (about "
                f"{_round(more)} heartbeats at the same pace), untraced: the story's totals "
                "below are those of the traced part."))))
    out.sort(key=lambda line: (line.t if line.t is not None else -math.inf))
    return out


def _arrival(attacker: Attacker, name: str, t0: float, t1: float, traced_to: float,
             clock: Clock) -> Line:
    per_connection = attacker.heartbeats_per_connection
    how = (f": {_rate(attacker.rate)} per server, {per_connection} heartbeat"
           f"{'s' * (per_connection != 1)} per connection, from {attacker.sources:,} address"
           f"{'es' * (attacker.sources != 1)}, {'encrypted' if attacker.encrypted else 'unencrypted'}, "
           f"each asking for {size(attacker.payload_bytes)} of memory")
    kind = " (a benign checker: what it reads is not kept)" if attacker.benign else ""
    span = (f". Its window lasts {cells.duration(t1 - t0)}"
            + (f"; traced here: the first {cells.duration(traced_to - t0)}."
               if traced_to < t1 else "."))
    return Line(t0, (Safe(f"{clock.exact(t0)}: "), name, Safe(kind), Safe(" starts on "),
                     *_names(list(attacker.targets)), Safe(how + span)))


def _watching(sc: Scenario, name: str, t0: float, t1: float, clock: Clock) -> list[Line]:
    """What each log will make of this attacker's traffic, said when it starts."""
    attacker = sc.attackers[name]
    out = []
    for d, det in sc.detectors.items():
        watched = set(det.servers) & set(attacker.targets)
        if not watched:
            continue
        counting = traffic_counting(det, attacker, sc.horizon)
        if det.deployed_at > t0:
            what = f"is not deployed yet (from {clock.day(det.deployed_at)})"
        elif det.kind == "access_log":
            what = "records requests, not heartbeats: it will show nothing of this"
        elif det.kind == "crash":
            what = "records crashes, if an over-read crashes a worker"
        elif det.kind == "session":
            what = ("records replayed sessions it refuses or whose address changes"
                    if det.log_address_change else "records replayed sessions it refuses")
        elif counting is None:
            what = "cannot read these heartbeats: they are encrypted, its rule matches bytes"
        elif counting.threshold is None:
            what = "alerts on every heartbeat it sees"
        else:
            per_source = attacker.connection_rate / attacker.sources * (counting.window or 0.0)
            if counting.unit == "heartbeats":
                per_source *= attacker.heartbeats_per_connection
            elif counting.unit == "answered_bytes":
                per_source *= attacker.heartbeats_per_connection * attacker.payload_bytes
            unit = {"connections": "connections", "heartbeats": "heartbeats",
                    "answered_bytes": "bytes answered"}[counting.unit]
            side = "above" if per_source >= counting.threshold else "below"

            def amount(x: float) -> str:
                if counting is not None and counting.unit == "answered_bytes":
                    return f"{cells.significant(x / 1e9)} GB"
                return _round(x)

            what = (f"counts {unit} per source: about {amount(per_source)} per "
                    f"{cells.duration(counting.window or 0.0)} from each of its addresses, "
                    f"{side} its threshold of {amount(counting.threshold)}")
        if t1 <= retention_cutoff(det, sc.horizon):
            what += f"; and it keeps records {cells.duration(det.retention)}, so they will be gone by the analysis"
        out.append(Line(t0, (Safe(f"{clock.exact(t0)}: the log "), d, Safe(" " + what + ".")),
                        True))
    return out


def size(n: int) -> str:
    """A payload as a reader says it: 65,535 bytes is 64 KB."""
    return f"{round(n / 1024)} KB" if n >= 1024 else f"{n} bytes"


def _rate(rate: float) -> str:
    if rate >= 1.0:
        return f"{cells.significant(rate)} heartbeats/s"
    if rate * 60 >= 1.0:
        return f"{cells.significant(rate * 60)} heartbeats/min"
    return f"{cells.significant(rate * 3600)} heartbeats/h"


def _round(x: float) -> str:
    if x >= 1e6:
        return f"{x / 1e6:.1f} million"
    return f"{round(x, -2 if x >= 1000 else 0):,.0f}"


def _heartbeats(traced: Traced, episode: int, beats: list[Heartbeat], clock: Clock
                ) -> list[Line]:
    sc = traced.scenario
    told: Counter[tuple[str, str, str]] = Counter()
    logins: set[tuple[str, int]] = set()
    out: list[Line] = []
    for h in beats:
        a, s = h.attacker, h.server
        w = h.window
        if w is None:
            if told[a, s, "unanswered"] == 0:
                told[a, s, "unanswered"] += 1
                out.append(Line(h.t, (Safe(f"{clock.exact(h.t)}: "), a, Safe(" → "), s, Safe(
                    f" worker {h.worker}: the server is not vulnerable any more; the heartbeat "
                    "gets nothing back (and so do the ones after it)."), ), True))
            continue
        took = w.key_taken or w.passwords_taken or w.tokens_taken
        full = told[a, s, "full"] < IN_FULL
        news = [k for k, hit in (("key", w.key_taken), ("password", bool(w.passwords_taken)),
                                 ("token", bool(w.tokens_taken))) if hit and told[a, s, k] < FIRST]
        if not (full or news):
            continue
        told[a, s, "full"] += 1
        for k in news:
            told[a, s, k] += 1
        payload = size(sc.attackers[a].payload_bytes)
        parts: list[str] = [Safe(f"{clock.exact(h.t)}: "), a, Safe(" → "), s, Safe(
            f" worker {h.worker}: the heartbeat copies {payload} of the worker's memory. "
            "In that memory: ")]
        parts += _contents(traced, episode, s, h, clock)
        if news and "password" in news:
            out += _logins(traced, episode, s, h, clock, logins)
        if "key" in news and w.key_copies:
            out += _key_copy(traced, episode, h, clock)
        parts.append(Safe(" Taken: "))
        parts += _taken(w, sc.attackers[a].benign, sc, s) if took else [Safe("nothing.")]
        out.append(Line(h.t, tuple(parts), True))
    return out


def _logins(traced: Traced, episode: int, server: str, h: Heartbeat, clock: Clock,
            told: set[tuple[str, int]]) -> list[Line]:
    """The logins whose passwords this heartbeat takes, told (once) when they happened."""
    assert h.window is not None
    out = []
    spec = traced.scenario.servers[server].passwords
    life = spec.lifetime if spec is not None else "next_request"
    stays = ("until the worker serves its next request" if life == "next_request" else
             "until the worker's next handshake" if life == "next_handshake" else
             f"for {cells.duration(float(life))} on average, unless the worker restarts")
    for login in h.window.passwords_taken[:FIRST]:
        made = traced.heard.logins.get((episode, server, login))
        if made is not None and (server, login) not in told:
            told.add((server, login))
            out.append(Line(made[0], (Safe(f"{clock.exact(made[0])}: a user logs in on "), server,
                                      Safe(f" worker {made[1]} (login #{login}): the password "
                                           f"now sits in that worker's memory {stays}.")), True))
    return out


def _key_copy(traced: Traced, episode: int, h: Heartbeat, clock: Clock) -> list[Line]:
    """The handshake whose key copy a heartbeat finds, told when it happened."""
    times = traced.heard.key_ops.get((episode, h.server, h.worker), [])
    t = times[bisect.bisect_right(times, h.t) - 1] if times and times[0] <= h.t else None
    if t is None:
        return []
    return [Line(t, (Safe(f"{clock.exact(t)}: a handshake on "), h.server, Safe(
        f" worker {h.worker} signs with the private key and leaves a copy of a key prime in "
        "that worker's memory, where an over-read can reach it."), ), True)]


def _contents(traced: Traced, episode: int, server: str, h: Heartbeat, clock: Clock
              ) -> list[str]:
    w = h.window
    assert w is not None
    things = []
    things.append("the private key (within reach)" if w.key_pieces else
                  "no part of the private key within reach")
    if w.key_copies:
        things.append(f"{w.key_copies} transient key cop{'ies' if w.key_copies != 1 else 'y'} "
                      "left by a handshake")
    for login in w.passwords[:FIRST]:
        made = traced.heard.logins.get((episode, server, login))
        ago = f", logged in {cells.duration(h.t - made[0])} earlier" if made else ""
        things.append(f"the password of login #{login}{ago}")
    if len(w.passwords) > FIRST:
        things.append(f"{len(w.passwords) - FIRST} more passwords")
    if w.tokens:
        things.append(f"the session token{'s' * (len(w.tokens) != 1)} of session"
                      f"{'s' * (len(w.tokens) != 1)} #" + ", #".join(map(str, w.tokens[:3])))
    return [Safe("; ".join(things) + ".")]


def _taken(w: Window, benign: bool, sc: Scenario, server: str) -> list[str]:
    got = []
    if w.key_taken:
        got.append("a piece of the private key, enough to rebuild it")
    passwords = sc.servers[server].passwords
    reusable = passwords is not None and passwords.kind == "static"
    kind = "reusable" if reusable else "a one-time code, useless once used"
    for login in w.passwords_taken[:FIRST]:
        got.append(f"the password of login #{login} ({kind})")
    if len(w.passwords_taken) > FIRST:
        got.append(f"{len(w.passwords_taken) - FIRST} more passwords")
    for session in w.tokens_taken[:FIRST]:
        got.append(f"the session token of session #{session}")
    if len(w.tokens_taken) > FIRST:
        got.append(f"{len(w.tokens_taken) - FIRST} more session tokens")
    tail = " A benign checker throws it away." if benign else ""
    return [Safe("; ".join(got) + "." + tail)]


def _summaries(traced: Traced, ep: Episode, beats: list[Heartbeat], clock: Clock
               ) -> list[Line]:
    out = []
    for a, window in ep.traced.items():
        span = window.t1 - window.t0
        if span <= 0:
            continue
        step = _nice(span / SUMMARIES)
        counts: dict[int, Counter[str]] = defaultdict(Counter)
        for h in beats:
            if h.attacker != a:
                continue
            c = counts[int((h.t - window.t0) // step)]
            c["sent"] += 1
            if h.window is not None:
                c["key"] += h.window.key_taken
                c["passwords"] += len(h.window.passwords_taken)
                c["tokens"] += len(h.window.tokens_taken)
        for i in sorted(counts):
            c = counts[i]
            t0 = window.t0 + i * step
            t1 = min(window.t1, t0 + step)
            out.append(Line(t1, (Safe(f"{clock.exact(t0)} to {clock.exact(t1)}: "), a, Safe(
                f" sent {c['sent']:,} heartbeats; {c['key']:,} brought back a piece of a private "
                f"key, {c['passwords']:,} a password, {c['tokens']:,} a session token.")), True))
    return out


def _nice(seconds: float) -> float:
    for step in (1, 5, 10, 30, 60, 300, 600, 1800, 3600, 6 * 3600, 86400):
        if seconds <= step:
            return float(step)
    return 86400.0 * math.ceil(seconds / 86400.0)


def _reuses(traced: Traced, ep: Episode, clock: Clock) -> list[Line]:
    out = []
    told: Counter[tuple[str, str]] = Counter()
    for t, attacker, server, session, hijacked, shared in traced.heard.reuses:
        if not ep.start <= t <= ep.end or told[attacker, server] >= FIRST:
            continue
        told[attacker, server] += 1
        spec = traced.scenario.servers[server].sessions
        checks = spec.binding if spec is not None else ()
        if hijacked:
            passed = [word for check, word in (
                ("ip", "from behind the victim's own address (shared NAT)"),
                ("browser", "with the victim's browser fingerprint"),
                ("concurrent", "while the victim's session was idle")) if check in checks]
            why = (f" {' and '.join(passed)}, so the binding does not stop it" if passed
                   else "; nothing binds the session to its client")
            what = f": it works, the session is hijacked{why}."
        elif "ip" in checks and not shared:
            what = (": refused, the session is bound to its client's address; the refusal "
                    "(an address change) is what a session log can record.")
        else:
            what = (": refused by the binding's browser or concurrent-use check; the refusal "
                    "is what a session log can record.")
        out.append(Line(t, (Safe(f"{clock.exact(t)}: "), attacker, Safe(
            f" replays the token of session #{session} on "), server, Safe(what)), True))
    return out


def _lost(traced: Traced, clock: Clock) -> list[Line]:
    sc = traced.scenario
    keys: dict[str, float] = {}
    passwords: Counter[tuple[str, bool]] = Counter()
    tokens: Counter[str] = Counter()
    for h in traced.heard.heartbeats:
        if h.window is None or sc.attackers[h.attacker].benign:
            continue
        if h.window.key_taken:
            keys.setdefault(h.server, h.t)
        spec = sc.servers[h.server].passwords
        passwords[h.server, spec is not None and spec.kind == "static"] += len(
            h.window.passwords_taken)
        tokens[h.server] += len(h.window.tokens_taken)
    hijacked = Counter(r[2] for r in traced.heard.reuses if r[4]
                       and not sc.attackers[r[1]].benign)
    parts: list[str] = [Safe("What was lost (in the traced part, to malicious attackers): ")]
    said: list[str] = []
    for s in sc.servers:
        bits = []
        if s in keys:
            bits.append(f"its private key (first read {clock.exact(keys[s])})")
        for reusable in (True, False):
            if passwords[s, reusable]:
                bits.append(f"{passwords[s, reusable]:,} password reads "
                            f"({'reusable' if reusable else 'one-time codes'})")
        if tokens[s]:
            bits.append(f"{tokens[s]:,} session token reads, {hijacked[s]:,} session"
                        f"{'s' * (hijacked[s] != 1)} hijacked")
        if bits:
            said += [Safe("; ")] * bool(said) + [s, Safe(": " + ", ".join(bits))]
    return [Line(None, tuple(parts + (said or [Safe("nothing")]) + [Safe(".")]))]


def _logs(traced: Traced, clock: Clock) -> list[Line]:
    sc = traced.scenario
    at = sc.horizon
    out = [Line(None, (Safe(f"What the logs show at the analysis, {clock.day(at)} "
                            "(for the traced traffic):"),))]
    if not sc.detectors:
        out.append(Line(None, (Safe("no detectors: nothing could show."),), True))
    malicious = [a for a in sc.attackers if traced.present[a] and not traced.windows[a].empty
                 and not sc.attackers[a].benign]
    for d, det in sc.detectors.items():
        parts: list[str] = [d, Safe(": ")]
        notes = []
        for a in malicious:
            raised, retained = traced.alerts.get(d, {}).get(a, (0, 0))
            if retained:
                notes += [a, Safe(f": {retained} alert{'s' * (retained != 1)} kept")]
            else:
                notes += [a, Safe(": no alert, because " + _why_not(traced, d, a, raised))]
            notes.append(Safe("; "))
        benign = sum(traced.alerts.get(d, {}).get(a, (0, 0))[1] for a in sc.attackers
                     if sc.attackers[a].benign)
        if benign:
            notes.append(Safe(f"{benign} alert{'s' * (benign != 1)} from benign checkers; "))
        if not notes:
            notes = [Safe("no malicious attacker to see; ")]
        notes[-1] = Safe(str(notes[-1]).rstrip("; ") + ".")
        out.append(Line(None, tuple(parts + notes), True))
    return out


def _why_not(traced: Traced, detector: str, attacker: str, raised: int) -> str:
    sc = traced.scenario
    det = sc.detectors[detector]
    att = sc.attackers[attacker]
    cutoff = retention_cutoff(det, sc.horizon)
    window = traced.windows[attacker]
    if raised:
        return (f"the {raised} it raised are past retention (records older than "
                f"{cells.duration(det.retention)} are gone)")
    if window.t1 <= det.deployed_at:
        return f"it was not deployed until {Clock(sc.timeline.start_iso).day(det.deployed_at)}"
    if window.t1 <= cutoff:
        return "everything it sent is older than the retention"
    if det.kind == "access_log":
        return "an access log cannot show a heartbeat"
    if det.kind == "crash":
        return "no worker crashed"
    if det.kind == "session":
        return "no stolen session was replayed in a way it logs"
    if traffic_counting(det, att, sc.horizon) is None:
        return "its heartbeats are encrypted and a byte-pattern rule cannot read them"
    return "its traffic stayed below the threshold"
