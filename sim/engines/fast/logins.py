"""Logins with captured passwords in the fast engine (``model.md`` rule 22).

An attacker whose ``reuse`` lists ``passwords`` logs in once with each static password it
captures, at the (first) capture, from a uniform one of its sources; the login is logged unless
the shared-address draw says the attacker shares the victim's address. The number of logins is
the attacker's own count of distinct captured logins, drawn by :mod:`.passwords` (so P(any
login) is exactly P(any reusable password)); their times are drawn here from the law of the
attacker's first-capture times on the path that drew the count:

* **Lingering path** (:mod:`.lingering`): given the sampled reads, each login is captured
  independently and the count is Poisson, so the ``N`` captured logins' first-capture times
  are i.i.d. given ``N``, each at read ``k`` with probability proportional to the expected
  first captures there. Exact.
* **Drawn requests** (:mod:`.session_slot`): every capture is drawn with its read, so each
  login is at the first read of its password by the attacker. Exact.
* **Counting chain** (:mod:`.password_chain`): the attacker's count is drawn per worker lifetime. Each
  capture in lifetime ``l`` gets a time from the density of first captures by the attacker
  inside ``l``: on each piece (constant hazards between cuts) the rate ``d/dt E[first captures
  up to t]``, and at each point read (a key-capturing connection at its time, the crashing one
  at the lifetime's end) a point mass, the increment across the read. The increments come from
  the same Van Loan propagation as the counts (the last coordinate of the propagated vector is
  the cumulative expected first-capture count). Inside a piece the position is the inverse of
  that cumulative count: a bracket of at most :data:`RESOLUTION` seconds around the root,
  found by safeguarded Newton on the closed-form curve (bisection on dyadic sub-pieces, each
  propagated exactly, where the chain has no eigen-decomposition), then uniform in the
  bracket: the time drawn is within ``RESOLUTION`` of the exact inverse-CDF draw from the same
  uniforms, which no detector instant given in seconds can tell apart. The mean number of
  logins in any window is therefore exact: it is the integral of the intensity over the
  window, summed over lifetimes. P(alert) is not
  exact in principle: the captures of one lifetime get independent times, drawn apart from
  their number, whereas in the model they are dependent (two taken by one read share its
  instant, and the time of a lone capture is conditioned on there being no other). It is
  exact in the limit where a lifetime rarely holds two captures (``docs/fast-engine.md``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sim.engines.fast.password_chain import (
    NO_ADVANCE,
    CountChain,
    PasswordDraw,
    Piece,
    lifetime_pieces,
)
from sim.engines.fast.reads import (
    FirstReads,
    PointRead,
    choices,
    crash_capture,
    password_capture,
)
from sim.engines.fast.segments import WorkerLifetime
from sim.model.record import PasswordLogins
from sim.scenario.model import Attacker, PasswordSpec

#: Width, in seconds, of the cell inside which a chain-path login time is drawn uniformly.
RESOLUTION = 1e-6
#: Newton rounds before giving up: a round that does not halve a bracket is followed by a
#: bisection, so 200 rounds settle any piece shorter than 2^100 RESOLUTION.
MAX_ROUNDS = 200


@dataclass(frozen=True, slots=True)
class Stretch:
    """Where first captures fall in one lifetime: a piece ``[t0, t0 + length)`` with constant
    hazards (segment ``i``, hazard variant ``v``, propagated vector ``x`` at ``t0``), or a point
    read at ``t0`` (``length == 0``); ``mass`` is its expected number of first captures."""

    t0: float
    length: float
    i: int
    v: int
    x: np.ndarray
    mass: float


def first_capture_stretches(
    chain: CountChain, lt: WorkerLifetime, counted: frozenset[str]
) -> list[Stretch]:
    """The lifetime's pieces and point reads with the expected first captures by ``counted`` on
    each, by the propagation of :func:`.password_chain.lifetime_moments`."""
    return lifetimes_stretches(chain, [lt], counted)[0]


def lifetimes_stretches(
    chain: CountChain, lifetimes: Sequence[WorkerLifetime], counted: frozenset[str]
) -> list[list[Stretch]]:
    """:func:`first_capture_stretches` of each lifetime: one vector product per piece and read
    with a small chain's maps, those of every lifetime from one call
    (:meth:`.CountChain.step_maps`, whose vectors are reordered states first), else a
    propagation each."""
    starts = [s.t0 for s in chain.segments]
    plans = []
    for lt in lifetimes:
        crash = crash_capture(lt, chain.segments, starts, password_capture, chain.rule)
        plans.append((lt, lifetime_pieces(chain, lt, starts),
                      crash if crash is not None and crash.attacker in counted else None))
    if not chain.walks_by_maps:
        return [_stretches(chain, lt, pieces, crash, counted, None, 0)
                for lt, pieces, crash in plans]
    steps = [step for _, pieces, crash in plans
             for step in pieces + ([NO_ADVANCE + (crash,)] if crash is not None else [])]
    maps = chain.step_maps(steps, (counted,))
    out, first = [], 0
    for lt, pieces, crash in plans:
        out.append(_stretches(chain, lt, pieces, crash, counted, maps, first))
        first += len(pieces) + (crash is not None)
    return out


def _stretches(
    chain: CountChain, lt: WorkerLifetime, pieces: Sequence[Piece], crash: PointRead | None,
    counted: frozenset[str], maps: tuple[np.ndarray, np.ndarray] | None, first: int,
) -> list[Stretch]:
    """One lifetime's stretches: by its maps (``maps``, from step ``first`` on) or by
    propagating (``maps`` None)."""
    x = chain.start()
    if maps is not None:
        advances, reads = maps[0][0, first:], maps[1][0, first:]
        x, back = x[chain.order], chain.unorder

        def ahead(x: np.ndarray, k: int) -> np.ndarray:
            return x @ advances[k]

        def after(x: np.ndarray, k: int, read: PointRead) -> np.ndarray:
            return x @ reads[k]
    else:
        back = np.arange(x.size)

        def ahead(x: np.ndarray, k: int) -> np.ndarray:
            i, v, length, _ = pieces[k]
            return chain.advance(x, i, v, counted, length)

        def after(x: np.ndarray, k: int, read: PointRead) -> np.ndarray:
            return chain.step(x, (0, 0, 0.0, read), counted)

    t, out = lt.start, []
    for k, (i, v, length, read) in enumerate(pieces):
        y = ahead(x, k)
        out.append(Stretch(t, length, i, v, x[back], y[-1] - x[-1]))
        t += length
        if read is not None:
            z = after(y, k, read)
            out.append(Stretch(t, 0.0, i, v, y[back], z[-1] - y[-1]))
            y = z
        x = y
    if crash is not None:
        z = after(x, len(pieces), crash)
        out.append(Stretch(lt.end, 0.0, -1, -1, x[back], z[-1] - x[-1]))
    return out


def brackets(
    chain: CountChain, counted: frozenset[str], roots: Sequence[tuple[Stretch, np.ndarray]]
) -> list[tuple[np.ndarray, np.ndarray]]:
    """For each piece and goals (fractions of its mass), brackets of at most
    :data:`RESOLUTION` seconds around the offsets where its cumulative first captures reach
    them. The pieces of one segment's chain are searched together
    (:func:`_newton_brackets`): a lifetime's logins fall on a few pieces each, and a
    replication's captured lifetimes are searched at once; chains without an
    eigen-decomposition bisect piece by piece."""
    out: list[tuple[np.ndarray, np.ndarray]] = [(np.empty(0), np.empty(0))] * len(roots)
    by_block: dict[tuple[int, int], list[int]] = {}
    for j, (s, _) in enumerate(roots):
        by_block.setdefault((s.i, s.v), []).append(j)
    for (i, v), members in by_block.items():
        group = [roots[j] for j in members]
        if not chain.has_curve(i, v, counted):
            for j, (s, goal) in zip(members, group):
                out[j] = _bisection_bracket(chain, s, counted, s.x[-1] + goal * s.mass)
            continue
        sizes = [goal.size for _, goal in group]
        x = np.repeat(np.array([s.x for s, _ in group]), sizes, axis=0)
        target = np.concatenate([s.x[-1] + goal * s.mass for s, goal in group])
        guess = np.concatenate([goal * s.length for s, goal in group])
        hi = np.repeat([s.length for s, _ in group], sizes)
        lo = np.zeros(hi.size)
        _newton_brackets(chain, i, v, counted, x, target, guess, lo, hi)
        cuts = np.cumsum(sizes)[:-1]
        for j, low, high in zip(members, np.split(lo, cuts), np.split(hi, cuts)):
            out[j] = (low, high)
    return out


def _newton_brackets(
    chain: CountChain, i: int, v: int, counted: frozenset[str], x: np.ndarray,
    target: np.ndarray, guess: np.ndarray, lo: np.ndarray, hi: np.ndarray,
) -> None:
    """Shrink each ``[lo, hi]`` around its root to at most :data:`RESOLUTION`, Newton starting
    from ``guess``: row ``k`` is a goal in a piece of segment ``i`` entered with vector
    ``x[k]``.

    The cumulative count is increasing in the offset, so a point below the target raises
    ``lo`` and one at or above it lowers ``hi``. Each round evaluates the curve, at every
    unsettled goal at once, a quarter-resolution either side of a Newton step (of the midpoint
    where the step leaves the bracket): once Newton is that close, the two points straddle
    the root and settle it. About five rounds where 40 bisection levels were needed.
    """
    eps = RESOLUTION / 4
    todo = np.flatnonzero(hi - lo > RESOLUTION)
    width = 2 * (hi - lo)[todo]
    for _ in range(MAX_ROUNDS):
        if todo.size == 0:
            return
        lo_t, hi_t = lo[todo], hi[todo]
        c = np.clip(guess[todo], lo_t, hi_t)
        points = np.concatenate([np.clip(c - eps, lo_t, hi_t), np.clip(c + eps, lo_t, hi_t)])
        rows = np.concatenate([x[todo], x[todo]])
        value, rate = chain.counted_curve(rows, i, v, counted, points)
        for part in (slice(0, todo.size), slice(todo.size, None)):
            p, below = points[part], value[part] < target[todo]
            lo_t = np.where(below, np.maximum(lo_t, p), lo_t)
            hi_t = np.where(below, hi_t, np.minimum(hi_t, p))
        lo[todo], hi[todo] = lo_t, hi_t
        upper = slice(todo.size, None)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = points[upper] + (target[todo] - value[upper]) / rate[upper]
        # Newton where it stays inside and the last round at least halved the bracket.
        newton = np.isfinite(step) & (step > lo_t) & (step < hi_t) & (hi_t - lo_t <= width / 2)
        guess[todo] = np.where(newton, step, 0.5 * (lo_t + hi_t))
        keep = hi_t - lo_t > RESOLUTION
        todo, width = todo[keep], (hi_t - lo_t)[keep]
    raise AssertionError(f"login time not bracketed in {MAX_ROUNDS} rounds")


def _bisection_bracket(
    chain: CountChain, s: Stretch, counted: frozenset[str], target: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The bracket by bisection on dyadic sub-pieces, each propagated exactly by the piece's
    integrators, for chains without an eigen-decomposition."""
    levels = max(0, math.ceil(math.log2(s.length / RESOLUTION)))
    x = np.repeat(s.x[None, :], target.size, axis=0)
    offset = np.zeros(target.size)
    for j in range(1, levels + 1):  # every goal bisected at once: one propagation per level
        y = chain.advance(x, s.i, s.v, counted, s.length / 2**j)
        below = y[:, -1] < target
        x[below] = y[below]
        offset[below] += s.length / 2**j
    return offset, offset + s.length / 2**levels


def chain_times(
    chain: CountChain, lt: WorkerLifetime, name: str, n: int, rng: np.random.Generator
) -> np.ndarray:
    """``n`` first-capture times of attacker ``name`` inside lifetime ``lt``, i.i.d. from the
    density of its first captures there (pieces and point reads)."""
    return chain_login_times(chain, [(lt, n)], name, rng)[0]


def chain_login_times(
    chain: CountChain, captured: Sequence[tuple[WorkerLifetime, int]], name: str,
    rng: np.random.Generator,
) -> list[np.ndarray]:
    """:func:`chain_times` of each ``(lifetime, count)``, the roots of all of them searched
    together (:func:`brackets`). Searching draws nothing, so the draws come in the order of
    one lifetime after another: per lifetime the pieces, then per piece the goals and the
    positions in their brackets."""
    counted = frozenset({name})
    out, roots, places = [], [], []
    every = lifetimes_stretches(chain, [lt for lt, _ in captured], counted)
    for (lt, n), stretches in zip(captured, every):
        mass = np.maximum([s.mass for s in stretches], 0.0)
        assert mass.sum() > 0.0, "a lifetime with captures has first-capture mass"
        pick = choices(rng, mass / mass.sum(), n)
        times = np.empty(n)
        for k, size in enumerate(np.bincount(pick).tolist()):
            if size == 0:
                continue
            s, here = stretches[k], pick == k
            if s.length == 0.0:
                times[here] = s.t0
                continue
            goal = rng.random(size)
            roots.append((s, goal))
            places.append((times, here, rng.random(goal.size)))
        out.append(times)
    for (s, _), (times, here, u), (lo, hi) in zip(roots, places, brackets(chain, counted, roots)):
        times[here] = s.t0 + (lo + u * (hi - lo))
    return out


def read_times(first: FirstReads, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` first-capture times on the lingering path: reads drawn by their expected first
    captures."""
    assert first.mass.sum() > 0.0, "captures come from reads with first-capture mass"
    return first.t[choices(rng, first.mass / first.mass.sum(), n)]


def login_times(draw: PasswordDraw, name: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """The ``n`` login times of attacker ``name``, sorted, on whichever path drew its count."""
    if name in draw.capture_times:
        return draw.capture_times[name]
    if name in draw.first_reads:
        return np.sort(read_times(draw.first_reads[name], n, rng))
    assert draw.chain is not None
    captured = draw.captured_in[name]
    assert sum(k for _, k in captured) == n
    return np.sort(np.concatenate(chain_login_times(draw.chain, captured, name, rng)))


def sample_logins(
    spec: PasswordSpec,
    draw: PasswordDraw,
    attackers: dict[str, Attacker],
    server: str,
    rng: np.random.Generator,
) -> list[PasswordLogins]:
    """The logins of every attacker that logs in with static passwords, given its captures."""
    if spec.kind != "static":
        return []
    out = []
    for name in sorted(draw.by_attacker):
        n = draw.by_attacker[name]
        attacker = attackers[name]
        if n <= 0 or not attacker.logs_in:
            continue
        out.append(PasswordLogins(
            name, server, login_times(draw, name, n, rng),
            rng.integers(attacker.sources, size=n),
            rng.random(n) < spec.shared_address_probability))
    return out
