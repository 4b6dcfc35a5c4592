"""Where rule 21's ``concurrent`` check cannot pass: a bound that lets the integrated session
path run it without the victims' request times.

The check passes only when the victim's session made no request, its login included, in
``(t - W, t]`` before the attempt at ``t`` (``W`` = ``concurrent_window``). An attempt is made
at a capture, so a passing attempt needs a capture at ``t`` of a token copy whose session is
valid at ``t``, opened before ``t - W`` and idle since. This module bounds the expected number
of such captures in one replication, ``C``, from the scenario alone. The event that any attempt
passes has probability at most ``C``; where ``C`` is at most :data:`NEGLIGIBLE`, an engine that
blocks every attempt differs from the model only on that event, so every reported probability
and mean moves by at most about ``C`` (a million replications all agree with an exact draw with
probability at least ``1 - 1e6 C``).

The bound, per worker and instant ``t`` (``Lambda`` logins per second on the server, ``rho``
one session's requests per second, ``n`` workers, each request to a uniform one; rules 4 and
18), by the Slivnyak-Mecke formula (the other sessions are still a Poisson process given one):

    q(t) <= Lambda (min(t, ttl) - W)+  e^(-rho W)  K  S(t)

``Lambda (min(t, ttl) - W)+`` sessions are valid at ``t`` and opened before ``t - W`` (cold
start at 0, rule 18), each idle over the window with probability ``e^(-rho W)`` (its requests
are Poisson while it is valid), and holds on the worker ``K`` copies placed before ``t - W``
that are still resident with probability ``S(t)``:

* ``next_request``: one copy at most, ``K = 1``, and it survives only if the worker served no
  other legitimate request in the window: ``S(t) = P0(t)``, exactly by Campbell's formula over
  the other logins (each reaches the worker with its own request when inside the window, and
  its session sends ``k = rho / n`` per second to the worker while it overlaps the window),
  plus the other requests' Poisson stream;
* ``next_handshake`` and a mean lifetime ``m``: at most ``k (ttl - W)`` copies expected, each
  resident past the window with probability at most ``e^(-h W / n)`` (the legitimate key
  operations, ``h`` per second on the server) or ``e^(-W / m)``.

Restarts and attackers' key operations only remove copies, so leaving them out keeps it a
bound. An attacker reads one worker per connection and captures a resident copy with
probability at most 1; its potential connections (its whole longest window at its rate,
whether or not it stops early) are independent of the legitimate traffic, so ``C`` is at most
the sum, over the malicious attackers that reuse sessions, of their expected connections times
``sup q`` over the instants they can send at. ``P0`` falls with ``t`` and the prefactor rises,
so on a grid ``t_0 < t_1 < ...`` the bracket ``prefactor(t_(i+1)) P0(t_i)`` bounds ``q`` on
``[t_i, t_(i+1)]``; past ``ttl + W`` nothing changes.

On a busy server this is astronomically small (PSMail's mail servers: about 1e-188; a refusal
prints it), so the statement's check can be modelled where the sessions are too many
to draw one by one; on a quiet one, or with tokens that linger, the check can pass and only the
literal draw runs it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

from scipy import integrate

from sim.model.attackers import longest_window
from sim.scenario.model import Attacker, ResidencySpec, Server

#: Largest expected number of passing captures per replication for which the integrated path
#: blocks every ``concurrent`` attempt; below a billionth, no run can tell.
NEGLIGIBLE = 1e-9
#: Grid steps of the bracket over ``[t_low, ttl + W]``.
_GRID = 256


def concurrent_never_passes(
    server: Server, attackers: Sequence[Attacker], horizon: float,
) -> bool:
    """Whether ``server`` lists the ``concurrent`` check and it provably never passes."""
    return ("concurrent" in server.binding
            and passing_captures_bound(server, attackers, horizon) <= NEGLIGIBLE)


def passing_captures_bound(server: Server, attackers: Sequence[Attacker], horizon: float) -> float:
    """An upper bound on the expected captures per replication, by the attackers that reuse
    sessions, of a token whose session would pass the ``concurrent`` check at that instant."""
    spec, traffic = server.sessions, server.traffic
    if spec is None:
        return 0.0
    logins = server.hosts * traffic.logins_per_s
    other = server.hosts * traffic.other_requests_per_s(spec)
    handshakes = server.hosts * traffic.handshakes_per_s
    total = 0.0
    for a in attackers:
        if a.benign or not a.reuses_sessions:
            continue
        connections = a.connection_rate * longest_window(a, horizon)
        if connections > 0.0:
            total += connections * _sup_idle_copies(
                logins, other, handshakes, server.total_workers, spec.requests_per_s, spec.ttl,
                spec.concurrent_window, spec.lifetime, max(0.0, a.start_low))
    return total


@lru_cache(maxsize=256)
def _sup_idle_copies(
    logins: float, other: float, handshakes: float, workers: int, rho: float, ttl: float,
    window: float, lifetime: ResidencySpec, t_low: float,
) -> float:
    """``sup q(t)`` over ``t >= t_low`` (module docstring)."""
    if logins <= 0.0 or ttl <= window:
        return 0.0
    idle = logins * math.exp(-rho * window)
    k = rho / workers
    if lifetime != "next_request":  # the copies placed before the window, each outliving it
        rate = handshakes / workers if lifetime == "next_handshake" else 1.0 / float(lifetime)
        return idle * (ttl - window) * k * (ttl - window) * math.exp(-rate * window)
    end = max(t_low, ttl + window)
    steps = _GRID if end > t_low else 1  # from ttl + W on, q is constant
    grid = [t_low + (end - t_low) * i / steps for i in range(steps + 1)]
    best = 0.0
    for lo, hi in zip(grid, grid[1:]):
        prefactor = max(0.0, min(hi, ttl) - window)
        if prefactor > 0.0:
            best = max(best, idle * prefactor * _quiet(lo, logins, other, workers, k, ttl, window))
    return best


def _quiet(t: float, logins: float, other: float, workers: int, k: float, ttl: float,
           window: float) -> float:
    """``P0(t)``: the chance a worker serves no legitimate request in ``(t - W, t]`` from the
    other requests and the logins other than the one given, with their sessions' requests. By
    Campbell's formula over the logins, ``v`` seconds before ``t``: none reaches the worker with
    probability ``(1 - [v < W] / n) e^(-k overlap(v))``, its own request in the window and its
    session's there being routed independently."""
    overlap = lambda v: max(0.0, min(v, window) - max(0.0, v - ttl))  # noqa: E731
    missed = lambda v: (1.0 - (v < window) / workers) * math.exp(-k * overlap(v))  # noqa: E731
    reach = min(t, ttl + window)
    kinks = sorted({x for x in (window, ttl) if 0.0 < x < reach})
    reached, _ = integrate.quad(lambda v: 1.0 - missed(v), 0.0, reach, points=kinks or None,
                                limit=200)
    return math.exp(-other / workers * min(window, t) - logins * reached)
