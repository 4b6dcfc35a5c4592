"""Rule 21's binding checks on a batch of reuse attempts, for every session path.

The checks run in rule 21's order, each only when listed, and the ``browser`` draw is one
uniform per attempt made only when ``browser`` is listed, so a file without it keeps its random
streams. ``concurrent`` needs the victims' own request times, which only the literal paths have:
they pass them in as ``idle``; the integrated path passes a check that always fails, where
:mod:`.concurrent_bound` proves it does.

Each attempt is scored by how many of the listed checks it passes before the first that fails:
a session would have been hijacked, had the server made only its first ``k`` checks, when one
of its attempts passes ``k`` or more. That is what each check bought (:func:`hijacked_by_checks`),
from the same attempts and draws as the outcome itself.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sim.scenario.model import SessionSpec


def checks_passed(
    spec: SessionSpec,
    shared: np.ndarray,
    rng: np.random.Generator,
    idle: Callable[[], np.ndarray],
) -> np.ndarray:
    """Per attempt, how many listed checks it passes before the first that fails (all of them:
    it passes), given its shared-address draw; ``idle()`` says which victims made no request
    within ``concurrent_window`` before the attempt."""
    passing = np.ones(shared.size, dtype=bool)
    passed = np.zeros(shared.size, dtype=np.int64)
    for check in spec.binding:
        if check == "ip":
            passing &= shared
        elif check == "browser":
            passing &= rng.random(shared.size) < spec.browser_match_probability
        else:
            passing &= idle()
        passed += passing
    return passed


def hijacked_by_checks(best: np.ndarray, checks: int) -> tuple[int, ...]:
    """The sessions hijacked had only the first ``k`` checks been made, ``k = 0 .. checks - 1``
    (rule 21's order; ``k = checks`` is the outcome itself), from each session's most checks
    passed by any of its attempts (-1: never tried)."""
    return tuple(int((best >= k).sum()) for k in range(checks))
