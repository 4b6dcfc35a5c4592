"""``LOW..HIGH`` ranges of a scenario field, in the field's own units, as numbers to search.

Durations are searched in seconds and rates in events per second, and written back into the
scenario in a form its loader reads exactly (``5400s``, ``0.25``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sim.scenario.values import format_duration, parse_duration, parse_rate
from sim.whatif.overrides import OverrideError, Scalar


@dataclass(frozen=True, slots=True)
class FieldRange:
    text: str
    kind: str
    """``number``, ``integer``, ``duration`` (seconds) or ``rate`` (per second)."""
    low: float
    high: float

    @classmethod
    def parse(cls, text: str, flag: str, current: object = None) -> FieldRange:
        """``current`` is the file's value of the field: the range is searched in whole
        numbers only when that is a whole number (``hosts: 3``) and both ends are too."""
        low, sep, high = (part.strip() for part in text.partition(".."))
        if not sep or not low or not high:
            raise OverrideError(f"{flag} {text!r}: expected LOW..HIGH (e.g. 10m..7d or 0..1)")
        for kind, parse in (("number", float), ("duration", parse_duration), ("rate", parse_rate)):
            try:
                a, b = float(parse(low)), float(parse(high))  # type: ignore[operator]
            except (ValueError, TypeError):
                continue
            whole = re.compile(r"[-+]?\d+")
            if (kind == "number" and isinstance(current, int) and not isinstance(current, bool)
                    and whole.fullmatch(low) and whole.fullmatch(high)):
                kind = "integer"
            if not a < b:
                raise OverrideError(f"{flag} {text!r}: LOW must be below HIGH")
            return cls(text, kind, a, b)
        raise OverrideError(f"{flag} {text!r}: the ends must both be numbers (0.5), durations "
                            "(10m) or rates (360/h)")

    def snap(self, x: float) -> float:
        """Durations to whole seconds and integers to whole numbers: what can be written."""
        return float(round(x)) if self.kind in ("duration", "integer") else x

    def written(self, x: float) -> Scalar:
        """``x`` as the field's value in the scenario file."""
        if self.kind == "duration":
            return f"{int(round(x))}s"
        if self.kind == "integer":
            return int(round(x))
        return float(x)

    def shown(self, x: float) -> str:
        if self.kind == "duration":
            return format_duration(x)
        if self.kind == "rate":
            return f"{x:g}/s"
        return f"{self.written(x)}"
