"""From replication rows to the probabilities and means that results.json reports.

A *scope* names whose captures are counted: ``"total"`` (malicious attackers over all servers),
``"server/<s>"``, ``"attacker/<a>"`` or ``"attacker/<a>/server/<s>"`` (the columns of
:class:`~sim.montecarlo.layout.Layout`). ``weights`` (one per row, e.g. the probability that a
replication is consistent with the evidence) turn every estimate into a weighted one; the
evidence and claims code reuses :func:`estimate` that way. ``strata`` (rows of a stratified run,
:mod:`sim.montecarlo.stratified`) makes every estimate the stratified one, with its interval.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from sim.montecarlo import intervals
from sim.montecarlo.layout import KEY_HEARTBEATS, KEY_TIME, Layout, checks_column
from sim.montecarlo.stratified import Strata
from sim.scenario.model import OUTCOMES, Scenario

Estimate = dict[str, Any]


def estimate(
    rows: np.ndarray,
    layout: Layout,
    scope: str,
    weights: np.ndarray | None = None,
    strata: Strata | None = None,
) -> dict[str, Estimate]:
    """``{outcome: {p_any, p_any_ci95, mean, mean_ci95[, p_any_upper95]}}`` for one scope.

    ``p_any`` is the (weighted) fraction of replications with a count above zero (for the total
    key: at least one server's key), with a Wilson interval; when no replication had the outcome,
    ``p_any_upper95`` adds the one-sided 95% upper bound ``1 - 0.05^(1/n)``. ``mean`` is the
    expected count with a normal interval clipped at zero, except where the count is 0/1 (one
    server's key), where it equals ``p_any`` and takes its Wilson interval (rule 20). Rows of
    zero weight (or no rows) leave the estimate undefined: ``null`` values, whole-range intervals.
    """
    w = None if weights is None else np.asarray(weights, dtype=float)
    if strata is not None and scope.startswith("attacker/"):
        attacker = scope.split("/")[1]
        strata = strata.attributed_to(layout.column(rows, f"present/{attacker}") == 1.0)
    return {
        o: _outcome(layout.column(rows, f"{scope}/{o}"), w, max_count(layout, scope, o), strata)
        for o in OUTCOMES
    }


def binding_checks(
    rows: np.ndarray,
    layout: Layout,
    scenario: Scenario,
    server: str,
    strata: Strata | None = None,
) -> list[dict[str, Any]]:
    """What each binding check bought on a server with sessions: per ``k`` from 0 to all its
    checks, the hijacks had it made only the first ``k`` (rule 21's order), as
    ``{checks, session_hijack}``; the last is the outcome itself. Prior only: with fewer
    checks the session log would record fewer blocked replays, so the evidence would differ."""
    binding = scenario.servers[server].binding
    columns = [checks_column(server, k) for k in range(len(binding))]
    columns.append(f"server/{server}/session_hijack")
    return [{"checks": list(binding[:k]),
             "session_hijack": _outcome(layout.column(rows, c), None, math.inf, strata)}
            for k, c in enumerate(columns)]


def given_present(
    rows: np.ndarray,
    layout: Layout,
    attacker: str,
    weights: np.ndarray | None = None,
    strata: Strata | None = None,
) -> dict[str, Any]:
    """An attacker's own captures over the replications in which it exists (rule 12)."""
    present = layout.column(rows, f"present/{attacker}") == 1.0
    sub_weights = None if weights is None else np.asarray(weights, dtype=float)[present]
    sub_strata = None if strata is None else strata.subset(present)
    return {
        "n_present": int(present.sum()),
        "outcomes": estimate(
            rows[present], layout, f"attacker/{attacker}", sub_weights, sub_strata
        ),
    }


def key_capture(
    rows: np.ndarray,
    layout: Layout,
    server: str,
    weights: np.ndarray | None = None,
    strata: Strata | None = None,
) -> dict[str, Any]:
    """When a server's key leaked, over the replications where it did: how many replications,
    and the (weighted) median time (seconds since start) and malicious heartbeats until capture.
    Stratified, each replication weighs its stratum's ``pi_h / n_h``.
    """
    if strata is not None:
        design = strata.design_weights()
        weights = design if weights is None else design * np.asarray(weights, dtype=float)
    leaked = layout.column(rows, f"server/{server}/key") > 0
    if weights is not None:
        leaked &= np.asarray(weights, dtype=float) > 0
    w = None if weights is None else np.asarray(weights, dtype=float)[leaked]
    times = layout.column(rows, f"server/{server}/{KEY_TIME}")[leaked]
    beats = layout.column(rows, f"server/{server}/{KEY_HEARTBEATS}")[leaked]
    return {
        "replications": int(leaked.sum()),
        "seconds_median": _median(times, w),
        "heartbeats_median": _median(beats, w),
    }


def _outcome(
    values: np.ndarray, weights: np.ndarray | None, max_count: float, strata: Strata | None
) -> Estimate:
    if weights is not None:
        keep = weights > 0
        values, weights = values[keep], weights[keep]
        strata = None if strata is None else strata.subset(keep)
    if values.size == 0:
        return {"p_any": None, "p_any_ci95": [0.0, 1.0], "mean": None,
                "mean_ci95": [0.0, None if math.isinf(max_count) else max_count]}
    events = values > 0
    captures = None if strata is None else strata.for_captures()
    p, p_ci, n = intervals.proportion(events, weights, captures)
    out: Estimate = {"p_any": p, "p_any_ci95": p_ci.as_list()}
    if not events.any():
        out["p_any_upper95"] = intervals.zero_events_upper(n)
    if max_count == 1:
        out["mean"], out["mean_ci95"] = p, p_ci.as_list()
    else:
        m, m_ci = intervals.mean(values, weights, 0.0, max_count, strata)
        out["mean"], out["mean_ci95"] = m, m_ci.as_list()
    return out


def max_count(layout: Layout, scope: str, outcome: str) -> float:
    """Largest possible count: keys are one per server, everything else is unbounded."""
    if outcome != "key":
        return math.inf
    parts = scope.split("/")
    if len(parts) >= 2 and parts[-2] == "server":
        return 1
    prefix = "server/" if scope == "total" else f"{scope}/server/"
    depth = prefix.count("/") + 1
    return sum(
        1
        for n in layout.names
        if n.startswith(prefix) and n.endswith("/key") and n.count("/") == depth
    )


def _median(values: np.ndarray, weights: np.ndarray | None) -> float | None:
    """Median, or with weights the smallest value whose cumulative weight reaches half."""
    if values.size == 0:
        return None
    if weights is None:
        return float(np.median(values))
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cum, cum[-1] / 2.0)])
