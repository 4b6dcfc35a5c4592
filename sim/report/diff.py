"""``bleedsim diff``: what changed between two runs, read from their results.json alone.

Every estimate with a 95% interval in both documents is compared: the value in A, in B, the
difference B - A and a 95% interval for it. The interval is MOVER (Zou and Donner 2008,
"Construction of confidence limits about effect measures", *Statistics in Medicine* 27(10),
1693-1702): from each run's own interval ``[l, u]`` around ``x``,

    low  = d - sqrt((b - l_b)^2 + (u_a - a)^2)
    high = d + sqrt((u_b - b)^2 + (a - l_a)^2)

which for Wilson intervals is Newcombe's hybrid score interval (1998, method 10) and for
normal intervals the usual one, so it respects the skew near 0 and 1 that a plain normal
difference would ignore. It assumes the two runs are independent; two runs with the same seed
share their random numbers (``docs/evidence.md``), which makes the interval conservative.
A difference whose interval excludes 0 is marked ``*``. Claims whose verdict differs are listed
first: that is what changes a disclosure statement.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

SKIP = ("timing",)
"""Top-level parts that are not estimates of the model (run time)."""
SETTINGS = ("scenario", "scenario_sha256", "replications", "seed", "engine", "version")


class NotResults(ValueError):
    """A document that is not a bleedsim results.json."""


@dataclass(frozen=True, slots=True)
class Estimate:
    value: float
    low: float
    high: float | None


@dataclass(frozen=True, slots=True)
class Row:
    path: str
    a: Estimate
    b: Estimate
    low: float | None
    high: float | None

    @property
    def difference(self) -> float:
        return self.b.value - self.a.value

    @property
    def changed(self) -> bool:
        """The 95% interval of the difference excludes 0."""
        return self.low is not None and self.high is not None and (self.low > 0 or self.high < 0)

    @property
    def count(self) -> bool:
        """A mean count rather than a probability (shown as a number, not in percent)."""
        return self.path.rsplit(".", 1)[-1] == "mean"


@dataclass(frozen=True, slots=True)
class Diff:
    a_name: str
    b_name: str
    settings: list[tuple[str, Any, Any]]
    flipped: list[tuple[str, str, str]]
    rows: list[Row]
    compared: int
    """Estimates in both runs (``rows`` may show only the changed ones)."""
    only_a: list[str]
    only_b: list[str]


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _interval(value: Any) -> tuple[float, float | None] | None:
    if (isinstance(value, list) and len(value) == 2 and _number(value[0])
            and (value[1] is None or _number(value[1]))):
        return float(value[0]), (None if value[1] is None else float(value[1]))
    return None


def estimates(document: Any, path: str = "") -> dict[str, Estimate]:
    """Every ``x`` with a sibling ``x_ci95``, and every ``{p|value, ci95}``, by dotted path."""
    found: dict[str, Estimate] = {}
    if not isinstance(document, dict):
        return found
    for key, value in document.items():
        here = f"{path}.{key}" if path else str(key)
        if not path and key in SKIP:
            continue
        ci = _interval(document.get(f"{key}_ci95"))
        if _number(value) and ci is not None:
            found[here] = Estimate(float(value), *ci)
        elif isinstance(value, dict):
            ci = _interval(value.get("ci95"))
            for name in ("p", "value"):
                if ci is not None and _number(value.get(name)):
                    found[here] = Estimate(float(value[name]), *ci)
            found.update(estimates(value, here))
    return found


def mover(a: Estimate, b: Estimate) -> tuple[float | None, float | None]:
    """95% interval of ``b - a`` from the two runs' own intervals (Zou and Donner 2008)."""
    d = b.value - a.value
    low = None if a.high is None else d - math.hypot(b.value - b.low, a.high - a.value)
    high = None if b.high is None else d + math.hypot(b.high - b.value, a.value - a.low)
    return low, high


def _verdicts(document: dict[str, Any]) -> dict[str, str]:
    claims = document.get("claims")
    if not isinstance(claims, dict):
        return {}
    return {name: str(c["verdict"]) for name, c in claims.items()
            if isinstance(c, dict) and isinstance(c.get("verdict"), str)}


ORDER = ("claims", "outcomes", "evidence", "servers", "detectors", "attackers")
"""Headline estimates first: what a statement says, then totals, then the details."""


def _rank(path: str) -> int:
    """Sort key: the place of the path's top-level part in ``ORDER`` (a stable sort keeps
    the document's order within a part)."""
    top = path.split(".", 1)[0]
    return ORDER.index(top) if top in ORDER else len(ORDER)


def compare(a: Any, b: Any, a_name: str, b_name: str, changed_only: bool = False) -> Diff:
    """``changed_only`` keeps the rows whose difference is beyond its interval (the summary
    still counts every estimate)."""
    for doc, name in ((a, a_name), (b, b_name)):
        if not isinstance(doc, dict) or not all(k in doc for k in ("scenario", "outcomes")):
            raise NotResults(f"{name} is not a bleedsim results.json: no scenario and outcomes")
    ea, eb = estimates(a), estimates(b)
    rows = [Row(p, ea[p], eb[p], *mover(ea[p], eb[p])) for p in sorted(ea, key=_rank) if p in eb]
    va, vb = _verdicts(a), _verdicts(b)
    flipped = [(c, va[c], vb[c]) for c in va if c in vb and va[c] != vb[c]]
    settings = [(k, a.get(k), b.get(k)) for k in SETTINGS if a.get(k) != b.get(k)]
    total = len(rows)
    if changed_only:
        rows = [r for r in rows if r.changed]
    return Diff(a_name, b_name, settings, flipped, rows, total,
                [p for p in ea if p not in eb], [p for p in eb if p not in ea])


def _value(x: float | None, count: bool, signed: bool = False) -> str:
    if x is None:
        return "?"
    sign = "+" if signed else ""
    if count:
        return f"{x:{sign}.4g}"
    return f"{100 * x:{sign}.3g}%" if not signed else f"{100 * x:+.3g} pp"


def _cells(row: Row) -> list[str]:
    c = row.count
    return [row.path, _value(row.a.value, c), _value(row.b.value, c),
            _value(row.difference, c, signed=True),
            f"[{_value(row.low, c, True)}, {_value(row.high, c, True)}]",
            "*" if row.changed else ""]


HEADER = ["estimate", "A", "B", "B - A", "95% interval", ""]


def _summary(d: Diff) -> list[str]:
    changed = sum(r.changed for r in d.rows)
    lines = [f"A: {d.a_name}", f"B: {d.b_name}"]
    lines += [f"{k}: {va} (A) -> {vb} (B)" for k, va, vb in d.settings]
    if d.flipped:
        lines += ["verdicts that flipped:"]
        lines += [f"  {c}: {x} -> {y}" for c, x, y in d.flipped]
    else:
        lines += ["verdicts that flipped: none"]
    lines.append(f"{changed} of {d.compared} estimates differ beyond their 95% interval (*)")
    if d.only_a or d.only_b:
        lines.append(f"{len(d.only_a)} estimates only in A, {len(d.only_b)} only in B "
                     "(servers, attackers or claims not in both)")
    return lines


def render_text(d: Diff) -> str:
    if not d.rows:
        return "\n".join(_summary(d)) + "\n"
    table = [HEADER] + [_cells(r) for r in d.rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(HEADER))]
    body = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                      for i, (cell, w) in enumerate(zip(row, widths))).rstrip() for row in table]
    foot = ("Probabilities in percent, differences in percentage points (pp); intervals by "
            "MOVER from each run's own 95% interval.")
    return "\n".join(_summary(d) + [""] + body + ["", foot]) + "\n"


def _code(text: str) -> str:
    """``text`` as a Markdown code span: shown literally, whatever it holds."""
    flat = " ".join(text.split())
    fence = "`" * (max((len(run) for run in re.findall(r"`+", flat)), default=0) + 1)
    return f"{fence} {flat} {fence}" if flat.startswith("`") or flat.endswith("`") else \
        f"{fence}{flat}{fence}"


def render_markdown(d: Diff) -> str:
    changed = sum(r.changed for r in d.rows)
    lines = ["# bleedsim diff", "", f"- A: {_code(d.a_name)}", f"- B: {_code(d.b_name)}"]
    lines += [f"- {k}: {_code(str(va))} (A) -> {_code(str(vb))} (B)" for k, va, vb in d.settings]
    lines += [f"- verdict of claim {_code(c)}: {x} -> {y}" for c, x, y in d.flipped] or \
        ["- verdicts that flipped: none"]
    lines.append(f"- {changed} of {d.compared} estimates differ beyond their 95% interval")
    if d.only_a or d.only_b:
        lines.append(f"- {len(d.only_a)} estimates only in A, {len(d.only_b)} only in B")
    if not d.rows:
        return "\n".join(lines) + "\n"
    lines += ["", "| " + " | ".join(HEADER[:-1] + ["changed"]) + " |",
              "|" + "---|" + "---:|" * (len(HEADER) - 1)]
    for r in d.rows:
        cells = _cells(r)
        cells[0] = _code(cells[0])
        cells[-1] = "yes" if r.changed else ""
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Probabilities in percent, differences in percentage points (pp); 95% "
              "intervals of the difference by MOVER (Zou and Donner 2008) from each run's own "
              "interval."]
    return "\n".join(lines) + "\n"
