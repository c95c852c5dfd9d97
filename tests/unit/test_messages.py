"""The message catalogue (harness/analysis/messages): loaded, validated, and read by the
parsers and rules the way each core really prints its messages."""

from __future__ import annotations

import pytest

from harness.analysis.correlate import build_timeline
from harness.analysis.diagnose import Context, diagnose
from harness.analysis.logformats import detect_stack, parse_serial
from harness.analysis.logformats.bearssl import BearsslParser
from harness.analysis.logformats.lines import read_pasted_log
from harness.analysis.logformats.mbedtls import MbedtlsParser
from harness.analysis.messages import _entry, catalogue, format_regex
from harness.model import Confidence
from harness.model.causes import CAUSES
from harness.model.errors import ConfigError


def test_every_entry_cites_its_source_and_maps_to_a_cause_or_none():
    c = catalogue()
    assert len(c) > 500
    for m in c.messages:
        assert m.cause == "none" or m.cause in CAUSES
        assert (m.cause == "none") == (m.confidence == "none")
        assert m.sources and all(s.line or s.seen_in for s in m.sources)
    stacks = {m.stack for m in c.messages}
    assert stacks == {"axtls", "bearssl", "mbedtls", "any"}
    # Every tag of the twin's cores is cited somewhere.
    refs = {s.ref for m in c.messages for s in m.sources}
    assert {"2.4.1", "2.4.2", "2.5.2", "2.7.4", "3.0.2", "3.1.2"} <= refs
    assert {"mbedtls-2.16.12", "mbedtls-2.28.3"} <= refs


def test_a_bad_entry_is_refused_with_its_name():
    raw = {
        "id": "x.1",
        "stack": "bearssl",
        "kind": "error_code",
        "text": "t",
        "cause": "cosmic_rays",
        "confidence": "log",
        "sources": [{"repo": "r", "path": "p", "ref": "1", "line": 1}],
    }
    with pytest.raises(ConfigError, match=r"x\.1"):
        _entry(raw, "bad.toml")
    with pytest.raises(ConfigError, match="confidence"):
        _entry({**raw, "cause": "dns_failed", "confidence": "none"}, "bad.toml")
    with pytest.raises(ConfigError, match="line"):
        _entry(
            {
                **raw,
                "cause": "none",
                "confidence": "none",
                "sources": [{"repo": "r", "path": "p", "ref": "1"}],
            },
            "bad.toml",
        )


def test_bearssl_received_alert_as_each_core_prints_it():
    alert = catalogue().by_id["bearssl.alert_received.40"]
    # Core 3.x strips the 256 flag and prints the text of BR_ERR 40, not the alert's meaning.
    assert alert.text == "SSL received fatal alert - Decoding error: extraneous element."
    assert alert.extra["text_2x"] == "Unknown error code." and alert.code == 296
    p = BearsslParser()
    e = p.parse(0.0, "BSSL:Couldn't connect. Error = '" + alert.text + "'")
    assert e.fields["alert_received"] == 40 and e.fields["cause"] == "no_shared_cipher"
    assert e.fields["cause_confidence"] == "likely"
    e = p.parse(
        0.0, "BSSL:Couldn't connect. Error = 'SSL received fatal alert - Unknown error code.'"
    )
    assert e.fields.get("alert_unnamed") and "cause" not in e.fields
    assert p.parse(0.0, "SSL error: 368").fields["cause"] == "sni_required"  # 256 + 112


def test_a_bare_number_that_is_an_alert_on_core_3_names_nothing():
    p = BearsslParser()
    assert p.parse(0.0, "client getLastSSLError = 54").fields["cause"] == "cert_time_invalid"
    ambiguous = p.parse(0.0, "getLastSSLError = 48").fields
    assert ambiguous.get("ambiguous") and "cause" not in ambiguous
    said = p.parse(0.0, "SSL error: 48 Invalid date/time representation.").fields
    assert "cause" not in said and said["code"] == 48


def test_bearssl_texts_behind_other_libraries_prefixes():
    p = BearsslParser()
    e = p.parse(
        0.0, "(SSLClient)(SSL_ERROR)(m_print_br_error): Certificate is expired or not yet valid."
    )
    assert e.fields["cause"] == "cert_time_invalid"
    e = p.parse(0.0, "SSL: Connection *will* fail, no authentication method is setup:wr 254 0")
    assert e.fields["cause"] == "no_trust_method"


def test_mbedtls_texts_codes_and_esp_tls_lines():
    p = MbedtlsParser()
    assert p.parse(0.0, "BIGNUM - Memory allocation failed").fields["cause"] == "out_of_memory"
    e = p.parse(0.0, "Last error was: -29184 - SSL - An invalid SSL record was received")
    assert e.fields["code"] == -29184 and "cause" not in e.fields
    e = p.parse(
        0.0,
        "MAC: 60E (11895) esp-tls-mbedtls: No server verification option set in "
        "esp_tls_cfg_t structure. Check esp_tls API reference",
    )
    assert e.fields["cause"] == "no_trust_method" and e.fields["no_trust"]
    e = p.parse(
        0.0,
        "E (2552) esp-tls: couldn't get hostname for :a.b: getaddrinfo() returns 202, addrinfo=0x0",
    )
    assert e.fields["dns_failed"]
    # A paste that cut the verification info short still reads.
    e = p.parse(0.0, "I (1) esp-tls: verification info:   ! The certificate is not correctly signA")
    assert e.fields["x509"] == "untrusted"


def test_format_regex_matches_what_printf_prints():
    rx = format_regex('connect on fd %d, errno: %d, "%s"')
    assert rx.search('connect on fd 54, errno: 113, "Software caused connection abort"')
    assert not rx.search("connect on fd x")


def _diagnose(text: str):
    lines = read_pasted_log(text)
    stack = detect_stack(lines)
    return diagnose(build_timeline(parse_serial(lines, stack), same_clock=False), Context(stack))


AXTLS_BANNER = "SDK:2.2.1(cfd48f3)/Core:2.4.1/lwIP:2.0.3(STABLE-2_0_3_RELEASE/glue:arduino-2.4.1)"


def test_axtls_era_without_tls_debug_is_only_likely_no_shared_cipher():
    d = _diagnose(f"{AXTLS_BANNER}\nConnecting to api.example\nconnection failed\n")
    assert (d.cause, d.confidence) == ("no_shared_cipher", Confidence.LIKELY)
    assert "low confidence" in " ".join(e.claim for e in d.evidence)


@pytest.mark.parametrize(
    "log",
    [
        # A BearSSL core: the era says nothing.
        "SDK:2.2.2-dev(38a443e)/Core:2.7.4=20704000/lwIP:STABLE-2_1_2_RELEASE\nconnection failed\n",
        # No banner: no era.
        "Connecting to api.example\nconnection failed\n",
        # The log says why (DNS): the era is not needed.
        f"{AXTLS_BANNER}\n[hostByName] Host: x lookup error: -5!\nconnection failed\n",
        # Connected: nothing to diagnose.
        f"{AXTLS_BANNER}\nConnecting to api.example\n",
    ],
)
def test_the_era_never_speaks_where_it_should_not(log):
    d = _diagnose(log)
    assert d.cause != "no_shared_cipher"


def test_http_client_code_alone_names_no_cause():
    d = _diagnose("[HTTP-Client][returnError] error(-1): connection refused\n")
    assert d.cause == "unknown" and d.confidence is Confidence.NONE
