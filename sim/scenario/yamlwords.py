"""YAML syntax errors in the project's own words: what is wrong and how to fix it.

The parser's wording ("mapping values are not allowed in this context", "did not find expected
key") names its grammar, not the user's mistake. Each common problem is recognised by the
parser's ``context`` and ``problem`` texts (the same for libyaml and PyYAML's own reader) and
the character at the error, and reworded; the line given is the one a user has to edit (for an
unclosed bracket or quote, where it was opened). An unrecognised problem keeps the parser's
wording after a plain lead, so no error is ever lost.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml


@dataclass(frozen=True, slots=True)
class SyntaxProblem:
    line: int | None
    message: str


_BAD_START = {
    "\t": "a tab: YAML indents with spaces only; replace the tab with spaces",
    "@": "'@' cannot start a value; put the value in quotes ('@...')",
    "`": "'`' cannot start a value; put the value in quotes",
    "%": "'%' cannot start a value; put the value in quotes ('%...')",
}


def _line(mark: yaml.Mark | None) -> int | None:
    return None if mark is None else mark.line + 1


def _char_at(text: str, mark: yaml.Mark | None) -> str:
    if mark is None:
        return ""
    lines = text.splitlines()
    if mark.line >= len(lines):
        return ""
    row = lines[mark.line]
    return row[mark.column] if mark.column < len(row) else ""


def explain(error: yaml.MarkedYAMLError, text: str) -> SyntaxProblem:
    """The user's mistake behind ``error``, raised while parsing ``text``; the message is
    to follow "not valid YAML: "."""
    context, problem = error.context or "", error.problem or ""
    at, opened = error.problem_mark, error.context_mark or error.problem_mark
    column = "" if at is None else f" (column {at.column + 1})"
    if "mapping values are not allowed" in problem:
        return SyntaxProblem(_line(at), "unexpected ':'" + column + ": a value that contains "
                             "': ' must be quoted, and a field must be indented exactly like "
                             "the fields beside it")
    if "flow sequence" in context:
        return SyntaxProblem(_line(opened), "a list opened with '[' here is not closed with "
                             "']' (or two items lack a ',' between them)")
    if "flow mapping" in context:
        return SyntaxProblem(_line(opened), "a mapping opened with '{' here is not closed "
                             "with '}' (or two fields lack a ',' between them)")
    if "flow node" in context:
        return SyntaxProblem(_line(at), "an empty item in a [list] or {mapping}" + column
                             + ": remove the extra ',' or write the missing value")
    if "quoted scalar" in context:
        return SyntaxProblem(_line(opened), "a quoted text opened here is never closed: add "
                             "the closing quote")
    if "cannot start any token" in problem:
        char = _char_at(text, at)
        reason = _BAD_START.get(char, f"{char!r} cannot start a value; put the value in quotes")
        return SyntaxProblem(_line(at), reason + column)
    if "block mapping" in context and "expected key" in problem:
        return SyntaxProblem(_line(at), "this line does not line up with the fields above "
                             "it" + column + ": indent it exactly like its sibling fields, "
                             "or remove what follows a closed value")
    if "block collection" in context or "'-' indicator" in problem:
        return SyntaxProblem(_line(at), "a list written with '-' items is followed by a "
                             "field at the same indentation; indent the list under its "
                             "field, or end it")
    if "simple key" in context:
        return SyntaxProblem(_line(opened), "a line with no ':' where a 'field: value' was "
                             "expected")
    if "alias" in context or "anchor" in context:
        return SyntaxProblem(_line(at), "'*' and '&' start YAML aliases and anchors, which "
                             "scenario files do not need; put a value starting with them in "
                             "quotes")
    if "block scalar" in context:
        return SyntaxProblem(_line(at), "after '|' or '>' only a comment may follow on the "
                             "line; start the text on the next line")
    words = " ".join(x for x in (context, problem) if x)
    return SyntaxProblem(_line(at or opened), f"the parser stopped{column}: {words}")
