"""Passwords kept for a duration or until the next key operation beside ``next_request``
tokens, drawn with the tokens where the reads look (``sim/engines/fast/lingering_looks.py``),
against the shared buffer's draw of every request (``shared_buffer.py``), exact given the
skeleton, and at full power against the reference engine on stored runs (the last test).

Both take the same hand-made skeletons and independent seeds; each quantity's two means are
compared with the run's own standard error at the family ``z`` of all the quantities a test
compares (:func:`agreement.draws_compared`). What is compared is what item 14 of
``docs/fast-engine.md`` is about, beside each kind's counts: per attacker, a password and a
session taken together or one without the other, and the passwords' first captures before a
cut (the logins of ``reuse: [passwords]``). The skeletons reach what this draw does apart from
the draw at the reads: logins no look drew (a lifetime read long after it began), restarts
and a cold start, readers whose key operations clear a ``next_handshake`` password before
they read, and chances that differ by kind both ways.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from agreement import (
    compared,
    differences,
    forced,
    load_both,
    looks_path_cells,
    passwords_lasting,
    spied,
)
from test_fast_buffer_reads import Draw, compare, sees_apart
from test_fast_session_reads import LOGINS, segments, three_readers

import sim.engines.fast as fast_engine
from sim.engines.fast import lingering_looks
from sim.engines.fast.lingering_looks import (
    lingering_looks_fit,
    lingering_looks_work,
    sample_lingering_looks,
)
from sim.engines.fast.segments import AttackerRates, Segment, WorkerLifetime
from sim.engines.fast.session_slot import readable_lifetimes
from sim.engines.fast.shared_buffer import sample_shared_buffer
from sim.engines.fast.slot_looks import DrawnLogins
from sim.scenario.model import PasswordSpec, ResidencySpec, SessionSpec

SPEC = SessionSpec(ttl=600.0, requests_per_s=0.01, binding=("ip",),
                   shared_address_probability=0.3)


def draws(path: str, rule: ResidencySpec, segs: list[Segment], lives: list[WorkerLifetime],
          workers: int, horizon: float, n: int, seed: int, logins: float = LOGINS) -> list[Draw]:
    """``n`` draws of ``path``: "shared" (every request drawn) or "looks" (this module);
    ``logins`` per second on the server, as ``segs`` have them."""
    sources = {a.name: 2 for s in segs for a in s.attackers}
    rngs = (np.random.default_rng([seed, k]) for k in range(n))
    if path == "shared":
        touched = readable_lifetimes(segs, lives)
        return [sample_shared_buffer(SPEC, segs, touched, workers, horizon, sources, rng,
                                     server="web", reusing=None, password_lifetime=rule)
                for rng in rngs]  # type: ignore[misc]
    return [sample_lingering_looks(PasswordSpec(lifetime=rule), SPEC, segs, lives, workers,
                                   logins, horizon, sources, rng, server="web", reusing=None)
            for rng in rngs]


def with_handshakes(segs: list[Segment], rate: float) -> list[Segment]:
    return [s._replace(handshakes=rate) for s in segs]


def quiet(segs: list[Segment], workers: int, logins: float) -> list[Segment]:
    """``segs`` with ``logins`` per second on the server in place of :data:`LOGINS`, and the
    session requests that follow from them: few logins, so that one login's password and
    session are often the only ones a burst can take."""
    scale = logins / LOGINS
    return [s._replace(logins=logins / workers, session_requests=s.session_requests * scale,
                       requests=s.requests - (s.logins + s.session_requests) * (1.0 - scale))
            for s in segs]


#: Draws a side: a reader's P(password and session) near 0.2 is compared to within about
#: 0.03 at the family z, well inside the gaps drawing the kinds apart made (item 14: 0.02 to
#: 0.06 on ``choices``) only where this test's own check says it sees them.
N = 3000


@pytest.mark.parametrize("rule", [900.0, "next_handshake"])
def test_restarts_a_cold_start_and_three_readers(rule: ResidencySpec) -> None:
    """Three workers restarted inside the attack, an attack from 300 s inside the cold
    start's session ramp, two malicious readers and a benign one, with different chances for
    the two kinds, the light one making a key operation per connection (under
    ``next_handshake`` it clears the passwords before it reads): every count, joint and
    first capture before 700 s."""
    heavy = AttackerRates("eve", False, 0.03, 1, 0, 0.0, 0.5, 0.4)
    light = AttackerRates("mallory", False, 0.005, 2, 1, 0.0, 0.2, 0.5)
    scan = AttackerRates("scan", True, 0.005, 1, 0, 0.0, 0.5, 0.5)
    horizon, workers = 2000.0, 3
    segs, lives = three_readers(SPEC, (heavy, light, scan), horizon)
    segs = with_handshakes(segs, 0.002)
    shared = draws("shared", rule, segs, lives, workers, horizon, N, 1)
    looks = draws("looks", rule, segs, lives, workers, horizon, N, 2)
    failures, _ = compare(shared, looks, 700.0)
    assert not failures, failures


@pytest.mark.parametrize("rule", [900.0, "next_handshake"])
def test_a_burst_long_after_the_restart_reads_logins_no_look_drew(rule: ResidencySpec) -> None:
    """Two workers up since 0, one login in 1,000 s, two readers sending a burst of
    connections from 2000 s to 2010 s, one likelier to take a token than a password and one
    the other way round: the passwords of the logins from 0 to 1400 s, which no look reaches
    (the looks draw the logins of a ``ttl`` before each), come from the Poisson stream drawn
    apart, and those of the ``ttl`` before from the looks' own logins. Drawn apart, each kind
    from its own margin, the joint would be the product of the margins: the comparison sees
    that."""
    readers = (AttackerRates("eve", False, 0.5, 1, 0, 0.0, 0.3, 0.6),
               AttackerRates("mallory", False, 0.2, 1, 0, 0.0, 0.7, 0.2))
    horizon, workers, logins = 3000.0, 2, 0.001
    segs = quiet(with_handshakes(segments(SPEC, workers, (2000.0, 2010.0), horizon, readers,
                                          hot=1), 0.0005), workers, logins)
    lives = [WorkerLifetime(w, 0.0, horizon, False) for w in range(workers)]
    shared = draws("shared", rule, segs, lives, workers, horizon, N, 3, logins)
    looks = draws("looks", rule, segs, lives, workers, horizon, N, 4, logins)
    failures, bounds = compare(shared, looks, 2005.0)
    assert not failures, failures
    assert sees_apart(bounds), "cannot see the kinds drawn apart"


def test_taken_beside_next_request_tokens_within_its_limit(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Lingering passwords beside ``next_request`` tokens, without ``max_requests`` and
    without a ``concurrent`` check only the literal draw can run, within the arrays' limit,
    which every connection read and the logins count toward; not otherwise."""
    readers = (AttackerRates("eve", False, 0.5, 1, 0, 0.0, 0.3, 0.6),)
    segs = segments(SPEC, 2, (2000.0, 2010.0), 3000.0, readers, hot=1)
    lives = [WorkerLifetime(w, 0.0, 3000.0, False) for w in range(2)]

    def fit(passwords: PasswordSpec = PasswordSpec(lifetime=900.0), tokens: SessionSpec = SPEC,
            max_requests: int | None = None, blocks: bool = False) -> bool:
        return lingering_looks_fit(passwords, tokens, segs, lives, 2, LOGINS, blocks,
                                   max_requests)

    assert fit() and fit(PasswordSpec(lifetime="next_handshake"))
    assert not fit(PasswordSpec(lifetime="next_request"))  # both in the slot: buffer_reads
    assert not fit(tokens=replace(SPEC, lifetime=300.0))  # both linger: login_pairs
    assert not fit(max_requests=80)
    concurrent = replace(SPEC, binding=("ip", "concurrent"))
    assert not fit(tokens=concurrent) and fit(tokens=concurrent, blocks=True)
    # 10 connections a second for 10 s on 2 workers, the logins of the 10 s read and the ttl
    # before it on the server, and those of both lifetimes up to the attack's end
    work = lingering_looks_work(PasswordSpec(lifetime=900.0), SPEC, segs, lives, 2, LOGINS,
                                False, None)
    assert work == pytest.approx(10.0 + LOGINS * 610.0 + LOGINS / 2 * 2 * 2010.0)
    monkeypatch.setattr(lingering_looks, "LOOKS_LIMIT", work - 1.0)
    assert not fit()


def test_the_stored_joint_run_takes_this_draw() -> None:
    """``joint-choices-passwords-900s-looks`` (``test_fast_joint_captures.py``) holds this draw:
    with the shared buffer's draw off, every server replication of its scenario takes it."""
    calls = {"drawn": 0}
    with forced(fast_engine, "sample_lingering_looks",
                spied(calls, "drawn", fast_engine.sample_lingering_looks)):
        looks_path_cells("fast", passwords_lasting(900.0)(), range(40), 3)
    assert calls["drawn"] == 40


@pytest.mark.slow
def test_every_quantity_agrees_with_the_reference_at_full_power() -> None:
    """``agreement.passwords_lasting(900)`` (``choices`` with passwords kept 15 minutes, one
    login in 1,000 s, no ``max_requests``) with the shared buffer's draw off, so that this
    draw takes every server replication: every quantity of ``results.json`` the suite
    extracts, at the family's ``z``, on stored runs (``looks-lingering``, 40,000 replications
    a side, each proved current on its first ones). The server's P(any password) near 0.67
    differs with a standard error of 0.33 points, P(any session) near 0.12 with 0.23: a bias
    of 1.4 points near one half is caught with probability 0.8."""
    fast_run, reference = load_both("looks-lingering")
    pairs = compared("looks-lingering", fast_run, sorted(fast_run.sums), reference)
    failures = differences("looks-lingering", pairs)
    assert not failures, "\n".join(failures.values())


def test_on_the_skeletons_logins_beside_max_requests() -> None:
    """Beside ``max_requests`` the skeleton draws the logins of lingering passwords
    (:mod:`.login_timeline`); with the shared buffer's draw off, this draw takes them, every
    login known (nothing left to draw) and each lifetime's connections given its count."""
    calls: list[bool] = []
    real = fast_engine.sample_lingering_looks

    def spy(*args: object, **kwargs: object) -> object:
        calls.append(kwargs["known"] is not None and kwargs["max_requests"] is not None)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    with forced(fast_engine, "sample_lingering_looks", spy):
        looks_path_cells("fast", passwords_lasting(900.0, counted=True)(), range(40), 3)
    assert calls == [True] * 40


def test_known_logins_leave_nothing_to_draw() -> None:
    """Logins the skeleton drew are every login: the looks draw none (``cover``) and the
    passwords find no stretch undrawn."""
    t, at = np.array([5.0, 20.0, 31.0]), np.array([0, 1, 0])
    drawn = DrawnLogins.every(t, at, 2, 100.0, np.random.default_rng(1))
    assert drawn.cover(np.array([0.0, 40.0]), np.array([30.0, 99.0])) is None
    assert drawn.t.tolist() == [5.0, 20.0, 31.0]
    assert drawn.undrawn(0.0, 100.0)[0].size == 0
    fresh = DrawnLogins(0.5, 2, 100.0, np.random.default_rng(1))
    fresh.cover(np.array([10.0]), np.array([30.0]))
    start, length = fresh.undrawn(0.0, 100.0)
    assert start.tolist() == [0.0, 30.0] and length.tolist() == [10.0, 70.0]
