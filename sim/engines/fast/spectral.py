"""Exponentials of the fast engine's small generators, at many lengths for one decomposition.

The key-copy chain (:mod:`.keychain`) and the password counting chain (:mod:`.buffers`) both
need ``pi exp(G t)`` for one generator ``G`` at many lengths ``t`` (every piece of every worker
lifetime has its own). A matrix exponential per length costs a Pade approximant; an
eigen-decomposition ``G = V diag(w) V^-1``, computed once per generator, makes each further
length a few vector products. Where ``V`` is ill-conditioned (a defective or nearly defective
generator) the exponential is taken instead. Either way rounding can leave about -1e-17 where
the exact value is zero, so results are clipped at zero here, once, for every caller.
"""

from __future__ import annotations

import math

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

    __slots__ = ("w", "V", "V_inv")

    def __init__(self, w: np.ndarray, V: np.ndarray, V_inv: np.ndarray) -> None:
        self.w, self.V, self.V_inv = w, V, V_inv

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

    def apply(self, pi: np.ndarray, t: float) -> np.ndarray:
        return (((pi @ self.V) * np.exp(self.w * t)) @ self.V_inv).real


def propagate(G: np.ndarray, pi: np.ndarray, t: float, spectrum: Spectrum | None = None) -> np.ndarray:
    """``pi exp(G t)`` (sub-stochastic when ``G`` kills), clipped at zero."""
    if t <= 0:
        return pi.copy()
    if G.shape[0] == 1:
        return pi * math.exp(G[0, 0] * t)
    out = spectrum.apply(pi, t) if spectrum is not None else pi @ expm(G * t)
    return np.maximum(out, 0.0)


class Rewarded:
    """A generator ``G`` earning ``reward[i]`` per second in state ``i``.

    :meth:`advance` gives ``pi exp(G t)`` and the reward earned on the way,
    ``int_0^t pi exp(G s) ds reward``: the exponential of Van Loan's block
    ``[[G, reward], [0, 0]]`` (Van Loan, 1978), which that block has no eigen-decomposition
    for (its zero eigenvalue is defective whenever ``G`` conserves mass). With ``G = V diag(w)
    V^-1`` the integral is ``pi V diag(phi(w t) t) V^-1 reward``, ``phi(z) = (e^z - 1) / z``.
    """

    __slots__ = ("G", "reward", "spectrum", "_earn", "_w_safe", "_zero")

    def __init__(self, G: np.ndarray, reward: np.ndarray) -> None:
        self.G, self.reward = G, reward
        self.spectrum = Spectrum.of(G) if G.shape[0] > 1 else None
        if self.spectrum is not None:
            w = self.spectrum.w
            self._earn = self.spectrum.V_inv @ reward
            self._zero = np.flatnonzero(w == 0.0)
            self._w_safe = np.where(w == 0.0, 1.0, w)

    def advance(self, pi: np.ndarray, t: float) -> tuple[np.ndarray, float]:
        """``(pi exp(G t), reward earned)``, both clipped at zero."""
        if t <= 0.0:
            return pi, 0.0
        s = self.spectrum
        if s is None:
            return self._by_exponential(pi, t)
        a = pi @ s.V
        wt = s.w * t
        # phi(w t) t = expm1(w t) / w, which is t at w = 0.
        integrated = np.expm1(wt) / self._w_safe
        integrated[self._zero] = t
        out = ((a * np.exp(wt)) @ s.V_inv).real
        earned = float(((a * integrated) @ self._earn).real)
        return np.maximum(out, 0.0), max(earned, 0.0)

    def _by_exponential(self, pi: np.ndarray, t: float) -> tuple[np.ndarray, float]:
        n = self.G.shape[0]
        M = np.zeros((n + 1, n + 1))
        M[:n, :n], M[:n, n] = self.G, self.reward
        out = pi @ expm(M * t)[:n]
        return np.maximum(out[:n], 0.0), max(float(out[n]), 0.0)
