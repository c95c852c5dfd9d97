"""analysis/apachelog.py: Apache's error and access logs -> the builtin backend's server events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from harness.analysis.apachelog import parse_apache_logs, server_log_text
from harness.analysis.serverlog import parse_server_log
from harness.model import Direction, Event, Source
from tests.samples import DATA

APACHE = DATA / "apache"
PROBE = ("127.0.0.1", 33632)  # the backend's readiness probe in that log (README.md)


def founding(**kwargs) -> list[Event]:
    return parse_apache_logs(
        (APACHE / "do-2016-ssl-params.error.log").read_text(),
        (APACHE / "do-2016-ssl-params.access.log").read_text(),
        **kwargs,
    )


def of(events: list[Event], kind: str) -> list[Event]:
    return [e for e in events if e.kind == kind]


def test_founding_profile_connections() -> None:
    events = founding(exclude_peers=[PROBE])
    assert all(e.source is Source.SERVER for e in events)
    assert [e.t for e in events] == sorted(e.t for e in events)
    per_conn: dict[int, list[str]] = {}
    for e in events:
        if "conn" in e.fields:
            per_conn.setdefault(e.fields["conn"], []).append(e.kind)
    assert per_conn == {
        1: ["server_accepted", "server_handshake_failed", "server_closed"],  # axTLS suites
        2: [
            "server_accepted",
            "server_handshake_ok",
            "server_request",
            "server_response",
            "server_closed",
        ],
        3: ["server_accepted", "server_handshake_failed", "server_closed"],  # TLS 1.3 only
        4: ["server_accepted", "server_handshake_failed", "server_request", "server_response"],
        5: ["server_accepted", "server_handshake_failed", "server_closed"],  # connect, close
    }
    reasons = [e.fields["reason"] for e in of(events, "server_handshake_failed")]
    assert reasons == [
        "NO_SHARED_CIPHER",
        "UNSUPPORTED_PROTOCOL",
        "HTTP_REQUEST",
        "UNEXPECTED_EOF_WHILE_READING",
    ]


def test_no_shared_cipher_has_the_builtin_fields() -> None:
    failed = of(founding(exclude_peers=[PROBE]), "server_handshake_failed")[0]
    # The builtin backend's handshake_failed fields (tests/unit/test_serverlog.py).
    assert {"conn", "peer", "peer_port", "reason", "library", "message", "sni"} <= set(
        failed.fields
    )
    assert failed.fields["reason"] == "NO_SHARED_CIPHER"
    assert failed.fields["library"] == "SSL"
    assert failed.fields["sni"] is None  # AH02645: no server name sent
    assert failed.fields["peer"] == "127.0.0.1"
    assert failed.fields["peer_port"] == 33636
    assert failed.fields["apache_code"] == "AH02008"
    assert failed.fields["message"].startswith("error:0A0000C1:SSL routines::no shared cipher")
    assert failed.t == datetime(2026, 11, 27, 12, 35, 9, 209265, tzinfo=UTC).timestamp()
    assert "AH02008" in failed.text


def test_handshake_ok_request_and_response() -> None:
    events = founding(exclude_peers=[PROBE])
    ok = of(events, "server_handshake_ok")[0]
    assert ok.fields["version"] == "TLSv1.2"
    assert ok.fields["cipher"] == "ECDHE-RSA-AES256-GCM-SHA384"
    assert ok.fields["cipher_id"] == 0xC030
    assert ok.fields["sni"] == "hil.test"  # AH02044
    request, bad = of(events, "server_request")
    assert request.direction is Direction.C2S
    assert (request.fields["method"], request.fields["path"]) == ("GET", "/index.html")
    assert request.fields["version"] == "HTTP/1.1"
    assert request.fields["tls_version"] == "TLSv1.2"
    assert request.fields["sni"] == "hil.test"
    assert request.t == 1795782909.212951
    assert request.fields["conn"] == ok.fields["conn"]  # joined by Apache's log id
    response = of(events, "server_response")[0]
    assert response.direction is Direction.S2C
    assert response.fields["status"] == 200
    assert response.fields["body_bytes"] == 676
    assert response.fields["sent_bytes"] > 676
    assert bad.fields["tls_version"] is None and bad.fields["cipher"] is None
    closed = of(events, "server_closed")
    assert [c.fields["shutdown"] for c in closed] == [
        "abortive",
        "standard",
        "abortive",
        "abortive",
    ]
    assert all(0 <= c.fields["duration"] < 1 for c in closed)


def test_eof_before_hello_keeps_the_os_error() -> None:
    eof = of(founding(exclude_peers=[PROBE]), "server_handshake_failed")[-1]
    assert eof.fields["reason"] == "UNEXPECTED_EOF_WHILE_READING"
    assert eof.fields["message"].startswith("(70014)End of file found")


def test_probe_is_left_out_and_numbering_follows() -> None:
    with_probe = founding()
    without = founding(exclude_peers=[PROBE])
    assert len(of(with_probe, "server_accepted")) == 6
    assert len(of(without, "server_accepted")) == 5
    first = of(with_probe, "server_accepted")[0]
    assert (first.fields["conn"], first.fields["peer_port"]) == (1, 33632)
    assert of(without, "server_accepted")[0].fields["peer_port"] == 33636


def test_server_lifecycle_and_startup_messages() -> None:
    events = founding()
    (listening,) = of(events, "server_listening")
    assert listening.fields["server"] == "Apache/2.4.71 (Debian) OpenSSL/3.0.19"
    assert of(events, "server_stopped")[0].fields["message"] == "caught SIGTERM, shutting down"
    codes = [e.fields["code"] for e in of(events, "server_message")]
    # Apache reads its config twice and says each thing twice: kept once.
    assert codes.count("AH02217") == 1  # SSLUseStapling on a self-signed certificate
    assert "AH01906" in codes
    assert not of(events, "server_other")


def test_fixed_profile_serves_the_axtls_suite() -> None:
    events = parse_apache_logs(
        (APACHE / "do-2016-ssl-params-fixed.error.log").read_text(),
        (APACHE / "do-2016-ssl-params-fixed.access.log").read_text(),
        exclude_peers=[("127.0.0.1", 47300)],
    )
    ok = of(events, "server_handshake_ok")[0]
    assert (ok.fields["cipher"], ok.fields["cipher_id"], ok.fields["conn"]) == (
        "AES128-SHA256",
        0x003C,
        1,
    )
    assert of(events, "server_request")[0].fields["conn"] == 1


def test_server_log_round_trip() -> None:
    events = founding(exclude_peers=[PROBE])
    again = parse_server_log(server_log_text(events))
    assert [(e.t, e.kind, e.direction, dict(e.fields)) for e in again] == [
        (e.t, e.kind, e.direction, dict(e.fields)) for e in events
    ]


def test_default_apache_format_pasted_from_a_server() -> None:
    """Apache's stock ErrorLogFormat (what a user pastes), in that server's local time."""
    text = "\n".join(
        [
            "[Mon Jun 11 10:30:37.123456 2018] [ssl:info] [pid 1234:tid 5678] "
            "[client 192.168.1.50:51234] AH01964: Connection to child 1 established "
            "(server example.com:443)",
            "[Mon Jun 11 10:30:37.124000 2018] [ssl:info] [pid 1234:tid 5678] "
            "[client 192.168.1.50:51234] AH02008: SSL library error 1 in handshake "
            "(server example.com:443)",
            "[Mon Jun 11 10:30:37.124010 2018] [ssl:info] [pid 1234:tid 5678] SSL Library "
            "Error: error:1408A0C1:SSL routines:ssl3_get_client_hello:no shared cipher -- "
            "Too restrictive SSLCipherSuite or using DSA server certificate?",
        ]
    )
    jst = timezone(timedelta(hours=9))
    events = parse_apache_logs(text, tz=jst)
    assert [e.kind for e in events] == ["server_accepted", "server_handshake_failed"]
    failed = events[1]
    # No connection id in that format: the line carries the client instead.
    assert failed.fields["reason"] == "NO_SHARED_CIPHER"
    assert failed.t == datetime(2018, 6, 11, 1, 30, 37, 124000, tzinfo=UTC).timestamp()


def test_malformed_lines_become_server_other() -> None:
    error = "\n".join(
        [
            "[2026-11-27 12:35:09.208361] [ssl:info] [pid 1:tid 2] [conn A] "
            "[client 127.0.0.1:5] AH01964: Connection to child 0 established (server x:443)",
            "not a log line",
            "[yesterday] [ssl:info] [pid 1:tid 2] AH01964: Connection to child 0 established",
            "[2026-11-27 12:35:09.3] [ssl:warn] [pid x] broken pid",
            "",
        ]
    )
    access = '1 2 B 127.0.0.1 6 200\n12 13 B 127.0.0.1 - - - - - - - "\x00 weird"\n'
    events = parse_apache_logs(error, access)
    others = of(events, "server_other")
    assert len(others) == 4
    assert {o.fields["log"] for o in others} == {"error", "access"}
    assert others[0].text in ("not a log line", "1 2 B 127.0.0.1 6 200")
    odd = of(events, "server_request")[0]
    assert odd.fields["method"] is None and odd.fields["line"] == "\x00 weird"
    assert of(events, "server_response")[0].fields["status"] is None
    assert "server_other" not in server_log_text(events)


@given(st.text(), st.text())
def test_never_raises(error: str, access: str) -> None:
    parse_apache_logs(error, access)


@given(
    st.lists(
        st.sampled_from(
            [
                *(APACHE / "do-2016-ssl-params.error.log").read_text().splitlines(),
                "SSL Library Error: error:0A0000C1:SSL routines::no shared cipher",
                "[",
                "",
            ]
        )
    )
)
def test_any_mix_of_real_lines_parses(lines: list[str]) -> None:
    events = parse_apache_logs("\n".join(lines))
    parse_server_log(server_log_text(events))
