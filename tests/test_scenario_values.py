"""The value syntaxes of scenario files (scenario-format.md, Values)."""

from __future__ import annotations

from datetime import datetime, timezone
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.scenario.values import (
    epoch_seconds,
    format_duration,
    format_size,
    iso,
    parse_duration,
    parse_lifetime,
    parse_rate,
    parse_size,
    parse_time,
)


@pytest.mark.parametrize(("text", "seconds"), [
    ("90d", 90 * 86400), ("1h30m", 5400), ("2.5s", Fraction(5, 2)), ("0s", 0), ("250ms", Fraction(1, 4)),
    ("2w", 14 * 86400), ("1d12h", 129600), ("1m1s1ms", Fraction(61001, 1000)), (" 6h ", 21600),
])
def test_durations(text: str, seconds: Fraction) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(("value", "message"), [
    (3600, "bare number"), (0, r"write it with a unit \(0s\)"), ("6", "expected a duration"),
    ("6 h", "expected a duration"), ("30m1h", "largest to smallest"), ("1h1h", "each unit once"),
    ("-1h", "durations take no sign"), ("+1h", "durations take no sign"), ("1y", "expected a duration"), (True, "expected a duration"),
    ("100000000w", "10,000 years"), (None, "nothing"),
])
def test_bad_durations(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_duration(value)


@pytest.mark.parametrize(("value", "size"), [
    (123, 123), ("64MiB", 64 * 2**20), ("500MB", 500 * 10**6), ("1KB", 1000), ("1KiB", 1024),
    ("2GB", 2 * 10**9), ("1GiB", 2**30), ("17B", 17), ("1.5KiB", 1536), ("0.5KB", 500),
])
def test_sizes(value: object, size: int) -> None:
    assert parse_size(value) == size


@pytest.mark.parametrize("value", ["64mib", "64 MB extra", "1.5B", 1.5, "1TB", True, 2**53 + 1, "x"])
def test_bad_sizes(value: object) -> None:
    with pytest.raises(ValueError):
        parse_size(value)


@pytest.mark.parametrize(("value", "rate"), [
    (20, 20.0), (0.05, 0.05), ("1200/h", 1200 / 3600), ("3/s", 3.0), ("30/m", 0.5),
    ("86400/d", 1.0), ("1e3/s", 1000.0), (0, 0.0),
])
def test_rates(value: object, rate: float) -> None:
    assert parse_rate(value) == pytest.approx(rate, rel=1e-15)


@pytest.mark.parametrize("value", ["20/min", "20", float("nan"), float("inf"), "1e999/s", True, [], "/h"])
def test_bad_rates(value: object) -> None:
    with pytest.raises(ValueError):
        parse_rate(value)


def test_lifetimes() -> None:
    assert parse_lifetime("next_request") == "next_request"
    assert parse_lifetime("next_handshake") == "next_handshake"
    assert parse_lifetime("30s") == 30
    with pytest.raises(ValueError, match="did you mean 'next_handshake'"):
        parse_lifetime("next_handshak")
    with pytest.raises(ValueError, match="longer than 0s"):
        parse_lifetime("0s")


def test_absolute_times_need_a_zone_and_mean_one_instant() -> None:
    utc = parse_time("2014-04-07T17:30:00Z")
    assert utc.anchor is None
    assert utc.instant == epoch_seconds(datetime(2014, 4, 7, 17, 30, tzinfo=timezone.utc))
    assert parse_time("2014-04-07T19:30:00+02:00").instant == utc.instant
    with pytest.raises(ValueError, match="no zone"):
        parse_time("2014-04-07T17:30:00")
    with pytest.raises(ValueError, match="no zone"):
        parse_time("2014-04-07")
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_time("2014-13-07T17:30:00Z")


@pytest.mark.parametrize(("text", "anchor", "offset"), [
    ("start", "start", 0), ("disclosed+12h", "disclosed", 43200), ("analysis-90d", "analysis", -90 * 86400),
    ("vulnerable_since + 1d", "vulnerable_since", 86400),
])
def test_anchored_times(text: str, anchor: str, offset: int) -> None:
    t = parse_time(text)
    assert (t.anchor, t.offset) == (anchor, offset)


@pytest.mark.parametrize(("text", "message"), [
    ("disclosed_at+1d", "did you mean 'disclosed'"), ("analyis", "did you mean 'analysis'"),
    ("disclosed+12", "bare number"), ("disclosed*2", "expected a time"), (1396891800, "expected a time"),
    ("", "expected a time"),
])
def test_bad_anchored_times(text: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_time(text)


def test_iso_round_trip() -> None:
    for text in ["2014-04-07T17:30:00Z", "2012-03-14T00:00:00.25Z", "1970-01-01T00:00:00Z"]:
        assert iso(parse_time(text).instant) == text


@settings(max_examples=100, deadline=None, derandomize=True)
@given(st.integers(0, 10**9), st.sampled_from([1, 10, 1000]))
def test_format_duration_is_read_back_exactly(units: int, per_second: int) -> None:
    seconds = Fraction(units, per_second)
    assert parse_duration(format_duration(float(seconds))) == seconds


@pytest.mark.parametrize(("size", "text"), [(64 * 2**20, "64MiB"), (500 * 10**6, "500MB"), (17, "17B"), (0, "0B")])
def test_format_size(size: int, text: str) -> None:
    assert format_size(size) == text
    assert parse_size(text) == size
