"""A lifetime's counted legitimate requests shared out among sessions
(``sim/engines/fast/request_shares.py``) and the class per login that reads them
(``token_copies.ClassTally``).

The sharing must have the multinomial law whatever order the sessions come in, and a session
holding ``R`` of the requests must escape each counting set with chance ``(1 - x / o)^R``, ``x``
the integral of its copies' capture chance over its part of the lifetime and ``o`` the part's
length (each request uniform there). Both are checked against their definitions: the law by
chi-square against the binomial margins and the cells' covariance, the chance against the
integral written out read by read (quadrature).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats
from agreement import SCENARIOS, forced, outcomes
from test_fast_token_copies import copy_chance

import sim.engines.fast as fast
from sim.engines.fast import request_shares, token_copies
from sim.engines.fast.request_shares import RequestShares
from sim.engines.fast.segments import KnownLogins, WorkerLifetime
from sim.engines.fast.session_literal import WorkerReads
from sim.scenario.model import SessionSpec


def lifetime(start: float, end: float, requests: float) -> WorkerLifetime:
    """A lifetime whose legitimate requests (logins aside) have integrated rate ``requests``."""
    lt = WorkerLifetime(0, start, end, False, "max_requests")
    lt.logins = KnownLogins(np.zeros(0), requests, 0.0)
    return lt


def joined(batches: Iterable[tuple[np.ndarray, ...]]) -> tuple[np.ndarray, ...]:
    """:meth:`RequestShares.pieces`' batches as one."""
    cut = list(batches)
    return tuple(np.concatenate([b[i] for b in cut]) if cut else np.zeros(0, dtype=int)
                 for i in range(4))


def test_the_parts_are_the_sessions_inside_each_lifetime() -> None:
    shares = RequestShares([lifetime(0.0, 10.0, 1.0), lifetime(10.0, 25.0, 1.0),
                            lifetime(30.0, 40.0, 1.0)], [1, 1, 1])
    rows, which, a, b = joined(shares.pieces(np.array([5.0, 26.0, 12.0, 41.0]),
                                             np.array([35.0, 29.0, 13.0, 50.0])))
    np.testing.assert_array_equal(rows, [0, 0, 0, 2])
    np.testing.assert_array_equal(which, [0, 1, 2, 1])
    np.testing.assert_array_equal(a, [5.0, 10.0, 30.0, 12.0])
    np.testing.assert_array_equal(b, [10.0, 25.0, 35.0, 13.0])


@settings(max_examples=300, deadline=None, derandomize=True)
@given(ends=st.lists(st.floats(0.5, 20.0), max_size=12), read=st.lists(st.booleans(), max_size=12),
       sessions=st.lists(st.tuples(st.floats(-5.0, 120.0), st.floats(0.0, 40.0)), max_size=12),
       read_only=st.booleans(), batch=st.integers(1, 30), columns=st.integers(1, 4))
def test_the_parts_in_batches_are_every_part_by_definition(
        ends: list[float], read: list[bool], sessions: list[tuple[float, float]],
        read_only: bool, batch: int, columns: int) -> None:
    """Joined, the batches are each session's part in each (read) lifetime it meets, in the
    sessions' order then the lifetimes'; each batch cuts at most ``PIECES_BATCH`` numbers,
    ``columns`` a part, but where one session alone has more."""
    bounds = np.concatenate([[0.0], np.cumsum(ends)])
    lives = [lifetime(s, t, 1.0) for s, t in zip(bounds[:-1], bounds[1:])]
    read = (read + [True] * len(lives))[:len(lives)]
    u = np.array([s for s, _ in sessions])
    e = u + np.array([d for _, d in sessions])
    shares = RequestShares(lives, [1] * len(lives), read)
    with forced(request_shares, "PIECES_BATCH", batch):
        batches = list(shares.pieces(u, e, read_only=read_only, columns=columns))
    want = [(i, j, max(u[i], lt.start), min(e[i], lt.end)) for i in range(u.size)
            for j, lt in enumerate(lives)
            if min(e[i], lt.end) > max(u[i], lt.start) and (read[j] or not read_only)]
    for got, column in zip(joined(batches), zip(*want) if want else [()] * 4):
        np.testing.assert_array_equal(got, np.array(column))
    for rows, *_ in batches:
        assert rows.size <= max(1, batch // columns) or np.unique(rows).size == 1


def test_drawn_in_two_calls_the_shares_are_one_multinomial() -> None:
    """30 requests of integrated rate 60 in one lifetime; three sessions of rates 10 and 20
    (one call) then 15 (a later call): their counts must be Multinomial(30; 1/6, 1/3, 1/4,
    1/4). Drawing the third from what is left without taking the first two's rate away would
    give it 30 - R1 - R2 trials at 1/4, mean 3.75 instead of 7.5."""
    rng = np.random.default_rng(7)
    n, total = 20_000, 30
    p = np.array([10.0, 20.0, 15.0]) / 60.0
    counts = np.empty((n, 3), dtype=np.int64)
    for i in range(n):
        shares = RequestShares([lifetime(0.0, 100.0, 60.0)], [total])
        counts[i, :2] = shares.draw(np.array([0, 0]), np.array([10.0, 20.0]), rng)
        counts[i, 2] = shares.draw(np.array([0]), np.array([15.0]), rng)[0]
    for cell, pc in [(counts[:, 0], p[0]), (counts[:, 2], p[2]), (counts.sum(axis=1), p.sum())]:
        law = stats.binom(total, pc)
        k = np.arange(total + 1)
        expected = n * law.pmf(k)
        keep = expected >= 5.0  # the rest pooled into one cell
        observed = np.bincount(cell, minlength=total + 1)
        obs = np.append(observed[keep], observed[~keep].sum())
        exp = np.append(expected[keep], expected[~keep].sum())
        assert stats.chisquare(obs, exp * obs.sum() / exp.sum()).pvalue > 0.001
    # cells of one multinomial are negatively correlated: cov = -n p1 p3
    product = (counts[:, 0] - counts[:, 0].mean()) * (counts[:, 2] - counts[:, 2].mean())
    se = product.std(ddof=1) / math.sqrt(n)  # the sample covariance's, from the run
    assert abs(product.mean() + total * p[0] * p[2]) < 3.29 * se


@pytest.mark.parametrize("delta", [0.0, 0.02])
def test_a_session_holding_r_requests_escapes_each_request_in_turn(delta: float) -> None:
    """One worker, two lifetimes ([0, 50) and [50, 100), a restart between: a clear) whose
    legitimate requests are all session requests of the one session valid on ``[u, e)`` that
    spans both, so the session holds every counted request (4 and 2): its chance for each
    counting set is ``1 - prod over the parts of (1 - x / o)^R``, ``x`` by quadrature."""
    rng = np.random.default_rng(5)
    names = ["eve", "mallory"]
    sets = [frozenset({"eve"}), frozenset({"mallory"}), frozenset(names)]
    t = np.sort(rng.uniform(0.0, 100.0, 30))
    who = rng.integers(2, size=t.size)
    clears = np.array([50.0])
    wk = WorkerReads(t, who, np.where(who == 0, 0.3, 0.7), clears, clears)
    q = token_copies.set_chances(wk, names, sets, [{}, {}, {}])
    prepared = [token_copies.prepare(wk, q, delta)]
    u, e, own = 20.0, 80.0, 0.05
    shares = RequestShares([lifetime(0.0, 50.0, own * 30.0), lifetime(50.0, 100.0, own * 30.0)],
                           [4, 2])
    spec = SessionSpec(ttl=e - u, requests_per_s=own, capture=0.5,
                       lifetime=1.0 / delta if delta else "next_handshake")
    tally = token_copies.ClassTally(spec, [], prepared, 1, 100.0, sets, frozenset(), 0,
                                    [shares])
    got = tally._chances(np.array([u]), np.array([e]), rng)[:, 0]
    for j in range(len(sets)):
        escape = 1.0
        for a, b, r in ((u, 50.0, 4), (50.0, e, 2)):
            kinks = [x for x in wk.read_t if a < x < b]
            x, _ = integrate.quad(copy_chance, a, b, (b, wk, q[:, j], delta),
                                  points=kinks or None, limit=200, epsabs=1e-12)
            escape *= (1.0 - x / (b - a)) ** r
        assert got[j] == pytest.approx(1.0 - escape, rel=1e-8)
    free = token_copies.login_chances(prepared, delta, own, np.array([u]), np.array([e]))[:, 0]
    assert not np.allclose(got, free, rtol=1e-3)  # the count matters here


def test_the_pairs_path_shares_each_counted_lifetimes_requests_out() -> None:
    """``lingering`` (``max_requests`` with the skeleton's logins, both kinds lingering) takes
    the class per login with its passwords: each worker with reads hands the tally the
    lifetimes it counted, and the sessions take no more than each count; without
    ``max_requests`` nothing is counted."""
    seen: list[list[RequestShares | None]] = []

    class Spy(token_copies.ClassTally):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            seen.append(self.shares)

    taken: list[int] = []
    draw = RequestShares.draw

    def spied(self: RequestShares, *args, **kwargs) -> np.ndarray:
        counts = draw(self, *args, **kwargs)
        taken.append(int(counts.sum()))
        return counts

    sc = SCENARIOS["lingering"]()
    with forced(fast, "ClassTally", Spy), forced(RequestShares, "draw", spied):
        outcomes("fast", sc, 20, 5)
        counted = [s for shares in seen for s in shares if s is not None]
        assert len(seen) == 20 and counted and sum(taken) > 0
        assert all((s.left >= 0).all() and (s.mass >= 0.0).all() for s in counted)
        seen.clear()
        mail = sc.servers["mail"]
        free = replace(sc, servers={"mail": replace(
            mail, restart=replace(mail.restart, max_requests=None))})
        outcomes("fast", free, 20, 5)
        assert seen and all(s is None for shares in seen for s in shares)
