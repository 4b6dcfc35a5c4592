"""``bleedsim init``: every template is written by the real command, passes ``check`` as
written without a warning, runs, and says of every number where it comes from."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import REPO, bleedsim

from sim.scenario import load_scenario
from sim.scenario.templates import NAMES, text

MARKERS = ("measure this", "from facts", "assumption")
VALUE_LINE = re.compile(r"^\s*(?:- )?[\w-]+:\s+(?P<value>[^#\n]*?)\s*(?:#\s*(?P<comment>.*))?$")
FACTS_SECTIONS = {int(n) for n in re.findall(r"^## (\d+)\.", (REPO / "docs" / "facts.md").read_text(),
                                              re.MULTILINE)}


@pytest.mark.parametrize("name", NAMES)
def test_a_template_passes_check_as_written_and_runs(tmp_path: Path, name: str) -> None:
    made = bleedsim("init", "--template", name, "scenario.yaml", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    path = tmp_path / "scenario.yaml"
    assert path.read_text() == text(name)
    checked = bleedsim("check", path, cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert checked.stderr == ""  # no warning: the replications can settle every claim
    ran = bleedsim("run", path, "--replications", "20", "--out", "out", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert (tmp_path / "out" / "results.json").is_file()


@pytest.mark.parametrize("name", NAMES)
def test_every_number_says_where_it_comes_from(name: str) -> None:
    unmarked = []
    for number, line in enumerate(text(name).splitlines(), 1):
        m = VALUE_LINE.match(line)
        if m is None or not re.search(r"\d", m["value"]):
            continue
        if not any(marker in (m["comment"] or "") for marker in MARKERS):
            unmarked.append(f"{number}: {line.strip()}")
    assert not unmarked, f"template {name}: numbers without measure this/from facts/assumption"


@pytest.mark.parametrize("name", NAMES)
def test_cited_facts_sections_exist(name: str) -> None:
    cited = {int(n) for n in re.findall(r"facts §(\d+)", text(name))}
    assert cited and cited <= FACTS_SECTIONS


def test_the_templates_are_distinct_scenarios(tmp_path: Path) -> None:
    names = set()
    for name in NAMES:
        path = tmp_path / f"{name}.yaml"
        path.write_text(text(name))
        names.add(load_scenario(path).name)
    assert len(names) == len(NAMES)


def test_init_prints_without_a_file_and_never_overwrites_by_accident(tmp_path: Path) -> None:
    printed = bleedsim("init", cwd=tmp_path)
    assert printed.returncode == 0
    assert printed.stdout == text("web")  # the default template
    (tmp_path / "mine.yaml").write_text("my own work\n")
    refused = bleedsim("init", "mine.yaml", cwd=tmp_path)
    assert refused.returncode == 2
    assert "mine.yaml exists; choose another name, or add --force to replace it" in refused.stderr
    assert (tmp_path / "mine.yaml").read_text() == "my own work\n"
    forced = bleedsim("init", "--template", "vpn", "--force", "mine.yaml", cwd=tmp_path)
    assert forced.returncode == 0
    assert (tmp_path / "mine.yaml").read_text() == text("vpn")
    unknown = bleedsim("init", "--template", "mailserver", cwd=tmp_path)
    assert unknown.returncode == 2
    assert "invalid choice: 'mailserver'" in unknown.stderr
