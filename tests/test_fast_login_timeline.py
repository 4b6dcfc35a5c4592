"""The server's logins drawn once (``login_timeline.py``): its integrals and its time change
exact, and ``max_requests`` restarts spread as the model's when sessions cluster requests
(``docs/fast-engine.md``, item 11)."""

from __future__ import annotations

import copy
import math
from dataclasses import replace

import numpy as np
from agreement import busy_logins, forced, mail_server, small_scenario
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sim.engines.fast import login_timeline, shared_buffer, skeleton
from sim.engines.fast.login_timeline import (
    ATTACKED_LOGIN_LIMIT,
    FEW_LOGINS,
    LOGIN_LIMIT,
    PAIRS_RESTART_LIMIT,
    LoginTimeline,
    drives_restarts,
)
from sim.engines.fast.segments import WorkerLifetime
from sim.engines.fast.skeleton import ServerRun, _Worker
from sim.engines.fast.token_takes import TAKES_LIMIT
from sim.model.attackers import ActiveWindow
from sim.model.record import Observations
from sim.scenario.model import (
    Attacker,
    PasswordSpec,
    RestartPolicy,
    Scenario,
    Server,
    SessionSpec,
    Traffic,
)

HORIZON = 200_000.0


def _open_brute(tl: LoginTimeline, ttl: float, horizon: float, t0: float, t1: float) -> float:
    """Session-seconds open on ``[t0, t1)``, login by login."""
    times = np.concatenate(tl.own)
    ends = np.minimum(times + ttl, horizon)
    return float(np.maximum(np.minimum(ends, t1) - np.maximum(times, t0), 0.0).sum())


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), logins=st.floats(0.001, 0.05),
       ttl=st.floats(10.0, 2_000.0), rate=st.floats(0.0, 0.05),
       a=st.floats(0.0, 1.0), b=st.floats(0.0, 1.0), x=st.floats(1e-3, 30.0))
def test_the_time_change_counts_what_the_sessions_send(
    seed: int, logins: float, ttl: float, rate: float, a: float, b: float, x: float
) -> None:
    """The session requests integrated over any stretch are the sum of every session's
    overlap with it, and :meth:`~LoginTimeline.crossing` finds the first instant where the
    count reaches ``x``: there exactly, and before it short (None when it never does)."""
    horizon = 5_000.0
    server = mail_server(traffic=Traffic(handshakes_per_s=0.05, logins_per_s=logins,
                                         requests_per_s=1.0),
                         sessions=SessionSpec(ttl=ttl, requests_per_s=0.01, capture=0.5))
    tl = LoginTimeline.draw(server, horizon, np.random.default_rng(seed))
    t0, t1 = sorted((a * horizon, b * horizon))
    brute = _open_brute(tl, ttl, horizon, t0, t1) * tl.session_rate
    assert math.isclose(tl.session_requests(t0, t1), brute, rel_tol=1e-9, abs_tol=1e-9)

    def counted(t: float) -> float:
        return rate * (t - t0) + tl.session_requests(t0, t)

    hit = tl.crossing(t0, t1, rate, x)
    if hit is None:
        assert counted(t1) < x * (1 + 1e-12)
        return
    assert t0 <= hit <= t1
    assert math.isclose(counted(hit), x, rel_tol=1e-9, abs_tol=1e-9)
    if hit > t0:
        # short before it, up to rounding: where the count reaches ``x`` exactly at the end of
        # a session and stays flat (x = 0.5, five sessions of 0.1 requests), the edge-by-edge
        # sum and the prefix sums round apart and the walk finds the next rise; a drawn ``x``
        # lands on such a plateau with probability 0
        assert counted(hit - 1e-6 * (hit - t0)) < x * (1 + 1e-12)


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), a=st.floats(0.0, 1.0), length=st.floats(-2.0, 4.0),
       rate=st.sampled_from([0.0, 1e-3, 0.05]), x=st.floats(0.0, 6.0),
       sent=st.sampled_from([0.0, 0.01]))
@example(seed=3, a=0.99, length=4.0, rate=0.0, x=6.0, sent=0.01)  # past the last edge
def test_the_time_change_walked_in_batches_gives_the_floats_edge_by_edge_did(
    seed: int, a: float, length: float, rate: float, x: float, sent: float
) -> None:
    """Among many workers a worker's crossing walks hundreds of edges (every worker's logins
    and expiries), so past a few it walks them in batches: the same instant, to the last bit,
    as the walk edge by edge (the same method with its batches put off past every edge), or
    None where that gives None: stretches of 0.01 s to 10,000 s over 2,000 edges, counts of
    0.001 to 1,000 requests to reach, and sessions that send none (a flat count but for
    ``rate``)."""
    horizon = 20_000.0
    server = mail_server(traffic=Traffic(handshakes_per_s=0.05, logins_per_s=0.05,
                                         requests_per_s=1.0),
                         sessions=SessionSpec(ttl=600.0, requests_per_s=sent, capture=0.5))
    tl = LoginTimeline.draw(server, horizon, np.random.default_rng(seed))
    t0 = a * horizon
    t1 = min(horizon * 1.5, t0 + 10.0**length)
    target = 10.0**x / 1_000.0
    batched = tl.crossing(t0, t1, rate, target)
    with forced(login_timeline, "_WALK", math.inf):
        assert batched == tl.crossing(t0, t1, rate, target)


def _clustered() -> Scenario:
    """One worker whose requests come mostly in sessions of 60 (``s k`` about 55), restarted
    every 150 requests, and one attacker sending a little all along (so that the skeleton
    follows the worker throughout; it can capture nothing)."""
    server = mail_server(
        workers=1, crash_probability=0.0, passwords=PasswordSpec(capture=0.6, lifetime=900.0),
        restart=RestartPolicy(max_requests=150),
        traffic=Traffic(handshakes_per_s=0.05, logins_per_s=0.002, requests_per_s=0.13),
        sessions=SessionSpec(ttl=600.0, requests_per_s=0.1, capture=0.5))
    sc = small_scenario()
    probe = Attacker(name="probe", targets=("mail",), rate=0.001, start_low=0.0,
                     start_high=0.0, payload_bytes=16)
    return replace(sc, servers={"mail": server}, attackers={"probe": probe}, detectors={},
                   timeline=replace(sc.timeline, analysis_at=HORIZON))


def _fast_restarts(sc: Scenario, seed: int, t0: float, t1: float) -> int:
    a = sc.attackers["probe"]
    run = ServerRun(sc, sc.servers["mail"], {"probe": (a, ActiveWindow(0.0, HORIZON))},
                    np.random.default_rng(seed), Observations())
    run.run()
    return sum(lt.end_cause == "max_requests" and t0 <= lt.end < t1 for lt in run.lifetimes)


def _literal_restarts(sc: Scenario, rng: np.random.Generator, t0: float, t1: float) -> int:
    """Every request of the model drawn, and a restart at every 150th."""
    server = sc.servers["mail"]
    s, tr = server.sessions, server.traffic
    assert s is not None and server.restart.max_requests is not None

    def poisson_times(rate: float) -> np.ndarray:
        return HORIZON * rng.random(rng.poisson(rate * HORIZON))

    logins = poisson_times(tr.logins_per_s)
    ends = np.minimum(logins + s.ttl, HORIZON)
    sent = rng.poisson(s.requests_per_s * (ends - logins))
    session = np.repeat(logins, sent) + rng.random(sent.sum()) * np.repeat(ends - logins, sent)
    every = np.sort(np.concatenate([logins, session, poisson_times(tr.other_requests_per_s(s)),
                                    poisson_times(sc.attackers["probe"].connection_rate)]))
    n = server.restart.max_requests
    restarts = every[n - 1 :: n]
    return int(((restarts >= t0) & (restarts < t1)).sum())


def test_max_requests_restarts_spread_as_the_clustered_requests_make_them() -> None:
    """Over 180,000 s after the ramp a worker restarts about 157 times at its 150th request.
    Counted as a Poisson stream the restart count's variance is about 1; with sessions of 60
    requests the model's is about 55 times that. 400 replications of the skeleton against
    400 of a literal simulation of every request: the means and the variances agree within
    z = 4 of their standard errors computed from the runs (the variance's from the fourth
    moment), where the mean-rate time change this replaced had the variance off by more than
    ten of them (z = -13.8 on these seeds)."""
    sc = _clustered()
    t0, t1 = 20_000.0, HORIZON
    n = 400
    fast = np.array([_fast_restarts(sc, seed, t0, t1) for seed in range(n)], dtype=float)
    rng = np.random.default_rng(2026)
    literal = np.array([_literal_restarts(sc, rng, t0, t1) for _ in range(n)], dtype=float)

    def variance_se(x: np.ndarray) -> float:
        d = x - x.mean()
        return math.sqrt(max((d**4).mean() - x.var() ** 2, 0.0) / x.size)

    mean_z = (fast.mean() - literal.mean()) / math.hypot(fast.std(ddof=1) / math.sqrt(n),
                                                         literal.std(ddof=1) / math.sqrt(n))
    var_z = (fast.var() - literal.var()) / math.hypot(variance_se(fast), variance_se(literal))
    print(f"restarts: fast {fast.mean():.2f} (var {fast.var():.1f}), literal "
          f"{literal.mean():.2f} (var {literal.var():.1f}); z {mean_z:+.2f}, {var_z:+.2f}")
    assert literal.var() > 20.0, "the scenario must cluster the requests"
    assert abs(mean_z) < 4.0
    assert abs(var_z) < 4.0


def test_where_the_logins_are_drawn_the_restarts_do_not_read_the_ramps_staircase(
    monkeypatch,
) -> None:
    """Item 8 of ``docs/fast-engine.md``: the session ramp after the cold start is a staircase
    of mean rates, but where the skeleton draws the logins it counts each worker's session
    requests from the sessions actually open, so its ``max_requests`` restarts do not read
    the staircase at all: the same seeds give the same lifetimes, to the last bit, with its
    steps' rates tripled. Without the logins drawn (``next_request`` passwords where the
    shared path's draw given the logins is not sure to be taken, here by its limit forced
    down) they do read it, so the comparison can see a difference. Sessions of 50,000 s keep
    the whole run on the ramp (36 restarts of the first skeleton there)."""
    monkeypatch.setattr(shared_buffer, "SHARED_LIMIT", -1.0)
    sc = _clustered()
    mail = sc.servers["mail"]
    assert mail.sessions is not None and mail.passwords is not None
    mail = replace(mail, sessions=replace(mail.sessions, ttl=50_000.0, requests_per_s=0.002))
    probe = sc.attackers["probe"]

    def lifetimes(server, seed: int) -> tuple[list[tuple[object, ...]], bool]:
        run = ServerRun(replace(sc, servers={"mail": server}), server,
                        {"probe": (probe, ActiveWindow(0.0, HORIZON))},
                        np.random.default_rng(seed), Observations())
        run.run()
        return ([(lt.worker, lt.start, lt.end, lt.end_cause) for lt in run.lifetimes],
                run.logins is not None)

    plain = replace(mail, passwords=replace(mail.passwords, lifetime="next_request"))
    before = {(name, seed): lifetimes(server, seed)
              for name, server in (("drawn", mail), ("mean", plain)) for seed in range(4)}
    steps = ServerRun._ramp_rates

    def tripled(self: ServerRun) -> list[tuple[float, float]]:
        rates = steps(self)
        return [(r * 3.0, s * 3.0) for r, s in rates[:-1]] + rates[-1:]

    monkeypatch.setattr(ServerRun, "_ramp_rates", tripled)
    for seed in range(4):
        drawn, known = before["drawn", seed]
        assert known and sum(end < 50_000.0 for *_, end, cause in drawn
                             if cause == "max_requests") > 10
        assert lifetimes(mail, seed) == (drawn, True)
        assert not before["mean", seed][1]
        assert lifetimes(plain, seed) != before["mean", seed]


def test_past_the_login_limit_the_skeleton_keeps_the_mean_rate() -> None:
    """The logins are drawn only where they drive ``max_requests`` beside sessions that send
    requests, and are few enough to hold (``LOGIN_LIMIT``) and, inside the attackers' windows,
    to follow one by one (``ATTACKED_LOGIN_LIMIT``); elsewhere the mean-rate time change
    (item 11) runs, and a replication still completes."""
    sc = _clustered()
    server = sc.servers["mail"]

    def drawn(s: Server, connections: float = 0.0, attacked: float = HORIZON) -> bool:
        return drives_restarts(s, HORIZON, False, connections, attacked)

    assert server.sessions is not None and drawn(server)
    busy = replace(server, traffic=replace(server.traffic, logins_per_s=5.0, requests_per_s=300.0))
    assert server.traffic.logins_per_s * HORIZON <= ATTACKED_LOGIN_LIMIT
    assert LOGIN_LIMIT < 5.0 * HORIZON
    assert not drawn(busy) and not drawn(busy, attacked=0.0)
    # more than the events allowed inside the windows, where the whole is within the limit
    moderate = replace(server, traffic=replace(server.traffic, logins_per_s=1.0,
                                               requests_per_s=60.0))
    assert ATTACKED_LOGIN_LIMIT < 1.0 * HORIZON <= LOGIN_LIMIT
    assert not drawn(moderate) and drawn(moderate, attacked=float(ATTACKED_LOGIN_LIMIT))
    assert not drawn(moderate, attacked=ATTACKED_LOGIN_LIMIT * 1.01)
    assert not drawn(replace(server, restart=RestartPolicy()))
    quiet = replace(server, sessions=replace(server.sessions, requests_per_s=0.0))
    assert not drawn(quiet)
    slot = replace(server, passwords=PasswordSpec(capture=0.6))
    assert not drawn(slot)
    # sessions alone: tokens that outlive the next request are counted login by login
    # (login_pairs), while the draw where copies are taken fits; next_request ones are not
    alone = replace(server, passwords=None)
    assert not drawn(alone)
    lasting = replace(alone, sessions=replace(server.sessions, lifetime=300.0))
    assert drawn(lasting)
    assert not drawn(lasting, float(TAKES_LIMIT))
    # past FEW_LOGINS, beside such tokens (login_pairs reads them, about 1 ms a lifetime) only
    # where the max_requests restarts inside the windows are few; lingering passwords beside
    # next_request tokens are read along with the rest, whatever the restarts
    many = replace(busy, traffic=replace(busy.traffic, logins_per_s=0.2, requests_per_s=13.0))
    assert 0.2 * HORIZON > FEW_LOGINS
    edge = PAIRS_RESTART_LIMIT * 150 / (13.0 * many.hosts)  # attacked seconds at the limit
    assert 0.2 * edge * 1.01 <= ATTACKED_LOGIN_LIMIT
    for tokens in (lasting.sessions, replace(server.sessions, lifetime="next_handshake")):
        both = replace(many, sessions=tokens)
        assert drawn(both, attacked=edge * 0.99) and not drawn(both, attacked=edge * 1.01)
        alone_many = replace(both, passwords=None)
        assert drawn(alone_many, attacked=edge * 0.99)
        assert not drawn(alone_many, attacked=edge * 1.01)
    assert drawn(many, attacked=edge * 1.01)
    # up to FEW_LOGINS whatever the restarts
    restarting = replace(lasting, traffic=replace(many.traffic, logins_per_s=0.002))
    assert drawn(restarting, attacked=edge * 1.01)
    a = sc.attackers["probe"]
    run = ServerRun(replace(sc, servers={"mail": busy}), busy,
                    {"probe": (a, ActiveWindow(0.0, 2_000.0))}, np.random.default_rng(3),
                    Observations())
    run.run()
    assert run.logins is None and all(lt.logins is None for lt in run.lifetimes)
    assert any(lt.end_cause == "max_requests" for lt in run.lifetimes)


def test_a_heavy_attack_past_the_chains_size_follows_the_logins(monkeypatch) -> None:
    """Lingering passwords with the logins drawn: past the counting chain's size a heavy
    attack too is read login by login (the sampler that draws logins of its own would find
    none left to draw: every login of the lifetime is known), and it takes passwords."""
    from agreement import SCENARIOS

    from sim.engines.fast import passwords

    sc = SCENARIOS["lingering"]()
    mail = sc.servers["mail"]
    busy = replace(mail, traffic=replace(mail.traffic, logins_per_s=1.0, requests_per_s=2.3),
                   restart=replace(mail.restart, max_requests=5_000))
    sneak = replace(sc.attackers["sneak"], rate=5.0, presence=1.0)
    sc = replace(sc, servers={"mail": busy}, attackers={**sc.attackers, "sneak": sneak})
    assert drives_restarts(busy, sc.horizon, False, 0.0, sc.horizon)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the sampler without the logins was taken")

    monkeypatch.setattr(passwords, "sample_lingering", refuse)
    active = {n: (a, ActiveWindow(a.start_low, min(a.start_low + (a.duration or sc.horizon),
                                                   sc.horizon)))
              for n, a in sc.attackers.items()}
    run = ServerRun(sc, busy, active, np.random.default_rng(5), Observations())
    run.run()
    reads = busy.total_workers * sum(s.duration * sum(a.connection_rate for a in s.attackers)
                                     for s in run.segments)
    assert reads > passwords.HEAVY_ATTACK
    assert busy.passwords is not None
    assert passwords.state_count(busy.passwords, run.segments, run.lifetimes) > passwords.MAX_STATES
    draw = passwords.draw_passwords(busy.passwords, busy.sessions, run.segments, run.lifetimes,
                                    busy.total_workers, busy.restart.max_requests,
                                    np.random.default_rng(6), horizon=sc.horizon)
    assert draw.by_attacker["sneak"] > 0 and draw.total >= draw.by_attacker["sneak"]


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), left=st.integers(1, 3_000),
       a=st.floats(0.0, 1.0), length=st.floats(0.0, 5.3), spent=st.floats(0.0, 1.2),
       sent=st.sampled_from([0.1, 1e-4]))
@example(seed=1, left=3_000, a=0.5, length=3.3, spent=0.0, sent=1e-4)  # none, over three batches
def test_the_logins_counted_in_batches_give_the_floats_one_by_one_did(
    seed: int, left: int, a: float, length: float, spent: float, sent: float
) -> None:
    """Across a quiet stretch the skeleton counts a worker's logins one by one at first, then
    in batches of up to 65,536. It must give what counting them all one by one gives, to the
    last bit and with the generator left where that left it: the restart's time and kind, the
    count carried, the next login and the uniforms drawn (the same method with every login
    counted one by one). A worker with about 20,000 logins over the horizon, stretches of 1 s
    to all of it and ``left`` from 1 to 3,000 requests to count, so that restarts fall inside
    intervals, at logins, in later batches and not at all; sessions that send 60 requests
    each, or hardly any (then most requests are logins and restarts come at them)."""
    sc = _clustered()
    server = sc.servers["mail"]
    assert server.sessions is not None
    busy = replace(server, traffic=replace(server.traffic, logins_per_s=0.1,
                                           requests_per_s=0.13 + 60.0 * sent),
                   sessions=replace(server.sessions, requests_per_s=sent))
    run = ServerRun(replace(sc, servers={"mail": busy}), busy, {}, np.random.default_rng(seed),
                    Observations())
    assert run.logins is not None and run.logins.own[0].size > 15_000
    t0 = a * HORIZON
    t1 = min(HORIZON, t0 + 10.0**length)
    rng = np.random.default_rng(seed + 1)
    target = float(rng.gamma(left))
    start = _Worker(index=0, life=WorkerLifetime(0, t0, HORIZON, True), copies=0,
                    sched=None,  # type: ignore[arg-type]  # a quiet stretch reads no schedule
                    used=spent * target, target=target, left=left,
                    next_login=int(run.logins.own[0].searchsorted(t0, side="right")))
    states, outcomes, after = [], [], []
    for one_by_one in (math.inf, skeleton._ONE_BY_ONE):
        state = copy.copy(start)
        run.rng = np.random.default_rng([seed, 7])
        with forced(skeleton, "_ONE_BY_ONE", one_by_one):
            outcomes.append(run._count_until(state, t0, t1))
        states.append((state.used, state.target, state.left, state.next_login))
        after.append(run.rng.random())
    assert outcomes[0] == outcomes[1]
    assert states[0] == states[1]
    assert after[0] == after[1]


def test_the_busy_probe_is_past_the_old_limit_and_draws_the_logins() -> None:
    """``tests/busy_logins_probe.py`` checks the engines against each other past the 20,000
    logins up to which the skeleton drew them until 2026-12-07's last session: its scenario
    must stay there, and the skeleton must draw them on it, whatever the attackers do."""
    sc = busy_logins()
    mail = sc.servers["mail"]
    assert mail.traffic.logins_per_s * mail.hosts * sc.horizon > FEW_LOGINS
    assert drives_restarts(mail, sc.horizon, False, 0.0, sc.horizon)
