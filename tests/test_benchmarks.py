"""``python -m benchmarks`` runs and prints its table (its figures are never asserted: speed is
measured in ``benchmarks/``, not in tests)."""

from __future__ import annotations

import pytest

from benchmarks.__main__ import main


def test_flatness_benchmark_prints_one_line_per_case(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--quick", "--only", "5"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["target", "ratio", "met"]
    assert [line.split("  ")[0] for line in lines[1:]] == [
        "5. heartbeats 1e3 to 1e7", "5. logins 1 to 100 per s",
        "5. logins 1 to 100 per s, tokens lingering 1 h", "5. timeline 1 week to 2 years",
        "5. key copies 300 to 30,000 a worker",
        "5. malicious attackers 12 to 48, secrets lingering 10 min",
    ]
