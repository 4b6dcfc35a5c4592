"""``next_request`` passwords beside session tokens that outlive the next request, drawn where
the reads look (``sim/engines/fast/password_reads.py``, :func:`sample_slot_passwords_at_reads`),
one look at a time and with arrays, against the shared buffer's draw of every request
(``shared_buffer.py``), which is exact given the skeleton.

A session request empties the password slot whatever becomes of its token, so the looks that
draw the tokens of a ``next_request`` slot draw these passwords too; until 2026-12-07 they took
the counting chain past the literal draw's 20,000 requests (item 12 of ``docs/fast-engine.md``).
Both draws take the same hand-made skeletons, independently, and every password quantity the
results read (each attacker's count and P(none), the total, the first captures before a cut
that ``reuse: [passwords]`` logs in at) is compared at the family ``z``. Sessions carry about
two thirds of a worker's requests here, so a look that let them pass would leave the slot full
far too often: :func:`test_the_comparison_sees_a_slot_the_sessions_do_not_empty` checks that
this comparison sees that.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pytest
from agreement import draws_compared
from test_fast_buffer_reads import AT_READS, at_reads
from test_fast_session_reads import segments, three_readers

from sim.engines.fast import passwords, session_reads
from sim.engines.fast.password_chain import PasswordDraw
from sim.engines.fast.password_reads import sample_slot_passwords_at_reads, slot_at_reads
from sim.engines.fast.segments import AttackerRates, Segment, WorkerLifetime
from sim.engines.fast.session_slot import readable_lifetimes
from sim.engines.fast.shared_buffer import sample_shared_buffer
from sim.engines.fast.slot_looks import DrawAtReads, looked_at_reads
from sim.scenario.model import PasswordSpec, SessionSpec

#: Tokens kept five minutes: what the literal draw holds beside the passwords.
TOKENS = SessionSpec(ttl=600.0, requests_per_s=0.01, lifetime=300.0, binding=("ip",))
SLOT = replace(TOKENS, lifetime="next_request")
HORIZON = 2000.0
CUT = 700.0
#: Draws a side (each about a millisecond): each reader's P(none) is compared to within 0.03
#: to 0.05, the heavier reader's mean, near 2.5, to within about 7%.
DRAWS = 1500


def readers() -> tuple[AttackerRates, AttackerRates, AttackerRates]:
    """Two malicious readers and a benign one, with different chances per connection."""
    return (AttackerRates("eve", False, 0.03, 1, 0, 0.0, 0.5, 0.4),
            AttackerRates("mallory", False, 0.005, 2, 0, 0.0, 0.2, 0.5),
            AttackerRates("scan", True, 0.005, 1, 0, 0.0, 0.5, 0.5))


def literal(segs: list[Segment], lives: list[WorkerLifetime], n: int,
            seed: int) -> list[PasswordDraw]:
    touched = readable_lifetimes(segs, lives)
    sources = {a.name: 2 for s in segs for a in s.attackers}
    out = []
    for k in range(n):
        draw, _ = sample_shared_buffer(TOKENS, segs, touched, 3, HORIZON, sources,
                                       np.random.default_rng([seed, k]), server="web",
                                       reusing=None)
        assert draw is not None
        out.append(draw)
    return out


def at_the_reads(draw: DrawAtReads, segs: list[Segment], lives: list[WorkerLifetime], n: int,
                 seed: int) -> list[PasswordDraw]:
    return [sample_slot_passwords_at_reads(SLOT, draw, segs, lives, 3, HORIZON,
                                           np.random.default_rng([seed, k]))
            for k in range(n)]


def quantities(d: PasswordDraw) -> dict[str, float]:
    out: dict[str, float] = {"passwords": d.total, "passwords none": float(d.total == 0)}
    for name, n in d.by_attacker.items():
        out[f"{name} passwords"] = n
        out[f"{name} passwords none"] = float(n == 0)
        out[f"{name} first taken before {CUT:g}"] = int((d.capture_times[name] < CUT).sum())
    return out


def beyond(a: list[PasswordDraw], b: list[PasswordDraw]) -> list[str]:
    """The quantities whose two means differ by more than the family ``z`` of them all."""
    return draws_compared([quantities(d) for d in a], [quantities(d) for d in b])[0]


_LITERAL: dict[int, list[PasswordDraw]] = {}


def literal_run() -> tuple[list[Segment], list[WorkerLifetime], list[PasswordDraw]]:
    segs, lives = three_readers(TOKENS, readers(), HORIZON)
    if not _LITERAL:
        _LITERAL[0] = literal(segs, lives, DRAWS, 11)
    return segs, lives, _LITERAL[0]


@pytest.mark.parametrize("draw", AT_READS)
def test_restarts_a_cold_start_and_three_readers(draw: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Three workers, two restarted inside the attack, which begins inside the cold start's
    session ramp: every password quantity as the literal draw gives it."""
    segs, lives, exact = literal_run()
    failures = beyond(exact, at_the_reads(at_reads(draw, monkeypatch), segs, lives, DRAWS, 12))
    assert not failures, failures


def test_the_comparison_sees_a_slot_the_sessions_do_not_empty() -> None:
    """The same comparison with the sessions' requests left out of the looks (a slot only
    logins and other requests empty): it stays full longer, the passwords taken come out
    about twice as many, and the comparison must fail."""
    segs, lives, exact = literal_run()
    blind = replace(SLOT, requests_per_s=1e-9)
    drawn = [sample_slot_passwords_at_reads(blind, session_reads.found_at_reads, segs, lives, 3,
                                            HORIZON, np.random.default_rng([13, k]))
             for k in range(DRAWS)]
    assert beyond(exact, drawn)


def test_taken_past_the_literal_draw_before_the_chain(monkeypatch: pytest.MonkeyPatch) -> None:
    """Beside sessions that empty the slot, the literal draw while its requests are few, then
    the draw at the reads while it fits, and the chain only past it."""
    spec = PasswordSpec(lifetime="next_request")
    own = TOKENS.requests_per_s / 2
    segs = [s._replace(session_rate=own)
            for s in segments(TOKENS, 2, (2000.0, 2020.0), 3000.0,
                              (AttackerRates("eve", False, 1.5, 1, 0, 0.0, 0.3, 0.6),), hot=1)]
    lives = [WorkerLifetime(w, 0.0, 3000.0, False) for w in range(2)]
    taken: list[str] = []

    def spy(name: str, real: Callable[..., PasswordDraw]) -> Callable[..., PasswordDraw]:
        def call(*args: object, **kwargs: object) -> PasswordDraw:
            taken.append(name)
            return real(*args, **kwargs)
        return call

    for name in ("sample_slot_passwords", "sample_slot_passwords_at_reads", "sample_passwords"):
        monkeypatch.setattr(passwords, name, spy(name, getattr(passwords, name)))

    def draw() -> str:
        passwords.draw_passwords(spec, TOKENS, segs, lives, 2, None, np.random.default_rng(1),
                                 horizon=3000.0)
        return taken.pop()

    assert draw() == "sample_slot_passwords"
    monkeypatch.setattr(passwords, "DRAWN_LIMIT", 10.0)
    assert draw() == "sample_slot_passwords_at_reads"
    assert slot_at_reads(TOKENS, segs, 2) == (SLOT, looked_at_reads)
    monkeypatch.setattr(passwords, "slot_at_reads", lambda *args: None)
    assert draw() == "sample_passwords"
