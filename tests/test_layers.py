"""Data flows one way (docs/design.md): a module may import only from its own layer or the
layers before it, so the folders show the flow and nothing depends on the CLI."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "sim"
LAYERS = (
    "scenario", "model", "engines", "montecarlo", "analysis", "report", "whatif", "cli"
)


def layer(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "sim" or len(parts) < 2:
        return None
    if parts[1] in ("cli", "__main__"):
        return "cli"
    return parts[1] if parts[1] in LAYERS else None


def imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_imports_point_one_way(path: Path) -> None:
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    mine = layer(module)
    if mine is None:
        return
    later = [
        m for m in imports(path)
        if (other := layer(m)) is not None and LAYERS.index(other) > LAYERS.index(mine)
    ]
    assert not later, f"{module} ({mine}) imports later layers: {later}"
