"""A line read again in the same parser state is read the same (the memo of
iter_serial_events and iter_pasted_lines): a log repeated gives its events repeated."""

from __future__ import annotations

import pytest

from harness.analysis.logformats import iter_serial_events
from harness.analysis.logformats.lines import iter_pasted_lines
from tests.samples import DATA

LOGS = DATA / "logs"


def _events(text: str, stack: str):
    lines = iter_pasted_lines(text.splitlines(keepends=True))
    return [(e.kind, e.direction, dict(e.fields), e.text) for e in iter_serial_events(lines, stack)]


@pytest.mark.parametrize(
    ("name", "stack"),
    [
        ("esp8266-arduino-4826_as_pasted.log", "axtls"),  # stateful: dump sections, alerts
        ("arduino-esp32-5480_x509_verify_failed.log", "mbedtls"),
        ("esp8266-arduino-6209_bearssl_fingerprint_mismatch.log", "bearssl"),
    ],
)
def test_a_repeated_log_reads_as_its_parts(name, stack):
    text = (LOGS / name).read_text()
    once = _events(text if text.endswith("\n") else text + "\n", stack)
    thrice = _events((text if text.endswith("\n") else text + "\n") * 3, stack)
    assert thrice == once * 3


def test_times_advance_through_remembered_lines():
    raw = ["Alert: handshake failure\n"] * 5
    times = [line.t for line in iter_pasted_lines(raw)]
    assert times == sorted(times) and len(set(times)) == 5
    events = list(iter_serial_events(iter_pasted_lines(raw), "axtls"))
    assert [e.t for e in events] == times


def test_lines_that_differ_in_their_milliseconds_keep_their_own_text():
    raw = [
        "[  4706][E][ssl_client.cpp:37] _handle_error(): [start_ssl_client():273]: (-9984) X\n",
        "[  9999][E][ssl_client.cpp:37] _handle_error(): [start_ssl_client():273]: (-9984) X\n",
        "E (11895) esp-tls-mbedtls: mbedtls_ssl_handshake returned -0x2700\n",
        "E (22000) esp-tls-mbedtls: mbedtls_ssl_handshake returned -0x2700\n",
    ]
    events = list(iter_serial_events(iter_pasted_lines(raw), "mbedtls"))
    assert [e.text for e in events] == [r.rstrip("\n") for r in raw]
    assert events[0].fields == events[1].fields and events[0].fields.get("code") == -9984
    assert events[2].fields == events[3].fields and events[2].kind == "log_error"


def test_a_remark_after_a_line_with_milliseconds_is_cut_each_time():
    raw = [
        "[  4706][E][ssl_client.cpp:37] f(): x **<== why?**\n",
        "[  9999][E][ssl_client.cpp:37] f(): x **<== why?**\n",
        "[ 10000][E][ssl_client.cpp:37] f(): x\n",
    ]
    assert [line.text for line in iter_pasted_lines(raw)] == [
        "[  4706][E][ssl_client.cpp:37] f(): x",
        "[  9999][E][ssl_client.cpp:37] f(): x",
        "[ 10000][E][ssl_client.cpp:37] f(): x",
    ]
