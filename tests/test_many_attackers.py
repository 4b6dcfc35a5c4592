"""More malicious attackers on one server than the fast engine counts every union of
(``sessions.MAX_MALICIOUS``, 10): their sessions and passwords are then drawn by the draws that
follow each capture, whose cost is linear in the attackers (``docs/fast-engine.md``, "Many
attackers"). Until 2026-12-06 ``check`` refused sessions there and the lingering passwords'
sampler counted ``2^n`` sets.

The agreement suite's ``choices`` with eleven clones of its malicious attackers (fourteen, each
present with probability 0.9, so that nearly every replication has more than ten): once with
its ``next_request`` secrets (sessions at the reads or literally), once with passwords kept 15
minutes and tokens 5 (both drawn together where the token copies are taken, the passwords alone
login by login). Every quantity the agreement suite extracts, fast against reference, at the
family ``z``; a spy checks that the draws past the unions were taken.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from agreement import choices, compared, differences, forced, outcomes, spied

import sim.engines.fast as fast
from sim.engines.fast import sessions
from sim.scenario.model import Scenario

CLONES = 11
SIZE = 4_000
CHUNK = 1_000
SEEDS = {"reference": 91, "fast": 92}


def many(lingering: bool) -> Scenario:
    """``choices`` with :data:`CLONES` clones of its malicious attackers, each present with
    probability 0.9; with ``lingering``, passwords kept 15 minutes and tokens 5 on average."""
    sc = choices()
    malicious = [n for n, a in sc.attackers.items() if not a.benign]
    clones = {f"clone{i}": replace(sc.attackers[malicious[i % len(malicious)]],
                                   name=f"clone{i}", presence=0.9)
              for i in range(CLONES)}
    sc = replace(sc, attackers={**sc.attackers, **clones})
    if lingering:
        mail = sc.servers["mail"]
        assert mail.passwords is not None and mail.sessions is not None
        sc = replace(sc, servers={"mail": replace(
            mail, passwords=replace(mail.passwords, lifetime=900.0),
            sessions=replace(mail.sessions, lifetime=300.0))})
    return sc


def past_unions(lingering: bool) -> Scenario:
    """:func:`many` with clones of its first malicious attacker, one past ``MAX_UNIONS``."""
    sc = many(lingering)
    malicious = [n for n, a in sc.attackers.items() if not a.benign]
    extra = {f"more{i}": replace(sc.attackers[malicious[0]], name=f"more{i}")
             for i in range(sessions.MAX_UNIONS + 1 - len(malicious))}
    return replace(sc, attackers={**sc.attackers, **extra})


def _no_unions(*args: object, **kwargs: object) -> None:
    """In place of a draw that counts every set of the attackers: it must not be reached."""
    raise AssertionError("every set of the attackers counted")


def _chunk(engine: str, lingering: bool, start: int) -> tuple[dict[str, np.ndarray], int]:
    """One chunk's quantities, and (fast) how many of its replications had more than
    ``MAX_MALICIOUS`` malicious attackers reading the server; it fails where the unions of so
    many are counted."""
    sc = many(lingering)
    replications = range(start, start + CHUNK)
    if engine == "reference":
        return outcomes("reference", sc, replications, SEEDS[engine]), 0
    past = [0]
    secrets, leak_means = fast._secrets, sessions.leak_means

    def drawn(scenario, name, run, rng):
        _, malicious = sessions.attacker_names(run.segments)
        past[0] += len(malicious) > sessions.MAX_MALICIOUS
        return secrets(scenario, name, run, rng)

    def unions(spec, segments, *args, **kwargs):
        assert len(sessions.attacker_names(segments)[1]) <= sessions.MAX_MALICIOUS
        return leak_means(spec, segments, *args, **kwargs)

    with forced(fast, "_secrets", drawn), forced(sessions, "leak_means", unions):
        return outcomes("fast", sc, replications, SEEDS[engine]), past[0]


def _run(engine: str, lingering: bool, pool: ProcessPoolExecutor
         ) -> tuple[dict[str, np.ndarray], int]:
    parts = list(pool.map(_chunk, [engine] * (SIZE // CHUNK), [lingering] * (SIZE // CHUNK),
                          range(0, SIZE, CHUNK)))
    values = {k: np.concatenate([p[k] for p, _ in parts]) for k in parts[0][0]}
    return values, sum(n for _, n in parts)


@pytest.mark.slow
@pytest.mark.parametrize("lingering", [False, True], ids=["next_request", "lingering"])
def test_fourteen_malicious_attackers_agree_with_the_reference(lingering: bool) -> None:
    """Measured when written (2026-12-06): see ``docs/fast-engine.md``, "Many attackers"."""
    with ProcessPoolExecutor(2) as pool:
        reference, _ = _run("reference", lingering, pool)
        fast_run, past = _run("fast", lingering, pool)
    # nearly every replication with a reader has more than ten malicious attackers present
    assert past > SIZE // 2
    name = "many-" + ("lingering" if lingering else "next_request")
    pairs = compared(name, fast_run, sorted(reference), reference)
    assert differences(name, pairs) == {}


def test_past_fourteen_the_passwords_are_refused_only_where_no_draw_fits() -> None:
    """Past ``MAX_UNIONS`` (14) malicious attackers the counting chain and the sampler, which
    count every set of them, are not taken: ``check`` accepts a server whose passwords the
    draws that follow each capture are sure to take (lingering ones login by login,
    ``next_request`` ones at the reads or, where sessions empty their slot, literally) and
    refuses, with one message, one where they could pass their limits: ten thousand times the
    attack on ``next_request`` passwords alone, a busy server over a year otherwise."""
    from sim.engines import EngineRefused, get_engine

    engine = get_engine("fast")
    total = sessions.MAX_UNIONS + 1
    for lingering, alone in ((False, True), (True, True), (False, False)):
        sc = past_unions(lingering)
        mail = sc.servers["mail"]
        if alone:
            mail = replace(mail, sessions=None)
        sc = replace(sc, servers={"mail": mail})
        engine.check(sc)
        if alone and not lingering:
            busy = replace(sc, attackers={n: replace(a, rate=a.rate * 10_000.0)
                                          for n, a in sc.attackers.items()})
        else:
            busy = replace(sc, servers={"mail": replace(
                mail, traffic=replace(mail.traffic, logins_per_s=50.0, requests_per_s=200.0),
                restart=replace(mail.restart, max_requests=None))},
                timeline=replace(sc.timeline, analysis_at=3e7))
        with pytest.raises(EngineRefused, match=f"{total} malicious attackers target it"):
            engine.check(busy)


def test_past_fourteen_lingering_passwords_run_wherever_the_reference_engine_does() -> None:
    """Past ``MAX_UNIONS`` lingering passwords are drawn login by login or not at all, so
    ``check`` bounds the logins that draw handles by the reference engine's budget, each
    login one of its events, over the attackers' windows' union. Until 2026-12-07 it bounded
    logins times attackers by 4,000,000 over the windows' sum: fifteen malicious attackers
    (sixteen in all) at 20 logins a second over two hours came to about 18.6 million,
    refused, where the draw handles 144,000 logins (times 16 attackers) and the reference
    engine runs it. At 300 logins a second both engines refuse."""
    from sim.engines import EngineRefused, get_engine
    from sim.engines.fast import passwords

    sc = past_unions(True)
    mail = sc.servers["mail"]

    def at(logins: float) -> Scenario:
        traffic = replace(mail.traffic, logins_per_s=logins, requests_per_s=logins + 5.0)
        return replace(sc, servers={"mail": replace(mail, traffic=traffic, sessions=None)})

    reference, engine = get_engine("reference"), get_engine("fast")
    reference.check(at(20.0))
    engine.check(at(20.0))

    calls = {"each": 0}
    with (forced(passwords, "sample_lingering", _no_unions),
          forced(passwords, "sample_passwords", _no_unions),
          forced(passwords, "sample_each_login", spied(calls, "each",
                                                       passwords.sample_each_login))):
        engine.simulate(at(20.0), np.random.SeedSequence(3))
    assert calls["each"] == 1
    for refusing in (reference, engine):
        with pytest.raises(EngineRefused):
            refusing.check(at(300.0))


def test_past_fourteen_passwords_beside_busy_sessions_are_drawn_at_the_reads() -> None:
    """Past ``MAX_UNIONS``, ``next_request`` passwords beside tokens kept five minutes on a
    server of 2,000 requests a second: drawing the slot literally could need 14.4 million
    requests a replication (about 5 million in the lifetimes the attack meets), past its
    4,000,000, so until 2026-12-07 ``check`` refused it; the slot drawn at the reads needs
    the attackers' connections and the logins near them, and takes it, never counting the
    unions. Since late on 2026-12-07 the shared path takes it first: nearly all of those
    requests are neither logins nor session requests, which it no longer lists; with that
    path's limit forced down (as on a server whose sessions are that busy), both kinds
    together where the reads look (``slot_takes.py``, since that day's last session, one
    counting set of every attacker), and past that draw's limits too, the slot at the
    reads."""
    from sim.engines import get_engine
    from sim.engines.fast import passwords, shared_buffer, slot_takes

    sc = past_unions(False)
    mail = sc.servers["mail"]
    assert mail.sessions is not None
    busy = replace(mail, traffic=replace(mail.traffic, requests_per_s=2000.0),
                   sessions=replace(mail.sessions, lifetime=300.0),
                   restart=replace(mail.restart, max_requests=None))
    sc = replace(sc, servers={"mail": busy})
    engine = get_engine("fast")
    engine.check(sc)
    calls = {"reads": 0, "shared": 0, "together": 0}
    with (forced(passwords, "sample_passwords", _no_unions),
          forced(passwords, "sample_slot_passwords", _no_unions),
          forced(fast, "sample_shared_buffer",
                 spied(calls, "shared", fast.sample_shared_buffer)),
          forced(fast, "sample_slot_takes", spied(calls, "together", fast.sample_slot_takes)),
          forced(passwords, "sample_slot_passwords_at_reads", spied(
              calls, "reads", passwords.sample_slot_passwords_at_reads))):
        engine.simulate(sc, np.random.SeedSequence(4))
        assert calls == {"reads": 0, "shared": 1, "together": 0}
        with forced(shared_buffer, "SHARED_LIMIT", -1.0):
            engine.simulate(sc, np.random.SeedSequence(4))
            assert calls == {"reads": 0, "shared": 1, "together": 1}
            with forced(slot_takes, "LOOKS_LIMIT", -1.0):
                engine.simulate(sc, np.random.SeedSequence(4))
    assert calls == {"reads": 1, "shared": 1, "together": 1}


def test_past_ten_next_request_passwords_beside_sessions_leave_the_chain() -> None:
    """Fourteen malicious attackers at 3,000 times their rates: the counting chain, which
    would count every set of them (17.7 s a replication when measured), is never taken; each
    replication draws the passwords with the sessions, on the shared path or at the reads
    (until 2026-12-07 the passwords took the literal draw of the slot alone, within 4,000,000
    draws, 0.43 s a replication)."""
    from sim.engines import get_engine
    from sim.engines.fast import passwords

    sc = many(False)
    sc = replace(sc, attackers={n: replace(a, rate=a.rate * 3000.0)
                                for n, a in sc.attackers.items()})
    calls = {"shared": 0, "reads": 0}
    with (forced(passwords, "sample_passwords", _no_unions),
          forced(fast, "sample_shared_buffer",
                 spied(calls, "shared", fast.sample_shared_buffer)),
          forced(fast, "sample_both_at_reads",
                 spied(calls, "reads", fast.sample_both_at_reads))):
        for i in range(2):
            get_engine("fast").simulate(sc, np.random.SeedSequence(1, spawn_key=(i,)))
    assert calls["shared"] + calls["reads"] == 2


@settings(max_examples=25, deadline=None)
@given(extra=st.integers(1, 4), rate=st.floats(0.0, 3.5), logins=st.floats(-1.0, 2.0),
       lingering=st.booleans(), with_sessions=st.booleans(), tokens_last=st.booleans(),
       longer=st.floats(0.0, 2.0), seed=st.integers(0, 2**16))
def test_past_fourteen_what_check_accepts_never_counts_the_unions(
        extra: int, rate: float, logins: float, lingering: bool, with_sessions: bool,
        tokens_last: bool, longer: float, seed: int) -> None:
    """``check``'s bounds hold what the replications do: past ``MAX_UNIONS`` malicious
    attackers, a scenario it accepts never reaches a draw that counts every set of them
    (the session unions, the password chain or sampler), whatever the attack's weight (rates
    times up to 3,000), the logins (times 0.1 to 100) and the timeline (up to 100 times as
    long after the attacks); ``tokens_last``: tokens kept five minutes beside
    ``next_request`` passwords."""
    from sim.engines import EngineRefused, get_engine
    from sim.engines.fast import passwords

    sc = many(lingering)
    malicious = [n for n, a in sc.attackers.items() if not a.benign]
    more = {f"more{i}": replace(sc.attackers[malicious[i % len(malicious)]], name=f"more{i}")
            for i in range(sessions.MAX_UNIONS + extra - len(malicious))}
    mail = sc.servers["mail"]
    if tokens_last and not lingering and mail.sessions is not None:
        mail = replace(mail, sessions=replace(mail.sessions, lifetime=300.0))
    traffic = replace(mail.traffic, logins_per_s=mail.traffic.logins_per_s * 10.0**logins,
                      requests_per_s=mail.traffic.requests_per_s * 10.0**max(logins, 0.0))
    sc = replace(sc, attackers={n: replace(a, rate=a.rate * 10.0**rate, presence=1.0)
                                for n, a in {**sc.attackers, **more}.items()},
                 servers={"mail": replace(mail, traffic=traffic,
                                          sessions=mail.sessions if with_sessions else None)},
                 timeline=replace(sc.timeline, analysis_at=sc.timeline.analysis_at * 10.0**longer))
    engine = get_engine("fast")
    try:
        engine.check(sc)
    except EngineRefused:
        return

    with (forced(sessions, "leak_means", _no_unions),
          forced(passwords, "sample_lingering", _no_unions),
          forced(passwords, "sample_passwords", _no_unions)):
        engine.simulate(sc, np.random.SeedSequence(seed))
