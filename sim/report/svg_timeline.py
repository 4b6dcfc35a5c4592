"""The timeline figure as inline SVG: one lane per server, attacker and detector over the
scenario's span, with the disclosure and analysis instants drawn across every lane, and a
second panel zoomed into the days around the disclosure where those are a sliver of the whole.

Restarts are drawn as ticks where they are at least ``TICK_GAP`` pixels apart and as a light
band (their density) where they are not. Coordinates have one decimal, so the same figure
gives the same bytes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sim.report import escape
from sim.report.blocks import Lane, Timeline

WIDTH = 680
LABEL_RIGHT = 150
PLOT_LEFT = 158
PLOT_RIGHT = 668
AXIS = 42
LABEL_ROOM = 60.0
EDGE = 40.0
LANE = 16
GROUP_HEAD = 16
PANEL_GAP = 18
TICK_GAP = 6.0
NAME_CHARS = 24
FILL = {"vulnerable": "#d6604d", "possible": "#fdd49e", "start": "#e08214",
        "benign": "#d9d9d9", "deployed": "#c6dbef", "kept": "#2166ac"}
HEIGHT = {"vulnerable": 10.0, "possible": 10.0, "start": 4.0, "benign": 10.0,
          "deployed": 10.0, "kept": 10.0}
STEPS = (3600.0, 6 * 3600.0, 12 * 3600.0, 86400.0, 2 * 86400.0, 7 * 86400.0, 14 * 86400.0,
         30 * 86400.0, 91 * 86400.0, 365 * 86400.0)
MAX_TICKS = 7


def render(figure: Timeline) -> str:
    origin = datetime.fromisoformat(figure.start_iso)
    origin = origin.astimezone(UTC) if origin.tzinfo else origin.replace(tzinfo=UTC)
    panels = [(0.0, figure.end)] + ([figure.zoom] if figure.zoom else [])
    groups = list(dict.fromkeys(lane.group for lane in figure.lanes))
    panel_height = AXIS + len(figure.lanes) * LANE + len(groups) * GROUP_HEAD
    height = len(panels) * panel_height + (len(panels) - 1) * PANEL_GAP + 4
    title = escape.html(figure.title)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{title}" '
        'font-family="sans-serif" font-size="11">',
        f"<title>{title}</title>",
    ]
    top = 0.0
    for i, (low, high) in enumerate(panels):
        out += _panel(figure, origin, low, high, top, panel_height, zoomed=i > 0)
        top += panel_height + PANEL_GAP
    out.append("</svg>")
    return "\n".join(out)


def _panel(figure: Timeline, origin: datetime, low: float, high: float, top: float,
           height: float, zoomed: bool) -> list[str]:
    span = max(high - low, 1.0)

    def x(t: float) -> float:
        return PLOT_LEFT + (PLOT_RIGHT - PLOT_LEFT) * (min(max(t, low), high) - low) / span

    bottom = top + height
    out = ["<g>", f'<text x="4" y="{top + 12:.1f}" font-weight="bold">'
           f'{"zoom: around the disclosure" if zoomed else "whole run"}</text>']
    out += _axis(origin, low, high, top, bottom, x)
    y = top + AXIS
    group = None
    for lane in figure.lanes:
        if lane.group != group:
            group = lane.group
            out.append(f'<text x="4" y="{y + 12:.1f}" fill="#555">'
                       f"{escape.html(group)}</text>")
            y += GROUP_HEAD
        out += _lane(lane, y, low, high, x)
        y += LANE
    shown = [(at, label) for at, label in figure.instants if low <= at <= high]
    for i, (at, label) in enumerate(shown):
        # Labels sit left of their line; one too close to the previous goes a line lower.
        crowded = i > 0 and x(at) - x(shown[i - 1][0]) < LABEL_ROOM
        y_text = top + AXIS - (4 if crowded else 14)
        out += [f'<line x1="{x(at):.1f}" y1="{y_text - 8:.1f}" x2="{x(at):.1f}" '
                f'y2="{bottom:.1f}" stroke="#000" stroke-dasharray="3 2"/>',
                f'<text x="{x(at) - 2:.1f}" y="{y_text:.1f}" text-anchor="end" '
                f'font-style="italic" fill="#000">{escape.html(label)}</text>']
    out.append("</g>")
    return out


def _axis(origin: datetime, low: float, high: float, top: float, bottom: float,
          x: Callable[[float], float]) -> list[str]:
    span = high - low
    step = next((s for s in STEPS if span / s <= MAX_TICKS), STEPS[-1])
    epoch = origin.timestamp()
    first = math.ceil((epoch + low) / step) * step - epoch
    fmt = "%d %b" if step >= 86400.0 else "%d %b %H:%M"
    if step >= 30 * 86400.0:
        fmt = "%b %Y"
    out = []
    t = first
    while t <= high:
        label = (origin + timedelta(seconds=t)).strftime(fmt)
        # A label near an end of the plot is anchored inward, so it is not cut off.
        anchor = ("end" if x(t) > PLOT_RIGHT - EDGE else
                  "start" if x(t) < PLOT_LEFT + EDGE else "middle")
        out += [f'<line x1="{x(t):.1f}" y1="{top + 16:.1f}" x2="{x(t):.1f}" y2="{bottom:.1f}" '
                'stroke="#e5e5e5"/>',
                f'<text x="{x(t):.1f}" y="{top + 14:.1f}" text-anchor="{anchor}" fill="#444">'
                f"{escape.html(label)}</text>"]
        t += step
    return out


def _lane(lane: Lane, y: float, low: float, high: float, x: Callable[[float], float]
          ) -> list[str]:
    middle = y + LANE / 2
    shown = lane.label if len(lane.label) <= NAME_CHARS else lane.label[: NAME_CHARS - 1] + "…"
    tip = lane.label + (f": {lane.note}" if lane.note else "")
    out = ["<g>", f"<title>{escape.html(tip)}</title>",
           f'<text x="{LABEL_RIGHT}" y="{middle + 4:.1f}" text-anchor="end">'
           f"{escape.html(shown)}</text>"]
    for span in lane.spans:
        if span.end < low or span.start > high:
            continue
        h = HEIGHT.get(span.style, 10.0)
        width = max(x(span.end) - x(span.start), 1.0)
        out.append(f'<rect x="{x(span.start):.1f}" y="{middle - h / 2:.1f}" width="{width:.1f}" '
                   f'height="{h:.1f}" fill="{FILL.get(span.style, "#999")}"/>')
    if lane.periodic:
        out += _restarts(lane.periodic, y, low, high, x)
    for mark in lane.marks:
        if low <= mark.at <= high:
            out.append(f'<path d="M{x(mark.at):.1f} {y + 1:.1f}V{y + LANE - 1:.1f}" '
                       f'stroke="#000" stroke-width="2"><title>{escape.html(mark.label)}'
                       "</title></path>")
    out.append("</g>")
    return out


def _restarts(every: float, y: float, low: float, high: float, x: Callable[[float], float]
              ) -> list[str]:
    gap = (PLOT_RIGHT - PLOT_LEFT) * every / max(high - low, 1.0)
    if gap < TICK_GAP:
        return [f'<rect x="{PLOT_LEFT}" y="{y + LANE - 4:.1f}" width="{PLOT_RIGHT - PLOT_LEFT}" '
                'height="3" fill="#777" fill-opacity="0.5"><title>restarts (too dense to draw '
                "one by one)</title></rect>"]
    out = []
    k = math.ceil(low / every)
    while k * every <= high:
        out.append(f'<path d="M{x(k * every):.1f} {y + LANE - 5:.1f}V{y + LANE - 1:.1f}" '
                   'stroke="#555"/>')
        k += 1
    return out
