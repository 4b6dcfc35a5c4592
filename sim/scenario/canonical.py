"""The normalised scenario as canonical JSON, and its hash (``model.md`` rule 15).

The resolved scenario already has every default filled in and every value in seconds, bytes
and per-second rates, so its canonical form is its fields with sorted keys. ``inf`` (never,
forever) and ``-inf`` (deployed since always) become ``null``: JSON has no infinities, and
each field has only one of the two.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math

from sim.scenario.model import Scenario


def _plain(value: object) -> object:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and math.isinf(value):
        return None
    return value


def canonical_json(s: Scenario) -> str:
    """One line of JSON, sorted keys, no insignificant whitespace: equal scenarios give equal
    bytes whatever the order or the units they were written in."""
    return json.dumps(_plain(s), sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def scenario_sha256(s: Scenario) -> str:
    return hashlib.sha256(canonical_json(s).encode("utf-8")).hexdigest()
