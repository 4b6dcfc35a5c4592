"""The reports in ``reports/`` are those of their results.json, byte for byte: each shipped
scenario's report.md, report.html and table.txt are rebuilt from the committed results.json
and compared. After a change to the reports, ``bleedsim report reports/<name>/results.json``
rewrites them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sim.report import html, markdown, terminal

REPORTS = Path(__file__).parent.parent / "reports"
RENDERERS = {"report.md": markdown.render, "report.html": html.render,
             "table.txt": terminal.render}
RUNS = sorted(p.parent.name for p in REPORTS.glob("*/results.json"))


def test_every_shipped_scenario_has_its_reports() -> None:
    scenarios = Path(__file__).parent.parent / "scenarios"
    assert {p.stem for p in scenarios.glob("*.yaml")} <= set(RUNS)


@pytest.mark.parametrize("run", RUNS)
@pytest.mark.parametrize("name", RENDERERS)
def test_committed_report_rebuilds_byte_for_byte(run: str, name: str) -> None:
    doc = json.loads((REPORTS / run / "results.json").read_text(encoding="utf-8"))
    assert RENDERERS[name](doc).encode("utf-8") == (REPORTS / run / name).read_bytes()
