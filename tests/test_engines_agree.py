"""The fast engine agrees with the reference engine, the literal model, on small scenarios.

For every outcome (per server, in total and per attacker), the session reuse and login logs,
every detector's alerts (raised and retained) and captures together with the evidence (a
capture with no alert retained: ``agreement.unseen_extractors``), the two engines' estimates
of P(at least one) and of the mean must differ by less than their sampling error allows,
``|a - b| <= z se``, with ``se`` from both samples pooled (``agreement.standard_error``). One
scenario makes a few hundred such comparisons (175 on ``overlap-never``), so ``z`` holds the
whole scenario's chance of a false failure at 1% (Bonferroni, :func:`agreement.family_z`: 3.9
to 4.2); tests that compare a few quantities use a two-sided 99.9% level (``Z``). Seeds are fixed, so the test is deterministic; the tolerance comes from
the runs, not from tuning.

**Power.** A bias ``d`` is caught with probability 1/2 when ``d = z se`` and with probability
0.8 when ``d = (z + 0.84) se``; a probability ``p`` has ``se = sqrt(p (1 - p) (1/n_f +
1/n_r))``. Both sides are stored runs (``agreement.py``): ``n_r`` = 120,000 reference and
``n_f`` = 140,000 fast replications per scenario, hours of CPU that CI cannot spend. Every test
proves the stored runs current by recomputing their first 1,000 (fast) and 500 (reference)
replications, and then compares the whole stored runs: with ``z`` of 3.95 to 4.08 a bias is
caught with probability 0.8 when it is 0.94 to 0.97 points at ``p = 0.5`` (``agreement.py``
bounds what a change could hide from the recomputed replications: 0.3 points). Each test
prints, for every quantity, the bias it detects at 80% power (``detectable``), and the
largest among the P(any). A mean is compared at 3% with that power
when its coefficient of variation is below about 1.5; counts of rare events (P(key) of a few
percent) have larger ones, and their P(any) carries the check.

A comparison that fails at that power and is not fixed yet is listed in
``agreement.OPEN_AT_FULL_POWER`` (``docs/fast-engine.md``, "Open at full power"; none is
since late on 2026-12-05): it is held to the recomputed replications' power, and the test
fails when one on that list starts to agree at full power, so the list can only shrink.

When the fast engine's output changes, the stored run is stale: the test then compares the
recomputed replications alone, at the power CI used to have (about 3 points at ``p = 0.5``),
prints what differs beyond it, and fails, naming the command that regenerates the run (about
20 CPU-minutes a scenario).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from agreement import (
    JOINT,
    OPEN_AT_FULL_POWER,
    SCENARIOS,
    Sample,
    StaleRun,
    checked,
    compared,
    copies_path_outcomes,
    differences,
    heavy_path_outcomes,
    judge,
    load_fast,
    load_reference,
    means_path_outcomes,
    psmail_path_outcomes,
    scenario_z,
    values,
)


def item_9(line: str) -> bool:
    """A capture read jointly with the evidence: the heavy attackers' phases are drawn apart
    from their captures (item 9 of ``docs/fast-engine.md``)."""
    return JOINT in line


def item_3_or_9(line: str) -> bool:
    """:func:`item_9`, or P(any) of a session quantity, which the integrated session sweep does
    not keep (item 3: the counts' law; their means are exact)."""
    if item_9(line):
        return True
    quantity = line.split()[1]
    sessions = ("/session" in quantity or quantity == "session_reuses"
                or quantity.startswith("sessions/"))
    return line.endswith("p_any") and sessions


#: Stored fast runs of a scenario forced onto other paths than its own, compared with its
#: reference in its test (one reference check serves both), every quantity but those the
#: paths are known not to keep (printed). ``heavy-path``: ``overlap-never`` with nothing
#: listed, so hazards for passwords and sessions instead of listed connections
#: (``sim/engines/fast/listed.py``) and phases for the detectors, the counting chain for
#: ``next_request`` passwords beside sessions and the integrated session sweep (items 3, 9
#: and 12; the session log's means on each side of its retention cutoff, since attempts are
#: timed by first captures there). ``heavy-psmail-paths``: ``heavy``, its sneak heavy and the
#: rest listed, on PSMail's paths: passwords and sessions drawn together at the reads
#: (``buffer_reads.py``; with arrays, ``slot_looks.py``, the cheaper draw there), which keeps every password and session quantity (item 9 only). Both
#: are ``agreement.SIDE_RUNS`` (4,000 and 20,000 fast replications). ``lingering-copies``:
#: ``lingering``, tokens kept 300 s on average, with its sessions counted given the reads
#: (``token_copies.py``) where its light attacks take the literal draw, which keeps every
#: session quantity (item 9 only; 20,000 fast replications); ``lingering-means``, the same
#: with the means given the reads in closed form (``token_means.py``) instead.
OTHER_PATHS: dict[str, list[tuple[str, Callable[[str], bool]]]] = {
    "overlap-never": [("heavy-path", item_3_or_9)],
    "heavy": [("heavy-psmail-paths", item_9)],
    "lingering": [("lingering-copies", item_9), ("lingering-means", item_9)],
}


def judged_apart(name: str, pairs: list[tuple[str, Sample, Sample]],
                 known: Callable[[str], bool]) -> list[str]:
    """Every comparison but the ``known`` ones judged at their family's ``z`` (those printed
    at the same ``z``): the failures."""
    asserted = [pair for pair in pairs if not known(pair[0])]
    failures = differences(name, asserted)
    z = scenario_z(asserted)
    for line, f, r in pairs:
        if known(line) and (f.var or r.var):
            judge(f"(known, not asserted) {line}", f, r, z)
    return list(failures.values())


@pytest.mark.parametrize(("name", "force", "taken"), [
    ("overlap-never", heavy_path_outcomes, {"sweep": 20, "chain": 20}),
    ("heavy", psmail_path_outcomes, {"looks": 20, "both": 20}),
    ("lingering", copies_path_outcomes, {"copies": 20}),
    ("lingering", means_path_outcomes, {"means": 20}),
], ids=["heavy-path", "heavy-psmail-paths", "lingering-copies", "lingering-means"])
def test_the_forced_runs_take_their_paths(name: str, force: Callable[..., Any],
                                          taken: dict[str, int],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """What each run of :data:`OTHER_PATHS` forces is the path it is there to test: in every
    replication the sessions on the integrated sweep and the passwords on the counting chain,
    or both kinds drawn together at the reads; none on the shared buffer's literal draw (which
    took them all, unseen, until 2026-12-06)."""
    import sim.engines.fast as fast
    from sim.engines.fast import passwords, sessions, slot_looks

    paths = ("sweep", "copies", "means", "reads", "looks", "chain", "shared", "both")
    seen = dict.fromkeys(paths, 0)

    def counted(key: str, f: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            seen[key] += 1
            return f(*args, **kwargs)
        return call

    monkeypatch.setattr(sessions, "sweep_means", counted("sweep", sessions.sweep_means))
    monkeypatch.setattr(sessions, "draw_classes", counted("copies", sessions.draw_classes))
    monkeypatch.setattr(sessions, "read_means", counted("means", sessions.read_means))
    monkeypatch.setattr(slot_looks, "found_at_reads", counted("reads", slot_looks.found_at_reads))
    monkeypatch.setattr(slot_looks, "looked_at_reads",
                        counted("looks", slot_looks.looked_at_reads))
    monkeypatch.setattr(passwords, "sample_passwords", counted("chain", passwords.sample_passwords))
    monkeypatch.setattr(fast, "sample_shared_buffer", counted("shared", fast.sample_shared_buffer))
    monkeypatch.setattr(fast, "sample_both_at_reads", counted("both", fast.sample_both_at_reads))
    force("fast", SCENARIOS[name](), range(20), 11)
    assert seen == {path: taken.get(path, 0) for path in paths}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_fast_matches_reference_for_every_outcome(name: str) -> None:
    """The whole stored fast run against the stored reference; the comparisons still open at
    that power (``agreement.OPEN_AT_FULL_POWER``) against the recomputed replications alone.
    Where the scenario has a run on other paths (:data:`OTHER_PATHS`), that run against the
    same reference, but for what those paths are known not to keep."""
    prefix = values(name, "fast", checked("fast"))
    ref = load_reference(name)
    problems = []
    for run, known in OTHER_PATHS.get(name, []):
        other = load_fast(run)
        print(f"{name} forced onto other paths ({run}):")
        problems += judged_apart(name, compared(name, other, sorted(other.sums), ref), known)
    try:
        stored = load_fast(name, prefix)
    except StaleRun as stale:
        failures = differences(name, compared(name, prefix, sorted(prefix), ref))
        raise AssertionError("\n".join([str(stale), *failures.values(), *problems])) from None
    full = compared(name, stored, sorted(prefix), ref)
    failures = differences(name, full)
    open_ = OPEN_AT_FULL_POWER.get(name, frozenset())
    problems += [line for comparison, line in failures.items() if comparison not in open_]
    problems += [f"{name} {comparison} now agrees at full power: take it out of "
                 "agreement.OPEN_AT_FULL_POWER and docs/fast-engine.md"
                 for comparison in sorted(open_ - failures.keys())]
    held = [pair for pair in compared(name, prefix, sorted(prefix), ref)
            if pair[0].removeprefix(f"{name} ") in open_]
    if held:
        print(f"{name}: the comparisons open at full power, on the recomputed replications:")
        problems += differences(name, held, scenario_z(full)).values()
    assert not problems, "\n".join(problems)
