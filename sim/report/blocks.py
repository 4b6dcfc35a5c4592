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


Block = Paragraph | Items | Table | Chart


@dataclass(frozen=True, slots=True)
class Section:
    title: Safe
    blocks: tuple[Block, ...]


@dataclass(frozen=True, slots=True)
class Report:
    name: str
    description: str
    sections: tuple[Section, ...]
    timing: Safe
    """The one line that measures the machine, not the model; always rendered last."""
