"""Logs with no TLS line: the prior each gives (harness/analysis/diagnose/priors.py), always
at 'likely' confidence with its reasoning, and `unknown` where the evidence singles out none."""

from __future__ import annotations

import pytest

from harness.analysis.correlate import build_timeline
from harness.analysis.diagnose import Context, diagnose
from harness.analysis.logformats import detect_stack, parse_serial
from harness.analysis.logformats.lines import read_pasted_log
from harness.model import Confidence

AXTLS = "SDK:2.2.1(cfd48f3)/Core:2.4.2/lwIP:2.0.3(STABLE-2_0_3_RELEASE/glue:arduino-2.4.2)"
BEARSSL = "SDK:2.2.2-dev(38a443e)/Core:2.7.4=20704000/lwIP:STABLE-2_1_2_RELEASE"
EXAMPLE = "Connected to MY-SSID\n\nStarting connection to server...\nConnection failed!\n"


def _diagnose(text: str):
    lines = read_pasted_log(text)
    stack = detect_stack(lines)
    return diagnose(build_timeline(parse_serial(lines, stack), same_clock=False), Context(stack))


@pytest.mark.parametrize(
    ("log", "cause", "said"),
    [
        # A BearSSL core, a failure, no word of trust: no trust method.
        (
            f"{BEARSSL}\nconnecting to api.example\nconnection failed\n",
            "no_trust_method",
            "BearSSL, whose connect() fails unless",
        ),
        # ... the sketch pins a fingerprint: it no longer matches.
        (
            f"{BEARSSL}\nUsing fingerprint 'CF 05 98 89'\nconnection failed\n",
            "fingerprint_mismatch",
            "pins a fingerprint",
        ),
        # An axTLS core beats a library's words: its connect() checks no certificate.
        (
            f"{AXTLS}\n[BOT]Connecting to server\n[BOT]Conection error\n",
            "no_shared_cipher",
            "checks no certificate",
        ),
        # A library's words with no banner.
        (
            "[BOT]Connecting to server\n[BOT]Conection error\n",
            "no_trust_method",
            "Universal-Arduino-Telegram-Bot",
        ),
        ("--->connect: Unable to connect to Telegram server\n", "fingerprint_mismatch", "CTBot"),
        # arduino-esp32's WiFiClientSecure example, word for word.
        (EXAMPLE, "cert_time_invalid", "DST Root CA X3"),
    ],
)
def test_a_log_without_tls_lines_gets_its_prior_at_low_confidence(log, cause, said):
    d = _diagnose(log)
    assert (d.cause, d.confidence) == (cause, Confidence.LIKELY)
    claims = " ".join(e.claim for e in d.evidence)
    assert said in claims and "low confidence" in claims
    assert d.fixes


@pytest.mark.parametrize(
    "log",
    [
        # No banner, no library: nothing singles out a cause.
        "Connecting to api.example\nconnection failed\n",
        # A bare "Connection failed!" is any sketch's, not the example's.
        "Connection failed!\n",
        # The sketch set insecure: no trust method is ruled out, nothing else is named.
        f"{BEARSSL}\nclient.setInsecure() done\nconnection failed\n",
        # The sketch sets the clock: it likely checks a certificate; no guess among those.
        f"{BEARSSL}\nSetting time using SNTP\nCurrent time: Thu Jan  1\nconnection failed\n",
        # No failure: nothing to explain.
        f"{BEARSSL}\nconnecting to api.example\n",
        # The connection worked once: a failure beside it is another story.
        f"{BEARSSL}\nconnection failed\nHIL:DONE connected=1 verified=0\n",
    ],
)
def test_no_prior_where_the_evidence_singles_out_none(log):
    assert _diagnose(log).cause in (None, "unknown")


def test_the_esp32_examples_words_on_an_esp8266_are_another_sketch():
    # Its banner names a BearSSL core: the era's prior, not the example's expired root.
    d = _diagnose(f"{BEARSSL}\n{EXAMPLE}")
    assert (d.cause, d.confidence) == ("no_trust_method", Confidence.LIKELY)


def test_a_tls_line_is_read_instead_of_any_prior():
    # BearSSL's own line names the cause: the rules read it, at the log's confidence.
    d = _diagnose(f"{BEARSSL}\nBSSL:Connection *will* fail, no authentication method is setup\n")
    assert (d.cause, d.confidence) == ("no_trust_method", Confidence.LOG)
