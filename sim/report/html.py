"""``report.html``: the report as one self-contained HTML file (inline style and SVG, no script,
nothing fetched).

Every piece of text is escaped with :func:`sim.report.escape.html`, ``Safe`` or not, and every
attribute is double-quoted. The Content-Security-Policy forbids scripts and any fetch, so
even a mistake in escaping could not run code or call out of the page.
"""

from __future__ import annotations

from sim.report import content, escape, svg, svg_timeline
from sim.report.blocks import Block, Chart, Figure, Inline, Items, Paragraph, Table
from sim.report.source import Node

STYLE = """\
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 1.5rem auto;
       padding: 0 1rem; color: #222; line-height: 1.45; overflow-wrap: break-word; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
.wide { overflow-x: auto; }
table { border-collapse: collapse; margin: 0.75rem 0; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.2rem 0.5rem; text-align: left; vertical-align: top; }
td { white-space: nowrap; } td.prose { white-space: normal; min-width: 12rem; }
th { background: #f3f3f3; }
figure { margin: 1rem 0; } figure svg { max-width: 100%; height: auto; }
figcaption { color: #444; font-size: 0.95em; }
@media print { .wide { overflow: visible; } section { break-inside: auto; }
               figure { break-inside: avoid; } }"""
PROSE = ' class="prose"'
POLICY = "default-src 'none'; style-src 'unsafe-inline'"


def render(doc: Node) -> str:
    report = content.build(doc)
    title = f"bleedsim report: {escape.html(report.name)}"
    lines = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta http-equiv="Content-Security-Policy" content="{escape.html(POLICY)}">',
        f"<title>{title}</title>",
        f"<style>\n{STYLE}\n</style>",
        "</head>",
        "<body>",
        f"<h1>{title}</h1>",
        f"<p><em>{_inline(report.header)}</em></p>",
    ]
    if report.description:
        lines.append(f"<p>{escape.html(report.description)}</p>")
    for section in report.sections:
        lines += ["<section>", f"<h2>{escape.html(section.title)}</h2>"]
        lines += [_block(block) for block in section.blocks]
        lines.append("</section>")
    lines += ["</body>", "</html>"]
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
        case Table(header, rows, _, prose):
            head = "".join(f"<th>{escape.html(h)}</th>" for h in header)
            body = "\n".join(
                "<tr>" + "".join(f"<td{PROSE if i in prose else ''}>{_inline(cell)}</td>"
                                 for i, cell in enumerate(row)) + "</tr>"
                for row in rows
            )
            return (f'<div class="wide"><table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n'
                    f"{body}\n</tbody>\n</table></div>")
        case Chart():
            return f"<figure>\n{svg.render(block)}\n</figure>"
        case Figure(caption, body):
            drawing = svg.render(body) if isinstance(body, Chart) else svg_timeline.render(body)
            return (f"<figure>\n<figcaption>{escape.html(caption)}</figcaption>\n{drawing}\n"
                    "</figure>")
    raise TypeError(f"not a report block: {block!r}")


def _inline(parts: Inline) -> str:
    return "".join(escape.html(p) for p in parts)
