"""Is the fast engine's cost flat in the number of heartbeats? (issue: flat within 1.5x)

One mail-like server (4 workers, passwords, sessions, restarts, transient key copies) under one
attacker whose heartbeat count goes from a thousand to ten million by raising its rate over a
fixed six-hour window. Cases are timed round-robin in one run, so machine noise hits them
alike, and reported as ratios to the smallest case.

    python benchmarks/bench_heartbeats.py [--replications N]
"""

from __future__ import annotations

import argparse
import statistics
import time

import sim  # noqa: F401 - sets single-threaded BLAS before numpy loads
import numpy as np

from sim.engines import get_engine
from sim.scenario.model import (
    Attacker,
    KeySpec,
    PasswordSpec,
    RestartPolicy,
    Scenario,
    Server,
    SessionSpec,
    Timeline,
    Traffic,
)

WINDOW = 6 * 3600.0
HEARTBEATS = (1e3, 1e4, 1e5, 1e6, 1e7)


def scenario(heartbeats: float) -> Scenario:
    server = Server(
        name="mail", role="mail", hosts=2, workers=2, heap_bytes=64 << 20,
        restart=RestartPolicy(every=6 * 3600.0, jitter=3600.0),
        traffic=Traffic(handshakes_per_s=5.0, logins_per_s=0.5,
                        requests_per_s=0.5 + 0.5 * 1800 * 0.2 + 20.0),
        keys=KeySpec(reachable=0.05, copies_per_handshake=1.0, piece_bytes=120, capture=1e-7),
        passwords=PasswordSpec(capture=0.9),
        sessions=SessionSpec(ttl=1800.0, requests_per_s=0.2, capture=0.9, binding=("ip",)),
    )
    attacker = Attacker(
        name="reaper", targets=("mail",), rate=heartbeats / WINDOW, start_low=86400.0,
        start_high=86400.0, duration=WINDOW, heartbeats_per_connection=1,
    )
    return Scenario(
        name=f"bench-{heartbeats:.0e}",
        timeline=Timeline("2014-04-01T00:00:00Z", 0.0, 0.0, 86400.0 + WINDOW + 3600.0),
        servers={"mail": server},
        attackers={"reaper": attacker},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=40)
    args = parser.parse_args()
    fast = get_engine("fast")
    cases = {h: scenario(h) for h in HEARTBEATS}
    times: dict[float, list[float]] = {h: [] for h in HEARTBEATS}
    for i in range(args.replications):
        for h, sc in cases.items():
            seed = np.random.SeedSequence(2014, spawn_key=(i,))
            t0 = time.perf_counter()
            fast.simulate(sc, seed)
            times[h].append(time.perf_counter() - t0)
    base = statistics.median(times[HEARTBEATS[0]])
    print(f"fast engine, {args.replications} replications per case, round-robin")
    print(f"{'heartbeats':>12} {'median ms/rep':>14} {'ratio':>7}")
    for h in HEARTBEATS:
        med = statistics.median(times[h])
        print(f"{h:>12.0e} {med * 1e3:>14.2f} {med / base:>7.2f}")
    worst = max(statistics.median(t) for t in times.values()) / min(
        statistics.median(t) for t in times.values()
    )
    print(f"largest/smallest median: {worst:.2f} (target: within 1.5)")


if __name__ == "__main__":
    main()
