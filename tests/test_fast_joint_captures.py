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
level (the noncentrality there is 41; 25 is enough for power 0.8); a margin bias of 4.3 points
near p = 0.5 is seen with probability 0.8 at the margins' family z (3.84), the 1-point bar
being the agreement suite's. Both runs are stored (``agreement.SIDE_RUNS``, ``joint-<scenario>``)
and proved current as the agreement suite's are.
"""

from __future__ import annotations

import numpy as np
import pytest
from agreement import CELLS, load_both, load_fast, load_reference
from scipy.stats import chi2_contingency, norm

#: One family for the margins (two per attacker), one for the joints (one table per attacker).
ALPHA = 0.001


@pytest.mark.slow
@pytest.mark.parametrize("scenario", ["choices", "choices-tokens-handshake", "choices-tokens-300s",
                                      "choices-passwords-900s",
                                      "choices-passwords-900s-counted",
                                      "choices-passwords-900s-looks",
                                      "choices-tokens-300s-free",
                                      "choices-tokens-300s-free-takes"])
def test_password_and_session_captures_of_one_attacker(scenario: str) -> None:
    """On ``choices`` the two kinds share the slot; on its variants the tokens are copies that
    the worker's key operations or an exponential time remove, placed by the requests that
    take the password away and read by the same connections, or (``choices-passwords-900s``,
    few logins) the passwords are kept 15 minutes beside ``next_request`` tokens, from the
    same logins and read by the same connections: drawn apart as they were until 2026-12-07,
    the reaper's P(both) came out 0.040 against the reference's 0.060 at these seeds
    (chi-square p 5.5e-9; the checker's 5e-7). ``-counted`` keeps ``choices``'
    ``max_requests``: drawn apart as they were until late on 2026-12-07 (the passwords on the
    lingering path), the reaper's P(both) was 0.041 against 0.060 (p 1.5e-15; the checker's
    9.6e-6). ``-looks`` is ``choices-passwords-900s`` with the shared buffer's draw forced
    off, so that the draw at the reads takes the passwords along (``lingering_looks.py``,
    since late on 2026-12-07; 12,000 fast replications against that scenario's reference):
    drawn apart there, as until then, the reaper's P(both) was 0.042 against 0.060 (p 9e-16,
    the checker's 8e-10; at seed 931). ``choices-tokens-300s-free`` is ``-tokens-300s``
    without ``max_requests``, which the shared buffer's draw takes; ``-takes`` forces that
    off, so that the passwords are drawn where the reads look and the tokens where their
    copies are taken, together (``slot_takes.py``, since 2026-12-07's last night; 12,000 fast
    replications against that scenario's reference). There the two kinds depend on each other
    weakly: drawn apart, as until then, every table came out at p 0.02 or above at seed 17,
    so these two hold the margins and cells, and ``test_fast_slot_takes.py`` the dependence,
    on a skeleton where it is strong."""
    if scenario.endswith(("-looks", "-takes")):
        fast = load_fast(f"joint-{scenario}")
        reference = load_reference(f"joint-{scenario.rsplit('-', 1)[0]}")
    else:
        fast, reference = load_both(f"joint-{scenario}")
    names = sorted({k.split("/")[0] for k in fast.sums if k.endswith("/password")})
    z = norm.ppf(1 - ALPHA / (2 * 2 * len(names)))
    for name in names:
        for kind in ("password", "session"):
            f, r = (run.sample(f"{name}/{kind}", "p_any") for run in (fast, reference))
            se = np.sqrt(f.mean * (1 - f.mean) / f.n + r.mean * (1 - r.mean) / r.n)
            assert abs(f.mean - r.mean) <= z * se, \
                f"{name} P({kind}): fast {f.mean:.4f}, reference {r.mean:.4f}"
    p_values = {}
    for name in names:
        table = np.array([[run.sums[f"{name}/{cell}"]["nonzero"] for cell in CELLS]
                          for run in (fast, reference)])
        table = np.column_stack([table, [fast.replications, reference.replications]
                                 - table.sum(axis=1)])
        p_values[name] = chi2_contingency(table[:, table.sum(axis=0) > 0])[1]
    off = {n: f"{p:.1e}" for n, p in p_values.items() if p < ALPHA / len(names)}
    assert not off, f"the (password, session) joint is off, chi-square p: {off}"
