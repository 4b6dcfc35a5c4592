"""The terminal table: a header naming the run, aligned columns, zero events as upper bounds,
rendered from the same content model as the reports."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
from conftest import tiny_scenario

from sim.analysis.analyse import analyse, as_results
from sim.montecarlo.intervals import zero_events_upper
from sim.montecarlo.layout import Layout
from sim.report import results_json, terminal
from sim.scenario.model import Scenario


def render(scenario: Scenario, columns: dict[str, list[float]], n: int) -> str:
    layout = Layout(scenario)
    rows = np.zeros((n, len(layout)))
    for name, values in columns.items():
        rows[:, layout.index[name]] = values
    doc = results_json.build(scenario, "0" * 64, rows, layout, 1.0, n)
    results_json.merge(doc, as_results(analyse(rows, layout, scenario), rows, layout, scenario))
    return terminal.render(json.loads(results_json.dumps(doc)))


def test_table_shows_estimates_bounds_and_missing_secrets() -> None:
    base = tiny_scenario(replications=1000)
    scenario = dataclasses.replace(
        base, servers={"web": dataclasses.replace(base.servers["web"], sessions=None)}
    )
    leaked = [1.0] * 250 + [0.0] * 750
    text = render(scenario, {
        "present/eve": [1.0] * 500 + [0.0] * 500,
        "total/key": leaked, "server/web/key": leaked, "attacker/eve/key": leaked,
    }, 1000)
    lines = text.splitlines()
    assert lines[0] == "tiny: engine reference, 1000 replications, seed 1"
    start = lines.index("OUTCOMES")
    header, web, total = (lines[i] for i in range(start + 3, start + 6))
    assert header.split() == ["P(key)", "P(password)", "P(reusable", "password)", "mean",
                              "passwords", "P(session)", "P(hijack)"]
    assert web.startswith("server web") and total.startswith("all servers")
    assert "25.0% [22.4, 27.8]" in web
    bound = f"0 (≤ {100 * zero_events_upper(1000):#.3g}%)"
    assert bound in web  # no password was captured in any replication
    assert web.split()[-2:] == ["-", "-"]  # the server holds no session
    eve = next(line for line in lines if line.startswith("eve "))
    assert "n=500" in eve and "50.0% [45.6, 54.4]" in eve
    assert len({len(line) for line in (header, web, total)}) == 1  # right-aligned columns
