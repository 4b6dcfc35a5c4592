"""Passwords that linger (``sim.engines.fast.lingering``): exact against the counting chain
where both run, against a closed form on a busy server, and refused up front past its limit.

**The closed form** (``test_one_hour_passwords_at_50_logins_per_second``). One worker, no
restart, no key, logins at ``lam`` per second from the cold start at 0, each password resident
for an exponential time of mean ``m`` (``mu = 1 / m``); one attacker sends connections at ``nu``
per second during ``[T0, T0 + D)``, each capturing a given resident password with ``q``, so a
resident password is captured at hazard ``beta = nu q`` during the attack (Poisson thinning).
A login at ``u`` is captured when its residency overlaps the attack by a time ``X`` and a
capture falls in it: ``P = 1 - E[exp(-beta X)]``.

* ``u`` inside the attack, ``s = T0 + D - u`` left: ``X = min(R, s)`` and
  ``P = beta / (mu + beta) (1 - exp(-(mu + beta) s))``; integrated over ``s in [0, D]``:
  ``beta / (mu + beta) (D - (1 - exp(-(mu + beta) D)) / (mu + beta))``.
* ``u`` before it, ``d = T0 - u`` ahead: resident at ``T0`` with ``exp(-mu d)`` and then, by
  memorylessness, as a login at ``T0``: ``exp(-mu d) beta / (mu + beta) (1 - exp(-(mu +
  beta) D))``; integrated over ``d in [0, T0]``: ``(1 - exp(-mu T0)) / mu`` times that.

``E[N] = lam`` times the sum of both.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import bleedsim
from scipy import integrate, stats
from scipy.stats import norm

from sim.engines.fast.password_chain import CountChain, lifetime_moments, state_count
from sim.engines.fast.lingering import READ_LIMIT, sample_each_login, sample_lingering
from sim.engines.fast.segments import AttackerRates, CrashInfo, KeyCapture, WorkerLifetime, Segment
from sim.montecarlo.intervals import wilson
from sim.scenario.model import PasswordSpec

Z = norm.ppf(1 - 0.001 / 2)


def attacker(name: str, nu: float, c: float, key_ops: int = 0, heartbeats: int = 1,
             benign: bool = False) -> AttackerRates:
    return AttackerRates(name, benign, nu, heartbeats, key_ops, 0.0, c, 0.0)


def segment(t0: float, t1: float, attackers: tuple[AttackerRates, ...], logins: float = 0.05,
            handshakes: float = 0.0, crash: float = 0.0) -> Segment:
    return Segment(t0, t1, True, logins, logins, 0.0, handshakes, crash, attackers)


EVE, MALLORY = attacker("eve", 0.3, 0.4), attacker("mallory", 0.1, 0.7, heartbeats=2)
CASES = {
    # A duration lifetime, quiet start, two attackers: nested counting sets.
    "duration": (PasswordSpec(lifetime=20.0),
                 [segment(0.0, 30.0, ()), segment(30.0, 80.0, (EVE, MALLORY)),
                  segment(80.0, 100.0, (EVE,))],
                 WorkerLifetime(0, 0.0, 100.0, False)),
    # A key capture inside the lifetime and a crash ending it: point reads.
    "point reads": (PasswordSpec(lifetime=15.0),
                    [segment(0.0, 60.0, (EVE, MALLORY), crash=0.01)],
                    WorkerLifetime(0, 0.0, 60.0, True, "crash", CrashInfo("mallory", 1, 0),
                             [KeyCapture(25.0, "eve", 1)])),
    # next_handshake: rare legitimate handshakes and an attacker whose key operation clears.
    "next_handshake": (PasswordSpec(lifetime="next_handshake"),
                       [segment(0.0, 100.0, (attacker("eve", 0.05, 0.5),
                                             attacker("op", 0.02, 0.9, key_ops=1)),
                                handshakes=0.03)],
                       WorkerLifetime(0, 0.0, 100.0, False)),
}


def each_login(spec: PasswordSpec, segs: list[Segment], lts: list[WorkerLifetime],
               sets: list[frozenset[str]], rng: np.random.Generator,
               max_requests: int | None = None) -> tuple[list[int], None]:
    """:func:`sample_each_login` with :func:`sample_lingering`'s counts per set: each attacker
    alone, or every malicious attacker together (the only sets it counts)."""
    total, each, times = sample_each_login(spec, segs, lts, rng, max_requests)
    malicious = frozenset(a.name for seg in segs for a in seg.attackers if not a.benign)
    assert all(len(s) == 1 or s == malicious for s in sets)
    assert all(times[n].size == k for n, k in each.items())
    return [each[next(iter(s))] if len(s) == 1 else total for s in sets], None


#: The two exact lingering samplers: by counting sets, and login by login (taken with two or
#: more malicious attackers where cheaper, and always past ``sessions.MAX_MALICIOUS``).
SAMPLERS = {"counting sets": sample_lingering, "each login": each_login}


@pytest.mark.parametrize("sampler", sorted(SAMPLERS))
@pytest.mark.parametrize("case", sorted(CASES))
def test_agrees_with_the_counting_chain(case: str, sampler: str) -> None:
    """Where the chain is small enough to integrate, it gives the exact ``P(N > 0)`` and
    ``E[N]`` of one lifetime for every counting set; each sampler's counts must match both."""
    spec, segs, lt = CASES[case]
    names = sorted({a.name for s in segs for a in s.attackers})
    sets = [frozenset({n}) for n in names] + [frozenset(names)]
    chain = CountChain(spec, segs, state_count(spec, segs, [lt]))
    exact = lifetime_moments(chain, lt, sets, [s.t0 for s in segs])
    assert exact is not None
    n = 4000
    rng = np.random.default_rng(7)
    draw = SAMPLERS[sampler]
    counts = np.array([draw(spec, segs, [lt], sets, rng)[0] for _ in range(n)])
    for j, (p, m) in enumerate(exact):
        ci = wilson(float((counts[:, j] > 0).mean()), n, Z)
        lo, hi = ci.low, ci.high
        assert hi is not None and lo <= p <= hi, (case, sets[j], p, lo, hi)
        se = counts[:, j].std(ddof=1) / math.sqrt(n)
        assert abs(counts[:, j].mean() - m) <= Z * se, (case, sets[j], m, counts[:, j].mean())
    # A set never counts fewer than one of its members.
    assert (counts[:, -1][:, None] >= counts[:, :-1]).all()


LINGER_YAML = """\
name: linger
description: one-hour passwords on a busy server
timeline:
  start: 2014-04-08T00:00:00Z
  vulnerable_since: 2012-03-14T00:00:00Z
  disclosed_at: 2014-04-07T17:27:00Z
  analysis_at: start+6h
servers:
  mail:
    role: mail
    hosts: 1
    workers: 1
    heap_bytes: 64MB
    traffic: {{logins_per_s: 50, requests_per_s: 60}}
    keys: {{reachable: 0, copies_per_handshake: 0}}
    passwords: {{bytes: 64, lifetime: 1h, capture: 0.001}}
attackers:
  reaper:
    targets: [mail]
    start: start+2h
    duration: 3h
    rate: {rate}
    payload_bytes: 65535
monte_carlo: {{replications: 200, seed: 3, engine: fast}}
"""


def closed_mean(lam: float, m: float, beta: float, t0: float, d: float) -> float:
    """``E[N]`` of the module docstring."""
    mu = 1.0 / m
    g = mu + beta
    inside = beta / g * (d - -math.expm1(-g * d) / g)
    before = -math.expm1(-mu * t0) / mu * beta / g * -math.expm1(-g * d)
    return lam * (inside + before)


def test_one_hour_passwords_at_50_logins_per_second(tmp_path: Path) -> None:
    """About 180,000 passwords resident at once: 200 replications through the CLI, the mean
    count within the run's own interval of the closed form (module docstring)."""
    path = tmp_path / "linger.yaml"
    path.write_text(LINGER_YAML.format(rate=0.05))
    out = tmp_path / "out"
    done = bleedsim("run", str(path), "--out", str(out), "--jobs", "1", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    result = json.loads((out / "results.json").read_text())["outcomes"]["password"]
    expected = closed_mean(50.0, 3600.0, 0.05 * 0.001, 2 * 3600.0, 3 * 3600.0)
    lo, hi = result["mean_ci95"]
    half = (hi - lo) / 2 * Z / norm.ppf(0.975)
    assert abs(result["mean"] - expected) <= half, (result["mean"], expected)


def test_too_many_reads_is_refused_before_any_work(tmp_path: Path) -> None:
    """Past ``READ_LIMIT`` sampled reads the run is refused by ``check``: exit 2, one
    message, no traceback, nothing written."""
    rate = 2 * READ_LIMIT / (3 * 3600.0)
    path = tmp_path / "linger.yaml"
    path.write_text(LINGER_YAML.format(rate=rate))
    out = tmp_path / "out"
    done = bleedsim("run", str(path), "--out", str(out), cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("bleedsim: engine fast cannot run linger: server mail")
    assert len(done.stderr.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize("sampler", sorted(SAMPLERS))
def test_a_lifetime_ended_by_max_requests_holds_its_count(sampler: str) -> None:
    """``docs/fast-engine.md``, item 13. A lifetime ``[0, T)`` that ended at its ``N``-th
    request holds ``N - 1`` requests and connections before it, wherever its rates would put
    more: here logins at ``lam`` (every legitimate request is one) and one attacker's
    connections at ``nu``, so ``K ~ Binomial(N - 1, lam / (lam + nu))`` of them are logins,
    the others reads, all uniform on ``[0, T)``. A login at ``u`` resident for ``R`` (mean
    ``m``) is taken by a read at ``r`` when ``u < r < u + R`` (chance ``min(R, T - u) / T``
    for one uniform read) and the read captures (``q``), so with ``J`` reads it escapes with
    ``E[(1 - q min(R, T - u) / T)^J]``, and ``E[N] = E[K P(capture | N - 1 - K reads)]``. The
    ``N``-th, at ``T``, is a read with chance ``nu / (lam + nu)``, served before the restart:
    it takes every login still resident (``R > T - u``) with chance ``q``. The free Poisson
    streams (before the count) would give 35 points where there are 14."""
    lam, nu, q, m, T, N = 0.05, 0.3, 0.4, 20.0, 100.0, 15
    spec = PasswordSpec(lifetime=m)
    segs = [segment(0.0, T, (attacker("eve", nu, q),), logins=lam)]
    lt = WorkerLifetime(0, 0.0, T, False, "max_requests")
    p = lam / (lam + nu)

    def escape(reads: int) -> float:
        def at(u: float) -> float:  # over the residency: shorter than what is left, or not
            short = integrate.quad(lambda R: math.exp(-R / m) / m * (1.0 - q * R / T) ** reads,
                                   0.0, T - u)[0]
            last = p + (1.0 - p) * (1.0 - q)  # the N-th misses it or is a login
            return short + math.exp(-(T - u) / m) * (1.0 - q * (T - u) / T) ** reads * last
        return integrate.quad(at, 0.0, T, limit=200)[0] / T

    exact = sum(stats.binom.pmf(k, N - 1, p) * k * (1.0 - escape(N - 1 - k)) for k in range(N))
    rng = np.random.default_rng(2026)
    n = 20_000
    draw = SAMPLERS[sampler]
    counts = np.array([draw(spec, segs, [lt], [frozenset({"eve"})], rng, N)[0][0]
                       for _ in range(n)])
    se = counts.std(ddof=1) / math.sqrt(n)
    print(f"E[N]: sampled {counts.mean():.4f} +- {se:.4f}, exact {exact:.4f}")
    assert abs(counts.mean() - exact) <= Z * se


@pytest.mark.slow
@pytest.mark.parametrize("sampler", sorted(SAMPLERS))
def test_several_attackers_capture_as_dependently_as_the_chain_says(sampler: str) -> None:
    """One login's captures by two attackers share its residency, so they are dependent:
    ``P(both take one) = 1 - P0(A) - P0(B) + P0(A or B)``, each ``P0`` exact on the counting
    chain. Drawing each attacker from its margin with a shared uniform made them comonotone:
    0.829 against the chain's 0.812 on this case (9 standard errors at 40,000)."""
    spec, segs, lt = CASES["duration"]
    a, b = frozenset({"eve"}), frozenset({"mallory"})
    sets = [a, b, a | b]
    chain = CountChain(spec, segs, state_count(spec, segs, [lt]))
    moments = lifetime_moments(chain, lt, sets, [0.0])
    assert moments is not None
    free = {s: 1.0 - moments[j][0] for j, s in enumerate(sets)}
    exact = 1.0 - free[a] - free[b] + free[a | b]
    rng = np.random.default_rng(7)
    n = 40_000
    draw = SAMPLERS[sampler]
    counts = np.array([draw(spec, segs, [lt], sets, rng)[0] for _ in range(n)])
    both = int(((counts[:, 0] > 0) & (counts[:, 1] > 0)).sum())
    ci = wilson(both / n, n, Z)
    print(f"P(both): sampled {both / n:.4f} [{ci.low:.4f}, {ci.high:.4f}], exact {exact:.4f}")
    assert ci.low <= exact <= ci.high
