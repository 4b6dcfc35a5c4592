"""Passwords and sessions drawn together where the reads look (``sim/engines/fast/
buffer_reads.py``), one look at a time (``session_reads.py``) and with arrays
(``slot_looks.py``), against the shared buffer's draw of every request (``shared_buffer.py``),
which is exact given the skeleton.

Both take the same hand-made skeletons; the draws are independent, so each quantity's two
means are compared with the run's own standard error, at the family ``z`` of all the
quantities a test compares (:func:`agreement.family_z`: a correct path fails a test with
probability 1%; at ``Z_CHECK`` each, about 70 correlated quantities failed one draw in a few
dozen). What is compared is what
item 14 of ``docs/fast-engine.md`` is about, beside each kind's counts: per attacker, a
password and a session taken together or one without the other, and the passwords' first
captures before a cut (when ``reuse: [passwords]`` logs in). The readers' chances differ by
kind in both directions, so the thinning of a candidate by its kind's share is exercised.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from agreement import draws_compared, family_z
from test_fast_session_reads import LOGINS, segments, three_readers

from sim.engines.fast import sessions, shared_buffer, slot_looks
from sim.engines.fast.buffer_reads import (
    ELSEWHERE,
    ReadsPlan,
    plan_reads,
    sample_benign_alone,
    sample_both_at_reads,
)
from sim.engines.fast.password_chain import PasswordDraw
from sim.engines.fast.segments import AttackerRates, Segment, WorkerLifetime
from sim.engines.fast.session_literal import SessionDraw
from sim.engines.fast.session_reads import found_at_reads
from sim.engines.fast.session_slot import DRAWN_LIMIT, literal_cost, readable_lifetimes
from sim.engines.fast.shared_buffer import sample_shared_buffer, shared_lifetimes
from sim.engines.fast.slot_looks import DrawAtReads, looked_at_reads
from sim.scenario.model import PasswordSpec, SessionSpec

Draw = tuple[PasswordDraw, SessionDraw]
PASSWORDS = PasswordSpec(lifetime="next_request")


#: The two draws at the reads, each against the literal draw; with arrays also where a look's
#: first stretch is short enough (a twentieth of a request expected) that most looks widen
#: (on the skeleton with restarts and a cold start, where looks reach back to both).
AT_READS = {"one look at a time": found_at_reads, "arrays": looked_at_reads,
            "arrays, widened": looked_at_reads}


def at_reads(draw: str, monkeypatch: pytest.MonkeyPatch) -> DrawAtReads:
    if draw.endswith("widened"):
        monkeypatch.setattr(slot_looks, "LOOK_REQUESTS", 0.05)
    return AT_READS[draw]


def draws(spec: SessionSpec, segs: list[Segment], lives: list[WorkerLifetime], workers: int,
          horizon: float, n: int, seed: int, draw: DrawAtReads | None) -> list[Draw]:
    """``n`` draws at the reads with ``draw``; None: the literal draw, kept by its seed for
    the next test that asks for it (each test's skeleton has a seed of its own)."""
    sources = {a.name: 2 for s in segs for a in s.attackers}
    if draw is not None:
        return [sample_both_at_reads(draw, spec, segs, lives, workers, LOGINS, horizon, sources,
                                     np.random.default_rng([seed, k]), server="web",
                                     reusing=None)
                for k in range(n)]
    if (seed, n) not in _LITERAL:
        touched = readable_lifetimes(segs, lives)
        _LITERAL[seed, n] = [
            sample_shared_buffer(spec, segs, touched, workers, horizon, sources,
                                 np.random.default_rng([seed, k]), server="web", reusing=None)
            for k in range(n)]
    return _LITERAL[seed, n]


_LITERAL: dict[tuple[int, int], list[Draw]] = {}


def quantities(d: Draw, cut: float) -> dict[str, float]:
    """What the results read of one draw, and each attacker's joint of the two kinds."""
    pw, ss = d
    out: dict[str, float] = {"passwords": pw.total, "sessions": ss.total_leaked,
                             "hijacked": ss.total_hijacked}
    for name, n in ss.leaked_by_attacker.items():
        p = pw.by_attacker[name]
        out[f"{name} passwords"] = p
        out[f"{name} sessions"] = n
        out[f"{name} hijacks"] = ss.hijacked_by_attacker[name]
        out[f"{name} password and session"] = float(p > 0 and n > 0)
        out[f"{name} password, no session"] = float(p > 0 and n == 0)
        out[f"{name} session, no password"] = float(p == 0 and n > 0)
        out[f"{name} passwords first taken before {cut:g}"] = int(
            (pw.capture_times[name] < cut).sum())
    out.update({f"{q} none": float(v == 0) for q, v in list(out.items())
                if " and " not in q and ", no " not in q})
    return out


def compare(literal: list[Draw], reads: list[Draw],
            cut: float) -> tuple[list[str], dict[str, tuple[float, float]]]:
    """Every quantity's means compared at the family ``z`` (:func:`agreement.draws_compared`)."""
    return draws_compared([quantities(d, cut) for d in literal],
                          [quantities(d, cut) for d in reads])


def sees_apart(bounds: dict[str, tuple[float, float]], name: str = "eve") -> bool:
    """Whether a comparison (:func:`compare`'s bounds) would see ``name``'s two kinds drawn
    apart, each from its own margin: the joint would then be the product of the margins."""
    both, half = bounds[f"{name} password and session"]
    none = (bounds[f"{name} passwords none"][0], bounds[f"{name} sessions none"][0])
    return abs((1.0 - none[0]) * (1.0 - none[1]) - both) > half


#: Draws a side: a reader's chance of both kinds is compared to within about 0.02.
BURST = 4000


@pytest.mark.parametrize("draw", ["one look at a time", "arrays"])
def test_a_burst_of_reads_takes_both_kinds_as_the_buffer_holds_them(
        draw: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two workers, a slot emptied about every 27 s, two readers sending a burst of
    connections for 5 s, one likelier to take a token than a password and one the other way
    round: their captures come a second apart and find the same password or token again, and
    a read finds one kind or the other, never both, so one reader seldom takes both."""
    spec = SessionSpec(ttl=600.0, requests_per_s=0.002, binding=("ip",),
                       shared_address_probability=0.3)
    readers = (AttackerRates("eve", False, 1.5, 1, 0, 0.0, 0.3, 0.6),
               AttackerRates("mallory", False, 0.5, 1, 0, 0.0, 0.7, 0.2))
    horizon, workers = 3000.0, 2
    segs = segments(spec, workers, (2000.0, 2005.0), horizon, readers, hot=1)
    lives = [WorkerLifetime(w, 0.0, horizon, False) for w in range(workers)]
    literal = draws(spec, segs, lives, workers, horizon, BURST, 1, None)
    reads = draws(spec, segs, lives, workers, horizon, BURST, 2, at_reads(draw, monkeypatch))
    failures, bounds = compare(literal, reads, 2002.0)
    assert not failures, failures
    assert sees_apart(bounds), "cannot see the kinds drawn apart"


#: Draws a side for the busier case.
BUSY = 1500


@pytest.mark.parametrize("draw", AT_READS)
def test_restarts_a_cold_start_and_three_readers(
        draw: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Three workers restarted inside the attack, an attack from 300 s inside the cold
    start's session ramp, two malicious readers and a benign one, with different chances for
    the two kinds: every count, joint and first capture before 700 s."""
    spec = SessionSpec(ttl=600.0, requests_per_s=0.01, binding=("ip",),
                       shared_address_probability=0.3)
    heavy = AttackerRates("eve", False, 0.03, 1, 0, 0.0, 0.5, 0.4)
    light = AttackerRates("mallory", False, 0.005, 2, 0, 0.0, 0.2, 0.5)
    scan = AttackerRates("scan", True, 0.005, 1, 0, 0.0, 0.5, 0.5)
    horizon, workers = 2000.0, 3
    segs, lives = three_readers(spec, (heavy, light, scan), horizon)
    literal = draws(spec, segs, lives, workers, horizon, BUSY, 3, None)
    reads = draws(spec, segs, lives, workers, horizon, BUSY, 4, at_reads(draw, monkeypatch))
    failures, _ = compare(literal, reads, 700.0)
    assert not failures, failures
    # The benign reader drawn at its own reads alone, as where the server's readers are too
    # many for this path: its margins are the same.
    alone = np.array([sample_benign_alone("scan", AT_READS[draw], spec, segs, lives, workers,
                                          LOGINS, horizon, np.random.default_rng([5, k]))
                      for k in range(BUSY)])
    z = family_z(4)
    for j, kind in enumerate(("passwords", "sessions")):
        truth = np.array([quantities(d, 700.0)[f"scan {kind}"] for d in literal])
        for label, f in (("mean", lambda x: x), ("P(any)", lambda x: (x > 0).astype(float))):
            x, y = f(truth), f(alone[:, j].astype(float))
            half = z * math.sqrt(x.var(ddof=1) / x.size + y.var(ddof=1) / y.size)
            print(f"scan alone {kind} {label}: literal {x.mean():.4f}, alone {y.mean():.4f} "
                  f"+- {half:.4f}")
            assert abs(y.mean() - x.mean()) <= half


def test_taken_past_the_shared_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the shared buffer's path (the caller's first), the cheaper of the two draws at the
    reads within their limits (one look at a time: the candidates; with arrays: the
    candidates and the logins), whether or not the sessions alone would be drawn literally
    (until 2026-12-07 they were, apart from the passwords); past both, neither; never where
    only the literal draw can run a ``concurrent`` check."""
    spec = SessionSpec(ttl=600.0, requests_per_s=0.002, binding=("ip",))
    readers = (AttackerRates("eve", False, 1.5, 1, 0, 0.0, 0.3, 0.6),)
    segs = segments(spec, 2, (2000.0, 2020.0), 3000.0, readers, hot=1)
    plan = lambda: plan_reads(PASSWORDS, spec, segs, 2, LOGINS, False)  # noqa: E731
    assert sessions.literal_sessions(spec, segs, 2, LOGINS, False)
    # eve's 36 candidates cost more one look at a time than with the 6.2 logins the arrays
    # draw (20 s read, 600 s before it, on the server)
    assert plan() == ReadsPlan(looked_at_reads, ())
    concurrent = replace(spec, binding=("ip", "concurrent"))
    assert plan_reads(PASSWORDS, concurrent, segs, 2, LOGINS, False) == ELSEWHERE
    assert plan_reads(PASSWORDS, concurrent, segs, 2, LOGINS, True) == ReadsPlan(
        looked_at_reads, ())
    monkeypatch.setattr(sessions, "LITERAL_LIMIT", -1.0)
    assert plan() == ReadsPlan(looked_at_reads, ())
    assert plan_reads(PasswordSpec(lifetime=900.0), spec, segs, 2, LOGINS, False) == ELSEWHERE
    monkeypatch.setattr(slot_looks, "ONE_LOOK_COST", 1e-6)
    assert plan() == ReadsPlan(found_at_reads, ())
    monkeypatch.setattr(slot_looks, "CANDIDATE_LIMIT", 10.0)  # past it: the arrays
    assert plan() == ReadsPlan(looked_at_reads, ())
    # the arrays draw the logins of the 20 s read and of the ttl before: they count too
    monkeypatch.setattr(slot_looks, "LOOKS_LIMIT", 36.0 + 0.5 * LOGINS * (20.0 + 600.0))
    assert plan() == ELSEWHERE
    monkeypatch.setattr(slot_looks, "CANDIDATE_LIMIT", 5_000.0)  # within it, whatever the cost
    monkeypatch.setattr(slot_looks, "ONE_LOOK_COST", 1.0)
    assert plan() == ReadsPlan(found_at_reads, ())


def test_benign_readers_are_drawn_alone_where_the_server_is_not(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the candidates' limit a benign reader whose own candidates are few enough is drawn
    alone (the sweep and the chain take the rest), with the draw its own candidates call for;
    a malicious one never is, and where the sessions are drawn literally or at the reads
    nobody is."""
    spec = SessionSpec(ttl=600.0, requests_per_s=0.002, binding=("ip",))
    readers = (AttackerRates("eve", False, 1.5, 1, 0, 0.0, 0.3, 0.6),
               AttackerRates("scan", True, 0.05, 1, 0, 0.0, 0.3, 0.6))
    segs = segments(spec, 2, (2000.0, 2020.0), 3000.0, readers, hot=1)
    assert plan_reads(PASSWORDS, spec, segs, 2, LOGINS, False).alone == ()  # literal
    monkeypatch.setattr(sessions, "LITERAL_LIMIT", -1.0)
    assert plan_reads(PASSWORDS, spec, segs, 2, LOGINS, False).alone == ()  # at the reads
    # eve's 36 candidates, scan's 1.2, and 12.4 logins (20 s read, 600 s before it)
    monkeypatch.setattr(slot_looks, "CANDIDATE_LIMIT", 10.0)
    monkeypatch.setattr(slot_looks, "LOOKS_LIMIT", 20.0)
    assert plan_reads(PASSWORDS, spec, segs, 2, LOGINS, False) == ReadsPlan(
        None, (("scan", found_at_reads),))
    monkeypatch.setattr(slot_looks, "CANDIDATE_LIMIT", 1.0)
    assert plan_reads(PASSWORDS, spec, segs, 2, LOGINS, False).alone == (
        ("scan", looked_at_reads),)
    monkeypatch.setattr(slot_looks, "LOOKS_LIMIT", 1.0)
    assert plan_reads(PASSWORDS, spec, segs, 2, LOGINS, False).alone == ()


def one_reader(
    until: float, horizon: float,
) -> tuple[SessionSpec, list[Segment], list[WorkerLifetime], list[WorkerLifetime]]:
    """Two workers never restarted, a reader from 2000 s to ``until`` and sessions that empty
    the slot: the sessions, segments, lifetimes and those an attacker reads."""
    spec = SessionSpec(ttl=600.0, requests_per_s=0.002, binding=("ip",))
    readers = (AttackerRates("eve", False, 1.5, 1, 0, 0.0, 0.3, 0.6),)
    segs = [s._replace(session_rate=spec.requests_per_s / 2)
            for s in segments(spec, 2, (2000.0, until), horizon, readers, hot=1)]
    lives = [WorkerLifetime(w, 0.0, horizon, False) for w in range(2)]
    return spec, segs, lives, readable_lifetimes(segs, lives)


def test_the_shared_path_runs_as_far_as_the_literal_sessions(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The shared buffer's literal draw of both kinds is taken wherever the sessions alone
    would be drawn literally and its own draws fit ``SHARED_LIMIT``, the literal session
    draw's limit; until 2026-12-07 it stopped at the passwords' literal draw's 20,000
    (``session_slot.DRAWN_LIMIT``), and the two kinds were drawn apart past it. Where only the
    literal draw can run a ``concurrent`` check, as far as that draw goes."""
    spec, segs, lives, touched = one_reader(20_000.0, 30_000.0)
    assert literal_cost(spec, segs, touched, 2) > DRAWN_LIMIT  # 54,000 reads
    shared = lambda s, blocks: shared_lifetimes(  # noqa: E731
        PASSWORDS, s, segs, lives, 2, LOGINS, blocks)
    assert sessions.literal_sessions(spec, segs, 2, LOGINS, False)
    assert shared(spec, False) == touched
    monkeypatch.setattr(shared_buffer, "SHARED_LIMIT", DRAWN_LIMIT)
    assert shared(spec, False) is None
    concurrent = replace(spec, binding=("ip", "concurrent"))
    assert shared(concurrent, False) == touched  # the literal draw's 4,000,000
    assert shared(concurrent, True) is None  # the check provably never passes


def test_the_shared_path_takes_lingering_passwords_beside_the_slot(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Passwords kept for a duration or until the next key operation beside ``next_request``
    tokens take the shared path (their only draw together with the tokens) where the
    sessions are drawn literally; not beside tokens that outlive the next request (drawn with
    them login by login, ``login_pairs.py``). Beside ``max_requests`` only on the logins the
    skeleton drew (``known``), where each lifetime is drawn given its count (before
    2026-12-07 late never: the lingering path read it so), a ``concurrent`` check included
    (``checked_lifetimes`` draws the victims' requests around), and only within the path's
    bounds: the skeleton drew those logins for the lingering path, whatever this path's
    cost."""
    spec, segs, lives, touched = one_reader(2020.0, 3000.0)

    def shared(passwords: PasswordSpec, tokens: SessionSpec = spec,
               max_requests: int | None = None,
               known: bool = False) -> list[WorkerLifetime] | None:
        return shared_lifetimes(passwords, tokens, segs, lives, 2, LOGINS, False, known,
                                max_requests=max_requests)

    kept = PasswordSpec(lifetime=900.0)
    assert shared(kept) == touched
    assert shared(kept, max_requests=80) is None
    assert shared(kept, max_requests=80, known=True) == touched
    assert shared(kept, replace(spec, binding=("ip", "concurrent")), 80, known=True) == touched
    assert shared(PasswordSpec(lifetime="next_handshake")) == touched
    assert shared(kept, replace(spec, lifetime=300.0)) is None
    monkeypatch.setattr(shared_buffer, "SHARED_LIMIT", 10.0)
    assert shared(kept, max_requests=80, known=True) is None


def test_where_every_other_draw_takes_the_kinds_apart_the_shared_path_needs_no_literal_sessions(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Lingering passwords beside ``next_request`` tokens, and ``next_request`` passwords
    beside tokens that outlive the next request, have no draw together but the shared one:
    since 2026-12-07 (late) it takes them within its own bounds even where the sessions alone
    would not be drawn literally (beside sessions long against the attack the literal draw
    counts the sessions opened a ``ttl`` on each side of it, this one only those that can
    send into a lifetime an attacker reads). Both kinds in one slot still go to the draw at
    the reads, exact and cheaper."""
    spec, segs, lives, touched = one_reader(2020.0, 3000.0)
    monkeypatch.setattr(sessions, "LITERAL_LIMIT", -1.0)
    assert not sessions.literal_sessions(spec, segs, 2, LOGINS, False)

    def shared(passwords: PasswordSpec, tokens: SessionSpec) -> list[WorkerLifetime] | None:
        return shared_lifetimes(passwords, tokens, segs, lives, 2, LOGINS, False)

    kept, lasting = PasswordSpec(lifetime=900.0), replace(spec, lifetime=300.0)
    assert shared(kept, spec) == touched
    assert shared(PasswordSpec(lifetime="next_handshake"), spec) == touched
    assert shared(PASSWORDS, lasting) == touched
    assert shared(PASSWORDS, spec) is None
    assert plan_reads(PASSWORDS, spec, segs, 2, LOGINS, False).draw is not None
    assert shared(kept, lasting) is None  # both linger: login by login (login_pairs.py)
    monkeypatch.setattr(shared_buffer, "SHARED_LIMIT", 10.0)
    assert shared(kept, spec) is None and shared(PASSWORDS, lasting) is None


def test_the_unlisted_requests_empty_the_slot_as_listed_ones_would() -> None:
    """The shared buffer's draw without ``max_requests`` no longer lists the requests that are
    neither logins nor session requests (Poisson, rule 18): at each read, whether one came
    since the newest listed request is an exponential of their integrated rate, one per
    listed request a read follows (``shared_buffer._unless_other``). Against listing them
    (``session_slot.other_requests``) at two rates, over two listed requests and six reads
    (three after each, so a read's outcome bounds the next one's): the joint law of which
    reads still find the listed request, 20,000 draws a side, chi-square at 0.001 (p 0.45).
    Drawing a fresh exponential per read instead (each margin exact, the reads after one
    request independent), or at the two pieces' mean rate, is off there at p below 1e-300."""
    from scipy.stats import chi2_contingency

    from sim.engines.fast.session_slot import other_hazard, other_requests

    segs = [Segment(0.0, 100.0, True, 0.03, 0.005, 0.005, 0.0, 0.0),
            Segment(100.0, 300.0, True, 0.015, 0.005, 0.005, 0.0, 0.0)]
    lt = WorkerLifetime(0, 0.0, 300.0, False)
    times = np.array([10.0, 150.0])
    t = np.array([50.0, 120.0, 140.0, 160.0, 250.0, 290.0])
    newest = np.searchsorted(times, t) - 1
    hazard = other_hazard(segs)
    n, weights = 20_000, 2 ** np.arange(t.size)
    rng = np.random.default_rng(5)
    drawn = np.array([weights @ (shared_buffer._unless_other(newest, times, t, hazard, rng) >= 0)
                      for _ in range(n)])
    listed = []
    for _ in range(n):
        other = np.sort(other_requests(lt, segs, rng))
        newer = np.searchsorted(other, t) > np.searchsorted(other, times[newest])
        listed.append(weights @ ~newer)
    table = np.array([np.bincount(drawn, minlength=64), np.bincount(listed, minlength=64)])
    assert chi2_contingency(table[:, table.sum(axis=0) > 0])[1] > 0.001
    # each read's margin is the Poisson one: no unlisted request in (times[k], t)
    still = (drawn[:, None] & weights) > 0
    exact = np.exp(-(hazard(t) - hazard(times[newest])))
    assert np.all(np.abs(still.mean(axis=0) - exact) <= 4 * np.sqrt(exact * (1 - exact) / n))
