"""Estimates per scope from hand-made rows, where every number is known in advance."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conftest import tiny_scenario

from sim.montecarlo import intervals
from sim.montecarlo.estimates import estimate, given_present, key_capture
from sim.montecarlo.layout import Layout
from sim.scenario.model import OUTCOMES


def rows_for(layout: Layout, columns: dict[str, list[float]], n: int) -> np.ndarray:
    rows = np.zeros((n, len(layout)))
    for name, values in columns.items():
        rows[:, layout.index[name]] = values
    return rows


@pytest.fixture
def layout() -> Layout:
    return Layout(tiny_scenario())


@pytest.fixture
def rows(layout: Layout) -> np.ndarray:
    leaked = [0, 1, 1, 0, 0, 0, 0, 0, 0, 0]
    passwords = [0, 3, 0, 1, 0, 0, 0, 0, 0, 0]
    return rows_for(layout, {
        "present/eve": [1, 1, 1, 1, 1, 1, 0, 0, 0, 0],
        "total/key": leaked, "server/web/key": leaked, "attacker/eve/key": leaked,
        "total/password": passwords, "server/web/password": passwords,
        "attacker/eve/password": passwords,
        "server/web/key_time": [np.nan, 100.0, 300.0] + [np.nan] * 7,
        "server/web/key_heartbeats": [-1, 4, 10] + [-1] * 7,
    }, 10)


def test_probability_of_any_capture_uses_wilson(layout: Layout, rows: np.ndarray) -> None:
    key = estimate(rows, layout, "total")["key"]
    assert key["p_any"] == 0.2
    assert key["p_any_ci95"] == intervals.wilson(0.2, 10).as_list()
    assert "p_any_upper95" not in key


def test_one_servers_key_is_zero_or_one_so_its_mean_is_its_probability(
    layout: Layout, rows: np.ndarray
) -> None:
    key = estimate(rows, layout, "server/web")["key"]
    assert (key["mean"], key["mean_ci95"]) == (key["p_any"], key["p_any_ci95"])


def test_counts_get_the_normal_interval_clipped_at_zero(layout: Layout, rows: np.ndarray) -> None:
    pw = estimate(rows, layout, "total")["password"]
    values = np.array([0, 3, 0, 1, 0, 0, 0, 0, 0, 0], dtype=float)
    assert pw["p_any"] == 0.2
    assert pw["mean"] == pytest.approx(0.4)
    half = intervals.Z * values.std(ddof=1) / np.sqrt(10)
    assert pw["mean_ci95"] == pytest.approx([0.0, 0.4 + half])


def test_no_event_reports_the_one_sided_upper_bound(layout: Layout, rows: np.ndarray) -> None:
    session = estimate(rows, layout, "total")["session"]
    assert session["p_any"] == 0.0
    assert session["p_any_upper95"] == intervals.zero_events_upper(10)
    assert session["mean_ci95"] == [0.0, 0.0]


def test_given_present_keeps_only_replications_where_the_attacker_exists(
    layout: Layout, rows: np.ndarray
) -> None:
    gp = given_present(rows, layout, "eve")
    assert gp["n_present"] == 6
    assert gp["outcomes"]["key"]["p_any"] == pytest.approx(2 / 6)
    assert set(gp["outcomes"]) == set(OUTCOMES)


def test_an_attacker_never_present_has_undefined_estimates(layout: Layout, rows: np.ndarray) -> None:
    rows[:, layout.index["present/eve"]] = 0
    gp = given_present(rows, layout, "eve")
    assert gp["n_present"] == 0
    assert gp["outcomes"]["key"]["p_any"] is None
    assert gp["outcomes"]["key"]["p_any_ci95"] == [0.0, 1.0]


def test_key_capture_summarises_replications_where_the_key_leaked(
    layout: Layout, rows: np.ndarray
) -> None:
    assert key_capture(rows, layout, "web") == {
        "replications": 2, "seconds_median": 200.0, "heartbeats_median": 7.0,
    }
    rows[:, layout.index["server/web/key"]] = 0
    assert key_capture(rows, layout, "web")["heartbeats_median"] is None


def test_weighted_median_is_where_half_the_weight_is_reached(layout: Layout, rows: np.ndarray) -> None:
    weights = np.array([1.0, 1.0, 3.0] + [1.0] * 7)
    assert key_capture(rows, layout, "web", weights)["heartbeats_median"] == 10.0


def test_zero_weight_rows_do_not_count(layout: Layout, rows: np.ndarray) -> None:
    weights = np.array([0.5] * 5 + [0.0] * 5)
    weighted = estimate(rows, layout, "total", weights)
    assert weighted == estimate(rows[:5], layout, "total")


def test_keys_over_several_servers_are_a_count(layout: Layout) -> None:
    s = tiny_scenario()
    web = s.servers["web"]
    two = dataclasses.replace(s, servers={"web": web, "mail": dataclasses.replace(web, name="mail")})
    lay = Layout(two)
    r = rows_for(lay, {"total/key": [0, 1, 2, 2], "server/web/key": [0, 1, 1, 1]}, 4)
    total = estimate(r, lay, "total")["key"]
    assert total["p_any"] == 0.75 and total["mean"] == 1.25
    assert total["mean_ci95"][1] <= 2.0
    assert total["mean_ci95"] != total["p_any_ci95"]
