"""The founding report end to end on the twin: PlatformIO build, pty serial, dumpcap,
tshark, the builtin server; then the timeline, the diagnosis and the verdict."""

from __future__ import annotations

import json
import subprocess
import sys

from harness.model import Confidence, Direction, Outcome, Source
from tests.causal import causal_violations
from tests.samples import AXTLS_OFFER, REPORT_LINES, child_pids, wire_events

SUPPORTED_GROUPS, EC_POINT_FORMATS, SERVER_NAME = 10, 11, 0

ARTIFACTS = [
    "serial.log",
    "serial.raw",
    "capture.pcapng",
    "keylog.txt",
    "server.log",
    "build.log",
    "timeline.md",
    "verdict.json",
]


def test_founding_report_fails_with_no_shared_cipher(hil_run, hil_session):
    before = child_pids()
    record = hil_run("founding-report")
    assert record.verdict.outcome is Outcome.PASS, record.verdict.reason
    d = record.diagnosis
    assert d.cause == "no_shared_cipher"
    assert d.confidence is Confidence.WIRE_AND_LOG

    (hello,) = wire_events(record, "client_hello")
    assert hello.direction is Direction.C2S
    assert hello.fields["suites"] == AXTLS_OFFER
    assert hello.fields["sni"] == "127.0.0.1"  # connect(host_string) sends the IP as SNI
    assert SERVER_NAME in hello.fields["extensions"]
    assert SUPPORTED_GROUPS not in hello.fields["extensions"]
    assert EC_POINT_FORMATS not in hello.fields["extensions"]
    assert not wire_events(record, "server_hello")
    alerts = [
        (e.direction, e.fields["level"], e.fields["description"])
        for e in wire_events(record, "alert")
    ]
    # The server's alert, then the board's unexpected_message when it read the alert
    # before lwIP took the server's FIN (a race on the board too; the server closes at
    # once). Never a close_notify: core 2.4.1 detaches the socket before ssl_free.
    assert alerts[:1] == [(Direction.S2C, 2, 40)]
    assert alerts[1:] in ([], [(Direction.C2S, 2, 10)])
    # The board never closes that connection itself: lwIP answers the FIN with a RST.
    assert not [e for e in wire_events(record, "tcp_fin") if e.direction is Direction.C2S]
    assert [e for e in wire_events(record, "tcp_rst") if e.direction is Direction.C2S]

    serial = [e.text for e in record.timeline.events if e.source is Source.SERIAL]
    start = serial.index(REPORT_LINES[0])
    assert serial[start : start + len(REPORT_LINES)] == REPORT_LINES
    assert any("Sun Apr 11 04:02:21 1982" in line for line in serial)  # the time_t wrap
    assert causal_violations(record.timeline) == []

    server = [e for e in record.timeline.events if e.kind == "server_handshake_failed"]
    assert server and server[0].fields["reason"] == "NO_SHARED_CIPHER"

    claims = "\n".join(ev.claim for ev in d.evidence)
    assert "AES128-SHA256 (0x003c)" in claims and "none in common" in claims
    assert [f.where for f in d.fixes] == ["server", "core", "certificate"]
    assert d.fixes[0].detail.endswith(":AES128-SHA256")

    for name in ARTIFACTS:
        assert (record.run_dir / name).stat().st_size > 0, name
    # Twin and pio gone; the server, dumpcap and tshark too, but for those the session
    # keeps for its next run (harness.run.session; all stopped at its end).
    kept = hil_session.pids() if hil_session is not None else set()
    assert child_pids() - before <= kept
    # The run's server is one the session keeps, on the twin; a bench board's run (the
    # nightly's simulated board) starts a server of its own, which is gone by now.
    if hil_session is not None and not record.board_info:
        (listening,) = [e for e in record.timeline.events if e.kind == "server_listening"]
        assert listening.fields["pid"] in kept


def test_founding_report_fixed_connects_and_verifies(hil_run):
    record = hil_run("founding-report-fixed")
    assert record.verdict.outcome is Outcome.PASS, record.verdict.reason
    assert record.diagnosis.cause is None and record.diagnosis.connected
    (server_hello,) = wire_events(record, "server_hello")
    assert server_hello.fields["suite"] == 0x003C  # the only suite in common
    assert wire_events(record, "app_data")
    done = [e for e in record.timeline.events if e.kind == "connect_result" and e.fields["final"]]
    assert done[-1].fields == {"connected": True, "verified": True, "final": True}
    ok = [e for e in record.timeline.events if e.kind == "server_handshake_ok"]
    assert ok and ok[0].fields["cipher_id"] == 0x003C
    # Every line where the sketch printed it: "request sent" after the server's Finished
    # and the request, "status: ..." after the response, before the board's close_notify.
    assert causal_violations(record.timeline) == []


def test_cli_json_record(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness.cli",
            "run",
            "founding-report",
            "--json",
            "--runs-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["verdict"] == "pass"
    assert doc["expected"] == {"connected": False, "cause": "no_shared_cipher"}
    assert doc["observed"] == {"connected": False, "cause": "no_shared_cipher"}
    assert doc["diagnosis"]["cause"] == "no_shared_cipher"
    assert doc["run_dir"].startswith(str(tmp_path))
    hello = next(e for e in doc["timeline"] if e["kind"] == "client_hello")
    assert hello["source"] == "wire" and hello["direction"] == "client->server"
    assert hello["fields"]["suites"] == AXTLS_OFFER
    fatal = next(e for e in doc["timeline"] if e["kind"] == "alert")
    assert fatal["direction"] == "server->client"
    assert (fatal["fields"]["level"], fatal["fields"]["description"]) == (2, 40)
    assert fatal["fields"]["name"] == "handshake_failure"
    assert set(doc["timeline"][0]) >= {"t", "source", "kind", "direction", "fields"}
