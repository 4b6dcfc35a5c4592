"""The outcome chart as inline SVG: horizontal bars with 95% interval whiskers, no script and
no external reference, so ``report.html`` stays one self-contained file.

Coordinates are printed with one decimal, so the same chart gives the same bytes. The axis
ends at the smallest of 0.1%, 0.2%, 0.5%, 1%, ... 100% that holds every whisker: the bars of a
rare outcome stay visible, and the axis label says the scale.
"""

from __future__ import annotations

from sim.report import cells, escape
from sim.report.blocks import Bar, Chart

WIDTH = 680
KIND_RIGHT = 140
PLOT_LEFT = 148
PLOT_WIDTH = 380
VALUE_RIGHT = 672
TOP = 28
GROUP_HEADER = 20
BAR_ROW = 16
BAR_HEIGHT = 10
GROUP_GAP = 8
NAME_CHARS = 60
COLOURS = {"key": "#b2182b", "password": "#d6604d", "session": "#2166ac",
           "key taken": "#b2182b", "detected": "#1a9850", "key taken, unseen": "#67001f",
           "before the evidence": "#bdbdbd", "given the evidence": "#2166ac"}
SCALES = tuple(m * 10.0**e for e in range(-3, 0) for m in (1.0, 2.0, 5.0)) + (1.0,)


def render(chart: Chart) -> str:
    scale = axis_end(chart)
    height = TOP + sum(GROUP_HEADER + BAR_ROW * len(bars) + GROUP_GAP for _, bars in chart.groups)
    title = escape.html(chart.title)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{title}" '
        'font-family="sans-serif" font-size="11">',
        f"<title>{title}</title>",
        *_axis(scale, height),
    ]
    y = float(TOP)
    for server, bars in chart.groups:
        out += _group(server, bars, y, scale)
        y += GROUP_HEADER + BAR_ROW * len(bars) + GROUP_GAP
    out.append("</svg>")
    return "\n".join(out)


def axis_end(chart: Chart) -> float:
    highest = max((b.high for _, bars in chart.groups for b in bars if b.value is not None),
                  default=0.0)
    return next(s for s in SCALES if min(highest, 1.0) <= s)


def _axis(scale: float, height: int) -> list[str]:
    lines = []
    for fraction in (0.0, 0.5, 1.0):
        x = PLOT_LEFT + fraction * PLOT_WIDTH
        anchor = {0.0: "start", 0.5: "middle", 1.0: "end"}[fraction]
        lines += [
            f'<line x1="{x:.1f}" y1="{TOP - 6}" x2="{x:.1f}" y2="{height - GROUP_GAP}" '
            'stroke="#ddd"/>',
            f'<text x="{x:.1f}" y="{TOP - 10}" text-anchor="{anchor}">'
            f"{escape.html(cells.percent(fraction * scale))}</text>",
        ]
    return lines


def _group(server: str, bars: tuple[Bar, ...], top: float, scale: float) -> list[str]:
    shown = server if len(server) <= NAME_CHARS else server[: NAME_CHARS - 1] + "…"
    out = [
        "<g>",
        f"<title>{escape.html(server)}</title>",
        f'<text x="4" y="{top + 14:.1f}" font-weight="bold">{escape.html(shown)}</text>',
    ]
    for i, bar in enumerate(bars):
        out += _bar(bar, top + GROUP_HEADER + i * BAR_ROW, scale)
    out.append("</g>")
    return out


def _bar(bar: Bar, top: float, scale: float) -> list[str]:
    middle = top + BAR_ROW / 2
    text_y = middle + 4
    out = [f'<text x="{KIND_RIGHT}" y="{text_y:.1f}" text-anchor="end">'
           f"{escape.html(bar.label)}</text>"]
    if bar.value is None:
        out.append(f'<text x="{PLOT_LEFT}" y="{text_y:.1f}" fill="#666">'
                   f"{escape.html(bar.note)}</text>")
        return out

    def x(p: float) -> float:
        return PLOT_LEFT + PLOT_WIDTH * p / scale

    colour = COLOURS.get(bar.label, "#444")
    low, high = x(bar.low), x(bar.high)
    out += [
        f'<rect x="{PLOT_LEFT}" y="{middle - BAR_HEIGHT / 2:.1f}" '
        f'width="{x(bar.value) - PLOT_LEFT:.1f}" height="{BAR_HEIGHT}" fill="{colour}"/>',
        f'<path d="M{low:.1f} {middle - 4:.1f}V{middle + 4:.1f}M{low:.1f} {middle:.1f}'
        f'H{high:.1f}M{high:.1f} {middle - 4:.1f}V{middle + 4:.1f}" stroke="#000" fill="none"/>',
        f'<text x="{VALUE_RIGHT}" y="{text_y:.1f}" text-anchor="end">'
        f"{escape.html(cells.with_interval(bar.value, bar.low, bar.high, as_percent=True))}"
        "</text>",
    ]
    return out
