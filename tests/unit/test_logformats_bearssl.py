from harness.analysis.logformats import parse_serial
from harness.analysis.logformats.bearssl import ERROR_TEXTS, BearsslParser, error_fields
from harness.analysis.logformats.lines import read_pasted_log
from harness.model import Direction, Source
from tests.samples import DATA

LOGS = DATA / "logs"


def events(name: str, stack: str = "bearssl"):
    return parse_serial(read_pasted_log((LOGS / name).read_text()), stack)


def kinds(evs, *wanted):
    return [e for e in evs if e.kind in wanted]


def test_7801_timeout_then_unknown_error_on_indented_lines():
    evs = events("esp8266-arduino-7801_bearssl_timeout.log")
    assert [e.kind for e in evs] == [
        "log_other",
        "log_state",
        "log_error",
        "log_error",
        "log_error",
    ]
    start, timeout, failed, couldnt = evs[1:]
    assert start.direction is Direction.C2S and start.fields["handshake_type"] == 1
    assert timeout.fields["timeout"] is True
    assert failed.fields["handshake_failed"] is True
    assert couldnt.fields["message"] == "Unknown error code."
    assert couldnt.fields["unknown_code"] is True
    assert all(e.fields["stack"] == "bearssl" and e.source is Source.SERIAL for e in evs[1:])


def test_7843_no_authentication_method():
    evs = events("esp8266-arduino-7843_bearssl_no_auth.log")
    trust = kinds(evs, "log_trust")
    assert len(trust) == 1 and trust[0].fields["method"] == "none"
    assert len(evs) == 13


def test_6247_monitor_stamps_and_handshake_failure():
    lines = read_pasted_log(
        (LOGS / "esp8266-arduino-6247_bearssl_server_handshake.log").read_text()
    )
    evs = parse_serial(lines, "bearssl")
    failed = kinds(evs, "log_error")
    assert [e.text for e in failed] == ["BSSL:_wait_for_handshake: failed"]
    assert failed[0].t == 3 * 3600 + 32 * 60 + 18.920
    assert [e.t for e in evs] == sorted(e.t for e in evs)


def test_couldnt_connect_texts_map_to_codes():
    parser = BearsslParser()
    cases = {
        "Chain could not be linked to a trust anchor.": ("untrusted", 62),
        "Certificate is expired or not yet valid.": ("expired", 54),
        "Expected server name was not found in the chain.": ("hostname_mismatch", 56),
    }
    for text, (x509, code) in cases.items():
        e = parser.parse(0.0, f"BSSL:Couldn't connect. Error = '{text}'")
        assert e.kind == "log_error" and e.fields["x509"] == x509 and e.fields["code"] == code
    oom = parser.parse(0.0, f"BSSL:Couldn't connect. Error = '{ERROR_TEXTS[-1000]}'")
    assert oom.fields["oom"] is True and oom.fields["code"] == -1000


def test_error_numbers_alerts_and_sketch_prints():
    assert error_fields(296)["alert_received"] == 40
    assert error_fields(552)["alert_sent"] == 40
    assert error_fields(6)["record_too_large"] is True
    parser = BearsslParser()
    e = parser.parse(0.0, "Last SSL error was: 296")
    assert e.kind == "log_error" and e.fields["alert_received"] == 40
    e = parser.parse(0.0, "SSL error: Chain could not be linked to a trust anchor.")
    assert e.fields["x509"] == "untrusted"
    assert parser.parse(0.0, "MFLN supported: yes").fields["supported"] is True
    assert parser.parse(0.0, "MFLN supported: no").kind == "log_mfln"


def test_fingerprint_mismatch_and_cert_dump():
    parser = BearsslParser()
    e = parser.parse(0.0, "BSSL:insecure_end_chain: Received cert FP doesn't match")
    assert e.fields["fingerprint_mismatch"] is True
    e = parser.parse(0.0, "BSSL:insecure_end_chain: expected 01 02 03 ")
    assert e.kind == "log_cert" and e.fields["key"] == "expected"
    e = parser.parse(0.0, "BSSL:CERT: 30 82 06 d4")
    assert e.kind == "log_cert" and e.fields["value"] == "30 82 06 d4"
    state = parser.parse(0.0, "BSSL:SERVER_HELLO received")
    assert state.fields["handshake_type"] == 2 and state.direction is Direction.S2C
    assert parser.parse(0.0, "BSSL:_connectSSL: OOM error").fields["oom"] is True
