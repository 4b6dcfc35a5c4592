"""Dotted-path overrides: values keep their units, bad ones are refused with the loader's own
message and the point they belong to."""

from __future__ import annotations

from pathlib import Path

import pytest
from whatif_helpers import tiny_fast

from sim.whatif.overrides import Base, OverrideError, parse_set, parse_value
from sim.whatif.ranges import FieldRange


def test_values_keep_the_field_units(tmp_path: Path) -> None:
    base = Base.read(tiny_fast(tmp_path))
    s = base.scenario({"servers.web.sessions.ttl": "15m", "attackers.eve.rate": "360/h",
                       "servers.web.heap_bytes": "8MiB", "monte_carlo.replications": 7})
    web = s.servers["web"]
    assert web.sessions is not None and web.sessions.ttl == 900.0
    assert s.attackers["eve"].rate == pytest.approx(0.1)
    assert web.heap_bytes == 8 * 2**20
    assert s.monte_carlo.replications == 7
    assert base.scenario({}) == Base.read(tiny_fast(tmp_path, name="again.yaml")).scenario({})


def test_a_bad_value_names_the_point_field_and_problem(tmp_path: Path) -> None:
    base = Base.read(tiny_fast(tmp_path))
    with pytest.raises(OverrideError) as e:
        base.scenario({"servers.web.sessions.ttl": "10 parsecs"}, "point 2 (ttl=10 parsecs)")
    message = str(e.value)
    assert message.startswith("point 2 (ttl=10 parsecs): ")
    assert "servers.web.sessions.ttl" in message and "expected a duration" in message


def test_unknown_paths_and_blocks_are_refused(tmp_path: Path) -> None:
    base = Base.read(tiny_fast(tmp_path))
    with pytest.raises(OverrideError, match="servers has no field 'mail' \\(it has web\\)"):
        base.scenario({"servers.mail.restart.every": "1h"})
    with pytest.raises(OverrideError, match="is a block of fields"):
        base.scenario({"servers.web.sessions": "1h"})
    with pytest.raises(OverrideError, match="unknown field|not allowed|Extra|extra"):
        base.scenario({"servers.web.sessions.tll": "1h"})


def test_set_arguments_and_values_read_as_yaml() -> None:
    assert parse_set("attackers.eve.rate=0.5,2,360/h") == ("attackers.eve.rate", [0.5, 2, "360/h"])
    assert parse_value("true") is True and parse_value("6h") == "6h"
    with pytest.raises(OverrideError, match="expected PATH=VALUE"):
        parse_set("attackers.eve.rate")
    with pytest.raises(OverrideError, match="empty value"):
        parse_set("attackers.eve.rate=1,,2")


def test_ranges_search_in_the_field_units() -> None:
    r = FieldRange.parse("10m..1d", "--range")
    assert (r.kind, r.low, r.high) == ("duration", 600.0, 86400.0)
    assert r.written(5400.4) == "5400s"
    assert FieldRange.parse("0..1", "--range", 0.5).kind == "number"
    assert FieldRange.parse("1..8", "--range", 4).kind == "integer"
    assert FieldRange.parse("60/h..1/s", "--range").high == 1.0
    with pytest.raises(OverrideError, match="LOW must be below HIGH"):
        FieldRange.parse("2h..1h", "--range")
