"""Users' sketches, unchanged (tests/data/user_sketches): `hil run --sketch DIR --board B
--profile P` builds each with no hil_scenario.h, maps what it hard-codes to the run's
server, frames setup() and ends the run when Serial goes quiet; the cause is judged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography import x509

from harness.cli import main

pytestmark = pytest.mark.scenario

SKETCHES = Path(__file__).resolve().parents[1] / "data" / "user_sketches"

CASES = [
    # sketch, board, profile, expectation, the host the sketch dials, its port
    (
        "esp8266_fingerprint_httpclient",
        "twin-esp8266-3.1.2",
        "mozilla-intermediate",
        ("--expect-cause", "fingerprint_mismatch"),
        "api.weather.example.com",
        443,
    ),
    (
        "esp8266_insecure_host",
        "twin-esp8266-2.7.4",
        "mozilla-intermediate",
        ("--expect-connected", "yes"),
        "iot.example.net",
        8443,
    ),
    (
        "esp32_httpclient_post",
        "twin-esp32-1.0.6",
        "mozilla-intermediate",
        ("--expect-connected", "yes"),
        "ingest.example.com",
        8443,
    ),
    (
        "esp32_cacert_pem",
        "twin-esp32-2.0.17",
        "mozilla-intermediate",
        ("--expect-cause", "untrusted_cert"),
        "data.example.org",
        443,
    ),
]


@pytest.mark.parametrize(
    ("sketch", "board", "profile", "expect", "host", "port"), CASES, ids=[c[0] for c in CASES]
)
def test_user_sketch_runs_unchanged(
    capsys, hil_runs_dir, sketch, board, profile, expect, host, port
):
    code = main(
        [
            "run", "--sketch", str(SKETCHES / sketch), "--board", board, "--profile", profile,
            *expect, "--runs-dir", str(hil_runs_dir), "--json",
        ]
    )  # fmt: skip
    doc = json.loads(capsys.readouterr().out)
    assert code == 0, doc["reason"]
    assert doc["verdict"] == "pass"
    run_dir = Path(doc["run_dir"])
    serial = [e["text"] for e in doc["timeline"] if e["source"] == "serial" and e["text"]]
    # The harness framed setup(): the sketch prints no HIL: line of its own.
    assert serial[0].startswith("HIL:BOOT build=")
    assert "HIL:DONE setup() returned" in serial
    assert "HIL:BOOT" not in (SKETCHES / sketch / f"{sketch}.ino").read_text()
    # What the sketch dials went to the run's server: the map, and the SNI it sent.
    mapping = (run_dir / "twin-network-map.txt").read_text().splitlines()
    assert f"HIL_ADDR_MAP={host}=127.0.0.1" in mapping
    assert any(line.startswith(f"HIL_PORT_MAP={port}=") for line in mapping)
    hellos = [e for e in doc["timeline"] if e["kind"] == "server_client_hello"]
    assert hellos and all(e["fields"].get("sni") == host for e in hellos), hellos
    # The certificate was issued for the sketch's host name (a dNSName SAN).
    cert = x509.load_pem_x509_certificate((run_dir / "certs" / "cert.pem").read_bytes())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == [host]
    # The loop()-driven sketch (a GET every 10 s) ended on quiet Serial, after one round.
    wire_hellos = [
        e for e in doc["timeline"] if e["kind"] == "client_hello" and e["source"] == "wire"
    ]
    assert len(wire_hellos) == 1
    if "fingerprint" in sketch:
        claims = [ev["claim"] for ev in doc["diagnosis"]["evidence"]]
        assert any("the sketch pins the SHA1 fingerprint 3b910c8a" in c for c in claims), claims
    if "post" in sketch:
        requests = [e["fields"] for e in doc["timeline"] if e["kind"] == "server_request"]
        assert [(r["method"], r["path"]) for r in requests] == [("POST", "/api/v1/readings")]
    if "cacert" in sketch:
        claims = [ev["claim"] for ev in doc["diagnosis"]["evidence"]]
        assert any("it is another CA" in c for c in claims), claims


def test_an_address_the_sketch_builds_at_run_time_is_refused(capsys, hil_runs_dir):
    # The map holds what the source says; an address made at run time is not in it,
    # is not loopback, and the guard refuses it before any packet, saying so on Serial.
    code = main(
        [
            "run", "--sketch", str(SKETCHES / "esp8266_runtime_address"),
            "--board", "twin-esp8266-3.1.2", "--profile", "mozilla-intermediate",
            "--expect-cause", "tcp_connect_failed", "--runs-dir", str(hil_runs_dir), "--json",
        ]
    )  # fmt: skip
    doc = json.loads(capsys.readouterr().out)
    assert code == 0, doc["reason"]
    serial = [e["text"] for e in doc["timeline"] if e["source"] == "serial"]
    assert (
        "HIL:REFUSED 192.168.4.77: the twin only connects to 127.0.0.0/8 (map it with HIL_ADDR_MAP)"
        in serial
    )
    # The name in the source was mapped and reached the server; the refused one never did.
    syns = [e for e in doc["timeline"] if e["kind"] == "tcp_syn"]
    assert len(syns) == 1
    ok = [e for e in doc["timeline"] if e["kind"] == "server_handshake_ok"]
    assert [e["fields"]["sni"] for e in ok] == ["sensors.example.com"]
    assert doc["diagnosis"]["cause"] == "tcp_connect_failed"


def test_a_real_board_refuses_a_users_sketch_with_the_reason(capsys, hil_runs_dir):
    # A real board dials what the sketch says and its build prints no HIL: lines: the
    # run says so before building, instead of waiting for a HIL:BOOT that never comes.
    code = main(
        [
            "run", "--sketch", str(SKETCHES / "esp8266_insecure_host"),
            "--board", "esp-esp8266-3.1.2", "--profile", "mozilla-intermediate",
            "--runs-dir", str(hil_runs_dir), "--json",
        ]
    )  # fmt: skip
    doc = json.loads(capsys.readouterr().out)
    assert code == 3
    assert doc["verdict"] == "error"
    assert "cannot run a user's sketch unchanged" in doc["reason"]
    assert "build" not in doc["durations"]


def test_a_users_sketch_calling_an_api_the_core_lacks_names_it(capsys, hil_runs_dir):
    # setInsecure() came with BearSSL (core 2.5.0): on 2.4.1 the build fails, and the run
    # says which API and which core versions have it, not only "the build failed".
    code = main(
        [
            "run", "--sketch", str(SKETCHES / "esp8266_insecure_host"),
            "--board", "twin-esp8266-2.4.1", "--profile", "mozilla-intermediate",
            "--runs-dir", str(hil_runs_dir), "--json",
        ]
    )  # fmt: skip
    doc = json.loads(capsys.readouterr().out)
    assert code == 3 and doc["verdict"] == "error"
    assert "setInsecure() is not in ESP8266 Arduino core 2.4.1" in doc["reason"]
    assert "core versions that have it: 2.5.2, 2.7.4, 3.0.2, 3.1.2" in doc["reason"]


def test_a_sketch_that_never_goes_quiet_is_cut_at_the_deadline_and_says_so(capsys, hil_runs_dir):
    # The fingerprint sketch (already built above) is quiet for 10 s between rounds: with
    # a quiet time longer than the deadline it is cut, as a sketch printing in loop() is.
    code = main(
        [
            "run", "--sketch", str(SKETCHES / "esp8266_fingerprint_httpclient"),
            "--board", "twin-esp8266-3.1.2", "--profile", "mozilla-intermediate",
            "--expect-cause", "fingerprint_mismatch",
            "--attempt-timeout", "4", "--quiet-timeout", "20",
            "--runs-dir", str(hil_runs_dir), "--json",
        ]
    )  # fmt: skip
    doc = json.loads(capsys.readouterr().out)
    assert (code, doc["verdict"]) == (0, "pass"), doc["reason"]
    run_end = (Path(doc["run_dir"]) / "run-end.txt").read_text()
    assert run_end.startswith("Serial was never quiet long enough: the run was cut")
    claims = [ev["claim"] for ev in doc["diagnosis"]["evidence"]]
    assert any(c.startswith("Serial was never quiet long enough") for c in claims), claims
