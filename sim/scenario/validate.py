"""Plain YAML data to the raw schema models, with pydantic's errors turned into problems.

Pydantic locates an error by its validation path, which includes union tags and key markers
that a user never wrote; the path reported is the path in the user's data, and the line is
that of the nearest key the user wrote. Unknown fields get the closest valid name.
"""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from sim.scenario.errors import Problem, ScenarioError
from sim.scenario.schema import DETECTOR_MODELS, RawScenario
from sim.scenario.values import describe, suggest
from sim.scenario.yamlsafe import Document, Path, dotted

_KINDS = ", ".join(DETECTOR_MODELS)


def validate(doc: Document, filename: str) -> RawScenario:
    """Check every field of ``doc`` on its own; raise :class:`ScenarioError` listing them all."""
    try:
        return RawScenario.model_validate(doc.data)
    except ValidationError as err:
        problems = [_problem(e, doc, filename) for e in err.errors(include_url=False)]
        raise ScenarioError(_unique(problems)) from None


def _unique(problems: list[Problem]) -> list[Problem]:
    """One problem per place and message: a field can fail the same way in two union members."""
    return list(dict.fromkeys(problems))


def _problem(error: Any, doc: Document, filename: str) -> Problem:
    loc: tuple[str | int, ...] = error["loc"]
    path = data_path(loc, doc.data)
    kind = error["type"]
    if kind == "extra_forbidden":
        message = _unknown_field(loc, str(path[-1]))
    elif kind == "missing":
        message = "required field is missing"
    elif kind == "union_tag_not_found":
        if isinstance(error["input"], dict):
            path = path + ("kind",)
            message = f"required field is missing: a detector's kind, one of {_KINDS}"
        else:
            message = f"expected a detector mapping with kind: one of {_KINDS}, got {describe(error['input'])}"
    elif kind == "union_tag_invalid":
        path = path + ("kind",)
        tag = str(error["ctx"]["tag"])
        message = f"unknown detector kind {tag!r}; expected one of {_KINDS}{suggest(tag, tuple(DETECTOR_MODELS))}"
    elif kind in ("model_type", "model_attributes_type", "dict_type"):
        message = f"expected a mapping of fields, got {describe(error['input'])}"
    elif kind == "value":
        message = str(error["msg"])
    else:
        message = f"{error['msg']}, got {describe(error['input'])}"
    return Problem(filename, doc.line_of(path), dotted(path), message)


def data_path(loc: tuple[str | int, ...], data: object) -> Path:
    """The path in the user's data that pydantic's ``loc`` points at.

    Elements of ``loc`` that are not in the data (union tags, ``[key]``) are dropped, except
    the last, which names a missing or unknown field.
    """
    path: list[str | int] = []
    current = data
    for i, part in enumerate(loc):
        if part == "[key]":
            continue
        if isinstance(current, dict) and part in current:
            current = current[part]
            path.append(part)
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            current = current[part]
            path.append(part)
        elif i == len(loc) - 1:
            path.append(part)
    return tuple(path)


def _unknown_field(loc: tuple[str | int, ...], field: str) -> str:
    model = _model_at(loc[:-1])
    if model is None:
        return f"unknown field {field!r}"
    fields = list(model.model_fields)
    message = f"unknown field {field!r}{suggest(field, fields)}"
    if model in DETECTOR_MODELS.values():
        owners = [k for k, m in DETECTOR_MODELS.items() if field in m.model_fields]
        kind = next(k for k, m in DETECTOR_MODELS.items() if m is model)
        if owners:
            return (f"{field!r} does not apply to a {kind} detector (only to "
                    f"{', '.join(owners)}); fields of {kind}: {', '.join(fields)}")
    return f"{message}; valid fields here: {', '.join(fields)}"


def _model_at(loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The raw model class that validates the mapping at ``loc`` (a pydantic location)."""
    current: Any = RawScenario
    parts = list(loc)
    while True:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            if not parts:
                return current
            field = current.model_fields.get(str(parts.pop(0)))
            if field is None:
                return None
            current = field.annotation
        elif typing.get_origin(current) is dict and parts:
            parts.pop(0)
            current = typing.get_args(current)[1]
        elif typing.get_origin(current) is typing.Union and parts:
            tag = str(parts.pop(0))
            if tag not in DETECTOR_MODELS:
                return None
            current = DETECTOR_MODELS[tag]
        else:
            return None


def _unwrap(tp: Any) -> Any:
    """Strip ``Annotated`` and ``X | None`` down to the type that validates the data."""
    while True:
        if typing.get_origin(tp) is typing.Annotated:
            tp = typing.get_args(tp)[0]
            continue
        args = typing.get_args(tp)
        if typing.get_origin(tp) in (typing.Union, types.UnionType) and type(None) in args:
            rest = [a for a in args if a is not type(None)]
            if len(rest) == 1:
                tp = rest[0]
                continue
        return tp
