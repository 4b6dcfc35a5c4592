"""One replication as a flat row of numbers, and the names of its columns.

Worker processes send rows, not records: a row is small, pickles fast and reduces with numpy.
The layout depends only on the scenario, so every process agrees on it.
"""

from __future__ import annotations

import numpy as np

from sim.model.record import Captures, ReplicationRecord
from sim.model.alerts import AlertSummary
from sim.scenario.model import OUTCOMES, Scenario

KEY_TIME = "key_time"
KEY_HEARTBEATS = "key_heartbeats"


def checks_column(server: str, checks: int) -> str:
    """The column of ``server``'s hijacks had it made only its first ``checks`` checks."""
    return f"server/{server}/session_hijack/checks/{checks}"


class Layout:
    """Column positions of a replication row for one scenario.

    Columns, by name:
      ``present/<a>``                     1 when attacker ``a`` exists in the replication
      ``total/<o>``                       malicious totals over all servers, ``o`` in OUTCOMES
      ``server/<s>/<o>``                  malicious totals on server ``s``
      ``server/<s>/key_time``, ``server/<s>/key_heartbeats``
      ``server/<s>/session_hijack/checks/<k>``  hijacks on ``s`` had it made only the first
                                          ``k`` of its binding checks, ``k < len(binding)``
      ``attacker/<a>/<o>``                attacker ``a``'s own captures over its targets
      ``attacker/<a>/server/<s>/<o>``     attacker ``a``'s own captures on target ``s``
      ``detector/<d>/<a>/raised|retained``  alerts of detector ``d`` attributed to ``a``
    """

    def __init__(self, scenario: Scenario) -> None:
        names: list[str] = []
        for a in scenario.attackers:
            names.append(f"present/{a}")
        names += [f"total/{o}" for o in OUTCOMES]
        for s, server in scenario.servers.items():
            names += [f"server/{s}/{o}" for o in OUTCOMES]
            names += [f"server/{s}/{KEY_TIME}", f"server/{s}/{KEY_HEARTBEATS}"]
            names += [checks_column(s, k) for k in range(len(server.binding))]
        for a, att in scenario.attackers.items():
            names += [f"attacker/{a}/{o}" for o in OUTCOMES]
            for s in att.targets:
                names += [f"attacker/{a}/server/{s}/{o}" for o in OUTCOMES]
        for d in scenario.detectors:
            for a in scenario.attackers:
                names += [f"detector/{d}/{a}/raised", f"detector/{d}/{a}/retained"]
        self.names: tuple[str, ...] = tuple(names)
        self.index: dict[str, int] = {n: i for i, n in enumerate(names)}
        ix = self.index

        def outcomes(scope: str) -> tuple[int, ...]:
            return tuple(ix[f"{scope}/{o}"] for o in OUTCOMES)

        self._present = {a: ix[f"present/{a}"] for a in scenario.attackers}
        self._total = outcomes("total")
        self._server = {s: outcomes(f"server/{s}") for s in scenario.servers}
        self._key_capture = {s: (ix[f"server/{s}/{KEY_TIME}"], ix[f"server/{s}/{KEY_HEARTBEATS}"])
                             for s in scenario.servers}
        self._checks = {s: tuple(ix[checks_column(s, k)] for k in range(len(server.binding)))
                        for s, server in scenario.servers.items()}
        self._attacker = {a: outcomes(f"attacker/{a}") for a in scenario.attackers}
        self._attacker_server = {(a, s): outcomes(f"attacker/{a}/server/{s}")
                                 for a, att in scenario.attackers.items() for s in att.targets}
        self._detector = {(d, a): (ix[f"detector/{d}/{a}/raised"], ix[f"detector/{d}/{a}/retained"])
                          for d in scenario.detectors for a in scenario.attackers}

    def __len__(self) -> int:
        return len(self.names)

    def column(self, rows: np.ndarray, name: str) -> np.ndarray:
        return rows[:, self.index[name]]

    def row(self, record: ReplicationRecord, alerts: AlertSummary | None = None) -> np.ndarray:
        # A list filled by positions looked up once per layout, made an array at the end: per
        # value, formatting its column's name and writing a numpy element cost as much as the
        # detectors' counting.
        out = [0.0] * len(self.names)
        for a, present in record.present.items():
            out[self._present[a]] = float(present)
        total = Captures()
        for s, caps in record.servers.items():
            self._put(out, self._server[s], caps)
            key_time, key_heartbeats = self._key_capture[s]
            out[key_time], out[key_heartbeats] = caps.key_time, caps.key_heartbeats
            for i, hijacked in zip(self._checks[s], caps.session_hijack_by_checks):
                out[i] = hijacked
            total.add(caps)
        out[self.index["total/key"]] = sum(c.key for c in record.servers.values())
        for i, o in zip(self._total[1:], OUTCOMES[1:]):
            out[i] = getattr(total, o)
        for a, per_server in record.attackers.items():
            own = Captures()
            keys = 0
            for s, caps in per_server.items():
                self._put(out, self._attacker_server[a, s], caps)
                own.add(caps)
                keys += caps.key
            self._put(out, self._attacker[a], own)
            out[self.index[f"attacker/{a}/key"]] = keys
        if alerts is not None:
            for d, per_attacker in alerts.by_detector.items():
                for a, counts in per_attacker.items():
                    raised, retained = self._detector[d, a]
                    out[raised], out[retained] = counts.raised, counts.retained
        return np.array(out, dtype=float)

    @staticmethod
    def _put(out: list[float], positions: tuple[int, ...], caps: Captures) -> None:
        for i, o in zip(positions, OUTCOMES):
            out[i] = getattr(caps, o)
