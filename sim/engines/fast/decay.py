"""What a stretch of exponential decay integrates to, safe at a zero rate.

For a copy that survives at rate ``g``, ``L g1(gL) = int_0^L e^(-g s) ds`` is how long it stays
within a stretch of length ``L``, and ``L^2 g2(gL) = int_0^L s g1(g s) ds`` that integrated
over where in the stretch it was placed. The session sweeps and the copies counted given the
reads both read them where ``gL`` may be 0 (no reader, no residency end) or tiny, and the
plain formulas cancel.
"""

from __future__ import annotations

import numpy as np


def g1(x: np.ndarray) -> np.ndarray:
    """``(1 - e^-x) / x``, 1 at 0."""
    x = np.asarray(x, dtype=float)
    safe = np.where(x > 1e-8, x, 1.0)
    return np.where(x > 1e-8, -np.expm1(-safe) / safe, 1.0 - x / 2.0)


def g2(x: np.ndarray) -> np.ndarray:
    """``(x - 1 + e^-x) / x^2``, 1/2 at 0 (series below 1e-3, where the difference cancels)."""
    x = np.asarray(x, dtype=float)
    safe = np.where(x > 1e-3, x, 1.0)
    exact = (safe + np.expm1(-safe)) / safe**2
    return np.where(x > 1e-3, exact, 0.5 - x / 6.0 + x * x / 24.0)
