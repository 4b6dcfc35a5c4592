"""The connections detectors see while an attacker still watches the key, in both engines.

Until its first key capture an attacker's connections are split: those that capture the key
are listed one by one, the others form the phases the detectors count. Whether a connection
misses the key depends on the lifetime it reaches: here the long-lived key is reachable in
half the lifetimes and leaks readily, and nothing else holds key pieces
(``copies_per_handshake: 0``). Given that the attacker has not captured the key yet, the
workers are more likely the unreachable ones, whose connections all miss, so a phase rate
averaged over the reachability understates the traffic: 4.8% fewer signature alerts (z = -6.0
at these sizes) before the phases followed each worker's actual placement, cut at restarts.

Power: with 1,500 replications a side the standard error of the difference is about 0.8% of
the mean alert count, so that bias is caught (``z`` of 3.29) with probability above 0.99.
"""

from __future__ import annotations

import pytest
from agreement import judge, never, outcomes, paired, small_scenario

from sim.scenario.model import KeySpec


@pytest.mark.slow
def test_phases_follow_each_workers_key_placement() -> None:
    sc = never(small_scenario(
        keys=KeySpec(reachable=0.5, copies_per_handshake=0.0, piece_bytes=120, capture=0.3),
        crash_probability=0.0))
    fast = outcomes("fast", sc, 1_500, seed=41)
    ref = outcomes("reference", sc, 1_500, seed=42)
    failures = []
    for quantity in ("ids-all/reaper/raised", "volume/reaper/raised", "reaper/key"):
        failed = judge(quantity, *paired(fast, ref, quantity, "mean"))
        if failed:
            failures.append(failed)
    assert not failures, "\n".join(failures)
