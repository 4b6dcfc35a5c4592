"""The sweep figure: each outcome against the first swept field, with 95% interval bands.

One panel per outcome; one line per combination of the other swept fields; solid lines are
the prior estimates and dashed lines the estimates given the evidence (when the scenario states
evidence). Field values are placed by their magnitude (durations in seconds, rates per second),
on a log axis when they span more than a factor of 20, and labelled as they were written.
"""

from __future__ import annotations

import math
from typing import Any

from sim.report.matplotlib_files import new_figure, svg_and_png
from sim.scenario.values import parse_duration, parse_rate

TITLES = {
    "key.p_any": "P(a private key captured)",
    "password.mean": "expected passwords captured",
    "session_hijack.p_any": "P(a session hijacked)",
}
PRIOR_OUTCOMES = tuple(TITLES)


def magnitude(text: str) -> float | None:
    """A field value's size for placing it on an axis, or None when it has none."""
    for parse in (float, parse_duration, parse_rate):
        try:
            return float(parse(text))
        except (ValueError, TypeError):
            continue
    return None


def render(document: dict[str, Any]) -> dict[str, str | bytes]:
    points = document["points"]
    first = document["fields"][0]
    others = [f for f in document["fields"][1:]  # a field swept at one value is a constant
              if len({p["values"][f] for p in points}) > 1]
    texts = list(dict.fromkeys(p["values"][first] for p in points))
    sizes = [magnitude(t) for t in texts]
    numeric = all(s is not None for s in sizes)
    position = {t: (s if numeric and s is not None else float(i)) for i, (t, s) in
                enumerate(zip(texts, sizes))}
    groups: dict[str, list[dict[str, Any]]] = {}
    for p in points:
        key = ", ".join(f"{f}={p['values'][f]}" for f in others)
        groups.setdefault(key, []).append(p)
    evidence = any(f"evidence.{o}" in points[0]["outcomes"] for o in PRIOR_OUTCOMES)

    figure = new_figure(6.4, 2.6 * len(PRIOR_OUTCOMES))
    axes = figure.subplots(len(PRIOR_OUTCOMES), 1, sharex=True)
    for ax, outcome in zip(axes, PRIOR_OUTCOMES):
        for g, (label, members) in enumerate(groups.items()):
            colour = f"C{g % 10}"
            xs = [position[m["values"][first]] for m in members]
            variants = [(outcome, "-", "prior")]
            if evidence:
                variants.append((f"evidence.{outcome}", "--", "given the evidence"))
            for name, style, kind in variants:
                estimates = [m["outcomes"][name] for m in members]
                ys = [_value(e["value"]) for e in estimates]
                lows = [_value(e["ci95"][0]) for e in estimates]
                highs = [_value(e["ci95"][1]) for e in estimates]
                legend = ", ".join(x for x in (label, kind if evidence else "") if x) or None
                ax.plot(xs, ys, style, color=colour, marker="o", markersize=3, label=legend)
                ax.fill_between(xs, lows, highs, color=colour, alpha=0.15 if style == "-" else 0.08,
                                linewidth=0)
        ax.set_ylabel(TITLES[outcome], fontsize=8)
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
    if axes[0].get_legend_handles_labels()[1]:
        axes[0].legend(fontsize=7, loc="best")
    bottom = axes[-1]
    if numeric and _spread(list(position.values())) > 20:
        bottom.set_xscale("log")
    bottom.set_xticks([position[t] for t in texts], texts)
    bottom.minorticks_off()
    bottom.set_xlabel(first)
    constants = [f"{f}={points[0]['values'][f]}" for f in document["fields"][1:]
                 if f not in others]
    figure.suptitle(
        f"{document['scenario']}: {document['replications']} replications per point, "
        "common random numbers, 95% bands" + "".join(f"\n{c}" for c in constants), fontsize=9,
    )
    figure.tight_layout()
    svg, png = svg_and_png(figure)
    return {"sweep.svg": svg, "sweep.png": png}


def _value(v: float | None) -> float:
    return math.nan if v is None else float(v)


def _spread(xs: list[float]) -> float:
    positive = [x for x in xs if x > 0]
    if len(positive) < len(xs) or not positive:
        return 1.0
    return max(positive) / min(positive)
