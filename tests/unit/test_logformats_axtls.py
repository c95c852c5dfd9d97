from harness.analysis.logformats import parse_serial
from harness.analysis.logformats.lines import read_pasted_log, read_serial_log
from harness.model import Direction
from tests.samples import FOUNDING_LOG, founding_events


def test_every_line_becomes_one_event_in_order():
    lines = read_pasted_log(FOUNDING_LOG.read_text())
    events = founding_events()
    assert [e.text for e in events] == [ln.text for ln in lines]
    assert len(events) == 29


def test_state_alerts_and_errors_of_the_report():
    events = [e for e in founding_events() if e.kind in ("log_state", "log_alert", "log_error")]
    got = [(e.kind, e.direction, e.fields.get("description"), e.fields.get("code")) for e in events]
    assert got == [
        ("log_state", Direction.C2S, None, None),
        ("log_alert", Direction.S2C, 40, None),  # the server's alert, received
        ("log_error", None, None, -40),
        ("log_alert", Direction.C2S, 10, None),  # the board's own, after send_alert's error
        ("log_error", None, None, -40),
        ("log_alert", Direction.C2S, 0, None),  # close_notify when the context is freed
    ]
    assert events[0].fields["handshake_type"] == 1


def test_certificate_dump_sections_and_wrapped_date():
    cert = [e for e in founding_events() if e.kind == "log_cert" and not e.fields.get("header")]
    subject = {e.fields["key"]: e.fields["value"] for e in cert if e.fields["section"] == "subject"}
    issuer = {e.fields["key"]: e.fields["value"] for e in cert if e.fields["section"] == "issuer"}
    assert subject["CN"] == "192.168.1.210"
    assert subject["basic_constraints"] == "critical, CA:TRUE, pathlen:10000"
    assert issuer["not_after"] == "Sun Apr 11 04:02:21 1982"
    assert issuer["rsa_bits"] == "2048"


def test_unknown_lines_are_kept_as_log_other():
    kinds = {e.text: e.kind for e in founding_events()}
    assert kinds[".Set CA Cert"] == "log_other"
    assert kinds["Connection failed"] == "connect_result"
    assert kinds["Connecting to 192.168.1.210"] == "connect_start"


def test_unknown_alert_number_is_kept():
    events = parse_serial(read_pasted_log("Alert: alert - (unknown 112)\n"), "axtls")
    assert events[0].fields["description"] == 112


def test_pasted_log_tolerates_crlf_ansi_fences_and_monitor_stamps():
    text = "```\r\n12:00:01.250 -> \x1b[32mState:\tsending Client Hello (1)\x1b[0m\r\n```\r\n"
    lines = read_pasted_log(text)
    assert [ln.text for ln in lines] == ["State:\tsending Client Hello (1)"]
    assert lines[0].t == 12 * 3600 + 1.25
    assert parse_serial(lines, "axtls")[0].kind == "log_state"


def test_serial_log_format_round_trip():
    lines = read_serial_log("1700000000.500000\tHIL:BOOT build=abc\nnot a line\n")
    assert len(lines) == 1 and lines[0].t == 1700000000.5
    event = parse_serial(lines, "axtls")[0]
    assert event.kind == "boot" and event.fields["build"] == "abc"


def test_a_dump_line_whose_tab_the_paste_dropped_is_still_read():
    from harness.analysis.logformats import parse_serial
    from harness.analysis.logformats.lines import read_pasted_log

    lines = read_pasted_log(
        "=== CERTIFICATE ISSUED TO ===\nOrganizational Unit (OU):MIS\nAlert:x\n"
    )
    events = parse_serial(lines, "axtls")
    assert (events[1].kind, events[1].fields.get("key"), events[1].fields.get("value")) == (
        "log_cert",
        "OU",
        "MIS",
    )
