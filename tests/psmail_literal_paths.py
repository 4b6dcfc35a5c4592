"""Measures docs/fast-engine.md items 3 to 6, 12 and 14 on PSMail: the paths it takes against the
literal draws, on the same replications.

``sessions``: the integrated session path (items 3 to 6) against the literal session draw,
forced (:func:`sim.engines.fast.sessions.literal_sessions`). ``passwords``: the paths PSMail's
``next_request`` passwords beside sessions take (since 2026-12-06 the draw of both at the reads,
:mod:`sim.engines.fast.buffer_reads`, where the sessions take the draw at the reads; the
counting chain, item 12, elsewhere) against the drawn requests of
:mod:`sim.engines.fast.session_slot`, exact in each attacker's margin, forced wherever the
draw stays below :data:`PASSWORD_CAP` (the replications past it are counted and left out of
the comparison), each server's and each attacker's count. Forcing a literal draw changes
nothing before it, so each replication's skeleton is the same on both sides and the
comparison is paired.

The literal draws cost seconds a replication on PSMail; a literal session draw can take
minutes and more than 12 GB (one does past replication 350 of seed ``[3, i]``), so this runs
in one process:

    .venv/bin/python tests/psmail_literal_paths.py sessions [START] [STOP]    # 0 350: 17 minutes
    .venv/bin/python tests/psmail_literal_paths.py passwords [START] [STOP]   # 0 1000: 6 minutes
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

import sim.engines.fast as fast
from sim.engines.fast import passwords
from sim.engines.fast.buffer_reads import ELSEWHERE
from sim.engines.fast import sessions as session_paths
from sim.engines.fast.password_chain import PasswordDraw
from sim.engines.fast.session_slot import literal_cost, readable_lifetimes, session_slot
from sim.engines.fast.segments import Segment, WorkerLifetime
from sim.scenario import Scenario, load_scenario
from sim.scenario.model import PasswordSpec, SessionSpec

PSMAIL = Path(__file__).resolve().parent.parent / "scenarios" / "psmail-2014.yaml"
#: Most requests, logins and reads a forced password draw may take (a few hundred MB).
PASSWORD_CAP = 2e7


def _password_pairs(sc: Scenario) -> list[tuple[str, str]]:
    """Each attacker and a target of it that holds passwords."""
    return [(a, s) for a, spec in sc.attackers.items() for s in spec.targets
            if sc.servers[s].passwords is not None]


def _labels(sc: Scenario, kind: str) -> list[str]:
    servers = list(sc.servers)
    if kind == "passwords":
        return ([f"{s}/password" for s in servers]
                + [f"{a}/{s}/password" for a, s in _password_pairs(sc)])
    return [f"{s}/session" for s in servers] + [f"{s}/session_hijack" for s in servers]


def _outcomes(sc: Scenario, index: int, kind: str) -> list[int]:
    """Per server, the secrets of ``kind`` leaked (and for sessions, hijacked); for passwords,
    each attacker's too (benign ones included)."""
    record = fast.simulate(sc, np.random.SeedSequence([3, index]))
    if kind == "passwords":
        return ([record.servers[s].password for s in sc.servers]
                + [record.attackers[a][s].password for a, s in _password_pairs(sc)])
    return ([record.servers[s].session for s in sc.servers]
            + [record.servers[s].session_hijack for s in sc.servers])


def _force_password_draws(skipped: set[int], current: list[int]) -> None:
    """Make :func:`sim.engines.fast.draw_passwords` draw the requests wherever it would take
    another path, except past :data:`PASSWORD_CAP` (the replication is then noted in
    ``skipped``), and keep the passwords off the draws at the reads (of both kinds, and of a
    benign reader's alone)."""
    chain = passwords.draw_passwords

    def draw(spec: PasswordSpec, sessions: SessionSpec | None, segments: Sequence[Segment],
             lifetimes: Sequence[WorkerLifetime], workers: int, max_requests: int | None,
             rng: np.random.Generator) -> PasswordDraw:
        if sessions is not None and session_slot(spec.lifetime, segments):
            touched = readable_lifetimes(segments, lifetimes)
            cost = literal_cost(sessions, segments, touched, workers)
            if cost > PASSWORD_CAP:
                skipped.add(current[0])
            elif cost > passwords.DRAWN_LIMIT:
                return passwords.sample_slot_passwords(sessions, segments, touched, workers,
                                                       rng)
        return chain(spec, sessions, segments, lifetimes, workers, max_requests, rng)

    fast.draw_passwords = draw
    fast.plan_reads = lambda *args, **kwargs: ELSEWHERE


def main() -> None:
    kind = sys.argv[1] if len(sys.argv) > 1 else "sessions"
    default = "350" if kind == "sessions" else "1000"
    start, stop = (int(a) for a in (sys.argv[2:4] or ["0", default]))
    indices = range(start, stop)
    sc = load_scenario(PSMAIL)
    integrated = np.array([_outcomes(sc, i, kind) for i in indices])
    skipped: set[int] = set()
    current = [0]
    force: Callable[[], None] = (
        (lambda: setattr(session_paths, "literal_sessions", lambda *args, **kwargs: True))
        if kind == "sessions" else (lambda: _force_password_draws(skipped, current)))
    force()
    literal = []
    for i in indices:
        current[0] = i
        literal.append(_outcomes(sc, i, kind))
    keep = np.array([i not in skipped for i in indices])
    literal_kept, integrated_kept = np.array(literal)[keep], integrated[keep]
    labels = _labels(sc, kind)
    n = int(keep.sum())
    print(f"{n} of {len(indices)} replications compared ({len(skipped)} past the cap)")
    for j, label in enumerate(labels):
        a, b = literal_kept[:, j], integrated_kept[:, j]
        d = a - b
        print(f"{label:34s} P(any) literal {np.mean(a > 0):.4f} integrated {np.mean(b > 0):.4f} "
              f"(discordant {int(np.sum((a > 0) != (b > 0)))}); mean {a.mean():.2f} against "
              f"{b.mean():.2f}, paired difference {d.mean():+.3f} "
              f"+- {d.std(ddof=1) / np.sqrt(n):.3f}")


if __name__ == "__main__":
    main()
