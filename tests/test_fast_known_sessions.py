"""Sessions alone beside ``max_requests``, drawn from the skeleton's logins: login by login
where tokens outlive the next request (``sim/engines/fast/login_pairs.py`` without
passwords), by the shared buffer's draw for ``next_request`` ones
(``sim/engines/fast/shared_buffer.py`` without passwords).

A lifetime that ended at its ``max_requests``-th request holds exactly ``N - 1`` before its
end, and with sessions those requests come in clusters, one per session open in it
(``docs/fast-engine.md``, items 11 and 13). Where the skeleton draws the server's logins
(:mod:`sim.engines.fast.login_timeline`) it times the restarts by them, and the sessions'
two draws that read them (the class per login, :class:`.token_copies.ClassTally`, and where a
``concurrent`` check can pass the draw where copies are taken, :class:`.counted_takes.
CountedTakes`) draw each lifetime's reads and each session's requests given the count that
ended it. Until 2026-12-07 that held only beside passwords that linger; sessions alone took
paths that draw their own logins and free request streams: on ``sessions-alone``'s scenario
(``lingering`` without passwords, its sneak heavy and always there, driving the restarts)
the reaper's session mean came out 15.4627 against the reference's 15.3643 (+0.64%, z = 2.7,
40,000 a side, seeds 612 and 611).

``next_request`` tokens alone drew their own logins too (the draws at the reads); where the
shared buffer's draw is sure to be taken (``always_shared``) the skeleton now draws the logins
for it, which draws each readable lifetime's requests given its count, the logins emptying
the slot.

Checked here: that each draw reads the skeleton's logins in every replication (spies), and
each against the reference engine at full power on stored runs.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from agreement import (
    SCENARIOS,
    compared,
    differences,
    forced,
    lingering_binding,
    lingering_driven,
    load_both,
    outcomes,
    sessions_alone,
)
from hypothesis import given, settings
from hypothesis import strategies as st

import sim.engines.fast as fast
from sim.engines.fast.counted_takes import CountedTakes
from sim.engines.fast.login_timeline import drives_restarts
from sim.engines.fast.shared_buffer import always_shared
from sim.engines.fast.token_copies import ClassTally
from sim.scenario.model import SessionSpec


def test_sessions_alone_are_counted_from_the_skeletons_logins() -> None:
    """Without a ``concurrent`` check the class per login is made with each worker's counted
    lifetimes; with one, the draw where copies are taken counts them (``CountedTakes``). In
    every replication of the first 12 of each."""
    counted: list[bool] = []

    class Classes(ClassTally):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            counted.append(any(s is not None for s in self.shares))

    with forced(fast, "ClassTally", Classes):
        outcomes("fast", sessions_alone(lingering_driven)(), 12, 3)
    assert counted == [True] * 12

    taken: list[bool] = []

    class Takes(CountedTakes):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            taken.append(True)

    with forced(fast, "CountedTakes", Takes):
        outcomes("fast", sessions_alone(lingering_binding)(), 12, 3)
    assert taken == [True] * 12


def test_next_request_tokens_alone_take_the_shared_buffer_on_the_skeletons_logins() -> None:
    """``next_request`` tokens alone beside ``max_requests``: the skeleton draws the logins
    (``always_shared`` holds for the suite's light servers) and the shared buffer's draw
    takes them, without passwords, in every replication of the first 12; the logins still
    empty the slot there (a login is a request, rule 4, and the Residency paragraph)."""
    calls: list[bool] = []
    real = fast.sample_shared_buffer

    def spy(*args, **kwargs):
        calls.append(kwargs.get("passwords", True) is False and kwargs["known"] is not None)
        return real(*args, **kwargs)

    sc = sessions_alone(SCENARIOS["stop-on-key"])()
    mail = sc.servers["mail"]
    assert always_shared(mail, sc.horizon, 1_000.0, attacked=sc.horizon, windows=4, crashes=0.0)
    assert drives_restarts(mail, sc.horizon, True, 1_000.0, sc.horizon)
    with forced(fast, "sample_shared_buffer", spy):
        outcomes("fast", sc, 12, 3)
    assert calls == [True] * 12


@settings(max_examples=30, deadline=None)
@given(lifetime=st.sampled_from(["next_request", "next_handshake", 30.0, 600.0]),
       binding=st.sampled_from([(), ("ip",), ("ip", "browser", "concurrent"), ("concurrent",)]),
       ttl=st.sampled_from([5.0, 60.0, 600.0, 3_000.0]),
       session_rate=st.sampled_from([0.0005, 0.01, 0.2]),
       logins=st.sampled_from([0.001, 0.02, 0.3]),
       workers=st.integers(1, 3), max_requests=st.sampled_from([3, 20, 80, 500]),
       seed=st.integers(0, 2**16))
def test_sessions_alone_beside_max_requests_run_and_count_consistently(
        lifetime: float | str, binding: tuple[str, ...], ttl: float, session_rate: float,
        logins: float, workers: int, max_requests: int, seed: int) -> None:
    """Whatever the token rule, binding, rates and ``max_requests``, a server of sessions alone
    runs (on the skeleton's logins where :func:`drives_restarts` says so), and its counts are
    consistent: no attacker hijacks more sessions than it took, the server's hijacks are at
    most its leaks, and each binding check taken away can only add hijacks."""
    sc = sessions_alone(SCENARIOS["stop-on-key"])()
    mail = sc.servers["mail"]
    spec = SessionSpec(ttl=ttl, requests_per_s=session_rate, capture=0.5, binding=binding,
                       lifetime=lifetime, shared_address_probability=0.3,
                       concurrent_window=300.0)
    traffic = replace(mail.traffic, logins_per_s=logins,
                      requests_per_s=logins * (1.0 + ttl * session_rate) + 0.03)
    mail = replace(mail, sessions=spec, traffic=traffic, workers=workers,
                   restart=replace(mail.restart, max_requests=max_requests))
    sc = replace(sc, servers={"mail": mail})
    record = fast.simulate(sc, np.random.SeedSequence(seed))
    total = record.servers["mail"]
    assert 0 <= total.session_hijack <= total.session
    for own in record.attackers.values():
        assert 0 <= own["mail"].session_hijack <= own["mail"].session
    by_checks = (*total.session_hijack_by_checks, total.session_hijack)
    assert all(a >= b for a, b in zip(by_checks, by_checks[1:]))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["sessions-alone", "sessions-alone-binding",
                                  "sessions-alone-slot"])
def test_sessions_alone_agree_with_the_reference(name: str) -> None:
    """Every quantity of ``results.json`` the suite extracts, at the family's ``z``, on the
    stored runs (``agreement.SIDE_RUNS``, 60,000 replications a side, each proved current on
    its first ones): a session mean near 15 differs with a standard error of about 0.2%, so
    a 1% bias is caught with probability above 0.8, and a P(any) near one half with one of
    0.29 points."""
    fast_run, reference = load_both(name)
    pairs = compared(name, fast_run, sorted(fast_run.sums), reference)
    failures = differences(name, pairs)
    assert not failures, "\n".join(failures.values())
