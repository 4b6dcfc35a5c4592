"""The value syntaxes of scenario files: times, durations, sizes, rates, lifetimes.

Each parser takes what YAML produced and returns an exact value (``Fraction`` seconds, ``int``
bytes), or raises ``ValueError`` with a message saying what was expected: the schema turns
that message into a problem of the field. Times and durations stay exact fractions until the
resolved scenario is built, so that ``disclosed+12h`` and ``2014-04-08T05:30:00Z`` resolve to
the same float and the scenario hash does not depend on how a time was written.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from typing import TypeGuard

DURATION_UNITS: dict[str, int | Fraction] = {
    "w": 604_800, "d": 86_400, "h": 3_600, "m": 60, "s": 1, "ms": Fraction(1, 1000),
}
SIZE_UNITS: dict[str, int] = {
    "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30,
}
RATE_UNITS: dict[str, int] = {"s": 1, "m": 60, "h": 3_600, "d": 86_400}
ANCHORS: dict[str, str] = {
    "start": "start", "vulnerable_since": "vulnerable_since",
    "disclosed": "disclosed_at", "analysis": "analysis_at",
}
"""Anchor name in a time expression -> the timeline field it stands for."""
LIFETIME_RULES = ("next_request", "next_handshake")

MAX_SECONDS = Fraction(10_000 * 31_557_600)
"""Longest duration accepted (10,000 Julian years): beyond that a value is a typo."""
MAX_SIZE = 2**53
"""Largest size accepted: sizes beyond it would not be exact as floats in the engines."""

_NUMBER = r"\d+(?:\.\d+)?"
_DURATION = re.compile(rf"(?:{_NUMBER}(?:ms|w|d|h|m|s))+")
_DURATION_PART = re.compile(rf"({_NUMBER})(ms|w|d|h|m|s)")
_SIZE = re.compile(rf"({_NUMBER})\s*([KMG]i?B|B)")
_RATE = re.compile(rf"({_NUMBER}(?:[eE][+-]?\d+)?)\s*/\s*([smhd])")
_ANCHORED = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:([+-])\s*(\S+))?")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
DURATION_HINT = "a duration such as 90d, 1h30m or 2.5s (units w d h m s ms)"
SIZE_HINT = "a size: whole bytes, or a number with a unit B KB MB GB KiB MiB GiB (64MiB)"
RATE_HINT = "a rate: events per second as a number, or N/s, N/m, N/h, N/d (1200/h)"
TIME_HINT = ("a time: an ISO 8601 instant with a zone (2014-04-07T17:30:00Z) or an anchor "
             "start, vulnerable_since, disclosed, analysis with an optional +/-duration "
             "(disclosed+12h)")


def is_number(value: object) -> TypeGuard[int | float]:
    """YAML numbers; booleans are not numbers even though Python says so."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def describe(value: object) -> str:
    """A short rendering of a user's value for messages."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def suggest(word: str, choices: list[str] | tuple[str, ...]) -> str:
    """`` (did you mean 'x'?)`` when a choice is close to ``word``, else nothing."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def parse_duration(value: object) -> Fraction:
    """``90d``, ``1h30m``, ``2.5s``: units largest first, each at most once; no bare numbers."""
    if is_number(value) or (isinstance(value, str) and re.fullmatch(_NUMBER, value.strip())):
        raise ValueError(f"expected {DURATION_HINT}; a bare number is ambiguous, "
                         f"write it with a unit ({str(value).strip()}s)")
    if isinstance(value, str) and value.strip()[:1] in ("-", "+"):
        raise ValueError(f"durations take no sign, got {value.strip()!r}: write a length such "
                         "as 12h; to place a time before an anchor, write a time "
                         "(disclosed-12h) in a time field")
    if not isinstance(value, str) or not _DURATION.fullmatch(value.strip()):
        raise ValueError(f"expected {DURATION_HINT}, got {describe(value)}")
    total = Fraction(0)
    order = list(DURATION_UNITS)
    last = -1
    for number, unit in _DURATION_PART.findall(value.strip()):
        rank = order.index(unit)
        if rank <= last:
            raise ValueError(f"expected {DURATION_HINT}, with units from largest to smallest "
                             f"and each unit once, got {value!r}")
        last = rank
        total += Fraction(number) * DURATION_UNITS[unit]
    if total > MAX_SECONDS:
        raise ValueError(f"duration {value!r} is longer than 10,000 years")
    return total


def parse_size(value: object) -> int:
    """Whole bytes: an integer or a number with a unit; KB/MB/GB are 1000s, KiB/MiB/GiB 1024s."""
    if isinstance(value, int) and not isinstance(value, bool):
        size = value
    elif isinstance(value, str) and (m := _SIZE.fullmatch(value.strip())):
        if m.group(2) not in SIZE_UNITS:
            raise ValueError(f"expected {SIZE_HINT}, got {value!r}")
        exact = Fraction(m.group(1)) * SIZE_UNITS[m.group(2)]
        if exact.denominator != 1:
            raise ValueError(f"{value!r} is not a whole number of bytes")
        size = int(exact)
    else:
        raise ValueError(f"expected {SIZE_HINT}, got {describe(value)}{_unit_case_hint(value)}")
    if size > MAX_SIZE:
        raise ValueError(f"size {value!r} is larger than 2^53 bytes")
    return size


def _unit_case_hint(value: object) -> str:
    """Size units are case-sensitive (``mb`` could be MB or MiB): name the candidates."""
    m = re.fullmatch(rf"\s*({_NUMBER})\s*([A-Za-z]+)\s*", value) if isinstance(value, str) else None
    if m is None:
        return ""
    number, unit = m.groups()
    word = unit.lower()
    options = [u for u in SIZE_UNITS
               if u.lower() in (word, word + "b", word + "ib") or u.lower().replace("i", "") == word]
    if not options:
        return ""
    spelled = " or ".join(f"{number}{u} ({format_size_exact(Fraction(number) * SIZE_UNITS[u])})"
                          for u in options)
    return f"; size units are case-sensitive and end in B: did you mean {spelled}?"


def format_size_exact(size: Fraction) -> str:
    """A byte count with thousands separators, for messages (``65,536 bytes``)."""
    return f"{int(size):,} bytes" if size.denominator == 1 else f"{float(size):,} bytes"


def parse_rate(value: object) -> float:
    """Events per second: a number, or ``N/s``, ``N/m``, ``N/h``, ``N/d``."""
    if is_number(value):
        rate = float(value)
    elif isinstance(value, str) and (m := _RATE.fullmatch(value.strip())):
        try:
            rate = float(Fraction(m.group(1)) / RATE_UNITS[m.group(2)])
        except OverflowError:
            rate = math.inf
    else:
        raise ValueError(f"expected {RATE_HINT}, got {describe(value)}")
    if not math.isfinite(rate):
        raise ValueError(f"expected {RATE_HINT}, got {describe(value)} (not finite)")
    return rate


def parse_lifetime(value: object) -> Fraction | str:
    """``next_request``, ``next_handshake`` or a positive duration (an exponential mean)."""
    if isinstance(value, str) and value.strip() in LIFETIME_RULES:
        return value.strip()
    try:
        seconds = parse_duration(value)
    except ValueError:
        hint = suggest(value, LIFETIME_RULES) if isinstance(value, str) else ""
        raise ValueError("expected next_request, next_handshake or a duration (the mean "
                         f"residency, e.g. 30s), got {describe(value)}{hint}") from None
    if seconds <= 0:
        raise ValueError("a lifetime must be longer than 0s")
    return seconds


@dataclass(frozen=True, slots=True)
class TimeExpr:
    """A time as written: an absolute instant (seconds since 1970, exact) or an anchor, plus
    an offset."""

    text: str
    anchor: str | None
    """A key of :data:`ANCHORS`, or ``None`` for an absolute instant."""
    instant: Fraction
    """Seconds since the Unix epoch for an absolute instant; 0 for an anchor."""
    offset: Fraction = Fraction(0)


def epoch_seconds(dt: datetime) -> Fraction:
    delta = dt - _EPOCH
    return Fraction(delta.days * 86_400 + delta.seconds) + Fraction(delta.microseconds, 10**6)


def iso(seconds: Fraction | float) -> str:
    """An instant (seconds since the Unix epoch) as ISO 8601 in UTC, ``Z`` suffix."""
    micros = round(Fraction(seconds) * 10**6)
    dt = _EPOCH + timedelta(microseconds=micros)
    text = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if dt.microsecond:
        text += f".{dt.microsecond:06d}".rstrip("0")
    return text + "Z"


def parse_time(value: object) -> TimeExpr:
    """``2014-04-07T17:30:00Z`` (a zone is required) or ``anchor[+-duration]``."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected {TIME_HINT}, got {describe(value)}")
    text = value.strip()
    if text[0].isdigit():
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"expected {TIME_HINT}, got {text!r}, which is not "
                             "an ISO 8601 instant") from None
        if dt.tzinfo is None:
            raise ValueError(f"time {text!r} has no zone: add Z (UTC) or an offset such as "
                             "+02:00, so that it means one instant")
        return TimeExpr(text, None, epoch_seconds(dt))
    m = _ANCHORED.fullmatch(text)
    if m is None and text[0] in "+-":
        raise ValueError(f"a time needs an anchor before its offset, got {text!r}: write, "
                         f"for example, disclosed{text}")
    if m is None:
        raise ValueError(f"expected {TIME_HINT}, got {text!r}")
    anchor, sign, offset = m.groups()
    if anchor not in ANCHORS:
        hint = " (did you mean 'disclosed'?)" if anchor == "disclosed_at" else (
            " (did you mean 'analysis'?)" if anchor == "analysis_at" else suggest(anchor, tuple(ANCHORS)))
        raise ValueError(f"unknown anchor {anchor!r} in {text!r}; anchors are start, "
                         f"vulnerable_since, disclosed, analysis{hint}")
    if sign is None:
        return TimeExpr(text, anchor, Fraction(0))
    shift = parse_duration(offset)
    return TimeExpr(text, anchor, Fraction(0), shift if sign == "+" else -shift)


def format_duration(seconds: float) -> str:
    """Seconds in the file's own syntax (``1h30m``), for summaries; ``forever`` for inf."""
    if math.isinf(seconds):
        return "forever" if seconds > 0 else "-forever"
    if seconds < 0:
        return "-" + format_duration(-seconds)
    rest = Fraction(seconds).limit_denominator(10**6)
    parts = []
    for unit in ("d", "h", "m"):
        n, rest = divmod(rest, DURATION_UNITS[unit])
        if n:
            parts.append(f"{n}{unit}")
    if rest or not parts:
        parts.append(f"{float(rest):g}s")
    return "".join(parts)


def format_size(size: int) -> str:
    """Bytes in the largest unit that divides them exactly (``64MiB``), for summaries."""
    for unit in ("GiB", "GB", "MiB", "MB", "KiB", "KB"):
        if size and size % SIZE_UNITS[unit] == 0:
            return f"{size // SIZE_UNITS[unit]}{unit}"
    return f"{size}B"
