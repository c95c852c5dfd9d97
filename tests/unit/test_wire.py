"""harness.wire on committed tshark text (tests/data/wire, made by make_samples.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness import wire
from harness.model import Direction, Source

DATA = Path(__file__).resolve().parents[1] / "data" / "wire"
PORT = 4433


def sample(name: str, *, keys: bool = True) -> wire.WireAnalysis:
    port = int((DATA / f"{name}.port").read_text())
    suffix = "fields.txt" if keys else "nokeys.fields.txt"
    return wire.decode((DATA / f"{name}.{suffix}").read_text(), port)


def kinds(analysis: wire.WireAnalysis) -> list[str]:
    return [e.kind for e in analysis.events]


_BY_KEYWORD = {f.replace(".", "_"): f for f in wire.FIELDS}


def row(**values: str) -> str:
    """One tshark row in FIELDS order; keywords spell fields with _ (tls_record_length)."""
    by_field = {_BY_KEYWORD[key]: value for key, value in values.items()}
    return "\t".join(by_field.get(f, "") for f in wire.FIELDS)


def tcp_row(frame: int, src: int, dst: int, **values: str) -> str:
    base = {
        "frame_number": str(frame),
        "frame_time_epoch": f"1700000000.{frame:06d}",
        "ip_src": "127.0.0.1",
        "ip_dst": "127.0.0.1",
        "tcp_srcport": str(src),
        "tcp_dstport": str(dst),
        "tcp_stream": "3",
        "tcp_flags_syn": "0",
        "tcp_flags_ack": "1",
        "tcp_flags_fin": "0",
        "tcp_flags_reset": "0",
    }
    return row(**{**base, **values})


HEADER = "\t".join(wire.FIELDS)


# -- the founding report's failure, really captured ------------------------------------


def test_no_shared_cipher_sample_shows_the_four_axtls_suites_and_alert_40() -> None:
    result = sample("tls12_no_shared_cipher")
    assert result.warnings == ()
    assert kinds(result) == ["tcp_syn", "tcp_synack", "client_hello", "alert", "tcp_fin", "tcp_fin"]
    hello = result.events[2]
    assert hello.source is Source.WIRE
    assert hello.direction is Direction.C2S
    assert hello.stream == 0
    assert hello.fields["version"] == 0x0303
    assert hello.fields["record_version"] == 0x0301
    # axTLS's four suites in its order, plus OpenSSL's renegotiation SCSV.
    assert hello.fields["suites"] == [0x003C, 0x003D, 0x0035, 0x002F, 0x00FF]
    assert hello.fields["sni"] is None  # connected by IP address
    assert hello.fields["extensions"] == [35, 22, 23, 13]
    alert = result.events[3]
    assert alert.direction is Direction.S2C
    assert (
        alert.fields.items()
        >= {
            "level": 2,
            "description": 40,
            "name": "handshake_failure",
            "encrypted": False,
        }.items()
    )
    assert alert.t >= hello.t
    assert isinstance(alert.t, float) and alert.t > 1.6e9


def test_marker_datagrams_are_in_the_text_and_ignored() -> None:
    text = (DATA / "tls12_no_shared_cipher.fields.txt").read_text()
    stream_col = wire.FIELDS.index("tcp.stream")
    non_tcp = [r for r in text.splitlines()[1:] if r.split("\t")[stream_col] == ""]
    assert non_tcp, "the sample should hold the capture's marker datagrams"
    result = sample("tls12_no_shared_cipher")
    assert result.warnings == ()
    assert all(e.stream == 0 for e in result.events)


# -- successful handshakes -------------------------------------------------------------


def test_tls12_flight_in_one_frame_gives_one_event_per_message_in_order() -> None:
    result = sample("tls12_ok")
    assert result.warnings == ()
    assert kinds(result) == [
        "tcp_syn",
        "tcp_synack",
        "client_hello",
        "server_hello",
        "certificate",
        "server_key_exchange",
        "server_hello_done",
        "client_key_exchange",
        "change_cipher_spec",
        "finished",
        "new_session_ticket",
        "change_cipher_spec",
        "finished",
        "app_data",
        "app_data",
        "alert",
        "alert",
        "tcp_fin",
        "tcp_fin",
    ]
    flight = result.events[3:7]
    assert len({e.fields["frame"] for e in flight}) == 1, "one frame carried the whole flight"
    hello, server_hello = result.events[2], result.events[3]
    assert hello.fields["sni"] == "localhost"
    assert 0 in hello.fields["extensions"]  # server_name
    assert server_hello.direction is Direction.S2C
    assert server_hello.fields["suite"] == 0xC02F  # ECDHE-RSA-AES128-GCM-SHA256
    assert server_hello.fields["version"] == server_hello.fields["selected_version"] == 0x0303
    # The ClientHello's suite list must not leak into the ServerHello and back.
    assert 0xC02F in hello.fields["suites"] and len(hello.fields["suites"]) > 1
    assert [e.fields["length"] for e in result.of_kind("app_data")] == [42, 64]
    closes = result.of_kind("alert")
    # Both ends unwrap at once in the sample, so either close_notify may come first.
    assert {e.direction for e in closes} == {Direction.S2C, Direction.C2S}
    for close in closes:
        assert close.fields["name"] == "close_notify"
        assert close.fields["level"] == 1
        assert close.fields["encrypted"] is True


def test_tls12_without_keys_shows_encrypted_finished_and_alerts() -> None:
    result = sample("tls12_ok", keys=False)
    assert result.warnings == ()
    assert kinds(result).count("encrypted_handshake") == 2
    assert "finished" not in kinds(result)
    for alert in result.of_kind("alert"):
        assert (
            alert.fields.items()
            >= {
                "level": None,
                "description": None,
                "name": "encrypted_alert",
                "encrypted": True,
            }.items()
        )


def test_tls13_server_hello_reports_the_selected_version() -> None:
    result = sample("tls13_ok")
    assert result.warnings == ()
    hello = result.of_kind("client_hello")[0]
    assert hello.fields["supported_versions"] == [0x0304, 0x0303]
    server_hello = result.of_kind("server_hello")[0]
    assert server_hello.fields["version"] == 0x0303
    assert server_hello.fields["selected_version"] == 0x0304
    assert server_hello.fields["suite"] == 0x1302  # TLS_AES_256_GCM_SHA384
    assert kinds(result)[3:9] == [
        "server_hello",
        "change_cipher_spec",
        "encrypted_extensions",
        "certificate",
        "certificate_verify",
        "finished",
    ]


def test_tls13_without_keys_gives_encrypted_records() -> None:
    result = sample("tls13_ok", keys=False)
    assert result.warnings == ()
    assert "certificate" not in kinds(result)
    assert kinds(result)[3:6] == ["server_hello", "change_cipher_spec", "encrypted_record"]
    assert result.events[5].fields["length"] == 23


def test_tls13_client_rejecting_the_certificate_sends_unknown_ca() -> None:
    result = sample("tls13_unknown_ca")
    alert = result.of_kind("alert")[0]
    assert alert.direction is Direction.C2S
    assert (alert.fields["level"], alert.fields["description"]) == (2, 48)
    assert alert.fields["name"] == "unknown_ca"
    assert kinds(result)[-1] == "tcp_rst"


# -- hand-written rows for what Python's ssl does not produce --------------------------


def test_two_alerts_in_one_frame_give_two_events_in_order() -> None:
    # axTLS after a handshake_failure: its own unexpected_message, then close_notify.
    text = "\n".join(
        [
            HEADER,
            tcp_row(
                9,
                50000,
                PORT,
                tls_record_content_type="21,21",
                tls_record_version="0x0303,0x0303",
                tls_record_length="2,2",
                tls_alert_message_level="2,1",
                tls_alert_message_desc="10,0",
            ),
        ]
    )
    result = wire.decode(text, PORT)
    assert result.warnings == ()
    assert [(e.kind, e.fields["name"]) for e in result.events] == [
        ("alert", "unexpected_message"),
        ("alert", "close_notify"),
    ]
    assert all(e.direction is Direction.C2S and e.stream == 3 for e in result.events)


def test_tcp_flags_and_data_before_fin() -> None:
    text = "\n".join(
        [
            HEADER,
            tcp_row(1, 50000, PORT, tcp_flags_syn="1", tcp_flags_ack="0"),
            tcp_row(2, PORT, 50000, tcp_flags_syn="1"),
            tcp_row(
                3,
                PORT,
                50000,
                tcp_flags_fin="1",
                tls_record_content_type="23",
                tls_record_length="64",
            ),
            tcp_row(4, 50000, PORT, tcp_flags_reset="1", tcp_flags_ack="0"),
            tcp_row(
                5,
                50000,
                PORT,
                tcp_flags_syn="1",
                tcp_flags_ack="0",
                tcp_analysis_retransmission="1",
            ),
        ]
    )
    result = wire.decode(text, PORT)
    assert kinds(result) == ["tcp_syn", "tcp_synack", "app_data", "tcp_fin", "tcp_rst", "tcp_syn"]
    assert [e.direction for e in result.events[:3]] == [
        Direction.C2S,
        Direction.S2C,
        Direction.S2C,
    ]
    assert result.events[-1].fields["retransmission"] is True
    assert result.events[0].t == pytest.approx(1700000000.000001)


def test_text_without_header_uses_fields_order() -> None:
    text = tcp_row(1, 50000, PORT, tcp_flags_syn="1", tcp_flags_ack="0")
    assert kinds(wire.decode(text, PORT)) == ["tcp_syn"]


def test_header_order_is_honoured() -> None:
    text = "tcp.stream\tframe.number\tframe.time_epoch\ttcp.srcport\ttcp.dstport\ttcp.flags.syn\n"
    text += f"7\t1\t1700000000.5\t50000\t{PORT}\t1\n"
    result = wire.decode(text, PORT)
    assert [(e.kind, e.stream, e.t) for e in result.events] == [("tcp_syn", 7, 1700000000.5)]


def test_bad_rows_are_skipped_and_named() -> None:
    good = tcp_row(1, 50000, PORT, tcp_flags_syn="1", tcp_flags_ack="0")
    text = "\n".join(
        [
            HEADER,
            "garbage without tabs",
            good.rsplit("\t", 5)[0],  # truncated row
            tcp_row(2, 50000, PORT, tls_record_content_type="zz"),
            tcp_row(3, 50000, PORT, frame_time_epoch="not-a-time"),
            good,
        ]
    )
    result = wire.decode(text, PORT)
    assert kinds(result) == ["tcp_syn"]
    assert len(result.warnings) == 4
    assert result.warnings[0].startswith("line 2:")


def test_rows_of_other_ports_are_ignored() -> None:
    text = "\n".join([HEADER, tcp_row(1, 1111, 2222, tcp_flags_syn="1")])
    result = wire.decode(text, PORT)
    assert result.events == () and result.warnings == ()


def test_alert_names_follow_the_rfcs() -> None:
    assert wire.ALERT_NAMES[40] == "handshake_failure"
    assert wire.ALERT_NAMES[48] == "unknown_ca"
    assert wire.ALERT_NAMES[112] == "unrecognized_name"
    assert wire.ALERT_NAMES[116] == "certificate_required"
    assert wire.alert_name(None) == "encrypted_alert"
    assert wire.alert_name(250) == "unknown_alert_250"
    assert len(wire.ALERT_NAMES) == 34


def test_events_serialise_to_json() -> None:
    import json

    for event in sample("tls12_ok").events:
        json.dumps(event.to_json())


# -- never raises ----------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_never_raises(text: str) -> None:
    result = wire.decode(text, PORT)
    assert isinstance(result.events, tuple)


_cell = st.one_of(
    st.just(""),
    st.integers(-(2**70), 2**70).map(str),
    st.integers(0, 2**16).map(hex),
    st.lists(st.integers(-5, 300).map(str), max_size=6).map(",".join),
    st.sampled_from(["1", "0", "True", "False", str(PORT), "nan", "inf", "1e400", "0x", ","]),
    st.text(alphabet=st.characters(blacklist_characters="\t\n\r"), max_size=8),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(_cell, min_size=len(wire.FIELDS), max_size=len(wire.FIELDS))))
def test_rows_of_plausible_cells_never_raise(rows: list[list[str]]) -> None:
    text = "\n".join([HEADER, *("\t".join(r) for r in rows)])
    result = wire.decode(text, PORT)
    assert all(e.source is Source.WIRE for e in result.events)
