"""The numbers a scenario file marks as assumptions, read from its comments.

The shipped scenarios say where each number comes from in a comment on its line
(``hosts: 3  # assumption: "several SSL-terminating hosts"``). A report lists every value whose
comment says ``assumption``, next to the comment, because those are the numbers a reader should
question first. YAML parsers drop comments, so this reads the text line by line: a
``key: value  # comment`` line in block style, its path given by the indentation of the keys
above it. Values in flow style (``{between: [a, b]}``) are kept as written; a comment on a line
of its own, or on a line that opens a block, marks nothing.

A file that ``extends`` another inherits the base's assumptions, except where it writes the
field itself (or a field above it that it replaces or removes): there the base's value, and so
its comment, no longer holds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from sim.scenario.extends import FIELD as EXTENDS
from sim.scenario.loader import read_text
from sim.scenario.yamlsafe import load_yaml

_KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z0-9_.\-]+):(?P<rest>.*)$")
_ANCHOR = re.compile(r"^&[A-Za-z0-9_\-]+\s+")
MARK = "assumption"


@dataclass(frozen=True, slots=True)
class Assumption:
    path: str
    """Dotted path of the field (``servers.mail.hosts``)."""
    value: str
    """The value as written in the file (``360/h``), anchors left out."""
    note: str
    """The whole comment, sources and assumption alike."""

    def as_results(self) -> dict[str, str]:
        return {"path": self.path, "value": self.value, "note": self.note}


def read(text: str) -> list[Assumption]:
    found: list[Assumption] = []
    stack: list[tuple[int, str]] = []
    for line in text.splitlines():
        match = _KEY.match(line)
        if match is None:
            continue
        indent = len(match["indent"])
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, match["key"]))
        value, comment = _split_comment(match["rest"])
        value = _ANCHOR.sub("", value.strip())
        if value and MARK in comment.lower():
            found.append(Assumption(".".join(k for _, k in stack), value, comment))
    return found


def read_chain(text: str, folder: Path, filename: str = "<string>") -> list[Assumption]:
    """The assumptions of a scenario as it is run: the base's that this file leaves standing,
    then this file's own. ``text`` must already have loaded as a scenario, so the chain of
    ``extends`` is known to be finite and readable."""
    own = read(text)
    data = load_yaml(text, filename).data
    target = data.get(EXTENDS) if isinstance(data, dict) else None
    if not isinstance(target, str):
        return own
    base_path = folder / target
    inherited = read_chain(read_text(base_path), base_path.parent, str(base_path))
    replaced = [p for p in _replaced_paths(data) if p != EXTENDS]
    standing = [a for a in inherited
                if not any(a.path == p or a.path.startswith(p + ".") for p in replaced)]
    return standing + own


def _replaced_paths(node: object, prefix: str = "") -> list[str]:
    """Dotted paths an overlay replaces outright: every value that is not a mapping (a
    number, a text, a list, or ``null``, which removes), since mappings are merged key by key."""
    if not isinstance(node, dict):
        return [prefix]
    paths: list[str] = []
    for key, value in node.items():
        paths += _replaced_paths(value, f"{prefix}.{key}" if prefix else str(key))
    return paths


def _split_comment(rest: str) -> tuple[str, str]:
    """``value  # comment`` into its parts; a ``#`` inside quotes or glued to a word is text."""
    quote = ""
    for i, c in enumerate(rest):
        if quote:
            if c == quote:
                quote = ""
        elif c in "\"'":
            quote = c
        elif c == "#" and (i == 0 or rest[i - 1].isspace()):
            return rest[:i], rest[i + 1:].strip()
    return rest, ""
