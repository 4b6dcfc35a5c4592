"""``next_request`` passwords on a server without sessions, drawn where the reads look.

Without sessions a worker's legitimate requests are logins and other requests, two Poisson
streams of constant rates (rule 18), and its recycled read buffer holds what the newest one
left: a login's password, or nothing (``model.md``, Residency). The counting chain
(:mod:`.password_chain`) gets each lifetime's chance of no capture and the mean exactly, but
draws a count above zero as zero-truncated Poisson and its capture times apart from it (items
1 and 10 of ``docs/fast-engine.md``): a ``login`` detector cut inside the attack, or one whose
logins may come from the victim's own address, reads both.

Here, as in :mod:`.session_reads`, the reads that would capture a resident password
(*candidates*) are drawn first, and the buffer at each given the one before: between two
looks at a worker the newest request is a login with its rate's share, a new login each time
(logins never repeat), or none came and the buffer holds what it held; a restart empties it.
The workers' streams are independent, so each worker is drawn at once with arrays. Every
count, for each attacker and any set of them, and every first-capture time (when ``reuse:
[passwords]`` logs in) then has its law given the skeleton (with ``max_requests``, items 11
and 13, as on the chain).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sim.engines.fast import slot_looks
from sim.engines.fast.password_chain import PasswordDraw
from sim.engines.fast.reads import attacker_names, password_capture
from sim.engines.fast.segments import Segment, WorkerLifetime
from sim.engines.fast.session_reads import Pulls, candidate_work, candidates, read_lifetimes
from sim.engines.fast.session_slot import count_passwords

PASSWORD = (password_capture,)


def reads_passwords(segments: Sequence[Segment], workers: int) -> bool:
    """Whether ``next_request`` passwords without sessions are drawn here: while at most
    :data:`.slot_looks.LOOKS_LIMIT` candidates are expected (arrays, as there; until
    2026-12-06 late, 5,000)."""
    return (candidate_work("next_request", segments, workers, kinds=PASSWORD)
            <= slot_looks.LOOKS_LIMIT)


def sample_passwords_at_reads(segments: Sequence[Segment], lifetimes: Sequence[WorkerLifetime],
                              rng: np.random.Generator) -> PasswordDraw:
    """Distinct passwords captured, in total (malicious attackers) and per attacker, with each
    attacker's first-capture times (module docstring)."""
    names, malicious = attacker_names(segments)
    index = {n: i for i, n in enumerate(names)}
    seg = segments[0]  # without sessions the legitimate rates never change (rule 18)
    logins, requests = seg.logins, seg.requests
    pulls: Pulls = {}
    taken: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    issued = 0
    for lives in read_lifetimes(segments, lifetimes, index).values():
        t, who, _ = candidates(segments, lives, index, "next_request", PASSWORD, pulls, rng)
        order = np.argsort(t, kind="stable")
        t, who = t[order], who[order]
        starts = np.array([lt.start for lt in lives])
        begun = starts[np.searchsorted(starts, t, side="right") - 1]
        before = np.concatenate(([-np.inf], t[:-1]))
        fresh = before < begun  # the first look in its lifetime: the buffer began empty
        since = np.where(fresh, begun, before)
        came = rng.random(t.size) < -np.expm1(-requests * (t - since))
        login = rng.random(t.size) * requests < logins
        # the buffer at each look: what the newest look with news left (a new login's
        # password, an index unique to it, or nothing)
        news = came | fresh
        left = np.where(came & login, issued + np.arange(t.size), -1)
        held = left[np.maximum.accumulate(np.where(news, np.arange(t.size), 0))]
        issued += t.size
        took = held >= 0
        taken.append((held[took], who[took], t[took]))
    password, who, when = (np.concatenate([np.zeros(0, dtype=d), *(c[i] for c in taken)])
                           for i, d in enumerate((np.int64, np.int64, float)))
    return count_passwords(password, who, when, names, malicious)
