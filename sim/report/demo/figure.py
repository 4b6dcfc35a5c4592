"""The demo's figure: the traced attack of one replication, one lane per worker.

Per worker: when the private key is within a heartbeat's reach (a pale red bar, one per
lifetime between restarts), the heartbeats it received (grey ticks), what they brought back
(a red mark for a key piece, orange for a password, blue for a session token; one mark per
kind and pixel column), the passwords that were taken drawn from their login to their capture
(orange bars), and restarts (black ticks). A last lane shows what the logs record one by one:
session replays refused and logged (blue), hijacks (red), crashes (black). Coordinates are
printed with one decimal, so the same replication gives the same bytes.
"""

from __future__ import annotations

from collections import defaultdict

from sim.report import escape
from sim.report.demo.replication import Episode, Traced
from sim.report.demo.story import Clock

WIDTH = 900
LEFT = 110
RIGHT = 890
TOP = 40
LANE = 13
COLUMN = 2.0
"""Pixels per bin for ticks and marks."""
FEWEST, MOST = 100, 1500
"""Heartbeats in view: at least, at most."""


def busiest(traced: Traced) -> Episode | None:
    """The episode with the most malicious heartbeats (the one worth drawing)."""
    sc = traced.scenario
    best, most = None, -1
    for ep in traced.episodes:
        n = sum(1 for h in traced.heard.heartbeats
                if ep.start <= h.t <= ep.end and not sc.attackers[h.attacker].benign)
        if n > most:
            best, most = ep, n
    return best


def render(traced: Traced) -> str:
    ep = busiest(traced)
    clock = Clock(traced.scenario.timeline.start_iso)
    if ep is None:
        return _frame(80, ['<text x="10" y="50">No attacker sends in this replication.</text>'],
                      "nothing to draw")
    t0, t1 = _zoom(traced, ep)
    span = max(t1 - t0, 1e-9)
    t0 -= 0.03 * span
    span = t1 - t0

    def x(t: float) -> float:
        return LEFT + (RIGHT - LEFT) * (min(max(t, t0), t1) - t0) / span

    def column(t: float) -> int:
        return int((x(t) - LEFT) / COLUMN)

    sc = traced.scenario
    lanes = [(s, w) for s in ep.servers for w in range(sc.servers[s].total_workers)]
    row = {lane: i for i, lane in enumerate(lanes)}
    height = TOP + LANE * (len(lanes) + 2) + 40
    out: list[str] = []
    for i, (s, w) in enumerate(lanes):
        y = TOP + i * LANE
        if i % 2 == 0:
            out.append(f'<rect x="{LEFT}" y="{y}" width="{RIGHT - LEFT}" height="{LANE}" '
                       'fill="#f7f7f7"/>')
        out.append(f'<text x="{LEFT - 4}" y="{y + 10}" text-anchor="end" font-size="9">'
                   f"{escape.html(s)} {w}</text>")
    # key within reach, per lifetime
    lives: dict[tuple[str, int], list[tuple[float, bool]]] = defaultdict(list)
    for t, s, w, _, reachable in traced.heard.restarts:
        if (s, w) in row and t <= t1:
            lives[s, w].append((t, reachable))
    for lane, starts in lives.items():
        starts.sort()
        y = TOP + row[lane] * LANE
        for k, (t, reachable) in enumerate(starts):
            end = starts[k + 1][0] if k + 1 < len(starts) else t1
            if reachable and end > t0:
                out.append(f'<rect x="{x(t):.1f}" y="{y + 2}" width="{x(end) - x(t):.1f}" '
                           f'height="{LANE - 4}" fill="#f4c7c3"/>')
            if t > t0:
                out.append(f'<path d="M{x(t):.1f} {y}V{y + LANE}" stroke="#000"/>')
    ticks: set[tuple[int, int]] = set()
    marks: dict[tuple[int, int], set[str]] = defaultdict(set)
    taken_passwords = []
    for h in traced.heard.heartbeats:
        if not t0 <= h.t <= t1 or (h.server, h.worker) not in row:
            continue
        r, c = row[h.server, h.worker], column(h.t)
        ticks.add((r, c))
        seen = h.window
        if seen is None or sc.attackers[h.attacker].benign:
            continue
        if seen.key_taken:
            marks[r, c].add("key")
        if seen.passwords_taken:
            marks[r, c].add("password")
            taken_passwords += [(h.server, login, h.t, h.worker)
                                for login in seen.passwords_taken]
        if seen.tokens_taken:
            marks[r, c].add("token")
    episode = traced.episodes.index(ep)
    for s, login, t, worker in taken_passwords:
        made = traced.heard.logins.get((episode, s, login))
        if made is not None:
            y = TOP + row[s, worker] * LANE
            out.append(f'<rect x="{x(made[0]):.1f}" y="{y + 4}" '
                       f'width="{max(x(t) - x(made[0]), 1.0):.1f}" height="5" fill="#e08214"/>')
    for r, c, n in _runs(ticks):
        out.append(f'<rect x="{LEFT + c * COLUMN:.1f}" y="{TOP + r * LANE + 10}" '
                   f'width="{n * COLUMN - 0.5:.1f}" height="2" fill="#999"/>')
    colours = {"key": ("#b2182b", 0), "password": ("#e08214", 4), "token": ("#2166ac", 7)}
    for kind, (colour, dy) in colours.items():
        cells = {rc for rc, kinds in marks.items() if kind in kinds}
        for r, c, n in _runs(cells):
            out.append(f'<rect x="{LEFT + c * COLUMN:.1f}" y="{TOP + r * LANE + dy}" '
                       f'width="{n * COLUMN:.1f}" height="3" fill="{colour}"/>')
    logs_y = TOP + len(lanes) * LANE + LANE // 2
    out.append(f'<text x="{LEFT - 4}" y="{logs_y + 10}" text-anchor="end" font-size="9">'
               "logs</text>")
    for t, attacker, _, _, hijacked, _ in traced.heard.reuses:
        if t0 <= t <= t1 and not sc.attackers[attacker].benign:
            colour = "#b2182b" if hijacked else "#2166ac"
            out.append(f'<path d="M{x(t):.1f} {logs_y}V{logs_y + LANE}" stroke="{colour}"/>')
    for t, *_ in traced.heard.crashes:
        if t0 <= t <= t1:
            out.append(f'<path d="M{x(t):.1f} {logs_y - 2}V{logs_y + LANE + 2}" stroke="#000" '
                       'stroke-width="2"/>')
    for a, window in ep.traced.items():
        out.append(f'<path d="M{x(window.t0):.1f} {TOP - 4}V{logs_y + LANE}" stroke="#000" '
                   'stroke-dasharray="3 2"/>')
        out.append(f'<text x="{x(window.t0) + 2:.1f}" y="{TOP - 6}" font-size="10">'
                   f"{escape.html(a)} starts</text>")
    axis_y = logs_y + LANE + 14
    for k in range(5):
        t = t0 + span * k / 4
        anchor = "start" if k == 0 else "end" if k == 4 else "middle"
        out.append(f'<text x="{x(t):.1f}" y="{axis_y}" text-anchor="{anchor}" font-size="10">'
                   f"{escape.html(clock.exact(t))}</text>")
    out.append(f'<text x="{LEFT}" y="{axis_y + 16}" font-size="10" fill="#444">'
               "pale red: key within reach; grey: heartbeats; red, orange, blue: a key piece, a "
               "password, a session token taken; orange bar: a password from login to capture; "
               "black: restarts</text>")
    title = "the first seconds of the attack in one replication: workers as lanes"
    return _frame(height + 10, out, title)


def _zoom(traced: Traced, ep: Episode) -> tuple[float, float]:
    """From the first malicious heartbeat to just after the first password taken (else the
    first key piece, else the first session token), with at least ``FEWEST`` and at most
    ``MOST`` heartbeats in view, so that single heartbeats stay visible."""
    sc = traced.scenario
    beats = [h for h in traced.heard.heartbeats
             if ep.start <= h.t <= ep.end and not sc.attackers[h.attacker].benign]
    if not beats:
        return ep.start, ep.end
    t0 = beats[0].t
    wanted = None
    for test in (lambda w: bool(w.passwords_taken), lambda w: w.key_taken,
                 lambda w: bool(w.tokens_taken)):
        wanted = next((h.t for h in beats if h.window is not None and test(h.window)), None)
        if wanted is not None:
            break
    t1 = beats[-1].t if wanted is None else wanted + 0.1 * (wanted - t0)
    t1 = max(t1, beats[min(FEWEST, len(beats) - 1)].t)
    t1 = min(t1, beats[min(MOST, len(beats) - 1)].t)
    return t0, max(t1, t0 + 1e-3)


def _runs(cells: set[tuple[int, int]]) -> list[tuple[int, int, int]]:
    """Marked (row, column) cells as runs ``(row, first column, length)``: one rectangle per
    run keeps a busy lane's drawing small."""
    out: list[tuple[int, int, int]] = []
    for r, c in sorted(cells):
        if out and out[-1][0] == r and out[-1][1] + out[-1][2] == c:
            out[-1] = (r, out[-1][1], out[-1][2] + 1)
        else:
            out.append((r, c, 1))
    return out


def _frame(height: int, body: list[str], title: str) -> str:
    return "\n".join([
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape.html(title)}" '
        'font-family="sans-serif" font-size="11">',
        f"<title>{escape.html(title)}</title>",
        '<rect width="100%" height="100%" fill="#fff"/>',
        *body,
        "</svg>",
    ]) + "\n"
