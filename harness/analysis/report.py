"""Reporters: functions over a finished RunRecord (pure; the runner writes the files).
`describe` (one line per event) is re-exported here for the callers that know it here."""

from __future__ import annotations

import json
from typing import Any

from harness.analysis.describe import describe
from harness.analysis.mermaid import sequence_diagram
from harness.model import Diagnosis, RunRecord, Timeline


def timeline_rows(tl: Timeline) -> list[tuple[str, str, str, str, str]]:
    if not tl.events:
        return []
    t0 = tl.events[0].t
    rows = []
    for e in tl.events:
        arrow = {"client->server": "board -> server", "server->client": "server -> board"}.get(
            str(e.direction) if e.direction else "", ""
        )
        rows.append((f"{(e.t - t0) * 1000:9.1f}", e.source.value, arrow, e.kind, describe(e)))
    return rows


def timeline_text(tl: Timeline) -> str:
    lines = [
        f"{ms} ms  {src:<6}  {arrow:<15}  {kind:<20}  {text}"
        for ms, src, arrow, kind, text in timeline_rows(tl)
    ]
    return "\n".join(lines)


def diagnosis_text(d: Diagnosis) -> str:
    out = [f"Cause: {d.cause or 'none (connected)'}   [{d.confidence}]", "", d.explanation]
    if d.evidence:
        out += ["", "Evidence:"]
        out += [f"  - {ev.claim}" for ev in d.evidence]
    if d.conflicts:
        out += ["", "Conflicting evidence (shown, not settled):"]
        out += [f"  - {ev.claim}" for ev in d.conflicts]
    if d.fixes:
        out += ["", "Fixes:"]
        for fix in d.fixes:
            out.append(f"  - [{fix.where}] {fix.text}")
            if fix.detail:
                out.append(f"        {fix.detail}")
    return "\n".join(out)


def where_lines(record: RunRecord) -> list[str]:
    """Board, port and core of a run on a bench board (nothing for a twin)."""
    info = record.board_info
    if not info:
        return []
    return [
        f"Board: {info.get('bench_board', '?')} on port {info.get('port', '?')}, "
        f"core {info.get('core', '?')} ({record.scenario.board})"
    ]


def render_text(record: RunRecord) -> str:
    v = record.verdict
    return "\n".join(
        [
            f"Scenario {record.scenario.name}: {record.scenario.description}",
            *where_lines(record),
            "",
            "Timeline (board serial, wire and server, one clock; serial stamps moved back "
            f"up to {record.timeline.serial_shift * 1000:.2f} ms for their latency):",
            timeline_text(record.timeline),
            "",
            diagnosis_text(record.diagnosis),
            "",
            f"Verdict: {v.outcome.value.upper()}: {v.reason}",
            f"Run directory: {record.run_dir}",
        ]
    )


def timeline_markdown(record: RunRecord) -> str:
    out = [
        f"# {record.scenario.name}",
        "",
        f"Verdict: **{record.verdict.outcome.value}**: {record.verdict.reason}",
        "",
        "| ms | source | direction | kind | what |",
        "|---:|---|---|---|---|",
    ]
    for ms, src, arrow, kind, text in timeline_rows(record.timeline):
        out.append(f"| {ms.strip()} | {src} | {arrow} | {kind} | {text.replace('|', '/')} |")
    out += ["", "## Diagnosis", "", diagnosis_text(record.diagnosis), ""]
    out += ["## Sequence", "", sequence_diagram(record), ""]
    return "\n".join(out)


def record_json(record: RunRecord) -> dict[str, Any]:
    return {
        "scenario": record.scenario.name,
        **record.verdict.to_json(),
        "diagnosis": record.diagnosis.to_json(),
        "run_dir": str(record.run_dir),
        "durations": dict(record.durations),
        **({"board_info": dict(record.board_info)} if record.board_info else {}),
        "timeline": [e.to_json() for e in record.timeline.events],
    }


def record_json_text(record: RunRecord) -> str:
    return json.dumps(record_json(record), indent=2)
