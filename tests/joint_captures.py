"""Measures docs/fast-engine.md item 14: one attacker's password and session captures together.

Under ``next_request`` a worker's read buffer holds its latest request: a login's password, a
session request's token, or neither, so at any read a password and a token are never both
resident, and what one request puts there the next takes away. Drawn from request streams of
their own (``session_slot`` and ``session_literal``) an attacker's password and session
captures came out more alike than they are; ``shared_buffer`` now draws them together on
``choices``. The agreement suite compares each capture with each detector, not two captures
with each other, and saw this only through the one detector a password drives (``choices``:
the sneak's session with no login alert retained, z = -3.96 of 4.08 before the fix).

This runs the agreement suite's ``choices`` scenario with both engines (fresh seeds, not the
stored runs' 11 and 12) and prints, per attacker that captures both kinds, the four cells of
(password, session) and the session with and without a retained login alert, fast against
reference, each with its z. With ``--reported`` it runs both engines through the analysis
instead, the team having seen no login and no session-log alert, and prints what
``results.json`` would report where the two differ by more than their intervals allow.

    .venv/bin/python tests/joint_captures.py [REPLICATIONS] [--scenario NAME]   # 100,000: 5 min
    .venv/bin/python tests/joint_captures.py --reported [REPLICATIONS]   # 40,000: about 2

on 2 cores. ``--scenario`` takes any of the agreement suite's scenarios and two variants of
``choices`` whose session tokens outlive the next request (:data:`JOINT_SCENARIOS`).
"""

from __future__ import annotations

import argparse
import math
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
from agreement import SCENARIOS, outcomes, tokens_lasting

from sim.analysis.analyse import analyse, as_results
from sim.montecarlo.runner import run as run_replications
from sim.scenario.model import Scenario

SCENARIO = "choices"


#: The agreement suite's scenarios and two of ``choices``' token residencies.
JOINT_SCENARIOS: dict[str, Callable[[], Scenario]] = {
    **SCENARIOS, "choices-tokens-300s": tokens_lasting(300.0),
    "choices-tokens-handshake": tokens_lasting("next_handshake")}
SEEDS = {"fast": 41, "reference": 42}
CHUNK = 2_000


def sample(engine: str, start: int, stop: int, scenario: str = SCENARIO) -> dict[str, np.ndarray]:
    """Per replication, whether each attacker took a password, a session, and had a login
    alert retained (the agreement suite's extractors, at this module's seeds)."""
    values = outcomes(engine, JOINT_SCENARIOS[scenario](), range(start, stop), SEEDS[engine])
    names = {k.split("/")[0] for k in values if k.endswith("/password")}
    names = {n for n in names if f"{n}/session" in values}
    keys = [f"{n}/{kind}" for n in sorted(names) for kind in ("password", "session")]
    keys += [k for k in (f"logins/{n}/retained" for n in sorted(names)) if k in values]
    return {k: values[k] > 0 for k in keys}


def run(engine: str, replications: int, scenario: str,
        pool: ProcessPoolExecutor) -> dict[str, np.ndarray]:
    starts = range(0, replications, CHUNK)
    parts = list(pool.map(sample, [engine] * len(starts), starts,
                          [min(s + CHUNK, replications) for s in starts],
                          [scenario] * len(starts)))
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def cells(values: dict[str, np.ndarray], name: str) -> dict[str, np.ndarray]:
    pw, se = values[f"{name}/password"], values[f"{name}/session"]
    out = {"password & session": pw & se, "password, no session": pw & ~se,
           "session, no password": ~pw & se}
    login = values.get(f"logins/{name}/retained")
    if login is not None:
        out["session & login alert"] = se & login
        out["session, no login alert"] = se & ~login
    return out


def reported(replications: int) -> None:
    """Both engines through the analysis, given no login and no session-log alert seen: every
    probability and mean of ``results.json``'s attackers, detectors and evidence whose 95%
    intervals do not overlap."""
    found = {}
    for engine, seed in (("fast", 51), ("reference", 52)):
        sc = SCENARIOS[SCENARIO]()
        sc = replace(sc, evidence={"logins": "none", "sessions": "none"},
                     monte_carlo=replace(sc.monte_carlo, replications=replications, seed=seed,
                                         engine=engine))
        with tempfile.TemporaryDirectory() as out:
            result = run_replications(sc, Path(out), jobs=2, progress=False)
        found[engine] = dict(_leaves(as_results(
            analyse(result.rows, result.layout, sc, result.strata), result.rows, result.layout,
            sc)))
    fast, reference = found["fast"], found["reference"]
    for path, value in fast.items():
        mine, theirs = _interval(fast, path), _interval(reference, path)
        if mine is None or theirs is None:
            continue
        if mine[1] < theirs[0] or theirs[1] < mine[0]:
            print(f"{path:60s} fast {value:.4f} [{mine[0]:.4f}, {mine[1]:.4f}]  "
                  f"reference {reference[path]:.4f} [{theirs[0]:.4f}, {theirs[1]:.4f}]")


def _interval(values: dict[str, float], path: str) -> tuple[float, float] | None:
    """The 95% interval ``results.json`` gives beside an estimate: ``x`` has ``x_ci95``, a
    blind spot's ``.../p`` has ``.../ci95``."""
    base = path[: -len("/p")] + "/ci95" if path.endswith("/p") else path + "_ci95"
    low, high = values.get(base + "[0]"), values.get(base + "[1]")
    return None if low is None or high is None else (low, high)


def _leaves(node: object, path: str = "") -> Iterator[tuple[str, float]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, f"{path}/{key}")
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _leaves(value, f"{path}[{i}]")
    elif isinstance(node, (int, float)) and not isinstance(node, bool):
        yield path, float(node)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("replications", type=int, nargs="?")
    parser.add_argument("--reported", action="store_true")
    parser.add_argument("--scenario", default=SCENARIO, choices=sorted(JOINT_SCENARIOS))
    args = parser.parse_args()
    if args.reported:
        reported(args.replications or 40_000)
        return
    replications = args.replications or 100_000
    with ProcessPoolExecutor(2) as pool:
        fast = run("fast", replications, args.scenario, pool)
        reference = run("reference", replications, args.scenario, pool)
    names = sorted({k.split("/")[0] for k in fast if k.endswith("/password")})
    for name in names:
        f, r = cells(fast, name), cells(reference, name)
        for cell in f:
            pf, pr = f[cell].mean(), r[cell].mean()
            se = math.hypot(math.sqrt(pf * (1 - pf) / replications),
                            math.sqrt(pr * (1 - pr) / replications))
            z = (pf - pr) / se if se > 0 else 0.0
            print(f"{name:10s} {cell:26s} fast {pf:.4f}  reference {pr:.4f}  z {z:+6.2f}")


if __name__ == "__main__":
    main()
