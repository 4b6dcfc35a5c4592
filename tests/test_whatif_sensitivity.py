"""Sobol sensitivity with SALib: the parameter that decides the outcome carries the variance,
and one the outcome does not depend on gets a total index whose interval holds 0."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from whatif_helpers import minimal_with_claim

from sim.cli import main
from sim.whatif import sensitivity
from sim.whatif.overrides import Base


def test_the_deciding_parameter_and_a_dummy(tmp_path: Path) -> None:
    """minimal.yaml: P(key) = presence x 0.316 exactly, and the number of source addresses only
    matters to detectors (it has none): the key cannot depend on it."""
    scenario = minimal_with_claim(tmp_path, replications=60)
    out = tmp_path / "out"
    assert main(["sensitivity", str(scenario), "--vary", "attackers.prober.presence=0..1",
                 "--vary", "attackers.prober.sources=1..1000", "--outcome", "key.p_any",
                 "--samples", "16", "--out", str(out), "--jobs", "2"]) == 0
    rows = {r["parameter"]: {k: float(v) for k, v in r.items() if k != "parameter"}
            for r in csv.DictReader((out / "sensitivity.csv").open())}
    presence, dummy = rows["attackers.prober.presence"], rows["attackers.prober.sources"]
    assert dummy["ST_low"] <= 0.0 <= dummy["ST_high"]
    assert dummy["S1_low"] <= 0.0 <= dummy["S1_high"]
    # The outcome is a function of presence alone: its total index is 1 up to sampling error.
    assert presence["ST_low"] > 0.5 and presence["ST_low"] <= 1.0 <= presence["ST_high"] + 0.2
    assert (out / "sensitivity.svg").read_text().count("attackers.prober.") >= 2
    assert (out / "sensitivity.png").read_bytes().startswith(b"\x89PNG")


def test_same_study_same_files(tmp_path: Path) -> None:
    base = Base.read(minimal_with_claim(tmp_path, replications=20))
    study = sensitivity.Study.parse(base, ["attackers.prober.presence=0.2..0.8"], "key.p_any", 8)
    one = sensitivity.analyse_study(study, jobs=1, progress=False)
    two = sensitivity.analyse_study(study, jobs=2, progress=False)
    assert sensitivity.csv_text(one) == sensitivity.csv_text(two)
    assert one.evaluations == 8 * 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--vary", "attackers.prober.presence=0..1", "--outcome", "key.p_any", "--samples", "10"],
         "power of 2"),
        (["--vary", "attackers.prober.presence=0..2", "--outcome", "key.p_any"], "presence"),
        (["--vary", "attackers.prober.presence", "--outcome", "key.p_any"], "PATH=VALUE"),
        (["--vary", "attackers.prober.presence=0..1", "--outcome", "keys"], "is not an outcome"),
    ],
)
def test_bad_studies_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                 args: list[str], message: str) -> None:
    scenario = minimal_with_claim(tmp_path, replications=20)
    assert main(["sensitivity", str(scenario), *args, "--out", str(tmp_path / "o")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
