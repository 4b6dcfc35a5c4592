"""``extends``: a scenario file as another one with changes (``sim/scenario/extends.py``)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from sim.scenario import ScenarioError, load_scenario

BASE = (Path(__file__).parent / "data" / "good" / "minimal.yaml").read_text(encoding="utf-8")


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_variant_is_its_base_with_its_changes(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", BASE)
    sub = tmp_path / "variants"
    sub.mkdir()
    variant = write(sub, "v.yaml", "extends: ../base.yaml\nname: v\n"
                    "attackers:\n  probe: {rate: 2, stop_when: [patched]}\n"
                    "  other: {targets: [web], start: disclosed, rate: 3}\n")
    base, v = load_scenario(tmp_path / "base.yaml"), load_scenario(variant)
    assert v.attackers["probe"] == dataclasses.replace(base.attackers["probe"], rate=2.0,
                                                       stop_when=("patched",))
    assert v.attackers["other"].rate == 3.0
    assert dataclasses.replace(v, name=base.name, attackers=base.attackers) == base


def test_null_removes_what_the_base_has(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", BASE + "  other: {targets: [web], start: disclosed, rate: 3}\n")
    v = load_scenario(write(tmp_path, "v.yaml", "extends: base.yaml\nname: v\n"
                            "attackers: {other: null}\n"))
    assert list(v.attackers) == ["probe"]


def test_problems_name_the_file_that_has_them(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", BASE)
    bad = write(tmp_path, "v.yaml", "extends: base.yaml\nname: v\nservers: {web: {hosts: 0}}\n"
                "attackers: {probe: null}\n")
    with pytest.raises(ScenarioError) as e:
        load_scenario(bad)
    assert [(p.file, p.line, p.path) for p in e.value.problems] == [
        (str(bad), 3, "servers.web.hosts")]
    write(tmp_path, "broken.yaml", BASE.replace("rate: 1", "rate: 0"))
    with pytest.raises(ScenarioError) as e:
        load_scenario(write(tmp_path, "w.yaml", "extends: broken.yaml\nname: w\n"))
    assert e.value.problems[0].file == str((tmp_path / "broken.yaml").resolve())
    # a field the variant removes that the base needs: reported at the line of extends
    with pytest.raises(ScenarioError) as e:
        load_scenario(write(tmp_path, "x.yaml", "name: x\nextends: base.yaml\ntimeline: null\n"))
    assert (e.value.problems[0].line, e.value.problems[0].path) == (3, "timeline")


@pytest.mark.parametrize(("files", "message"), [
    ({"a.yaml": "extends: b.yaml\nname: a\n", "b.yaml": "extends: a.yaml\nname: b\n"}, "cycle"),
    ({"a.yaml": "extends: nothere.yaml\nname: a\n"}, "'nothere.yaml' names no file"),
    ({"a.yaml": "extends: 3\nname: a\n"}, "expected the path of a scenario file"),
    ({"a.yaml": "extends: b.yaml\nname: a\n", "b.yaml": "extends: c.yaml\nname: b\n",
      "c.yaml": "extends: d.yaml\nname: c\n", "d.yaml": "extends: e.yaml\nname: d\n",
      "e.yaml": BASE}, "more than 4 files"),
])
def test_bad_chains_are_refused(tmp_path: Path, files: dict[str, str], message: str) -> None:
    for name, text in files.items():
        write(tmp_path, name, text)
    with pytest.raises(ScenarioError, match=message):
        load_scenario(tmp_path / "a.yaml")
