"""The results.json document (``results-format.md``), built from a run's rows.

The document is a plain dict so later stages can add to it: the analysis merges its
``detectors``, ``evidence``, ``claims`` and ``attackers.<a>.given_present.detected`` in with
:func:`merge`, which refuses to overwrite anything already there. Serialisation is
deterministic (sorted keys, ``repr`` floats, no NaN): the same run gives the same bytes on any
machine and for any number of workers, except for ``timing``, the one part that measures the
machine rather than the model.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

import sim
from sim.montecarlo.estimates import binding_checks, estimate, given_present, key_capture
from sim.montecarlo.layout import Layout
from sim.montecarlo.stratified import Strata
from sim.report import timeline
from sim.scenario.assumptions import Assumption
from sim.scenario.model import Scenario, Server

Document = dict[str, Any]


def build(
    scenario: Scenario,
    scenario_sha256: str,
    rows: np.ndarray,
    layout: Layout,
    seconds: float,
    simulated: int,
    assumed: Sequence[Assumption] = (),
    strata: Strata | None = None,
) -> Document:
    """The document of a finished run; ``simulated`` replications were computed in ``seconds``
    (a resumed run simulated fewer than ``replications``; its rate counts only those).
    ``assumed`` are the values the scenario file (and its bases) mark as assumptions;
    ``strata`` makes every estimate the stratified one (a ``--precision`` run)."""
    mc = scenario.monte_carlo
    return {
        "scenario": scenario.name,
        "description": scenario.description,
        "scenario_sha256": scenario_sha256,
        "version": sim.__version__,
        "engine": mc.engine,
        "seed": mc.seed,
        "replications": int(rows.shape[0]),
        "outcomes": estimate(rows, layout, "total", strata=strata),
        "servers": {
            s: {
                "holds": _holds(server),
                "outcomes": estimate(rows, layout, f"server/{s}", strata=strata),
                "key_capture": key_capture(rows, layout, s, strata=strata),
                **({} if server.sessions is None else {
                    "binding_checks": binding_checks(rows, layout, scenario, s, strata=strata)}),
            }
            for s, server in scenario.servers.items()
        },
        "attackers": {
            name: {
                "benign": a.benign,
                "presence": a.presence,
                "targets": list(a.targets),
                "outcomes": estimate(rows, layout, f"attacker/{name}", strata=strata),
                "given_present": given_present(rows, layout, name, strata=strata),
            }
            for name, a in scenario.attackers.items()
        },
        "timeline": timeline.as_results(scenario),
        "assumptions": [a.as_results() for a in assumed],
        "timing": {
            "seconds": seconds,
            "replications_per_second": simulated / seconds if seconds > 0 else 0.0,
        },
    }


def _holds(server: Server) -> list[str]:
    """The secret kinds a server keeps, so that a report read from the JSON alone can tell
    "no capture" from "nothing to capture"."""
    kinds = {"key": True, "passwords": server.passwords is not None,
             "sessions": server.sessions is not None}
    return [k for k, held in kinds.items() if held]


def merge(document: Document, extension: Mapping[str, Any]) -> None:
    """Add ``extension`` into ``document`` recursively; an existing leaf is never overwritten,
    because two stages writing the same path would be a bug that silently loses a number."""
    for key, value in extension.items():
        if key not in document:
            document[key] = value
        elif isinstance(document[key], dict) and isinstance(value, Mapping):
            merge(document[key], value)
        else:
            raise ValueError(f"results.json path {key!r} is already set")


def dumps(document: Document) -> str:
    return json.dumps(document, sort_keys=True, indent=2, allow_nan=False) + "\n"


def without_timing(document: Document) -> Document:
    """The part of a document that must be reproducible bit for bit."""
    return {k: v for k, v in document.items() if k != "timing"}
