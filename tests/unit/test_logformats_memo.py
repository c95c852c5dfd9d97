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


def test_a_clean_block_reads_as_its_lines_cleaned_one_by_one():
    # Blocks of raw lines no line of which needs cleaning are taken at once; a remark,
    # a stamp or a NUL deep in a later block sends that block line by line.
    from harness.analysis.logformats.lines import _clean_lines, _PasteState

    raw = [
        f"[{4706 + i:6d}][V][ssl_client.cpp:65] start_ssl_client(): Starting socket\n"
        for i in range(5000)
    ]
    raw[4100] = "[  9999][E][ssl_client.cpp:37] f(): x **<== why?**\n"
    raw[4200] = "12:00:01.500 -> plain\x00\n"
    got = list(iter_pasted_lines(raw))
    assert got == _clean_lines(raw, _PasteState())
    assert got[4100].text == "[  9999][E][ssl_client.cpp:37] f(): x"
    assert got[4200] == (43201.5, "plain")
    assert [line.t for line in got[:3]] == [0.0, 0.001, 0.002]


def test_stack_detection_stops_reading_once_one_stack_is_decisive():
    from harness.analysis.logformats import detect_stack_in_text

    def chunks():
        yield "[E][ssl_client.cpp:37] _handle_error(): x\n" * 500
        raise AssertionError("read past a decisive chunk")

    assert detect_stack_in_text(chunks()) == "mbedtls"
    # Mixed evidence reads on: the last chunk decides.
    mixed = ["BSSL:_connectSSL: start\n" * 150 + "ssl_client.cpp\n" * 100, "BSSL:x\n" * 500]
    assert detect_stack_in_text(iter(mixed)) == "bearssl"


def test_a_block_stamped_by_the_arduino_ide_reads_as_its_lines_cleaned_one_by_one():
    # Every line `hh:mm:ss.mmm -> ...`: the block is read with one findall; times keep
    # their order past midnight and when a stamp goes back; a remark sends it line by line.
    from harness.analysis.logformats.lines import _clean_lines, _PasteState

    raw = [
        f"23:59:{50 + i // 500:02d}.{i % 1000:03d} -> [{i:6d}][V][x.cpp:1] f(): y {i}\n"
        for i in range(4096)
    ]
    raw[3000] = "00:00:00.001 -> past midnight\n"
    raw[3001] = "23:59:58.000 -> a stamp going back\n"
    got = list(iter_pasted_lines(raw))
    assert got == _clean_lines(raw, _PasteState())
    assert got[3000] == (86400.001, "past midnight")
    assert [line.t for line in got] == sorted(line.t for line in got)
    remarked = [*raw[:2100], "23:59:59.000 -> z **<== here**\n"]
    assert list(iter_pasted_lines(remarked))[-1].text == "z"


def test_a_crlf_block_reads_as_its_lines_cleaned_one_by_one():
    from harness.analysis.logformats.lines import _clean_lines, _PasteState

    raw = [f"[{i:6d}][E][ssl_client.cpp:37] x {i % 3}\r\n" for i in range(4500)]
    raw[4400] = "a lone CR\r inside\r\n"
    got = list(iter_pasted_lines(raw))
    assert got == _clean_lines(raw, _PasteState())
    assert got[5].text == "[     5][E][ssl_client.cpp:37] x 2"
