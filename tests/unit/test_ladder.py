"""analysis/ladder.py and analysis/mermaid.py: the run drawn as a ladder (timeline.html)
and as a Mermaid sequence (timeline.md), from a record built of committed-sample events."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from harness.analysis import ladder, mermaid, report
from harness.analysis.diagnose import Context, diagnose
from harness.model import (
    Direction,
    Event,
    Expectation,
    Outcome,
    RunRecord,
    Scenario,
    Source,
    Timeline,
    Verdict,
)
from tests.samples import AXTLS_OFFER, founding_events

T0 = 1_800_000_000.0


def _wire(dt: float, kind: str, direction: Direction, **fields) -> Event:
    return Event(T0 + dt, Source.WIRE, kind, direction, fields, text=f"#{kind}")


def _record() -> RunRecord:
    serial = [
        Event(T0 + 0.001 * i, e.source, e.kind, e.direction, e.fields, e.text, e.stream)
        for i, e in enumerate(founding_events())
    ]
    wire = [
        _wire(0.0100, "tcp_syn", Direction.C2S),
        _wire(0.0101, "tcp_synack", Direction.S2C),
        _wire(0.0110, "client_hello", Direction.C2S, version=0x0303, suites=AXTLS_OFFER),
        _wire(0.0120, "alert", Direction.S2C, level=2, description=40, name="handshake_failure"),
        _wire(0.0130, "tcp_rst", Direction.C2S),
    ]
    server = [Event(T0 + 0.0115, Source.SERVER, "server_alert", Direction.S2C, {"name": "x<y"})]
    events = tuple(sorted(serial + wire + server, key=lambda e: e.t))
    timeline = Timeline(events)
    diagnosis = diagnose(timeline, Context(stack="axtls"))
    expect = Expectation(connected=False, cause="no_shared_cipher")
    return RunRecord(
        scenario=Scenario("sample", "a <sample> & run", "s", "b", "p", expect),
        run_dir=Path("/nonexistent"),
        timeline=timeline,
        diagnosis=diagnosis,
        verdict=Verdict(Outcome.PASS, expect, expect, "as expected"),
    )


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.groups: list[dict[str, str]] = []
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "g" and "ev" in a.get("class", "").split():
            self.groups.append(a)
        for key in ("src", "href"):
            if key in a and not a[key].startswith("#"):
                self.external.append(a[key])


def test_every_event_is_one_element_and_the_page_is_self_contained() -> None:
    record = _record()
    page = ladder.timeline_html(record)
    parsed = _Elements()
    parsed.feed(page)
    wire = [g for g in parsed.groups if g["data-source"] == "wire"]
    assert [g["data-kind"] for g in wire] == [
        "tcp_syn",
        "tcp_synack",
        "client_hello",
        "alert",
        "tcp_rst",
    ]
    # A run of certificate-dump lines is one note; every other serial line has its own.
    kinds = [(e.source, e.kind) for e in record.timeline.events]
    dump = (Source.SERIAL, "log_cert")
    runs = sum(1 for i, k in enumerate(kinds) if k == dump and (i == 0 or kinds[i - 1] != dump))
    serial = [k for k in kinds if k[0] is Source.SERIAL and k != dump]
    notes = [g for g in parsed.groups if g["data-source"] == "serial"]
    assert runs >= 1 and len(notes) == len(serial) + runs
    assert sum("cert" in g["class"].split() for g in notes) == runs
    assert parsed.external == []  # opens offline: nothing fetched
    assert "<script" not in page


def test_alerts_and_errors_are_drawn_as_bad_and_text_is_escaped() -> None:
    page = ladder.timeline_html(_record())
    parsed = _Elements()
    parsed.feed(page)
    bad = {(g["data-source"], g["data-kind"]) for g in parsed.groups if "bad" in g["class"]}
    assert {("wire", "alert"), ("wire", "tcp_rst"), ("server", "server_alert")} <= bad
    assert ("serial", "log_alert") in bad
    assert "a &lt;sample&gt; &amp; run" in page and "x<y" not in page


def test_the_diagnosis_is_on_top() -> None:
    page = ladder.timeline_html(_record())
    assert page.index("no_shared_cipher") < page.index("<svg")
    assert "AES128-SHA256" in page[: page.index("<svg")]


def test_the_mermaid_sequence_has_the_packets_in_order_and_no_raw_syntax() -> None:
    text = mermaid.sequence_diagram(_record())
    lines = text.splitlines()
    assert lines[0] == "```mermaid" and lines[1] == "sequenceDiagram" and lines[-1] == "```"
    messages = [ln.strip() for ln in lines if re.match(r"\s+(Board|Server)-", ln)]
    assert [m.split(":")[0] for m in messages] == [
        "Board->>Server",
        "Server->>Board",
        "Board->>Server",
        "Server-xBoard",
        "Board-xServer",
    ]
    assert "AES128-SHA256" in messages[2]
    # Mermaid syntax characters inside texts are entities, so no line breaks the diagram.
    for ln in lines[2:-1]:
        body = ln.split(":", 1)[1] if ":" in ln else ""
        assert not set(body) & set(";#<>") or ("#" in body and re.search(r"#\w+;", body))
    assert "certificate dump (" in text


def test_timeline_markdown_carries_the_sequence() -> None:
    md = report.timeline_markdown(_record())
    assert "## Sequence" in md and "```mermaid" in md
