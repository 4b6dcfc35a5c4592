"""Lingering passwords and tokens drawn together, login by login (``sim/engines/fast/
login_pairs.py``; item 14 of ``docs/fast-engine.md``).

First each password's fate against its exact law given the reads: every attacker's chance to
take it and the chance that two attackers both do, written out read by read over the
residency's end, and the first take's time. Then the whole engine against the reference on a
scenario where the same logins matter to both kinds (few logins, a burst of reads), cell by
cell of one attacker's (password, session) captures, with a check that the same test rejects
the two kinds drawn apart with exact margins, as they were before.
"""

from __future__ import annotations

import math
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace

import numpy as np
import pytest
from agreement import CELLS, SCENARIOS, capture_cells, choices, forced, outcomes, spied
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chi2_contingency, norm

import sim.engines.fast as fast
from sim.engines.fast import login_pairs, token_means
from sim.engines.fast.lingering import PasswordReads, password_fates
from sim.engines.fast.login_pairs import _inside, _password_region, _union
from sim.engines.fast.session_literal import WorkerReads
from sim.scenario.model import RestartPolicy, Scenario

# -- a password's fate given the reads ---------------------------------------------------------

READS = WorkerReads(read_t=np.array([3.0, 5.0, 6.0, 9.0, 14.0, 15.0, 22.0]),
                    read_who=np.array([0, 1, 0, 1, 0, 0, 1]),
                    read_q=np.array([0.3, 0.5, 0.2, 0.9, 0.4, 0.6, 0.7]),
                    clears=np.array([0.0, 20.0, 40.0]), restarts=np.array([0.0, 40.0]))
MU = 0.08


def password_reads() -> PasswordReads:
    return PasswordReads(READS.read_t, READS.read_who, READS.read_q, READS.clears, 2)


def exact_fates(u: float) -> tuple[np.ndarray, float, np.ndarray]:
    """For a password left at ``u``: each attacker's chance to take it, the chance both do,
    and each attacker's chance that its first take is each read, over the residency's end
    ``E`` (exponential, cut at the block's clear) read by read."""
    clear = READS.clears[READS.clears > u][0]
    after = [k for k in range(READS.read_t.size) if u < READS.read_t[k] < clear]
    ends = [READS.read_t[k] for k in after] + [clear]
    # P(E falls after reads after[:j] and before the next): j reads survived
    survive = [math.exp(-MU * (t - u)) for t in ends]
    mass = [1.0 - survive[0]] + [survive[j - 1] - survive[j] for j in range(1, len(ends))]
    mass[-1] += survive[-1]  # at the clear it ends whatever the draw
    alone, both = np.zeros(2), 0.0
    first = np.zeros((2, READS.read_t.size))
    for j, p in enumerate(mass):
        seen = after[:j]
        took = np.zeros(2)
        for a in (0, 1):
            kept = 1.0
            for k in seen:
                if READS.read_who[k] == a:
                    first[a, k] += p * kept * READS.read_q[k]
                    kept *= 1.0 - READS.read_q[k]
            took[a] = 1.0 - kept
        alone += p * took
        both += p * took[0] * took[1]
    return alone, both, first


@pytest.mark.parametrize("u", [0.5, 4.0, 10.0, 21.0])
def test_each_fate_has_its_exact_law(u: float) -> None:
    """Every attacker's take, both attackers' takes together, and each first take's read, from
    200,000 passwords left at ``u``, within 4.5 standard errors of the exact chances."""
    n = 200_000
    got = password_fates(password_reads(), 2, MU, np.full(n, u),
                          np.random.default_rng(7))
    alone, both, first = exact_fates(u)
    took = np.isfinite(got)
    checks = [(took[:, a].mean(), alone[a]) for a in (0, 1)]
    checks.append(((took[:, 0] & took[:, 1]).mean(), both))
    for a in (0, 1):
        for k, t in enumerate(READS.read_t):
            checks.append(((got[:, a] == t).mean(), first[a, k]))
    for seen, want in checks:
        se = math.sqrt(max(want * (1 - want), 1e-12) / n)
        assert abs(seen - want) <= 4.5 * se, (seen, want)


def test_without_decay_a_password_waits_for_the_clear() -> None:
    """Under ``next_handshake`` (no decay) a password stays until its block's clear: the
    first attacker's chance is ``1 - (0.7 x 0.8 x 0.6 x 0.4)`` from a login at 1 s."""
    n = 100_000
    got = password_fates(password_reads(), 2, 0.0, np.full(n, 1.0),
                          np.random.default_rng(3))
    want = 1.0 - 0.7 * 0.8 * 0.6 * 0.4
    assert abs(np.isfinite(got[:, 0]).mean() - want) <= 4.5 * math.sqrt(want * (1 - want) / n)



def test_a_password_can_be_read_only_inside_its_region() -> None:
    """Logins are drawn only where a password can be read: from a block's start (a clear)
    to its last read. Outside, every fate is "never", so leaving it out loses nothing."""
    reads = password_reads()
    lo, hi = _password_region(reads)
    np.testing.assert_array_equal(lo, [0.0, 20.0])
    np.testing.assert_array_equal(hi, [15.0, 22.0])
    outside = np.array([15.0, 16.0, 19.9, 22.0, 30.0, 45.0])
    assert not np.isfinite(password_fates(reads, 2, 0.0, outside,
                                           np.random.default_rng(1))).any()
    inside = np.full(10_000, 14.0)  # read at 15 by attacker 0 takes it with 0.6
    took = np.isfinite(password_fates(reads, 2, 0.0, inside, np.random.default_rng(2)))
    assert abs(took[:, 0].mean() - 0.6) <= 4.5 * math.sqrt(0.24 / inside.size)

intervals = st.lists(st.tuples(st.floats(0, 100), st.floats(0, 20)), max_size=6).map(
    lambda xs: sorted((a, a + d) for a, d in xs))


def _disjoint(pairs: list[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = (np.array([p[i] for p in pairs]) for i in (0, 1))
    return _union(lo, hi, np.zeros(0), np.zeros(0)) if pairs else (np.zeros(0), np.zeros(0))


@settings(max_examples=300, deadline=None)
@given(intervals, intervals, st.lists(st.floats(-5, 130), max_size=20))
def test_the_union_holds_every_point_of_either(a, b, points) -> None:
    """Either side may be empty: a worker nothing reads, or no read of the token buffer."""
    (lo1, hi1), (lo2, hi2) = _disjoint(a), _disjoint(b)
    lo, hi = _union(lo1, hi1, lo2, hi2)
    assert (np.diff(lo) > 0).all() and (lo[1:] > hi[:-1]).all() and (hi >= lo).all()
    x = np.array(points)
    inside = _inside(x, lo, hi)
    for j, p in enumerate(points):
        either = any(l <= p < h for l, h in zip(np.r_[lo1, lo2], np.r_[hi1, hi2]))
        assert inside[j] == any(l <= p < h for l, h in zip(lo, hi)) == either
        assert _inside(x[j:j + 1], lo1, hi1)[0] == any(l <= p < h for l, h in zip(lo1, hi1))

# -- the engine against the reference ----------------------------------------------------------


def few_logins(concurrent: bool = False) -> Scenario:
    """``choices`` with passwords kept 15 minutes and tokens 5 on average, few logins (one in
    1,000 s: a login's password and session are then captured together or not at all by
    the same stretch of reads) and no ``max_requests``; with ``concurrent``, sessions bound
    by the address and a ``concurrent`` check of five minutes, which can pass (the sessions
    are then drawn where their copies are taken)."""
    sc = choices()
    mail = sc.servers["mail"]
    assert mail.passwords is not None and mail.sessions is not None
    sessions = replace(mail.sessions, lifetime=300.0)
    if concurrent:
        sessions = replace(sessions, binding=("ip", "concurrent"), concurrent_window=300.0)
    mail = replace(mail, traffic=replace(mail.traffic, logins_per_s=0.001),
                   restart=RestartPolicy(every=1500.0, jitter=200.0),
                   passwords=replace(mail.passwords, lifetime=900.0), sessions=sessions)
    return replace(sc, servers={"mail": mail})


SIZE = 4_000
CHUNK = 1_000
SEEDS = {"reference": 71, "fast": 72, "apart": 73}
#: One family: two margins and one joint table per attacker of each engine run compared.
ALPHA = 0.001


def _cells(mode: str, side: str, start: int) -> dict[str, np.ndarray]:
    """Capture cells of ``few_logins``; "fast" as it runs (every replication with a reader
    takes the draw of both kinds, with the sessions' ``side``: "classes" or "takes"; spies
    count them), "apart" with that draw off."""
    sc = few_logins(concurrent=side == "takes")
    replications = range(start, start + CHUNK)
    seed = SEEDS[mode] + (10 if side == "takes" else 0)
    if mode == "reference":
        return capture_cells("reference", sc, replications, seed)
    calls = {"pairs": 0, "takes": 0}
    limit = -1.0 if mode == "apart" else login_pairs.PAIRS_LIMIT
    with (forced(fast, "sample_pairs", spied(calls, "pairs", login_pairs.sample_pairs)),
          forced(fast, "TakesTally", spied(calls, "takes", fast.TakesTally)),
          forced(login_pairs, "PAIRS_LIMIT", limit)):
        out = capture_cells("fast", sc, replications, seed)
    out["calls"] = np.array([float(calls["pairs"])])
    out["takes"] = np.array([float(calls["takes"])])
    return out


def _run(mode: str, side: str, pool: ProcessPoolExecutor) -> dict[str, np.ndarray]:
    parts = list(pool.map(_cells, [mode] * (SIZE // CHUNK), [side] * (SIZE // CHUNK),
                          range(0, SIZE, CHUNK)))
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _disagreements(fast_run: dict[str, np.ndarray],
                   reference: dict[str, np.ndarray]) -> list[str]:
    """The margins outside the family's z and the joint tables whose chi-square p-value is
    below its level, per attacker."""
    names = sorted({k.split("/")[0] for k in reference if k.endswith("/password")})
    z = norm.ppf(1 - ALPHA / (2 * 3 * len(names)))
    out = []
    for name in names:
        for kind in ("password", "session"):
            f, r = fast_run[f"{name}/{kind}"], reference[f"{name}/{kind}"]
            se = math.sqrt(f.var() / f.size + r.var() / r.size)
            if abs(f.mean() - r.mean()) > z * se:
                out.append(f"{name} P({kind}) {f.mean():.4f} against {r.mean():.4f}")
        table = np.array([[run[f"{name}/{cell}"].sum() for cell in CELLS]
                          for run in (fast_run, reference)])
        table = np.column_stack([table, SIZE - table.sum(axis=1)])
        p = chi2_contingency(table[:, table.sum(axis=0) > 0])[1]
        if p < ALPHA / (3 * len(names)):
            out.append(f"{name} (password, session) chi-square p {p:.1e}")
    return out


@pytest.mark.slow
@pytest.mark.parametrize("side", ["classes", "takes"])
def test_one_attackers_password_and_session_agree_with_the_reference(side: str) -> None:
    """Measured when written (2026-12-06, 6,000 a side, the classes): drawn apart, the
    reaper's (session, no password) cell came out 0.099 against the reference's 0.050 and its
    "both" cell 0.136 against 0.195, every attacker's table off (chi-square p 3e-8 to
    7e-41); drawn together, every table within p 0.05 to 0.99. With the ``concurrent`` check
    (4,000 a side), drawn apart, the reaper's (session, no password) 0.101 against 0.050."""
    with ProcessPoolExecutor(2) as pool:
        reference = _run("reference", side, pool)
        together = _run("fast", side, pool)
        apart = _run("apart", side, pool)
    assert together["calls"].sum() == SIZE  # the reaper reads in every replication
    assert together["takes"].sum() == (SIZE if side == "takes" else 0)
    assert apart["calls"].sum() == 0
    assert _disagreements(together, reference) == []
    # power: the same comparison sees the two kinds drawn apart
    assert len(_disagreements(apart, reference)) >= 2


def test_the_agreement_suites_lingering_scenario_takes_this_draw() -> None:
    """``lingering`` (both kinds lingering, ``max_requests`` with the logins the skeleton drew,
    light attacks): every replication with a reader draws both kinds together, on the
    skeleton's logins, so the agreement suite compares this draw at full power."""
    sc = SCENARIOS["lingering"]()
    calls = []

    def spy(*args, **kwargs):
        calls.append(kwargs.get("known") if "known" in kwargs else args[-1])
        return login_pairs.sample_pairs(*args, **kwargs)

    with forced(fast, "sample_pairs", spy):
        outcomes("fast", sc, 40, 5)
    assert len(calls) == 40 and all(known is not None for known in calls)


def test_many_logins_take_the_pairs_where_the_means_would_be_cheaper() -> None:
    """``few_logins`` at 20 logins a second: the means given the reads would cost less than a
    class per login (:func:`.token_means.given_reads`), and are taken with the draw of both
    kinds off; but only the class per login draws each login's password with its session, so
    with passwords along it is taken."""
    sc = few_logins()
    mail = sc.servers["mail"]
    sc = replace(sc, servers={"mail": replace(
        mail, traffic=replace(mail.traffic, logins_per_s=20.0, requests_per_s=400.0))})
    assert _session_paths(sc, login_pairs.PAIRS_LIMIT) == {("logins", True)}
    assert _session_paths(sc, -1.0) == {("means", False)}


def test_past_the_class_per_login_the_passwords_go_where_the_copies_are_taken() -> None:
    """The same server past the class per login's limit: the draw where the copies are taken
    is the other one that draws each login's password with its session, so with passwords
    along it is taken where the means would be (since late on 2026-12-07; before, the means,
    and the passwords drawn apart: item 14 of ``docs/fast-engine.md``)."""
    sc = few_logins()
    mail = sc.servers["mail"]
    sc = replace(sc, servers={"mail": replace(
        mail, traffic=replace(mail.traffic, logins_per_s=20.0, requests_per_s=400.0))})
    with forced(token_means, "COPIES_LIMIT", -1.0):
        assert _session_paths(sc, login_pairs.PAIRS_LIMIT) == {("takes", True)}
        assert _session_paths(sc, -1.0) == {("means", False)}


def _session_paths(sc: Scenario, pairs_limit: float) -> set[tuple[str, bool]]:
    """The session paths ``sc`` takes in six replications, with whether the passwords went
    along, under ``pairs_limit``."""
    paths: set[tuple[str, bool]] = set()

    def spy(*args, **kwargs):
        plan = fast.sessions.plan_sessions(*args, **kwargs)
        paths.add((plan.path, kwargs["passwords_along"]))
        return plan

    with forced(fast, "plan_sessions", spy), forced(login_pairs, "PAIRS_LIMIT", pairs_limit):
        outcomes("fast", sc, 6, 5)
    return paths


reads_and_logins = st.tuples(
    st.lists(st.tuples(st.floats(0.0, 100.0), st.integers(0, 2), st.floats(0.05, 1.0)),
             min_size=1, max_size=30),
    st.lists(st.floats(0.0, 100.0), max_size=4),
    st.lists(st.floats(-5.0, 105.0), min_size=1, max_size=20))


@settings(max_examples=300, deadline=None)
@given(reads_and_logins, st.sampled_from([0.0, 0.01, 1.0]), st.integers(0, 2**32 - 1))
def test_first_takes_are_the_attackers_own_reads_inside_the_residency(case, mu, seed) -> None:
    """Whatever the reads (coinciding, any chances) and clears: a take is a read of that
    attacker after the login and before the next clear; with certain reads and no decay, each
    attacker's first take is exactly its first read there."""
    reads, clears, logins = case
    reads = sorted(reads)
    t = np.array([r[0] for r in reads])
    who = np.array([r[1] for r in reads])
    q = np.array([r[2] for r in reads])
    clear = np.sort(np.append(clears, math.inf))
    u = np.array(logins)
    for chances in (q, np.ones_like(q)):
        got = password_fates(PasswordReads(t, who, chances, clear, 3), 3, mu, u,
                             np.random.default_rng(seed))
        for i, ui in enumerate(u):
            end = clear[clear > ui][0]
            for a in range(3):
                mine = t[(who == a) & (t > ui) & (t < end)]
                if np.isfinite(got[i, a]):
                    assert got[i, a] in mine
                elif chances is not q and mu == 0.0:
                    assert mine.size == 0
                if chances is not q and mu == 0.0 and mine.size:
                    assert got[i, a] == mine[0]
