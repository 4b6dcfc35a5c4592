"""One way to read every number: claims worded alike by ``check``, the terminal and the reports;
an undecided verdict says why, with a settling count that matches the Wilson interval's closed
form; assumptions read from the scenario's comments; the timeline in results.json."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
from report_checks import GOLDEN, golden

from sim.montecarlo.intervals import Z
from sim.report import html, markdown, terminal, verdicts
from sim.scenario import load_scenario, summary
from sim.scenario.assumptions import read, read_chain
from sim.scenario.wording import significant

ROOT = Path(__file__).parent.parent


def test_claims_are_worded_alike_in_check_run_and_reports() -> None:
    checked = summary(load_scenario(GOLDEN / "scenario.yaml"))
    statements = re.findall(r"^  [\w-]+: (P\(.*?\) [≤≥] [\d.]+%)", checked, re.M)
    assert len(statements) == 4
    doc = golden()
    table = terminal.render(doc)
    page = html.render(doc)
    for s in statements:
        assert s in table, s
        assert s.replace("|", "|") in page.replace("&#x27;", "'"), s
    assert "P(eve detected | present) ≥ 99.0%" in statements
    assert "P(key | evidence) ≤ 50.0%" in statements


def test_settling_count_matches_the_wilson_closed_form() -> None:
    """At p = 1 the Wilson lower end is n / (n + z^2), which reaches b at n = b z^2 / (1 - b):
    380.3 for b = 0.99, rounded up to two digits."""
    assert 0.99 * Z**2 / 0.01 == pytest.approx(380.3, abs=0.1)
    assert verdicts.settling_replications(1.0, 0.99, True, 23) == 390
    # At p = 0 the upper end is z^2 / (n + z^2): below b = 0.01 from n = z^2 (1 - b) / b.
    n = Z**2 * 0.99 / 0.01
    assert verdicts.settling_replications(0.0, 0.01, False, 10) == pytest.approx(
        math.ceil(n / 10) * 10)
    assert verdicts.settling_replications(0.5, 0.5, False, 100) is None


def test_undecided_verdicts_say_why_in_every_renderer() -> None:
    doc = golden()
    why = "Why eve-seen is undecided: its 95% interval [85.7, 100] contains the bound 99.0%"
    assert why in " ".join(terminal.render(doc).split())
    assert why in html.render(doc)
    assert why.replace("-", "\\-") in markdown.render(doc)


def test_assumptions_are_read_from_comments_with_their_paths() -> None:
    text = (ROOT / "scenarios" / "psmail-2014.yaml").read_text(encoding="utf-8")
    found = {a.path: a for a in read(text)}
    assert found["servers.mail.hosts"].value == "3"
    assert found["attackers.pre-disclosure.presence"].value == "0.01"
    assert "1% residual" in found["attackers.pre-disclosure.presence"].note
    assert "servers.mail.keys.bits" not in found  # a sourced fact, not an assumption
    tricky = ("a:\n  b: 'x # y' # assumption: quoted\n  c: d#e\n  # assumption: own line\n"
              "  e:  # assumption: block\n    f: 1\n  g: &anchor 5 # Assumption: anchored\n")
    assert [(a.path, a.value, a.note) for a in read(tricky)] == [
        ("a.b", "'x # y'", "assumption: quoted"), ("a.g", "5", "Assumption: anchored")]


def test_a_variant_inherits_the_assumptions_it_leaves_standing(tmp_path: Path) -> None:
    """A field the variant writes, or a mapping it removes, takes the base's comment with it."""
    (tmp_path / "base.yaml").write_text(
        "servers:\n  mail:\n    hosts: 3  # assumption: several\n"
        "    workers: 8  # assumption: a guess\n"
        "attackers:\n  eve:\n    rate: 5  # assumption: slow\n"
        "  bob:\n    rate: 9  # assumption: fast\n")
    variant = ("extends: base.yaml\nservers:\n  mail:\n    hosts: 5  # measured\n"
               "attackers:\n  bob: null\n  eve:\n    presence: 0.1  # assumption: critic\n")
    found = [(a.path, a.value) for a in read_chain(variant, tmp_path)]
    assert found == [("servers.mail.workers", "8"), ("attackers.eve.rate", "5"),
                     ("attackers.eve.presence", "0.1")]


def test_the_shipped_skeptic_lists_the_base_assumptions_it_keeps() -> None:
    base = {a.path for a in read((ROOT / "scenarios/psmail-2014.yaml").read_text())}
    skeptic = read_chain((ROOT / "scenarios/psmail-2014-skeptic.yaml").read_text(),
                         ROOT / "scenarios")
    paths = {a.path for a in skeptic}
    assert "servers.mail.hosts" in base & paths  # untouched by the skeptic: inherited
    assert len(paths) > len(read((ROOT / "scenarios/psmail-2014-skeptic.yaml").read_text()))


def test_results_json_holds_the_timeline_and_assumptions() -> None:
    doc = golden()
    t = doc["timeline"]
    assert t["start"] == "2014-04-07T00:00:00Z"
    assert (t["disclosed_at"], t["analysis_at"]) == (3600.0, 7200.0)
    assert t["attackers"]["eve"] == {"start_low": 0.0, "start_high": 3600.0, "duration": 1800.0}
    assert t["servers"]["web"]["patched_at"] is None  # never: null, not infinity
    assert [a["path"] for a in doc["assumptions"]] == ["attackers.eve.presence",
                                                       "attackers.eve.rate"]


def test_older_results_without_the_new_fields_still_render() -> None:
    doc = golden()
    for field in ("timeline", "assumptions"):
        doc.pop(field)
    page = html.render(doc)
    assert "predates the list of assumptions" in page
    assert "Timeline" not in page and page.count("<svg") == 3


def test_the_readme_glossary_is_the_reports_glossary() -> None:
    from sim.report.appendix import GLOSSARY

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Reading the output"):readme.index("`results.json` (paths")]
    for term, meaning in GLOSSARY:
        assert term in section and meaning in section, term


@pytest.mark.parametrize(("x", "written"), [
    (0.0, "0"), (0.00123, "0.00123"), (1.5, "1.50"), (999.4, "999"), (999.96, "1\u202f000"),
    (1190.4, "1\u202f190"), (-2210.2, "-2\u202f210"), (123456789.0, "123\u202f000\u202f000"),
    (2e15, "2.00e+15")])
def test_numbers_keep_three_significant_digits_without_exponents(x: float, written: str) -> None:
    """A mean of 1190 reads ``1 190 [1 050, 1 320]`` (narrow no-break spaces), not
    ``1.19e+03``, nor ``1,190``, which inside an interval's brackets reads as two numbers."""
    assert significant(x) == written
