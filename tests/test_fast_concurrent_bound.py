"""The bound that lets the integrated session path run the ``concurrent`` check
(:mod:`sim.engines.fast.concurrent_bound`): its one exact ingredient against a literal draw of
the traffic, the bound itself against the reference engine where the check passes often, and
PSMail's mail servers, where it proves the check never passes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.engines import get_engine
from sim.engines.fast.concurrent_bound import NEGLIGIBLE, _quiet, passing_captures_bound
from sim.scenario import load_scenario
from sim.scenario.model import (
    Attacker,
    KeySpec,
    ResidencySpec,
    Scenario,
    Server,
    SessionSpec,
    Timeline,
    Traffic,
)

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"

#: Family z of this module's comparisons, each at 1e-4 two-sided: three of ``P0``, and the
#: one-sided margins of the bound (where it is the more cautious).
Z = 3.89


def _literal_quiet(t: float, logins: float, other: float, workers: int, rho: float, ttl: float,
                   window: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """Per replication, whether worker 0 served no legitimate request in ``(t - W, t]``: every
    login (from 0), its session's requests (Poisson while valid) and the other requests drawn
    one by one and each routed to a uniform worker, as the reference engine does."""
    quiet = np.ones(n, dtype=bool)
    for i in range(n):
        opened = rng.uniform(0.0, t, rng.poisson(logins * t))
        requests = [opened, rng.uniform(0.0, t, rng.poisson(other * t))]
        for u in opened:
            requests.append(u + rng.uniform(0.0, ttl, rng.poisson(rho * ttl)))
        every = np.concatenate(requests)
        mine = every[rng.integers(workers, size=every.size) == 0]
        quiet[i] = not np.any((mine > t - window) & (mine <= t))
    return quiet


@pytest.mark.parametrize("t", [90.0, 400.0, 1500.0])
def test_a_workers_quiet_window_has_campbells_chance(t: float) -> None:
    """``P0(t)`` during the sessions' ramp after the cold start (the window not yet whole at
    90 s, partly filled at 400 s) and in steady state (1,500 s > ttl + W), against 20,000
    literal draws of the traffic."""
    logins, other, workers, rho, ttl, window = 0.005, 0.004, 2, 0.01, 600.0, 120.0
    exact = _quiet(t, logins, other, workers, rho / workers, ttl, window)
    n = 20_000
    seen = _literal_quiet(t, logins, other, workers, rho, ttl, window, n,
                          np.random.default_rng([17, int(t)]))
    se = np.sqrt(exact * (1.0 - exact) / n)
    z = (seen.mean() - exact) / se
    print(f"t={t}: P0 {exact:.4f}, literal {seen.mean():.4f} (z = {z:+.2f})")
    assert abs(seen.mean() - exact) <= Z * se


def _quiet_server(workers: int, logins: float, lifetime: ResidencySpec) -> Scenario:
    server = Server(
        name="s", role="mail", workers=workers, heap_bytes=1 << 20,
        keys=KeySpec(reachable=0.0, capture=0.5),
        traffic=Traffic(logins_per_s=logins, requests_per_s=logins * (1 + 600 * 0.01),
                        handshakes_per_s=0.002),
        sessions=SessionSpec(ttl=600.0, requests_per_s=0.01, capture=1.0, lifetime=lifetime,
                             binding=("concurrent",), concurrent_window=120.0),
    )
    horizon = 6000.0
    reader = Attacker(name="a", targets=("s",), rate=0.002, start_low=0.0, start_high=0.0,
                      duration=horizon, sources=1)
    return Scenario(name="quiet", timeline=Timeline("2014-04-07T00:00:00Z", 0.0, horizon, horizon),
                    servers={"s": server}, attackers={"a": reader})


@pytest.mark.parametrize(("workers", "logins", "lifetime"), [
    (1, 0.005, "next_request"), (3, 0.015, "next_request"), (1, 0.005, 200.0),
    (2, 0.005, "next_handshake")])
def test_the_bound_holds_where_the_check_passes_often(workers: int, logins: float,
                                                      lifetime: ResidencySpec) -> None:
    """A quiet server read slowly, where a session is often idle past the window when first
    captured: the reference engine's hijacks (attempts that pass, each a capture the bound
    counts) stay under the bound, with a one-sided margin of ``Z`` standard errors, for each
    residency rule of the tokens."""
    sc = _quiet_server(workers, logins, lifetime)
    bound = passing_captures_bound(sc.servers["s"], list(sc.attackers.values()), sc.horizon)
    simulate = get_engine("reference").simulate
    n = 1500
    hijacks = np.array([simulate(sc, np.random.SeedSequence(23, spawn_key=(i,)))
                        .servers["s"].session_hijack for i in range(n)])
    se = hijacks.std(ddof=1) / np.sqrt(n)
    print(f"{workers} workers, {lifetime}: hijacks {hijacks.mean():.4f} +- {se:.4f}, "
          f"bound {bound:.4f}")
    assert hijacks.mean() > 0.02  # the check passes here: the comparison is not empty
    assert hijacks.mean() - Z * se <= bound


def test_psmail_mail_servers_never_pass_the_concurrent_check() -> None:
    """The statement's binding (`scenarios/psmail-2014.yaml`) lists ``concurrent``; its mail
    workers each serve a request about every second, so a copy older than five minutes is
    never resident: the bound is far below :data:`NEGLIGIBLE` (about 1e-188)."""
    sc = load_scenario(SCENARIOS / "psmail-2014.yaml")
    mail = sc.servers["mail"]
    assert mail.sessions is not None and "concurrent" in mail.sessions.binding
    attackers = [a for a in sc.attackers.values() if "mail" in a.targets]
    assert passing_captures_bound(mail, attackers, sc.horizon) < NEGLIGIBLE * 1e-100
