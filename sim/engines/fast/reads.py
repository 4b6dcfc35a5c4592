"""What one attacker connection does to a worker's buffer of one secret kind.

Shared by the password chain (:mod:`.password_chain`), the lingering-password sampler
(:mod:`.lingering`) and the session sweeps (:mod:`.sessions`): the per-segment hazards of the
ordinary connections (thinned of the crashing and key-capturing ones, which the skeleton
samples itself) and the point reads of the connections the skeleton fixed.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple


import numpy as np
from scipy import special

from sim.engines.fast.segments import AttackerRates, WorkerLifetime, Segment
from sim.model.capture import any_of as any_of_pieces
from sim.model.capture import any_of_counts as any_of
from sim.model.quantiles import poisson_ppf
from sim.scenario.model import ResidencySpec


@dataclass(frozen=True, slots=True)
class Hazard:
    """One attacker's pull on one resident piece of a secret kind in one segment."""

    name: str
    benign: bool
    nu: float
    """Non-crashing connections per second to the worker."""
    q: float
    """Chance one such connection captures a given resident piece (0 when it clears first)."""
    clears: bool
    """Its key operations empty a ``next_handshake`` buffer before it reads."""

    @property
    def beta(self) -> float:
        return self.nu * self.q


def per_connection(c: float, heartbeats: int) -> float:
    """``1 - (1 - c)^heartbeats``: one connection captures a given resident piece."""
    return any_of_pieces(1, c, heartbeats)


def segment_hazards(
    seg: Segment, capture: Callable[[AttackerRates], float], rule: ResidencySpec, reachable: bool
) -> tuple[Hazard, ...]:
    """Every attacker's hazard on one resident piece, in a lifetime whose long-lived key is
    (``reachable``) or is not reachable: that decides how many connections capture the key."""
    out = []
    for a in seg.attackers:
        if a.listed:  # its connections are point reads (:func:`point_reads`)
            continue
        nu = a.ordinary_rate(seg.crash_probability, reachable)
        clears = rule == "next_handshake" and a.key_ops > 0
        q = 0.0 if clears else per_connection(capture(a), a.heartbeats)
        out.append(Hazard(a.name, a.benign, nu, q, clears))
    return tuple(out)


def clear_rate(seg: Segment, hazards: Sequence[Hazard], rule: ResidencySpec) -> float:
    """Rate at which a worker's whole buffer of this kind is overwritten (0 for a mean lifetime)."""
    if rule == "next_request":
        return seg.requests
    if rule == "next_handshake":
        return seg.handshakes + sum(h.nu for h in hazards if h.clears)
    return 0.0


class PointRead(NamedTuple):
    """One connection reading a worker's buffer at a known instant: a key capture or a listed
    connection inside a lifetime, or the crash ending it. A named tuple: a lifetime can hold
    hundreds, and a frozen dataclass costs several times as much to build."""

    time: float
    attacker: str
    q: float
    """Chance it captures one given resident piece."""
    clears: bool
    """Its key operations empty a ``next_handshake`` buffer first, so it reads nothing."""


def point_read(
    segments: Sequence[Segment],
    starts: Sequence[float],
    time: float,
    attacker: str,
    heartbeats: int,
    capture: Callable[[AttackerRates], float],
    rule: ResidencySpec,
) -> PointRead | None:
    """What ``heartbeats`` heartbeats of ``attacker`` at ``time`` do to the buffer, at the rates
    in force just before it (the segment with ``t0 < time <= t1``: the skeleton closes a
    segment at the event). None when it neither reads nor clears."""
    seg = segments[max(0, bisect_left(starts, time) - 1)]
    effect = read_effect(seg, attacker, heartbeats, capture, rule)
    return None if effect is None else PointRead(time, attacker, *effect)


def read_effect(
    seg: Segment, attacker: str, heartbeats: int, capture: Callable[[AttackerRates], float],
    rule: ResidencySpec,
) -> tuple[float, bool] | None:
    """:func:`point_read`'s ``(q, clears)`` in segment ``seg``, whatever the time."""
    a = next((a for a in seg.attackers if a.name == attacker), None)
    if a is None:
        return None
    if rule == "next_handshake" and a.key_ops > 0:
        return 0.0, True
    q = per_connection(capture(a), heartbeats)
    return (q, False) if q > 0.0 else None


def crash_capture(
    lt: WorkerLifetime,
    segments: Sequence[Segment],
    starts: Sequence[float],
    capture: Callable[[AttackerRates], float],
    rule: ResidencySpec,
) -> PointRead | None:
    """What the connection crashing this lifetime read on the way (None if nothing)."""
    if lt.end_cause != "crash" or lt.crash is None:
        return None
    read = point_read(segments, starts, lt.end, lt.crash.attacker, lt.crash.answered_before,
                      capture, rule)
    return None if read is None or read.clears else read


def point_reads(
    lt: WorkerLifetime,
    segments: Sequence[Segment],
    starts: Sequence[float],
    capture: Callable[[AttackerRates], float],
    rule: ResidencySpec,
) -> list[PointRead]:
    """What the connections known one by one inside this lifetime do to the buffer, in time
    order: the key-capturing ones, and the listed attackers' ordinary ones.

    Memory is empty at the lifetime's start, and a capture at its end is the crashing
    connection, read once through :func:`crash_capture`: only captures strictly inside count.
    """
    if not lt.key_captures and not lt.listed:  # most lifetimes, asked several times each
        return []
    known = [(kc.time, kc.attacker, kc.heartbeats_read) for kc in lt.key_captures]
    if lt.listed:
        known = sorted(known + [(c.time, c.attacker, c.heartbeats) for c in lt.listed])
    out = []
    # A listed attacker's connections in one segment all read alike: one lookup each.
    effects: dict[tuple[int, str, int], tuple[float, bool] | None] = {}
    for time, attacker, heartbeats in known:
        if lt.start < time < lt.end:
            i = max(0, bisect_left(starts, time) - 1)
            key = (i, attacker, heartbeats)
            if key not in effects:
                effects[key] = read_effect(segments[i], attacker, heartbeats, capture, rule)
            if (effect := effects[key]) is not None:
                out.append(PointRead(time, attacker, *effect))
    return out


def password_capture(a: AttackerRates) -> float:
    return a.c_password


def attacker_names(segments: Sequence[Segment]) -> tuple[list[str], frozenset[str]]:
    """Every attacker seen on the server, in order of appearance, and the malicious ones."""
    names: dict[str, bool] = {}
    for seg in segments:
        for a in seg.attackers:
            names.setdefault(a.name, a.benign)
    return list(names), frozenset(n for n, benign in names.items() if not benign)


def counting_sets(names: Sequence[str], malicious: frozenset[str]) -> list[frozenset[str]]:
    """The distinct sets of attackers whose captures one count tracks: each attacker alone,
    and all malicious attackers together (the same set as one attacker's when it is alone)."""
    sets = [frozenset({n}) for n in names]
    if malicious and malicious not in sets:
        sets.append(malicious)
    return sets


@dataclass(frozen=True, slots=True)
class Reads:
    """The connections that touch one worker lifetime's buffer of one secret kind, sampled:
    time, attacker (an index into the caller's names), the chance to capture one resident
    piece, and whether its key operations clear a ``next_handshake`` buffer first."""

    t: np.ndarray
    who: np.ndarray
    q: np.ndarray
    clear: np.ndarray


@dataclass(frozen=True, slots=True)
class FirstReads:
    """Lingering passwords: reads at which a counting set's first captures may fall, and the
    expected number of first captures at each. Given the reads, captures are independent per
    login, so the ``N`` captured logins' first-capture times are i.i.d. given ``N``, each the
    time of read ``k`` with probability ``mass_k / sum(mass)``: exact."""

    t: np.ndarray
    mass: np.ndarray


NO_READS = FirstReads(np.zeros(0), np.zeros(0))


def crossed(
    segments: Sequence[Segment], starts: Sequence[float], lt: WorkerLifetime
) -> Iterator[tuple[Segment, float, float]]:
    """The segments a worker lifetime crosses, in time order, each with the stretch
    ``[a, b)`` of the lifetime spent in it."""
    for seg in segments[max(0, bisect_left(starts, lt.start) - 1):]:
        if seg.t0 >= lt.end:
            break
        a, b = max(seg.t0, lt.start), min(seg.t1, lt.end)
        if b > a:
            yield seg, a, b


def sample_reads(
    segments: Sequence[Segment],
    starts: Sequence[float],
    lt: WorkerLifetime,
    capture: Callable[[AttackerRates], float],
    rule: ResidencySpec,
    index: dict[str, int],
    rng: np.random.Generator,
) -> Reads:
    """The ordinary connections of every attacker not listed over the lifetime (Poisson at the
    thinned rate ``nu`` of :func:`segment_hazards`, given the skeleton), then the connections
    the skeleton fixed: key-capturing and listed ones inside it, the crashing one at its end.
    Unsorted. :func:`sample_shared_reads` for one kind."""
    t, who, q, clear = sample_shared_reads(segments, starts, lt, [(capture, rule)], index, rng)
    return Reads(t, who, q[:, 0], clear[:, 0])


Kinds = Sequence[tuple[Callable[[AttackerRates], float], ResidencySpec]]
"""Secret kinds read by the same connections: each a capture chance and its residency rule."""
SharedReads = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
"""Reads of several kinds at once: times, attackers, and a column per kind of each one's
chance to capture a resident piece of that kind and of whether it clears that kind's
``next_handshake`` buffer first (:func:`sample_shared_reads`)."""


def sample_shared_reads(
    segments: Sequence[Segment],
    starts: Sequence[float],
    lt: WorkerLifetime,
    kinds: Kinds,
    index: dict[str, int],
    rng: np.random.Generator,
) -> SharedReads:
    """:func:`sample_reads` for several secret kinds at once, each connection drawn once.
    Unsorted.

    The point reads of one connection are merged across kinds by its time and attacker: two
    fixed connections of one attacker at the same instant have probability zero."""
    reads = _Collected(len(kinds))
    for cell in read_cells(segments, starts, lt, kinds):
        if cell.reads and (k := int(rng.poisson(cell.hazards[0].nu * (cell.b - cell.a)))):
            reads.add(cell, k, index, rng)  # (none drawn adds nothing and draws nothing)
    return reads.with_points(segments, starts, lt, kinds, index)


def in_time_order(lt: WorkerLifetime, reads: SharedReads) -> SharedReads:
    """One lifetime's :func:`sample_shared_reads` in time order, a crashing connection's
    moved just before the restart it causes (its reads are answered first)."""
    t, who, q, clears = reads
    t = np.minimum(t, np.nextafter(lt.end, -math.inf))
    order = np.argsort(t, kind="stable")
    return t[order], who[order], q[order], clears[order]


class Cell(NamedTuple):
    """One attacker's ordinary connections over one stretch ``[a, b)`` of a worker lifetime,
    with what they do to each secret kind read."""

    a: float
    b: float
    hazards: tuple[Hazard, ...]

    @property
    def reads(self) -> bool:
        """Whether they can take or clear anything of some kind."""
        return any(reads_buffer(h) for h in self.hazards)


def read_cells(
    segments: Sequence[Segment], starts: Sequence[float], lt: WorkerLifetime, kinds: Kinds,
) -> list[Cell]:
    """Every attacker's ordinary connections over every stretch of the lifetime, those that
    touch nothing included (they still count toward ``max_requests``)."""
    return [Cell(a, b, hazards) for seg, a, b in crossed(segments, starts, lt)
            for hazards in zip(*(segment_hazards(seg, capture, rule, lt.key_reachable)
                                 for capture, rule in kinds))]


def reads_buffer(h: Hazard) -> bool:
    """Whether a connection can take or clear anything in the buffer."""
    return h.nu > 0.0 and (h.q > 0.0 or h.clears)


class _Collected:
    """Reads of several kinds gathered stretch by stretch, then the connections the skeleton
    fixed."""

    def __init__(self, kinds: int) -> None:
        self.times: list[np.ndarray] = [np.zeros(0)]
        self.who: list[np.ndarray] = [np.zeros(0, dtype=int)]
        self.qs: list[np.ndarray] = [np.zeros((0, kinds))]
        self.clears: list[np.ndarray] = [np.zeros((0, kinds), dtype=bool)]

    def add(self, cell: Cell, k: int, index: dict[str, int], rng: np.random.Generator) -> None:
        """``k`` connections of ``cell``, uniform on its stretch."""
        self.times.append(cell.a + (cell.b - cell.a) * rng.random(k))
        self.who.append(np.full(k, index[cell.hazards[0].name]))
        self.qs.append(np.tile([h.q for h in cell.hazards], (k, 1)))
        self.clears.append(np.tile([h.clears for h in cell.hazards], (k, 1)))

    def with_points(
        self, segments: Sequence[Segment], starts: Sequence[float], lt: WorkerLifetime,
        kinds: Kinds, index: dict[str, int],
    ) -> SharedReads:
        """These reads and the key-capturing, listed and crashing connections, merged across
        kinds (one that neither reads nor clears a kind leaves no point read of it)."""
        k = len(kinds)
        fixed: dict[tuple[float, str], list[tuple[float, bool]]] = {}
        for j, (capture, rule) in enumerate(kinds):
            point = point_reads(lt, segments, starts, capture, rule)
            crash = crash_capture(lt, segments, starts, capture, rule)
            for r in point + ([crash] if crash is not None else []):
                fixed.setdefault((r.time, r.attacker), [(0.0, False)] * k)[j] = (r.q, r.clears)
        if fixed:
            self.times.append(np.array([time for time, _ in fixed]))
            self.who.append(np.array([index[name] for _, name in fixed]))
            effects = np.array(list(fixed.values()), dtype=float)  # (reads, kinds, (q, clears))
            self.qs.append(effects[:, :, 0])
            self.clears.append(effects[:, :, 1] > 0.0)
        return (np.concatenate(self.times), np.concatenate(self.who), np.concatenate(self.qs),
                np.concatenate(self.clears))


class CountedTraffic(NamedTuple):
    """A worker lifetime's reads drawn given its count toward ``max_requests``
    (:func:`counted_shared_reads`), and how many of the free connections are legitimate."""

    reads: SharedReads
    logins: int
    """Logins inside (0 where the skeleton drew them: they are known, not free)."""
    requests: int
    """The other legitimate requests inside."""


def counted_reads(
    segments: Sequence[Segment],
    starts: Sequence[float],
    lt: WorkerLifetime,
    capture: Callable[[AttackerRates], float],
    rule: ResidencySpec,
    index: dict[str, int],
    max_requests: int,
    rng: np.random.Generator,
) -> tuple[Reads, int]:
    """:func:`counted_shared_reads` for one kind, and the number of logins inside."""
    drawn = counted_shared_reads(segments, starts, lt, [(capture, rule)], index, max_requests,
                                 rng)
    t, who, q, clear = drawn.reads
    return Reads(t, who, q[:, 0], clear[:, 0]), drawn.logins


def counted_shared_reads(
    segments: Sequence[Segment],
    starts: Sequence[float],
    lt: WorkerLifetime,
    kinds: Kinds,
    index: dict[str, int],
    max_requests: int,
    rng: np.random.Generator,
) -> CountedTraffic:
    """:func:`sample_shared_reads` given what the lifetime's end says of its request count,
    and the number of legitimate requests in it (``docs/fast-engine.md``, item 13).

    Legitimate requests and attacker connections count toward ``max_requests``. A lifetime
    that ended at its ``N``-th holds exactly ``N - 1`` before its end; any other at most
    ``N - 1``. The connections the skeleton fixed (key captures, listed ones) are among them,
    so the free ones number ``N - 1`` less those, or a Poisson count of their integrated rate
    truncated there. Given their number, Poisson streams place them independently, each in a
    stream with probability proportional to its integrated rate (a multinomial split), and
    uniformly in each stretch of constant rate: logins, the other legitimate requests, and
    every attacker's ordinary connections per stretch. With sessions the legitimate requests
    are a cluster process, not a Poisson one; where the skeleton drew the logins
    (:attr:`.segments.WorkerLifetime.logins`) they are known, the rest is Poisson given them
    and the split leaves them out (none are drawn), which is exact (item 11).
    The ``N``-th, unless known one by one (:attr:`.segments.WorkerLifetime.last_known`), is
    drawn too: an attacker's connection reads at the end, before the restart.
    """
    cells = read_cells(segments, starts, lt, kinds)
    if lt.logins is not None:  # known: the legitimate stream left is Poisson given them
        logins, requests = 0.0, lt.logins.requests
    else:
        logins = requests = 0.0
        for seg, a, b in crossed(segments, starts, lt):
            logins += seg.logins * (b - a)
            requests += seg.requests * (b - a)
        requests -= logins
    mass = np.array([logins, max(0.0, requests),
                     *(c.hazards[0].nu * (c.b - c.a) for c in cells)])
    total = float(mass.sum())
    free = count_inside(lt, total, room_inside(lt, max_requests), rng)
    split = rng.multinomial(free, mass / total) if free else np.zeros(mass.size, dtype=int)
    reads = _Collected(len(kinds))
    for cell, k in zip(cells, split[2:].tolist()):
        if cell.reads and k:
            reads.add(cell, k, index, rng)
    if lt.end_cause == "max_requests" and not lt.last_known:
        # The max_requests-th connection, at the end: a legitimate request or, with its
        # share of the rate there, an attacker's connection, which reads before the restart.
        last = [c for c in cells if c.b == lt.end]
        if any(c.reads for c in last):
            seg = segments[max(0, bisect_left(starts, lt.end) - 1)]
            who = pick(rng, np.array([legitimate_rate_at_end(lt, seg),
                                      *(c.hazards[0].nu for c in last)]))
            if who > 0 and last[who - 1].reads:
                reads.add(last[who - 1]._replace(a=lt.end), 1, index, rng)
    return CountedTraffic(reads.with_points(segments, starts, lt, kinds, index),
                          int(split[0]), int(split[1]))


def legitimate_rate_at_end(lt: WorkerLifetime, seg: Segment) -> float:
    """Legitimate requests per second per worker at the lifetime's end (``seg`` the segment
    there) that the skeleton did not count one by one: all of them, or with the logins drawn
    (:attr:`.segments.WorkerLifetime.logins`) all but the logins. The stream the
    ``max_requests``-th connection belongs to, when no known one was it."""
    return seg.requests if lt.logins is None else lt.logins.rate_at_end


def room_inside(lt: WorkerLifetime, max_requests: int) -> int:
    """How many connections counted toward ``max_requests`` can lie strictly inside ``lt``
    besides those known one by one (key captures, listed): ``max_requests - 1`` less those,
    the ``max_requests``-th one being at the end (or, when known, the last inside)."""
    fixed = sum(lt.start < c.time < lt.end for c in lt.key_captures) + sum(
        lt.start < c.time < lt.end for c in lt.listed)
    if lt.logins is not None:
        fixed += lt.logins.times.size
    return max_requests - 1 - fixed + int(lt.last_known)


def count_inside(lt: WorkerLifetime, total: float, room: int, rng: np.random.Generator) -> int:
    """The number of the free connections (integrated rate ``total``) strictly inside ``lt``,
    given how it ended: all of ``room`` if at ``max_requests``, else a Poisson count truncated
    at ``room`` (drawn by inverting its CDF)."""
    if total <= 0.0 or room <= 0:
        return 0
    if lt.end_cause == "max_requests":
        return room
    return poisson_ppf(rng.random() * float(special.pdtr(room, total)), total)


def pick(rng: np.random.Generator, p: np.ndarray) -> int:
    """Index drawn with probabilities proportional to ``p``: the very draw of
    ``rng.choice(p.size, p=p / p.sum())`` (one uniform against the normalised cumulative sum),
    without its argument checks, which cost several times the draw for the handful of options
    here."""
    cdf = np.cumsum(p)
    cdf /= cdf[-1]
    return int(cdf.searchsorted(rng.random(), side="right"))


def choices(rng: np.random.Generator, p: np.ndarray, n: int) -> np.ndarray:
    """``n`` indices drawn with probabilities ``p`` (summing to 1): the very draws of
    ``rng.choice(p.size, size=n, p=p)``, without its checks of ``p`` (half the cost of a
    chain-path login's draw, once per worker lifetime with captures)."""
    cdf = p.cumsum()
    cdf /= cdf[-1]
    return cdf.searchsorted(rng.random(n), side="right")


def cut_lifetime(
    segments: Sequence[Segment],
    starts: Sequence[float],
    reads: Sequence[PointRead],
    a0: float,
    b0: float,
) -> list[tuple[int, float, float, PointRead | None]]:
    """The stretch ``[a0, b0)`` of one worker lifetime cut at segment boundaries and at its
    key-capturing connections (``reads``, in time order, each closing a piece): ``(segment
    index, start, end, the read at the end or None)``. The one cutting routine of the
    password chain and the session sweeps."""
    out: list[tuple[int, float, float, PointRead | None]] = []
    inside = [r for r in reads if a0 < r.time < b0]
    k = 0
    i = max(0, bisect_right(starts, a0) - 1)
    while i < len(segments) and segments[i].t0 < b0:
        a, b = max(segments[i].t0, a0), min(segments[i].t1, b0)
        while k < len(inside) and inside[k].time <= b:
            out.append((i, a, inside[k].time, inside[k]))
            a, k = inside[k].time, k + 1
        if b > a:
            out.append((i, a, b, None))
        i += 1
    return out
