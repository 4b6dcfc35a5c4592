"""Measures docs/fast-engine.md items 3 to 6 on PSMail: the integrated session path against the
literal session draw, on the same replications.

Forcing the literal draw (:func:`sim.engines.fast.sessions.literal_sessions`) changes nothing
before the sessions, so each replication's skeleton and passwords are the same on both sides
and the comparison is paired. The literal draw costs seconds a replication on PSMail, minutes
and up to 12 GB for some (past replication 350 of seed ``[3, i]`` one needs more), so it runs
in one process, on a range that stays below that:

    .venv/bin/python tests/psmail_sessions_literal.py [START] [STOP]   # 0 350: about 17 minutes
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import sim.engines.fast as fast
from sim.engines.fast import sessions
from sim.scenario import Scenario, load_scenario

PSMAIL = Path(__file__).resolve().parent.parent / "scenarios" / "psmail-2014.yaml"


def _sessions(sc: Scenario, index: int) -> list[int]:
    """Per server, the sessions leaked and hijacked in replication ``index``."""
    record = fast.simulate(sc, np.random.SeedSequence([3, index]))
    return ([record.servers[s].session for s in sc.servers]
            + [record.servers[s].session_hijack for s in sc.servers])


def main() -> None:
    start, stop = (int(a) for a in (sys.argv[1:3] or ["0", "350"]))
    indices = range(start, stop)
    sc = load_scenario(PSMAIL)
    integrated = np.array([_sessions(sc, i) for i in indices])
    sessions.literal_sessions = lambda *args, **kwargs: True
    literal = np.array([_sessions(sc, i) for i in indices])
    servers = list(sc.servers)
    labels = [f"{s}/session" for s in servers] + [f"{s}/session_hijack" for s in servers]
    n = len(indices)
    for j, label in enumerate(labels):
        a, b = literal[:, j], integrated[:, j]
        d = a - b
        print(f"{label:22s} P(any) literal {np.mean(a > 0):.4f} integrated {np.mean(b > 0):.4f} "
              f"(discordant {int(np.sum((a > 0) != (b > 0)))} of {n}); mean {a.mean():.2f} "
              f"against {b.mean():.2f}, paired difference {d.mean():+.3f} "
              f"+- {d.std(ddof=1) / np.sqrt(n):.3f}")


if __name__ == "__main__":
    main()
