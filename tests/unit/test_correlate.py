"""The timeline's order on real runs kept as samples (tests/data/runs): every serial line
where the sketch and the stack put it relative to the wire (tests/causal.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.analysis import wire
from harness.analysis.correlate import build_timeline
from harness.analysis.logformats import parse_serial
from harness.analysis.logformats.lines import read_serial_log
from harness.analysis.serverlog import parse_server_log
from harness.model import Direction, Event, Source
from tests.causal import causal_violations

RUNS = Path(__file__).resolve().parent.parent / "data" / "runs"
BYTE_TIME = 10 / 115200  # one byte at the sketch's baud rate


def run_sample(name: str) -> tuple[list[Event], list[Event], list[Event]]:
    """A kept run's serial, wire and server events, as the runner hands them over."""
    d = RUNS / name
    port = int((d / "port").read_text())
    return (
        parse_serial(read_serial_log((d / "serial.log").read_text()), "axtls"),
        list(wire.decode((d / "wire.fields.txt").read_text(), port).events),
        parse_server_log((d / "server.log").read_text()),
    )


@pytest.mark.parametrize("name", ["founding-report-fixed", "founding-report"])
def test_every_serial_line_of_a_real_run_is_in_causal_order(name):
    serial, packets, server = run_sample(name)
    timeline = build_timeline(serial, packets, server, serial_latency=BYTE_TIME)
    assert causal_violations(timeline) == []
    # Nothing lost, nothing invented; each source keeps its own order.
    assert len(timeline.events) == len(serial) + len(packets) + len(server)
    assert [e.text for e in timeline.events if e.source is Source.SERIAL] == [
        e.text for e in serial
    ]
    # A line is never stamped later than it arrived.
    arrived = {id(e): e.t for e in serial}
    placed = [e for e in timeline.events if e.source is Source.SERIAL]
    assert all(p.t <= s.t for p, s in zip(placed, serial, strict=True)), arrived


def test_the_lines_after_the_handshake_keep_their_place_on_the_fixed_run():
    serial, packets, server = run_sample("founding-report-fixed")
    timeline = build_timeline(serial, packets, server, serial_latency=BYTE_TIME)
    order = [
        (e.kind, e.direction)
        for e in timeline.events
        if e.source is not Source.SERVER
        and e.kind
        in ("finished", "app_data", "log_verify", "log_request", "log_http_status", "log_state")
    ]
    c2s, s2c = Direction.C2S, Direction.S2C
    # The server's Finished, then what the sketch prints once connect() returned, the
    # request, and only then "request sent"; the response before its status line.
    tail = order[order.index(("finished", s2c)) :]
    assert tail[:4] == [
        ("finished", s2c),
        ("log_state", s2c),  # State: receiving Finished
        ("log_verify", None),
        ("app_data", c2s),
    ]
    assert tail.index(("log_request", None)) > tail.index(("app_data", c2s))
    assert tail.index(("log_http_status", None)) > tail.index(("app_data", s2c))


def test_a_line_that_arrived_in_a_late_burst_moves_alone():
    """One read brought the certificate dump and "Connecting to" 5 ms late; the lines
    after the handshake came 0.1 ms late. The first burst moves back before the SYN; the
    later lines keep their own stamp, not the first burst's shift."""
    c2s, s2c = Direction.C2S, Direction.S2C

    def line(t, kind, text, direction=None, **fields):
        return Event(t, Source.SERIAL, kind, direction, fields, text)

    def packet(t, kind, direction):
        return Event(t, Source.WIRE, kind, direction, {}, kind, stream=0)

    serial = [
        line(10.010, "log_cert", "=== CERTIFICATE ISSUED TO ==="),
        line(10.010, "connect_start", "Connecting to 127.0.0.1", host="127.0.0.1"),
        line(10.0301, "log_verify", "Server certificate verified", verified=True),
        line(10.0311, "log_request", "request sent"),
        line(10.0401, "log_http_status", "status: HTTP/1.1 200 OK", status="HTTP/1.1 200 OK"),
    ]
    packets = [
        packet(10.005, "tcp_syn", c2s),
        packet(10.029, "finished", s2c),
        packet(10.031, "app_data", c2s),
        packet(10.040, "app_data", s2c),
    ]
    timeline = build_timeline(serial, packets, serial_latency=0.0001)
    placed = {e.text: e.t for e in timeline.events if e.source is Source.SERIAL}
    assert placed["Connecting to 127.0.0.1"] < 10.005
    assert placed["Server certificate verified"] == pytest.approx(10.0300)
    assert placed["request sent"] == pytest.approx(10.0310)
    assert placed["status: HTTP/1.1 200 OK"] == pytest.approx(10.0400)
    assert timeline.serial_shift == pytest.approx(10.010 - 10.005, abs=1e-5)
