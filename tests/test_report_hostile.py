"""Issue 4 part 5: text from a scenario file shows as text in both reports and never acts.

Every name and free text of the golden document is replaced by hostile strings; the reports
must have exactly the structure of the same document with harmless names (same tags in the
same order, same Markdown blocks and table cells), and show the hostile text as text.
"""

from __future__ import annotations

import html as stdlib_html
import itertools
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from report_checks import balanced, golden, impossible, renamed, skeleton, unescaped

from sim.report import escape, html, markdown

HOSTILE = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(2)>',
    "' onmouseover='alert(3)",
    "[x](javascript:alert(4))",
    "![pixel](https://evil.example/p.png)",
    "| broken | table",
    "`code` and ```fence",
    "line one\n# heading\n\n- item\r\n1. list\u2028===\n    indented",
    "\u202eevil.exe\u202c and \u200fעברית العربية",
    "x" * 5000,
    "&lt;b&gt; &amp; \\ *emph* _it_ ~~strike~~ www.evil.example https://evil.example",
    "<https://evil.example> <!-- comment --> ]]> &#106;avascript:",
    "\x00\x1b[31mcontrol\x7f \ud800",
)


def hostile_names() -> dict[str, str]:
    """Each name and text of the golden document gets its own hostile string."""
    originals: list[str] = []

    def collect(text: str) -> str:
        originals.append(text)
        return text

    renamed(golden(), collect)
    distinct = list(dict.fromkeys(originals))
    cycle = itertools.cycle(HOSTILE)
    return {s: f"{next(cycle)} {i}" for i, s in enumerate(distinct)}


NAMES = hostile_names()
VARIANTS = {"possible": lambda d: d, "impossible": impossible}


def pair(variant: str) -> tuple[dict[str, Any], dict[str, Any]]:
    make = VARIANTS[variant]
    return make(golden()), make(renamed(golden(), NAMES.__getitem__))


@pytest.mark.parametrize("variant", VARIANTS)
def test_html_has_the_same_tags_and_shows_the_text(variant: str) -> None:
    harmless, hostile = pair(variant)
    out = html.render(hostile)
    tags = balanced(out)
    assert [t for t, _ in tags.starts] == [t for t, _ in balanced(html.render(harmless)).starts]
    for _, attrs in tags.starts:
        assert all(not k.startswith("on") for k, _ in attrs)
    for text in NAMES.values():
        assert escape.plain(text) in tags.text
    assert "<script" not in out.lower() and "<img" not in out.lower()


@pytest.mark.parametrize("variant", VARIANTS)
def test_markdown_has_the_same_blocks_and_no_live_syntax(variant: str) -> None:
    harmless, hostile = pair(variant)
    out = markdown.render(hostile)
    assert skeleton(out) == skeleton(markdown.render(harmless))
    live = unescaped(out)
    for syntax in ("<", ">", "`", "*", "_", "~", "![", "](", "://", "&lt", "&#"):
        assert syntax not in live, syntax
    for text in NAMES.values():
        assert escape.markdown(text) in out


@pytest.mark.parametrize("render", [html.render, markdown.render])
def test_invisible_and_unencodable_characters_are_named(render: Any) -> None:
    out = render(renamed(golden(), NAMES.__getitem__))
    out.encode("utf-8")  # a lone surrogate would make the file unwritable
    for c in "\u202e\u202c\u200f\u2028\x00\x1b\x7f\r":
        assert c not in out
    shown = out.replace("\\", "")  # Markdown escapes the "+"
    assert "U+202E" in shown and "U+D800" in shown


@pytest.mark.parametrize("render", [html.render, markdown.render])
def test_an_unknown_verdict_shows_as_text(render: Any) -> None:
    """A hand-edited results.json may hold any verdict: it shows as itself, uncounted."""
    doc = golden()
    doc["claims"]["keys-safe"]["verdict"] = HOSTILE[0]
    out = render(doc)
    assert "<script" not in (out if render is html.render else unescaped(out))
    assert (escape.html if render is html.render else escape.markdown)(HOSTILE[0]) in out
    assert "Of the 4 claims" in out and "1 with another verdict" in out


def test_long_names_are_kept_whole_in_tables_and_cut_in_the_chart() -> None:
    long = "w" * 5000
    out = html.render(renamed(golden(), lambda s: long if s == "web" else s))
    assert f"<td>server {long}</td>" in out
    assert f"<title>{long}</title>" in out
    assert f'font-weight="bold">{long[:59]}…</text>' in out


TEXT = st.text(st.characters(codec="utf-8") | st.sampled_from("<>&\"'`|[]()\\\n\u202e"))


@given(TEXT)
def test_markdown_escape_leaves_no_live_punctuation(text: str) -> None:
    out = escape.markdown(text)
    assert "\n" not in out and "\r" not in out
    assert not re.search(r"[!-/:-@\[-`{-~]", unescaped(out))
    assert re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", out) == escape.plain(text)


@given(TEXT)
def test_html_escape_is_exactly_undone_by_an_html_parser(text: str) -> None:
    out = escape.html(text)
    assert not set(out) & set("<>\"'")
    assert stdlib_html.unescape(out) == escape.plain(text)
