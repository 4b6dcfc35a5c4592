"""A report as format-neutral blocks, so that Markdown and HTML say the same thing.

Every piece of text is a plain ``str`` unless it is :class:`Safe`: text this package wrote
from numbers and fixed words. Renderers escape every piece that is not ``Safe``; joining a
``Safe`` with anything gives a plain ``str`` again, so forgetting to mark text can only make it
escaped twice, never not at all. (HTML escapes ``Safe`` pieces too; it costs nothing there.)
"""

from __future__ import annotations

from dataclasses import dataclass


class Safe(str):
    """Text built by ``sim.report`` from numbers and fixed words, never from input.

    Markdown writes it as is, so it may not hold what would end a table cell or a line.
    """

    __slots__ = ()

    def __new__(cls, text: str) -> Safe:
        if "|" in text or "\n" in text:
            raise ValueError(f"a table cell or line break in report text: {text!r}")
        return super().__new__(cls, text)


Inline = tuple[str, ...]
"""Pieces of one line of text, each ``Safe`` or to be escaped."""


@dataclass(frozen=True, slots=True)
class Paragraph:
    parts: Inline


@dataclass(frozen=True, slots=True)
class Items:
    """A bullet list of ``label: value`` lines, or of values alone where the label is empty."""

    items: tuple[tuple[Safe, Inline], ...]


@dataclass(frozen=True, slots=True)
class Table:
    header: tuple[Safe, ...]
    rows: tuple[tuple[Inline, ...], ...]
    terminal_columns: tuple[int, ...] | None = None
    """The columns the terminal prints (all when ``None``); it has no room for long text."""
    prose: tuple[int, ...] = ()
    """Columns of running text, which may wrap; the others keep each cell on one line."""


@dataclass(frozen=True, slots=True)
class Bar:
    """One probability with its 95% interval; ``value`` is ``None`` where there is nothing
    to draw (``note`` says why)."""

    label: Safe
    value: float | None
    low: float
    high: float
    note: Safe = Safe("")


@dataclass(frozen=True, slots=True)
class Chart:
    """Grouped horizontal bars: per group (a server name), one bar per secret kind."""

    title: Safe
    groups: tuple[tuple[str, tuple[Bar, ...]], ...]


@dataclass(frozen=True, slots=True)
class Span:
    """A stretch of time on a timeline lane, in seconds since the scenario's start."""

    start: float
    end: float
    style: Safe
    """``vulnerable``, ``possible`` (an attacker may be active), ``start`` (its start range),
    ``deployed`` (a detector watches) or ``kept`` (its records survive to the analysis)."""


@dataclass(frozen=True, slots=True)
class Mark:
    """An instant on a lane: ``patch``, ``heartbeat-off``, ``restart`` or ``crash``."""

    at: float
    style: Safe
    label: Safe


@dataclass(frozen=True, slots=True)
class Lane:
    label: str
    group: Safe
    """``servers``, ``attackers`` or ``detectors``: lanes of a group are drawn together."""
    spans: tuple[Span, ...]
    marks: tuple[Mark, ...] = ()
    periodic: float | None = None
    """Seconds between scheduled marks (restarts), drawn as ticks where they fit and as a
    density band where they do not."""
    note: Safe = Safe("")


@dataclass(frozen=True, slots=True)
class Timeline:
    """When things happened: lanes over ``[0, end]`` seconds since ``start_iso``, with the
    disclosure and analysis instants drawn across, and a second panel zoomed into ``zoom``
    where the interesting part is a small piece of the whole."""

    title: Safe
    start_iso: str
    end: float
    instants: tuple[tuple[float, Safe], ...]
    lanes: tuple[Lane, ...]
    zoom: tuple[float, float] | None = None


@dataclass(frozen=True, slots=True)
class Figure:
    """A figure with the one line that says what to see in it."""

    caption: Safe
    body: Chart | Timeline
    fallback: tuple[Inline, ...] = ()
    """Lines Markdown shows instead of the drawing (Markdown viewers strip inline SVG)."""


Block = Paragraph | Items | Table | Chart | Figure


@dataclass(frozen=True, slots=True)
class Section:
    title: Safe
    blocks: tuple[Block, ...]
    terminal: bool = False
    """Also printed on the terminal after a run (figures never are)."""


@dataclass(frozen=True, slots=True)
class Report:
    name: str
    description: str
    header: Inline
    """One line: the engine, replications and seed (the terminal table's first line)."""
    sections: tuple[Section, ...]
