"""scenarios/restart-tuning.yaml: every number cites docs/facts.md or says why it is assumed,
and its lingering passwords run on the fast engine."""

from __future__ import annotations

import re

from conftest import REPO

from sim.engines import get_engine
from sim.scenario import load_scenario

PATH = REPO / "scenarios" / "restart-tuning.yaml"
VALUE = re.compile(r"^\s+[A-Za-z_-]+:\s+([^#\s][^#]*?)\s*(#.*)?$")
SOURCED = re.compile(r"#\s*(facts §\d+|assumption: \S)")


def test_every_number_is_sourced_or_an_assumption() -> None:
    unsourced = []
    for number, line in enumerate(PATH.read_text().splitlines(), 1):
        m = VALUE.match(line)
        if not m or m.group(1).startswith((">", "[")) or not re.search(r"\d", m.group(1)):
            continue
        if not SOURCED.search(m.group(2) or ""):
            unsourced.append(f"{number}: {line.strip()}")
    assert not unsourced


def test_it_lingers_and_the_fast_engine_accepts_it() -> None:
    scenario = load_scenario(PATH)
    mail = scenario.servers["mail"]
    assert mail.passwords is not None and mail.sessions is not None
    assert mail.passwords.lifetime == 7200.0  # a duration (2h), not next_request
    assert mail.restart is not None
    get_engine("fast").check(scenario)
