"""``bleedsim run --fail-on`` and ``bleedsim diff`` through the real command (``python -m sim``).

The scenario is built so that every verdict is certain whatever the seed: the key is always
reachable and every heartbeat captures it (P(key) = 1, so ``at_most: 0.5`` is refuted), and no
password can be captured (``capture: 0``), so ``at_most: 0.05`` is inconclusive at 40
replications (the Wilson upper end of 0 of 40 is 0.0876) and ``at_most: 0.5`` is supported.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from conftest import bleedsim

from sim.montecarlo.intervals import wilson
from sim.report.diff import Estimate, estimates, mover

GATE_YAML = """\
name: {name}
timeline: {{start: 2014-04-07T00:00:00Z, vulnerable_since: 2014-04-07T00:00:00Z,
           disclosed_at: start+1h, analysis_at: start+2h}}
servers:
  web:
    heap_bytes: 4MiB
    traffic: {{logins_per_s: 0.01, requests_per_s: 0.1}}
    keys: {{reachable: {reachable}, capture: 1}}
    passwords: {{capture: 0}}
attackers:
  eve: {{targets: [web], start: start, duration: 30m, rate: 0.1}}
claims:
  key: {{outcome: key, at_most: {key_bound}}}
  password: {{outcome: password, at_most: {password_bound}}}
monte_carlo: {{replications: 40, seed: 1}}
"""
EXIT_CLAIMS = 3


def gate_file(folder: Path, name: str = "gate", reachable: float = 1, key_bound: float = 0.5,
              password_bound: float = 0.05) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(GATE_YAML.format(name=name, reachable=reachable, key_bound=key_bound,
                                     password_bound=password_bound))
    return path


def verdicts(results: Path) -> dict[str, str]:
    return {c: j["verdict"] for c, j in json.loads(results.read_text())["claims"].items()}


def test_fail_on_refuted_exits_3_after_writing_the_results(tmp_path: Path) -> None:
    done = bleedsim("run", gate_file(tmp_path), "--out", "out", "--fail-on", "refuted",
                    cwd=tmp_path)
    assert done.returncode == EXIT_CLAIMS, done.stderr
    assert verdicts(tmp_path / "out" / "results.json") == {
        "key": "refuted", "password": "inconclusive"}
    assert "claim key is refuted (--fail-on refuted)" in done.stderr
    assert "password" not in done.stderr.split("warning")[-1].split("\n", 1)[1]
    assert (tmp_path / "out" / "report.html").is_file()


def test_without_fail_on_a_refuted_claim_exits_0(tmp_path: Path) -> None:
    done = bleedsim("run", gate_file(tmp_path), "--out", "out", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert verdicts(tmp_path / "out" / "results.json")["key"] == "refuted"


@pytest.mark.parametrize(("fail_on", "status"), [
    ("refuted", 0), ("inconclusive", EXIT_CLAIMS), ("refuted,inconclusive", EXIT_CLAIMS)])
def test_inconclusive_fails_on_anything_not_supported(
    tmp_path: Path, fail_on: str, status: int
) -> None:
    path = gate_file(tmp_path, key_bound=1.0)  # key supported, password inconclusive
    done = bleedsim("run", path, "--out", "out", "--fail-on", fail_on, cwd=tmp_path)
    assert done.returncode == status, done.stderr
    assert verdicts(tmp_path / "out" / "results.json") == {
        "key": "supported", "password": "inconclusive"}
    assert ("claim password is inconclusive" in done.stderr) == (status == EXIT_CLAIMS)


def test_every_claim_supported_exits_0(tmp_path: Path) -> None:
    path = gate_file(tmp_path, key_bound=1.0, password_bound=0.5)
    done = bleedsim("run", path, "--out", "out", "--fail-on", "inconclusive", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert set(verdicts(tmp_path / "out" / "results.json").values()) == {"supported"}


def test_fail_on_refuses_a_bad_word_and_a_scenario_without_claims(
    tmp_path: Path, tiny_file: Path
) -> None:
    bad = bleedsim("run", gate_file(tmp_path), "--fail-on", "refused", cwd=tmp_path)
    assert bad.returncode == 2
    assert "expected refuted or inconclusive" in bad.stderr
    none = bleedsim("run", tiny_file, "--out", "out", "--fail-on", "refuted", cwd=tmp_path)
    assert none.returncode == 2
    assert "--fail-on judges claims, and scenario tiny has none" in none.stderr
    assert not (tmp_path / "out").exists()


def test_check_warns_when_the_replications_cannot_support_a_bound(tmp_path: Path) -> None:
    done = bleedsim("check", gate_file(tmp_path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    # The smallest n whose zero-event Wilson upper end z^2 / (n + z^2) is at most 0.05.
    needed = next(n for n in range(1, 1000) if (wilson(0.0, n).high or 1) <= 0.05)
    assert needed == 73
    assert (f"claims.password: cannot be supported with 40 replications: even if no "
            f"replication captured password, the 95% upper bound would be 0.08762, above "
            f"at_most 0.05; {needed} replications would be needed") in done.stderr
    assert "claims.key" not in done.stderr  # 0.5 can be supported by 40 replications
    quiet = bleedsim("check", gate_file(tmp_path, password_bound=0.5), cwd=tmp_path)
    assert "warning" not in quiet.stderr


def test_a_precision_run_does_not_warn_of_crude_sampling_shortfalls(tmp_path: Path) -> None:
    """The shortfalls are those of the file's 40 crude replications; a ``--precision`` run sizes
    itself and says where it stopped."""
    crude = bleedsim("run", gate_file(tmp_path), "--out", "crude", cwd=tmp_path)
    assert crude.returncode == 0, crude.stderr
    assert "claims.password: cannot be supported with 40 replications" in crude.stderr
    precise = bleedsim("run", gate_file(tmp_path), "--out", "precise", "--precision", "0.5",
                       "--max-replications", "200", cwd=tmp_path)
    assert precise.returncode == 0, precise.stderr
    assert "cannot be supported" not in precise.stderr
    assert "Stopped after " in precise.stdout


def test_mover_matches_newcombes_worked_example() -> None:
    """Newcombe (1998), Statistics in Medicine 17, 873-890, table II, example (a): 56/70
    against 48/80, difference 0.2000, method 10 interval 0.0524 to 0.3339."""
    a_ci, b_ci = wilson(48 / 80, 80), wilson(56 / 70, 70)
    low, high = mover(Estimate(48 / 80, a_ci.low, a_ci.high), Estimate(56 / 70, b_ci.low, b_ci.high))
    assert (round(low or 0, 4), round(high or 0, 4)) == (0.0524, 0.3339)


def test_mover_of_symmetric_intervals_is_the_normal_difference() -> None:
    low, high = mover(Estimate(10.0, 8.0, 12.0), Estimate(13.0, 10.0, 16.0))
    assert low == pytest.approx(3 - math.hypot(2, 3))
    assert high == pytest.approx(3 + math.hypot(2, 3))


def test_estimates_are_found_wherever_an_interval_sits_beside_them() -> None:
    found = estimates({
        "outcomes": {"key": {"p_any": 0.2, "p_any_ci95": [0.1, 0.3], "mean": 1}},
        "claims": {"c": {"value": 0.1, "ci95": [0.0, 0.2], "verdict": "supported"}},
        "timing": {"seconds": 1.0, "seconds_ci95": [0, 2]},
    })
    assert found == {"outcomes.key.p_any": Estimate(0.2, 0.1, 0.3),
                     "claims.c": Estimate(0.1, 0.0, 0.2)}


def test_diff_shows_estimates_differences_and_flipped_verdicts(tmp_path: Path) -> None:
    for folder, kwargs in (("a", {}), ("b", {"reachable": 0, "key_bound": 0.5})):
        (tmp_path / folder).mkdir()
        done = bleedsim("run", gate_file(tmp_path / folder, **kwargs), "--out", "out",
                        cwd=tmp_path / folder)
        assert done.returncode == 0, done.stderr
    a, b = tmp_path / "a" / "out" / "results.json", tmp_path / "b" / "out" / "results.json"
    assert verdicts(a)["key"] == "refuted" and verdicts(b)["key"] == "supported"

    text = bleedsim("diff", a, b, cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    out = text.stdout
    assert "verdicts that flipped:\n  key: refuted -> supported\n" in out
    assert "scenario_sha256:" in out  # the two scenarios differ, and the diff says so
    row = next(line for line in out.splitlines() if line.startswith("outcomes.key.p_any "))
    # P(key) went from 1 (40/40) to 0 (0/40): -100 pp, an interval well below 0, marked *.
    assert row.split()[1:4] == ["100%", "0%", "-100"]
    assert row.rstrip().endswith("*")
    same = next(line for line in out.splitlines() if line.startswith("outcomes.password.p_any "))
    assert not same.rstrip().endswith("*")

    changed = bleedsim("diff", a, b, "--changed", cwd=tmp_path).stdout
    assert "outcomes.key.p_any " in changed and "outcomes.password.p_any " not in changed
    table = out.split("\nestimate ", 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    marked = [row for row in table if row.endswith("*")]
    summary = f"{len(marked)} of {len(table)} estimates differ beyond their 95% interval"
    assert summary in out and summary in changed  # every estimate counted, the changed listed
    listed = changed.split("\nestimate ", 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    assert [r.split() for r in listed] == [r.split() for r in marked]

    md = bleedsim("diff", a, b, "--out", "diff.md", cwd=tmp_path)
    assert md.returncode == 0, md.stderr
    body = (tmp_path / "diff.md").read_text()
    assert body.startswith("# bleedsim diff\n")
    assert "- verdict of claim `key`: refuted -> supported" in body
    assert "| `outcomes.key.p_any` | 100% | 0% | -100 pp |" in body
    assert bleedsim("diff", a, b, "--markdown", cwd=tmp_path).stdout == body


def test_diff_refuses_what_is_not_a_results_json(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text('{"a": 1}')
    (tmp_path / "y.json").write_text("not json")
    for args, message in (
        (("x.json", "x.json"), "x.json is not a bleedsim results.json"),
        (("y.json", "x.json"), "y.json is not JSON"),
        (("nope.json", "x.json"), "nope.json: no such file"),
    ):
        done = bleedsim("diff", *args, cwd=tmp_path)
        assert done.returncode == 2
        assert message in done.stderr
        assert "Traceback" not in done.stderr


def test_check_warns_for_a_detection_claim_over_attackers_by_the_rarest(tmp_path: Path) -> None:
    """A detected claim over several attackers takes the worst verdict, so the attacker
    present least often decides whether the replications can ever support it."""
    scenario = tmp_path / "list.yaml"
    scenario.write_text(GATE_YAML.format(name="list", reachable=1, key_bound=0.5,
                                         password_bound=0.5).replace(
        "  eve: {targets: [web], start: start, duration: 30m, rate: 0.1}\n",
        "  eve: {targets: [web], start: start, duration: 30m, rate: 0.1}\n"
        "  rare: {targets: [web], start: start, duration: 30m, rate: 0.1, presence: 0.01}\n"
    ).replace("claims:\n", "claims:\n  seen: {outcome: detected, attackers: [eve, rare], "
              "at_least: 0.5}\n"))
    done = bleedsim("check", scenario, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "with rare present detected it" in done.stderr
