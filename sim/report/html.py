"""``report.html``: the report as one self-contained HTML file (inline style and SVG, no script,
nothing fetched).

Every piece of text is escaped with :func:`sim.report.escape.html`, ``Safe`` or not, and every
attribute is double-quoted. The Content-Security-Policy forbids scripts and any fetch, so
even a mistake in escaping could not run code or call out of the page.
"""

from __future__ import annotations

from sim.report import content, escape, svg
from sim.report.blocks import Block, Chart, Inline, Items, Paragraph, Table
from sim.report.source import Node

STYLE = """\
body { font-family: system-ui, sans-serif; max-width: 75rem; margin: 2rem auto; padding: 0 1rem;
       color: #222; line-height: 1.4; overflow-wrap: anywhere; }
table { border-collapse: collapse; margin: 0.75rem 0; }
th, td { border: 1px solid #ccc; padding: 0.2rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
footer { margin-top: 2rem; color: #666; font-size: 0.9em; }"""
POLICY = "default-src 'none'; style-src 'unsafe-inline'"


def render(doc: Node) -> str:
    report = content.build(doc)
    title = f"bleedsim report: {escape.html(report.name)}"
    lines = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{escape.html(POLICY)}">',
        f"<title>{title}</title>",
        f"<style>\n{STYLE}\n</style>",
        "</head>",
        "<body>",
        f"<h1>{title}</h1>",
    ]
    if report.description:
        lines.append(f"<p>{escape.html(report.description)}</p>")
    for section in report.sections:
        lines += ["<section>", f"<h2>{escape.html(section.title)}</h2>"]
        lines += [_block(block) for block in section.blocks]
        lines.append("</section>")
    lines += [f"<footer><p>{escape.html(report.timing)}</p></footer>", "</body>", "</html>"]
    return "\n".join(lines) + "\n"


def _block(block: Block) -> str:
    match block:
        case Paragraph(parts):
            return f"<p>{_inline(parts)}</p>"
        case Items(items):
            entries = "".join(
                f"<li>{f'<strong>{escape.html(label)}:</strong> ' if label else ''}"
                f"{_inline(value)}</li>"
                for label, value in items
            )
            return f"<ul>{entries}</ul>"
        case Table(header, rows):
            head = "".join(f"<th>{escape.html(h)}</th>" for h in header)
            body = "\n".join(
                "<tr>" + "".join(f"<td>{_inline(cell)}</td>" for cell in row) + "</tr>"
                for row in rows
            )
            return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"
        case Chart():
            return f"<figure>\n{svg.render(block)}\n</figure>"
    raise TypeError(f"not a report block: {block!r}")


def _inline(parts: Inline) -> str:
    return "".join(escape.html(p) for p in parts)
