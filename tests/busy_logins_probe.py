"""Checks the fast engine against the reference engine on busy servers where the skeleton now
draws the logins beside ``max_requests`` and the passwords and tokens read them (the shared
buffer's draw, each lifetime given its count; ``docs/fast-engine.md``, item 11):

* ``logins``: past the 20,000 logins a replication up to which it drew them until 2026-12-07's
  last session, ``agreement.busy_logins`` (``choices`` with passwords kept 900 s beside its
  ``next_request`` tokens, ``max_requests`` of 80, three logins a second: 21,600 a
  replication); ``old`` runs the fast engine with the former limit instead (the mean-rate time
  change, the passwords and tokens drawn apart: items 11 and 14);
* ``shared``: past the bounds within which the shared buffer's draw was sure to be taken until
  2026-12-08, ``agreement.busy_shared`` (``choices`` with sessions of 30 requests, about
  135,000 requests a replication); ``old`` turns off the cost that draw may take since on the
  skeleton's logins (``shared_buffer.KNOWN_FACTOR``: the mean-rate time change, and the draws'
  own logins, free of each lifetime's count: items 11 and 13).

Every quantity the suite extracts is compared with a fresh reference run at the family ``z``;
a spy counts the server replications whose logins the skeleton drew; ``both`` runs the fast
engine each way against one reference run. Too heavy for CI (``logins``: about 0.2 s a fast
replication and 0.6 s a reference one; ``shared``: 0.1 and 0.5; where the stored runs' checks
recompute 1,000 and 500 of them), so run by hand:

    .venv/bin/python tests/busy_logins_probe.py [FAST] [REFERENCE] [SEED] [new|old|both] \\
        [logins|shared]
    # 12,000 fast and 4,000 reference replications (the default): about 35 minutes on 2 cores
    # for ``logins``, 25 for ``shared``
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

from agreement import busy_logins, busy_shared, compared, differences, forced, outcomes
from sim.engines.fast import login_timeline, shared_buffer, skeleton
from sim.scenario import Scenario

CHUNK = 250
SCENARIOS: dict[str, Callable[[], Scenario]] = {"logins": busy_logins, "shared": busy_shared}


def _former(probe: str, old: bool) -> tuple[Any, str, float]:
    """The limit ``old`` sets back to what it was before the probe's change."""
    if probe == "logins":
        return login_timeline, "LOGIN_LIMIT", 20_000 if old else login_timeline.LOGIN_LIMIT
    return shared_buffer, "KNOWN_FACTOR", -1.0 if old else shared_buffer.KNOWN_FACTOR


def _run(engine: str, start: int, stop: int, seed: int, probe: str,
         old: bool) -> tuple[dict[str, np.ndarray], int]:
    sc = SCENARIOS[probe]()
    if engine == "reference":
        return outcomes("reference", sc, range(start, stop), seed), 0
    drawn = {"logins": 0}
    real = skeleton.LoginTimeline.draw

    def spy(*args: object, **kwargs: object) -> login_timeline.LoginTimeline:
        drawn["logins"] += 1
        return real(*args, **kwargs)  # type: ignore[arg-type]

    with forced(*_former(probe, old)), forced(skeleton.LoginTimeline, "draw", spy):
        return outcomes("fast", sc, range(start, stop), seed), drawn["logins"]


def _side(engine: str, n: int, seed: int, probe: str,
          old: bool) -> tuple[dict[str, np.ndarray], int]:
    jobs = [(engine, s, min(s + CHUNK, n), seed, probe, old) for s in range(0, n, CHUNK)]
    with ProcessPoolExecutor(2) as pool:
        parts = list(pool.map(_run, *zip(*jobs)))
    return ({q: np.concatenate([p[q] for p, _ in parts]) for q in parts[0][0]},
            sum(c for _, c in parts))


def _report(label: str, n_fast: int, fast: dict[str, np.ndarray], drawn: int,
            reference: dict[str, np.ndarray]) -> None:
    print(f"{label}: the skeleton drew the logins in {drawn:,} of {n_fast:,} replications")
    pairs = compared("busy", fast, sorted(fast), reference)
    failures = differences("busy", pairs)
    scored = sorted(((f.mean - r.mean) / max(np.sqrt(f.var / f.n + r.var / r.n), 1e-300),
                     line, f.mean, r.mean) for line, f, r in pairs)
    for z, line, f, r in sorted(scored, key=lambda s: -abs(s[0]))[:6]:
        print(f"  largest: {line}: fast {f:.4f}, reference {r:.4f}, z {z:+.2f}")
    for z, line, f, r in scored:
        if any(f" mail/{o} " in line for o in ("password", "session", "session_hijack")):
            print(f"  {line}: fast {f:.4f}, reference {r:.4f}, z {z:+.2f}")
    print(f"{len(pairs)} compared; {len(failures)} beyond the family z: "
          + ", ".join(failures))


def main() -> None:
    n_fast = int(sys.argv[1]) if len(sys.argv) > 1 else 12_000
    n_reference = int(sys.argv[2]) if len(sys.argv) > 2 else 4_000
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 3011
    ways = {"new": [False], "old": [True], "both": [False, True]}[
        sys.argv[4] if len(sys.argv) > 4 else "new"]
    probe = sys.argv[5] if len(sys.argv) > 5 else "logins"
    reference, _ = _side("reference", n_reference, seed + 1, probe, False)
    for old in ways:
        fast, drawn = _side("fast", n_fast, seed, probe, old)
        _report(f"{probe}, {'old' if old else 'new'}", n_fast, fast, drawn, reference)


if __name__ == "__main__":
    main()
