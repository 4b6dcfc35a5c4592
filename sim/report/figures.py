"""The report's figures, each with a caption that says what to see: the scenario's timeline,
outcomes per server, what the logs would have seen per attacker, and the evidence (before
against given it). Built from results.json alone; a figure whose numbers an older document
lacks is left out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sim.report import cells, source
from sim.report.blocks import (
    Bar,
    Block,
    Chart,
    Figure,
    Inline,
    Lane,
    Mark,
    Paragraph,
    Safe,
    Section,
    Span,
    Timeline,
)
from sim.report.columns import (
    CHARTED,
    HOLDER,
    OUTCOME_COLUMNS,
    OUTCOME_NAMES,
    held_anywhere,
    holds,
    malicious,
)
from sim.report.source import Node

DAY = 86400.0
ZOOM_BEFORE = DAY
"""The zoomed panel starts this long before the disclosure."""
ZOOM_WHEN = 0.25
"""Zoom when the stretch from a day before disclosure to the analysis is under this share."""


def section(doc: Node) -> Section:
    blocks: list[Block] = []
    if source.has(doc, "timeline"):
        blocks.append(timeline_figure(doc))
    blocks.append(Figure(
        Safe("Outcomes per server: how likely each secret was taken, with 95% intervals. "
             "Longer bars are worse; whiskers show the uncertainty."),
        outcome_chart(doc), ((Safe("The numbers are in the Outcomes table."),),)))
    if malicious(doc):
        blocks.append(Figure(
            Safe("What the logs would have seen, per attacker where it exists: a key taken "
                 "(top bar) against detected (middle); the bottom bar, key taken and unseen, "
                 "is the blind spot that clean logs cannot rule out."),
            detection_chart(doc), ((Safe("The numbers are in the Attackers table."),),)))
    evidence = source.node(doc, "evidence")
    if source.has(evidence, "posterior", "outcomes"):
        blocks.append(Figure(
            Safe("The evidence: each outcome before the evidence (grey) and given what the "
                 "logs show (coloured). Where the bars differ, the logs carry the answer."),
            evidence_chart(doc), ((Safe("The numbers are in the Evidence table."),),)))
    if not blocks:
        blocks.append(Paragraph((Safe("No figures."),)))
    return Section(Safe("Figures"), tuple(blocks))


def _bar(label: Safe, est: Node, field: str, ci_field: str) -> Bar:
    value = source.optional_number(est, field)
    if value is None:
        return Bar(label, None, 0.0, 0.0, cells.UNDEFINED)
    low, high = source.interval(est, ci_field)
    return Bar(label, value, low, 1.0 if high is None else high)


def outcome_chart(doc: Node) -> Chart:
    servers = source.node(doc, "servers")
    held = holds(doc)
    groups = []
    for s in servers:
        bars = []
        for label, o in CHARTED:
            if HOLDER[o] not in held[s]:
                bars.append(Bar(label, None, 0.0, 0.0, Safe("not held")))
            else:
                bars.append(_bar(label, source.node(servers, s, "outcomes", o), "p_any",
                                 "p_any_ci95"))
        groups.append((s, tuple(bars)))
    return Chart(Safe("P(key), P(password) and P(session) per server, with 95% intervals"),
                 tuple(groups))


def detection_chart(doc: Node) -> Chart:
    attackers = source.node(doc, "attackers")
    groups = []
    for a in malicious(doc):
        gp = source.node(attackers, a, "given_present")
        bars = [_bar(Safe("key taken"), source.node(gp, "outcomes", "key"), "p_any",
                     "p_any_ci95"),
                _bar(Safe("detected"), gp, "detected", "detected_ci95")]
        if source.has(gp, "blind_spot", "key"):
            bars.append(_bar(Safe("key taken, unseen"), source.node(gp, "blind_spot", "key"),
                             "p", "ci95"))
        groups.append((a, tuple(bars)))
    return Chart(Safe("Per attacker, given present: P(key), P(detected), P(key & unseen)"),
                 tuple(groups))


def evidence_chart(doc: Node) -> Chart:
    held = held_anywhere(doc)
    groups = []
    for _, o, field in OUTCOME_COLUMNS:
        if field != "p_any" or HOLDER[o] not in held:
            continue
        before = source.node(doc, "outcomes", o)
        after = source.node(doc, "evidence", "posterior", "outcomes", o)
        groups.append((OUTCOME_NAMES[o], (
            _bar(Safe("before the evidence"), before, "p_any", "p_any_ci95"),
            _bar(Safe("given the evidence"), after, "p_any", "p_any_ci95"))))
    return Chart(Safe("Each outcome before and given the evidence, with 95% intervals"),
                 tuple(groups))


def timeline_figure(doc: Node) -> Figure:
    t = source.node(doc, "timeline")
    start_iso = source.text(t, "start")
    origin = _origin(t, start_iso)
    end = source.number(t, "analysis_at")
    disclosed = source.number(t, "disclosed_at")
    lanes: list[Lane] = []
    lines: list[Inline] = []

    def at(seconds: float) -> str:
        return (origin + timedelta(seconds=seconds)).strftime("%d %b %Y %H:%M UTC")

    servers = source.node(t, "servers")
    for s in servers:
        sv = source.node(servers, s)
        lane, line = _server_lane(s, sv, end, at)
        lanes.append(lane)
        lines.append(line)
    attackers = source.node(t, "attackers")
    for a in attackers:
        at_ = source.node(attackers, a)
        low, high = source.number(at_, "start_low"), source.number(at_, "start_high")
        duration = source.optional_number(at_, "duration")
        stop = end if duration is None else min(end, high + duration)
        benign = source.has(doc, "attackers", a, "benign") and source.boolean(
            doc, "attackers", a, "benign")
        note = Safe("benign checker" if benign else "may be active")
        lanes.append(Lane(a, Safe("attackers"), (
            Span(low, stop, Safe("benign" if benign else "possible")),
            Span(low, high, Safe("start"))), note=note))
        lines.append((a, Safe(f": starts between {at(low)} and {at(high)}, "
                              f"{'until the analysis' if duration is None else 'for ' + cells.duration(duration)}"
                              f"{' (benign)' if benign else ''}")))
    detectors = source.node(t, "detectors")
    for d in detectors:
        det = source.node(detectors, d)
        deployed = source.optional_number(det, "deployed_at")
        retention = source.optional_number(det, "retention")
        since = 0.0 if deployed is None else max(0.0, deployed)
        kept_from = 0.0 if retention is None else max(0.0, end - retention)
        lanes.append(Lane(d, Safe("detectors"), (
            Span(since, end, Safe("deployed")), Span(max(since, kept_from), end, Safe("kept")))))
        lines.append((d, Safe(
            f": {'watching from the start' if deployed is None or deployed <= 0 else 'deployed ' + at(deployed)}"
            f", {'records kept for the whole run' if retention is None else 'records kept ' + cells.duration(retention)}")))
    zoom = None
    if disclosed - ZOOM_BEFORE > 0 and (end - (disclosed - ZOOM_BEFORE)) < ZOOM_WHEN * end:
        zoom = (disclosed - ZOOM_BEFORE, end)
    figure = Timeline(
        Safe("Timeline: vulnerable windows, restarts, attacker windows and logs"), start_iso,
        end, ((disclosed, Safe("disclosed")), (end, Safe("analysis"))), tuple(lanes), zoom)
    return Figure(
        Safe("When things happened: red, a server can be read; orange, an attacker may be "
             "active (dark: when it may start); blue, a detector watches (dark: records still "
             "kept at the analysis). The lower panel zooms into the days around the "
             "disclosure." if zoom else
             "When things happened: red, a server can be read; orange, an attacker may be "
             "active (dark: when it may start); blue, a detector watches (dark: records still "
             "kept at the analysis)."),
        figure, tuple(lines))


def _origin(t: Node, start_iso: str) -> datetime:
    try:
        origin = datetime.fromisoformat(start_iso)
    except ValueError:
        raise source.ReportInputError(
            f"{source.name(t, 'start')} is not an ISO 8601 time") from None
    return origin.astimezone(UTC) if origin.tzinfo else origin.replace(tzinfo=UTC)


def _server_lane(name: str, sv: Node, end: float, at: Callable[[float], str]
                 ) -> tuple[Lane, Inline]:
    since = max(0.0, source.number(sv, "vulnerable_from"))
    patched = source.optional_number(sv, "patched_at")
    off = source.optional_number(sv, "heartbeat_off_at")
    until = min(x for x in (patched, off, end) if x is not None)
    marks = []
    words = []
    if patched is not None and patched <= end:
        marks.append(Mark(patched, Safe("patch"), Safe("patched")))
        words.append(f"patched {at(patched)}")
    if off is not None and off <= end:
        marks.append(Mark(max(0.0, off), Safe("heartbeat-off"), Safe("heartbeat off")))
        words.append(f"heartbeat off {at(off)}")
    every = source.optional_number(sv, "restart_every")
    jitter = source.optional_number(sv, "restart_jitter") or 0.0
    workers = source.number(sv, "workers")
    max_requests = source.optional_number(sv, "restart_max_requests") if source.has(
        sv, "restart_max_requests") else None
    note = ""
    if every is not None:
        note = (f"restarts every {cells.duration(every)}"
                f"{' ± ' + cells.duration(jitter) if jitter else ''} on each of "
                f"{cells.significant(workers)} workers")
    if max_requests is not None:
        note += ("; " if note else "") + f"a worker restarts after {cells.significant(max_requests)} requests"
    spans = (Span(since, until, Safe("vulnerable")),) if until > since else ()
    lane = Lane(name, Safe("servers"), spans, tuple(marks), every, Safe(note))
    state = "never vulnerable in the run" if not spans else (
        f"vulnerable from {at(since)} to {at(until)}")
    line: Inline = (name, Safe(": " + "; ".join([state, *words] + ([note] if note else []))))
    return lane, line
