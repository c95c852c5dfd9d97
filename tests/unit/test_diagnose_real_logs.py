"""Logs as posted in public issues (tests/data/logs/index.toml names each source and what its
thread settled), read with the stack detected: the cause each one shows, or an honest
`unknown`. A cause other than the one pinned fails, whatever its confidence."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from harness.analysis.correlate import build_timeline
from harness.analysis.diagnose import Context, diagnose
from harness.analysis.logformats import detect_stack, parse_serial
from harness.analysis.logformats.lines import read_pasted_log
from harness.model import Confidence
from harness.model.causes import CAUSES
from harness.run.offline import diagnose_files
from tests.samples import DATA, FOUNDING_LOG

LOGS = DATA / "logs"
INDEX = tomllib.loads((LOGS / "index.toml").read_text())["log"]
BY_FILE = {entry["file"]: entry for entry in INDEX}

# Earlier pins kept: the stack each log is read as, and whether a crash shows as a conflict.
STACK_AND_CRASH = {
    "esp8266-arduino-4826_as_pasted.log": ("axtls", False),
    "arduino-esp32-5480_x509_verify_failed.log": ("mbedtls", False),
    "arduinowebsockets-649_x509_verify_failed.log": ("mbedtls", False),
    "arduino-esp32-5710_verbose_handshake.log": ("mbedtls", False),
    "pubsubclient-794_verified_then_panic.log": ("mbedtls", True),
    "arduino-esp32-7511_invalid_record_panic.log": ("mbedtls", False),
    "esp8266-arduino-7801_bearssl_timeout.log": ("bearssl", False),
    "esp8266-arduino-7843_bearssl_no_auth.log": ("bearssl", False),
    "esp8266-arduino-6232_exception28.log": (None, True),
    "esp8266-arduino-7493_exception9_bearssl.log": ("bearssl", True),
    "esp8266-arduino-9122_wdt_reset_boot.log": (None, True),
}
RESOLUTIONS = CAUSES | {"outside", "unresolved", "connected"}
# file: (stack, cause, crash shown as a conflict), as other tests read it (test_attempts).
EXPECTED = {
    name: (
        stack,
        None if BY_FILE[name]["expect"] == "connected" else BY_FILE[name]["expect"],
        crash,
    )
    for name, (stack, crash) in STACK_AND_CRASH.items()
}


def _diagnose(path: Path):
    lines = read_pasted_log(path.read_text())
    stack = detect_stack(lines)
    timeline = build_timeline(parse_serial(lines, stack), same_clock=False)
    return stack, diagnose(timeline, Context(stack=stack))


def test_index_covers_every_log_and_says_what_was_settled():
    files = {p.name for p in LOGS.glob("*.log")}
    assert files == set(BY_FILE) and len(INDEX) == len(BY_FILE) >= 74
    for entry in INDEX:
        assert entry["source"].startswith("https://github.com/"), entry["file"]
        assert entry["resolution"].removeprefix("judged:") in RESOLUTIONS, entry["file"]
        assert entry["expect"] in CAUSES | {"connected"}, entry["file"]
        # A log is never pinned to a cause its thread contradicts.
        settled = entry["resolution"].removeprefix("judged:")
        if entry["expect"] not in ("unknown", "connected") and settled in CAUSES:
            assert entry["expect"] == settled, entry["file"]
        if entry["resolution"] in CAUSES:
            assert entry["quote"], f"{entry['file']}: a settled cause needs its quote"


@pytest.mark.parametrize("name", sorted(BY_FILE))
def test_real_log(name):
    entry = BY_FILE[name]
    stack, d = _diagnose(LOGS / name)
    if entry["expect"] == "connected":
        assert d.cause is None and d.connected
        assert d.confidence is Confidence.LOG
    else:
        assert d.cause == entry["expect"], d.explanation
    if d.cause not in (None, "unknown"):
        assert d.fixes and d.evidence
        assert d.confidence in (Confidence.LOG, Confidence.LIKELY)
    if d.cause == "unknown":
        assert d.confidence is Confidence.NONE
    # `hil diagnose --serial` (streamed, attempt by attempt) names the same cause.
    assert diagnose_files(serial=LOGS / name, pcap=None).diagnosis.cause == d.cause
    if name in STACK_AND_CRASH:
        want_stack, crash = STACK_AND_CRASH[name]
        assert stack == want_stack
        assert any("crashed" in c.claim for c in d.conflicts) == crash


def test_bare_x509_code_is_only_the_likely_reading():
    _, d = _diagnose(LOGS / "arduino-esp32-5480_x509_verify_failed.log")
    assert (d.cause, d.confidence) == ("untrusted_cert", Confidence.LIKELY)
    assert "other causes print it too" in " ".join(e.claim for e in d.evidence)


def test_verification_info_states_the_cause():
    _, d = _diagnose(LOGS / "esp-at-432_validity_starts_in_future.log")
    assert (d.cause, d.confidence) == ("cert_time_invalid", Confidence.LOG)


def test_founding_report_alone_names_axtls_offer_and_asks_for_the_cipher_string():
    stack, d = _diagnose(FOUNDING_LOG)
    assert (stack, d.cause, d.confidence) == ("axtls", "no_shared_cipher", Confidence.LOG)
    claims = " ".join(ev.claim for ev in d.evidence)
    assert "offers only AES128-SHA256 (0x003c), AES256-SHA256 (0x003d)" in claims
    assert "the likely offer" in claims and "cipher string is not known" in claims


def test_a_received_handshake_failure_without_handshake_states_is_only_likely(tmp_path):
    # BearSSL's 296 (256 + 40) says the alert came, not when: after the ServerHello a
    # server that wants a client certificate sends it too.
    log = tmp_path / "bearssl.log"
    log.write_text("BSSL:_connectSSL: start connection\nconnection failed\nSSL error: 296\n")
    d = diagnose_files(serial=log, pcap=None).diagnosis
    assert (d.cause, d.confidence) == ("no_shared_cipher", Confidence.LIKELY)


def test_esp_tls_connect_error_is_a_tcp_failure(tmp_path):
    log = tmp_path / "idf.log"
    log.write_text(
        "E (15062) esp-tls: [sock=54] connect() error: Host is unreachable\n"
        "E (15062) esp-tls: Failed to open new connection\n"
    )
    d = diagnose_files(serial=log, pcap=None).diagnosis
    assert (d.cause, d.confidence) == ("tcp_connect_failed", Confidence.LOG)
