"""Rule 21's binding checks on a batch of reuse attempts, for both session paths.

The checks run in rule 21's order, each only when listed, and the ``browser`` draw is one
uniform per attempt made only when ``browser`` is listed, so a file without it keeps its random
streams. ``concurrent`` needs the victims' own request times, which only the literal path has:
it passes them in as ``idle``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sim.scenario.model import SessionSpec


def binding_passes(
    spec: SessionSpec,
    shared: np.ndarray,
    rng: np.random.Generator,
    idle: Callable[[], np.ndarray] | None = None,
) -> np.ndarray:
    """Which attempts pass every listed check, given their shared-address draws; ``idle()``
    says which victims made no request within ``concurrent_window`` before the attempt."""
    passed = np.ones(shared.size, dtype=bool)
    for check in spec.binding:
        if check == "ip":
            passed &= shared
        elif check == "browser":
            passed &= rng.random(shared.size) < spec.browser_match_probability
        elif idle is None:
            raise ValueError("the concurrent check needs the victims' request times "
                             "(the literal session path; the engine's check refuses the rest)")
        else:
            passed &= idle()
    return passed
