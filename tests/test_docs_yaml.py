"""Every YAML block in ``docs/`` and the README stays true: none can rot (issue 12).

A block fenced as ``yaml`` is a whole scenario: it must pass ``bleedsim check`` (the real
command), and the JSON Schema must accept it too. A block fenced as ``yaml fragment`` is
deliberately partial (a few fields to paste into a file, ``docs/your-scenario.md`` says so):
it must parse, and the schema with its required fields relaxed must accept it, so a misspelt
field or a bad value in it fails here. Any other YAML fence (``yml``, ``yaml partial``...) is
refused, so that no block escapes by its spelling.

The schema is also checked against every shipped scenario and ``bleedsim init`` template, with
the JSON Schema draft editors use (draft 7, the YAML language server's) and the one it declares
(2020-12): what bleedsim accepts, an editor must not mark as wrong.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, bleedsim
from jsonschema import Draft7Validator, Draft202012Validator

from sim.scenario import json_schema
from sim.scenario.templates import NAMES, text
from sim.scenario.extends import resolve_extends
from sim.scenario.loader import _read_base
from sim.scenario.yamlsafe import load_yaml

DOCS = sorted((REPO / "docs").glob("*.md")) + [REPO / "README.md"]
FENCE = re.compile(r"^```(?P<info>[^\n`]*)\n(?P<body>.*?)^```", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Block:
    where: str
    info: str
    body: str


def blocks() -> list[Block]:
    found = []
    for path in DOCS:
        content = path.read_text(encoding="utf-8")
        for m in FENCE.finditer(content):
            info = m["info"].strip()
            if info.split(" ", 1)[0] in ("yaml", "yml"):
                line = content.count("\n", 0, m.start()) + 1
                found.append(Block(f"{path.relative_to(REPO)}:{line}", info, m["body"]))
    return found


BLOCKS = blocks()
WHOLE = [b for b in BLOCKS if b.info == "yaml"]
FRAGMENTS = [b for b in BLOCKS if b.info == "yaml fragment"]
SCHEMA = json_schema()


def relaxed(schema: Any) -> Any:
    """The schema without ``required``: a fragment may leave anything out."""
    if isinstance(schema, dict):
        return {k: relaxed(v) for k, v in schema.items() if k != "required"}
    if isinstance(schema, list):
        return [relaxed(v) for v in schema]
    return schema


def schema_errors(document: Any, schema: dict[str, Any], draft: type = Draft202012Validator
                  ) -> list[str]:
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
            for e in draft(schema).iter_errors(document)]


def test_the_docs_have_whole_scenarios_and_fragments() -> None:
    assert len(WHOLE) >= 2 and len(FRAGMENTS) >= 4
    assert not [b.where for b in BLOCKS if b not in WHOLE and b not in FRAGMENTS], \
        "fence YAML as `yaml` (a whole scenario) or `yaml fragment` (a partial one)"


@pytest.mark.parametrize("block", WHOLE, ids=lambda b: b.where)
def test_a_whole_scenario_block_passes_check(tmp_path: Path, block: Block) -> None:
    path = tmp_path / "block.yaml"
    path.write_text(block.body)
    done = bleedsim("check", path, cwd=tmp_path)
    assert done.returncode == 0, f"{block.where}:\n{done.stderr}"
    document = load_yaml(block.body, block.where).data
    assert not schema_errors(document, SCHEMA)


@pytest.mark.parametrize("block", FRAGMENTS, ids=lambda b: b.where)
def test_a_fragment_uses_real_fields_with_valid_values(block: Block) -> None:
    document = load_yaml(block.body, block.where).data
    assert not schema_errors(document, relaxed(SCHEMA)), block.where


def test_a_fragment_with_a_typo_is_caught() -> None:
    """The fragment check can fail: a misspelt field and a bad value are both found."""
    document = load_yaml("servers:\n  web:\n    worker: 4\n    heap_bytes: 64mb\n", "t").data
    errors = schema_errors(document, relaxed(SCHEMA))
    assert any("worker" in e for e in errors) and any("64mb" in e for e in errors)


SHIPPED = sorted((REPO / "scenarios").glob("*.yaml"))


@pytest.mark.parametrize("draft", [Draft7Validator, Draft202012Validator],
                         ids=["draft-7", "2020-12"])
def test_the_schema_accepts_every_shipped_scenario_and_template(draft: type) -> None:
    draft.check_schema(copy.deepcopy(SCHEMA))
    sources = [(p.name, p.read_text(), p.parent) for p in SHIPPED] + [
        (f"template {n}", text(n), REPO) for n in NAMES]
    for name, body, folder in sources:
        # A variant (extends) is checked as the scenario it resolves to, base laid under it.
        merged = resolve_extends(load_yaml(body, name), name, folder, _read_base)
        assert not schema_errors(merged.data, SCHEMA, draft), name
