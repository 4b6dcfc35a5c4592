"""The text printed after a run (and kept as ``table.txt``): the report's terminal sections
(the answer with its claims, the outcomes, the attackers), rendered from the same content model
as ``report.md`` and ``report.html``, so the three cannot disagree.

Plain text: scenario text passes through :func:`sim.report.escape.plain` (one line, invisible
controls named), paragraphs are wrapped, table columns aligned (first column left, the rest
right).
"""

from __future__ import annotations

import textwrap

from sim.report import content, escape
from sim.report.blocks import Block, Figure, Inline, Items, Paragraph, Table
from sim.report.source import Node

WIDTH = 100
GAP = "  "


def render(doc: Node) -> str:
    report = content.build(doc)
    lines = [f"{escape.plain(report.name)}: {_inline(report.header)}"]
    for section in report.sections:
        if not section.terminal:
            continue
        lines += ["", f"{section.title.upper()}"]
        for block in section.blocks:
            drawn = _block(block)
            lines += drawn + [""] * bool(drawn)
        while lines[-1] == "":
            lines.pop()
    return "\n".join(lines) + "\n"


def _block(block: Block) -> list[str]:
    match block:
        case Paragraph(parts):
            return textwrap.wrap(_inline(parts), WIDTH, break_on_hyphens=False,
                                 break_long_words=False)
        case Items(items):
            return [f"  {f'{label}: ' if label else ''}{_inline(value)}" for label, value in items]
        case Table(header, rows, keep):
            columns = range(len(header)) if keep is None else keep
            return _table([[header[i] for i in columns],
                           *([_inline(row[i]) for i in columns] for row in rows)])
        case Figure():
            return []
    return []


def _table(lines: list[list[str]]) -> list[str]:
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    return [
        GAP.join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths)))
        .rstrip()
        for line in lines
    ]


def _inline(parts: Inline) -> str:
    return "".join(escape.plain(p) for p in parts)
