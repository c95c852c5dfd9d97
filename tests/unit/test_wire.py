"""harness.analysis.wire on committed tshark text (tests/data/wire, made by make_samples.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.analysis import wire
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


# -- ClientHello and ServerHello in depth ----------------------------------------------


def test_client_hello_extensions_in_depth() -> None:
    hello = sample("tls12_ok").of_kind("client_hello")[0]
    f = hello.fields
    assert f["record_length"] > 0 and f["attempt"] == 0
    assert f["extensions"][0] == 0  # server_name first, as OpenSSL sends it
    assert {10, 11, 13} <= set(f["extensions"])  # groups, point formats, signature algs
    assert f["supported_groups"][:2] == [0x001D, 0x0017]  # x25519, secp256r1
    assert f["ec_point_formats"] == [0, 1, 2]
    assert 0x0804 in f["signature_algorithms"] and 0x0401 in f["signature_algorithms"]
    assert f["max_fragment_length"] is None and f["max_fragment_length_code"] is None
    assert f["supported_versions"] == []  # a TLS 1.2-only client sends none


def test_tls13_server_hello_keeps_its_own_extensions_only() -> None:
    # The same frame holds EncryptedExtensions and the Certificate, whose (empty)
    # extension blocks must not be mixed into the ServerHello's.
    server_hello = sample("tls13_ok").of_kind("server_hello")[0]
    assert server_hello.fields["extensions"] == [43, 51]  # supported_versions, key_share


def test_mfln_from_openssl_is_offered_and_echoed() -> None:
    result = sample("tls12_mfln")
    assert result.warnings == ()
    hello = result.of_kind("client_hello")[0]
    assert hello.fields["max_fragment_length"] == 512
    assert hello.fields["max_fragment_length_code"] == 1
    assert 1 in hello.fields["extensions"]
    assert "mfl=512" in hello.text
    server_hello = result.of_kind("server_hello")[0]
    assert server_hello.fields["max_fragment_length"] == 512
    assert 1 in server_hello.fields["extensions"]


def test_mfln_fragments_a_message_over_records_without_inventing_records() -> None:
    # The 724-byte Certificate message travels in a 512- and a 212-byte record.
    result = sample("tls12_mfln")
    server = [e.kind for e in result.events if e.direction is Direction.S2C][1:6]
    assert server == [
        "server_hello",
        "certificate",
        "server_key_exchange",
        "server_hello_done",
        "new_session_ticket",
    ]
    assert "encrypted_handshake" not in kinds(result)
    assert result.of_kind("certificate")[0].fields["record_length"] == 512


# -- certificates and key exchange -----------------------------------------------------


def test_chain_of_three_with_subjects_dates_and_keys() -> None:
    result = sample("tls12_chain3")
    assert result.warnings == ()
    (cert,) = result.of_kind("certificate")
    chain = cert.fields["chain"]
    assert [c["subject"] for c in chain] == [
        "CN=localhost",
        "CN=HIL Test Intermediate",
        "CN=HIL Test Root",
    ]
    assert [c["issuer"] for c in chain] == [
        "CN=HIL Test Intermediate",
        "CN=HIL Test Root",
        "CN=HIL Test Root",
    ]
    assert [(c["key_type"], c["key_bits"]) for c in chain] == [
        ("EC", 256),
        ("RSA", 2048),
        ("RSA", 3072),
    ]
    assert chain[0]["curve"] == "secp256r1"
    assert [c["self_issued"] for c in chain] == [False, False, True]
    assert all(c["signature_algorithm"] == "sha256WithRSAEncryption" for c in chain)
    root = chain[2]
    # After 2049 a date is GeneralizedTime in DER: still read, and past 2038 (time_t).
    assert root["not_after"] == "2118-05-18T00:00:00+00:00"
    assert root["not_after_epoch"] == 4682275200
    assert root["not_before_epoch"] < chain[0]["not_after_epoch"] < root["not_after_epoch"]
    assert "3 cert(s) CN=localhost" in cert.text


def test_ecdhe_curve_from_server_key_exchange() -> None:
    (ske,) = sample("tls12_chain3").of_kind("server_key_exchange")
    assert (ske.fields["curve"], ske.fields["curve_name"]) == (24, "secp384r1")
    assert ske.fields["dh_bits"] is None
    assert ske.fields["signature_algorithm"] == 0x0403  # ecdsa_secp256r1_sha256
    suite = sample("tls12_chain3").of_kind("server_hello")[0].fields["suite"]
    assert suite == 0xC02B  # ECDHE-ECDSA-AES128-GCM-SHA256


def test_dhe_size_from_server_key_exchange() -> None:
    result = sample("tls12_dhe")
    (ske,) = result.of_kind("server_key_exchange")
    assert ske.fields["dh_p_length"] == 256
    assert ske.fields["dh_bits"] == 2048
    assert ske.fields["curve"] is None
    assert "DH 2048 bit" in ske.text
    assert result.of_kind("server_hello")[0].fields["suite"] == 0x009E


def test_tls13_certificate_is_decoded_with_the_keylog_only() -> None:
    (cert,) = sample("tls13_ok").of_kind("certificate")
    assert cert.fields["chain"][0]["key_type"] == "RSA"
    assert cert.fields["chain"][0]["key_bits"] == 2048
    assert cert.fields["record_length"] > 700  # the sealed record, as on the wire
    assert sample("tls13_ok", keys=False).of_kind("certificate") == ()


def test_a_broken_certificate_is_reported_not_raised() -> None:
    assert wire.describe_certificate("zz")["error"].startswith("not hex")
    broken = wire.describe_certificate("3082000130")
    assert "error" in broken and broken["size"] == 5


# -- records, TCP trouble and attempts -------------------------------------------------


def test_a_16k_record_is_shown_with_its_size() -> None:
    result = sample("tls12_big_record")
    sizes = [e.fields["length"] for e in result.of_kind("app_data") if e.direction is Direction.S2C]
    assert sizes == [16408]  # 16384 bytes of plaintext + GCM's 8-byte nonce and 16-byte tag
    (attempt,) = result.attempts()
    assert attempt.largest_record(Direction.S2C) == 16408
    assert attempt.largest_record(Direction.C2S) < 512


def test_zero_window_and_a_real_retransmission() -> None:
    result = sample("tls12_zero_window")
    assert result.warnings == ()
    zero = result.of_kind("tcp_zero_window")
    assert zero and all(e.direction is Direction.C2S for e in zero)
    assert all(e.fields["window"] == 0 for e in zero)
    retrans = result.of_kind("tcp_retransmission")
    assert retrans and retrans[0].direction is Direction.S2C
    assert retrans[0].fields["length"] > 0 and retrans[0].fields["seq"] > 0
    (attempt,) = result.attempts()
    assert attempt.retransmissions == len(retrans)
    # A retransmitted segment gives no second set of TLS events.
    assert len(result.of_kind("finished")) == 2


def test_attempts_group_streams_in_order() -> None:
    result = sample("tls12_ok")
    (attempt,) = result.attempts()
    assert attempt.index == 0 and attempt.stream == 0
    assert attempt.client.startswith("127.0.0.1:") and attempt.server.endswith(
        f":{(DATA / 'tls12_ok.port').read_text().strip()}"
    )
    assert attempt.client_hello is not None and attempt.server_hello is not None
    assert attempt.app_data
    assert len(attempt.chain) == 1
    assert [a.fields["name"] for a in attempt.alerts] == ["close_notify", "close_notify"]
    assert attempt.start <= attempt.end
    failed = sample("tls12_no_shared_cipher").attempts()[0]
    assert failed.server_hello is None and not failed.app_data and failed.chain == ()


def test_attempt_numbers_follow_first_sight_not_tshark_stream_numbers() -> None:
    text = "\n".join(
        [
            HEADER,
            tcp_row(1, 50001, PORT, tcp_stream="7", tcp_flags_syn="1", tcp_flags_ack="0"),
            tcp_row(2, 50002, PORT, tcp_stream="2", tcp_flags_syn="1", tcp_flags_ack="0"),
            tcp_row(3, PORT, 50001, tcp_stream="7", tcp_flags_syn="1"),
        ]
    )
    result = wire.decode(text, PORT)
    assert [(e.stream, e.fields["attempt"]) for e in result.events] == [(7, 0), (2, 1), (7, 0)]
    attempts = result.attempts()
    assert [(a.index, a.stream, len(a.events)) for a in attempts] == [(0, 7, 2), (1, 2, 1)]
    assert attempts[1].client == "127.0.0.1:50002"


def test_decoder_fed_in_pieces_equals_decode() -> None:
    text = (DATA / "tls12_zero_window.fields.txt").read_text()
    port = int((DATA / "tls12_zero_window.port").read_text())
    decoder = wire.Decoder(port)
    lines = text.splitlines()
    for i in range(0, len(lines), 7):
        decoder.feed(lines[i : i + 7])
    assert decoder.result() == wire.decode(text, port)


def test_identical_rows_share_decoding_but_not_frames() -> None:
    text = (DATA / "tls12_ok.fields.txt").read_text()
    port = int((DATA / "tls12_ok.port").read_text())
    body = text.splitlines()[1:]
    # The same connection twice, as tshark would print two streams of one client.
    second = [line.replace("\t0\t", "\t1\t", 1) for line in body]
    result = wire.decode("\n".join([text.splitlines()[0], *body, *second]), port)
    hellos = result.of_kind("client_hello")
    assert len(hellos) == 2 and hellos[0].fields["suites"] == hellos[1].fields["suites"]


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
    # A retransmitted SYN is both a retransmission and a SYN.
    assert kinds(result) == [
        "tcp_syn",
        "tcp_synack",
        "app_data",
        "tcp_fin",
        "tcp_rst",
        "tcp_retransmission",
        "tcp_syn",
    ]
    assert [e.direction for e in result.events[:3]] == [
        Direction.C2S,
        Direction.S2C,
        Direction.S2C,
    ]
    assert result.events[-1].fields["retransmission"] is True
    assert result.events[-2].fields["syn"] is True
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
            tcp_row(3, 50000, PORT, tcp_flags_fin="1", frame_time_epoch="not-a-time"),
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


def test_events_serialise_to_json_without_loss() -> None:
    import json

    for path in DATA.glob("*.port"):
        for event in sample(path.stem).events:
            doc = event.to_json()
            # Every value survives the trip: no tuple turned list, no object turned string.
            assert json.loads(json.dumps(doc)) == doc, (path.stem, event.kind)
            assert doc["kind"] == event.kind and doc["source"] == "wire"
            assert doc["t"] == event.t
    hello = json.loads(
        json.dumps(sample("tls12_no_shared_cipher").of_kind("client_hello")[0].to_json())
    )
    assert hello["direction"] == "client->server"
    assert hello["fields"]["suites"][:4] == [0x003C, 0x003D, 0x0035, 0x002F]


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


_REAL_ROWS = [
    (name, line)
    for name in ("tls12_ok", "tls13_ok", "tls12_chain3", "tls12_mfln", "tls12_no_shared_cipher")
    for line in (DATA / f"{name}.fields.txt").read_text().splitlines()[1:]
]
_REAL_PORTS = {name: int((DATA / f"{name}.port").read_text()) for name, _ in _REAL_ROWS}


@st.composite
def _mutated_rows(draw: st.DrawFn) -> tuple[str, str]:
    name, line = draw(st.sampled_from(_REAL_ROWS))
    cells = line.split("\t")
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(cells) - 1))
        cells[i] = draw(
            st.one_of(
                _cell,
                st.just(cells[i][: len(cells[i]) // 2]),  # cut short, as a torn line
                st.just(cells[i] + "," + cells[i]),  # doubled list
                st.text(alphabet="0123456789abcdef,:", max_size=40),  # hex-ish (certificates)
            )
        )
    if draw(st.booleans()):
        del cells[draw(st.integers(0, len(cells) - 1))]
    return name, "\t".join(cells)


@settings(max_examples=400, deadline=None)
@given(st.lists(_mutated_rows(), min_size=1, max_size=8))
def test_mutated_real_rows_never_raise(rows: list[tuple[str, str]]) -> None:
    port = _REAL_PORTS[rows[0][0]]
    text = "\n".join([HEADER, *(line for _, line in rows)])
    result = wire.decode(text, port)
    for event in result.events:
        assert event.source is Source.WIRE
        json_safe = event.to_json()
        assert json_safe["kind"] == event.kind


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=200), max_size=20), st.integers(1, 5))
def test_decoder_fed_arbitrary_pieces_never_raises(pieces: list[str], step: int) -> None:
    decoder = wire.Decoder(PORT)
    for i in range(0, len(pieces), step):
        decoder.feed(pieces[i : i + step])
    assert isinstance(decoder.result().events, tuple)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789abcdefABCDEF:", max_size=400))
def test_describe_certificate_never_raises(hex_text: str) -> None:
    facts = wire.describe_certificate(hex_text)
    assert "error" in facts or "subject" in facts
