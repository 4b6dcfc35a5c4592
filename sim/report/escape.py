"""Making text from a scenario file (or a hand-edited results.json) inert in a report.

Names, descriptions, claim texts and notes are written by whoever wrote the scenario, and a
report is opened by someone else, in a browser or a Markdown viewer. Such text must show as
itself and never act: no tags, no links or images, no broken tables, no reordered lines.

Both formats first pass text through :func:`plain`: every run of whitespace (newlines included)
becomes one space, so a value cannot start a new block (heading, list, code, table row) or end
a table cell; control characters, lone surrogates (which UTF-8 cannot encode) and bidirectional
controls (which can make ``exe.txt`` read as ``txt.exe``) are shown as ``<U+XXXX>``.
"""

from __future__ import annotations

import html as _html
import re
import unicodedata

_WHITESPACE = re.compile(r"\s+")
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                           "\u2066\u2067\u2068\u2069")
_ASCII_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")


def plain(text: str) -> str:
    """One line of visible characters: whitespace collapsed (not stripped: text is escaped in
    pieces, and the space between two pieces may belong to either), invisible controls named.
    """
    return "".join(_visible(c) for c in _WHITESPACE.sub(" ", text))


def _visible(c: str) -> str:
    if c in _BIDI_CONTROLS or unicodedata.category(c) in ("Cc", "Cs"):
        return f"<U+{ord(c):04X}>"
    return c


def html(text: str) -> str:
    """Text for HTML content or a double- or single-quoted attribute value."""
    return _html.escape(plain(text), quote=True)


def markdown(text: str) -> str:
    """Text for a Markdown paragraph or table cell (CommonMark with GitHub's extensions).

    Every ASCII punctuation character is backslash-escaped: CommonMark renders any escaped
    punctuation as itself, so this covers the characters that open links, images, emphasis,
    code, HTML and table cells, and also those that would start an ordered list (``1.``), a
    setext heading (``===``), a strikethrough (``~~``), an entity (``&lt;``) or a bare
    autolink (``https://``, ``www.``), which GitHub turns into a link.
    """
    return _ASCII_PUNCTUATION.sub(r"\\\1", plain(text))
