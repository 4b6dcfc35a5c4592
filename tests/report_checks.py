"""Shared helpers for the report tests: the golden results document, renamed variants of it,
and structural checks of rendered HTML and Markdown."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

GOLDEN = Path(__file__).parent / "data" / "golden"
VOID = frozenset({"meta"})
ESCAPED_PAIR = re.compile(r"\\[!-/:-@\[-`{-~]")


def golden() -> dict[str, Any]:
    return json.loads((GOLDEN / "results.json").read_text(encoding="utf-8"))


def renamed(doc: dict[str, Any], name: Callable[[str], str]) -> dict[str, Any]:
    """``doc`` with every name (servers, attackers, detectors, claims) and every free text
    (scenario, description, claim texts and notes, run facts) replaced by ``name(old)``: the
    identity gives the document back, a hostile ``name`` gives a document of the same shape."""
    d = copy.deepcopy(doc)
    for field in ("scenario", "description", "engine", "version", "scenario_sha256"):
        d[field] = name(d[field])
    d["servers"] = {name(s): v for s, v in d["servers"].items()}
    for a in d["attackers"].values():
        a["targets"] = [name(t) for t in a["targets"]]
    d["attackers"] = {name(a): v for a, v in d["attackers"].items()}
    d["detectors"] = {name(k): v for k, v in d["detectors"].items()}
    d["evidence"]["items"] = {name(k): name(v) for k, v in d["evidence"]["items"].items()}
    for c in d["claims"].values():
        # The verdict is left alone: the answer groups claims by it (an unknown verdict is
        # tested on its own, in test_report_hostile.py).
        for field in ("text", "note", "outcome", "given"):
            if field in c:
                c[field] = name(c[field])
        for field in ("servers", "attackers"):
            c[field] = [name(x) for x in c.get(field, [])]
    d["claims"] = {name(k): v for k, v in d["claims"].items()}
    timeline = d["timeline"]
    for part in ("servers", "attackers", "detectors"):
        timeline[part] = {name(k): v for k, v in timeline[part].items()}
    for det in timeline["detectors"].values():
        det["servers"] = [name(s) for s in det["servers"]]
    for item in d["assumptions"]:
        for field in ("path", "value", "note"):
            item[field] = name(item[field])
    return d


def impossible(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` as if its evidence could not happen: detectors blamed, no posterior, and every
    attacker's Bayes factor undefined."""
    d = copy.deepcopy(doc)
    detectors = sorted(d["evidence"]["items"])
    d["evidence"].pop("posterior")
    d["evidence"]["p_consistent"] = 0.0
    d["evidence"]["impossible"] = {"detectors": detectors, "reason": d["description"]}
    for a in d["attackers"].values():
        a["evidence"].update(bayes_factor=None, p_given_absent=0.0, p_given_present=0.0)
    return d


class Tags(HTMLParser):
    """Start tags in order, with attributes; text content; raises on an unbalanced end tag."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.starts: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.open: list[str] = []
        self.data: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.starts.append((tag, attrs))
        if tag not in VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.starts.append((tag, attrs))

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, f"</{tag}> closes {self.open[-1:]}"
        self.open.pop()

    def handle_data(self, data: str) -> None:
        self.data.append(data)

    @property
    def text(self) -> str:
        return "".join(self.data)


def balanced(text: str) -> Tags:
    tags = Tags(text)
    assert tags.open == [], f"never closed: {tags.open}"
    return tags


def unescaped(markdown_text: str) -> str:
    """The Markdown with every backslash-escaped punctuation pair removed: what is left is
    what a CommonMark parser could read as syntax."""
    return ESCAPED_PAIR.sub("", markdown_text)


def skeleton(markdown_text: str) -> list[tuple[str, int]]:
    """Per line: its block marker (heading, list item, rule, table row, paragraph, blank) and
    the number of cell delimiters a table parser would see."""
    out = []
    for line in unescaped(markdown_text).split("\n"):
        marker = next(
            (m for m in ("## ", "# ", "- ", "---", "| ") if line.startswith(m)),
            "" if not line else "text",
        )
        out.append((marker, line.count("|")))
    return out
