"""``pi exp(G t)`` three ways (``sim/engines/fast/spectral.py``) against SciPy's ``expm``.

Tolerance, derived: every way scales and squares, and a squaring at most doubles the relative
error of what it squares, so with ``s = log2(2 ||G|| t)`` squarings of a step exact to a few
ulps the error is at most about ``2^s eps = 2 ||G|| t eps`` (times a small constant for the
step's own rounding and the vector products: 8 here), plus a few ulps of the result.

The spectral way (``pi V diag(exp(w t)) V^-1``) does not square; its error is the rounding of
the two vector-matrix products, each at most ``n eps`` times the product of absolute values
(Higham, *Accuracy and Stability of Numerical Algorithms*, 3.5), and the eigensolver's own
backward error carried through the same basis: ``n kappa_1(V) eps`` with ``||pi||_1 <= 1``.
``MAX_CONDITION`` bounds ``kappa_1(V)`` at 1e6, so the term can reach about 1e-9; in practice
it is a few hundred ulps.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg
import scipy.optimize
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.engines.fast.key_copies import first_passage
from sim.engines.fast.spectral import Doubling, Spectrum, block_diagonal, exponential, propagate

EPS = float(np.finfo(float).eps)


def sub_generator(rates: np.ndarray, kill: np.ndarray) -> np.ndarray:
    """Off-diagonal ``rates`` moving mass, ``kill`` removing it: rows sum to ``-kill``."""
    G = rates.copy()
    np.fill_diagonal(G, 0.0)
    G -= np.diag(G.sum(axis=1) + kill)
    return G


def tolerance(G: np.ndarray, t: float) -> float:
    norm = float(np.abs(G).sum(axis=1).max())
    return 8.0 * (2.0 * norm * t + 1.0) * EPS


def spectral_tolerance(G: np.ndarray, t: float, by: Spectrum) -> float:
    """:func:`tolerance` plus the rounding through the eigenbasis (module docstring)."""
    condition = np.abs(by.V).sum(axis=0).max() * np.abs(by.V_inv).sum(axis=0).max()
    return tolerance(G, t) + len(G) * float(condition) * EPS


@settings(max_examples=80, deadline=None)
@given(
    n=st.integers(2, 9),
    seed=st.integers(0, 2**32 - 1),
    scale=st.floats(1e-4, 10.0),
    t=st.floats(1e-3, 1e4),
)
def test_every_way_matches_scipy(n: int, seed: int, scale: float, t: float) -> None:
    rng = np.random.default_rng(seed)
    G = sub_generator(rng.exponential(scale, (n, n)) * (rng.random((n, n)) < 0.6),
                      rng.exponential(scale, n) * (rng.random(n) < 0.5))
    pi = rng.dirichlet(np.ones(n))
    exact = np.maximum(pi @ scipy.linalg.expm(G * t), 0.0)
    ways = {"expm": None, "doubling": Doubling(G), "chosen": exponential(G)}
    for name, by in ways.items():
        out = propagate(G, pi, t, by)
        tol = spectral_tolerance(G, t, by) if isinstance(by, Spectrum) else tolerance(G, t)
        assert np.abs(out - exact).max() <= tol, (name, np.abs(out - exact).max(), tol)


def lingering_copies(n: int = 35, born: float = 0.05, mean_life: float = 60.0) -> np.ndarray:
    """A duration ``copy_lifetime`` chain: copies born at ``born``, each gone at ``1/mean_life``,
    a capture hazard growing with the count (the agreement suite's ``lingering`` shape)."""
    up = np.full(n - 1, born)
    down = np.arange(1, n) / mean_life
    G = np.diag(up, 1) + np.diag(down, -1)
    return sub_generator(G, 0.003 * np.arange(n) / n)


def test_a_lingering_chain_is_taken_by_doubling_and_stays_exact() -> None:
    """Its eigenvectors span about 13 orders of magnitude, past what a spectrum is trusted
    with, so :func:`exponential` doubles instead; the survival matches SciPy at every length."""
    G = lingering_copies()
    assert Spectrum.of(G) is None
    by = exponential(G)
    assert isinstance(by, Doubling)
    pi = np.zeros(len(G))
    pi[0] = 1.0
    for t in (0.0, 1e-3, 10.0, 300.0, 3000.0, 3001.3, 86_400.0):
        exact = np.maximum(pi @ scipy.linalg.expm(G * t), 0.0)
        out = propagate(G, pi, t, by)
        assert np.abs(out - exact).max() <= tolerance(G, t), t
        assert out.sum() <= 1.0 + tolerance(G, t)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 6), seed=st.integers(0, 2**32 - 1), scale=st.floats(1e-3, 2.0),
       defective=st.booleans())
def test_stacked_maps_match_van_loans_exponential(
    n: int, seed: int, scale: float, defective: bool
) -> None:
    """The maps a lifetime walk multiplies (:meth:`Stacked.maps`: ``exp(G t)`` and the rewards
    earned on the way) against SciPy's exponential of Van Loan's block ``[[G, R], [0, 0]]``,
    for blocks with and without a trusted eigen-decomposition (a Jordan block has none). The
    rewards earned add at most ``||R|| t`` to what is rounded, so the tolerance of the state
    part is scaled by it."""
    from sim.engines.fast.spectral import Rewarded, Stacked

    rng = np.random.default_rng(seed)
    blocks = []
    for _ in range(3):
        G = sub_generator(rng.exponential(scale, (n, n)) * (rng.random((n, n)) < 0.6),
                          rng.exponential(scale, n) * (rng.random(n) < 0.5))
        blocks.append((G, rng.exponential(scale, n)))
    if defective:
        G = np.diag(np.full(n, -scale)) + np.diag(np.full(n - 1, scale), 1)
        blocks[1] = (G, rng.exponential(scale, n))
    t = rng.exponential(10.0 / scale, 4)
    rewarded = [Rewarded((G, R)) for G, R in blocks]
    assert (rewarded[1].spectrum is None) or not defective
    moved, gained = Stacked(rewarded).maps(t)
    for j, (G, R) in enumerate(blocks):
        M = np.zeros((n + 1, n + 1))
        M[:n, :n], M[:n, n] = G, R
        for k, length in enumerate(t):
            exact = scipy.linalg.expm(M * length)[:n]
            sp = rewarded[j].spectrum
            tol = (spectral_tolerance(G, length, sp) if sp is not None
                   else tolerance(G, length)) * max(1.0, float(R.max()) * length)
            assert np.abs(moved[j, k] - exact[:, :n]).max() <= tol
            assert np.abs(gained[j, k, :, 0] - exact[:, n]).max() <= tol


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 9), seed=st.integers(0, 2**32 - 1), scale=st.floats(1e-4, 10.0))
def test_advance_without_a_decomposition_matches_van_loans_exponential(
    n: int, seed: int, scale: float
) -> None:
    """Where no eigen-decomposition is trusted (a Jordan block beside a random chain),
    :meth:`Rewarded.advance_each` takes each row by :class:`Doubling` of Van Loan's block
    ``M = [[G, R], [0, 0]]``, built once: against SciPy's ``expm(M t)``, within
    :func:`tolerance` of ``M`` (it scales and squares ``M``) times what the rewards add."""
    from sim.engines.fast.spectral import Rewarded

    rng = np.random.default_rng(seed)
    G = scipy.linalg.block_diag(
        np.diag(np.full(2, -scale)) + np.diag(np.full(1, scale), 1),
        sub_generator(rng.exponential(scale, (n, n)) * (rng.random((n, n)) < 0.6),
                      rng.exponential(scale, n) * (rng.random(n) < 0.5)))
    R = rng.exponential(scale, n + 2)
    rewarded = Rewarded((G, R))
    assert rewarded.spectrum is None
    pi = rng.dirichlet(np.ones(n + 2), size=5)
    t = rng.exponential(10.0 / scale, 5)
    moved, earned = rewarded.advance_each(pi, t)
    M = np.zeros((n + 3, n + 3))
    M[: n + 2, : n + 2], M[: n + 2, n + 2] = G, R
    for row, length in enumerate(t):
        exact = np.maximum(pi[row] @ scipy.linalg.expm(M * length)[: n + 2], 0.0)
        tol = tolerance(M, length) * max(1.0, float(R.max()) * length)
        assert np.abs(moved[row] - exact[: n + 2]).max() <= tol
        assert abs(earned[row, 0] - exact[n + 2]) <= tol


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), defective=st.booleans(), steps=st.integers(1, 9))
def test_maps_of_several_stacks_equal_each_stacks_maps(
    seed: int, defective: bool, steps: int
) -> None:
    """:func:`stacked_maps` (a lifetime walk's segments in one call) gives, step by step, what
    each step's own stack gives, with or without a stack lacking a trusted decomposition."""
    from sim.engines.fast.spectral import Rewarded, Stacked, stacked_maps

    rng = np.random.default_rng(seed)
    n = 3

    def stack(jordan: bool) -> Stacked:
        blocks = []
        for _ in range(2):
            G = sub_generator(rng.exponential(1.0, (n, n)), rng.exponential(0.5, n))
            if jordan:
                G = np.diag(np.full(n, -0.7)) + np.diag(np.full(n - 1, 0.7), 1)
            blocks.append(Rewarded((G, rng.exponential(1.0, n))))
        return Stacked(blocks)

    stacks = [stack(False), stack(defective), stack(False)]
    which = rng.integers(0, len(stacks), steps)
    t = rng.exponential(3.0, steps)
    moved, gained = stacked_maps(stacks, which, t)
    for k in range(steps):
        own_moved, own_gained = stacks[which[k]].maps(t[k : k + 1])
        assert np.allclose(moved[:, k], own_moved[:, 0], rtol=1e-12, atol=1e-14)
        assert np.allclose(gained[:, k], own_gained[:, 0], rtol=1e-12, atol=1e-14)


def sparse_sub_generator(rng: np.random.Generator, n: int, scale: float) -> np.ndarray:
    """A random sub-generator whose rates are about ``scale``, some of them 0 (key-copy
    chains are sparse)."""
    return sub_generator(rng.exponential(scale, (n, n)) * (rng.random((n, n)) < 0.6),
                         rng.exponential(scale, n) * (rng.random(n) < 0.7))


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 6), seed=st.integers(0, 2**32 - 1), scale=st.floats(1e-3, 2.0))
def test_spectral_mass_is_the_propagated_mass(n: int, seed: int, scale: float) -> None:
    """The key capture search reads the surviving mass ``pi exp(G t) 1`` from
    :meth:`Spectrum.mass_terms` (one exponential of the eigenvalues per ``t``); it must be
    what propagating ``pi`` and summing gives, within the decomposition's error."""
    rng = np.random.default_rng(seed)
    G = sparse_sub_generator(rng, n, scale)
    sp = Spectrum.of(G)
    if sp is None:
        return
    pi = rng.dirichlet(np.ones(n))
    a, w = sp.mass_terms(pi)
    for t in (0.0, 0.3 / scale, 5.0 / scale, 60.0 / scale):
        exact = float((pi @ scipy.linalg.expm(G * t)).sum())
        assert abs(float((a * np.exp(w * t)).sum().real) - exact) <= (
            spectral_tolerance(G, t, sp) * n)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 6), seed=st.integers(0, 2**32 - 1), scale=st.floats(1e-3, 2.0),
       horizon=st.sampled_from([1.0, 100.0, 1e4, 1e6]), u=st.floats(1e-6, 1.0 - 1e-6))
def test_first_passage_is_where_the_mass_falls_to_u(
    n: int, seed: int, scale: float, horizon: float, u: float
) -> None:
    """The key capture time (:func:`first_passage`, Newton on ``log S``) against SciPy's
    bracketing search on the same mass: the same answer, None exactly when the mass stays
    above ``u``, both within their tolerance ``1e-9 max(1, horizon)`` of the root, so within
    twice it of each other. The horizons reach where the mass underflows."""
    rng = np.random.default_rng(seed)
    sp = Spectrum.of(sparse_sub_generator(rng, n, scale))
    if sp is None:
        return
    a, w = sp.mass_terms(rng.dirichlet(np.ones(n)))
    mass = lambda t: float((a * np.exp(w * t)).sum().real)  # noqa: E731
    got = first_passage(a, w, horizon, u)
    if mass(horizon) > u:
        assert got is None
        return
    tol = 1e-9 * max(1.0, horizon)
    want = scipy.optimize.brentq(lambda t: math.log(max(mass(t), 1e-300)) - math.log(u),
                                 0.0, horizon, xtol=tol, rtol=1e-12)
    assert got is not None and abs(got - want) <= 2 * tol + 4e-12 * want


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5), st.booleans()), min_size=1,
                max_size=5), st.integers(0, 2**32 - 1))
def test_block_diagonal_is_scipys(shapes: list[tuple[int, int, bool]], seed: int) -> None:
    """The chains' block matrices, SciPy's ``block_diag`` without its dispatch: the same
    entries and the same type, complex eigenvectors beside real rewards included."""
    rng = np.random.default_rng(seed)
    blocks = [rng.normal(size=(r, c)) + (1j * rng.normal(size=(r, c)) if cx else 0.0)
              for r, c, cx in shapes]
    ours, theirs = block_diagonal(*blocks), scipy.linalg.block_diag(*blocks)
    assert ours.dtype == theirs.dtype
    assert np.array_equal(ours, theirs)
