"""The reports as a reader sees them, in headless Chromium (Debian's ``chromium``; ``.ci/run``
installs it when missing). Nothing fails to load, the claims table and every figure render
with a size, text from the scenario (``<script>`` included) shows as text, and a screenshot of
the first screen is saved (``BLEEDSIM_SCREENSHOTS=DIR`` keeps them; else pytest's tmp folder).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import Browser, executable
from report_checks import GOLDEN, golden

from sim.report import html

REPORTS = Path(__file__).parent.parent / "reports"
MEASURE = """
[...document.querySelectorAll('table, figure svg')].map(e => {
  const r = e.getBoundingClientRect();
  return [e.tagName.toLowerCase(), r.width, r.height];
})
"""

pytestmark = pytest.mark.skipif(
    executable() is None,
    reason="chromium is not installed (apt-get install chromium; .ci/run installs it)")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with Browser(width=1000, height=900) as b:
        yield b


def test_the_browser_sees_what_fails_to_load(browser: Browser, tmp_path: Path) -> None:
    """The check below can fail: a page that fetches a missing file is caught."""
    page = tmp_path / "broken.html"
    page.write_text('<!DOCTYPE html><img src="missing.png"><p>x</p>', encoding="utf-8")
    browser.open(page)
    assert any("load failed" in f for f in browser.failures())


def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("BLEEDSIM_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def check_page(browser: Browser, page: Path, screenshot: Path, claims: bool = True) -> str:
    browser.open(page)
    assert browser.failures() == []
    sizes = browser.evaluate(MEASURE)
    figures = page.read_text(encoding="utf-8").count("<figure>")
    first_header = browser.evaluate("document.querySelector('th:last-child').innerText")
    if claims:
        assert sizes[0][0] == "table", "the claims table comes before every figure"
        assert first_header == "verdict"
    assert sum(1 for tag, _, _ in sizes if tag == "svg") == figures
    for tag, width, height in sizes:
        assert width > 0 and height > 0, tag
    browser.screenshot(screenshot)
    assert screenshot.stat().st_size > 0
    text: str = browser.evaluate("document.body.innerText")
    return text


def test_golden_report_renders_and_shows_markup_as_text(browser: Browser, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(html.render(golden()), encoding="utf-8")
    text = check_page(browser, page, shots(tmp_path) / "golden.png")
    assert "<script>alert(1)</script>" in text
    assert browser.evaluate("document.scripts.length") == 0
    assert browser.evaluate("document.images.length") == 0
    assert (GOLDEN / "report.html").read_text(encoding="utf-8") == page.read_text(encoding="utf-8")


@pytest.mark.parametrize("run", sorted(p.parent.name for p in REPORTS.glob("*/results.json")))
def test_shipped_report_says_the_answer_on_its_first_screen(browser: Browser, tmp_path: Path,
                                                           run: str) -> None:
    doc = json.loads((REPORTS / run / "results.json").read_text(encoding="utf-8"))
    page = REPORTS / run / "report.html"
    check_page(browser, page, shots(tmp_path) / f"{run}.png", claims=bool(doc["claims"]))
    first_screen: str = browser.evaluate(
        "[...document.querySelectorAll('p')].filter(p => p.getBoundingClientRect().bottom"
        " <= window.innerHeight).map(p => p.innerText).join('\\n')")
    verdicts = {c["verdict"] for c in doc["claims"].values()}
    for verdict, words in (("supported", "Holds: "), ("refuted", "Does not hold: ")):
        assert (words in first_screen) == (verdict in verdicts), words


def test_demo_figure_renders(browser: Browser, tmp_path: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    from sim.report.demo import command
    from sim.scenario import load_scenario

    scenario = load_scenario(Path(__file__).parent.parent / "scenarios" / "minimal.yaml")
    command.run(scenario, 1, 0.0, tmp_path)
    capsys.readouterr()
    browser.open(tmp_path / "demo.svg")
    assert browser.failures() == []
    width, height = browser.evaluate(
        "[document.documentElement.getBoundingClientRect().width,"
        " document.documentElement.getBoundingClientRect().height]")
    assert width > 0 and height > 0
    assert browser.evaluate("document.querySelectorAll('rect').length") > 10
    browser.screenshot(shots(tmp_path) / "demo-minimal.png")
