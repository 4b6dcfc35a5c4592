"""``bleedsim demo``: the story on the terminal, paced, and ``--out DIR`` for ``demo.md`` (the
same lines) and ``demo.svg`` (the traced replication as a figure).

Deterministic for a seed: the same scenario and seed give the same lines and the same bytes.
``--speed`` is lines per second (0: all at once), so a class can read along.
"""

from __future__ import annotations

import sys
import textwrap
import time
from pathlib import Path

from sim.atomic import write_text
from sim.report import escape
from sim.report.blocks import Inline, Safe
from sim.report.demo import figure
from sim.report.demo.replication import trace
from sim.report.demo.story import Line, tell
from sim.scenario.model import Scenario

WIDTH = 100


def run(scenario: Scenario, seed: int, speed: float, out: Path | None) -> list[Path]:
    traced = trace(scenario, seed)
    lines = tell(traced)
    written: list[Path] = []
    if out is not None:
        markdown = _markdown(scenario, seed, lines)
        svg = figure.render(traced)
        write_text(out / "demo.svg", svg)
        write_text(out / "demo.md", markdown)
        written = [out / "demo.md", out / "demo.svg"]
    for line in lines:
        sys.stdout.write(terminal(line))
        sys.stdout.flush()
        if speed > 0:
            time.sleep(1.0 / speed)
    return written


def terminal(line: Line) -> str:
    text = "".join(escape.plain(p) for p in line.parts)
    indent = "    " if line.zoom else ""
    return "\n".join(textwrap.wrap(text, WIDTH, initial_indent=indent,
                                   subsequent_indent=indent + "  ",
                                   break_on_hyphens=False)) + "\n"


def _markdown(scenario: Scenario, seed: int, lines: list[Line]) -> str:
    out = [f"# bleedsim demo: {escape.markdown(scenario.name)}, seed {seed}", "",
           "![The traced attack, one lane per worker](demo.svg)", ""]
    for line in lines:
        out.append(("    " if line.zoom else "") + "- " + _inline(line.parts))
    return "\n".join(out) + "\n"


def _inline(parts: Inline) -> str:
    return "".join(p if isinstance(p, Safe) else escape.markdown(p) for p in parts)
