"""``report.md``: the report as CommonMark with GitHub tables, for reading in a repository.

Every piece of text that is not :class:`~sim.report.blocks.Safe` goes through
:func:`sim.report.escape.markdown`. Drawings are left to ``report.html`` (Markdown viewers strip
inline SVG): a figure shows here as its caption and, for the timeline, its lanes in words.
"""

from __future__ import annotations

from sim.report import content, escape
from sim.report.blocks import Block, Chart, Figure, Inline, Items, Paragraph, Safe, Table
from sim.report.source import Node


def render(doc: Node) -> str:
    report = content.build(doc)
    lines = [f"# bleedsim report: {escape.markdown(report.name)}", "", _inline(report.header), ""]
    if report.description:
        lines += [escape.markdown(report.description), ""]
    for section in report.sections:
        lines += [f"## {section.title}", ""]
        for block in section.blocks:
            lines += _block(block)
    while lines and lines[-1] == "":
        lines.pop()
    return "\n".join(lines) + "\n"


def _block(block: Block) -> list[str]:
    match block:
        case Paragraph(parts):
            return [_inline(parts), ""]
        case Items(items):
            return [
                f"- {f'{label}: ' if label else ''}{_inline(value)}" for label, value in items
            ] + [""]
        case Table(header, rows):
            return [
                _row(header),
                _row(("---",) * len(header)),
                *(_row(tuple(_inline(cell) for cell in row)) for row in rows),
                "",
            ]
        case Chart():
            return []
        case Figure(caption, _, fallback):
            return [f"Figure (drawn in report.html): {caption}", "",
                    *(f"- {_inline(line)}" for line in fallback), ""]
    raise TypeError(f"not a report block: {block!r}")


def _row(cells: tuple[str, ...]) -> str:
    return "| " + " | ".join(cells) + " |"


def _inline(parts: Inline) -> str:
    return "".join(p if isinstance(p, Safe) else escape.markdown(p) for p in parts)
