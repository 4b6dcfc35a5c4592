"""The JSON Schema explains every field (issue 12): what it means, its unit, its default and
where a value comes from, with user-facing titles. A field added without a description in
``sim/scenario/descriptions.py`` fails here."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import bleedsim

from sim.scenario import json_schema
from sim.scenario.descriptions import DESCRIPTIONS, field_paths

SCHEMA = json_schema()


def fields(node: Any, where: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every property, map-of-names value and type definition in the schema, anywhere."""
    if isinstance(node, dict):
        for name, prop in node.get("properties", {}).items():
            yield f"{where}/properties/{name}", prop
        for pattern, value in node.get("patternProperties", {}).items():
            yield f"{where}/patternProperties/{pattern}", value
        for name, definition in node.get("$defs", {}).items():
            yield f"/$defs/{name}", definition
        for key, value in node.items():
            yield from fields(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from fields(value, f"{where}/{i}")


def meaning(description: str) -> str:
    """The description without the value syntax that follows it."""
    return description.split(" Written as ", 1)[0]


def test_every_field_has_a_description_of_its_meaning() -> None:
    written = set(DESCRIPTIONS.values())
    missing = [where for where, node in fields(SCHEMA)
               if "$ref" not in node and meaning(node.get("description", "")) not in written]
    refs = [where for where, node in fields(SCHEMA) if "$ref" in node and "description" not in node
            and "/patternProperties/" not in where and "/oneOf/" not in where]
    assert not missing, f"fields without a description in sim/scenario/descriptions.py: {missing}"
    assert not refs, f"fields whose type has no description at the point of use: {refs}"


def test_no_description_is_left_over_from_a_field_that_is_gone() -> None:
    assert set(DESCRIPTIONS) <= field_paths(SCHEMA)


def test_titles_are_for_people_not_class_names() -> None:
    titles = [node.get("title", "") for _, node in fields(SCHEMA)] + [SCHEMA["title"]]
    assert not [t for t in titles if t.startswith("Raw")]
    assert SCHEMA["title"] == "bleedsim scenario"


def _as_written(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "empty" if value == "" else str(value)


def test_each_description_states_the_default_the_schema_has() -> None:
    wrong = []
    for where, node in fields(SCHEMA):
        if "default" in node:
            stated = f"Default: {_as_written(node['default'])}"
            if not re.search(re.escape(stated) + r"[.,; (]", node.get("description", "")):
                wrong.append(f"{where}: expected '{stated}'")
    assert not wrong


@pytest.mark.parametrize("path", ["servers.*.keys.reachable", "servers.*.heap_bytes",
                                  "attackers.*.rate", "servers.*.traffic.requests_per_s"])
def test_key_choices_point_to_where_a_value_comes_from(path: str) -> None:
    text = DESCRIPTIONS[path]
    assert "facts.md" in text or "From your" in text


def test_schema_out_writes_the_file_an_editor_points_at(tmp_path: Path) -> None:
    done = bleedsim("schema", "--out", "schema.json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    written = json.loads((tmp_path / "schema.json").read_text())
    assert written == json.loads(bleedsim("schema", cwd=tmp_path).stdout) == SCHEMA
    reach = written["$defs"]["RawKeys"]["properties"]["reachable"]["description"]
    assert reach.startswith("The probability that, for one worker lifetime, the long-lived key")
