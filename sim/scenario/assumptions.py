"""The numbers a scenario file marks as assumptions, read from its comments.

The shipped scenarios say where each number comes from in a comment on its line
(``hosts: 3  # assumption: "several SSL-terminating hosts"``). A report lists every value whose
comment says ``assumption``, next to the comment, because those are the numbers a reader should
question first. YAML parsers drop comments, so this reads the text line by line: a
``key: value  # comment`` line in block style, its path given by the indentation of the keys
above it. Values in flow style (``{between: [a, b]}``) are kept as written; a comment on a line
of its own, or on a line that opens a block, marks nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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
