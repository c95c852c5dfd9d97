"""Logs as posted in public issues (tests/data/logs/README.md names each source), read
with the stack detected: the cause each one shows, or an honest `unknown`."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.analysis.correlate import build_timeline
from harness.analysis.diagnose import Context, diagnose
from harness.analysis.logformats import detect_stack, parse_serial
from harness.analysis.logformats.lines import read_pasted_log
from harness.model import Confidence
from tests.samples import DATA, FOUNDING_LOG

LOGS = DATA / "logs"

EXPECTED = {
    # file: (stack, cause, crash shown as a conflict)
    # The founding report as pasted: its thread settles on no shared cipher (tls-stacks.md).
    "esp8266-arduino-4826_as_pasted.log": ("axtls", "no_shared_cipher", False),
    "arduino-esp32-5480_x509_verify_failed.log": ("mbedtls", "untrusted_cert", False),
    "arduinowebsockets-649_x509_verify_failed.log": ("mbedtls", "untrusted_cert", False),
    "arduino-esp32-5710_verbose_handshake.log": ("mbedtls", None, False),
    "pubsubclient-794_verified_then_panic.log": ("mbedtls", None, True),
    "arduino-esp32-7511_invalid_record_panic.log": ("mbedtls", "unknown", False),
    "esp8266-arduino-7801_bearssl_timeout.log": ("bearssl", "handshake_timeout", False),
    "esp8266-arduino-7843_bearssl_no_auth.log": ("bearssl", "no_trust_method", False),
    "esp8266-arduino-6232_exception28.log": (None, "unknown", True),
    "esp8266-arduino-7493_exception9_bearssl.log": ("bearssl", "unknown", True),
    "esp8266-arduino-9122_wdt_reset_boot.log": (None, "unknown", True),
}


def _diagnose(path: Path):
    lines = read_pasted_log(path.read_text())
    stack = detect_stack(lines)
    timeline = build_timeline(parse_serial(lines, stack), same_clock=False)
    return stack, diagnose(timeline, Context(stack=stack))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_log(name):
    stack, d = _diagnose(LOGS / name)
    want_stack, want_cause, crash = EXPECTED[name]
    assert (stack, d.cause) == (want_stack, want_cause)
    if want_cause not in (None, "unknown"):
        assert d.confidence is Confidence.LOG and d.fixes
    if want_cause is None:
        assert d.connected and d.confidence is Confidence.LOG
    assert any("crashed" in c.claim for c in d.conflicts) == crash


def test_founding_report_alone_names_axtls_offer_and_asks_for_the_cipher_string():
    stack, d = _diagnose(FOUNDING_LOG)
    assert (stack, d.cause, d.confidence) == ("axtls", "no_shared_cipher", Confidence.LOG)
    claims = " ".join(ev.claim for ev in d.evidence)
    assert "offers only AES128-SHA256 (0x003c), AES256-SHA256 (0x003d)" in claims
    assert "the likely offer" in claims and "cipher string is not known" in claims
