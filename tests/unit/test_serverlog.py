"""harness/analysis/serverlog.py: server.log JSON lines -> server events, never an exception."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from harness.analysis.serverlog import parse_server_log
from harness.model import Direction, Source

# A real server.log of an axTLS-suite client against do-2016-ssl-params (builtin backend).
SAMPLE = """\
{"t":1795781280.4781604,"event":"listening","bind":"127.0.0.1","port":38553,"profile":"do-2016-ssl-params","pid":6937}
{"t":1795781280.485916,"event":"accepted","conn":1,"peer":"127.0.0.1","peer_port":55452}
{"t":1795781280.4863112,"event":"client_hello","conn":1,"peer":"127.0.0.1","peer_port":55452,"legacy_version":"TLSv1.2","offered_suites":[60,61,53,47,255],"sni":null}
{"t":1795781280.4864995,"event":"alert","conn":1,"peer":"127.0.0.1","peer_port":55452,"dir":"sent","level":"fatal","description":40,"name":"handshake_failure"}
{"t":1795781280.4865403,"event":"handshake_failed","conn":1,"peer":"127.0.0.1","peer_port":55452,"reason":"NO_SHARED_CIPHER","library":"SSL","message":"[SSL: NO_SHARED_CIPHER] no shared cipher (_ssl.c:1006)","sni":null}
{"t":1795781280.4866486,"event":"closed","conn":1,"peer":"127.0.0.1","peer_port":55452,"duration":0.001176}
"""  # noqa: E501


def test_sample_kinds_and_fields() -> None:
    events = parse_server_log(SAMPLE)
    assert [e.kind for e in events] == [
        "server_listening",
        "server_accepted",
        "server_client_hello",
        "server_alert",
        "server_handshake_failed",
        "server_closed",
    ]
    assert all(e.source is Source.SERVER for e in events)
    failed = events[4]
    assert failed.t == 1795781280.4865403
    assert failed.fields["reason"] == "NO_SHARED_CIPHER"
    assert failed.fields["peer_port"] == 55452
    assert "t" not in failed.fields and "event" not in failed.fields
    assert events[2].fields["offered_suites"] == [60, 61, 53, 47, 255]
    assert events[2].direction is Direction.C2S
    assert events[3].direction is Direction.S2C  # the server sent this alert
    assert failed.text.startswith('{"t":1795781280.4865403')


def test_malformed_lines_become_server_other() -> None:
    text = "\n".join(
        [
            '{"t": 10.0, "event": "accepted"}',
            "Traceback (most recent call last):",
            "[1, 2]",
            '{"event": "closed"}',
            '{"t": "soon", "event": "closed"}',
            '{"t": true, "event": "closed"}',
            '{"t": NaN, "event": "closed"}',
            '{"t": 11.0, "event": "Not Valid"}',
            '{"t": 11.0, "event": 5}',
            '{"t": 12.0, "event": "closed"',
            "",
            '{"t": 13, "event": "closed"}',
        ]
    )
    events = parse_server_log(text)
    assert [e.kind for e in events] == ["server_accepted"] + ["server_other"] * 9 + [
        "server_closed"
    ]
    others = [e for e in events if e.kind == "server_other"]
    assert all(e.t == 10.0 for e in others)  # kept in place after the last good line
    assert others[0].text == "Traceback (most recent call last):"
    assert others[0].fields["line_number"] == 2
    assert "not JSON" in others[0].fields["problem"]
    assert events[-1].t == 13.0


def test_empty_log() -> None:
    assert parse_server_log("") == []
    assert parse_server_log("\n\n  \n") == []


def test_events_serialise_with_their_content() -> None:
    lines = SAMPLE.splitlines()
    for line, e in zip(lines, parse_server_log(SAMPLE), strict=True):
        doc = json.loads(json.dumps(e.to_json()))
        original = json.loads(line)
        assert doc["t"] == original["t"]
        assert doc["source"] == "server"
        assert doc["kind"] == f"server_{original['event']}"
        assert doc["fields"] == {k: v for k, v in original.items() if k not in ("t", "event")}
        assert doc["text"] == line
    hello = json.loads(json.dumps(parse_server_log(SAMPLE)[2].to_json()))
    assert hello["direction"] == "client->server"
    assert hello["fields"]["offered_suites"] == [60, 61, 53, 47, 255]


@given(st.text())
def test_never_raises_on_any_text(text: str) -> None:
    for e in parse_server_log(text):
        assert e.source is Source.SERVER
        assert e.kind.startswith("server_")


@given(
    st.lists(st.one_of(st.text(max_size=40), st.dictionaries(st.text(max_size=5), st.integers())))
)
def test_never_raises_on_json_like_lines(items: list[object]) -> None:
    text = "\n".join(json.dumps(i) for i in items)
    assert len(parse_server_log(text)) <= len(items)
