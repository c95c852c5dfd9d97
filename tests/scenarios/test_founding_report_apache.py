"""The founding report end to end against real Apache httpd (the `apache` backend) on the twin."""

from __future__ import annotations

from harness.model import Confidence, Direction, Outcome, Source
from tests.samples import AXTLS_OFFER, child_pids, wire_events


def test_founding_report_against_apache(hil_run):
    before = child_pids()
    record = hil_run("founding-report-apache")
    assert record.verdict.outcome is Outcome.PASS, record.verdict.reason
    assert record.scenario.backend == "apache"
    d = record.diagnosis
    assert d.cause == "no_shared_cipher"
    assert d.confidence is Confidence.WIRE_AND_LOG

    (hello,) = wire_events(record, "client_hello")
    assert hello.fields["suites"] == AXTLS_OFFER
    assert not wire_events(record, "server_hello")
    alerts = [
        (e.direction, e.fields["level"], e.fields["description"])
        for e in wire_events(record, "alert")
    ]
    # Apache's alert, then the board's own unless lwIP took Apache's FIN first: Apache
    # closes a connection whose handshake failed at once, without a lingering close
    # (mod_ssl marks it aborted; the MPM skips lingering for aborted connections).
    # Never a close_notify: core 2.4.1 detaches the socket before ssl_free.
    assert alerts[:1] == [(Direction.S2C, 2, 40)]
    assert alerts[1:] in ([], [(Direction.C2S, 2, 10)])
    # The board sends no FIN; a RST ends it (the board's abort on Apache's FIN, or
    # Apache's answer to a record that came after its close).
    assert not [e for e in wire_events(record, "tcp_fin") if e.direction is Direction.C2S]
    assert wire_events(record, "tcp_rst")

    server = {e.kind: e for e in record.timeline.events if e.source is Source.SERVER}
    failed = server["server_handshake_failed"]
    assert failed.fields["reason"] == "NO_SHARED_CIPHER"
    assert failed.fields["sni"] == "127.0.0.1"  # connect(host_string) sends the IP as SNI
    assert server["server_listening"].fields["server"].startswith("Apache/2.4")
    accepted = [e for e in record.timeline.events if e.kind == "server_accepted"]
    assert len(accepted) == 1  # the board's connection; the readiness probe is left out
    assert "The server logged: no shared cipher" in [ev.claim for ev in d.evidence]
    assert [f.where for f in d.fixes] == ["server", "core", "certificate"]

    for name in (
        "server.log",
        "apache-error.log",
        "apache-access.log",
        "apache.conf",
        "keylog.txt",
        "capture.pcapng",
        "verdict.json",
    ):
        assert (record.run_dir / name).exists(), name
    assert "SSLUseStapling on" in (record.run_dir / "apache.conf").read_text()
    assert child_pids() == before  # apache, dumpcap, tshark, twin: all gone
