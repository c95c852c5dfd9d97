"""The esp8266-bearssl and esp32-mbedtls twins end to end, each against two or more
profiles; the expected outcomes are those recorded on the real stacks (the core data
cites the recordings; FIDELITY-<personality>.md lists what differs)."""

from __future__ import annotations

import re

from harness.model import Direction, Outcome, Source
from harness.model.cores import releases
from tests.samples import wire_events

CORE = {r.id: r for r in releases()}


def _serial(record) -> list[str]:
    return [e.text for e in record.timeline.events if e.source is Source.SERIAL]


def _client_alerts(record) -> list[int]:
    return [
        e.fields["description"]
        for e in wire_events(record, "alert")
        if e.direction is Direction.C2S
    ]


def test_founding_report_on_core_2_5_connects_with_ecdhe_rsa_aes_gcm(hil_run):
    """The founding report's second fix: the same sketch on a BearSSL core."""
    record = hil_run("founding-report-core-2.5")
    assert record.verdict.outcome is Outcome.PASS, record.verdict.reason
    (hello,) = wire_events(record, "client_hello")
    assert hello.fields["suites"] == list(CORE["esp8266-2.5.2"].tls.default_suites)
    (server_hello,) = wire_events(record, "server_hello")
    assert server_hello.fields["suite"] in (0xC02F, 0xC030)  # ECDHE-RSA-AES{128,256}-GCM
    serial = _serial(record)
    assert "BSSL:Connected!" in serial
    assert "HIL:DONE connected=1 verified=1" in serial


def test_bearssl_trust_anchor_connects(hil_run):
    record = hil_run("bearssl-trust-anchors-ok")
    assert record.verdict.outcome is Outcome.PASS, record.verdict.reason
    (hello,) = wire_events(record, "client_hello")
    assert hello.fields["suites"] == list(CORE["esp8266-3.1.2"].tls.default_suites)
    assert hello.fields["sni"] == "127.0.0.1"
    # Recorded order: renegotiation_info, server_name, max_fragment_length (512, from the
    # 597-byte output buffer), signature_algorithms, supported_groups, ec_point_formats.
    assert hello.fields["extensions"] == [0xFF01, 0, 1, 13, 10, 11]
    assert "status: HTTP/1.1 200 OK" in _serial(record)


def test_bearssl_ip_only_san_fails_on_the_server_name(hil_run):
    record = hil_run("bearssl-trust-anchors-ip-san")
    assert record.verdict.outcome is Outcome.PASS, record.verdict.reason
    serial = _serial(record)
    start = serial.index("BSSL:_connectSSL: start connection")
    assert serial[start : start + 3] == [
        "BSSL:_connectSSL: start connection",
        "BSSL:_wait_for_handshake: failed",
        "BSSL:Couldn't connect. Error = 'Expected server name was not found in the chain.'",
    ]
    assert "getLastSSLError = 56: Expected server name was not found in the chain." in serial
    # As recorded: the board closes without an alert of its own.
    assert _client_alerts(record) == []


def test_bearssl_insecure_dumps_the_certificate_in_256_byte_lines(hil_run):
    record = hil_run("bearssl-insecure-self-signed")
    assert record.verdict.outcome is Outcome.PASS, record.verdict.reason
    dump = [ln for ln in _serial(record) if ln.startswith("BSSL:CERT: ")]
    sizes = [len(ln.split()) - 1 for ln in dump]
    assert sizes and all(n == 256 for n in sizes[:-1]) and 0 < sizes[-1] <= 256


def test_bearssl_without_trust_method_warns_and_fails(hil_run):
    record = hil_run("bearssl-no-trust")
    assert record.verdict.outcome is Outcome.PASS, record.verdict.reason
    serial = _serial(record)
    assert "BSSL:Connection *will* fail, no authentication method is setup" in serial
    assert "HIL:DONE connected=0 verified=0" in serial


ESP32_V = re.compile(r"^\[\s*\d+\]\[V\]\[ssl_client\.cpp:(\d+)\] start_ssl_client\(\): (.*)$")


def test_esp32_setcacert_connects_with_the_releases_log_lines(hil_run):
    record = hil_run("esp32-setcacert-ok")
    assert record.verdict.outcome is Outcome.PASS, record.verdict.reason
    (server_hello,) = wire_events(record, "server_hello")
    assert server_hello.fields["suite"] == 0xC030  # recorded: ECDHE-RSA-AES256-GCM-SHA384
    (hello,) = wire_events(record, "client_hello")
    core = CORE["esp32-2.0.17"].tls
    assert hello.fields["suites"] == [*core.default_suites, 0x00FF]  # + mbedTLS's SCSV
    assert hello.fields["extensions"] == list(core.extensions)
    steps = [m.groups() for ln in _serial(record) if (m := ESP32_V.match(ln))]
    # The lines and source line numbers of the recorded 2.0.17 log, in order (the field
    # logs' numbers: tests/data/golden/esp32-2.0.17/*/PROVENANCE.md).
    assert steps == [
        ("62", "Free internal heap before TLS 0"),
        ("68", "Starting socket"),
        ("146", "Seeding the random number generator"),
        ("155", "Setting up the SSL/TLS structure..."),
        ("178", "Loading CA cert"),
        ("254", "Setting hostname for TLS session..."),
        ("269", "Performing the SSL/TLS handshake..."),
        ("290", "Verifying peer X.509 certificate..."),
        ("298", "Certificate verified."),
        ("313", "Free internal heap after TLS 0"),
    ]


def test_esp32_ip_only_san_fails_with_9984_and_bad_certificate(hil_run):
    record = hil_run("esp32-setcacert-ip-san")
    assert record.verdict.outcome is Outcome.PASS, record.verdict.reason
    serial = _serial(record)
    assert any(
        ln.endswith(
            "[E][ssl_client.cpp:37] _handle_error(): [start_ssl_client():273]: (-9984) X509 - "
            "Certificate verification failed, e.g. CRL, CA or signature check failed"
        )
        for ln in serial
    )
    assert _client_alerts(record) == [42]  # recorded: fatal bad_certificate


def test_esp32_against_tls13_only_gets_the_servers_alert(hil_run):
    record = hil_run("esp32-tls13-only")
    assert record.verdict.outcome is Outcome.PASS, record.verdict.reason
    assert any(
        "(-30592) SSL - A fatal alert message was received from our peer" in ln
        for ln in _serial(record)
    )


def test_bearssl_mfln_probe_then_server_name_failure(hil_run):
    record = hil_run("bearssl-mfln-probe-ip-san")
    assert record.verdict.outcome is Outcome.PASS, record.verdict.reason
    serial = _serial(record)
    assert "MFLN supported: yes" in serial  # recorded: probeMaxFragmentLength(512) = 1
    assert "getLastSSLError = 56: Expected server name was not found in the chain." in serial


def test_bearssl_httpclient_get(hil_run):
    record = hil_run("bearssl-httpclient-ok")
    assert record.verdict.outcome is Outcome.PASS, record.verdict.reason
    assert "HTTP code: 200" in _serial(record)


def test_bearssl_httpclient_error_text_of_the_release(hil_run):
    record = hil_run("bearssl-httpclient-ip-san")
    assert record.verdict.outcome is Outcome.PASS, record.verdict.reason
    assert "GET failed, error: -1 connection failed" in _serial(record)


def test_esp32_1_0_6_log_format_and_lines(hil_run):
    record = hil_run("esp32-1.0.6-setcacert-ip-san")
    assert record.verdict.outcome is Outcome.PASS, record.verdict.reason
    serial = _serial(record)
    # As recorded on 1.0.6: no millis field, its own line numbers.
    assert (
        "[E][ssl_client.cpp:36] _handle_error(): [start_ssl_client():216]: (-9984) X509 - "
        "Certificate verification failed, e.g. CRL, CA or signature check failed"
    ) in serial
    assert "[E][WiFiClientSecure.cpp:127] connect(): start_ssl_client: -9984" in serial
    assert "[V][ssl_client.cpp:265] stop_ssl_socket(): Cleaning SSL connection." in serial


def test_bearssl_received_alert_code_by_release(hil_run):
    """Recorded: 2.5.x keeps the alert flag (256 + 70), 3.x strips and names it."""
    old = hil_run("bearssl-2.5-tls13-only")
    assert old.verdict.outcome is Outcome.PASS, old.verdict.reason
    assert "getLastSSLError = 326: Unknown error code." in _serial(old)
    new = hil_run("bearssl-tls13-only")
    assert new.verdict.outcome is Outcome.PASS, new.verdict.reason
    assert "getLastSSLError = 70: SSL received fatal alert - Unknown error code." in _serial(new)


# Core 2.4.2's second class, BearSSL::WiFiClientSecure, run with the recorder's sketch in
# 2.4.2's names; outcomes as recorded (tests/data/golden/esp8266-2.4.2/*--bearssl*).
BSSL_242 = CORE["esp8266-2.4.2"].personality_release("bearssl")
SKETCH_242 = {"sketch": "golden_esp8266_bearssl", "board": "twin-esp8266-2.4.2"}
NAMES_242 = {"HIL_GOLDEN_X509_GLOBAL_NAME": "1"}


def test_242_bearssl_class_insecure_connects_with_its_own_hello(hil_marked_run):
    """Recorded: self-signed--bearssl--insecure connected; 37 suites, no BSSL lines."""
    record = hil_marked_run(
        **SKETCH_242, profile="self-signed", defines={**NAMES_242, "HIL_GOLDEN_MODE": '"insecure"'}
    )
    (hello,) = wire_events(record, "client_hello")
    assert hello.fields["suites"] == list(BSSL_242.tls.default_suites)
    assert len(hello.fields["suites"]) == 37  # the axTLS class of the same firmware has 4
    serial = _serial(record)
    assert "sketch: status: HTTP/1.1 200 OK" in serial
    assert not [ln for ln in serial if ln.startswith("BSSL:")]  # 2.4.2 has no DEBUG_BSSL


def test_242_bearssl_class_without_trust_method_fails_silently(hil_marked_run):
    """Recorded: mozilla-intermediate--bearssl--none--ip, 62 and no warning line."""
    record = hil_marked_run(
        **SKETCH_242,
        profile="mozilla-intermediate",
        defines={**NAMES_242, "HIL_GOLDEN_MODE": '"none"', "HIL_CONNECT_BY_IP": "1"},
        expect={"connected": False},
    )
    serial = _serial(record)
    assert (
        "sketch: connect failed, getLastSSLError = 62: "
        "Chain could not be linked to a trust anchor." in serial
    )
    assert not [ln for ln in serial if ln.startswith("BSSL:")]
    assert _client_alerts(record) == []
