"""Sessions drawn where their copies are taken (``sim/engines/fast/token_takes.py``): the
``concurrent`` check beside tokens that outlive the next request, past the literal draw.

Its pieces against their laws (the count of taken copies given one, their request times),
then the whole draw through :func:`sample_sessions` against the literal draw of every
session, request and copy, which is exact given the skeleton: every session quantity,
what each binding check bought among them, on a server where the check passes about half
the time, with a duration and under ``next_handshake``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from test_fast_session_reads import compare
from test_fast_token_copies import LOGINS
from test_fast_token_copies import skeleton as copies_skeleton
from test_fast_token_means import worker_reads as reads_cases
from test_fast_token_means import workers as worker_sums

import agreement
from sim.engines import EngineRefused
from sim.engines.fast import sessions, token_copies, token_means, token_takes
from sim.engines.fast.password_chain import truncated_poisson_quantile
from sim.engines.fast.segments import Segment, WorkerLifetime
from sim.engines.fast.session_literal import SessionDraw, WorkerReads
from sim.engines.fast.sessions import sample_sessions
from sim.scenario.model import SessionSpec


@pytest.mark.parametrize("mean", [1e-12, 0.3, 4.0, 60.0])
def test_taken_copies_given_one_are_zero_truncated_poisson(mean: float) -> None:
    """The count of a captured session's taken copies (the chain's
    ``truncated_poisson_quantile``, here down to the tiny means of sessions read once):
    frequencies of 1, 2, ... against ``P(N = k | N >= 1)``, each within 4.4 standard errors
    (a family of at most 12 cells at 0.001 overall), and the mean."""
    rng = np.random.default_rng(5)
    n = 20_000
    got = truncated_poisson_quantile(np.full(n, mean), rng.random(n))
    assert got.min() >= 1
    k = np.arange(1, int(mean + 8 * math.sqrt(mean) + 10))
    want = stats.poisson.pmf(k, mean) / -math.expm1(-mean)
    for kk, p in zip(k, want):
        if p * n < 5:
            continue
        seen = float((got == kk).mean())
        assert abs(seen - p) <= 4.4 * math.sqrt(p * (1 - p) / n), (kk, seen, p)
    truth = mean / -math.expm1(-mean)
    assert abs(got.mean() - truth) <= 4.4 * math.sqrt(mean * (1 + mean) / n) + 1e-12


@pytest.mark.parametrize("delta", [0.0, 0.02])
def test_a_taken_copys_request_time_has_density_pi(delta: float) -> None:
    """Sessions valid on ``[u, e)`` across clears: ``F_w`` at the drawn request times, over
    ``F_w(u)``, is uniform (the probability integral transform; Kolmogorov-Smirnov)."""
    rng = np.random.default_rng(6)
    for w in worker_sums(delta):
        u = np.full(4_000, 20.0)
        e = np.full(4_000, 80.0)
        total = token_copies.exponent(w, u, e, delta)[:, 0]
        x = token_takes._request_times(w, delta, u, e, total, rng)
        assert ((x >= u) & (x <= e)).all()
        share = token_copies.exponent(w, x, e, delta)[:, 0] / total
        assert stats.kstest(share, "uniform").pvalue > 1e-3


#: Draws a side (each case prints what the comparison could see).
N = 1500


def draws(spec: SessionSpec, segs: list[Segment], lives: list[WorkerLifetime], workers: int,
          horizon: float, n: int, seed: int, path: str,
          monkeypatch: pytest.MonkeyPatch, cuts: tuple[float, ...] = ()) -> list[SessionDraw]:
    """``n`` draws of "literal" or "takes" (this module's path; with ``cuts``, the session
    log's instants, taken because the classes are made unable to time them)."""
    with monkeypatch.context() as m:
        m.setattr(sessions, "LITERAL_LIMIT", 1e12 if path == "literal" else -1.0)
        m.setattr(sessions, "MAX_TIMED_SETS", 0)
        sources = {a.name: 2 for s in segs for a in s.attackers}
        return [sample_sessions(spec, segs, lives, workers, 1, LOGINS, horizon, sources,
                                np.random.default_rng([seed, k]), server="web", cuts=cuts)
                for k in range(n)]


def checks_bought(drawn: list[SessionDraw]) -> list[SessionDraw]:
    """The same draws with what each binding check bought as per-attacker counts, so that
    :func:`compare` compares them too."""
    out = []
    for d in drawn:
        by_checks = d.hijacked_by_checks or (0, 0)
        extra = {f"checks {k}": n for k, n in enumerate(by_checks)}
        out.append(SessionDraw(d.total_leaked, d.total_hijacked,
                               {**d.leaked_by_attacker, **extra},
                               {**d.hijacked_by_attacker, **dict.fromkeys(extra, 0)},
                               d.reuses, d.hijacked_by_checks))
    return out


def skeleton(spec: SessionSpec) -> tuple[list[Segment], list[WorkerLifetime], int, float]:
    """``test_fast_token_copies.skeleton`` with the reader every four minutes and handshakes
    15 minutes apart, so that a captured copy can outlive the window."""
    return copies_skeleton(spec, 0.004, 900.0)


def count_takes(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How many draws take this path from now on (a spy on ``sessions.sample_takes``)."""
    taken = {"takes": 0}
    sample = sessions.sample_takes

    def spy(*args: object, **kwargs: object) -> SessionDraw:
        taken["takes"] += 1
        return sample(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(sessions, "sample_takes", spy)
    return taken


@pytest.mark.parametrize("lifetime", [300.0, "next_handshake"])
def test_the_concurrent_check_against_the_literal_draw(
        lifetime: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """:func:`skeleton`, quiet sessions (a request every 500 s) whose tokens stay five
    minutes on average (or until the next handshake), bound by address (shared 60% of the
    time) and concurrent use (a 200 s window). Every session quantity agrees, the hijacks
    with both checks and with the address check alone among them; and the comparison would
    see the check run wrong either way (every attempt blocked, or none)."""
    spec = SessionSpec(ttl=600.0, requests_per_s=0.002, lifetime=lifetime,  # type: ignore[arg-type]
                       binding=("ip", "concurrent"), shared_address_probability=0.6,
                       concurrent_window=200.0)
    segs, lives, workers, horizon = skeleton(spec)
    literal = checks_bought(draws(spec, segs, lives, workers, horizon, N, 1, "literal",
                                  monkeypatch))
    takes = checks_bought(draws(spec, segs, lives, workers, horizon, N, 2, "takes",
                                monkeypatch))
    failures, bounds = compare(literal, takes, 700.0)
    assert not failures, failures
    both, half = bounds["hijacked"]
    address, _ = bounds["checks 1 sessions"]
    print(f"hijacks {both:.4f} +- {half:.4f}; every attempt blocked 0, none {address:.4f}")
    assert both > half and address - both > half, "cannot see a wrong concurrent check"


def test_cuts_the_classes_cannot_time_take_this_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past :data:`.session_cuts.MAX_TIMED_SETS` (made 0 here) the classes would time the
    attempts by the capture profile (item 5 of ``docs/fast-engine.md``): this path is taken
    instead, and the attempts before the session log's cut at 700 s agree with the literal
    draw's, as does every other session quantity."""
    spec = SessionSpec(ttl=600.0, requests_per_s=0.01, lifetime=300.0, binding=("ip",),
                       shared_address_probability=0.3)
    segs, lives, workers, horizon = skeleton(spec)
    taken = count_takes(monkeypatch)
    literal = draws(spec, segs, lives, workers, horizon, N, 1, "literal", monkeypatch, (700.0,))
    assert taken["takes"] == 0
    takes = draws(spec, segs, lives, workers, horizon, N, 2, "takes", monkeypatch, (700.0,))
    assert taken["takes"] == N
    failures, _ = compare(literal, takes, 700.0)
    assert not failures, failures


def test_past_both_counts_this_path_comes_before_the_sweep(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Past both limits of the copies' counts given the reads (made 0 here) the integrated
    sweep would count the sessions as Poisson (items 3 to 5 of ``docs/fast-engine.md``): this
    path, exact, is taken instead while it fits, and the sweep past its limit too."""
    spec = SessionSpec(ttl=600.0, requests_per_s=0.01, lifetime=300.0, binding=("ip",))
    segs, lives, workers, horizon = skeleton(spec)
    monkeypatch.setattr(token_means, "COPIES_LIMIT", -1.0)
    monkeypatch.setattr(token_means, "MEANS_LIMIT", -1.0)
    monkeypatch.setattr(sessions, "LITERAL_LIMIT", -1.0)

    def path() -> str:
        return sessions.plan_sessions(spec, segs, lives, workers, LOGINS, horizon).path

    assert path() == "takes"
    monkeypatch.setattr(token_takes, "TAKES_LIMIT", -1.0)
    assert path() == "sweep"


def test_past_its_limit_the_scenario_is_refused_up_front(monkeypatch: pytest.MonkeyPatch) -> None:
    """The work is bounded from the scenario alone: past :data:`TAKES_LIMIT` the fast
    engine's ``check`` refuses (one message, before any work)."""
    from dataclasses import replace

    from test_session_binding import scenario

    sc = scenario(("ip", "concurrent"), concurrent_window=5.0)
    server = sc.servers["s"]
    assert server.sessions is not None
    quiet = replace(server, sessions=replace(server.sessions, lifetime=600.0,
                                             requests_per_s=0.001))
    sc = replace(sc, servers={"s": quiet})
    monkeypatch.setattr(sessions, "LITERAL_LIMIT", -1.0)
    sessions.refuse_session_checks(quiet, list(sc.attackers.values()), sc.horizon)
    monkeypatch.setattr(sessions, "TAKES_LIMIT", -1.0)
    with pytest.raises(EngineRefused, match="drawn where their copies are taken"):
        sessions.refuse_session_checks(quiet, list(sc.attackers.values()), sc.horizon)


@pytest.mark.slow
def test_drawn_where_taken_gives_the_literal_draws_outcomes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The agreement suite's ``binding`` with tokens kept five minutes
    (``agreement.lingering_binding``; ``concurrent`` can pass there), drawn literally as its
    light attacks are, and forced onto this path: every quantity of ``results.json``, P(any)
    and mean, including what each binding check bought, at the family's ``z``. Both runs are
    stored (``agreement.SIDE_RUNS``, ``binding-lingering`` and ``binding-lingering-takes``,
    60,000 replications each, independent seeds) and proved current on their first 1,000:
    the difference of two P(any) near 0.13 has a standard error of 0.19 points, so a bias
    of 1 point is caught at this family's ``z`` with probability above 0.8."""
    taken = count_takes(monkeypatch)
    sc = agreement.build("binding-lingering")
    agreement.outcomes("fast", sc, range(20), 1)
    assert taken["takes"] == 0  # drawn literally by itself
    agreement.takes_path_outcomes("fast", sc, range(20), 1)
    assert taken["takes"] == 20
    monkeypatch.undo()
    literal = agreement.load_fast("binding-lingering")
    takes = agreement.load_fast("binding-lingering-takes")
    pairs = agreement.compared("binding-lingering", takes, sorted(takes.sums), literal)
    failures = agreement.differences("binding-lingering", pairs)
    assert not failures, "\n".join(failures.values())
    hijacks = literal.sample("mail/session_hijack", "p_any").mean
    address = literal.sample("mail/session_hijack/checks/2", "p_any").mean
    assert 0.05 < hijacks < address - 0.05  # the concurrent check passes, and blocks


def test_check_says_how_the_concurrent_check_is_run() -> None:
    """``bleedsim check`` tells the reader which draw runs the check (``fast.plan``)."""
    from sim.engines.fast import plan

    assert ("mail: the concurrent check can pass here, so where the sessions are not drawn "
            "literally they are drawn where their token copies are taken, with the victims' "
            "requests in each window before a replay") in plan(agreement.lingering_binding())


@settings(max_examples=60, deadline=None)
@given(case=reads_cases(), seed=st.integers(0, 2**32 - 1))
def test_request_times_invert_f_and_first_takes_are_reads(
        case: tuple[list[WorkerReads], float, float, float, float], seed: int) -> None:
    """Whatever the reads (coinciding with each other and with clears): a taken copy's
    request time lies in its session's validity and solves ``F_w(x) = F_w(u) (1 - U)``, and
    every attacker's first take is one of its own reads at or after it."""
    reads, delta, ttl, horizon, _ = case
    for wk in reads:
        w = token_copies.prepare(wk, wk.read_q[:, None], delta)
        u = np.random.default_rng(seed).uniform(0.0, horizon, 50)
        e = np.minimum(u + ttl, horizon)
        total = token_copies.exponent(w, u, e, delta)[:, 0]
        taken = total > 1e-12
        u, e, total = u[taken], e[taken], total[taken]
        target = total * (1.0 - np.random.default_rng(seed + 1).random(u.size))
        x = token_takes._request_times(w, delta, u, e, total, np.random.default_rng(seed + 1))
        assert ((x >= u) & (x <= e)).all()
        np.testing.assert_allclose(token_copies.exponent(w, x, e, delta)[:, 0], target,
                                   rtol=1e-7, atol=1e-9 * ttl)
        first = np.full((u.size, 2), math.inf)
        token_takes._first_takes(w, wk, delta, x, e, np.arange(u.size), first, 2,
                                 np.random.default_rng(seed + 2))
        assert np.isfinite(first).any(axis=1).all()  # each copy is taken, by someone
        for a in range(2):
            mine = np.isfinite(first[:, a])
            assert np.isin(first[mine, a], wk.read_t[wk.read_who == a]).all()
            assert (first[mine, a] >= x[mine]).all() and (first[mine, a] < e[mine]).all()
