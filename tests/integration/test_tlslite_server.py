"""The tlslite backend with real clients: `openssl s_client -maxfraglen 512` gets no MFLN
answer and records over 512 bytes; a GET gets the 16 KB page. The `serve` fixture checks
that every server started leaves no process."""

from __future__ import annotations

import re
import socket
import ssl
from pathlib import Path

import pytest

from harness.instruments.servers.profiles import load_profile
from harness.instruments.servers.tlslite_backend import TlsliteServer
from tests.integration.serving import (
    ServeFn,
    assert_gone,
    get,
    one,
    s_client,
    wait_for,
)

pytestmark = pytest.mark.integration

# s_client -trace prints each record it receives as this header.
RECEIVED = re.compile(
    r"Received Record\nHeader:\n  Version = [^\n]*\n  Content Type = \w+ \((\d+)\)\n"
    r"  Length = (\d+)"
)


@pytest.fixture
def backend() -> str:
    return "tlslite"


def test_mfln_request_is_ignored_and_records_stay_large(serve: ServeFn, tmp_path: Path) -> None:
    server = serve("mfln-ignored")
    result = s_client(
        server.port, "-tls1_2", "-maxfraglen", "512", "-trace", log=tmp_path / "s.log"
    )
    assert result.returncode == 0, result.output
    client_hello, rest = result.output.split("    ServerHello, Length=", 1)
    server_hello = rest.split("Received Record", 1)[0]
    # Asked for, not answered: no extension in the ServerHello.
    assert "max_fragment_length := 2^9 (512 bytes)" in client_hello
    assert "extension_type=" in server_hello and "max_fragment_length" not in server_hello
    records = [(int(t), int(n)) for t, n in RECEIVED.findall(result.output)]
    handshake = [n for t, n in records if t == 22]
    # The Certificate (leaf and CA, about 1.7 KB) in one record: over the 512 asked for.
    assert handshake and max(handshake) > 512, records
    ok = one(wait_for(server, "server_handshake_ok"), "server_handshake_ok")
    assert ok.fields["version"] == "TLSv1.2"


def test_get_serves_the_16k_page(serve: ServeFn, bundles) -> None:
    server = serve("mfln-ignored")
    bundle = bundles["ca-rsa-2048"]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(bundle.ca_pem)  # the chain's root: the whole chain verifies
    ctx.check_hostname = False  # the leaf names 127.0.0.1 by an iPAddress SAN
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    with (
        socket.create_connection(server.address, timeout=10) as raw,
        ctx.wrap_socket(raw) as tls,
    ):
        status, _headers, body = get(tls)
    assert status.startswith("HTTP/1.1 200")
    assert len(body) == 16384
    response = one(wait_for(server, "server_response"), "server_response")
    assert response.fields["status"] == 200


def test_stop_leaves_no_process(tmp_path: Path, bundles) -> None:
    with TlsliteServer(
        load_profile("mfln-ignored"), bundles["ca-rsa-2048"], "127.0.0.1", 0, tmp_path
    ) as server:
        pid = server.pid
        assert server.alive()
    assert_gone(pid)
    server.stop()
