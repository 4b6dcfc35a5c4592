"""Measures docs/fast-engine.md item 7 on a scenario file: the share of each attacker's answered
connections to a server sent while it still watches that server's key.

Item 7's stationary key-miss probability thins only those connections (a heavy attacker's,
before its first key capture there: afterwards the miss is 1); every other connection's
hazards are exact. Counted from the fast engine's attack phases and key capture times, over
the run's own replications (``monte_carlo.seed``, unstratified):

    .venv/bin/python tests/watching_share.py scenarios/psmail-2014.yaml [REPLICATIONS]
"""

from __future__ import annotations

import argparse
import math
from collections import defaultdict

from sim.engines import get_engine
from sim.montecarlo.seeds import replication_seeds
from sim.scenario import load_scenario


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario")
    parser.add_argument("replications", nargs="?", type=int, default=2_000)
    args = parser.parse_args()
    sc = load_scenario(args.scenario)
    simulate = get_engine("fast").simulate
    watching: dict[tuple[str, str], float] = defaultdict(float)
    answered: dict[tuple[str, str], float] = defaultdict(float)
    for i in range(args.replications):
        record = simulate(sc, replication_seeds(sc.monte_carlo.seed, i).engine)
        for phase in record.observations.phases:
            if not phase.vulnerable:
                continue
            pair = phase.attacker, phase.server
            taken = record.attackers[phase.attacker][phase.server].key_time
            until = phase.t1 if math.isnan(taken) else min(phase.t1, taken)
            answered[pair] += phase.connection_rate * (phase.t1 - phase.t0)
            watching[pair] += phase.connection_rate * max(0.0, until - phase.t0)
    for (a, s), total in sorted(answered.items()):
        print(f"{a:18s} {s:6s} {total / args.replications:10.1f} answered connections a "
              f"replication, {watching[a, s] / total:.2e} of them while watching the key")


if __name__ == "__main__":
    main()
