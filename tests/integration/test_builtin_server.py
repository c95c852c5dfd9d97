"""The builtin backend with real handshakes: Python ssl clients and the openssl binary."""

from __future__ import annotations

import dataclasses
import os
import socket
import ssl
from pathlib import Path

import pytest

from harness.analysis.serverlog import parse_server_log
from harness.instruments.servers import BACKENDS, start_server
from harness.instruments.servers.builtin import BuiltinServer
from harness.instruments.servers.profiles import ServerProfile, load_profile
from harness.model.errors import ConfigError, NetworkSafetyError, StateError, ToolFailedError
from tests.integration.serving import (
    AXTLS_IDS,
    AXTLS_SUITES,
    FOUNDING_HEADERS,
    ServeFn,
    assert_gone,
    client_context,
    get,
    one,
    s_client,
    wait_for,
    wait_until_read,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def backend() -> str:
    return "builtin"


def test_axtls_suites_get_handshake_failure(serve: ServeFn, bundles) -> None:
    server = serve("do-2016-ssl-params")
    ctx = client_context(
        bundles["founding-report"], ciphers=AXTLS_SUITES, maximum=ssl.TLSVersion.TLSv1_2
    )
    with (
        socket.create_connection(server.address, timeout=5) as raw,
        pytest.raises(ssl.SSLError) as info,
    ):
        ctx.wrap_socket(raw)
    assert info.value.reason == "SSLV3_ALERT_HANDSHAKE_FAILURE"  # alert 40 from the server

    events = wait_for(server, "server_closed")
    failed = one(events, "server_handshake_failed")
    assert failed.fields["reason"] == "NO_SHARED_CIPHER"
    assert failed.fields["library"] == "SSL"
    assert failed.fields["peer"] == "127.0.0.1"
    hello = one(events, "server_client_hello")
    assert hello.fields["offered_suites"][:4] == AXTLS_IDS
    assert hello.fields["offered_suite_names"][:4] == AXTLS_SUITES.split(":")
    alert = one(events, "server_alert")
    assert (alert.fields["dir"], alert.fields["description"]) == ("sent", 40)
    assert alert.fields["name"] == "handshake_failure"
    kinds = [e.kind for e in events]
    assert kinds.index("server_client_hello") < kinds.index("server_alert")
    assert kinds.index("server_alert") < kinds.index("server_handshake_failed")


def test_lingering_close_takes_the_clients_late_alerts_without_reset(
    serve: ServeFn, bundles
) -> None:
    """After its alert the server stops sending but reads on, so the board's own alerts
    (unexpected_message, close_notify) arrive instead of drawing a RST (real Apache
    resets here: a documented difference of the builtin backend)."""
    server = serve("do-2016-ssl-params")
    ctx = client_context(
        bundles["founding-report"], ciphers=AXTLS_SUITES, maximum=ssl.TLSVersion.TLSv1_2
    )
    raw = socket.create_connection(server.address, timeout=5)
    with ctx.wrap_socket(raw, do_handshake_on_connect=False) as tls:
        with pytest.raises(ssl.SSLError):
            tls.do_handshake()
        # The TLS session is dead; its TCP connection is still ours to write raw records on.
        fd_sock = socket.socket(fileno=os.dup(tls.fileno()))
        with fd_sock:
            wait_for(server, "server_handshake_failed")  # the server is past its alert
            fd_sock.sendall(bytes([21, 3, 3, 0, 2, 2, 10]))  # fatal unexpected_message
            wait_until_read(fd_sock)  # a server that closed now would reset the next one
            fd_sock.sendall(bytes([21, 3, 3, 0, 2, 1, 0]))  # close_notify: no EPIPE/RST
            assert fd_sock.recv(100) == b""  # the server's FIN, not a reset
            fd_sock.shutdown(socket.SHUT_WR)
    events = wait_for(server, "server_closed")
    assert one(events, "server_handshake_failed").fields["reason"] == "NO_SHARED_CIPHER"


def test_fixed_profile_serves_axtls_suite_and_headers(serve: ServeFn, bundles) -> None:
    server = serve("do-2016-ssl-params-fixed")
    ctx = client_context(
        bundles["founding-report-fixed"], ciphers=AXTLS_SUITES, maximum=ssl.TLSVersion.TLSv1_2
    )
    with ctx.wrap_socket(socket.create_connection(server.address, timeout=5)) as tls:
        assert tls.cipher()[0] == "AES128-SHA256"
        status, headers, body = get(tls)
    assert status == "HTTP/1.1 200 OK"
    for name, value in FOUNDING_HEADERS.items():
        assert headers[name] == value
    assert int(headers["content-length"]) == len(body)
    assert b"It works!" in body

    events = wait_for(server, "server_closed")
    ok = one(events, "server_handshake_ok")
    assert ok.fields["cipher"] == "AES128-SHA256"
    assert ok.fields["cipher_id"] == 0x003C
    assert ok.fields["version"] == "TLSv1.2"
    request = one(events, "server_request")
    assert (request.fields["method"], request.fields["path"]) == ("GET", "/")
    assert request.fields["version"] == "HTTP/1.1"
    response = one(events, "server_response")
    assert response.fields["status"] == 200
    assert response.fields["bytes"] > len(body)


def test_normal_client_gets_ecdhe_aes256_gcm(serve: ServeFn, bundles) -> None:
    server = serve("do-2016-ssl-params")
    ctx = client_context(bundles["founding-report"])
    with ctx.wrap_socket(socket.create_connection(server.address, timeout=5)) as tls:
        assert tls.version() == "TLSv1.2"  # Apache 2.4.18 + OpenSSL 1.0.2 had no TLS 1.3
        assert tls.cipher()[0] == "ECDHE-RSA-AES256-GCM-SHA384"
        status, headers, _ = get(tls)
    assert status == "HTTP/1.1 200 OK"
    assert headers["x-frame-options"] == "DENY"
    ok = one(wait_for(server, "server_handshake_ok"), "server_handshake_ok")
    assert ok.fields["cipher_id"] == 0xC030


def test_dhe_uses_shipped_group(serve: ServeFn, bundles) -> None:
    server = serve("do-2016-ssl-params")
    ctx = client_context(
        bundles["founding-report"],
        ciphers="DHE-RSA-AES256-GCM-SHA384",
        maximum=ssl.TLSVersion.TLSv1_2,
    )
    with ctx.wrap_socket(socket.create_connection(server.address, timeout=5)) as tls:
        assert tls.cipher()[0] == "DHE-RSA-AES256-GCM-SHA384"


def test_tls13_refused(serve: ServeFn, bundles) -> None:
    server = serve("do-2016-ssl-params")
    ctx = client_context(bundles["founding-report"], minimum=ssl.TLSVersion.TLSv1_3)
    with (
        socket.create_connection(server.address, timeout=5) as raw,
        pytest.raises(ssl.SSLError) as info,
    ):
        ctx.wrap_socket(raw)
    assert "PROTOCOL_VERSION" in info.value.reason
    failed = one(wait_for(server, "server_handshake_failed"), "server_handshake_failed")
    assert failed.fields["reason"] == "UNSUPPORTED_PROTOCOL"


def test_tls10_still_served(serve: ServeFn, bundles) -> None:
    # OpenSSL 3 refuses TLS 1.0 at its default security level; the backend lowers it.
    server = serve("do-2016-ssl-params")
    ctx = client_context(bundles["founding-report"], ciphers="ALL:@SECLEVEL=0")
    with pytest.warns(DeprecationWarning):
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1
    with ctx.wrap_socket(socket.create_connection(server.address, timeout=5)) as tls:
        assert tls.version() == "TLSv1"
        assert tls.cipher()[0] == "ECDHE-RSA-AES256-SHA"


def test_sni_and_keylog(serve: ServeFn, bundles) -> None:
    server = serve("do-2016-ssl-params")
    ctx = client_context(bundles["founding-report"], maximum=ssl.TLSVersion.TLSv1_2)
    with ctx.wrap_socket(
        socket.create_connection(server.address, timeout=5), server_hostname="hil.test"
    ) as tls:
        get(tls)
    events = wait_for(server, "server_closed")
    assert one(events, "server_handshake_ok").fields["sni"] == "hil.test"
    assert one(events, "server_client_hello").fields["sni"] == "hil.test"
    keylog = server.run_dir / "keylog.txt"
    lines = [line for line in keylog.read_text().splitlines() if not line.startswith("#")]
    assert len(lines) == 1  # one TLS 1.2 handshake
    label, client_random, secret = lines[0].split()
    assert label == "CLIENT_RANDOM"
    assert len(client_random) == 64 and len(secret) == 96
    # Session secrets: the owner's only, as Apache's key log is.
    assert keylog.stat().st_mode & 0o777 == 0o600


def test_openssl_s_client_sees_alert_40(serve: ServeFn, tmp_path: Path) -> None:
    server = serve("do-2016-ssl-params")
    result = s_client(server.port, "-tls1_2", "-cipher", AXTLS_SUITES, log=tmp_path / "bad.log")
    assert result.returncode != 0
    assert "alert handshake failure" in result.output
    assert "SSL alert number 40" in result.output
    failed = one(wait_for(server, "server_handshake_failed"), "server_handshake_failed")
    assert failed.fields["reason"] == "NO_SHARED_CIPHER"

    fixed = serve("do-2016-ssl-params-fixed")
    ok = s_client(fixed.port, "-tls1_2", "-cipher", AXTLS_SUITES)
    assert ok.returncode == 0, ok.output
    assert "Cipher is AES128-SHA256" in ok.output


# A deadline, not a timing: a hang fails, a slow machine does not.
@pytest.mark.timeout(60)
def test_port_in_use_is_a_clear_error_and_leaves_nothing(tmp_path: Path, bundles) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        server = BuiltinServer(
            load_profile("do-2016-ssl-params"),
            bundles["founding-report"],
            "127.0.0.1",
            port,
            tmp_path,
        )
        with pytest.raises(ToolFailedError) as info:
            server.start()
    message = str(info.value)
    assert f"cannot listen on 127.0.0.1:{port}" in message
    assert "Address already in use" in message
    assert "port 0" in message  # the fix
    assert_gone(server.pid)
    server.stop()  # still safe


def test_child_failure_before_ready_shows_log_tail(tmp_path: Path, bundles) -> None:
    broken = dataclasses.replace(bundles["founding-report"], key_pem=tmp_path / "missing.pem")
    server = BuiltinServer(load_profile("do-2016-ssl-params"), broken, "127.0.0.1", 0, tmp_path)
    with pytest.raises(ToolFailedError) as info:
        server.start()
    assert "exited (code 1) before ready" in str(info.value)
    assert "FileNotFoundError" in str(info.value)
    assert info.value.log == server.process_log
    assert_gone(server.pid)


def test_stop_leaves_no_process_and_is_repeatable(tmp_path: Path, bundles) -> None:
    profile = load_profile("do-2016-ssl-params")
    with BuiltinServer(profile, bundles["founding-report"], "127.0.0.1", 0, tmp_path) as server:
        assert server.port != 0
        pid = server.pid
        os.kill(pid, 0)  # alive
        with pytest.raises(StateError, match="state 'running'"):
            server.start()
        with socket.create_connection(server.address, timeout=5):
            pass
    assert_gone(pid)
    server.stop()
    server.stop()
    kinds = [e.kind for e in parse_server_log(server.server_log.read_text())]
    assert kinds[0] == "server_listening" and kinds[-1] == "server_stopped"
    # A stopped server can start again, on the same run directory.
    server.start()
    try:
        with socket.create_connection(server.address, timeout=5):
            pass
    finally:
        server.stop()
    assert_gone(server.pid)


def test_bind_outside_loopback_refused(tmp_path: Path, bundles) -> None:
    profile = load_profile("do-2016-ssl-params")
    for bind in ("0.0.0.0", "192.168.1.210"):
        with pytest.raises(NetworkSafetyError, match=r"outside 127\.0\.0\.0/8"):
            BuiltinServer(profile, bundles["founding-report"], bind, 0, tmp_path)
    with pytest.raises(ConfigError, match="not an IP address"):
        BuiltinServer(profile, bundles["founding-report"], "localhost", 0, tmp_path)


def test_registry_refuses_unknown_and_unlisted_backends(tmp_path: Path, bundles) -> None:
    assert BACKENDS["builtin"] is BuiltinServer
    profile = load_profile("do-2016-ssl-params")
    with pytest.raises(ConfigError, match="unknown server backend 'nginx'"):
        start_server(profile, "nginx", bundles["founding-report"], "127.0.0.1", 0, tmp_path)
    apache_only: ServerProfile = dataclasses.replace(profile, backends=("apache",))
    with pytest.raises(ConfigError, match="does not list backend 'builtin'"):
        start_server(apache_only, "builtin", bundles["founding-report"], "127.0.0.1", 0, tmp_path)
