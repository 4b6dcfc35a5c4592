"""Passwords that linger in busy workers: exact given the reads, whatever the traffic.

When many passwords can sit in one worker at once (a duration ``lifetime`` on a busy server,
or ``next_handshake`` with rare handshakes), the counting chain of :mod:`.password_chain` would need
thousands of states. This module takes the other side of the same model instead.

Given the skeleton, the times at which a worker's buffer is *read* (the attackers' ordinary
connections, Poisson at ``nu_a`` per segment, plus the key-capturing and crashing connections
the skeleton fixed) and the times at which it is *cleared* (``next_handshake``: legitimate
handshakes and attacker connections with key operations), every login is captured or not
independently of every other: logins are a Poisson process, each leaves its own copy with its
own exponential residency (or none, under ``next_handshake``), and each read takes each
resident copy independently (``model.md``: "independently for every resident piece"). So the
number of distinct logins captured, for any set of attackers counted, is **exactly Poisson**
given those reads and clears, with mean

    Lambda = int lambda P(captured | login at u, reads, clears) du.

With reads ``t_1 < ... < t_K`` (a read by an attacker outside the counted set has ``q = 0``)
and ``mu`` the inverse mean residency (0 under ``next_handshake``), the capture chance of a copy
resident just before ``t_k`` obeys

    D_k = q_k + (1 - q_k) exp(-mu (t_{k+1} - t_k)) D_{k+1},   D_{K+1} = 0,   D_k = 0 at a clear,

and a login in the gap ``g`` before ``t_k`` contributes ``lambda D_k (1 - exp(-mu g)) / mu``
(``lambda g D_k`` when ``mu = 0``). Nothing after the last read matters, and before the first
one only the last clear matters: its time is drawn directly (legitimate handshakes are Poisson
at a constant per-worker rate). The reads themselves are sampled: they are few whenever the
chain would be large, and :func:`expected_reads` bounds their number for the engine's ``check``.

The same integral, read forward, splits ``Lambda`` over the reads: the expected first captures
at read ``k`` (:func:`_first_captures`). Given the reads the ``N`` captured logins' first
captures are i.i.d. over the reads in those proportions, which is how :mod:`.logins` times an
attacker's logins with captured passwords (exactly).

The counts of nested attacker sets are drawn from one uniform through monotone Poisson
quantiles: each set's count has its exact law, and a set never counts fewer than its members.

With ``max_requests`` the logins are not a Poisson stream given the skeleton: a lifetime that
ended at its ``N``-th request holds exactly ``N - 1`` (any other at most ``N - 1``). Each
lifetime's reads and logins are then drawn given that count (:func:`.reads.counted_reads`),
and its captures are binomial over its logins, per lifetime (:func:`sample_lingering`;
``docs/fast-engine.md``, item 13). Beside sessions the skeleton has drawn the logins
themselves (:mod:`.login_timeline`): each is then followed through its own residency, read by
read (:func:`sample_known_logins`).

With several malicious attackers the sampler counts every set of them (``2^n``) to draw which
logins each pattern took. Drawing the logins themselves and each one's fate
(:func:`sample_each_login`) costs the logins that can be read times the attackers instead, and
is exact too: taken where it is cheaper, and always past ``sessions.MAX_MALICIOUS`` attackers.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np

from sim.engines.fast.reads import (
    NO_READS,
    FirstReads,
    Reads,
    attacker_names,
    counted_reads,
    password_capture,
    sample_reads,
)
from sim.engines import EngineRefused
from sim.engines.fast.password_chain import (
    MAX_STATES,
    attacker_subsets,
    chain_states,
    exact_patterns,
)
from sim.engines.fast.segments import WorkerLifetime, Segment
from sim.model.attackers import longest_window
from sim.model.quantiles import binomial_ppf, poisson_ppf
from sim.scenario.model import PasswordSpec, ResidencySpec, Scenario, Server

#: Most reads a lingering-password replication may sample on one server (checked up front).
READ_LIMIT = 2_000_000



def inverse_residency(spec: PasswordSpec) -> float:
    """``mu``: 1 / mean residency for a duration lifetime, 0 for ``next_handshake``."""
    return 0.0 if isinstance(spec.lifetime, str) else 1.0 / float(spec.lifetime)


def lifetime_means(
    spec: PasswordSpec,
    segments: Sequence[Segment],
    starts: Sequence[float],
    lt: WorkerLifetime,
    sets: Sequence[frozenset[str]],
    rng: np.random.Generator,
    max_requests: int | None = None,
) -> tuple[np.ndarray, list[FirstReads], int]:
    """``Lambda`` of one worker lifetime for each counting set, given reads sampled here, for
    each set the reads at which its first captures are expected (:func:`_first_captures`),
    and, with ``max_requests``, the number of logins drawn with the reads
    (:func:`.reads.counted_reads`; -1 without)."""
    rule = spec.lifetime
    mu = inverse_residency(spec)
    logins = segments[0].logins if segments else 0.0
    out = np.zeros(len(sets))
    nothing = [NO_READS] * len(sets)
    if lt.end <= lt.start or logins <= 0.0:
        return out, nothing, 0
    index = {n: i for i, n in enumerate(sorted({a.name for s in segments for a in s.attackers}))}
    labels = np.array(sorted(index, key=index.__getitem__) + [""], dtype=object)
    none = len(index)
    if max_requests is None:
        reads, drawn = sample_reads(segments, starts, lt, password_capture, rule, index, rng), -1
    else:
        reads, drawn = counted_reads(segments, starts, lt, password_capture, rule, index,
                                     max_requests, rng)
    ordered = _ordered(rule, segments, lt, reads, none, rng)
    if ordered is None:
        return out, nothing, drawn
    t, who, q, clear, begin = ordered
    gaps = np.diff(np.concatenate([[begin], t]))
    ahead = np.exp(-mu * np.diff(t, append=t[-1])) if mu > 0 else np.ones(t.size)
    filled = -np.expm1(-mu * gaps) / mu if mu > 0 else gaps
    marks = []
    for j, counted in enumerate(sets):
        member = np.array([label in counted for label in labels])[who]
        qj = np.where(member & ~clear, q, 0.0)
        mass = logins * _first_captures(qj.tolist(), clear.tolist(), ahead.tolist(),
                                        filled.tolist())
        out[j] = mass.sum()
        marks.append(FirstReads(t[mass > 0.0], mass[mass > 0.0]))
    return out, marks, drawn


def _ordered(
    rule: ResidencySpec, segments: Sequence[Segment], lt: WorkerLifetime, reads: Reads,
    none: int, rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float] | None:
    """A lifetime's reads and clears in time order, up to its last read, from its last clear
    before the first read on, and when that clear was (the lifetime's start if none): logins
    before it are gone before anyone reads. None when nothing reads. Under ``next_handshake``
    the legitimate handshakes between the first and the last read are drawn here (``none``:
    their attacker index), and before the first read only the last one."""
    if reads.t.size == 0:
        return None
    t, who, q, clear = reads.t, reads.who, reads.q, reads.clear
    reading = ~clear & (q > 0.0)
    if not reading.any():
        return None
    last_read = float(t[reading].max())
    first_read = float(t[reading].min())
    keep = t <= last_read
    if rule == "next_handshake":
        handshakes = segments[0].handshakes
        # Legitimate handshakes clear the buffer; between the first and the last read they are
        # sampled, before the first read only the last one matters.
        span = last_read - first_read
        k = int(rng.poisson(handshakes * span)) if handshakes > 0 else 0
        extra = first_read + span * rng.random(k)
        before = first_read - rng.exponential(1.0 / handshakes) if handshakes > 0 else -math.inf
        t = np.concatenate([t[keep], extra, [before] if before > lt.start else []])
        who = np.concatenate([who[keep], np.full(t.size - int(keep.sum()), none)])
        q = np.concatenate([q[keep], np.zeros(t.size - int(keep.sum()))])
        clear = np.concatenate([clear[keep], np.ones(t.size - int(keep.sum()), dtype=bool)])
    else:
        t, who, q, clear = t[keep], who[keep], q[keep], clear[keep]
    order = np.argsort(t, kind="stable")
    t, who, q, clear = t[order], who[order], q[order], clear[order]
    first = int(np.flatnonzero(clear[: int(np.searchsorted(t, first_read))]).max(initial=-1))
    # Logins before a clear that precedes every read are gone before anyone reads.
    begin = t[first] if first >= 0 else lt.start
    t, who, q, clear = t[first + 1 :], who[first + 1 :], q[first + 1 :], clear[first + 1 :]
    return t, who, q, clear, float(begin)


def _first_captures(
    q: list[float], clear: list[bool], ahead: list[float], filled: list[float]
) -> np.ndarray:
    """Expected first captures at each read, per unit login rate: ``R_k q_k``, with ``R_k`` the
    uncaptured resident mass just before read ``k``.

    A login in the gap before read ``g`` is still resident and uncaptured at read ``k >= g``
    with ``prod_{g <= j < k} (1 - q_j) exp(-mu (t_{j+1} - t_j))`` (0 past a clear), so the
    forward recursion ``R_k = R_{k-1} (1 - q_{k-1}) ahead_{k-1} + filled_k`` (``R`` reset to
    ``filled_k`` after a clear) adds the gaps up; summed over ``k`` this is the backward sweep
    ``sum_k D_k filled_k`` of the module docstring, read the other way."""
    out = np.zeros(len(q))
    r = 0.0
    for k in range(len(q)):
        r += filled[k]
        if clear[k]:
            r = 0.0
            continue
        out[k] = r * q[k]
        r *= (1.0 - q[k]) * ahead[k]
    return out


def sample_lingering(
    spec: PasswordSpec,
    segments: Sequence[Segment],
    lifetimes: Sequence[WorkerLifetime],
    sets: Sequence[frozenset[str]],
    rng: np.random.Generator,
    max_requests: int | None = None,
) -> tuple[list[int], list[FirstReads]]:
    """Distinct passwords captured on one server per counting set; and per set, over every
    lifetime, the reads with the expected first captures at each (the law of their times).

    Without ``max_requests`` the logins are a Poisson stream and a set's count is Poisson
    given the reads, summed over lifetimes. With it, each lifetime's logins are drawn with its
    reads given the request count its end implies (:func:`.reads.counted_reads`): ``K`` logins
    placed uniformly (their rate is constant), each captured independently with the mean
    chance over the lifetime, ``Lambda / (logins x length)``, so a set's count is binomial
    over the lifetime's ``K``.

    With one malicious attacker every set is drawn from one uniform (per lifetime with
    ``max_requests``), so nested sets stay ordered. With several, one login's captures by
    different attackers are dependent (they share its residency), and drawing each from its
    margin with a shared uniform would make them comonotone: the logins captured by exactly
    each pattern of malicious attackers are counted instead, Poisson (or multinomial over the
    ``K`` logins) with means from every subset's ``Lambda`` by inclusion and exclusion
    (:func:`.password_chain.exact_patterns`), and each malicious set counts the patterns it
    meets."""
    starts = [s.t0 for s in segments]
    names, malicious = attacker_names(segments)
    mal = [n for n in names if n in malicious]
    subsets = attacker_subsets(mal) if len(mal) >= 2 else []
    every = list(sets) + [u for u in subsets if u not in sets]
    column = {u: j for j, u in enumerate(every)}
    joint = [j for j, u in enumerate(sets) if subsets and u <= malicious]
    means = np.zeros(len(every))
    counts = np.zeros(len(sets), dtype=np.int64)
    patterns = np.zeros(len(subsets), dtype=np.int64)
    marks: list[list[FirstReads]] = [[] for _ in sets]
    logins = segments[0].logins if segments else 0.0
    for lt in lifetimes:
        lifetime, first, drawn = lifetime_means(spec, segments, starts, lt, every, rng,
                                                max_requests)
        if drawn > 0 and lifetime.any():
            chance = np.minimum(lifetime / (logins * (lt.end - lt.start)), 1.0)
            v = rng.random()
            counts += np.array([binomial_ppf(v, drawn, float(c)) for c in chance[: len(sets)]],
                               dtype=np.int64)
            if subsets:
                p = exact_patterns(chance[[column[u] for u in subsets]])
                patterns += rng.multinomial(drawn, np.r_[p, max(0.0, 1.0 - p.sum())])[:-1]
        means += lifetime
        for j, f in enumerate(first[: len(sets)]):
            marks[j].append(f)
    if max_requests is None:
        v = rng.random()
        counts = np.array([poisson_ppf(v, float(m)) for m in means[: len(sets)]],
                          dtype=np.int64)
        if subsets:
            m = exact_patterns(means[[column[u] for u in subsets]])
            patterns = np.array([poisson_ppf(w, float(x)) for w, x in
                                 zip(rng.random(m.size), m)], dtype=np.int64)
    for j in joint:  # a malicious set counts the logins whose pattern it meets
        counts[j] = sum(int(n) for u, n in zip(subsets, patterns) if u & sets[j])
    return (counts.tolist(),
            [FirstReads(np.concatenate([f.t for f in m] + [NO_READS.t]),
                        np.concatenate([f.mass for f in m] + [NO_READS.mass])) for m in marks])


def sample_known_logins(
    spec: PasswordSpec,
    segments: Sequence[Segment],
    lifetimes: Sequence[WorkerLifetime],
    sets: Sequence[frozenset[str]],
    rng: np.random.Generator,
    max_requests: int,
) -> tuple[list[int], list[np.ndarray]]:
    """:func:`sample_lingering` where the skeleton drew the server's logins
    (:mod:`.login_timeline`, with ``max_requests`` beside sessions): distinct passwords captured
    per counting set, and the first-capture times of each set's captures, sorted.

    The logins of a lifetime are known, so each one's fate is drawn (:func:`password_fates`:
    its residency, exponential or until the next clear, and each attacker's first take among
    its reads inside it): exactly the model given the reads, for every set at once and for
    their times. The reads are drawn given the lifetime's count (:func:`.reads.counted_reads`),
    whose legitimate part, its logins aside, is Poisson given them."""
    names = sorted({a.name for s in segments for a in s.attackers})
    index = {n: i for i, n in enumerate(names)}
    member = np.array([[n in counted for n in names] + [False] for counted in sets])
    counts = np.zeros(len(sets), dtype=np.int64)
    found: list[list[np.ndarray]] = [[] for _ in sets]
    for first in login_fates(spec, segments, lifetimes, index, rng, max_requests, known=True):
        for j in range(len(sets)):
            earliest = first[:, member[j][:-1]].min(axis=1, initial=math.inf)
            captured = np.isfinite(earliest)
            counts[j] += int(captured.sum())
            found[j].append(earliest[captured])
    return counts.tolist(), [np.sort(np.concatenate(f)) if f else np.zeros(0) for f in found]


#: Most logins times attackers whose fates :func:`sample_each_login` draws in one server
#: replication (about 1 microsecond each) where the sampler could draw them instead.
EACH_LOGIN_LIMIT = 4_000_000
#: Most logins whose fates :func:`sample_each_login` draws in one server replication past
#: :data:`.sessions.MAX_UNIONS` malicious attackers, where nothing else can (``check``
#: bounds it, :func:`.passwords.refuse_many_patterns`): the reference engine's event budget,
#: each login being one of its events, so that whatever it runs fits. At about 1 microsecond
#: a login and attacker, up to 2 s a replication an attacker there.
MANY_ATTACKERS_LOGIN_LIMIT = 2_000_000


def each_login_work(segments: Sequence[Segment], workers: int) -> float:
    """Expected logins times attackers of :func:`sample_each_login`: at most the logins of
    every worker while some attacker reads it, times the attackers."""
    names = {a.name for s in segments for a in s.attackers}
    return len(names) * workers * sum(s.duration * s.logins for s in segments if s.attackers)


def sample_each_login(
    spec: PasswordSpec,
    segments: Sequence[Segment],
    lifetimes: Sequence[WorkerLifetime],
    rng: np.random.Generator,
    max_requests: int | None = None,
) -> tuple[int, dict[str, int], dict[str, np.ndarray]]:
    """Lingering passwords login by login (:func:`login_fates` on logins drawn here): the
    logins several attackers take come out with their joint law at a cost linear in the
    attackers, where :func:`sample_lingering` counts every set of malicious attackers
    (``2^n``). Returns the distinct passwords any malicious attacker took, each attacker's,
    and its first-capture times, sorted."""
    names, malicious = attacker_names(segments)
    index = {n: i for i, n in enumerate(names)}
    bad = np.array([n in malicious for n in names], dtype=bool)
    total = 0
    taken: list[list[np.ndarray]] = [[] for _ in names]
    for first in login_fates(spec, segments, lifetimes, index, rng, max_requests):
        total += int(np.isfinite(first[:, bad]).any(axis=1).sum())
        for i in range(len(names)):
            taken[i].append(first[:, i][np.isfinite(first[:, i])])
    times = {n: np.sort(np.concatenate(taken[i])) if taken[i] else np.zeros(0)
             for i, n in enumerate(names)}
    return total, {n: int(v.size) for n, v in times.items()}, times


def login_fates(
    spec: PasswordSpec,
    segments: Sequence[Segment],
    lifetimes: Sequence[WorkerLifetime],
    index: dict[str, int],
    rng: np.random.Generator,
    max_requests: int | None = None,
    known: bool = False,
) -> Iterator[np.ndarray]:
    """Per worker lifetime that something reads, :func:`password_fates` of the logins that
    can be read there (attackers by ``index``): the skeleton's (``known``), or drawn, a
    Poisson stream at the constant login rate up to the last read, or with ``max_requests``
    the ``K`` logins the lifetime's count implies, placed uniformly. The reads are drawn given
    that count (:func:`.reads.counted_reads`) with ``max_requests``, else freely."""
    starts = [s.t0 for s in segments]
    rule, mu = spec.lifetime, inverse_residency(spec)
    rate = segments[0].logins if segments else 0.0
    for lt in lifetimes:
        own = None
        if known:
            assert lt.logins is not None, "the skeleton drew this server's logins"
            own = lt.logins.times
        if lt.end <= lt.start or (rate <= 0.0 if own is None else own.size == 0):
            continue
        if max_requests is None:
            reads, drawn = sample_reads(segments, starts, lt, password_capture, rule, index,
                                        rng), -1
        else:
            reads, drawn = counted_reads(segments, starts, lt, password_capture, rule, index,
                                         max_requests, rng)
        ordered = _ordered(rule, segments, lt, reads, len(index), rng)
        if ordered is None:
            continue
        t, who, q, clear, begin = ordered
        if own is not None:
            u = own[own > begin]
        elif drawn < 0:  # logins after the last read are never read
            u = begin + (t[-1] - begin) * rng.random(rng.poisson(rate * (t[-1] - begin)))
        else:
            u = lt.start + (lt.end - lt.start) * rng.random(drawn)
            u = u[(u > begin) & (u < t[-1])]
        kept = PasswordReads(t[~clear], who[~clear], q[~clear], np.append(t[clear], math.inf),
                             len(index))
        yield password_fates(kept, len(index), mu, u, rng)


class PasswordReads:
    """A worker's reads of the password buffer in time order (of one lifetime or all of them),
    with each attacker's cumulative ``-log(1 - q)`` over them (``cum[k, a]`` sums the reads
    before ``k``), and its clears in time order (not empty where there are reads; ``inf``
    where nothing clears)."""

    def __init__(self, t: np.ndarray, who: np.ndarray, q: np.ndarray, clears: np.ndarray,
                 attackers: int) -> None:
        self.t, self.clears = t, clears
        logs = np.zeros((t.size, attackers))
        logs[np.arange(t.size), who] = -np.log(np.maximum(1.0 - q, np.finfo(float).tiny))
        self.cum = np.vstack([np.zeros((1, attackers)), np.cumsum(logs, axis=0)])


def password_fates(r: PasswordReads, attackers: int, mu: float, u: np.ndarray,
                    rng: np.random.Generator) -> np.ndarray:
    """Per login at ``u`` on this worker (rows) and attacker (columns), the time its password
    is first taken by that attacker (``inf``: never): the residency drawn to ``E`` (the next
    clear at the latest), then each attacker's first read in ``(u, E)`` past its own
    ``Exp(1)`` of cumulative ``-log(1 - q)``. The logins are looked up in time order, each
    with the random numbers drawn for it in the order given (searching sorted reads for
    unsorted instants was most of the cost)."""
    out = np.full((u.size, attackers), math.inf)
    if r.t.size == 0 or u.size == 0:
        return out
    order = np.argsort(u, kind="stable")
    residency = rng.exponential(1.0 / mu, u.size)[order] if mu > 0 else None
    u = u[order]
    clear = r.clears[np.minimum(np.searchsorted(r.clears, u, side="right"), r.clears.size - 1)]
    clear = np.where(clear > u, clear, math.inf)
    end = clear if residency is None else np.minimum(u + residency, clear)
    k0 = np.searchsorted(r.t, u, side="right")
    k_end = np.searchsorted(r.t, end, side="left")
    thresholds = r.cum[k0] + rng.exponential(1.0, (u.size, attackers))[order]
    for a in range(attackers):
        m = np.searchsorted(r.cum[:, a], thresholds[:, a], side="left") - 1
        hit = (m >= k0) & (m < k_end)
        out[order[hit], a] = r.t[m[hit]]
    return out


def lingering_takes(
    lt: WorkerLifetime, segments: Sequence[Segment], at: np.ndarray, ids: np.ndarray,
    t: np.ndarray, who: np.ndarray, q: np.ndarray, clears: np.ndarray, attackers: int,
    rule: ResidencySpec, rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The passwords of the logins to ``lt``'s worker inside it (at ``at``, numbered ``ids``,
    in any order), each kept for an exponential time (``rule`` a duration) or until the
    worker's next key operation (``next_handshake``: the legitimate handshakes, drawn here,
    and the reads whose connection makes one, ``clears``, before it reads), or to the
    restart, and taken by each read it meets with that read's chance ``q``
    (:func:`password_fates`, exact given the reads): each first take (login,
    attacker, time). A crashing connection's reads are answered before the restart."""
    t = np.minimum(t, np.nextafter(lt.end, -math.inf))
    ends = [np.array([lt.end])]
    if rule == "next_handshake":
        k = int(rng.poisson(segments[0].handshakes * (lt.end - lt.start)))
        ends += [lt.start + (lt.end - lt.start) * rng.random(k), t[clears]]
    order = np.argsort(t, kind="stable")
    reads = PasswordReads(t[order], who[order], q[order], np.sort(np.concatenate(ends)),
                          attackers)
    mu = 0.0 if rule == "next_handshake" else 1.0 / float(rule)
    first = password_fates(reads, attackers, mu, at, rng)
    row, col = np.nonzero(np.isfinite(first))
    return ids[row], col, first[row, col]


def refuse_past_limit(scenario: Scenario, server: Server) -> None:
    """Raise :class:`EngineRefused` when the lingering path might be needed on ``server`` and
    could sample more than :data:`READ_LIMIT` reads in one replication.

    The path is taken when the counting chain would exceed its size; its cost is the number of
    attacker connections to the server (plus legitimate handshakes between reads under
    ``next_handshake``), never the number of logins or resident passwords.
    """
    spec = server.passwords
    if spec is None or spec.lifetime == "next_request" or server.traffic.logins_per_s <= 0:
        return
    if worst_chain_states(scenario, server) <= MAX_STATES:
        return
    reads = 0.0
    for a in scenario.attackers.values():
        if server.name in a.targets:
            reads += a.connection_rate * longest_window(a, scenario.horizon)
    if spec.lifetime == "next_handshake":
        reads += server.traffic.handshakes_per_s * server.hosts * scenario.horizon
    if reads > READ_LIMIT:
        raise EngineRefused(
            f"server {server.name}: with passwords.lifetime {spec.lifetime!r} thousands of "
            f"passwords can sit in one worker at once, and the fast engine then samples every "
            f"attacker connection (and handshake) that reads or clears them: about {reads:,.0f} "
            f"per replication, more than its limit of {READ_LIMIT:,}. Lower the attack rate, "
            "raise heartbeats_per_connection or shorten passwords.lifetime"
        )


def worst_chain_states(scenario: Scenario, server: Server) -> int:
    """The largest counting chain :func:`.password_chain.state_count` could ask for on ``server``:
    its longest possible worker lifetime (the next scheduled restart, else the horizon)."""
    spec = server.passwords
    assert spec is not None
    restart = server.restart
    longest = scenario.horizon if restart.every is None else min(
        scenario.horizon, restart.every + restart.jitter)
    per_worker = server.traffic.logins_per_s / server.workers
    return chain_states(spec.lifetime, per_worker, longest,
                        server.traffic.handshakes_per_s / server.workers)
