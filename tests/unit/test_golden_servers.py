"""Each golden's server side is what today's profile serves (builtin backend).

A golden records the board against one of our servers. When a profile or the builtin
server changes, a recording made before shows a server that no longer exists, and the
twin (run against today's server) is compared with a board that met another one. The
server's own log in the golden says what it was: its settings when it started, the
version and suite of every handshake, the alerts it sent. Checked here without a run.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.instruments.servers.profiles import TLS13_DEFAULT, accepted_suites, load_profile
from harness.run.golden import load_case
from tests.samples import DATA

GOLDENS = sorted(
    p.parent
    for p in (DATA / "golden").glob("*/*/case.toml")
    if load_case(p.parent).get("backend", "builtin") == "builtin"
)
# Python's ssl names TLS 1.0 "TLSv1".
WIRE = {"TLSv1": 0x0301, "TLSv1.1": 0x0302, "TLSv1.2": 0x0303, "TLSv1.3": 0x0304}


def _events(golden: Path) -> list[dict]:
    return [json.loads(line) for line in (golden / "server.log").read_text().splitlines() if line]


def test_there_are_builtin_goldens():
    assert len(GOLDENS) > 100


@pytest.mark.parametrize("golden", GOLDENS, ids=[f"{g.parent.name}/{g.name}" for g in GOLDENS])
def test_the_recorded_server_is_todays_profile(golden: Path):
    case = load_case(golden)
    profile = load_profile(case["profile"])
    events = _events(golden)
    (start,) = [e for e in events if e["event"] == "listening"]
    assert start["profile"] == profile.name
    today = {
        "chain": profile.chain.value,
        "sni_policy": profile.sni.value,
        "client_auth": profile.client_auth.value,
        "groups": list(profile.curves) or "default",
        "tls13_ciphersuites": list(profile.tls13_ciphersuites or TLS13_DEFAULT),
    }
    # A key the server of the recording did not log yet is not held against it.
    recorded = {k: start[k] for k in today if k in start}
    assert recorded == {k: today[k] for k in recorded}, f"{golden}: server settings changed"
    lo, hi = profile.min_protocol.wire, profile.max_protocol.wire
    served = set(accepted_suites(profile))
    for e in events:
        if e["event"] == "handshake_ok":
            assert lo <= WIRE[e["version"]] <= hi, f"{golden}: {e['version']} not served today"
            if e["version"] != "TLSv1.3":
                assert e["cipher_id"] in served, f"{golden}: {e['cipher']} not served today"


@pytest.mark.parametrize("golden", GOLDENS, ids=[f"{g.parent.name}/{g.name}" for g in GOLDENS])
def test_no_golden_shows_an_alert_for_a_clients_abrupt_close(golden: Path):
    """The builtin server treats a client's close without close_notify as a close
    (OP_IGNORE_UNEXPECTED_EOF); a recording where it answered with decode_error(50)
    was made against the server before that change."""
    events = _events(golden)
    eof = {
        e["conn"]
        for e in events
        if e["event"] == "handshake_failed" and "UNEXPECTED_EOF" in str(e.get("reason"))
    }
    sent = [
        e
        for e in events
        if e["event"] == "alert" and e.get("dir") == "sent" and e.get("conn") in eof
    ]
    assert not sent, f"{golden}: the server answered an abrupt close with {sent[0]['name']}"
