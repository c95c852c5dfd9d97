"""The scanner of what a user's sketch hard-codes, on sketches written as people post them."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from harness.analysis.sketch_source import (
    ip_literal_note,
    parse_source,
    pem_der,
    pinned_notes,
    sketch_files,
    strip_comments,
)

USER_SKETCHES = Path(__file__).resolve().parents[1] / "data" / "user_sketches"
SHIPPED = Path(__file__).resolve().parents[2] / "sketches"


def facts_of(folder: Path):
    return parse_source(sketch_files((p.name, p.read_text()) for p in folder.iterdir()))


def test_bearssl_fingerprint_byte_array_and_url() -> None:
    f = facts_of(USER_SKETCHES / "esp8266_fingerprint_httpclient")
    assert f.hosts == ("api.weather.example.com",)
    assert f.ips == ()
    assert f.ports == (443,)
    assert [(fp.algorithm, fp.hex) for fp in f.fingerprints] == [
        ("sha1", "3b910c8a47e25d16a90f72c4881e63b5d02a947f")
    ]
    assert f.pems == ()
    assert not f.uses_scenario_header
    assert f.server_name == "api.weather.example.com"


def test_insecure_host_variable_and_port_constant() -> None:
    f = facts_of(USER_SKETCHES / "esp8266_insecure_host")
    # The SSID and password of #define WIFI_* are not servers.
    assert f.hosts == ("iot.example.net",)
    assert f.ports == (8443,)
    assert f.fingerprints == ()


def test_esp32_pem_in_continued_literals() -> None:
    f = facts_of(USER_SKETCHES / "esp32_cacert_pem")
    assert f.hosts == ("data.example.org",)
    assert f.ports == (443,)
    assert len(f.certificates) == 1
    pem = f.certificates[0]
    assert pem.startswith("-----BEGIN CERTIFICATE-----\nMIIBlTCCATug")
    assert pem.endswith("9bnoFaBzjEwSQFtuxAzGlai3mHLFZgJuYw==\n-----END CERTIFICATE-----")
    # The PEM parses: it is the block the sketch holds, joined across its lines.
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(pem.encode())
    assert "Example Sensors Root CA" in cert.subject.rfc4514_string()


def test_ip_literal_string_fingerprint_raw_pem_and_ipaddress() -> None:
    source = r"""
#include <ESP8266WiFi.h>
#include <WiFiClientSecure.h>
const char* ssid = "router.lan";      // looks like a host: it is the SSID
const char *host = "192.168.1.210";
const uint16_t port = 4443;
const char fp[] PROGMEM = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01";
static const char cert[] PROGMEM = R"EOF(
-----BEGIN CERTIFICATE-----
MIIBszCCAVmgAwIBAgIUV
-----END CERTIFICATE-----
)EOF";
IPAddress mqtt(10, 0, 0, 7);
IPAddress gateway(192, 168, 1, 1);
void setup() {
  configTime(0, 0, "pool.ntp.org", "time.nist.gov");
  Serial.println("see https://docs.example.com/help");  // printed, not dialed
  // client.connect("old.example.com", 443);
  /* "another.example.com" */
  client.connect(host, port);
  client.connect(mqtt, 8883);
}
"""
    f = parse_source(source)
    assert f.hosts == ()
    assert f.ips == ("192.168.1.210", "10.0.0.7")
    assert set(f.ports) == {4443, 8883}
    assert [(fp.algorithm, fp.hex) for fp in f.fingerprints] == [
        ("sha1", "abcdef0123456789abcdef0123456789abcdef01")
    ]
    assert len(f.certificates) == 1
    assert f.server_name == "192.168.1.210"


def test_sha256_fingerprint_and_http_url_port() -> None:
    fp = " ".join(["a5"] * 32)
    f = parse_source(
        f'const char* fp = "{fp}";\nhttp.begin(client, "https://[::1]/x");\n'
        'http.begin(c, "http://plain.example.com:8080/a");\n'
    )
    assert f.fingerprints[0].algorithm == "sha256"
    assert f.hosts == ("plain.example.com",)
    assert f.ports == (8080,)


def test_strip_comments_keeps_strings_and_length() -> None:
    src = "a = \"x // not a comment\"; // comment\n/* b\n c */ d = '/';"
    out = strip_comments(src)
    assert len(out) == len(src)
    assert '"x // not a comment"' in out
    assert "comment\n" not in out.split(";", 1)[1]
    assert out.count("\n") == src.count("\n")


@pytest.mark.parametrize("name", sorted(p.name for p in SHIPPED.iterdir() if p.is_dir()))
def test_shipped_sketches_are_harness_sketches(name: str) -> None:
    # Every sketch we ship takes its server from hil_scenario.h: the harness must not
    # treat one as a user's sketch (no framing, no address map).
    f = facts_of(SHIPPED / name)
    assert f.uses_scenario_header
    assert f.hosts == () and f.ips == ()


def test_pinned_notes_compare_what_the_sketch_pins_with_what_was_served() -> None:
    f = facts_of(USER_SKETCHES / "esp8266_fingerprint_httpclient")
    served = "3b910c8a47e25d16a90f72c4881e63b5d02a947f"
    same = pinned_notes(f, served, "00" * 32, "11" * 32)
    assert same == [
        f"the sketch pins the SHA1 fingerprint {served}; the served certificate's is {served}: "
        "the same"
    ]
    other = pinned_notes(f, "ab" * 20, "00" * 32, "11" * 32)
    assert other[0].endswith("they differ (the sketch's is another certificate's)")
    pem = facts_of(USER_SKETCHES / "esp32_cacert_pem")
    der = pem_der(pem.certificates[0])
    assert der is not None
    digest = hashlib.sha256(der).hexdigest()
    assert pinned_notes(pem, "ab" * 20, "00" * 32, digest)[0].endswith(": the same")
    assert "another CA" in pinned_notes(pem, "ab" * 20, "00" * 32, "11" * 32)[0]


def test_ip_literal_note_says_what_each_stack_does_with_an_ip_san() -> None:
    by_ip = parse_source('void setup() { client.connect("192.168.1.210", 443); }')
    note = ip_literal_note(by_ip, "bearssl", ip_san=True)
    assert note is not None
    assert "192.168.1.210" in note and "error 56" in note
    assert "-9984" in (ip_literal_note(by_ip, "mbedtls", ip_san=True) or "")
    assert ip_literal_note(by_ip, "bearssl", ip_san=False) is None
    by_name = parse_source('void setup() { client.connect("iot.example.net", 443); }')
    assert ip_literal_note(by_name, "bearssl", ip_san=True) is None


def test_an_address_built_at_run_time_is_not_guessed() -> None:
    f = facts_of(USER_SKETCHES / "esp8266_runtime_address")
    assert f.hosts == ("sensors.example.com",)
    assert f.ips == ()  # "192.168.4." + lastOctet: the twin's guard refuses it
    assert f.ports == (443,)


def test_the_server_is_what_connect_or_begin_names_not_the_first_name_seen() -> None:
    f = parse_source(
        'const char* banner = "Weather.Station";\n'
        'const char* host = "api.example.com";\n'
        "IPAddress backup(10, 1, 2, 3);\n"
        "void setup() {\n"
        "  client.connect(host, 443);\n"
        "  client.connect(backup, 443);\n"
        "}\n"
    )
    assert f.hosts == ("Weather.Station", "api.example.com")  # both mapped, harmlessly
    assert f.dialed == ("api.example.com", "10.1.2.3")
    assert f.server_name == "api.example.com"
    post = facts_of(USER_SKETCHES / "esp32_httpclient_post")
    assert post.dialed == ("ingest.example.com",)  # http.begin(client, serverName)
    assert post.ports == (8443,)
