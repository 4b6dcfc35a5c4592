"""Which of the fast engine's approximate paths random scenarios take: a map of where the
entries of ``docs/fast-engine.md``, "Where it approximates", still act.

Random scenarios across the format (the generator of the 2026-12-07 acceptance search: one or
two servers of every role, restarts by time and by request count, crashes, key copies,
passwords and sessions of every lifetime and binding, one to twenty attackers of every kind)
are kept where both engines' ``check`` accepts them; each kept one runs one fast replication
(seed ``[9, 0]``), cut off after ``CAP`` seconds, with spies on the dispatch. A scenario is
tagged with an item when one of its server replications took a path that item marks:

* ``item14``: passwords and sessions drawn by separate calls (``draw_passwords`` and
  ``sample_sessions`` both, and the sessions could leak);
* ``item11``: ``max_requests`` beside sessions that send requests, where the skeleton did not
  draw the logins (its restarts timed by the mean-rate count);
* ``item13``: ``max_requests`` beside the counting chain or the integrated session sweep;
* ``item12``: ``next_request`` passwords on the counting chain beside sessions;
* ``item10``: the counting chain where a malicious attacker logs in with static passwords;
* ``item3-6``: the integrated session sweep.

A tag says a path was taken, not that a reported quantity moved; items 7 to 9 (every heavy
attacker) are not mapped. A capped scenario is counted with the tags it reached, and with
where the alarm found it (the path entered and the function running), which says where the
cost of the slow ones grows. The tags follow the dispatch's names: a renamed path function
fails here, at the spy.

    .venv/bin/python tests/path_map.py [SCENARIOS] [SEED] [CAP]
    # 300 scenarios (the default), seed 2, 6 s: about 15 minutes on one core
"""

from __future__ import annotations

import collections
import random
import signal
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

from numpy.random import SeedSequence

import sim.engines.fast as fast_engine
from sim.engines import EngineRefused, get_engine
from sim.engines.fast import passwords as password_paths
from sim.scenario import Scenario, ScenarioError, parse_scenario

#: Seconds one replication may take before it is cut off.
CAP = 6


def random_scenario(r: random.Random) -> str:
    """One random scenario's YAML (the acceptance search's generator)."""
    def lg(lo: float, hi: float) -> float:
        return float(10 ** r.uniform(lo, hi))

    hours = r.choice([1, 2, 6, 24, 72])
    servers = []
    for s in range(r.choice([1, 1, 2])):
        lines = [f"  s{s}:", f"    role: {r.choice(['mail', 'vpn', 'public'])}",
                 f"    hosts: {r.choice([1, 2, 4])}", f"    workers: {r.choice([1, 2, 4, 16, 64])}",
                 f"    crash_probability: {r.choice([0, 0.001, 0.05, 0.5, 1])}"]
        restart = []
        if r.random() < 0.5:
            restart.append(f"every: {r.choice(['10m', '1h', '6h'])}")
        if r.random() < 0.5:
            restart.append(f"max_requests: {r.choice([1, 5, 80, 10000])}")
        if restart:
            lines.append("    restart: {" + ", ".join(restart) + "}")
        logins, ttl, per_session = lg(-4, 1.5), r.choice([300, 1800, 7200]), lg(-3, 0)
        requests = logins * (1 + ttl * per_session) * 1.01 + lg(-3, 1.5)
        lines.append(f"    traffic: {{handshakes_per_s: {lg(-3, 1.5):.4g}, logins_per_s: "
                     f"{logins:.6g}, requests_per_s: {requests:.6g}}}")
        copies = r.choice(["next_handshake", "next_request", f"{lg(0, 3.5):.4g}s"])
        lines.append(f"    keys: {{reachable: {r.choice([0.05, 0.5, 1])}, copies_per_handshake: "
                     f"{r.choice([0, 1, 1.5, 4])}, copy_lifetime: {copies}, capture: "
                     f"{r.choice([1, 0.01, 1e-4])}}}")
        if r.random() < 0.7:
            kept = r.choice(["next_request", "next_handshake", f"{lg(0, 4):.4g}s"])
            lines.append(f"    passwords: {{lifetime: {kept}, capture: "
                         f"{r.choice([1, 0.1, 0.001])}}}")
        if r.random() < 0.7:
            kept = r.choice(["next_request", "next_handshake", f"{lg(0, 4):.4g}s"])
            binding = r.choice(["none", "ip", "[ip, browser]", "[ip, browser, concurrent]",
                                "concurrent"])
            lines.append(f"    sessions: {{lifetime: {kept}, ttl: {ttl}s, requests_per_s: "
                         f"{per_session:.6g}, binding: {binding}, capture: "
                         f"{r.choice([1, 0.1, 0.001])}}}")
        servers.append("\n".join(lines))
    attackers = []
    for a in range(r.choice([1, 1, 2, 3, 6, 16, 20])):
        targets = ", ".join(f"s{i}" for i in range(len(servers)) if i == 0 or r.random() < 0.5)
        attackers.append("\n".join([
            f"  a{a}:", f"    targets: [{targets}]",
            f"    benign: {str(r.random() < 0.2).lower()}", "    start: start",
            f"    duration: {r.choice([1, hours])}h", f"    rate: {lg(-3, 2):.4g}",
            f"    heartbeats_per_connection: {r.choice([1, 1, 4, 50])}",
            f"    presence: {r.choice([1, 0.5])}",
            f"    reuse: {r.choice(['[]', '[passwords]', '[sessions]', '[passwords, sessions]'])}",
            f"    key_ops_per_connection: {r.choice([0, 1, 2])}",
            f"    stop_when: {r.choice(['never', 'key', 'patched'])}"]))
    return ("name: x\ntimeline:\n  start: 2014-04-08T00:00:00Z\n"
            "  vulnerable_since: 2012-03-14T00:00:00Z\n  disclosed_at: 2014-04-07T17:27:00Z\n"
            f"  analysis_at: start+{hours}h\nservers:\n" + "\n".join(servers)
            + "\nattackers:\n" + "\n".join(attackers) + "\n")


def accepted(count: int, seed: int) -> list[tuple[int, Scenario]]:
    """The first ``count`` random scenarios of ``seed`` that both engines accept, with their
    index in the generator's sequence."""
    r = random.Random(seed)
    reference, fast = get_engine("reference"), get_engine("fast")
    out: list[tuple[int, Scenario]] = []
    i = 0
    while len(out) < count:
        text = random_scenario(r)
        i += 1
        try:
            sc = parse_scenario(text, f"random-{i}.yaml")
            reference.check(sc)
            fast.check(sc)
        except (EngineRefused, ScenarioError):
            continue
        out.append((i, sc))
    return out


class Spies:
    """The paths one replication's servers take, as tags (module docstring)."""

    def __init__(self) -> None:
        self.tags: set[str] = set()
        self._install()

    def _wrap(self, module: Any, name: str, tag: Callable[[Any], str]) -> None:
        real = getattr(module, name)

        def spy(*args: Any, **kwargs: Any) -> Any:
            out = real(*args, **kwargs)
            self.tags.add(tag(out))
            return out
        setattr(module, name, spy)

    def _install(self) -> None:
        self._wrap(password_paths, "sample_passwords", lambda _: "chain")
        self._wrap(fast_engine, "draw_passwords", lambda _: "draw_passwords")
        self._wrap(fast_engine, "sample_sessions", lambda _: "sample_sessions")
        self._wrap(fast_engine, "plan_sessions", lambda plan: "sessions:" + plan.path)
        secrets = fast_engine._secrets

        def server(scenario: Scenario, name: str, run: Any, rng: Any) -> Any:
            s = scenario.servers[name]
            sessions = s.sessions
            if (s.restart.max_requests is not None and sessions is not None
                    and sessions.ttl > 0 and sessions.requests_per_s > 0
                    and s.traffic.logins_per_s > 0 and run.logins is None):
                self.tags.add("item11")
            before = set(self.tags)
            out = secrets(scenario, name, run, rng)
            new = self.tags - before
            if {"draw_passwords", "sample_sessions"} <= new and "sessions:none" not in new:
                self.tags.add("item14")
            if s.restart.max_requests is not None and new & {"chain", "sessions:sweep"}:
                self.tags.add("item13")
            if "sessions:sweep" in new:
                self.tags.add("item3-6")
            if ("chain" in new and sessions is not None and s.passwords is not None
                    and s.passwords.lifetime == "next_request"):
                self.tags.add("item12")
            if ("chain" in new and s.passwords is not None and s.passwords.kind == "static"
                    and any(scenario.attackers[a].logs_in for a in run.attackers)):
                self.tags.add("item10")
            return out
        fast_engine._secrets = server  # type: ignore[assignment]


class _Capped(Exception):
    """The alarm went off; ``where`` is where it found the run (:func:`_engine_frame`)."""

    def __init__(self, where: str) -> None:
        super().__init__(where)
        self.where = where


def _stop(_signum: int, frame: FrameType | None) -> None:
    raise _Capped(_engine_frame(frame))


def _engine_frame(frame: FrameType | None) -> str:
    """Where in the fast engine the alarm found the run: the path the dispatch had entered
    (the outermost engine function below the package's ``__init__``) and, after a ``/``, the
    innermost engine function running (numpy's and the standard library's frames skipped);
    "outside the paths" where only the package's ``__init__`` was running, or none of it."""
    names = []
    while frame is not None:
        path = frame.f_code.co_filename.replace("\\", "/")
        if "/sim/engines/fast/" in path:
            names.append((path.rsplit("/", 1)[1][:-3], frame.f_code.co_name))
        frame = frame.f_back
    inside = [f"{module}.{function}" for module, function in names if module != "__init__"]
    return f"{inside[-1]} / {inside[0]}" if inside else "outside the paths"


def _capped_run(sc: Scenario, cap: int) -> str | None:
    """Run one replication; where it was when the alarm cut it off, or None. The alarm can go
    off as the run returns, before it is disarmed: the outer ``try`` catches it there too."""
    signal.alarm(cap)
    try:
        try:
            fast_engine.simulate(sc, SeedSequence([9, 0]))
        finally:
            signal.alarm(0)
    except _Capped as cut:
        return cut.where
    return None


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    cap = int(sys.argv[3]) if len(sys.argv) > 3 else CAP
    spies = Spies()
    signal.signal(signal.SIGALRM, _stop)
    totals: collections.Counter[str] = collections.Counter()
    sites: collections.Counter[str] = collections.Counter()
    for i, sc in accepted(count, seed):
        spies.tags.clear()
        where = _capped_run(sc, cap)
        if where is not None:
            spies.tags.add("capped")
            sites[where] += 1
        totals.update(spies.tags)
        items = sorted(t for t in spies.tags if t.startswith("item") or t == "capped")
        if items:
            at = f" (in {where})" if where is not None else ""
            print(f"random-{i}: {', '.join(items)}{at}", flush=True)
    print(f"{count} scenarios (seed {seed}, one replication each, cut off after {cap} s):")
    for tag in sorted(t for t in totals if t.startswith("item") or t == "capped"):
        print(f"  {tag}: {totals[tag]}")
    print("where the capped ones were cut off (the path entered, then / the innermost):")
    entries = collections.Counter(where.split(" / ")[0] for where in sites.elements())
    for entry, n in entries.most_common():
        print(f"  {entry}: {n}")
        for where, k in sites.most_common():
            if where.split(" / ")[0] == entry:
                print(f"    {where}: {k}")


if __name__ == "__main__":
    main()
