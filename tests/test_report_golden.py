"""report.md and report.html: stored golden files, byte-identical output, and reports that come
from the results.json alone.

The golden files are ``python -m sim report tests/data/golden/results.json``; after an
intended change of the reports, rerun that command and review the diff.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import TINY_YAML
from report_checks import GOLDEN, balanced, golden, impossible, skeleton

from sim.cli import main
from sim.report import html, markdown, svg, terminal
from sim.report.blocks import Bar, Chart, Safe

RENDERERS = {"report.md": markdown.render, "report.html": html.render,
             "table.txt": terminal.render}


@pytest.mark.parametrize("name", RENDERERS)
def test_reports_match_the_golden_files(name: str) -> None:
    assert RENDERERS[name](golden()) == (GOLDEN / name).read_text(encoding="utf-8")


def test_report_command_writes_the_golden_bytes(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(GOLDEN / "results.json"), "--out", str(tmp_path)]) == 0
    for name in RENDERERS:
        assert (tmp_path / name).read_bytes() == (GOLDEN / name).read_bytes()
    assert capsys.readouterr().out == (
        f"wrote {tmp_path / 'report.md'}, {tmp_path / 'report.html'}, {tmp_path / 'table.txt'}\n"
    )


def test_golden_report_shows_every_kind_of_cell() -> None:
    """The golden run was chosen to hold each case the reports must present."""
    text = (GOLDEN / "report.md").read_text(encoding="utf-8")
    for shown in (
        "| server static | 10.0% [4.66, 20.1] | - |",  # a secret not held
        "0 (≤ 4.87%)",  # no event: the one-sided bound
        "| ghost | n=0 (prior 0%) | n/a (never present) |",  # present in no replication
        "∞ (rules it out)",  # a Bayes factor with the evidence impossible given presence
        "| checkers (benign) | n=60 (prior 100%) | 1.67% [0.295, 8.86] | 96.7% [88.6, 99.1] "
        "| - (benign) |",  # a benign checker has no blind spot
        "| ids | 38.3% [27.1, 51.0] |",  # detectors' P(alert)
        "P(evidence) = 61.7% [49.0, 72.9]",
        "| P\\(eve detected \\| present\\) ≥ 99\\.0\\% | 100% [85.7, 100] | undecided (inconclusive) |",
        "Why eve\\-seen is undecided: its 95% interval [85.7, 100] contains the bound 99.0%, and "
        "a verdict needs the whole interval on one side; it rests on 23 replications; about 390 "
        "would settle it if the estimate stays at 100%.",
        "Why ghost\\-seen is undecided: ghost is present in no replication.",
        "| P\\(key \\| evidence\\) ≤ 50\\.0\\% | 0 (≤ 9.41%) | holds (supported) |",
        "| 5.00% [1.71, 13.7] | does not hold (refuted) |",
        "Of the 4 claims checked against 60 simulated replications: 1 holds, 1 does not hold, "
        "2 undecided",
        "| attackers\\.eve\\.presence | 0\\.5 | assumption\\: \\<b\\>half\\<\\/b\\> the time",
        "- Command: bleedsim run scenarios/golden.yaml --seed 7 --replications 60 "
        "--engine reference",
    ):
        assert shown in text, shown
    assert "Run time:" not in text and "replications/s" not in text  # timing: results.json only


def test_impossible_evidence_names_its_detectors() -> None:
    doc = impossible(golden())
    text = markdown.render(doc)
    assert "The stated evidence is impossible in this scenario (detectors: crashes, ids): " in text
    assert "all servers, given the evidence" not in text
    assert "The stated evidence cannot happen in this scenario, so nothing is conditioned" in text
    assert "n/a (evidence impossible)" in text
    balanced(html.render(doc))


def test_html_is_balanced_self_contained_and_scriptless() -> None:
    tags = balanced((GOLDEN / "report.html").read_text(encoding="utf-8"))
    names = {t for t, _ in tags.starts}
    assert names <= {"html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "em",
                     "section", "ul", "li", "strong", "div", "table", "thead", "tbody", "tr",
                     "th", "td", "figure", "figcaption", "svg", "line", "text", "g", "rect",
                     "path"}
    for _, attrs in tags.starts:
        for key, value in attrs:
            assert not key.startswith("on")
            assert key not in ("src", "href", "xlink:href"), "nothing is fetched"
            assert value is not None and "url(" not in value


def test_markdown_tables_keep_their_shape() -> None:
    lines = skeleton((GOLDEN / "report.md").read_text(encoding="utf-8"))
    table: list[int] = []
    for marker, pipes in lines + [("", 0)]:
        if marker == "| ":
            table.append(pipes)
        elif table:
            assert len(set(table)) == 1, "every row of a table has the header's cells"
            table = []


def test_run_writes_the_reports_of_its_results_json(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """Two identical runs give byte-identical reports (timing lives in results.json only),
    and ``report`` re-renders a run's reports byte for byte from its results.json."""
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(TINY_YAML.format(replications=20))
    first, second, again = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for out in (first, second):
        assert main(["run", str(scenario), "--jobs", "1", "--out", str(out)]) == 0
    assert main(["report", str(first / "results.json"), "--out", str(again)]) == 0
    capsys.readouterr()
    for name in RENDERERS:
        a, b, c = ((out / name).read_bytes() for out in (first, second, again))
        assert a == b == c


def test_chart_axis_holds_every_whisker_and_bars_scale_with_it() -> None:
    bars = (Bar(Safe("key"), 0.004, 0.001, 0.011), Bar(Safe("password"), 0.0, 0.0, 0.003),
            Bar(Safe("session"), None, 0.0, 0.0, Safe("not held")))
    chart = Chart(Safe("t"), (("web", bars),))
    assert svg.axis_end(chart) == pytest.approx(0.02)
    drawn = balanced(svg.render(chart))
    widths = [float(dict(a)["width"] or "") for t, a in drawn.starts if t == "rect"]
    assert widths == [pytest.approx(svg.PLOT_WIDTH * 0.004 / 0.02, abs=0.05), 0.0]
    assert "not held" in drawn.text and "2.00%" in drawn.text
