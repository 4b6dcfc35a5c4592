"""``extends: FILE``: a scenario written as another scenario with changes.

A scenario file may name a base file (``extends: psmail-2014.yaml``, a path relative to the
file's own folder). The base is loaded as a complete scenario first, so its own problems are
reported under its own name; then this file's fields are laid over it:

* a mapping in both is merged key by key, recursively;
* any other value (a number, a text, a list) replaces the base's;
* ``null`` removes the key from the base (an attacker, a detector, a claim, or a field that
  then takes its default).

So a variant states only what it changes, and a reader (or ``diff``) sees exactly that. A base
may itself extend another file, up to ``MAX_CHAIN`` files; a cycle is an error. Problems in the
merged scenario name this file, at the line of the field when this file writes it, else at the
line of ``extends`` (the field comes from the base).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path as FsPath

from sim.scenario.errors import Problem, ScenarioError
from sim.scenario.yamlsafe import Document, Path

#: Most files in one chain of ``extends``.
MAX_CHAIN = 4

FIELD = "extends"

#: Loads a base file, given its path and the chain of files extending it, as a Document.
Reader = Callable[[FsPath, tuple[str, ...]], Document]


class _Removed:
    """Marks a key set to null in the overlay: taken out of the merged data."""


def resolve_extends(
    doc: Document, filename: str, folder: FsPath, read: Reader, chain: tuple[str, ...] = ()
) -> Document:
    """``doc`` with its base laid under it, or ``doc`` itself when it extends nothing."""
    data = doc.data
    assert isinstance(data, dict), "load_yaml returns a mapping at the top"
    if FIELD not in data:
        return doc
    target = data[FIELD]
    line = doc.line_of((FIELD,))
    if not isinstance(target, str) or not target.strip():
        raise ScenarioError([Problem(filename, line, FIELD, "expected the path of a scenario "
                                     "file, relative to this file's folder")])
    path = (folder / target).resolve()
    here = (*chain, str((folder / FsPath(filename).name).resolve()))
    if str(path) in here:
        raise ScenarioError([Problem(filename, line, FIELD, f"{target!r} extends itself "
                                     "through a cycle of extends")])
    if len(here) >= MAX_CHAIN:
        raise ScenarioError([Problem(filename, line, FIELD, f"more than {MAX_CHAIN} files "
                                     "in one chain of extends")])
    if not path.is_file():
        raise ScenarioError([Problem(filename, line, FIELD, f"{target!r} names no file "
                                     f"(looked for {path})")])
    base_doc = read(path, here)
    merged = _merge(base_doc.data, {k: v for k, v in data.items() if k != FIELD})
    assert isinstance(merged, dict)
    merged[FIELD] = target
    return Document(merged, _lines(doc, merged, line))


def _merge(base: object, over: object) -> object:
    if over is None:
        return _Removed()
    if isinstance(over, dict):
        out = dict(base) if isinstance(base, dict) else {}
        for key, value in over.items():
            merged = _merge(out.get(key), value)
            if isinstance(merged, _Removed):
                out.pop(key, None)
            else:
                out[key] = merged
        return out
    return over


def _lines(doc: Document, merged: object, extends_line: int | None) -> dict[Path, int]:
    """This file's lines where it writes the field (also a field it removes, so that a
    missing field is reported where it was removed); the ``extends`` line for the base's."""
    lines: dict[Path, int] = dict(doc.lines)

    def walk(node: object, path: Path) -> None:
        lines[path] = doc.lines.get(path, extends_line or 1) if path else 1
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, (*path, key))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, (*path, i))

    walk(merged, ())
    return lines
