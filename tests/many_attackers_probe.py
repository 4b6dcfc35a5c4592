"""The many-attackers suite's lingering variant at full power, with or without ``max_requests``.

``tests/test_many_attackers.py`` runs 4,000 replications a side in CI. At full power its
lingering variant's server session mean leaned high (+0.36% and +0.47%, 2026-12-06), and
without ``max_requests`` it did not (-0.10%): item 13 of ``docs/fast-engine.md``, the session
requests drawn free of each lifetime's count, since 2026-12-07 drawn given it on this path
(``counted_takes.py``; +0.18% at 60,000 a side, seeds 205 and 206). This reruns that
comparison: every quantity the agreement suite extracts, the largest differences against
their allowed ones, and every session line.

    .venv/bin/python tests/many_attackers_probe.py [with|without] SIZE REF_SEED FAST_SEED
    # with 60000 205 206: about 20 minutes on 2 cores
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace

import test_many_attackers as suite
from agreement import compared, differences

from sim.scenario.model import Scenario


def without_max_requests(lingering: bool) -> Scenario:
    """The suite's scenario with ``max_requests`` removed."""
    sc = built(lingering)
    mail = sc.servers["mail"]
    return replace(sc, servers={"mail": replace(mail, restart=replace(mail.restart,
                                                                      max_requests=None))})


built = suite.many


def main(argv: list[str]) -> None:
    mode, size, reference_seed, fast_seed = argv[0], int(argv[1]), int(argv[2]), int(argv[3])
    suite.SIZE = size
    suite.SEEDS = {"reference": reference_seed, "fast": fast_seed}
    if mode == "without":
        suite.many = without_max_requests  # the pool's forked workers inherit it
    with ProcessPoolExecutor(2) as pool:
        reference, _ = suite._run("reference", True, pool)
        fast, past = suite._run("fast", True, pool)
    name = f"many-lingering-{mode}"
    pairs = compared(name, fast, sorted(reference), reference)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        failures = differences(name, pairs)
    lines = out.getvalue().splitlines()
    ratios = []
    for line in lines:
        m = re.search(r"difference ([0-9.]+), allowed ([0-9.]+)", line)
        if m and float(m.group(2)) > 0:
            ratios.append((float(m.group(1)) / float(m.group(2)), line))
    print(f"{past} replications past ten attackers; {len(failures)} failures; {lines[-1]}")
    for ratio, line in sorted(ratios, reverse=True)[:6]:
        print(f"{ratio:.2f} of allowed: {line}")
    for line in lines:
        if re.match(rf"{name} \S+/session (mean|p_any)", line):
            print(line)


if __name__ == "__main__":
    main(sys.argv[1:])
