"""What a pasted log tells of the server and the board's set-up."""

from __future__ import annotations

from harness.analysis.logformats import detect_stack, parse_serial
from harness.analysis.logformats.lines import read_pasted_log
from harness.analysis.logformats.logfacts import read_facts
from tests.samples import DATA

LOGS = DATA / "logs"


def _facts(name: str):
    lines = read_pasted_log((LOGS / name).read_text())
    stack = detect_stack(lines)
    return read_facts(parse_serial(lines, stack), stack)


def test_the_founding_paste_tells_server_certificate_and_alerts():
    f = _facts("esp8266-arduino-4826_as_pasted.log")
    assert (f.stack, f.host, f.by_ip, f.trust) == ("axtls", "192.168.1.210", True, ("ca",))
    assert f.alerts_received == ("handshake_failure",)
    assert f.alerts_sent == ("unexpected_message", "close_notify")
    c = f.cert
    assert c is not None and c.key_bits == 2048 and c.signature == "SHA256"
    assert c.self_signed and c.date_wrapped  # notAfter 2118 printed as 1982
    assert any("notAfter wrapped" in line for line in f.lines())


def test_bearssl_without_trust_and_an_http_host():
    f = _facts("esp8266-arduino-7843_bearssl_no_auth.log")
    assert f.stack == "bearssl" and f.trust == ("none",) and f.host == "google.com"


def test_the_certificate_check_reason():
    f = _facts("esp8266-arduino-5019_getlastsslerror_54.log")
    assert f.x509 == ("expired",)
    assert f.to_json()["x509"] == ["expired"]


def test_the_fingerprints_a_bearssl_log_prints():
    f = _facts("esp8266-arduino-6209_bearssl_fingerprint_mismatch.log")
    said = dict(f.fingerprints)
    assert said["wanted"].startswith("73 5d 6b") and said["received"].startswith("85 41 43")
    assert "fingerprint" in f.trust


def test_the_axtls_offer_is_named_though_no_log_prints_it():
    f = _facts("esp8266-arduino-4826_as_pasted.log")
    assert f.offered_suites == (0x003C, 0x003D, 0x0035, 0x002F)
    assert any(line.startswith("suites the board offers") for line in f.lines())
