"""The skeleton's shortcuts change no draw: what it skips is never read."""

from __future__ import annotations

import math

import numpy as np
import pytest
from agreement import SCENARIOS, never, small_scenario
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.engines import fast
from sim.engines.fast.segments import WorkerLifetime
from sim.engines.fast.skeleton import ServerRun, reachable_steps
from sim.model.attackers import ActiveWindow
from sim.model.record import Observations
from sim.montecarlo.replicate import replicate_range
from sim.scenario import load_scenario
from sim.scenario.model import RestartPolicy, Scenario


def _mail_skeleton(sc: Scenario, seed: int) -> ServerRun:
    """The mail server's skeleton, every attacker present from its earliest start."""
    active = {name: (a, ActiveWindow(a.start_low, min(a.start_low + a.duration, sc.horizon)
                                     if a.duration is not None else sc.horizon))
              for name, a in sc.attackers.items()}
    run = ServerRun(sc, sc.servers["mail"], active, np.random.default_rng(seed), Observations())
    run.run()
    return run


@pytest.mark.parametrize("scenario", ["psmail", "stop-on-key", "lingering"])
def test_key_copies_dropped_after_the_last_key_chance_change_nothing(
    scenario: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once no attacker still watching the key can capture it, the skeleton stops carrying
    the workers' key copies (``ServerRun._last_key_chance``). Carrying them to the horizon
    instead must give the same rows, to the bit: nothing reads them after that time. PSMail
    (attackers sending to patched servers for days) and two agreement scenarios with key
    captures, ``stop_when: key`` and lingering key copies."""
    sc = (load_scenario("scenarios/psmail-2014.yaml") if scenario == "psmail"
          else SCENARIOS[scenario]())
    dropped = replicate_range(sc, fast, 7, 0, 40)
    monkeypatch.setattr(ServerRun, "_last_key_chance", lambda self: math.inf)
    carried = replicate_range(sc, fast, 7, 0, 40)
    assert np.array_equal(dropped, carried, equal_nan=True)


@pytest.mark.parametrize("closes", ["patched_at", "heartbeat_off_at"])
@pytest.mark.parametrize("max_requests", [None, 80])
def test_a_worker_is_followed_past_the_close_only_to_its_next_restart(
    closes: str, max_requests: int | None
) -> None:
    """After the vulnerable window closes nothing reads a worker or crashes it, so its process
    ends at its first restart at or after the close (``skeleton.py``'s module docstring). The
    lifetime that straddles the close must keep its true end (it conditions the reads inside
    it under ``max_requests``): a patch ends it at the close, a heartbeat switched off at the
    worker's next restart. One lifetime per worker then runs to the horizon, and the
    connections after the close still reach the detectors."""
    close = 4000.0  # inside the reaper's and the sneak's windows, before the checker's
    sc = never(small_scenario(restart=RestartPolicy(every=600.0, jitter=300.0,
                                                    max_requests=max_requests),
                              **{closes: close}))
    for seed in range(20):
        run = _mail_skeleton(sc, seed)
        for w in range(sc.servers["mail"].total_workers):
            lives = sorted((lt for lt in run.lifetimes if lt.worker == w), key=lambda lt: lt.start)
            last, straddling = lives[-1], lives[-2]
            assert last.end == sc.horizon and last.end_cause == "horizon"
            assert all(lt.start < close for lt in lives[:-1])
            assert straddling.end == last.start >= close
            if closes == "patched_at":
                assert straddling.end == close and straddling.end_cause == "patch"
            else:
                assert straddling.end_cause in ("scheduled", "max_requests")
        # Every attacker here is listed (light), so the detectors see its connections one by
        # one, drawn over the lifetimes: those after the close are there too.
        assert not run.obs.phases
        assert any(c.time > close for c in run.obs.known_connections)


@pytest.mark.parametrize("max_requests", [None, 80])
def test_every_scheduled_restart_ends_one_lifetime_whatever_reconfigures(
    max_requests: int | None,
) -> None:
    """The workers are records stepped by one process (``ServerRun._serve``): at each new
    configuration every pending event is dropped and drawn again, and heap entries left
    behind must never fire. A scheduled restart drawn again at the same instant would fire
    twice if a stale entry did, and a worker stepped again inside a stretch it had crossed
    would draw that stretch's lifetimes twice. So, per worker: lifetimes never overlap, they
    follow each other without a gap while an attacker sends (only an attack-free stretch,
    crossed in one step, leaves lifetimes out), and the scheduled ends are distinct
    scheduled times, every one of them inside the attack up to the close. Restarts every 300
    s (jitter 100) against boundaries every few hundred seconds, crashes, key captures and
    ``max_requests``."""
    sc = never(small_scenario(restart=RestartPolicy(every=300.0, jitter=100.0,
                                                    max_requests=max_requests)))
    attack_from = min(a.start_low for a in sc.attackers.values())
    for seed in range(30):
        run = _mail_skeleton(sc, seed)
        for state in run._states:
            lives = sorted((lt for lt in run.lifetimes if lt.worker == state.index),
                           key=lambda lt: lt.start)
            for before, after in zip(lives, lives[1:]):
                assert before.end <= after.start
                if before.end >= attack_from:
                    assert before.end == after.start
            ends = [lt.end for lt in lives if lt.end_cause == "scheduled"]
            assert len(ends) == len(set(ends))
            times = state.sched.times
            assert set(ends) <= set(times.tolist())
            due = times[(times >= attack_from) & (times < run.closes)]
            assert set(due.tolist()) <= set(ends)


def _steps_by_definition(lives: list[WorkerLifetime], t0: float, t1: float
                         ) -> list[tuple[float, float, int]]:
    """The reachable-key count evaluated afresh at every edge any life makes inside
    ``[t0, t1)`` (what the skeleton did before the sweep), equal neighbours merged."""
    edges = sorted({t0, t1, *(x for lt in lives for x in (lt.start, lt.end) if t0 < x < t1)})
    steps: list[tuple[float, float, int]] = []
    for lo, hi in zip(edges, edges[1:]):
        near = sum(lt.key_reachable for lt in lives if lt.start <= lo < lt.end)
        if steps and steps[-1][2] == near:
            steps[-1] = (steps[-1][0], hi, near)
        else:
            steps.append((lo, hi, near))
    return steps


#: Times on a coarse grid, so that lives often start and end together, at the segment's
#: ends, or last no time at all.
_times = st.integers(0, 12).map(float)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(st.tuples(_times, _times, st.booleans()), max_size=12), _times, _times)
def test_reachable_steps_follow_their_definition(
    spans: list[tuple[float, float, bool]], t0: float, t1: float
) -> None:
    """The sweep that cuts an attack segment where the workers holding a reachable key change
    (the phases' key miss reads it) gives the very steps of counting the lives at every edge,
    whatever the lives' overlaps, coincidences and empty spans."""
    lives = [WorkerLifetime(0, min(a, b), max(a, b), near) for a, b, near in spans]
    if t1 <= t0:
        assert reachable_steps(lives, t0, t1) == []
        return
    assert reachable_steps(lives, t0, t1) == _steps_by_definition(lives, t0, t1)
