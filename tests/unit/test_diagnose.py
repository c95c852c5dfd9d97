from harness.analysis.correlate import build_timeline
from harness.analysis.diagnose import Context, diagnose
from harness.analysis.verdict import judge
from harness.model import Confidence, Direction, Event, Expectation, Outcome, Source
from tests.samples import founding_events

AXTLS_SUITES = [0x003C, 0x003D, 0x0035, 0x002F]
DO_2016_SUITES = (0xC030, 0xC02F, 0x009F, 0x009E, 0xC028, 0xC014, 0x006B, 0x0039)


def wire(t, kind, direction, **fields):
    return Event(t=t, source=Source.WIRE, kind=kind, direction=direction, fields=fields, stream=0)


def founding_wire():
    return [
        wire(10.000, "tcp_syn", Direction.C2S),
        wire(
            10.001,
            "client_hello",
            Direction.C2S,
            version=0x0303,
            suites=AXTLS_SUITES,
            sni="127.0.0.1",
        ),
        wire(10.004, "alert", Direction.S2C, level=2, description=40, name="handshake_failure"),
        wire(10.005, "alert", Direction.C2S, level=2, description=10, name="unexpected_message"),
        wire(10.006, "alert", Direction.C2S, level=1, description=0, name="close_notify"),
        wire(10.007, "tcp_fin", Direction.C2S),
    ]


def test_founding_log_alone_gives_no_shared_cipher_log_only():
    d = diagnose(build_timeline(founding_events()), Context(stack="axtls"))
    assert d.cause == "no_shared_cipher"
    assert d.confidence is Confidence.LOG
    claims = "\n".join(ev.claim for ev in d.evidence)
    assert "AES128-SHA256 (0x003c)" in claims and "the likely offer" in claims
    assert "cipher string is not known" in claims  # asks for the server's cipher string
    where = [f.where for f in d.fixes]
    assert where == ["server", "core", "certificate"]  # 1982 in the dump: the next wall


def test_wire_only_names_offer_server_suites_and_alert_directions():
    ctx = Context(stack="axtls", server_suites=DO_2016_SUITES, server_cipher_string="EECDH+AESGCM")
    d = diagnose(build_timeline(founding_wire()), ctx)
    assert d.cause == "no_shared_cipher" and d.confidence is Confidence.WIRE
    claims = [ev.claim for ev in d.evidence]
    assert claims[0].startswith("The board offered 4 cipher suites: AES128-SHA256 (0x003c)")
    assert "none in common" in claims[1]
    assert "fatal handshake_failure (40) alert, server -> client" in claims[2]
    assert "unexpected_message (10)" in claims[3] and "close_notify (0)" in claims[3]
    assert d.fixes[0].detail == "SSLCipherSuite EECDH+AESGCM:AES128-SHA256"
    # notAfter is not known from the wire alone and no dump was seen: no certificate fix.
    assert [f.where for f in d.fixes] == ["server", "core"]


def test_both_sources_agree():
    tl = build_timeline(founding_wire(), founding_events())
    d = diagnose(tl, Context(stack="axtls", server_suites=DO_2016_SUITES))
    assert d.cause == "no_shared_cipher" and d.confidence is Confidence.WIRE_AND_LOG


def test_a_suite_in_common_is_not_no_shared_cipher():
    ctx = Context(stack="axtls", server_suites=(*DO_2016_SUITES, 0x003C))
    d = diagnose(build_timeline(founding_wire()), ctx)
    assert d.cause == "unknown"
    assert d.confidence is Confidence.NONE and "client_hello" in d.evidence[0].claim


def test_connected_and_verified_has_no_cause():
    events = [
        wire(1.0, "client_hello", Direction.C2S, suites=AXTLS_SUITES),
        wire(1.01, "server_hello", Direction.S2C, version=0x0303, suite=0x003C),
        wire(1.05, "app_data", Direction.C2S, length=80),
        Event(
            t=1.1,
            source=Source.SERIAL,
            kind="connect_result",
            fields={"connected": True, "verified": True, "final": True},
        ),
    ]
    d = diagnose(build_timeline(events))
    assert d.cause is None and d.connected
    assert "AES128-SHA256 (0x003c)" in d.explanation
    assert judge(Expectation(connected=True), d).outcome is Outcome.PASS


def test_verdict_fails_on_another_cause():
    d = diagnose(build_timeline(founding_events()), Context(stack="axtls"))
    v = judge(Expectation(connected=False, cause="untrusted_cert"), d)
    assert v.outcome is Outcome.FAIL and "no_shared_cipher" in v.reason
    assert judge(Expectation(False, "no_shared_cipher"), d).outcome is Outcome.PASS
    assert judge(Expectation(True), d).outcome is Outcome.FAIL


def test_expired_after_connect_is_cert_time_invalid():
    lines = [
        Event(
            t=1.0,
            source=Source.SERIAL,
            kind="log_error",
            fields={"x509": "expired", "message": "Cert has expired"},
        ),
        Event(
            t=1.1,
            source=Source.SERIAL,
            kind="connect_result",
            fields={"connected": True, "verified": False, "final": True},
        ),
    ]
    d = diagnose(build_timeline(lines), Context(stack="axtls", cert_not_after=4682313037))
    assert d.cause == "cert_time_invalid" and d.connected
    assert any(f.where == "certificate" for f in d.fixes)


def test_late_serial_stamps_are_moved_back_to_honour_causality():
    from harness.model import Direction as D

    def line(t, kind, **fields):
        direction = fields.pop("direction", None)
        return Event(t=t, source=Source.SERIAL, kind=kind, direction=direction, fields=fields)

    # The reader stamped every line ~2 ms late: "sending Client Hello" after the packet.
    serial = [
        line(10.0030, "connect_start", host="127.0.0.1"),
        line(10.0031, "log_state", direction=D.C2S, handshake_type=1, message="Client Hello"),
        line(10.0065, "log_alert", direction=D.S2C, description=40),
    ]
    packets = [
        wire(10.0010, "tcp_syn", D.C2S),
        wire(10.0020, "client_hello", D.C2S, suites=AXTLS_SUITES),
        wire(10.0040, "alert", D.S2C, level=2, description=40),
    ]
    tl = build_timeline(packets, serial, serial_latency=0.0001)
    kinds = [e.kind for e in tl.events]
    assert kinds == ["connect_start", "tcp_syn", "log_state", "client_hello", "alert", "log_alert"]
    assert abs(tl.serial_shift - 0.0020) < 1e-5  # the SYN bound: 10.0030 - 10.0010
    # Without serial lines to anchor on, only the known byte time is taken off.
    assert build_timeline(serial, serial_latency=0.0001).serial_shift == 0.0001


def test_a_received_alert_is_never_printed_before_it_arrived():
    from harness.model import Direction as D

    def line(t, kind, **fields):
        direction = fields.pop("direction", None)
        return Event(t=t, source=Source.SERIAL, kind=kind, direction=direction, fields=fields)

    # The first batch of lines was read 2 ms late, the second only 0.1 ms late: the one
    # shift that fixes the first puts the second before the alert it reports.
    serial = [
        line(10.0030, "connect_start", host="127.0.0.1"),
        line(10.0051, "log_alert", direction=D.S2C, description=40),
        line(10.0051, "log_error", code=-40),
    ]
    packets = [
        wire(10.0010, "tcp_syn", D.C2S),
        wire(10.0040, "alert", D.S2C, level=2, description=40),
    ]
    tl = build_timeline(packets, serial)
    kinds = [e.kind for e in tl.events]
    assert kinds == ["connect_start", "tcp_syn", "alert", "log_alert", "log_error"]
    times = [e.t for e in tl.events]
    assert times == sorted(times)


def _connected_then_big_record(length: int) -> list[Event]:
    """A BearSSL board that connected, then met an application record of `length` bytes
    and read nothing (as the tls_client sketch reports it)."""
    return [
        Event(t=1.0, source=Source.WIRE, kind="client_hello", direction=Direction.C2S,
              fields={"max_fragment_length": 512}),
        Event(t=1.1, source=Source.WIRE, kind="app_data", direction=Direction.C2S,
              fields={"length": 103}),
        Event(t=1.2, source=Source.WIRE, kind="app_data", direction=Direction.S2C,
              fields={"length": length}),
        Event(t=1.3, source=Source.SERIAL, kind="connect_result",
              fields={"final": True, "connected": True}),
    ]  # fmt: skip


def test_connected_then_a_record_over_the_buffer_is_record_too_large_and_judged():
    # 512 + 325 (BearSSL's input overhead) - 5 (the header): 832 bytes of record.
    d = diagnose(build_timeline(_connected_then_big_record(16408)), Context(board_rx_buffer=832))
    assert d.connected and d.cause == "record_too_large"
    assert d.confidence is Confidence.WIRE
    v = judge(Expectation(connected=True, cause="record_too_large"), d)
    assert v.outcome is Outcome.PASS and "then failed with record_too_large" in v.reason
    assert judge(Expectation(connected=True), d).outcome is Outcome.FAIL
    assert judge(Expectation(connected=True, cause="eof"), d).outcome is Outcome.FAIL
    # A record that fits: connected, nothing to diagnose, and an expected failure fails.
    ok = diagnose(build_timeline(_connected_then_big_record(832)), Context(board_rx_buffer=832))
    assert ok.connected and ok.cause is None
    v = judge(Expectation(connected=True, cause="record_too_large"), ok)
    assert v.outcome is Outcome.FAIL and "no later step failed" in v.reason
