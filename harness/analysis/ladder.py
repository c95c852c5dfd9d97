"""The run as a ladder diagram: board, wire and server lanes on one clock, as one
self-contained HTML page (`timeline.html`) that opens offline.

Packets are arrows between the board and the server; Serial lines are notes on the
board's lane, server log lines notes on the server's; alerts, resets and errors are in
colour; every element carries its event's fields as a hover title. Pure: a RunRecord in,
a string out (the runner writes the file).
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from harness.analysis.describe import describe
from harness.analysis.report import diagnosis_text
from harness.model import Direction, Event, RunRecord, Source

# Geometry of the SVG, in px.
_TIME_X = 8  # the ms column
_NOTE_LEFT = 70  # where board notes start
_BOARD_X = 330
_SERVER_X = 830
_WIRE_X = (_BOARD_X + _SERVER_X) // 2
_NOTE_RIGHT_END = 1160
_WIDTH = 1180
_TOP = 54  # below the lane headers
_ROW = 24
_NOTE_CHARS = 40  # longer note texts are cut (the hover has them whole)
_LABEL_CHARS = 62

# Kinds drawn in colour; the rest of a source's events take its default.
_WIRE_CLASS = {
    "alert": "bad",
    "tcp_rst": "bad",
    "tcp_syn": "tcp",
    "tcp_synack": "tcp",
    "tcp_fin": "tcp",
    "tcp_ack": "tcp",
    "app_data": "data",
}
_SERIAL_CLASS = {
    "log_alert": "bad",
    "log_error": "bad",
    "crash": "bad",
    "connect_result": "result",
    "boot": "result",
    "log_state": "state",
}
_SERVER_CLASS = {"server_alert": "bad", "server_error": "bad", "server_handshake_failed": "bad"}


@dataclass(frozen=True)
class _Row:
    """One line of the ladder: an event, or a run of certificate-dump lines as one note."""

    events: tuple[Event, ...]

    @property
    def first(self) -> Event:
        return self.events[0]


def _rows(events: Sequence[Event]) -> Iterator[_Row]:
    run: list[Event] = []
    for e in events:
        if e.source is Source.SERIAL and e.kind == "log_cert":
            run.append(e)
            continue
        if run:
            yield _Row(tuple(run))
            run = []
        yield _Row((e,))
    if run:
        yield _Row(tuple(run))


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _hover(events: Sequence[Event]) -> str:
    if len(events) > 1:
        return "\n".join(e.text for e in events)
    e = events[0]
    head = e.text or describe(e)
    body = json.dumps(dict(e.fields), indent=1, sort_keys=True, default=str)
    return f"{head}\n{body}"


def _attrs(e: Event, css: str, row: int) -> str:
    return (
        f'class="ev ev-{e.source.value} {css}" data-kind="{html.escape(e.kind)}" '
        f'data-source="{e.source.value}" data-t="{e.t:.6f}" data-row="{row}"'
    )


def _wire(e: Event, y: int, row: int) -> str:
    css = _WIRE_CLASS.get(e.kind, "hs")
    to_server = e.direction is Direction.C2S
    x1, x2 = (_BOARD_X, _SERVER_X) if to_server else (_SERVER_X, _BOARD_X)
    label = html.escape(_cut(describe(e), _LABEL_CHARS))
    marker = "url(#arrow)" if css != "bad" else "url(#arrow-bad)"
    dash = ' stroke-dasharray="5 3"' if e.kind == "tcp_rst" else ""
    return (
        f"<g {_attrs(e, css, row)}><title>{html.escape(_hover([e]))}</title>"
        f'<line x1="{x1}" y1="{y}" x2="{x2}" y2="{y}" marker-end="{marker}"{dash}/>'
        f'<text x="{_WIRE_X}" y="{y - 5}" text-anchor="middle">{label}</text></g>'
    )


def _note(events: Sequence[Event], y: int, row: int, *, board: bool) -> str:
    e = events[0]
    table = _SERIAL_CLASS if board else _SERVER_CLASS
    css = "cert" if e.kind == "log_cert" else table.get(e.kind, "note")
    if len(events) > 1:
        text = f"certificate dump ({len(events)} lines)"
    else:
        text = e.text if e.source is Source.SERIAL else describe(e)
    label = html.escape(_cut(text, _NOTE_CHARS))
    if board:
        x, anchor, lane = _BOARD_X - 8, "end", _BOARD_X
        box_x, box_w = _NOTE_LEFT, _BOARD_X - _NOTE_LEFT - 4
    else:
        x, anchor, lane = _SERVER_X + 8, "start", _SERVER_X
        box_x, box_w = _SERVER_X + 4, _NOTE_RIGHT_END - _SERVER_X - 4
    return (
        f"<g {_attrs(e, css, row)}><title>{html.escape(_hover(events))}</title>"
        f'<rect x="{box_x}" y="{y - 14}" width="{box_w}" height="19" rx="3"/>'
        f'<circle cx="{lane}" cy="{y - 4}" r="3"/>'
        f'<text x="{x}" y="{y}" text-anchor="{anchor}">{label}</text></g>'
    )


def ladder_svg(record: RunRecord) -> str:
    """The ladder of a run's timeline as an SVG element (no XML prolog: it is inlined)."""
    events = record.timeline.events
    rows = list(_rows(events))
    height = _TOP + _ROW * (len(rows) + 1)
    t0 = events[0].t if events else 0.0
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="ladder" width="{_WIDTH}" '
        f'height="{height}" viewBox="0 0 {_WIDTH} {height}" role="img" '
        f'aria-label="ladder diagram of {html.escape(record.scenario.name)}">',
        "<defs>"
        '<marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#37474f"/></marker>'
        '<marker id="arrow-bad" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#c62828"/></marker></defs>',
    ]
    for x, name in ((_BOARD_X, "board"), (_WIRE_X, "wire"), (_SERVER_X, "server")):
        css = "lane wire-lane" if name == "wire" else "lane"
        parts.append(
            f'<text class="lane-name" x="{x}" y="22" text-anchor="middle">{name}</text>'
            f'<line class="{css}" x1="{x}" y1="32" x2="{x}" y2="{height - 8}"/>'
        )
    parts.append(f'<text class="ms" x="{_TIME_X}" y="22">ms</text>')
    for i, row in enumerate(rows):
        y = _TOP + _ROW * i + 10
        e = row.first
        parts.append(f'<text class="ms" x="{_TIME_X}" y="{y}">{(e.t - t0) * 1000:.1f}</text>')
        if e.source is Source.WIRE:
            parts.append(_wire(e, y, i))
        else:
            parts.append(_note(row.events, y, i, board=e.source is Source.SERIAL))
    parts.append("</svg>")
    return "".join(parts)


_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:16px 24px;color:#212121}
h1{font-size:20px;margin:0 0 4px}
.verdict{display:inline-block;padding:2px 10px;border-radius:10px;color:#fff;font-weight:600}
.verdict.pass{background:#2e7d32}.verdict.fail{background:#c62828}.verdict.error{background:#ef6c00}
pre.diagnosis{background:#fafafa;border:1px solid #ddd;padding:10px;white-space:pre-wrap}
svg.ladder{font:12px ui-monospace,monospace;background:#fff;border:1px solid #ddd}
svg .lane{stroke:#90a4ae;stroke-width:2}
svg .wire-lane{stroke-dasharray:2 4;stroke-width:1}
svg .lane-name{font-weight:700;font-size:13px}
svg .ms{fill:#78909c}
svg .ev line{stroke:#37474f;stroke-width:1.6}
svg .ev.hs line{stroke:#1565c0}svg .ev.hs text{fill:#0d47a1}
svg .ev.tcp line{stroke:#90a4ae}svg .ev.tcp text{fill:#607d8b}
svg .ev.data line{stroke:#2e7d32}svg .ev.data text{fill:#1b5e20}
svg .ev.bad line{stroke:#c62828}svg .ev.bad text{fill:#b71c1c;font-weight:700}
svg .ev rect{fill:#f5f5f5;stroke:#cfd8dc}
svg .ev circle{fill:#90a4ae}
svg .ev.bad rect{fill:#ffebee;stroke:#e57373}svg .ev.bad circle{fill:#c62828}
svg .ev.state rect{fill:#e3f2fd;stroke:#90caf9}
svg .ev.result rect{fill:#e8f5e9;stroke:#81c784}svg .ev.result text{font-weight:700}
svg .ev.cert rect{fill:#fff8e1;stroke:#ffd54f}
svg .ev:hover rect,svg .ev:hover line{stroke-width:3}
.legend span{margin-right:14px}
"""


def timeline_html(record: RunRecord) -> str:
    """`timeline.html`: the diagnosis on top, then the ladder; inline CSS, no scripts, no
    external resources, so it opens offline and from a CI artifact."""
    v = record.verdict
    d = record.diagnosis
    title = f"{record.scenario.name}: {v.outcome.value}"
    cause = d.cause or "none (connected)"
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{html.escape(title)}</title>",
            f"<style>{_STYLE}</style></head><body>",
            f"<h1>{html.escape(record.scenario.name)} "
            f'<span class="verdict {v.outcome.value}">{v.outcome.value}</span></h1>',
            f"<p>{html.escape(record.scenario.description)}</p>",
            f'<p class="cause">Cause: <b>{html.escape(cause)}</b> '
            f"[{html.escape(str(d.confidence))}]. {html.escape(v.reason)}</p>",
            f'<pre class="diagnosis">{html.escape(diagnosis_text(d))}</pre>',
            '<p class="legend"><span>board: Serial lines</span><span>wire: packets</span>'
            "<span>server: its log</span><span>hover an element for its fields</span></p>",
            ladder_svg(record),
            "</body></html>",
            "",
        ]
    )
