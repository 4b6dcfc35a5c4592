"""The agreement suite's scenarios, samples and comparisons, and its stored runs.

The fast engine is checked against the reference engine, the literal model, on small scenarios
(``test_engines_agree.py``). Power costs replications: a 1-point bias at ``p = 0.5`` is caught
with probability 0.8 at the suite's ``z`` of about 4.1 only when the standard error of the
difference is near 0.002, some 135,000 replications a side, hours of CPU where the whole suite
has 15 minutes on 2 cores. So both sides are run once and kept as sums in
``tests/data/agreement/``, by ``tests/agreement_reference.py``:

* the reference engine, :data:`REFERENCE_REPLICATIONS` per scenario (``<scenario>.json``);
  every test recomputes the first :data:`REFERENCE_CHECKED`;
* the fast engine, :data:`FAST_STORED` per scenario (``<scenario>.fast.json``); every test
  recomputes the first :data:`FAST_CHECKED`.

Other statistical tests keep their runs the same way (:data:`SIDE_RUNS`, the same checks):
those that compare the engines on scenarios of their own, and those that compare the fast
engine with itself on a forced path, with a closed form or with a literal simulation, so that
CI recomputes only the checks.

A stored run is trusted only while it is still its engine's output on the same scenario: the
file records the scenario's fingerprint (its full ``repr``) and a digest of every quantity over
the replications recomputed (their seeds are per replication, so they come out byte-identical),
and the test fails, naming the command that regenerates the file, if anything differs. What a
change could hide from that check is bounded: if it alters a share ``f`` of all replications,
the chance that none of ``k`` recomputed ones is among them is ``(1 - f)^k``, so with the
fast side's ``k`` of 1,000 a change of more than 0.3% of replications is seen with
probability 0.95 or more, and changing 0.3% of the replications moves any P(any) by at most
0.3 points, under a third of the bias the suite must catch (a mean by at most 0.3% times the
largest change of a count). The reference's 500 see a change of 0.6% of its replications
with probability 0.95: the literal model, which changes rarely and then on purpose. These
sizes are what CI's 15 minutes on 2 cores leave them: the checks of every stored run take
about 300 CPU-seconds together. (Until 2026-12-05 they were 6,500 to 7,000 and 3,000
replications, which bounded what a change could hide at 0.05 and 0.1 points, and the whole
suite took 31 minutes on 2 cores; 18 with 2,000 and 1,000. Before 2026-12-04 the reference
was checked on 300 replications spread over the run.)
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
from scipy.stats import fisher_exact, norm

from sim.engines import get_engine
from sim.engines.fast.segments import AttackerRates, Segment, WorkerLifetime
from sim.model.alerts import AlertSummary
from sim.model.detectors import evaluate
from sim.model.record import Connection, ReplicationRecord
from sim.scenario.model import (
    Attacker,
    Detector,
    KeySpec,
    PasswordSpec,
    RestartPolicy,
    Scenario,
    Server,
    SessionSpec,
    Timeline,
    Traffic,
)

Z = norm.ppf(1 - 0.001 / 2)
HORIZON = 7200.0
DATA = Path(__file__).resolve().parent / "data" / "agreement"
#: Reference replications stored per scenario; past it the fast side's own error dominates.
REFERENCE_REPLICATIONS = 120_000
REFERENCE_SEED = 12
#: The first stored reference replications, recomputed by every test to prove the file is still
#: the engine's output: 8 CPU-seconds a scenario at 15 ms a replication, 53 on ``heavy``.
REFERENCE_CHECKED = 500
#: Fast replications stored per scenario: at least the 134,800 with which a 1-point bias at
#: ``p = 0.5`` is caught with probability 0.8 at ``z = 4.2`` against the stored reference.
FAST_STORED = 140_000
FAST_SEED = 11
#: The first fast replications of each stored run, recomputed by every test: 8 to 14 ms a
#: replication on a light scenario, 30 on ``heavy`` (2026-12-05, both cores busy). Until
#: 2026-12-05 they were 6,500 to 7,000 and the reference's 3,000, and the suite took 31
#: minutes on 2 cores; what the smaller checks can miss is bounded in the module's docstring.
FAST_CHECKED = 1_000
REGENERATE = ".venv/bin/python tests/agreement_reference.py"
#: Comparisons (quantity and ``p_any`` or ``mean``) that fail at the stored runs' full power
#: and are not fixed yet (``docs/fast-engine.md``, "Open at full power", says what is known). The every-outcome
#: test holds each to the power of the recomputed replications alone, what CI compared until
#: 2026-12-04, and fails as soon as one passes at full power, so the list can only shrink
#: (unless a change shows a bias that another one hid: late on 2026-12-04 the reaper's
#: ``volume`` alerts left it and four came in; on 2026-12-05 the three about sessions left,
#: docs/fast-engine.md says how). Empty since the fast runs were regenerated late on
#: 2026-12-05 (new random numbers): the last one, ``lingering``'s checker's password mean,
#: came out within the family ``z`` there, and its cause (item 11 of docs/fast-engine.md)
#: was fixed later that day: z = -0.02 in the runs regenerated for it.
OPEN_AT_FULL_POWER: dict[str, frozenset[str]] = {}


def mail_server(**overrides) -> Server:
    fields = dict(
        name="mail",
        role="mail",
        hosts=1,
        workers=2,
        heap_bytes=1 << 20,
        restart=RestartPolicy(every=1500.0, jitter=200.0, max_requests=80),
        crash_probability=0.002,
        traffic=Traffic(handshakes_per_s=0.05, logins_per_s=0.02,
                        requests_per_s=0.02 + 0.02 * 600 * 0.002 + 0.03),
        keys=KeySpec(reachable=0.2, copies_per_handshake=1.0, piece_bytes=120, capture=0.05),
        passwords=PasswordSpec(capture=0.6),
        sessions=SessionSpec(ttl=600.0, requests_per_s=0.002, capture=0.5, binding=("ip",),
                             shared_address_probability=0.3),
    )
    fields.update(overrides)
    return Server(**fields)


def small_scenario(**server_overrides) -> Scenario:
    attackers = {
        "reaper": Attacker(name="reaper", targets=("mail",), rate=0.02, start_low=2400.0,
                           start_high=3600.0, duration=2400.0, heartbeats_per_connection=2,
                           key_ops_per_connection=1, sources=3, stop_when=("key",), encrypted=True),
        "sneak": Attacker(name="sneak", targets=("mail",), rate=0.004, start_low=3000.0,
                          start_high=3000.0, presence=0.5, payload_bytes=16384),
        "checker": Attacker(name="checker", targets=("mail",), rate=0.01, start_low=5000.0,
                            start_high=5000.0, duration=1200.0, benign=True, payload_bytes=16384),
    }
    every = ("mail",)
    detectors = {
        "ids": Detector(name="ids", kind="signature", servers=every, threshold=2,
                        window=600.0, deployed_at=3600.0, replay_capture=900.0),
        "ids-all": Detector(name="ids-all", kind="signature", servers=every,
                            matches_encrypted=True, retention=3600.0),
        "volume": Detector(name="volume", kind="rate", servers=every, count="heartbeats",
                           threshold=4, window=900.0),
        "bytes": Detector(name="bytes", kind="asymmetry", servers=every,
                          threshold_bytes=150_000, window=1200.0),
        "crashes": Detector(name="crashes", kind="crash", servers=every),
        "sessions": Detector(name="sessions", kind="session", servers=every,
                             log_address_change=True, retention=2400.0),
    }
    return Scenario(
        name="agree",
        timeline=Timeline("2014-04-07T00:00:00Z", 0.0, 5400.0, HORIZON),
        servers={"mail": mail_server(**server_overrides)},
        attackers=attackers,
        detectors=detectors,
    )


def never(sc: Scenario) -> Scenario:
    """Every attacker sends through its whole window (``stop_when: never``)."""
    return replace(sc, attackers={n: replace(a, stop_when=()) for n, a in sc.attackers.items()})


PATCHED_AT = 5400.0


def choices() -> Scenario:
    """Attacker choices (``model.md`` rules 8, 9, 22): a harvester that never replays, a thief
    that logs in with passwords only, an attacker that replays both, and the server patched
    inside every window, so ``stop_when: [patched]`` ends them at an unanswered connection. A
    ``login`` detector with retention and notice below 1 reads the thief's logins, some from
    shared addresses."""
    sc = small_scenario(
        patched_at=PATCHED_AT,
        passwords=PasswordSpec(capture=0.6, shared_address_probability=0.3))
    a = sc.attackers
    attackers = {
        "reaper": replace(a["reaper"], stop_when=("key", "patched"), reuse=("sessions", "passwords")),
        "sneak": replace(a["sneak"], stop_when=("patched",), reuse=("passwords",)),
        "harvester": Attacker(name="harvester", targets=("mail",), rate=0.006, start_low=1800.0,
                              start_high=4200.0, presence=0.5, heartbeats_per_connection=3,
                              stop_when=("patched",), reuse=()),
        "checker": a["checker"],
    }
    logins = Detector(name="logins", kind="login", servers=("mail",), retention=3000.0,
                      notice_probability=0.8)
    return replace(sc, attackers=attackers, detectors={**sc.detectors, "logins": logins})


def scheduled() -> Scenario:
    """Scheduled restarts without ``max_requests``, frequent crashes, and attackers whose reads
    are too short for a key piece (100 of 120 bytes) beside the reaper: wherever no watched
    attacker can take the key (before the reaper comes, after it has the key) the fast engine
    draws each configuration's restarts and crashes at once (``skeleton.ServerRun._cross``)."""
    sc = never(small_scenario(restart=RestartPolicy(every=600.0, jitter=300.0),
                              crash_probability=0.01))
    a = sc.attackers
    short = {n: replace(a[n], payload_bytes=100) for n in ("sneak", "checker")}
    return replace(sc, attackers={**a, **short})


def heavy() -> Scenario:
    """A heavy attacker beside the listed ones: the sneak sends about 2,100 connections, past
    :data:`sim.engines.fast.listed.LISTED_LIMIT`, so its traffic is the phases' (item 9),
    thinned while it watches the key by the stationary miss (item 7), as every attacker of
    PSMail; and it drives the ``max_requests`` restarts (one every 280 s or so a worker while
    it sends: item 13). Its passwords and sessions take the shared buffer's literal draw (the
    skeleton draws the logins for it), not PSMail's counting chain and draw at the reads:
    ``heavy-psmail-paths`` (:data:`SIDE_RUNS`) forces those here."""
    sc = never(small_scenario())
    sneak = replace(sc.attackers["sneak"], rate=0.5, presence=1.0)
    return replace(sc, attackers={**sc.attackers, "sneak": sneak})


#: Small scenarios for both engines: overlapping attackers with ``stop_when`` both ways,
#: crashes and ``max_requests`` (in all but one), lingering secrets, binding checks, the
#: attacker choices (``reuse``, ``stop_when: [patched]``, mail logins), scheduled restarts
#: alone, and a heavy attacker.
SCENARIOS: dict[str, Callable[[], Scenario]] = {
    "overlap-never": lambda: never(small_scenario()),
    "stop-on-key": lambda: small_scenario(),
    "lingering": lambda: never(small_scenario(
        keys=KeySpec(reachable=0.2, copies_per_handshake=1.0, piece_bytes=120, capture=0.05,
                     copy_lifetime=60.0),
        passwords=PasswordSpec(capture=0.6, lifetime=900.0, kind="otp"),
        sessions=SessionSpec(ttl=600.0, requests_per_s=0.002, capture=0.5, binding=("ip",),
                             shared_address_probability=0.3, lifetime=300.0))),
    "binding": lambda: small_scenario(
        sessions=SessionSpec(ttl=600.0, requests_per_s=0.002, capture=0.5,
                             binding=("ip", "browser", "concurrent"),
                             shared_address_probability=0.6, browser_match_probability=0.5,
                             concurrent_window=300.0)),
    "choices": choices,
    "scheduled": scheduled,
    "heavy": heavy,
}

# -- samples -----------------------------------------------------------------------------------

Run = tuple[ReplicationRecord, AlertSummary]
Extract = Callable[[Run], float]
OUTCOMES = ("key", "password", "password_reusable", "session", "session_hijack")


def extractors(sc: Scenario) -> dict[str, Extract]:
    """Every quantity compared: each outcome per server and per attacker, the hijacks had the
    server made only its first ``k`` binding checks (what each check bought), crashes, the reuse
    and login logs, the unanswered connection of ``stop_when: [patched]``, and every
    detector's alerts per attacker (raised and retained)."""
    out: dict[str, Extract] = {}
    for o in OUTCOMES:
        out[f"mail/{o}"] = lambda r, o=o: getattr(r[0].servers["mail"], o)
        for a in sc.attackers:
            out[f"{a}/{o}"] = lambda r, o=o, a=a: getattr(r[0].attackers[a]["mail"], o)
    for k in range(len(sc.servers["mail"].binding)):
        out[f"mail/session_hijack/checks/{k}"] = (
            lambda r, k=k: _padded(r[0].servers["mail"].session_hijack_by_checks, k))
    out["crashes"] = lambda r: len(r[0].observations.crashes)
    out["session_reuses"] = lambda r: len(r[0].observations.reuse_attempts())
    out["password_logins"] = lambda r: sum(len(g) for g in r[0].observations.password_logins)
    for a, attacker in sc.attackers.items():
        if attacker.stops_when_patched:
            out[f"{a}/unanswered"] = lambda r, a=a: sum(
                c.attacker == a and c.heartbeats_answered == 0 for c in listed(r[0]))
    for d in sc.detectors:
        for a in sc.attackers:
            for kind in ("raised", "retained"):
                out[f"{d}/{a}/{kind}"] = (
                    lambda r, d=d, a=a, kind=kind: getattr(r[1].counts(d, a), kind)
                )
    out.update(unseen_extractors(sc))
    return out


def _padded(counts: tuple[int, ...], k: int) -> int:
    """``counts[k]``, 0 past its end (a server that tried no session keeps none)."""
    return counts[k] if k < len(counts) else 0


#: Marks a quantity of :func:`unseen_extractors`: ``<who>/<kind>&unseen-by-<detector or any>``.
JOINT = "&unseen-by-"


def unseen_extractors(sc: Scenario) -> dict[str, Extract]:
    """Captures and the evidence together, which results given the evidence weigh one by the
    other: whether an attacker captured a kind of secret with no alert of its retained by a
    detector, and whether the server lost one with no alert retained anywhere ("our logs show
    none"). 0/1 values, compared as ``p_any`` only (:data:`JOINT`)."""
    out: dict[str, Extract] = {}
    for o in ("key", "password", "session"):
        for a in sc.attackers:
            for d in sc.detectors:
                out[f"{a}/{o}{JOINT}{d}"] = (
                    lambda r, o=o, a=a, d=d: float(getattr(r[0].attackers[a]["mail"], o) > 0
                                                   and r[1].counts(d, a).retained == 0))
        out[f"mail/{o}{JOINT}any"] = lambda r, o=o: float(
            getattr(r[0].servers["mail"], o) > 0
            and not any(r[1].counts(d, a).retained for d in sc.detectors for a in sc.attackers))
    return out


def listed(record: ReplicationRecord) -> list[Connection]:
    """The connections known one by one: all of them (reference) or those the fast engine
    lists (key captures, the unanswered one of ``stop_when: patched``, a light attacker's)."""
    obs = record.observations
    return list(obs.connections) if obs.connections is not None else list(obs.known_connections)


def outcomes(engine: str, sc: Scenario, replications: int | Sequence[int],
             seed: int) -> dict[str, np.ndarray]:
    """Every quantity of the given replications (a count means ``range(count)``), each seeded
    by its index alone, without keeping the records."""
    indices = range(replications) if isinstance(replications, int) else replications
    simulate = get_engine(engine).simulate
    get = extractors(sc)
    out = {name: np.empty(len(indices)) for name in get}
    for j, i in enumerate(indices):
        engine_seed, detector_seed = np.random.SeedSequence(seed, spawn_key=(i,)).spawn(2)
        record = simulate(sc, engine_seed)
        r = (record, evaluate(sc, record.observations, np.random.default_rng(detector_seed)))
        for name, f in get.items():
            out[name][j] = f(r)
    return out


# -- comparisons -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sample:
    """What a comparison needs of one engine's sample: its size, mean and variance."""

    n: int
    mean: float
    var: float
    binary: bool = False
    """0/1 draws (a ``p_any``): compared by the exact conditional test (:func:`judge`)."""

    @staticmethod
    def of(values: np.ndarray, binary: bool = False) -> Sample:
        return Sample(len(values), float(values.mean()), float(values.var(ddof=1)), binary)


def samples(values: dict[str, np.ndarray], quantity: str, label: str) -> Sample:
    """``p_any`` (0/1 draws) or ``mean`` (the counts) of one quantity."""
    v = values[quantity]
    return Sample.of((v > 0).astype(float), True) if label == "p_any" else Sample.of(v)


def paired(
    fast: dict[str, np.ndarray], ref: dict[str, np.ndarray], quantity: str, label: str
) -> tuple[Sample, Sample]:
    """Both engines' samples of ``quantity``: 0/1 for ``p_any``, the counts for ``mean``."""
    return samples(fast, quantity, label), samples(ref, quantity, label)


def standard_error(f: Sample, r: Sample) -> float:
    """Of ``f.mean - r.mean`` if both engines draw from one law, as the test assumes: its
    variance estimated from both samples pooled (the two-proportion test's for ``p_any``).
    Each sample's own variance would call a rare event that one engine happened not to draw
    certain there: 0 of 2,000 fast against 78 of 120,000 reference is z = 8.8 that way, 1.1
    pooled."""
    n = f.n + r.n
    mean = (f.n * f.mean + r.n * r.mean) / n
    spread = (f.n - 1) * f.var + (r.n - 1) * r.var + f.n * (f.mean - mean) ** 2 \
        + r.n * (r.mean - mean) ** 2
    return math.sqrt(spread / (n - 1) * (1 / f.n + 1 / r.n))


def detectable(f: Sample, r: Sample, z: float = Z) -> float:
    """The bias this comparison detects with probability 0.8."""
    return (z + norm.ppf(0.8)) * standard_error(f, r)


def judge(line: str, f: Sample, r: Sample, z: float = Z) -> str | None:
    """Print one comparison; return its line when the engines differ beyond ``z``.

    Two P(any) are compared exactly (Fisher's test of the 2x2 table of replications with and
    without the event), failing when the two-sided p-value is below the level ``z`` stands
    for. The normal approximation fails for events of a few in a hundred thousand: one benign
    checker's Poisson(11.6) connection count drawn as zero (chance 9e-6) in 7,000 fast
    replications against none in 120,000 is z = 4.1 that way, p = 0.055 exactly.
    """
    diff, allowed = abs(f.mean - r.mean), z * standard_error(f, r)
    full = (f"{line}: fast {f.mean:.4f} vs reference {r.mean:.4f} (difference {diff:.4f}, "
            f"allowed {allowed:.4f}, detectable {detectable(f, r, z):.4f})")
    if f.binary and r.binary:
        k_f, k_r = round(f.mean * f.n), round(r.mean * r.n)
        p = float(fisher_exact([[k_f, f.n - k_f], [k_r, r.n - k_r]]).pvalue)
        full += f", exact p = {p:.2g}"
        print(full)
        return full if p < 2 * norm.sf(z) else None
    print(full)
    return full if diff > allowed else None


#: Chance that a correct fast engine fails one scenario of the every-outcome comparison.
FAMILY_ERROR = 0.01


def family_z(comparisons: int) -> float:
    """Bonferroni: ``z`` for a two-sided level of :data:`FAMILY_ERROR` over all ``comparisons``.

    One scenario compares 100 to 200 quantities. At ``z = 3.29`` each (two-sided 0.001), a
    correct engine fails a scenario in about one draw order of six: on 2026-12-03 a change of
    draw order alone moved the benign checker's signature alerts on ``lingering`` to 12.19
    (+2.4 standard errors from the model's 12 connections exactly; the phases' own integral
    gave 12.06 +- 0.04 and another seed 12.06) against the reference's 11.93 (-1.8).
    """
    return float(norm.ppf(1 - FAMILY_ERROR / (2 * comparisons)))


def draws_compared(a: Sequence[dict[str, float]], b: Sequence[dict[str, float]],
                   labels: tuple[str, str] = ("literal", "reads")
                   ) -> tuple[list[str], dict[str, tuple[float, float]]]:
    """Two independent sets of draws of the same quantities (a row each; a quantity missing
    from a row is 0), each quantity's means compared at the family ``z`` of those with any
    spread: the lines beyond it, and per quantity the first set's mean and the half-width."""
    names = sorted({q for row in [*a, *b] for q in row})
    x = {q: np.array([row.get(q, 0.0) for row in a]) for q in names}
    y = {q: np.array([row.get(q, 0.0) for row in b]) for q in names}
    se = {q: math.sqrt(x[q].var(ddof=1) / x[q].size + y[q].var(ddof=1) / y[q].size)
          for q in names}
    z = family_z(sum(1 for q in names if se[q] > 0.0))
    failures, bounds = [], {}
    for q in names:
        half = z * se[q]
        line = (f"{q}: {labels[0]} {x[q].mean():.4f}, {labels[1]} {y[q].mean():.4f}, "
                f"difference {y[q].mean() - x[q].mean():+.4f} +- {half:.4f} (z = {z:.2f})")
        print(line)
        bounds[q] = (float(x[q].mean()), half)
        if abs(y[q].mean() - x[q].mean()) > half:
            failures.append(line)
    return failures, bounds


def compared(name: str, fast: dict[str, np.ndarray] | StoredRun, quantities: list[str],
             ref: dict[str, np.ndarray] | StoredRun | None = None
             ) -> list[tuple[str, Sample, Sample]]:
    """Each quantity's ``p_any`` and ``mean`` as (line, fast, reference), from samples or
    stored runs (the reference of ``name`` stored unless given); a joint quantity's
    ``p_any`` only."""
    ref = ref if ref is not None else load_reference(name)

    def sample(run: dict[str, np.ndarray] | StoredRun, q: str, label: str) -> Sample:
        return run.sample(q, label) if isinstance(run, StoredRun) else samples(run, q, label)

    return [(f"{name} {q} {label}", sample(fast, q, label), sample(ref, q, label))
            for q in quantities for label in ("p_any", "mean")
            if not (JOINT in q and label == "mean")]


def scenario_z(pairs: list[tuple[str, Sample, Sample]]) -> float:
    """The family ``z`` of one scenario's comparisons (those with any spread)."""
    return family_z(sum(1 for _, f, r in pairs if f.var > 0 or r.var > 0))


def differences(name: str, pairs: list[tuple[str, Sample, Sample]],
                z: float | None = None) -> dict[str, str]:
    """Every comparison printed; of those beyond ``z`` (the scenario's family ``z`` unless
    given), the comparison (quantity and label) and its line."""
    z = scenario_z(pairs) if z is None else z
    failures: dict[str, str] = {}
    for line, f, r in pairs:
        comparison = line.removeprefix(f"{name} ")
        if f.var == 0 and r.var == 0:
            if f.mean != r.mean:
                failures[comparison] = f"{line}: fast {f.mean} vs reference {r.mean}"
            continue
        failed = judge(line, f, r, z)
        if failed:
            failures[comparison] = failed
    power = [detectable(f, r, z) for line, f, r in pairs if line.endswith("p_any")]
    print(f"{name}: {len(pairs)} comparisons of {pairs[0][1].n:,} fast replications at "
          f"z = {z:.2f}" + (f"; the largest P(any) bias detected at 80% power is "
                            f"{max(power):.4f}" if power else ""))
    return failures


# -- the stored reference ----------------------------------------------------------------------


def fingerprint(sc: object) -> str:
    """Changes whenever any field of the scenario (or case) does (the frozen dataclasses'
    ``repr``)."""
    return hashlib.sha256(repr(sc).encode()).hexdigest()


def checked(engine: str) -> range:
    """The replications of a stored run that every test recomputes: its first ones."""
    return range(REFERENCE_CHECKED if engine == "reference" else FAST_CHECKED)


def digest(values: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for name in sorted(values):
        h.update(name.encode())
        h.update(np.ascontiguousarray(values[name], dtype=np.float64).tobytes())
    return h.hexdigest()


def summarise(values: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """Sums from which a stored run's ``p_any`` and ``mean`` samples are rebuilt."""
    return {name: {"sum": float(v.sum()), "sum_squares": float((v * v).sum()),
                   "nonzero": int((v > 0).sum())} for name, v in values.items()}


def add_sums(total: dict[str, dict[str, float]], part: dict[str, dict[str, float]]) -> None:
    """Adds ``part``'s sums (:func:`summarise`) into ``total``."""
    for quantity, sums in part.items():
        into = total.setdefault(quantity, {"sum": 0.0, "sum_squares": 0.0, "nonzero": 0})
        for key, value in sums.items():
            into[key] += value


@dataclass(frozen=True)
class StoredRun:
    name: str
    engine: str
    replications: int
    sums: dict[str, dict[str, float]]

    def sample(self, quantity: str, label: str) -> Sample:
        n, s = self.replications, self.sums[quantity]
        if label == "p_any":
            k = s["nonzero"]
            return Sample(n, k / n, k * (n - k) / (n * (n - 1)), binary=True)
        mean = s["sum"] / n
        return Sample(n, mean, max(0.0, (s["sum_squares"] - n * mean * mean) / (n - 1)))


def path(name: str, engine: str = "reference") -> Path:
    return DATA / (f"{name}.json" if engine == "reference" else f"{name}.{engine}.json")


class StaleRun(AssertionError):
    """A stored run that is not, or no longer, its engine's output on its scenario."""


def _stored(name: str, engine: str) -> dict:
    file = path(name, engine)
    regenerate = f"regenerate it with `{REGENERATE} {name} --engine {engine}`"
    if not file.exists():
        raise StaleRun(f"{file} is missing: {regenerate}")
    stored = json.loads(file.read_text())
    if stored["fingerprint"] != fingerprint(build(name)):
        raise StaleRun(f"{file} was computed for another version of scenario {name!r}: "
                       f"{regenerate}")
    return stored


def _check(name: str, engine: str, stored: dict, values: dict[str, np.ndarray]) -> None:
    if digest(values) != stored["check"]["digest"]:
        changed = sorted(q for q, s in summarise(values).items()
                         if s != stored["check"]["sums"].get(q))
        raise StaleRun(
            f"{path(name, engine)} is no longer the {engine} engine's output on {name!r} (the "
            f"replications recomputed differ in {', '.join(changed) or 'their order'}): "
            f"regenerate it with `{REGENERATE} {name} --engine {engine}`")


def load_reference(name: str) -> StoredRun:
    """The stored reference run of ``name``, after proving it is still current by
    recomputing its first replications."""
    stored = _stored(name, "reference")
    _check(name, "reference", stored, values(name, "reference", checked("reference")))
    return StoredRun(name, "reference", stored["replications"], stored["quantities"])


def load_fast(name: str, prefix: dict[str, np.ndarray] | None = None) -> StoredRun:
    """The stored fast run of ``name``, after proving that ``prefix``, the fast engine's
    first :data:`FAST_CHECKED` replications as computed today (computed here unless given),
    are the stored run's."""
    stored = _stored(name, "fast")
    if prefix is None:
        prefix = values(name, "fast", checked("fast"))
    _check(name, "fast", stored, prefix)
    return StoredRun(name, "fast", stored["replications"], stored["quantities"])


def load_both(name: str) -> tuple[StoredRun, StoredRun]:
    """The stored fast and reference runs of ``name``, each proved current."""
    return load_fast(name), load_reference(name)


# -- runs of other tests, stored the same way --------------------------------------------------


def dominant_reader() -> Scenario:
    """A listed reaper sending most of a worker's connections beside ``max_requests``
    (``test_fast_followed.py``)."""
    sc = never(small_scenario(
        keys=KeySpec(reachable=0.0, copies_per_handshake=1.0, piece_bytes=120, capture=0.3,
                     copy_lifetime=60.0),
        passwords=PasswordSpec(capture=0.6, lifetime=900.0, kind="otp")))
    reaper = replace(sc.attackers["reaper"], rate=0.2, key_ops_per_connection=0)
    return replace(sc, attackers={**sc.attackers, "reaper": reaper})


def dominant_slot() -> Scenario:
    """:func:`dominant_reader` without sessions, its passwords ``next_request``: drawn where
    the reads look, each lifetime given the count that ended it, of which the listed reaper
    sends most (``test_fast_password_reads.py``)."""
    sc = dominant_reader()
    mail = sc.servers["mail"]
    assert mail.passwords is not None
    return replace(sc, servers={"mail": replace(
        mail, sessions=None,
        passwords=replace(mail.passwords, lifetime="next_request", kind="static"))})


def tokens_lasting(lifetime: float | str, counted: bool = True) -> Callable[[], Scenario]:
    """``choices`` with session tokens that outlive the next request: a password and a token
    no longer share one slot, but the request that leaves a copy still takes the password
    away, and the same connections read both. Without ``max_requests`` unless ``counted``."""
    def build() -> Scenario:
        sc = choices()
        mail = sc.servers["mail"]
        assert mail.sessions is not None
        sessions = replace(mail.sessions, lifetime=lifetime)
        restart = mail.restart if counted else replace(mail.restart, max_requests=None)
        return replace(sc, servers={**sc.servers, "mail": replace(
            mail, sessions=sessions, restart=restart)})
    return build


def passwords_lasting(lifetime: float | str, counted: bool = False) -> Callable[[], Scenario]:
    """``choices`` with passwords kept for ``lifetime`` on average (or until the next key
    operation) beside its ``next_request`` tokens, few logins (one in 1,000 s: a login's
    password and session are then taken together or not at all by the same stretch of
    reads) and no ``max_requests`` unless ``counted``: each login's password stays in freed
    memory while its session's tokens pass through the read buffer, read by the same
    connections. ``counted`` keeps ``choices``' ``max_requests``, which the attackers'
    connections drive, so that a lifetime's end says how much traffic it held."""
    def build() -> Scenario:
        sc = choices()
        mail = sc.servers["mail"]
        assert mail.passwords is not None
        return replace(sc, servers={**sc.servers, "mail": replace(
            mail, passwords=replace(mail.passwords, lifetime=lifetime),
            traffic=replace(mail.traffic, logins_per_s=0.001),
            restart=mail.restart if counted else replace(mail.restart, max_requests=None))})
    return build


def busy_logins() -> Scenario:
    """:func:`passwords_lasting` (900 s, ``choices``' ``max_requests`` of 80 kept) with three
    logins a second: 21,600 a replication, past the 20,000 up to which the skeleton drew the
    logins until 2026-12-07's last session (``login_timeline.FEW_LOGINS``), where it now draws
    them and the passwords and tokens read them (``docs/fast-engine.md``, item 11)."""
    sc = passwords_lasting(900.0, counted=True)()
    mail = sc.servers["mail"]
    assert mail.sessions is not None
    logins = 3.0
    requests = logins * (1.0 + mail.sessions.ttl * mail.sessions.requests_per_s) + 0.03
    return replace(sc, servers={**sc.servers, "mail": replace(mail, traffic=replace(
        mail.traffic, logins_per_s=logins, requests_per_s=requests))})


def busy_shared() -> Scenario:
    """``choices`` (``next_request`` passwords and tokens, ``max_requests`` of 80) with 0.6
    logins a second and sessions of 30 requests: about 135,000 requests a replication, mostly
    in sessions, past the bounds within which the shared buffer's draw was sure to be taken
    until 2026-12-08 (``shared_buffer.always_shared``), but within the cost its draw on the
    skeleton's logins may take since (``shared_buffer.known_cost``). There the skeleton now
    draws the logins and that draw reads them; before, it kept the mean-rate time change and
    the draws drew logins of their own, free of each lifetime's count (``docs/fast-engine.md``,
    items 11 and 13)."""
    sc = choices()
    mail = sc.servers["mail"]
    assert mail.sessions is not None
    logins, ttl = 0.6, mail.sessions.ttl
    sessions = replace(mail.sessions, requests_per_s=30.0 / ttl)
    requests = logins * 31.0 + 0.03
    return replace(sc, servers={**sc.servers, "mail": replace(
        mail, sessions=sessions,
        traffic=replace(mail.traffic, logins_per_s=logins, requests_per_s=requests))})


CELLS = ("password & session", "password, no session", "session, no password")


def capture_cells(engine: str, sc: Scenario, replications: Sequence[int],
                  seed: int) -> dict[str, np.ndarray]:
    """Per replication and attacker that can take both kinds, 0/1: whether it took a password,
    a session, and each cell of the two together (``test_fast_joint_captures.py``)."""
    every = outcomes(engine, sc, replications, seed)
    out: dict[str, np.ndarray] = {}
    for name in sorted(a for a in sc.attackers if f"{a}/session" in every):
        pw, se = every[f"{name}/password"] > 0, every[f"{name}/session"] > 0
        for label, v in zip(("password", "session", *CELLS),
                            (pw, se, pw & se, pw & ~se, ~pw & se)):
            out[f"{name}/{label}"] = v.astype(float)
    return out


@contextmanager
def forced(module: ModuleType, name: str, value: object) -> Iterator[None]:
    """``module.name`` set to ``value`` inside the block, to make the fast engine take a path
    it would not take on the scenario; ``name`` must exist (a renamed hook fails here)."""
    saved = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, saved)


def spied(calls: dict[str, int], key: str, real: Callable[..., Any]) -> Callable[..., Any]:
    """``real``, counting its calls in ``calls[key]``: to check with :func:`forced` that a
    run took the path it is there to test."""
    def counted(*args: Any, **kwargs: Any) -> Any:
        calls[key] += 1
        return real(*args, **kwargs)
    return counted


def phase_outcomes(engine: str, sc: Scenario, replications: Sequence[int],
                   seed: int) -> dict[str, np.ndarray]:
    """:func:`outcomes` with no attacker listed: the detectors count the phases, the path of
    heavy attackers (``test_fast_key_phases.py``)."""
    from sim.engines.fast import listed as listed_path

    with forced(listed_path, "LISTED_LIMIT", -1.0):
        return outcomes(engine, sc, replications, seed)


def psmail_path_outcomes(engine: str, sc: Scenario, replications: Sequence[int],
                         seed: int) -> dict[str, np.ndarray]:
    """:func:`outcomes` with ``next_request`` sessions off the literal draw, PSMail's paths,
    which a small server would leave for literal draws: the shared buffer's
    (``shared_buffer.py``; always, where the skeleton draws the logins for it), the drawn
    slots' and the literal sessions'. Where the candidate reads are few the sessions and the
    ``next_request`` passwords beside them are then drawn together at the reads
    (``buffer_reads.py``), else the sessions on the integrated sweep and the passwords on the
    counting chain. Until 2026-12-06 the heavy path's test did not close the shared buffer,
    and its sessions and passwords never met the sweep and the chain on ``overlap-never``."""
    from sim.engines.fast import passwords, sessions, shared_buffer

    with (forced(sessions, "LITERAL_LIMIT", -1.0), forced(shared_buffer, "SHARED_LIMIT", -1.0),
          forced(passwords, "DRAWN_LIMIT", -1.0)):
        return outcomes(engine, sc, replications, seed)


def copies_path_outcomes(engine: str, sc: Scenario, replications: Sequence[int],
                         seed: int) -> dict[str, np.ndarray]:
    """:func:`outcomes` with the sessions off the literal draw, which a small server's light
    attacks take: tokens that outlive the next request are then counted given the reads
    with a class drawn per login (``token_copies.py``), as on a server too busy for the
    literal draw; and apart from lingering passwords, as where those cannot be drawn with
    them (``login_pairs.py`` takes both on ``lingering`` as it runs)."""
    from sim.engines.fast import login_pairs, sessions, token_means

    with (forced(sessions, "LITERAL_LIMIT", -1.0), forced(token_means, "MEANS_LIMIT", -1.0),
          forced(login_pairs, "PAIRS_LIMIT", -1.0)):
        return outcomes(engine, sc, replications, seed)


def means_path_outcomes(engine: str, sc: Scenario, replications: Sequence[int],
                        seed: int) -> dict[str, np.ndarray]:
    """:func:`copies_path_outcomes` with the means given the reads in closed form
    (``token_means.py``, what a server with many logins takes) instead of a class per login,
    and not where their copies are taken, which lingering passwords beside them prefer since
    late on 2026-12-07 (drawn together there)."""
    from sim.engines.fast import sessions, token_means, token_takes

    with (forced(sessions, "LITERAL_LIMIT", -1.0), forced(token_means, "COPIES_LIMIT", -1.0),
          forced(token_takes, "TAKES_LIMIT", -1.0)):
        return outcomes(engine, sc, replications, seed)


def takes_path_outcomes(engine: str, sc: Scenario, replications: Sequence[int],
                        seed: int) -> dict[str, np.ndarray]:
    """:func:`outcomes` with the sessions off the literal draw and the shared buffer's: with a
    ``concurrent`` check that could pass and tokens that outlive the next request, drawn
    where their copies are taken (``token_takes.py``), as on a server too busy for the
    literal draw. Not with the ``next_request`` passwords beside them (``slot_takes.py``,
    which since 2026-12-07's last session takes them past the shared buffer's draw): this
    holds the sessions' own draw."""
    from sim.engines.fast import sessions, shared_buffer, slot_takes

    with (forced(sessions, "LITERAL_LIMIT", -1.0), forced(shared_buffer, "SHARED_LIMIT", -1.0),
          forced(slot_takes, "LOOKS_LIMIT", -1.0)):
        return outcomes(engine, sc, replications, seed)


def looks_path_outcomes(engine: str, sc: Scenario, replications: Sequence[int],
                        seed: int) -> dict[str, np.ndarray]:
    """:func:`outcomes` with the shared buffer's draw off, as on a server too busy for it:
    lingering passwords beside ``next_request`` tokens drawn with them where the reads look
    (``lingering_looks.py``), and ``next_request`` passwords beside tokens that outlive the
    next request drawn there with the tokens drawn where their copies are taken
    (``slot_takes.py``)."""
    from sim.engines.fast import shared_buffer

    with forced(shared_buffer, "SHARED_LIMIT", -1.0):
        return outcomes(engine, sc, replications, seed)


def looks_path_cells(engine: str, sc: Scenario, replications: Sequence[int],
                     seed: int) -> dict[str, np.ndarray]:
    """:func:`capture_cells` on the path of :func:`looks_path_outcomes`."""
    from sim.engines.fast import shared_buffer

    with forced(shared_buffer, "SHARED_LIMIT", -1.0):
        return capture_cells(engine, sc, replications, seed)


def lingering_binding() -> Scenario:
    """The suite's ``binding`` scenario with tokens kept five minutes on average: the
    ``concurrent`` check then passes when a captured copy outlived the victim's last request
    by the window (``test_fast_token_takes.py``)."""
    sc = SCENARIOS["binding"]()
    mail = sc.servers["mail"]
    assert mail.sessions is not None
    return replace(sc, servers={**sc.servers, "mail": replace(
        mail, sessions=replace(mail.sessions, lifetime=300.0))})


def counted_binding() -> Scenario:
    """:func:`lingering_binding` with passwords kept fifteen minutes: beside its ``max_requests``
    the skeleton draws the logins, the passwords go along with the sessions, and the
    ``concurrent`` check takes the draw where copies are taken with each session's requests
    counted (``test_fast_counted_takes.py``)."""
    sc = lingering_binding()
    mail = sc.servers["mail"]
    assert mail.passwords is not None
    return replace(sc, servers={**sc.servers, "mail": replace(
        mail, passwords=replace(mail.passwords, lifetime=900.0))})


def lingering_driven() -> Scenario:
    """``lingering`` with the sneak always there and heavy, as in :func:`heavy`: it drives the
    ``max_requests`` restarts while it sends, so a lifetime's end says much of the session
    requests inside it (item 13)."""
    sc = SCENARIOS["lingering"]()
    sneak = replace(sc.attackers["sneak"], rate=0.5, presence=1.0)
    return replace(sc, attackers={**sc.attackers, "sneak": sneak})


def sessions_alone(build: Callable[[], Scenario]) -> Callable[[], Scenario]:
    """``build``'s scenario without passwords: beside its ``max_requests`` the skeleton draws the
    logins for the sessions alone, and each lifetime's requests are drawn given the count
    that ended it, login by login for tokens that outlive the next request, by the shared
    buffer's draw for ``next_request`` ones (``test_fast_known_sessions.py``)."""
    def alone() -> Scenario:
        sc = build()
        return replace(sc, servers={n: replace(s, passwords=None)
                                    for n, s in sc.servers.items()})
    return alone


def heavy_path_outcomes(engine: str, sc: Scenario, replications: Sequence[int],
                        seed: int) -> dict[str, np.ndarray]:
    """:func:`psmail_path_outcomes` with no attacker listed, the sessions on the integrated
    sweep and the passwords on the counting chain whatever their candidates: every attacker
    on the fast engine's heavy paths (``test_engines_agree.OTHER_PATHS``, ``heavy-path``)."""
    from sim.engines.fast import listed as listed_path
    from sim.engines.fast import slot_looks

    with (forced(listed_path, "LISTED_LIMIT", -1.0), forced(slot_looks, "CANDIDATE_LIMIT", -1.0),
          forced(slot_looks, "LOOKS_LIMIT", -1.0)):
        return psmail_path_outcomes(engine, sc, replications, seed)


def key_placement() -> Scenario:
    """The long-lived key reachable in half the lifetimes and leaking readily, nothing else
    holding key pieces, no crashes (``test_fast_key_phases.py``)."""
    return never(small_scenario(
        keys=KeySpec(reachable=0.5, copies_per_handshake=0.0, piece_bytes=120, capture=0.3),
        crash_probability=0.0))


def key_outcomes(engine: str, sc: Scenario, replications: Sequence[int],
                 seed: int) -> dict[str, np.ndarray]:
    """Per replication: the key taken from the server and by each attacker, by each attacker
    before 4,000 s, and the crashes (``test_fast_key_count.py``)."""
    simulate = get_engine(engine).simulate
    rows: dict[str, list[float]] = {}
    for i in replications:
        record = simulate(sc, np.random.SeedSequence(seed, spawn_key=(i,)))
        got = {"mail/key": record.servers["mail"].key,
               "crashes": len(record.observations.crashes)}
        for a, by_server in record.attackers.items():
            got[f"{a}/key"] = by_server["mail"].key
            t = by_server["mail"].key_time
            got[f"{a}/key by 4000 s"] = float(not math.isnan(t) and t < 4000.0)
        for k, v in got.items():
            rows.setdefault(k, []).append(float(v))
    return {k: np.array(v) for k, v in rows.items()}


def counted_key_outcomes(engine: str, sc: Scenario, replications: Sequence[int],
                         seed: int) -> dict[str, np.ndarray]:
    """:func:`key_outcomes` with the fast engine counting the key copies one by one
    (``sim/engines/fast/key_count.py``) where its chain would carry them."""
    from sim.engines.fast import skeleton
    from sim.engines.fast.key_count import shared_count

    def counted(server: Server, attackers: object, horizon: float) -> object:
        return shared_count(server.keys)

    with forced(skeleton, "key_copies_for", counted):
        return key_outcomes(engine, sc, replications, seed)


def lingering_key() -> Scenario:
    """The suite's mail server and attackers, its key made the whole story: copies that linger
    a minute (about 18 a worker, 85 chain states), a small capture chance so that whether and
    when the key goes is uncertain, crashes common enough to read the key too, no passwords or
    sessions, and no ``max_requests`` (where the chain is exact: with it the engine counts the
    copies itself) (``test_fast_key_count.py``)."""
    sc = small_scenario()
    mail = sc.servers["mail"]
    mail = replace(
        mail, passwords=None, sessions=None, crash_probability=0.03,
        restart=replace(mail.restart, max_requests=None),
        traffic=replace(mail.traffic, handshakes_per_s=0.4, logins_per_s=0.0,
                        requests_per_s=0.05),
        keys=KeySpec(reachable=0.3, copies_per_handshake=1.5, piece_bytes=120, capture=0.004,
                     copy_lifetime=60.0))
    reaper = replace(sc.attackers["reaper"], rate=0.002)
    return replace(sc, servers={"mail": mail}, attackers={**sc.attackers, "reaper": reaper},
                   detectors={})


def key_race(crash: float) -> Callable[[], Scenario]:
    """One worker, no legitimate traffic to speak of, restarted at its 20th connection; the
    long-lived key only, reachable in half the lifetimes (a new placement at each restart);
    one attacker sending a Poisson number of one-heartbeat connections, mean 25, in 25 s,
    each capturing the key with ``q = 1 - (1 - c)^2`` when reachable, and crashing the worker
    with ``crash`` (its one heartbeat then reads nothing) (``test_fast_key_count.py``)."""
    def build() -> Scenario:
        sc = small_scenario()
        mail = replace(sc.servers["mail"], workers=1, passwords=None, sessions=None,
                       crash_probability=crash, restart=RestartPolicy(max_requests=20),
                       traffic=Traffic(handshakes_per_s=0.0, logins_per_s=0.0,
                                       requests_per_s=1e-9),
                       keys=KeySpec(reachable=0.5, copies_per_handshake=0.0, piece_bytes=120,
                                    capture=0.0513))
        reaper = Attacker(name="reaper", targets=("mail",), rate=1.0, start_low=3000.0,
                          start_high=3000.0, duration=25.0, heartbeats_per_connection=1)
        return replace(sc, servers={"mail": mail}, attackers={"reaper": reaper}, detectors={})
    return build


#: ``test_fast_password_slot_literal.py``'s case with sessions: (workers, server logins per
#: second, ttl, per-session requests per second to the server, other requests per worker,
#: lifetime, beta), sessions carrying about half of the traffic, a handful of requests each.
SLOT_WITH_SESSIONS = (2, 0.02, 300.0, 0.01, 0.015, 1200.0, 0.006)


def slot_segment(case: tuple[float, ...], t1: float) -> Segment:
    """One host's traffic of ``case`` per worker from the cold start to ``t1``, sessions
    stationary, and the attacker ``eve`` capturing a resident password with certainty at
    ``beta`` connections a second."""
    W, logins, ttl, s, r, _, beta = case
    lam, sessions = logins / W, logins * ttl * s / W
    return Segment(0.0, t1, True, r + lam + sessions, lam, sessions, 0.0, 0.0,
                   (AttackerRates("eve", False, beta, 1, 0, 0.0, 1.0, 0.0),),
                   session_rate=s / W)


def slot_free(engine: str, case: tuple[float, ...], replications: Sequence[int],
              seed: int, at_reads: bool = False) -> dict[str, np.ndarray]:
    """Per replication, 0/1: whether the fast engine's drawn slots
    (:mod:`sim.engines.fast.session_slot`, or with ``at_reads`` the slot drawn at the reads,
    :func:`sim.engines.fast.password_reads.sample_slot_passwords_at_reads`) leave every worker
    of one host without a password taken over a lifetime of ``case``, the lifetimes starting
    ``ttl`` after the cold start, when the sessions are stationary, and an attacker capturing
    a resident password with certainty at ``beta`` connections a second to each worker."""
    from sim.engines.fast.password_reads import sample_slot_passwords_at_reads, slot_at_reads
    from sim.engines.fast.session_slot import readable_lifetimes, sample_slot_passwords

    assert engine == "fast", "the drawn slots are the fast engine's"
    W, _, ttl, s, _, D, _ = case
    workers = int(W)
    seg = slot_segment(case, ttl + D)
    lifetimes = readable_lifetimes([seg], [WorkerLifetime(w, ttl, ttl + D, False)
                                           for w in range(workers)])
    assert len(lifetimes) == workers
    spec = SessionSpec(ttl=ttl, requests_per_s=s)
    rngs = (np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(i,)))
            for i in replications)
    if at_reads:
        drawn = slot_at_reads(spec, [seg], workers)
        assert drawn is not None
        free = [sample_slot_passwords_at_reads(*drawn, [seg], lifetimes, workers, ttl + D,
                                               rng).total == 0 for rng in rngs]
    else:
        free = [sample_slot_passwords(spec, [seg], lifetimes, workers, rng).total == 0
                for rng in rngs]
    return {"every worker free": np.array(free, dtype=float)}


def slot_free_at_reads(engine: str, case: tuple[float, ...], replications: Sequence[int],
                       seed: int) -> dict[str, np.ndarray]:
    """:func:`slot_free` with the slot drawn at the reads."""
    return slot_free(engine, case, replications, seed, at_reads=True)


@dataclass(frozen=True)
class SideRun:
    """Stored runs for one test: its scenario, what a replication yields, and how many
    replications each engine's run holds (each test's power is in its docstring). Some store
    only a fast run: the heavy path is compared with ``overlap-never``'s reference, the
    phases with ``key-placement``'s, the key count's runs with each other, the race with a
    closed form, the drawn slots with a literal simulation."""

    build: Callable[[], Any]
    """The scenario, or the parameters of a case that is not one (its ``repr`` is the
    fingerprint)."""
    replications: int
    values: Callable[[str, Any, Sequence[int], int], dict[str, np.ndarray]] = outcomes
    seed: int | None = None
    """A seed of its own instead of the engine's: two fast runs compared with each other must
    be independent samples."""


#: The stored runs of tests beside the every-outcome comparison.
SIDE_RUNS: dict[str, SideRun] = {
    "dominant-reader": SideRun(dominant_reader, 9_000),
    "dominant-slot": SideRun(dominant_slot, 60_000),
    "heavy-path": SideRun(SCENARIOS["overlap-never"], 4_000, heavy_path_outcomes),
    "heavy-psmail-paths": SideRun(SCENARIOS["heavy"], 20_000, psmail_path_outcomes),
    "lingering-copies": SideRun(SCENARIOS["lingering"], 20_000, copies_path_outcomes),
    "lingering-means": SideRun(SCENARIOS["lingering"], 20_000, means_path_outcomes),
    "binding-lingering": SideRun(lingering_binding, 60_000, seed=FAST_SEED + 2),
    "binding-lingering-takes": SideRun(lingering_binding, 60_000, takes_path_outcomes,
                                       seed=FAST_SEED + 3),
    "binding-counted": SideRun(counted_binding, 60_000),
    "sessions-alone": SideRun(sessions_alone(lingering_driven), 60_000),
    "sessions-alone-binding": SideRun(sessions_alone(lingering_binding), 60_000),
    "sessions-alone-slot": SideRun(sessions_alone(SCENARIOS["overlap-never"]), 60_000),
    **{f"joint-{name}": SideRun(build, 6_000, capture_cells) for name, build in (
        ("choices", choices), ("choices-tokens-300s", tokens_lasting(300.0)),
        ("choices-tokens-handshake", tokens_lasting("next_handshake")),
        ("choices-passwords-900s", passwords_lasting(900.0)),
        ("choices-passwords-900s-counted", passwords_lasting(900.0, counted=True)))},
    "joint-choices-passwords-900s-looks": SideRun(passwords_lasting(900.0), 12_000,
                                                  looks_path_cells, seed=FAST_SEED + 4),
    "looks-lingering": SideRun(passwords_lasting(900.0), 40_000, looks_path_outcomes,
                               seed=FAST_SEED + 5),
    "joint-choices-tokens-300s-free": SideRun(tokens_lasting(300.0, counted=False), 6_000,
                                              capture_cells),
    "joint-choices-tokens-300s-free-takes": SideRun(tokens_lasting(300.0, counted=False),
                                                    12_000, looks_path_cells,
                                                    seed=FAST_SEED + 6),
    "takes-slot": SideRun(tokens_lasting(300.0, counted=False), 40_000, looks_path_outcomes,
                          seed=FAST_SEED + 7),
    "key-chain": SideRun(lingering_key, 20_000, key_outcomes),
    "key-counted": SideRun(lingering_key, 20_000, counted_key_outcomes, seed=FAST_SEED + 1),
    "key-race": SideRun(key_race(0.0), 120_000, key_outcomes),
    "key-race-crashes": SideRun(key_race(0.05), 120_000, key_outcomes),
    "key-placement": SideRun(key_placement, 6_000),
    "key-placement-phases": SideRun(key_placement, 6_000, phase_outcomes),
    "slot-sessions": SideRun(lambda: SLOT_WITH_SESSIONS, 160_000, slot_free),
    "slot-sessions-reads": SideRun(lambda: SLOT_WITH_SESSIONS, 160_000, slot_free_at_reads),
}
STORED = [*SCENARIOS, *SIDE_RUNS]


def build(name: str) -> Any:
    """The scenario of a stored run (or the case of a side run that is not one)."""
    return SIDE_RUNS[name].build() if name in SIDE_RUNS else SCENARIOS[name]()


def stored_replications(name: str, engine: str) -> int:
    if name in SIDE_RUNS:
        return SIDE_RUNS[name].replications
    return REFERENCE_REPLICATIONS if engine == "reference" else FAST_STORED


def stored_seed(name: str, engine: str) -> int:
    side = SIDE_RUNS.get(name)
    if side is not None and side.seed is not None:
        return side.seed
    return REFERENCE_SEED if engine == "reference" else FAST_SEED


def values(name: str, engine: str, replications: Sequence[int]) -> dict[str, np.ndarray]:
    """What the stored runs of ``name`` hold per replication, at their stored seed."""
    get = SIDE_RUNS[name].values if name in SIDE_RUNS else outcomes
    return get(engine, build(name), replications, stored_seed(name, engine))
