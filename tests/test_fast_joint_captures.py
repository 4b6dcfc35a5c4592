"""One attacker's password and session captures together, fast engine against reference.

The agreement suite crosses each capture with each detector, never two captures with each
other. Here each attacker of ``choices`` that can take both kinds is compared cell by cell
(both, a password only, a session only, neither): its margins and its joint must agree. Under
``next_request`` a password and a token share the read buffer and are never resident together;
drawn from request streams of their own the two kinds came out more alike than they are
(``docs/fast-engine.md``, item 14), which the margins cannot see.
``tests/joint_captures.py`` measures the same cells at 100,000 replications a side.

Power: at 6,000 replications a side the checker's cells as the separate draws had them, 3
points apart (z = 16 at 100,000), gave chi-square p-values near 1e-8, far beyond the family's
level; a margin bias of 4.3 points near p = 0.5 is seen with probability 0.8 at the margins'
family z (3.84), the 1-point bar being the agreement suite's.
"""

from __future__ import annotations

import numpy as np
import pytest
from joint_captures import sample, cells
from scipy.stats import chi2_contingency, norm

REPLICATIONS = 6_000
#: One family for the margins (two per attacker), one for the joints (one table per attacker).
ALPHA = 0.001


@pytest.mark.parametrize("scenario", ["choices", "choices-tokens-handshake", "choices-tokens-300s"])
def test_password_and_session_captures_of_one_attacker(scenario: str) -> None:
    """On ``choices`` the two kinds share the slot; on its variants the tokens are copies that
    the worker's key operations or an exponential time remove, placed by the requests that
    take the password away and read by the same connections."""
    fast = sample("fast", 0, REPLICATIONS, scenario)
    reference = sample("reference", 0, REPLICATIONS, scenario)
    names = sorted({k.split("/")[0] for k in fast if k.endswith("/password")})
    z = norm.ppf(1 - ALPHA / (2 * 2 * len(names)))
    for name in names:
        for kind in ("password", "session"):
            f, r = fast[f"{name}/{kind}"].mean(), reference[f"{name}/{kind}"].mean()
            se = np.sqrt(f * (1 - f) / REPLICATIONS + r * (1 - r) / REPLICATIONS)
            assert abs(f - r) <= z * se, f"{name} P({kind}): fast {f:.4f}, reference {r:.4f}"
    p_values = {}
    for name in names:
        f, r = cells(fast, name), cells(reference, name)
        keys = ["password & session", "password, no session", "session, no password"]
        counts = [[int(v[k].sum()) for k in keys] for v in (f, r)]
        table = np.array([row + [REPLICATIONS - sum(row)] for row in counts])
        p_values[name] = chi2_contingency(table[:, table.sum(axis=0) > 0])[1]
    off = {n: f"{p:.1e}" for n, p in p_values.items() if p < ALPHA / len(names)}
    assert not off, f"the (password, session) joint is off, chi-square p: {off}"
