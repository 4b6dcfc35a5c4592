"""A finished sweep's files: ``sweep.csv``, ``sweep.json``, ``sweep.svg`` and ``sweep.png``.

Everything is rendered before anything is written, and nothing in them depends on timing, so
the same sweep (resumed or not, on any executor) writes byte-identical files.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from sim.atomic import write_bytes, write_text
from sim.report import sweep_figure

FILES = ("sweep.csv", "sweep.json", "sweep.svg", "sweep.png")


def csv_text(document: dict[str, Any]) -> str:
    """One row per point: the swept values, each outcome with ``_low``/``_high`` (prior, then
    ``evidence.`` given the evidence), ``claim.<name>`` verdicts, then ``diff.<outcome>``: the
    paired difference from the first point with its interval."""
    points = document["points"]
    outcome_names = list(points[0]["outcomes"])
    claim_names = list(points[0]["claims"])
    diff_names = list(points[0]["paired_difference"])
    header = list(document["fields"])
    for name in outcome_names:
        header += [name, f"{name}_low", f"{name}_high"]
    header += [f"claim.{c}" for c in claim_names]
    for name in diff_names:
        header += [f"diff.{name}", f"diff.{name}_low", f"diff.{name}_high"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for p in points:
        row: list[str] = [p["values"][f] for f in document["fields"]]
        for name in outcome_names:
            row += _estimate_cells(p["outcomes"][name])
        row += [p["claims"][c] for c in claim_names]
        for name in diff_names:
            row += _estimate_cells(p["paired_difference"][name])
        writer.writerow(row)
    return buffer.getvalue()


def write_outputs(document: dict[str, Any], out_dir: Path) -> list[Path]:
    rendered: dict[str, str | bytes] = {
        "sweep.csv": csv_text(document),
        "sweep.json": json.dumps(document, indent=2, sort_keys=False) + "\n",
    }
    rendered.update(sweep_figure.render(document))
    for name, body in rendered.items():
        if isinstance(body, bytes):
            write_bytes(out_dir / name, body)
        else:
            write_text(out_dir / name, body)
    return [out_dir / name for name in rendered]


def _estimate_cells(estimate: dict[str, Any]) -> list[str]:
    low, high = estimate["ci95"]
    return [_number(estimate["value"]), _number(low), _number(high)]


def _number(value: float | None) -> str:
    return "" if value is None else repr(float(value))
