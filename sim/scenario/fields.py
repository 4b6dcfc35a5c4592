"""Field types of the scenario schema: each parses one value syntax and states its JSON Schema.

Every type is a pydantic ``PlainValidator`` over a parser of :mod:`sim.scenario.values`, so a
bad value is reported with the parser's own message (what was expected, what was given), and
an explicit ``null`` is refused instead of silently meaning "default": leaving a field out is
how a default is asked for.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from fractions import Fraction
from typing import Annotated, Any, Literal, TypeVar, get_args

from pydantic import PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from sim.scenario.values import (
    ANCHORS,
    DURATION_HINT,
    LIFETIME_RULES,
    RATE_HINT,
    SIZE_HINT,
    TIME_HINT,
    TimeExpr,
    describe,
    is_number,
    parse_duration,
    parse_lifetime,
    parse_rate,
    parse_size,
    parse_time,
    suggest,
)

T = TypeVar("T")
NAME_PATTERN = re.compile(r"[A-Za-z0-9_-]+")


def _plain(parse: Callable[[object], T]) -> PlainValidator:
    def run(value: object) -> T:
        try:
            return parse(value)
        except ValueError as e:
            raise PydanticCustomError("value", "{reason}", {"reason": str(e)}) from None
    return PlainValidator(run)


def _positive_duration(value: object) -> Fraction:
    seconds = parse_duration(value)
    if seconds <= 0:
        raise ValueError(f"expected a duration longer than 0s, got {value!r}")
    return seconds


def _number(value: object, what: str) -> float:
    if not is_number(value):
        raise ValueError(f"expected {what}, got {describe(value)}")
    number = float(value)  # type: ignore[arg-type]
    if not math.isfinite(number):
        raise ValueError(f"expected {what}, got {describe(value)} (not a finite number)")
    return number


def _probability(value: object) -> float:
    p = _number(value, "a probability (a number in [0, 1])")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"expected a probability (a number in [0, 1]), got {describe(value)}")
    return p


def _non_negative(value: object) -> float:
    x = _number(value, "a number >= 0")
    if x < 0:
        raise ValueError(f"expected a number >= 0, got {describe(value)}")
    return x


def _count(minimum: int, maximum: int | None = None) -> Callable[[object], int]:
    span = f">= {minimum}" if maximum is None else f"in {minimum}..{maximum}"

    def parse(value: object) -> int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"expected a whole number {span}, got {describe(value)}")
        if value < minimum or (maximum is not None and value > maximum):
            raise ValueError(f"expected a whole number {span}, got {value}")
        return value
    return parse


def _size(minimum: int, maximum: int | None = None) -> Callable[[object], int]:
    def parse(value: object) -> int:
        size = parse_size(value)
        if size < minimum or (maximum is not None and size > maximum):
            span = f"at least {minimum} bytes" if maximum is None else f"{minimum} to {maximum} bytes"
            given = f" = {size:,} bytes" if isinstance(value, str) else ""
            raise ValueError(f"expected a size of {span}, got {describe(value)}{given}")
        return size
    return parse


def _rate(positive: bool) -> Callable[[object], float]:
    def parse(value: object) -> float:
        rate = parse_rate(value)
        if rate < 0 or (positive and rate == 0):
            bound = "greater than 0" if positive else "at least 0"
            raise ValueError(f"expected a rate {bound}, got {describe(value)}")
        return rate
    return parse


def choice(*options: str) -> Callable[[object], str]:
    def parse(value: object) -> str:
        if isinstance(value, str) and value in options:
            return value
        hint = suggest(value, options) if isinstance(value, str) else ""
        listed = ", ".join(options)
        raise ValueError(f"expected one of {listed}, got {describe(value)}{hint}")
    return parse


def name(value: object) -> str:
    if not isinstance(value, str) or not NAME_PATTERN.fullmatch(value):
        raise ValueError(f"expected a name of letters, digits, '-' and '_', got {describe(value)}")
    return value


def _names(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ValueError(f"expected a non-empty list of names, got {describe(value)}")
    names = tuple(name(v) for v in value)
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"{', '.join(repeated)} listed more than once")
    return names


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected text, got {describe(value)}")
    return value


def _label(value: object) -> str:
    text = _text(value).strip()
    if not text:
        raise ValueError("expected non-empty text")
    return text


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {describe(value)}")
    return value


def _start(value: object) -> TimeExpr | tuple[TimeExpr, TimeExpr]:
    if isinstance(value, dict):
        if set(value) != {"between"}:
            extra = ", ".join(sorted(set(value) - {"between"})) or "nothing"
            raise ValueError(f"expected a time or {{between: [time, time]}}, got a mapping "
                             f"with {extra}")
        pair = value["between"]
        if not isinstance(pair, list) or len(pair) != 2:
            raise ValueError(f"between: expected a list of two times, got {describe(pair)}")
        return parse_time(pair[0]), parse_time(pair[1])
    return parse_time(value)


_DURATION_SCHEMA: dict[str, Any] = {
    "type": "string", "pattern": r"^\s*(\d+(\.\d+)?(ms|w|d|h|m|s))+\s*$", "description": DURATION_HINT}
_TIME_SCHEMA: dict[str, Any] = {
    "type": "string", "description": TIME_HINT,
    "pattern": r"^\s*(\d.*|(" + "|".join(ANCHORS) + r")\s*([+-]\s*\S+)?)\s*$"}
_NAME_SCHEMA: dict[str, Any] = {"type": "string", "pattern": r"^[A-Za-z0-9_-]+$"}
_SIZE_PATTERN = r"^\s*\d+(\.\d+)?\s*([KMG]i?B|B)\s*$"


def _size_schema(minimum: int, maximum: int | None = None) -> dict[str, Any]:
    number: dict[str, Any] = {"type": "integer", "minimum": minimum}
    if maximum is not None:
        number["maximum"] = maximum
    return {"anyOf": [number, {"type": "string", "pattern": _SIZE_PATTERN}], "description": SIZE_HINT}


def _rate_schema(positive: bool) -> dict[str, Any]:
    number: dict[str, Any] = {"type": "number", ("exclusiveMinimum" if positive else "minimum"): 0}
    return {"anyOf": [number, {"type": "string", "pattern": r"^\s*\d+(\.\d+)?([eE][+-]?\d+)?\s*/\s*[smhd]\s*$"}],
            "description": RATE_HINT}


def _choice_schema(*options: str) -> dict[str, Any]:
    return {"type": "string", "enum": list(options)}


# Times, durations, lifetimes
Time = Annotated[TimeExpr, _plain(parse_time), WithJsonSchema(_TIME_SCHEMA)]
OptTime = Annotated[TimeExpr | None, _plain(parse_time), WithJsonSchema(_TIME_SCHEMA)]
PositiveDuration = Annotated[Fraction, _plain(_positive_duration), WithJsonSchema(_DURATION_SCHEMA)]
OptPositiveDuration = Annotated[Fraction | None, _plain(_positive_duration), WithJsonSchema(_DURATION_SCHEMA)]
OptDuration = Annotated[Fraction | None, _plain(parse_duration), WithJsonSchema(_DURATION_SCHEMA)]
ResidencyField = Annotated[
    Fraction | str, _plain(parse_lifetime),
    WithJsonSchema({"anyOf": [_choice_schema(*LIFETIME_RULES), _DURATION_SCHEMA]})]
AttackerStart = Annotated[
    TimeExpr | tuple[TimeExpr, TimeExpr], _plain(_start),
    WithJsonSchema({"anyOf": [_TIME_SCHEMA, {
        "type": "object", "additionalProperties": False, "required": ["between"],
        "properties": {"between": {"type": "array", "items": _TIME_SCHEMA,
                                   "minItems": 2, "maxItems": 2}}}]})]

# Numbers
Probability = Annotated[float, _plain(_probability),
                        WithJsonSchema({"type": "number", "minimum": 0, "maximum": 1})]
OptProbability = Annotated[float | None, _plain(_probability),
                           WithJsonSchema({"type": "number", "minimum": 0, "maximum": 1})]
NonNegative = Annotated[float, _plain(_non_negative), WithJsonSchema({"type": "number", "minimum": 0})]
Count = Annotated[int, _plain(_count(1)), WithJsonSchema({"type": "integer", "minimum": 1})]
OptCount = Annotated[int | None, _plain(_count(1)), WithJsonSchema({"type": "integer", "minimum": 1})]
Natural = Annotated[int, _plain(_count(0)), WithJsonSchema({"type": "integer", "minimum": 0})]
OptNatural = Annotated[int | None, _plain(_count(0)), WithJsonSchema({"type": "integer", "minimum": 0})]
Bits = Annotated[int, _plain(_count(16)), WithJsonSchema({"type": "integer", "minimum": 16})]
Size = Annotated[int, _plain(_size(1)), WithJsonSchema(_size_schema(1))]
OptSize = Annotated[int | None, _plain(_size(1)), WithJsonSchema(_size_schema(1))]
PayloadSize = Annotated[int, _plain(_size(1, 65535)), WithJsonSchema(_size_schema(1, 65535))]
Rate = Annotated[float, _plain(_rate(False)), WithJsonSchema(_rate_schema(False))]
OptRate = Annotated[float | None, _plain(_rate(False)), WithJsonSchema(_rate_schema(False))]
PositiveRate = Annotated[float, _plain(_rate(True)), WithJsonSchema(_rate_schema(True))]

# Text, names and choices
Text = Annotated[str, _plain(_text), WithJsonSchema({"type": "string"})]
Label = Annotated[str, _plain(_label), WithJsonSchema({"type": "string", "minLength": 1})]
OptLabel = Annotated[str | None, _plain(_label), WithJsonSchema({"type": "string", "minLength": 1})]
Flag = Annotated[bool, _plain(_flag), WithJsonSchema({"type": "boolean"})]
Name = Annotated[str, _plain(name), WithJsonSchema(_NAME_SCHEMA)]
OptName = Annotated[str | None, _plain(name), WithJsonSchema(_NAME_SCHEMA)]
Names = Annotated[tuple[str, ...], _plain(_names), WithJsonSchema(
    {"type": "array", "items": _NAME_SCHEMA, "minItems": 1, "uniqueItems": True})]
OptNames = Annotated[tuple[str, ...] | None, _plain(_names), WithJsonSchema(
    {"type": "array", "items": _NAME_SCHEMA, "minItems": 1, "uniqueItems": True})]


def _enum(options: Any) -> tuple[PlainValidator, WithJsonSchema]:
    """Validator and schema of a field whose values are the members of a ``Literal``."""
    values = get_args(options)
    return _plain(choice(*values)), WithJsonSchema(_choice_schema(*values))


def word_list(*options: str, none: str) -> Callable[[object], tuple[str, ...]]:
    """A list of distinct words from ``options``, in the order of ``options``; one word alone
    means a list of it, and ``none`` (or ``[]``) the empty list (``stop_when``, ``reuse``)."""
    one = choice(none, *options)

    def parse(value: object) -> tuple[str, ...]:
        if isinstance(value, str):
            word = one(value)
            return () if word == none else (word,)
        if not isinstance(value, list):
            raise ValueError(f"expected a list of {', '.join(options)} (or {none}), "
                             f"got {describe(value)}")
        words = [choice(*options)(v) for v in value]
        repeated = sorted({w for w in words if words.count(w) > 1})
        if repeated:
            raise ValueError(f"{', '.join(repeated)} listed more than once")
        return tuple(o for o in options if o in words)
    return parse


def _word_list_schema(*options: str, none: str) -> dict[str, Any]:
    return {"anyOf": [_choice_schema(none, *options),
                      {"type": "array", "items": _choice_schema(*options), "uniqueItems": True}]}


PasswordKind = Literal["static", "otp"]
BINDING_CHECKS = ("ip", "browser", "concurrent")
"""Session binding checks, in the order rule 21 makes them."""
CountWhat = Literal["connections", "heartbeats"]
EvidenceValue = Literal["none", "benign_only", "seen"]
ClaimOutcome = Literal["key", "password", "password_reusable", "session", "session_hijack", "detected"]
Given = Literal["evidence", "prior"]
Engine = Literal["fast", "reference"]
_PK, _CW = _enum(PasswordKind), _enum(CountWhat)
_EV, _CO, _GI, _EN = _enum(EvidenceValue), _enum(ClaimOutcome), _enum(Given), _enum(Engine)
OptPasswordKind = Annotated[PasswordKind | None, _PK[0], _PK[1]]
#: ``binding`` (rule 21), ``stop_when`` (rule 8) and ``reuse`` (rules 9 and 22): lists of
#: words kept in the order of their options (rule 21's for binding), one word allowed.
STOP_WHEN = ("key", "patched")
REUSE = ("sessions", "passwords")
OptBinding = Annotated[tuple[str, ...] | None, _plain(word_list(*BINDING_CHECKS, none="none")),
                       WithJsonSchema(_word_list_schema(*BINDING_CHECKS, none="none"))]
OptStopWhen = Annotated[tuple[str, ...] | None, _plain(word_list(*STOP_WHEN, none="never")),
                        WithJsonSchema(_word_list_schema(*STOP_WHEN, none="never"))]
OptReuse = Annotated[tuple[str, ...] | None, _plain(word_list(*REUSE, none="none")),
                     WithJsonSchema(_word_list_schema(*REUSE, none="none"))]
OptCountWhat = Annotated[CountWhat | None, _CW[0], _CW[1]]
Evidence = Annotated[EvidenceValue, _EV[0], _EV[1]]
Outcome = Annotated[ClaimOutcome, _CO[0], _CO[1]]
OptGiven = Annotated[Given | None, _GI[0], _GI[1]]
OptEngine = Annotated[Engine | None, _EN[0], _EN[1]]
