"""The golden comparison on committed samples: records, masks, flags, serial lines."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from harness.analysis.golden import (
    Difference,
    GoldenReport,
    Recording,
    build_recording,
    classify,
    compare,
    parse_decrypted,
    parse_known,
    parse_segments,
    render_table,
)
from harness.analysis.golden.capture import Segment, split_records
from harness.analysis.golden.records import view
from harness.analysis.golden.serial import dates_match, mask_line
from harness.analysis.logformats.lines import read_serial_log
from harness.model.errors import ConfigError
from tests.samples import DATA

SAMPLES = DATA / "golden-samples"
GOLDEN = DATA / "golden" / "esp8266-2.4.1"
TWIN_RUN = SAMPLES / "twin-run-founding-report"


def _serial(path) -> tuple[str, ...]:
    return tuple(line.text for line in read_serial_log(path.read_text()))


def _recording(segments: str, port: int, serial_log, decrypted: str | None = None) -> Recording:
    wire = build_recording(
        parse_segments((SAMPLES / segments).read_text(), port),
        parse_decrypted((SAMPLES / decrypted).read_text()) if decrypted else None,
    )
    return Recording(wire, _serial(serial_log), port, date(2026, 11, 29))


@pytest.fixture(scope="module")
def golden() -> Recording:
    return _recording(
        "golden-do-2016.segments.txt", 34790, GOLDEN / "do-2016-ssl-params/serial.log"
    )


@pytest.fixture(scope="module")
def twin() -> Recording:
    return _recording("twin-founding-report.segments.txt", 33079, TWIN_RUN / "serial.log")


def test_segments_rebuild_the_client_hello_byte_for_byte(golden):
    conn = golden.wire.connections[0]
    hello = (GOLDEN / "do-2016-ssl-params/client_hello.hex").read_text().strip()
    assert conn.records[0].raw.hex() == hello
    assert [(r.content_type, r.body) for r in conn.records[1:]] == [(21, bytes([2, 10]))]
    assert conn.flags == (
        ("client", "SYN"),
        ("server", "SYN-ACK"),
        ("server", "FIN"),
        ("client", "RST"),
    )


def test_a_recording_matches_itself(golden):
    report = compare(golden, golden)
    assert report.differences == ()
    assert report.matches
    assert report.compared["client records"] == 2


def test_twin_against_the_golden_names_each_difference(golden, twin):
    report = compare(golden, twin)
    got = {(d.id, d.expected, d.got) for d in report.differences}
    assert got == {
        (
            "client_hello.extensions",
            "signature_algorithms,server_name",
            "renegotiation_info,server_name,signature_algorithms",
        ),
        ("client_hello.ext.signature_algorithms", "00080601050104010201", "00080401050106010201"),
        ("record.extra", "(none)", "alert warning close_notify(0), 2 bytes"),
        (
            "tcp.client_flags",
            "SYN, RST",
            "SYN, FIN",
        ),
    }
    # The randoms differ on the wire and are masked: no difference names them.
    assert not any(d.id == "client_hello.random" for d in report.differences)


def test_client_hello_random_and_session_id_are_masked_but_lengths_count():
    hello = bytes.fromhex((GOLDEN / "do-2016-ssl-params/client_hello.hex").read_text().strip())
    other = bytearray(hello)
    other[11:43] = bytes(32)  # another random
    a = view(split_records(hello)[0][0], str)
    b = view(split_records(bytes(other))[0][0], str)
    assert a == b
    items = {i.key: i for i in a.items}
    assert items["client_hello.random"].value == "<32 bytes masked>"
    assert "time(NULL)" in items["client_hello.random"].masking
    assert items["client_hello.cipher_suites"].value == "003c,003d,0035,002f"
    # One suite changed is a difference of the cipher suites, nothing else.
    other[48] = 0x0A
    c = view(split_records(bytes(other))[0][0], str)
    assert [i.key for i in c.items if i not in a.items] == ["client_hello.cipher_suites"]


def test_sealed_records_compare_by_length_and_decrypted_plaintext():
    rec = _recording(
        "tls12-only.segments.txt",
        29486,
        GOLDEN / "tls1.2-only/serial.log",
        "tls12-only.decrypted.txt",
    )
    conn = rec.wire.connections[0]
    assert conn.decrypted
    kinds = [view(r, str).kind for r in conn.records]
    assert kinds == [
        "client_hello",
        "client_key_exchange",
        "change_cipher_spec",
        "finished",
        "application_data",
    ]
    assert conn.records[4].plaintext.startswith(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    # Other ciphertext of the same length and plaintext: no difference.
    sealed = conn.records[4]
    noise = replace(sealed, body=bytes(len(sealed.body)))
    other = replace(conn, records=(*conn.records[:4], noise))
    same = replace(rec, wire=replace(rec.wire, connections=(other,)))
    assert compare(rec, same).differences == ()
    # Another request line is a difference of the decrypted data, masked for addresses.
    changed = replace(noise, plaintext=sealed.plaintext.replace(b"GET /", b"GET /x"))
    other = replace(conn, records=(*conn.records[:4], changed))
    diff = compare(rec, replace(rec, wire=replace(rec.wire, connections=(other,))))
    (d,) = diff.differences
    assert d.id == "application_data.data"
    assert "Host: <ip>" in d.expected and "GET /x" in d.got


def test_serial_masks_addresses_ports_builds_and_esp32_millis():
    m = mask_line("[  1234][E][ssl_client.cpp:37] connect to 127.0.0.1:31219 failed", 31219)
    assert m.text == "[<ms>][E][ssl_client.cpp:37] connect to <ip>:<port> failed"
    assert mask_line("HIL:BOOT build=941eb41451cd", None).text == "HIL:BOOT build=<build>"
    fp = mask_line("cert FP: AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01", None)
    assert fp.text == "cert FP: <hex>"
    # A port number inside another number is left alone.
    assert mask_line("RSA bitsize:\t\t\t2048", 204).text == "RSA bitsize:\t\t\t2048"


def test_certificate_dates_move_with_the_day_of_recording():
    a = mask_line("Not Before:\t\t\tSat Nov 28 00:00:00 2026", None)
    b = mask_line("Not Before:\t\t\tMon Nov 30 00:00:00 2026", None)
    assert a.text == b.text == "Not Before:\t\t\t<date>"
    assert dates_match(a.dates[0], b.dates[0], 2)
    assert not dates_match(a.dates[0], b.dates[0], 0)
    # The 32-bit wrap of axTLS is a fixed date: equal without a shift only.
    assert dates_match("Sun Apr 11 04:02:21 1982", "Sun Apr 11 04:02:21 1982", 5)


def test_serial_differences_name_the_lines(golden):
    lines = list(golden.serial)
    at = lines.index("Alert: unexpected message")
    lines[at] = "Alert: bad record mac"
    del lines[at + 1]
    report = compare(golden, replace(golden, serial=tuple(lines)))
    assert [(d.id, d.expected, d.got) for d in report.differences] == [
        ("serial.changed", "Alert: unexpected message", "Alert: bad record mac"),
        ("serial.missing", "Error: SSL error 40", "(absent)"),
    ]
    assert report.differences[0].where == f"serial, golden line {at + 1}, run line {at + 1}"


def test_a_golden_without_framing_leaves_the_runs_framing_out(golden):
    """A recorder that ran its sketch without the harness printed no HIL:BOOT/HIL:DONE;
    the run's are then not compared, and a difference still names the file's lines."""
    boot = next(i for i, x in enumerate(golden.serial) if x.startswith("HIL:BOOT"))
    recorded = tuple(x for x in golden.serial[boot + 1 :] if not x.startswith("HIL:"))
    run = list(golden.serial)
    at = run.index("Alert: unexpected message")
    run[at] = "Alert: bad record mac"
    report = compare(replace(golden, serial=recorded), replace(golden, serial=tuple(run)))
    assert [(d.id, d.expected, d.got) for d in report.differences] == [
        ("serial.changed", "Alert: unexpected message", "Alert: bad record mac"),
    ]
    golden_line = recorded.index("Alert: unexpected message") + 1
    assert report.differences[0].where == f"serial, golden line {golden_line}, run line {at + 1}"
    assert any("HIL:BOOT/HIL:DONE" in n for n in report.notes)
    # A golden with the framing compares it: a different HIL:DONE is a difference.
    done = next(i for i, x in enumerate(golden.serial) if x.startswith("HIL:DONE"))
    other = list(golden.serial)
    other[done] = "HIL:DONE connected=1 verified=1"
    assert [d.id for d in compare(golden, replace(golden, serial=tuple(other))).differences] == [
        "serial.changed"
    ]


def test_a_day_apart_recordings_match_on_relative_certificate_dates(golden):
    later = replace(golden, day=date(2026, 12, 1))
    # The founding report's certificate is absolute (2018, and the 1982 wrap): still equal.
    assert compare(golden, later).differences == ()


KNOWN = """
Prose first.

```toml golden-known
[[known]]
id = "tcp.client_flags"
personality = "esp8266-axtls"
fidelity = "12"
why = "the twin closes with FIN"
got = "FIN$"
```
"""


def test_known_differences_are_marked_and_others_fail(golden, twin):
    known = parse_known(KNOWN, "FIDELITY.md")
    report = classify(compare(golden, twin), known, "esp8266-axtls")
    flags = next(d for d in report.differences if d.id == "tcp.client_flags")
    assert flags.known == "FIDELITY 12: the twin closes with FIN"
    assert {d.id for d in report.failing} == {
        "client_hello.extensions",
        "client_hello.ext.signature_algorithms",
        "record.extra",
    }
    assert not report.matches
    # Another personality's entries do not apply.
    other = classify(compare(golden, twin), known, "esp8266-bearssl")
    assert len(other.failing) == 4


def test_a_known_entry_with_a_value_pattern_covers_only_that_value():
    (k,) = parse_known(KNOWN, "FIDELITY.md")
    d = Difference("tcp.client_flags", "", "connection 1", "SYN, RST", "SYN, FIN")
    assert k.covers(d)
    assert not k.covers(replace(d, got="SYN, FIN, RST"))
    assert not k.covers(replace(d, id="tcp.server_flags"))


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ('[[known]]\nid = "x"\n', "missing 'personality'"),
        (
            '[[known]]\nid = "x"\npersonality = "p"\nfidelity = "1"\nwhy = "w"\ncolour = "red"\n',
            "unknown key",
        ),
        (
            '[[known]]\nid = "x"\npersonality = "p"\nfidelity = "1"\nwhy = "w"\ngot = "("\n',
            "regular expression",
        ),
        ("[[known]\n", "not valid TOML"),
        ("other = 1\n", "[[known]] tables only"),
    ],
)
def test_a_bad_known_block_is_a_clear_error(block, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("(", r"\(")):
        parse_known(f"```toml golden-known\n{block}```\n", "FIDELITY.md")


def test_the_table_shows_status_id_where_and_both_values(golden, twin):
    known = parse_known(KNOWN, "FIDELITY.md")
    text = render_table(
        classify(compare(golden, twin, golden="G", run="R"), known, "esp8266-axtls")
    )
    assert "golden: G" in text and "run:    R" in text
    row = next(
        line for line in text.splitlines() if line.startswith("DIFF    client_hello.ext.sig")
    )
    assert "00080601050104010201" in row and "00080401050106010201" in row
    assert any(line.startswith("known   tcp.client_flags") for line in text.splitlines())
    assert text.splitlines()[-1] == "MISMATCH: 3 difference(s) (1 known)"
    assert render_table(GoldenReport("G", "R", ())).splitlines()[-1] == "MATCH"


def test_a_capture_cut_mid_record_keeps_the_whole_records_only():
    hello = bytes.fromhex((GOLDEN / "do-2016-ssl-params/client_hello.hex").read_text().strip())
    records, rest = split_records(hello + hello[:20])
    assert len(records) == 1 and rest == hello[:20]


def test_dates_of_a_plan_dated_from_the_day_of_issue_follow_the_recording_day(golden):
    line = "Not Before:\t\t\tSat Nov 28 00:00:00 2026"
    a = replace(golden, serial=(*golden.serial, line))
    moved = replace(
        a,
        serial=(*golden.serial, "Not Before:\t\t\tMon Nov 30 00:00:00 2026"),
        day=date(2026, 12, 1),
    )
    assert compare(a, moved).differences == ()
    # Equal stays equal (absolute dates); moved by another number of days differs.
    assert compare(a, replace(a, day=date(2026, 12, 1))).differences == ()
    off = replace(moved, serial=(*golden.serial, "Not Before:\t\t\tSun Nov 29 00:00:00 2026"))
    (d,) = compare(a, off).differences
    assert (d.id, d.expected, d.got) == (
        "serial.date",
        "Not Before:\t\t\t<date Sat Nov 28 00:00:00 2026>",
        "Not Before:\t\t\t<date Sun Nov 29 00:00:00 2026>",
    )
    assert "days between the two recordings" in d.masking


def _segment(frame: int, seq: int, payload: bytes) -> Segment:
    return Segment(frame, 0.0, 0, True, seq, frozenset({"ACK"}), payload)


def test_plaintexts_pair_per_frame_when_tshark_merges_two_records():
    ccs, fin = bytes.fromhex("140303000101"), bytes.fromhex("1603030004") + b"FFFF"
    app1, app2 = bytes.fromhex("1703030002") + b"aa", bytes.fromhex("1703030003") + b"bbb"
    segments = [_segment(5, 1, ccs + fin), _segment(7, 1 + len(ccs + fin), app1 + app2)]
    both = build_recording(segments, {5: (b"\x14\x00\x00\x00",), 7: (b"G", b"ET")})
    conn = both.connections[0]
    assert conn.decrypted
    assert [r.plaintext for r in conn.records] == [None, b"\x14\x00\x00\x00", b"G", b"ET"]
    # One block for the two records of frame 7 (BearSSL's 1/n-1 split under TLS 1.0):
    # the Finished still pairs, the application data stays sealed.
    merged = build_recording(segments, {5: (b"\x14\x00\x00\x00",), 7: (b"GET",)})
    conn = merged.connections[0]
    assert not conn.decrypted
    assert [r.plaintext for r in conn.records] == [None, b"\x14\x00\x00\x00", None, None]
    # Compared with the fully decrypted one: the Finished by plaintext, the rest by length.
    a = Recording(both, (), 443)
    b = Recording(merged, (), 443)
    assert compare(a, b).differences == ()
