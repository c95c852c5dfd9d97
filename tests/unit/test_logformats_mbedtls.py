from harness.analysis.logformats import parse_serial
from harness.analysis.logformats.lines import read_pasted_log
from harness.analysis.logformats.mbedtls import MbedtlsParser
from harness.model import Direction
from tests.samples import DATA

LOGS = DATA / "logs"


def events(name: str):
    return parse_serial(read_pasted_log((LOGS / name).read_text()), "mbedtls")


def test_5480_old_format_verify_failed_twice_attempted():
    evs = events("arduino-esp32-5480_x509_verify_failed.log")
    errors = [e for e in evs if e.kind == "log_error"]
    assert [e.fields["code"] for e in errors] == [-9984, -9984]
    # Alone, -9984 is only the likely reading untrusted_cert (a name mismatch gives it too).
    assert (errors[0].fields["cause"], errors[0].fields["cause_confidence"]) == (
        "untrusted_cert",
        "likely",
    )
    assert "x509" not in errors[0].fields
    assert errors[0].fields["where"] == "start_ssl_client"
    steps = [e.fields["step"] for e in evs if e.kind == "log_state"]
    assert steps[:8] == [
        "socket",
        "seed_rng",
        "setup",
        "load_ca",
        "set_hostname",
        "handshake",
        "cleanup",
        "socket",
    ]
    heap = [e.fields["free"] for e in evs if e.kind == "log_heap"]
    assert heap == [280464, 280464, 277968, 277968]
    assert [e.kind for e in evs if e.text == "Connection failed!"] == ["connect_result"]


def test_5710_new_format_cipher_and_verified():
    evs = events("arduino-esp32-5710_verbose_handshake.log")
    cipher = [e for e in evs if e.kind == "log_cipher"]
    assert cipher[0].fields["suite"] == "TLS-ECDHE-RSA-WITH-AES-256-GCM-SHA384"
    assert cipher[0].fields["protocol"] == "TLSv1.2"
    hello = [e for e in evs if e.kind == "log_state" and e.fields.get("handshake_type") == 1]
    assert len(hello) == 1 and hello[0].direction is Direction.C2S
    assert any(e.fields.get("step") == "verified" for e in evs)
    assert evs[-1].kind == "log_other"  # HTTPClient.cpp is not the TLS stack


def test_7511_bare_clock_stamps_and_invalid_record():
    lines = read_pasted_log((LOGS / "arduino-esp32-7511_invalid_record_panic.log").read_text())
    assert lines[0].text.startswith("[49347651][V]")
    assert lines[0].t == 5 * 3600 + 43 * 60 + 28
    err = [e for e in parse_serial(lines, "mbedtls") if e.kind == "log_error"]
    assert err[0].fields["code"] == -29184 and err[0].fields["where"] == "data_to_read"


def test_649_line_glued_behind_sketch_text():
    evs = events("arduinowebsockets-649_x509_verify_failed.log")
    assert [e.kind for e in evs[:3]] == ["log_other", "log_error", "log_error"]
    assert evs[1].fields["message_id"] == "mbedtls.error.-9984"


def test_794_verified_then_guru_meditation():
    evs = events("pubsubclient-794_verified_then_panic.log")
    assert [e.kind for e in evs if e.kind in ("log_exception", "log_stack")][:1] == [
        "log_exception"
    ]
    panic = next(e for e in evs if e.kind == "log_exception")
    assert panic.fields["kind"] == "LoadProhibited" and panic.fields["core"] == 1


def test_codes_and_verify_info():
    p = MbedtlsParser()
    cases = {
        "(-30592) SSL - A fatal alert message was received from our peer": (
            "fatal_alert",
            "received",
        ),
        "(-32512) SSL - Memory allocation failed": ("oom", True),
        "(-29312) SSL - The connection indicated an EOF": ("eof", True),
        "(-27136) SSL - A buffer is too small to receive or write a message": (
            "record_too_large",
            True,
        ),
    }
    for msg, (key, value) in cases.items():
        e = p.parse(
            0.0, f"[  1234][E][ssl_client.cpp:37] _handle_error(): [start_ssl_client():273]: {msg}"
        )
        assert e.kind == "log_error" and e.fields[key] == value
    e = p.parse(0.0, "[E][NetworkClientSecure.cpp:159] connect(): start_ssl_client: -1")
    assert e.fields["code"] == -1
    e = p.parse(0.0, "  ! The certificate Common Name (CN) does not match with the expected CN")
    assert e.fields["x509"] == "hostname_mismatch"
    e = p.parse(0.0, "E (5324) esp-tls-mbedtls: mbedtls_ssl_handshake returned -0x2700")
    assert e.fields["code"] == -9984 and e.fields["cause_confidence"] == "likely"
    assert p.parse(0.0, "[D][WiFiGeneric.cpp:342] _eventCallback(): Event: 7 - STA_GOT_IP") is None
