"""A ``next_request`` password's residency when sessions drive the traffic, against the model.

A login at ``u`` leaves its password until the worker's next request. Requests that are
neither logins nor session requests come at ``r`` (Poisson), logins at ``lam`` per worker,
and each open session sends ``a`` requests per second to this worker. Seen from the login, the
sessions open at ``u`` are a Poisson number with uniform remaining lives on ``[0, ttl]``, its
own session has just opened, and sessions opened elsewhere later add to the traffic (logins
here would end the residency anyway). Campbell's formula gives, for ``t <= ttl``,

    -log S(t) = (r + lam + a) t + L ((ttl - t) (1 - e^(-a t)) + g(t)) + (L - lam) g(t),
    g(t) = t - (1 - e^(-a t)) / a,

``L = W lam`` the server's logins. In a lifetime ``[0, T)`` that starts empty and a hazard
``beta`` of capture, a login at ``u`` is captured with ``int_0^(T-u) beta e^(-beta t) S(t) dt``,
so the expected number captured is ``lam int_0^T beta e^(-beta t) S(t) (T - t) dt``.

The engine's chain (``password_chain.slot_clearing``) drops a factor ``exp(-rho(t))``,
``rho(t) = L (2 g(t) - t (1 - e^(-a t)))`` (of order ``L a^2 t^3 / 6``), which leaves
``S_mix(t) = exp(-(r + a) t - mu (1 - e^(-a t)))``, ``mu = L ttl + lam / a``: the Laplace
transform of a Poisson(``mu``) count of sessions; and it takes that count at Gauss nodes,
``S_gauss``. The chain's expected count must equal the formula with ``S_gauss`` to rounding,
and differ from the model by no more than the two approximations' sizes, each computed here
from its formula (``|S - S_mix|`` and ``|S_mix - S_gauss|`` under the same weight). The chain
that took the requests as Poisson at their mean rate, before, was about 1% off on these cases
(``a / (r + lam + m a)`` from the password's own session, less the spread of the others').
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from sim.engines.fast.password_chain import CountChain, lifetime_moments, open_session_nodes
from sim.engines.fast.segments import AttackerRates, WorkerLifetime, Segment
from sim.scenario.model import PasswordSpec

#: (per-worker other requests r, workers W, server logins L, ttl, per-session rate s, beta)
CASES = [
    (0.015, 2, 0.02, 600.0, 0.002, 0.01),  # the agreement suite's mail server
    (0.015, 2, 0.02, 600.0, 0.002, 0.001),
    (0.005, 2, 0.02, 600.0, 0.01, 0.05),  # sessions make almost all of the traffic
    (0.0, 1, 0.02, 600.0, 0.002, 0.003),  # one worker, no other requests
    (0.125, 8, 0.5, 1800.0, 0.01, 0.02),  # a larger server
]
T = 4000.0


def survival(t: float, r: float, W: int, L: float, ttl: float, a: float) -> float:
    lam = L / W
    g = t - -math.expm1(-a * t) / a
    return math.exp(-(r + lam + a) * t - L * ((ttl - t) * -math.expm1(-a * t) + g)
                    - (L - lam) * g)


def mixture(t: float, r: float, W: int, L: float, ttl: float, a: float) -> float:
    return math.exp(-(r + a) * t - (L * ttl + L / W / a) * -math.expm1(-a * t))


def gauss(t: float, r: float, W: int, L: float, ttl: float, a: float) -> float:
    nodes, weights = open_session_nodes(L * ttl + L / W / a)
    return math.exp(-(r + a) * t) * float(weights @ np.exp(-a * t * nodes))


def weighted(f, beta: float, lam: float, ttl: float) -> float:
    """``lam int_0^T beta e^(-beta t) f(t) (T - t) dt``; past ``ttl`` the integrand is below
    ``e^(-beta ttl - r ttl ...)``, negligible for every case (asserted)."""
    assert T > ttl
    value, _ = integrate.quad(lambda t: beta * math.exp(-beta * t) * f(t) * (T - t),
                              0.0, ttl, limit=400)
    return lam * value


@pytest.mark.parametrize("case", CASES)
def test_password_captures_under_session_traffic_match_campbells_formula(case) -> None:
    r, W, L, ttl, s, beta = case
    a, lam = s / W, L / W
    sessions = L * ttl * s / W
    seg = Segment(0.0, T, True, r + lam + sessions, lam, sessions, 0.0, 0.0,
                  (AttackerRates("eve", False, beta, 1, 0, 0.0, 1.0, 0.0),), session_rate=a)
    chain = CountChain(PasswordSpec(), [seg], 2)
    moments = lifetime_moments(chain, WorkerLifetime(0, 0.0, T, False), [frozenset({"eve"})], [0.0])
    assert moments is not None
    mean = moments[0][1]
    exact = weighted(lambda t: survival(t, r, W, L, ttl, a), beta, lam, ttl)
    implemented = weighted(lambda t: gauss(t, r, W, L, ttl, a), beta, lam, ttl)
    dropped = weighted(lambda t: abs(survival(t, r, W, L, ttl, a) - mixture(t, r, W, L, ttl, a)),
                       beta, lam, ttl)
    quadrature = weighted(lambda t: abs(mixture(t, r, W, L, ttl, a) - gauss(t, r, W, L, ttl, a)),
                          beta, lam, ttl)
    tail = lam * T * survival(ttl, r, W, L, ttl, a)
    print(f"{case}: chain {mean:.6f} exact {exact:.6f} ({mean / exact - 1:+.4%}), "
          f"dropped factor {dropped / exact:.4%}, quadrature {quadrature / exact:.4%}")
    assert tail < 1e-6 * exact
    assert mean == pytest.approx(implemented, rel=1e-7)
    assert abs(mean - exact) <= dropped + quadrature + tail + 1e-7 * exact

def test_without_sessions_the_slot_clears_at_the_request_rate() -> None:
    """No session traffic: the residency is exponential at the request rate, as before."""
    seg = Segment(0.0, T, True, 0.05, 0.01, 0.0, 0.0, 0.0,
                  (AttackerRates("eve", False, 0.02, 1, 0, 0.0, 1.0, 0.0),))
    chain = CountChain(PasswordSpec(), [seg], 2)
    assert chain.n == 2
