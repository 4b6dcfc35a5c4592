"""Exponentials of the fast engine's small generators, at many lengths for one decomposition.

The key-copy chain (:mod:`.key_copies`) and the password counting chain (:mod:`.password_chain`) both
need ``pi exp(G t)`` for one generator ``G`` at many lengths ``t`` (every piece of every worker
lifetime has its own). A matrix exponential per length costs a Pade approximant; an
eigen-decomposition ``G = V diag(w) V^-1``, computed once per generator, makes each further
length a few vector products. Where ``V`` is ill-conditioned (a defective or nearly defective
generator, or a birth-death chain of lingering copies, whose eigenvectors span many orders of
magnitude) :class:`Doubling` keeps ``exp(G h 2^j)`` for a short step ``h`` instead, so each
length costs a few dozen vector products too. Either way rounding can leave about -1e-17 where
the exact value is zero, so results are clipped at zero here, once, for every caller.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

#: Largest 1-norm condition number of ``V`` trusted; past it too many digits are lost.
MAX_CONDITION = 1e6


def expm(A: np.ndarray) -> np.ndarray:
    """Matrix exponential of a small matrix by scaling and squaring a Taylor series.

    ``scipy.linalg.expm`` calls BLAS, whose thread start-up dominates for the 2-10 state chains
    here (12 ms against 30 us for a 3x3 when OpenBLAS threads are on); numpy's small matrix
    products do not. With ``||A / 2^s|| <= 1/2``, 20 Taylor terms leave an error below 1e-19.
    """
    norm = float(np.abs(A).sum(axis=1).max())
    s = max(0, math.ceil(math.log2(norm)) + 1) if norm > 0 else 0
    B = A / (2.0**s)
    term = np.eye(A.shape[0])
    out = term.copy()
    for k in range(1, 21):
        term = term @ B / k
        out += term
    for _ in range(s):
        out = out @ out
    return out


class Spectrum:
    """``G = V diag(w) V^-1``, so that ``pi exp(G t)`` costs a few microseconds per ``t``.

    Built only when ``V`` is well conditioned (:meth:`of` returns None otherwise), so callers
    fall back to :func:`expm` for defective or nearly defective generators.
    """

    __slots__ = ("w", "V", "V_inv", "_mass", "_real")

    def __init__(self, w: np.ndarray, V: np.ndarray, V_inv: np.ndarray) -> None:
        self.w, self.V, self.V_inv = w, V, V_inv
        self._mass = V_inv.sum(axis=1)
        """``V^-1 1``, for :meth:`mass_terms`."""
        self._real = not np.iscomplexobj(w) or not w.imag.any()

    @staticmethod
    def of(G: np.ndarray) -> Spectrum | None:
        w, V = np.linalg.eig(G)
        if not np.all(np.isfinite(w)):
            return None
        try:
            V_inv = np.linalg.inv(V)
        except np.linalg.LinAlgError:
            return None
        # 1-norm condition number without an SVD.
        if np.abs(V).sum(axis=0).max() * np.abs(V_inv).sum(axis=0).max() > MAX_CONDITION:
            return None
        return Spectrum(w, V, V_inv)

    def apply(self, pi: np.ndarray, t: float | np.ndarray) -> np.ndarray:
        """``pi exp(G t)``; rows of ``pi`` with a column of lengths ``t``, each by its own."""
        return (((pi @ self.V) * np.exp(self.w * t)) @ self.V_inv).real

    def mass_terms(self, pi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(a, w)`` with ``pi exp(G t) 1 = sum_k a_k e^(w_k t)``, the mass left at ``t``:
        ``a = (pi V) * (V^-1 1)``. One exponential of the eigenvalues per ``t`` where
        :meth:`apply` takes two products, and the slope comes with it (``a_k w_k``). Real
        arrays when the eigenvalues are (complex ones come in conjugate pairs, whose parts
        add up to a real mass)."""
        a = (pi @ self.V) * self._mass
        if self._real:
            return a.real, self.w.real
        return a, self.w


class Doubling:
    """``pi exp(G t)`` for any ``t`` as ``pi exp(G r) prod_j exp(G h 2^j)`` over the binary digits
    of ``t // h``, for generators whose eigenvectors cannot be trusted.

    ``exp(G h)`` is one Taylor exponential with ``||G h|| <= 1/2``; each further power is the
    square of the last, built once when a length first needs it and kept with the generator.
    The factors of a sub-generator's exponential are non-negative, so their products lose no
    digits to cancellation (unlike an ill-conditioned eigenbasis), and there are as many
    squarings as :func:`expm` would take for the same length. The remainder ``r < h`` is the
    Taylor series ``sum_k pi (G h)^k / k! (r / h)^k``: the matrices ``(G h)^k / k!`` are kept side
    by side, so every term comes from one product with ``pi`` (a Python loop over the terms
    cost most of a call on a 35-state chain). ``TAYLOR_TERMS`` terms leave an error below
    ``2^-19 / 19!``, about 2e-23.
    """

    __slots__ = ("G", "h", "powers", "taylor")

    TAYLOR_TERMS = 18

    def __init__(self, G: np.ndarray) -> None:
        norm = float(np.abs(G).sum(axis=1).max())
        self.G = G
        self.h = 0.5 / norm if norm > 0 else math.inf
        self.powers = [expm(G * self.h)] if norm > 0 else []
        terms = [np.eye(G.shape[0])]
        for k in range(1, self.TAYLOR_TERMS + 1 if norm > 0 else 1):
            terms.append(terms[-1] @ (G * self.h) / k)
        self.taylor = np.hstack(terms)
        """``[I, G h, (G h)^2 / 2, ...]``: one product with ``pi`` gives every term."""

    def apply(self, pi: np.ndarray, t: float) -> np.ndarray:
        if not self.powers:
            return pi.copy()
        steps, r = divmod(t, self.h)
        terms = (pi @ self.taylor).reshape(*pi.shape[:-1], self.TAYLOR_TERMS + 1, pi.shape[-1])
        v = (r / self.h) ** np.arange(self.TAYLOR_TERMS + 1) @ terms
        k, j = int(steps), 0
        while k:
            if j == len(self.powers):
                self.powers.append(self.powers[-1] @ self.powers[-1])
            if k & 1:
                v = v @ self.powers[j]
            k >>= 1
            j += 1
        return v


def exponential(G: np.ndarray) -> Spectrum | Doubling:
    """How ``pi exp(G t)`` is best taken at many ``t``: by eigenvalues where they are trusted."""
    spectrum = Spectrum.of(G)
    return spectrum if spectrum is not None else Doubling(G)


def propagate(
    G: np.ndarray, pi: np.ndarray, t: float, by: Spectrum | Doubling | None = None
) -> np.ndarray:
    """``pi exp(G t)`` (sub-stochastic when ``G`` kills), clipped at zero."""
    if t <= 0:
        return pi.copy()
    if G.shape[0] == 1:
        return pi * math.exp(G[0, 0] * t)
    out = by.apply(pi, t) if by is not None else pi @ expm(G * t)
    return np.maximum(out, 0.0)


def propagate_rows(
    G: np.ndarray, rows: np.ndarray, t: np.ndarray, by: Spectrum | Doubling | None = None
) -> np.ndarray:
    """:func:`propagate` of each row of ``rows`` by its own length ``t[row]``: with an
    eigen-decomposition, two products for all of them."""
    if G.shape[0] == 1:
        return rows * np.exp(G[0, 0] * np.maximum(t, 0.0))[:, None]
    if not isinstance(by, Spectrum) or (t <= 0).any():
        return np.array([propagate(G, pi, float(x), by) for pi, x in zip(rows, t)])
    return np.maximum(by.apply(rows, t[:, None]), 0.0)


def exponentials(w: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``exp(w t)`` and ``phi(w t) t = expm1(w t) / w`` (``t`` where ``w = 0``), ``w`` and
    ``t`` broadcast together: what a spectral advance multiplies the eigenbasis by."""
    wt = w * t
    grow = np.exp(wt)
    integrated = np.expm1(wt, out=wt)  # in place: a login curve's lengths number thousands
    zero = w == 0.0
    if zero.any():
        integrated /= np.where(zero, 1.0, w)
        np.copyto(integrated, t, where=zero)
    else:
        integrated /= w
    return grow, integrated


def block_diagonal(*blocks: np.ndarray) -> np.ndarray:
    """``scipy.linalg.block_diag`` of 2-D blocks, the same matrix, without its array-API
    dispatch: 2.5 us a call where SciPy's took 25 for the chains' blocks."""
    out = np.zeros((sum(b.shape[0] for b in blocks), sum(b.shape[1] for b in blocks)),
                   dtype=np.result_type(*blocks))
    r = c = 0
    for b in blocks:
        out[r : r + b.shape[0], c : c + b.shape[1]] = b
        r, c = r + b.shape[0], c + b.shape[1]
    return out


class Rewarded:
    """Generators ``G_k`` side by side, each earning ``reward_k[i]`` per second in its state ``i``.

    :meth:`advance` gives ``pi exp(G t)`` and each reward earned on the way,
    ``int_0^t pi_k exp(G_k s) ds reward_k``: the exponential of Van Loan's block
    ``[[G_k, reward_k], [0, 0]]`` (Van Loan, 1978), which has no eigen-decomposition (its zero
    eigenvalue is defective whenever ``G_k`` conserves mass). With ``G_k = V diag(w) V^-1`` the
    integral is ``pi_k V diag(phi(w t) t) V^-1 reward_k``, ``phi(z) = (e^z - 1) / z``. The
    blocks are decomposed one by one and advanced together, so a caller with several chains
    over the same stretch pays the per-call cost once.
    """

    __slots__ = ("G", "R", "spectrum", "_earn", "_doubling")

    def __init__(self, *blocks: tuple[np.ndarray, np.ndarray]) -> None:
        """``blocks``: ``(G_k, reward_k)`` pairs; their states are concatenated in order."""
        self._assemble([G for G, _ in blocks], [reward[:, None] for _, reward in blocks],
                       [Spectrum.of(G) for G, _ in blocks])

    @classmethod
    def joined(cls, parts: list[Rewarded]) -> Rewarded:
        """``parts`` side by side, their decompositions reused: several chains advanced in one
        call."""
        out = cls.__new__(cls)
        spectra = [p.spectrum for p in parts]
        out._assemble([p.G for p in parts], [p.R for p in parts], spectra)
        return out

    def _assemble(self, G: list[np.ndarray], R: list[np.ndarray],
                  spectra: list[Spectrum | None]) -> None:
        self.G = block_diagonal(*G)
        self.R = block_diagonal(*R)
        """``R[i, k]``: the reward of block ``k`` per second in (global) state ``i``."""
        self.spectrum = None
        self._doubling: Doubling | None = None
        if all(sp is not None for sp in spectra):
            parts = [sp for sp in spectra if sp is not None]
            self.spectrum = Spectrum(np.concatenate([sp.w for sp in parts]),
                                     block_diagonal(*(sp.V for sp in parts)),
                                     block_diagonal(*(sp.V_inv for sp in parts)))
            self._earn = self.spectrum.V_inv @ self.R

    def advance(self, pi: np.ndarray, t: float) -> tuple[np.ndarray, np.ndarray]:
        """``(pi exp(G t), reward earned by each block)``, both clipped at zero."""
        if t <= 0.0:
            return pi, np.zeros(self.R.shape[1])
        if self.spectrum is None:
            return self._by_exponential(pi, t)
        return self._spectral(pi, t)

    def advance_each(self, pi: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`advance` of each row of ``pi`` by its own length ``t[row]``, all at once."""
        if self.spectrum is None:
            moved = [self.advance(row, length) for row, length in zip(pi, t)]
            return (np.array([m for m, _ in moved]).reshape(pi.shape),
                    np.array([e for _, e in moved]).reshape(len(pi), self.R.shape[1]))
        return self._spectral(pi, np.maximum(t, 0.0))

    def maps(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`advance` as maps, one per length of ``t``: ``exp(G t)`` (lengths x states x
        states) and what each state earns for each block on the way (lengths x states x
        blocks), so that ``pi`` moves to ``pi @ moved`` and earns ``pi @ gained``."""
        if self.spectrum is None:
            n = self.G.shape[0]
            full = [expm(self._van_loan() * length)[:n] for length in t]
            return (np.array([f[:, :n] for f in full]).reshape(len(t), n, n),
                    np.array([f[:, n:] for f in full]).reshape(len(t), n, self.R.shape[1]))
        sp = self.spectrum
        grow, integrated = self._exponentials(t)
        moved = ((sp.V * grow[:, None, :]) @ sp.V_inv).real
        gained = ((sp.V * integrated[:, None, :]) @ self._earn).real
        return moved, gained

    def earned_curve(self, pi: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """The reward earned from ``pi`` by each block at each length of ``t`` (one row per
        length) and the rate it is earned at there, ``pi exp(G t) R``: a few vector products
        for all lengths at once. None without a trusted eigen-decomposition."""
        if self.spectrum is None:
            return None
        a = pi @ self.spectrum.V
        grow, integrated = self._exponentials(t)
        return ((a * integrated) @ self._earn).real, ((a * grow) @ self._earn).real

    def _spectral(self, pi: np.ndarray, t: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`advance` by the eigen-decomposition; ``t`` one length, or one per row."""
        assert self.spectrum is not None
        a = pi @ self.spectrum.V
        grow, integrated = self._exponentials(t)
        out = ((a * grow) @ self.spectrum.V_inv).real
        earned = ((a * integrated) @ self._earn).real
        return np.maximum(out, 0.0), np.maximum(earned, 0.0)

    def _exponentials(self, t: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:func:`exponentials` of the eigenvalues, one row per length when ``t`` is an array."""
        assert self.spectrum is not None
        return exponentials(self.spectrum.w, np.asarray(t)[..., None])

    def _van_loan(self) -> np.ndarray:
        """``[[G, R], [0, 0]]``: its exponential over ``t`` holds ``exp(G t)`` and the rewards."""
        n, k = self.R.shape
        M = np.zeros((n + k, n + k))
        M[:n, :n], M[:n, n:] = self.G, self.R
        return M

    def _by_exponential(self, pi: np.ndarray, t: float) -> tuple[np.ndarray, np.ndarray]:
        """Without a trusted decomposition, by :class:`Doubling` of Van Loan's block, built
        once and kept: a few dozen vector products per length, where a matrix exponential
        per length cost twenty matrix products (a lingering password chain's lifetimes, each
        of its own length, took nine tenths of ``restart-tuning``'s time that way). The block's
        exponential ``[[exp(G t), int exp(G s) ds R], [0, I]]`` is non-negative, as
        :class:`Doubling` needs."""
        n, k = self.R.shape
        if self._doubling is None:
            self._doubling = Doubling(self._van_loan())
        out = self._doubling.apply(np.concatenate([pi, np.zeros(pi.shape[:-1] + (k,))], axis=-1), t)
        return np.maximum(out[..., :n], 0.0), np.maximum(out[..., n:], 0.0)


class Stacked:
    """Blocks with the same number of states, kept apart but advanced in one batched call:
    :meth:`Rewarded.maps` of each block at the same lengths."""

    __slots__ = ("blocks", "V", "V_inv", "w", "earn")

    def __init__(self, blocks: list[Rewarded]) -> None:
        self.blocks = blocks
        spectra = [b.spectrum for b in blocks]
        self.V = None
        if all(sp is not None for sp in spectra):
            self.V = np.stack([sp.V for sp in spectra if sp is not None])
            self.V_inv = np.stack([sp.V_inv for sp in spectra if sp is not None])
            self.w = np.stack([sp.w for sp in spectra if sp is not None])
            self.earn = np.stack([b._earn for b in blocks])

    def maps(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``exp(G_j t)`` and the rewards earned on the way, for each block ``j`` and length
        (blocks x lengths x states x ...)."""
        return stacked_maps([self], np.zeros(len(t), dtype=np.intp), t)

    def by_blocks(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`maps` block by block (:meth:`Rewarded.maps`), for blocks whose
        decomposition is not trusted."""
        both = [b.maps(t) for b in self.blocks]
        return np.stack([m for m, _ in both]), np.stack([g for _, g in both])


def stacked_maps(
    stacks: Sequence[Stacked], which: np.ndarray, t: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """:meth:`Stacked.maps` of several stacks of as many blocks in one batched call: length
    ``k`` by stack ``which[k]`` (blocks x lengths x states x ...). A lifetime walk crosses a
    handful of segments with a few pieces each; one call per segment cost more than the
    arithmetic."""
    if any(st.V is None for st in stacks):  # some block without a trusted decomposition
        mine = [which == g for g in range(len(stacks))]
        parts = [(m, st.by_blocks(t[m])) for m, st in zip(mine, stacks) if m.any()]
        moved = np.empty((len(stacks[0].blocks), t.size) + parts[0][1][0].shape[2:])
        gained = np.empty((len(stacks[0].blocks), t.size) + parts[0][1][1].shape[2:])
        for m, (moves, gains) in parts:
            moved[:, m], gained[:, m] = moves, gains
        return moved, gained
    pick = (slice(None), which)
    V = np.stack([st.V for st in stacks if st.V is not None], axis=1)[pick]
    V_inv = np.stack([st.V_inv for st in stacks], axis=1)[pick]
    w = np.stack([st.w for st in stacks], axis=1)[pick]
    earn = np.stack([st.earn for st in stacks], axis=1)[pick]
    grow, integrated = exponentials(w, t[None, :, None])
    moved = ((V * grow[..., None, :]) @ V_inv).real
    gained = ((V * integrated[..., None, :]) @ earn).real
    return moved, gained
