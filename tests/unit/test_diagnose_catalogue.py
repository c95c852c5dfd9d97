"""Every cause of the catalogue from the wire alone, the log alone, and both; conflicts shown."""

from __future__ import annotations

import pytest

from harness.analysis.correlate import build_timeline
from harness.analysis.diagnose import CAUSES, Context, diagnose, rules
from harness.analysis.logformats import parse_serial
from harness.analysis.logformats.lines import read_pasted_log
from harness.model import Confidence, Direction, Event, Source

C2S, S2C = Direction.C2S, Direction.S2C


def w(t, kind, direction=None, **fields):
    return Event(t=t, source=Source.WIRE, kind=kind, direction=direction, fields=fields, stream=0)


def log(t, kind, text="", direction=None, **fields):
    return Event(
        t=t, source=Source.SERIAL, kind=kind, direction=direction, fields=fields, text=text
    )


def err(t, text="", **fields):
    return log(t, "log_error", text, **fields)


def parsed(stack, text):
    """The event the stack's real parser makes of one line."""
    (event,) = parse_serial(read_pasted_log(text), stack)
    return event


def hello(t=1.0, **fields):
    base = {"version": 0x0303, "suites": [0xC02F], "sni": "example.org", "extensions": [0]}
    return w(t, "client_hello", C2S, **{**base, **fields})


def alert(t, direction, description, level=2):
    return w(t, "alert", direction, level=level, description=description, name=str(description))


def run(*events, **ctx):
    return diagnose(build_timeline(list(events)), Context(**ctx))


def test_every_catalogue_cause_has_exactly_one_rule():
    causes = [cause for cause, _ in rules()]
    assert len(causes) == len(set(causes))
    assert set(causes) == CAUSES - {"unknown"}


@pytest.mark.parametrize(
    ("events", "ctx", "cause", "confidence"),
    [
        # protocol_version
        ([hello(), alert(1.01, S2C, 70)], {}, "protocol_version", Confidence.WIRE),
        ([err(1.0, "Alert: invalid version", alert_received=70)], {}, "protocol_version",
         Confidence.LOG),
        ([parsed("bearssl", "Last SSL error was: 3")], {}, "protocol_version", Confidence.LOG),
        # sni_required
        ([hello(sni=None), alert(1.01, S2C, 112)], {}, "sni_required", Confidence.WIRE),
        ([log(1.0, "log_alert", "Alert: alert - (unknown 112)", S2C, description=112)], {},
         "sni_required", Confidence.LOG),
        # untrusted_cert
        ([err(1.0, "Error: No trusted cert is available", x509="untrusted")], {},
         "untrusted_cert", Confidence.LOG),
        ([hello(), w(1.01, "server_hello", S2C, suite=0xC02F), w(1.02, "certificate", S2C),
          alert(1.03, C2S, 48)], {}, "untrusted_cert", Confidence.WIRE),
        # hostname_mismatch: mbedTLS's alert 42 when the name does not fit
        ([hello(), w(1.01, "server_hello", S2C, suite=0xC02F), w(1.02, "certificate", S2C),
          alert(1.03, C2S, 42)], {"connect_host": "192.168.1.10", "cert_names": ("myhost",)},
         "hostname_mismatch", Confidence.WIRE),
        ([err(1.0, stack="bearssl", code=56, x509="hostname_mismatch")], {}, "hostname_mismatch",
         Confidence.LOG),
        # cert_time_invalid
        ([err(1.0, "Error: Cert is not yet valid", x509="not_yet_valid")], {},
         "cert_time_invalid", Confidence.LOG),
        ([err(1.0, stack="bearssl", code=53)], {}, "cert_time_invalid", Confidence.LOG),
        ([hello(), w(1.02, "certificate", S2C), alert(1.03, C2S, 45)], {}, "cert_time_invalid",
         Confidence.WIRE),
        # record_too_large
        ([parsed("bearssl", "Last SSL error was: 6")], {}, "record_too_large", Confidence.LOG),
        ([parsed("mbedtls", "[E][ssl_client.cpp:36] _handle_error(): [data_to_read():361]: "
                 "(-27136) SSL - A buffer is too small to receive or write a message")], {},
         "record_too_large", Confidence.LOG),
        ([hello(), w(1.1, "app_data", S2C, length=16384), w(1.2, "tcp_rst", C2S)],
         {"board_rx_buffer": 512}, "record_too_large", Confidence.WIRE),
        # dns_failed
        ([log(1.0, "log_other", "[E][WiFiGeneric.cpp:654] hostByName(): DNS Failed for x")], {},
         "dns_failed", Confidence.LOG),
        # tcp_connect_failed
        ([w(1.0, "tcp_syn", C2S), w(1.001, "tcp_rst", S2C)], {}, "tcp_connect_failed",
         Confidence.WIRE),
        # handshake_timeout
        ([hello(), w(1.01, "server_hello", S2C, suite=0xC02F), w(6.0, "tcp_fin", C2S)], {},
         "handshake_timeout", Confidence.WIRE),
        ([log(1.0, "log_other", "BSSL:_run_until: Timeout")], {}, "handshake_timeout",
         Confidence.LOG),
        # out_of_memory
        ([parsed("mbedtls", "[E][ssl_client.cpp:36] _handle_error(): [start_ssl_client():199]: "
                 "(-32512) SSL - Memory allocation failed")], {}, "out_of_memory", Confidence.LOG),
        ([parsed("bearssl", "SSL error: Chain could not be linked to a trust anchor.")], {},
         "untrusted_cert", Confidence.LOG),
        # no_trust_method
        ([log(1.0, "log_trust", "BSSL:Connection *will* fail, no authentication method is setup",
              method="none")], {}, "no_trust_method", Confidence.LOG),
        # fingerprint_mismatch
        ([log(1.0, "log_other", "BSSL:Fingerprint mismatch")], {}, "fingerprint_mismatch",
         Confidence.LOG),
    ],
)  # fmt: skip
def test_cause(events, ctx, cause, confidence):
    d = diagnose(build_timeline(events), Context(**ctx))
    assert (d.cause, d.confidence) == (cause, confidence)
    assert d.evidence and all(ev.claim for ev in d.evidence)
    assert d.fixes and all(f.text for f in d.fixes)
    assert d.explanation


def test_no_evidence_is_unknown_with_what_was_seen():
    d = run(log(1.0, "log_other", "hello world"))
    assert d.cause == "unknown" and d.confidence is Confidence.NONE
    assert "log_other" in d.evidence[0].claim


def test_board_and_wire_disagreeing_is_shown():
    d = run(
        hello(),
        alert(1.01, S2C, 40),
        log(1.5, "connect_result", "HIL:DONE connected=1 verified=1", connected=True,
            verified=True, final=True),
    )  # fmt: skip
    assert any("no application data" in c.claim for c in d.conflicts)


def test_a_second_matching_rule_is_shown_as_a_conflict():
    d = run(
        err(1.0, "Error: Cert has expired", x509="expired"),
        err(1.1, "Error: No trusted cert is available", x509="untrusted"),
    )
    assert d.cause == "cert_time_invalid"
    assert any("untrusted_cert" in c.claim for c in d.conflicts)


MBEDTLS_9984 = (
    "[E][ssl_client.cpp:36] _handle_error(): [start_ssl_client():216]: (-9984) X509 - "
    "Certificate verification failed, e.g. CRL, CA or signature check failed"
)


@pytest.mark.parametrize(
    ("ctx", "alert_sent", "names", "fix_words"),
    [
        ({"chain_min_rsa_bits": 1024, "chain_sig_hashes": ("sha256", "sha256")}, 43,
         "an RSA key of 1024 bits", "2048"),
        ({"chain_min_rsa_bits": 2048, "chain_sig_hashes": ("sha256", "sha1")}, 46,
         "signed with SHA1", "SHA-256"),
    ],
)  # fmt: skip
def test_mbedtls_default_profile_refusal_names_the_weak_point(ctx, alert_sent, names, fix_words):
    d = run(
        hello(),
        alert(1.02, C2S, alert_sent),
        parsed("mbedtls", MBEDTLS_9984),
        stack="mbedtls",
        **ctx,
    )
    # The log's -9984 (verification failed) agrees with the wire's refusal.
    assert (d.cause, d.confidence) == ("untrusted_cert", Confidence.WIRE_AND_LOG)
    assert any(names in ev.claim for ev in d.evidence)
    assert [f.where for f in d.fixes] == ["certificate"]
    assert fix_words in d.fixes[0].text
    assert "setCACert" not in " ".join(f.text + f.detail for f in d.fixes)


def test_a_likely_log_line_beside_the_wires_proof_of_its_cause_counts_as_the_log():
    # arduino-esp32's -9984 alone is only the likely reading (a name mismatch prints it too).
    alone = run(parsed("mbedtls", MBEDTLS_9984), stack="mbedtls")
    assert (alone.cause, alone.confidence) == ("untrusted_cert", Confidence.LIKELY)
    # With mbedTLS's unknown_ca on the wire (its untrusted-chain alert) it is the log
    # agreeing: both sources (esp32-2.0.17/self-signed--dnsname, recorded).
    both = run(hello(), alert(1.02, C2S, 48), parsed("mbedtls", MBEDTLS_9984), stack="mbedtls")
    assert (both.cause, both.confidence) == ("untrusted_cert", Confidence.WIRE_AND_LOG)
    assert any("-- the commonest reading" in ev.claim for ev in both.evidence)
    # The wire alone stays wire only.
    wire = run(hello(), alert(1.02, C2S, 48), stack="mbedtls")
    assert (wire.cause, wire.confidence) == ("untrusted_cert", Confidence.WIRE)
    # A line whose reading is another cause does not count for this one: mbedTLS's
    # bad_certificate for a name that fits no SAN is hostname_mismatch, wire only.
    name = run(hello(), alert(1.02, C2S, 42), parsed("mbedtls", MBEDTLS_9984), stack="mbedtls",
               connect_host="192.168.1.10", cert_names=("myhost",))  # fmt: skip
    assert (name.cause, name.confidence) == ("hostname_mismatch", Confidence.WIRE)


def test_a_strong_chain_or_another_stack_keeps_the_ca_reading():
    strong = {"chain_min_rsa_bits": 2048, "chain_sig_hashes": ("sha256", "sha256")}
    d = run(hello(), alert(1.02, C2S, 48), parsed("mbedtls", MBEDTLS_9984), stack="mbedtls",
            **strong)  # fmt: skip
    assert d.cause == "untrusted_cert" and d.fixes[0].where == "sketch"
    # BearSSL takes a 1024-bit key and SHA-1: a refusal there is about the CA.
    weak = {"chain_min_rsa_bits": 1024, "chain_sig_hashes": ("sha256", "sha1")}
    d = run(parsed("bearssl", "SSL error: Chain could not be linked to a trust anchor."),
            stack="bearssl", **weak)  # fmt: skip
    assert d.cause == "untrusted_cert" and d.fixes[0].where == "sketch"
