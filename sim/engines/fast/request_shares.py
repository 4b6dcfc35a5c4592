"""A worker lifetime's counted legitimate requests, shared out among the sessions that send them.

Beside ``max_requests`` the pairs path (:mod:`.login_pairs`) draws each lifetime's reads given
the count that ended it (:func:`.reads.counted_shared_reads`): the free legitimate requests
strictly inside, logins aside, number ``L``, drawn. Given the skeleton's logins those requests
are the other requests (Poisson at a constant rate) and the open sessions' (each a Poisson
stream at ``own`` to the worker), so given ``L`` each of them is, independently, a request of
session ``i`` with chance ``own o_i / Lambda`` (``o_i`` the session's time inside the lifetime,
``Lambda`` the integrated rate of the lot) and, given that, uniform on the session's part: the
sessions' numbers of requests there are cells of a multinomial with the other requests as the
last cell. They are drawn cell by cell, each a conditional binomial of what is left, in
whatever order the sessions come (:meth:`RequestShares.draw`), which is the same law.

Drawing each session's requests as a Poisson count of mean ``own o_i`` instead, as the session
paths whose reads are not drawn given the counts still do, lets a lifetime that ended at its
``max_requests``-th request hold more than it can (``docs/fast-engine.md``, item 13).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from sim.engines.fast.segments import WorkerLifetime

#: Parts of sessions cut at once, times the numbers each carries (memory: about ten arrays of
#: this many numbers).
PIECES_BATCH = 1_000_000


class RequestShares:
    """One worker's lifetimes whose legitimate requests were counted, with what is left of
    each count and of its integrated rate as sessions take their shares."""

    def __init__(self, lifetimes: Sequence[WorkerLifetime], counts: Sequence[int],
                 read: Sequence[bool] | None = None) -> None:
        """``lifetimes`` in time order, each with the skeleton's logins
        (:attr:`.segments.WorkerLifetime.logins`), the free legitimate requests drawn inside
        each (:attr:`.reads.CountedTraffic.requests`), and whether any connection reads it
        (all, if not given)."""
        self.read_at = (np.arange(len(lifetimes)) if read is None
                        else np.flatnonzero(np.asarray(read, dtype=bool)))
        self.start = np.array([lt.start for lt in lifetimes], dtype=float)
        self.end = np.array([lt.end for lt in lifetimes], dtype=float)
        self.left = np.array(counts, dtype=np.int64)
        self.mass = np.array([lt.logins.requests if lt.logins is not None else 0.0
                              for lt in lifetimes], dtype=float)

    def pieces(self, u: np.ndarray, e: np.ndarray, read_only: bool = False, columns: int = 1
               ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
        """The parts of the sessions valid on ``[u_i, e_i)`` inside these lifetimes (with
        ``read_only``, those a connection reads: a part no read can take from is left to the
        multinomial's rest, which changes no other part's law): per part its session's row,
        its lifetime and its span ``[a, b)`` (none empty). In batches of sessions, in their
        order, with at most :data:`PIECES_BATCH` numbers between them, ``columns`` a part (the
        caller's per counting set; one session alone may have more): a chunk of logins meets
        a part per lifetime inside its ``ttl``, and where ``max_requests`` restarts a busy
        worker at nearly every request that was gigabytes at once. The cut changes no law
        (:meth:`draw` takes parts in any order)."""
        first = np.searchsorted(self.end, u, side="right")
        last = np.searchsorted(self.start, e, side="left")
        if read_only:  # only the read lifetimes are cut
            first = np.searchsorted(self.read_at, first)
            last = np.searchsorted(self.read_at, last)
        met = np.maximum(last - first, 0)
        total = np.cumsum(met)
        batch = max(1, PIECES_BATCH // columns)
        begin, done = 0, 0  # sessions and parts cut so far
        while begin < u.size and total[-1] > done:
            stop = max(begin + 1, int(np.searchsorted(total, done + batch, side="right")))
            yield self._cut(u, e, first, met, begin, stop, read_only)
            begin, done = stop, int(total[stop - 1])

    def _cut(self, u: np.ndarray, e: np.ndarray, first: np.ndarray, met: np.ndarray,
             begin: int, stop: int, read_only: bool
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`pieces` of the sessions ``begin`` to ``stop``."""
        met = met[begin:stop]
        rows = np.repeat(np.arange(begin, stop), met)
        offset = np.arange(rows.size) - np.repeat(np.cumsum(met) - met, met)
        lifetime = first[rows] + offset
        if read_only:
            lifetime = self.read_at[lifetime]
        a = np.maximum(u[rows], self.start[lifetime])
        b = np.minimum(e[rows], self.end[lifetime])
        keep = b > a
        return rows[keep], lifetime[keep], a[keep], b[keep]

    def draw(self, lifetime: np.ndarray, mass: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Each part's number of requests (``mass``: its integrated rate, ``own`` times its
        span), each lifetime's parts a multinomial draw from what is left there; what they
        take is no longer left for the parts drawn later."""
        counts = np.zeros(lifetime.size, dtype=np.int64)
        # the parts grouped by lifetime in one stable sort (each group's parts in their own
        # order): finding each lifetime's parts by a scan of all of them had cost the parts
        # times the lifetimes, minutes where max_requests restarts a busy worker every request
        order = np.argsort(lifetime, kind="stable")
        cuts = np.flatnonzero(np.diff(lifetime[order])) + 1
        for at in np.split(order, cuts) if order.size else []:
            j = int(lifetime[at[0]])
            share = mass[at]
            if self.left[j] > 0:
                p = share / max(self.mass[j], float(share.sum()))
                drawn = rng.multinomial(int(self.left[j]),
                                        np.append(p, max(0.0, 1.0 - p.sum())))[:-1]
                counts[at] = drawn
                self.left[j] -= int(drawn.sum())
            self.mass[j] = max(0.0, self.mass[j] - float(share.sum()))
        return counts
