"""The connections detectors see while an attacker still watches the key, in both engines.

Until its first key capture an attacker's connections are split: those that capture the key
are listed one by one, the others form the phases the detectors count. Whether a connection
misses the key depends on the lifetime it reaches: here the long-lived key is reachable in
half the lifetimes and leaks readily, and nothing else holds key pieces
(``copies_per_handshake: 0``). Given that the attacker has not captured the key yet, the
workers are more likely the unreachable ones, whose connections all miss, so a phase rate
averaged over the reachability understates the traffic: 4.8% fewer signature alerts (z = -6.0
at these sizes) before the phases followed each worker's actual placement, cut at restarts.

Power: with 6,000 replications a side the standard error of the difference is about 0.4% of
the mean alert count, so that bias is caught (``z`` of 3.29) with probability above 0.99, and
one of 1.7% with probability 0.8. The runs are stored (``agreement.SIDE_RUNS``,
``key-placement`` for both engines and ``key-placement-phases``), proved current on their
first replications: computing 1,500 a side afresh took about 70 of CI's seconds.
"""

from __future__ import annotations

import pytest
from dataclasses import replace

from agreement import judge, load_fast, load_reference, outcomes, paired, small_scenario

from sim.scenario.model import KeySpec


@pytest.mark.slow
def test_phases_follow_each_workers_key_placement() -> None:
    """The reaper's 24 connections are few enough to be listed one by one
    (``sim/engines/fast/listed.py``), which samples them per lifetime and placement; with
    no attacker listed (``agreement.phase_outcomes``) the detectors count the phases, the
    path of heavy attackers. Both paths against one reference sample, each comparison at
    ``z`` 3.29."""
    ref = load_reference("key-placement")
    listed, phases = load_fast("key-placement"), load_fast("key-placement-phases")
    assert listed.sums != phases.sums, "same seed, same draws: the phases were not forced"
    failures = []
    for path, fast in (("listed", listed), ("phases", phases)):
        for quantity in ("ids-all/reaper/raised", "volume/reaper/raised", "reaper/key"):
            failed = judge(f"{path}: {quantity}", fast.sample(quantity, "mean"),
                           ref.sample(quantity, "mean"))
            if failed:
                failures.append(failed)
    assert not failures, "\n".join(failures)


@pytest.mark.slow
def test_an_attacker_that_stops_at_the_key_never_sends_the_crashing_heartbeat() -> None:
    """``stop_when: key`` (rule 8): a connection whose early heartbeats take the key ends
    there, so a later heartbeat that would have crashed the worker is never sent. Six
    heartbeats a connection, a 2% crash chance each and a key that leaks readily make such
    connections common: until 2026-12-03 the fast engine logged their crashes anyway and
    restarted the worker (P(crash alert) 11.4% against the reference's 4.6%, 3,000
    replications a side). With 800 a side the standard error of the difference is about
    1.2 points, so that bias (7 points) is caught at ``z`` 3.29 with probability 0.99."""
    sc = small_scenario(
        keys=KeySpec(reachable=0.5, copies_per_handshake=1.0, piece_bytes=120, capture=0.3),
        crash_probability=0.02)
    reaper = replace(sc.attackers["reaper"], heartbeats_per_connection=6)
    sc = replace(sc, attackers={**sc.attackers, "reaper": reaper})
    fast = outcomes("fast", sc, 800, seed=43)
    ref = outcomes("reference", sc, 800, seed=44)
    failures = []
    for quantity in ("crashes/reaper/raised", "ids-all/reaper/raised", "reaper/key"):
        for label in ("p_any", "mean"):
            failed = judge(f"{quantity} {label}", *paired(fast, ref, quantity, label))
            if failed:
                failures.append(failed)
    assert not failures, "\n".join(failures)
