"""A whole lifetime of the ``next_request`` password slot against a literal simulation.

``test_fast_password_slot.py`` checks one residency's law and the expected count. What decides
``P(N = 0)``, and with it every ``p_any`` of passwords, is how residencies follow one another
over a lifetime and how workers' slots move together. Both depend on the sessions: an open
session sends requests to every worker (rule 4: routing is per request), so the request
streams of one worker over time, and of two workers at once, are not independent Poisson
streams.

The literal simulation here draws every request of the model for one host: logins on
``[-ttl, D)`` (so that the sessions open at the lifetime's start are the stationary ones), each
routed to a worker and opening a session that sends requests to each worker at ``s / W`` for
``ttl``; other requests at ``r`` per worker. A lifetime ``[0, D)`` starts with an empty slot
(rule 2). A login here fills the slot, any other request here empties it. An attacker whose
connections come at ``beta`` per second to the worker and capture the resident password with
certainty leaves it uncaptured with probability ``exp(-beta T_full)`` given the requests,
``T_full`` the time the slot is full, so the mean of that conditional probability estimates
``P(N = 0)`` without the noise of drawing connections.

Without sessions the chain is exact and the instrument must agree with it. With sessions the
chain is not (``docs/fast-engine.md``, "Passwords in a slot that sessions empty"): the two
``xfail`` tests below are strict, so they fail as soon as the chain becomes exact on their
cases, and must then be made ordinary tests. The engine takes the chain there only when the
requests are too many to draw and the reads too many to draw the slot at each
(:func:`sim.engines.fast.password_reads.sample_slot_passwords_at_reads`); on this case it
draws the requests (:mod:`sim.engines.fast.session_slot`), and the last test holds that path
and the draw at the reads to the literal slots.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

from sim.engines.fast.password_chain import CountChain, lifetime_moments
from sim.engines.fast.segments import WorkerLifetime
from sim.scenario.model import PasswordSpec

sys.path.insert(0, str(Path(__file__).parent))
import agreement as stored  # noqa: E402  (this module has an ``agreement`` of its own)

#: One comparison per test, two-sided, at the project's z for single comparisons.
Z = 3.29
#: Replications: the standard error of the mean of ``exp(-beta T_full)`` is below 0.0007 on
#: these cases, so a bias of 0.0037 (what the sessions case shows) is seen with probability
#: about 0.9 at ``Z``.
REPLICATIONS = 40_000
#: Replications drawn per numpy batch (memory, not results: every batch has its own stream).
BATCH = 5_000


def full_times(W: int, logins: float, ttl: float, s: float, r: float, D: float,
               n: int, seed: int) -> np.ndarray:
    """``T_full`` of every worker of one host over ``[0, D)``: ``n x W``."""
    out = np.empty((n, W))
    children = np.random.SeedSequence(seed).spawn(math.ceil(n / BATCH))
    for b, child in enumerate(children):
        m = min(BATCH, n - b * BATCH)
        out[b * BATCH : b * BATCH + m] = _batch(np.random.default_rng(child), W, logins, ttl,
                                                s, r, D, m)
    return out


def _batch(rng: np.random.Generator, W: int, logins: float, ttl: float, s: float, r: float,
           D: float, n: int) -> np.ndarray:
    per = rng.poisson(logins * (D + ttl), n)
    rep = np.repeat(np.arange(n), per)
    u = rng.uniform(-ttl, D, rep.size)
    worker = rng.integers(0, W, rep.size)
    open_from, open_to = np.maximum(u, 0.0), np.minimum(u + ttl, D)
    span = np.maximum(open_to - open_from, 0.0)
    T = np.zeros((n, W))
    for w in range(W):
        sent = rng.poisson(s / W * span)  # each session's requests to this worker
        session_rep = np.repeat(rep, sent)
        session_t = np.repeat(open_from, sent) + rng.random(session_rep.size) * np.repeat(span, sent)
        other = rng.poisson(r * D, n)
        other_rep = np.repeat(np.arange(n), other)
        other_t = rng.uniform(0.0, D, other_rep.size)
        here = (worker == w) & (u >= 0.0)
        times = np.concatenate([u[here], session_t, other_t])
        reps = np.concatenate([rep[here], session_rep, other_rep])
        fills = np.concatenate([np.ones(here.sum(), bool), np.zeros(session_t.size + other_t.size, bool)])
        order = np.lexsort((times, reps))
        times, reps, fills = times[order], reps[order], fills[order]
        following = np.append(times[1:], D)
        following[np.append(reps[1:] != reps[:-1], True)] = D  # a replication's last request
        T[:, w] = np.bincount(reps[fills], weights=(following - times)[fills], minlength=n)
    return T


def chain_no_capture(W: int, logins: float, ttl: float, s: float, r: float, D: float,
                     beta: float) -> float:
    """The fast engine's ``P(N = 0)`` for one worker's lifetime ``[0, D)``."""
    seg = stored.slot_segment((W, logins, ttl, s, r, D, beta), D)
    chain = CountChain(PasswordSpec(), [seg], 2)
    moments = lifetime_moments(chain, WorkerLifetime(0, 0.0, D, False), [frozenset({"eve"})],
                               [0.0])
    assert moments is not None
    return 1.0 - moments[0][0]


def agreement(estimates: np.ndarray, value: float, label: str) -> tuple[float, float]:
    mean, se = float(estimates.mean()), float(estimates.std(ddof=1) / math.sqrt(estimates.size))
    print(f"{label}: literal {mean:.5f} +- {se:.5f}, chain {value:.5f}, "
          f"z {(value - mean) / se:+.2f}")
    return mean, se


#: (workers, server logins per second, ttl, per-session requests per second to the server,
#: other requests per worker, lifetime, beta)
WITHOUT_SESSIONS = (2, 0.02, 600.0, 0.0, 0.015, 1200.0, 0.003)
#: Sessions carrying about half of the traffic, a handful of requests each.
WITH_SESSIONS = stored.SLOT_WITH_SESSIONS


def covariance(free: np.ndarray) -> tuple[float, float]:
    """The two workers' covariance of ``exp(-beta T_full)`` and its standard error (the mean of
    the products of centred values, whose ``1 / n`` bias is far below the error here)."""
    products = (free[:, 0] - free[:, 0].mean()) * (free[:, 1] - free[:, 1].mean())
    cov, se = float(products.mean()), float(products.std(ddof=1) / math.sqrt(len(products)))
    print(f"covariance {cov:+.6f} +- {se:.6f} (z {cov / se:+.2f}); both workers free: "
          f"{free.prod(axis=1).mean():.5f} against the product {free.mean(axis=0).prod():.5f}")
    return cov, se


def test_without_sessions_the_literal_slot_matches_the_chain() -> None:
    """The instrument: a 2-state chain is exact here, and the workers are independent (their
    logins are thinnings of one Poisson stream)."""
    W, logins, ttl, s, r, D, beta = WITHOUT_SESSIONS
    free = np.exp(-beta * full_times(W, logins, ttl, s, r, D, REPLICATIONS, seed=41))
    p0 = chain_no_capture(W, logins, ttl, s, r, D, beta)
    mean, se = agreement(free[:, 0], p0, "one worker")
    assert abs(p0 - mean) <= Z * se
    cov, se = covariance(free)
    assert abs(cov) <= Z * se


@pytest.mark.xfail(strict=True, reason="docs/fast-engine.md, 'Passwords in a slot that "
                   "sessions empty': the chain's P(N = 0) of a lifetime is high")
def test_with_sessions_a_lifetime_no_capture_chance_matches_the_literal_slot() -> None:
    W, logins, ttl, s, r, D, beta = WITH_SESSIONS
    free = np.exp(-beta * full_times(W, logins, ttl, s, r, D, REPLICATIONS, seed=42)[:, 0])
    p0 = chain_no_capture(W, logins, ttl, s, r, D, beta)
    mean, se = agreement(free, p0, "one worker")
    assert abs(p0 - mean) <= Z * se


@pytest.mark.xfail(strict=True, reason="docs/fast-engine.md, 'Passwords in a slot that "
                   "sessions empty': workers sharing sessions are not independent; the chain "
                   "takes them so")
def test_with_sessions_workers_slots_are_independent() -> None:
    """What the engine assumes by drawing each worker's lifetimes on their own: a login on one
    worker opens a session whose requests empty the other's slot, so they are not."""
    W, logins, ttl, s, r, D, beta = WITH_SESSIONS
    free = np.exp(-beta * full_times(W, logins, ttl, s, r, D, REPLICATIONS, seed=43))
    cov, se = covariance(free)
    assert abs(cov) <= Z * se


@pytest.mark.parametrize("run", ["slot-sessions", "slot-sessions-reads"])
def test_the_engine_draws_the_slots_of_both_workers_as_the_literal_slot_gives(run: str) -> None:
    """The fast engine's paths for this case: every request drawn
    (:mod:`sim.engines.fast.session_slot`) and, past that draw's limit, the slot drawn at the
    reads (:func:`sim.engines.fast.password_reads.sample_slot_passwords_at_reads`): each one's
    P(no password taken on either worker) against the literal slots' joint value, which is
    neither the chain's nor the product of one worker's (the two tests above). The engine's
    draws are stored runs (``agreement.SIDE_RUNS``, 160,000 replications each proved current
    on their first 1,000; ``agreement.slot_free`` sets the case up), where computing 80,000
    afresh took 75 to 81 of CI's seconds. The combined standard error is then about 0.0008
    (0.0007 of it the engine's), so the chain's error on this case (0.0053 on both workers'
    ``P(N = 0)``) would be 6.8 of them."""
    W, logins, ttl, s, r, D, beta = WITH_SESSIONS
    engine = stored.load_fast(run).sample("every worker free", "mean")
    literal = np.exp(-beta * full_times(W, logins, ttl, s, r, D, REPLICATIONS, seed=45)).prod(axis=1)
    se = math.sqrt(engine.var / engine.n + literal.var(ddof=1) / literal.size)
    print(f"engine {engine.mean:.5f}, literal {literal.mean():.5f} +- {se:.5f} (combined), "
          f"chain {chain_no_capture(W, logins, ttl, s, r, D, beta) ** W:.5f}")
    assert abs(engine.mean - literal.mean()) <= Z * se
