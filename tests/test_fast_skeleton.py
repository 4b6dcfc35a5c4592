"""The skeleton's shortcuts change no draw: what it skips is never read."""

from __future__ import annotations

import math

import numpy as np
import pytest
from agreement import SCENARIOS

from sim.engines import fast
from sim.engines.fast.skeleton import ServerRun
from sim.montecarlo.replicate import replicate_range
from sim.scenario import load_scenario


@pytest.mark.parametrize("scenario", ["psmail", "stop-on-key", "lingering"])
def test_key_copies_dropped_after_the_last_key_chance_change_nothing(
    scenario: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once no attacker still watching the key can capture it, the skeleton stops carrying
    the workers' key copies (``ServerRun._last_key_chance``). Carrying them to the horizon
    instead must give the same rows, to the bit: nothing reads them after that time. PSMail
    (attackers sending to patched servers for days) and two agreement scenarios with key
    captures, ``stop_when: key`` and lingering key copies."""
    sc = (load_scenario("scenarios/psmail-2014.yaml") if scenario == "psmail"
          else SCENARIOS[scenario]())
    dropped = replicate_range(sc, fast, 7, 0, 40)
    monkeypatch.setattr(ServerRun, "_last_key_chance", lambda self: math.inf)
    carried = replicate_range(sc, fast, 7, 0, 40)
    assert np.array_equal(dropped, carried, equal_nan=True)
