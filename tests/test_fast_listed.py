"""Light attackers' connections are sampled one by one (``sim/engines/fast/listed.py``), and the
detectors count the very connections that read the workers' secrets.

Whether the two engines then agree on captures and evidence together is the agreement
suite's job (``agreement.unseen_extractors``); here, what that agreement rests on: the same
instants on both sides, the Poisson count the model implies, and the phases path kept for
heavy attackers.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

from agreement import never, small_scenario

from sim.engines.fast import listed
from sim.engines.fast import simulate as fast_simulate
from sim.engines.fast.skeleton import ServerRun
from sim.model.attackers import ActiveWindow
from sim.model.record import Observations

Z = norm.ppf(1 - 0.001 / 2)


def run_server(seed: int, **server_overrides) -> tuple[ServerRun, Observations]:
    """The mail server of the agreement suite's ``overlap-never``, every attacker present."""
    sc = never(small_scenario(**server_overrides))
    active = {name: (a, ActiveWindow(a.start_low, sc.horizon if a.duration is None
                                     else min(a.start_low + a.duration, sc.horizon)))
              for name, a in sc.attackers.items()}
    obs = Observations()
    run = ServerRun(sc, sc.servers["mail"], active, np.random.default_rng(seed), obs)
    run.run()
    return run, obs


def test_detectors_count_the_connections_that_read() -> None:
    """Every attacker of the suite sends a dozen or two connections, so all are listed: none has
    phases, and the connections the detectors count, less the key-capturing ones, are
    exactly the point reads the lifetimes hold, instant for instant."""
    for seed in range(20):
        run, obs = run_server(seed)
        assert run.listed == frozenset(run.attackers)
        assert obs.phases == []
        captures = {(kc.time, kc.attacker) for lt in run.lifetimes for kc in lt.key_captures}
        counted = sorted((c.time, c.attacker) for c in obs.known_connections
                         if (c.time, c.attacker) not in captures)
        reads = sorted((c.time, c.attacker) for lt in run.lifetimes for c in lt.listed)
        assert counted == reads
        assert all(lt.start < c.time < lt.end for lt in run.lifetimes for c in lt.listed)


def test_a_listed_attackers_connections_number_what_the_model_says() -> None:
    """The benign checker sends 0.01 connections per second for 1,200 s (``stop_when:
    never``): Poisson with mean 12, whichever of them crash a worker or capture the key. The
    count adds the listed connections, the key-capturing ones and the crashes; one lifetime
    lost or counted twice moves the mean by a twelfth or more of the connections it held. With
    2,000 replications the mean's standard error is 0.077 (0.65%)."""
    sc = never(small_scenario())
    n = 2_000
    counts = np.empty(n)
    for i in range(n):
        record = fast_simulate(sc, np.random.SeedSequence(5, spawn_key=(i,)))
        obs = record.observations
        counts[i] = sum(c.attacker == "checker" for c in obs.known_connections) + sum(
            c.attacker == "checker" for c in obs.crashes)
    assert abs(counts.mean() - 12.0) <= Z * np.sqrt(12.0 / n), counts.mean()


def test_heavy_attackers_keep_their_phases(monkeypatch) -> None:
    """Past :data:`listed.LISTED_LIMIT` expected connections an attacker is integrated as a
    hazard, and the detectors sample its phases: no point reads, no listed connections."""
    monkeypatch.setattr(listed, "LISTED_LIMIT", 20.0)  # the reaper's 24 pass it, 16.8 and 12 not
    run, obs = run_server(3)
    assert run.listed == frozenset({"sneak", "checker"})
    assert {p.attacker for p in obs.phases} == {"reaper"}
    assert all(c.attacker != "reaper" for lt in run.lifetimes for c in lt.listed)


def test_nothing_is_listed_where_no_connection_both_reads_and_counts() -> None:
    """Without passwords or sessions only key-capturing connections read what counts, and they
    are known one by one anyway: every attacker keeps its phases, at no cost per connection."""
    run, obs = run_server(4, passwords=None, sessions=None)
    assert run.listed == frozenset()
    assert {p.attacker for p in obs.phases} == set(run.attackers)
