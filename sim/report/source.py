"""Reading values out of a results.json document that may not be one.

``bleedsim report`` renders any file it is given, so a missing path or a value of the wrong
type must become one clear message (``ReportInputError``) rather than a traceback, and a string
must never be taken where a number is expected: numbers are formatted by this package and
trusted to need no escaping, so only real numbers may reach the formatting code.
"""

from __future__ import annotations

import math
from typing import Any

Node = dict[str, Any]


class Located(dict[str, Any]):
    """A JSON object read with :func:`node`, which remembers where it sits in the document so
    that an error below it names the whole path (``outcomes.key.p_any``, not ``p_any``)."""

    __slots__ = ("path",)

    def __init__(self, value: Node, path: tuple[str, ...]) -> None:
        super().__init__(value)
        self.path = path


class ReportInputError(ValueError):
    """The document lacks a path a report needs, or holds a value of the wrong type there."""


def node(doc: Node, *path: str) -> Node:
    value = _walk(doc, path)
    if not isinstance(value, dict):
        raise _wrong(doc, path, "an object")
    return Located(value, _where(doc, path))


def text(doc: Node, *path: str) -> str:
    value = _walk(doc, path)
    if not isinstance(value, str):
        raise _wrong(doc, path, "a string")
    return value


def boolean(doc: Node, *path: str) -> bool:
    value = _walk(doc, path)
    if not isinstance(value, bool):
        raise _wrong(doc, path, "true or false")
    return value


def number(doc: Node, *path: str) -> float:
    value = optional_number(doc, *path)
    if value is None:
        raise _wrong(doc, path, "a number")
    return value


def optional_number(doc: Node, *path: str) -> float | None:
    """A number or ``null`` (an estimate over no replications)."""
    value = _walk(doc, path)
    if not _is_number(value, nullable=True):
        raise _wrong(doc, path, "a number")
    return None if value is None else float(value)


def interval(doc: Node, *path: str) -> tuple[float, float | None]:
    """``[low, high]``; ``high`` is ``null`` for a mean whose range has no upper end."""
    value = _walk(doc, path)
    if not (isinstance(value, list) and len(value) == 2 and _is_number(value[0])
            and _is_number(value[1], nullable=True)):
        raise _wrong(doc, path, "a [low, high] pair")
    low, high = value
    return float(low), None if high is None else float(high)


def _is_number(value: Any, nullable: bool = False) -> bool:
    if value is None:
        return nullable
    return (not isinstance(value, bool) and isinstance(value, int | float)
            and math.isfinite(value))


def strings(doc: Node, *path: str) -> list[str]:
    value = _walk(doc, path)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _wrong(doc, path, "a list of strings")
    return value


def objects(doc: Node, *path: str) -> list[Node]:
    """A list of JSON objects, each remembering its place (``servers.mail.binding_checks.0``)."""
    value = _walk(doc, path)
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise _wrong(doc, path, "a list of objects")
    return [Located(v, (*_where(doc, path), str(i))) for i, v in enumerate(value)]


def has(doc: Node, *path: str) -> bool:
    try:
        _walk(doc, path)
    except ReportInputError:
        return False
    return True


def _walk(doc: Node, path: tuple[str, ...]) -> Any:
    value: Any = doc
    for i, key in enumerate(path):
        if not isinstance(value, dict) or key not in value:
            raise ReportInputError(f"missing {name(doc, *path[: i + 1])}")
        value = value[key]
    return value


def _wrong(doc: Node, path: tuple[str, ...], expected: str) -> ReportInputError:
    return ReportInputError(f"{name(doc, *path)} is not {expected}")


def name(doc: Node, *path: str) -> str:
    """The full path as a reader would type it, quoted by ``ascii`` so that a hostile name
    cannot reach the terminal as control sequences."""
    return ascii(".".join(_where(doc, path)))


def _where(doc: Node, path: tuple[str, ...]) -> tuple[str, ...]:
    return (*doc.path, *path) if isinstance(doc, Located) else path
