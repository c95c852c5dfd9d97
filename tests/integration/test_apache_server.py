"""The apache backend with real handshakes: Apache httpd, Python ssl clients, openssl s_client."""

from __future__ import annotations

import dataclasses
import os
import pwd
import socket
import ssl
import stat
import time
from pathlib import Path

import pytest

from harness.analysis.serverlog import parse_server_log
from harness.instruments.servers import BACKENDS, apache
from harness.instruments.servers.apache import ApacheServer
from harness.instruments.servers.builtin_main import DEFAULT_PAGE, page_body
from harness.instruments.servers.profiles import load_profile
from harness.model.errors import (
    ConfigError,
    PortInUseError,
    StateError,
    ToolFailedError,
    ToolMissingError,
)
from tests.integration.serving import (
    AXTLS_SUITES,
    FOUNDING_HEADERS,
    ServeFn,
    assert_gone,
    client_context,
    get,
    group_members,
    one,
    s_client,
    wait_for,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def backend() -> str:
    return "apache"


def test_registered() -> None:
    assert BACKENDS["apache"] is ApacheServer


def test_axtls_suites_get_alert_40_and_no_shared_cipher(serve: ServeFn, bundles) -> None:
    server = serve("do-2016-ssl-params")
    ctx = client_context(
        bundles["founding-report"], ciphers=AXTLS_SUITES, maximum=ssl.TLSVersion.TLSv1_2
    )
    with (
        socket.create_connection(server.address, timeout=5) as raw,
        pytest.raises(ssl.SSLError) as info,
    ):
        ctx.wrap_socket(raw)
    assert info.value.reason == "SSLV3_ALERT_HANDSHAKE_FAILURE"  # alert 40 from Apache

    events = wait_for(server, "server_closed")
    failed = one(events, "server_handshake_failed")
    assert failed.fields["reason"] == "NO_SHARED_CIPHER"
    assert failed.fields["library"] == "SSL"
    assert failed.fields["peer"] == "127.0.0.1"
    assert failed.fields["sni"] is None
    accepted = one(events, "server_accepted")  # the readiness probe is not in it
    assert accepted.fields["conn"] == failed.fields["conn"] == 1
    assert one(events, "server_closed").fields["shutdown"] == "abortive"
    listening = one(events, "server_listening")
    assert listening.fields["port"] == server.port
    assert listening.fields["profile"] == "do-2016-ssl-params"
    assert listening.fields["server"].startswith("Apache/2.4")


def test_fixed_profile_serves_axtls_suite_headers_and_page(serve: ServeFn, bundles) -> None:
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
    assert headers["server"].startswith("Apache/2.4")
    assert headers["content-type"] == "text/html"
    assert body == DEFAULT_PAGE  # the builtin backend's page, byte for byte

    events = wait_for(server, "server_closed")
    ok = one(events, "server_handshake_ok")
    assert (ok.fields["cipher"], ok.fields["cipher_id"]) == ("AES128-SHA256", 0x003C)
    assert ok.fields["version"] == "TLSv1.2"
    request = one(events, "server_request")
    assert (request.fields["method"], request.fields["path"]) == ("GET", "/")
    assert request.fields["cipher"] == "AES128-SHA256"
    response = one(events, "server_response")
    assert response.fields["status"] == 200
    assert response.fields["body_bytes"] == len(DEFAULT_PAGE)


def test_normal_client_gets_ecdhe_and_sni_is_logged(serve: ServeFn, bundles) -> None:
    server = serve("do-2016-ssl-params")
    ctx = client_context(bundles["founding-report"])
    with ctx.wrap_socket(
        socket.create_connection(server.address, timeout=5), server_hostname="hil.test"
    ) as tls:
        assert tls.version() == "TLSv1.2"  # SSLProtocol from the profile, not "All"
        assert tls.cipher()[0] == "ECDHE-RSA-AES256-GCM-SHA384"
        get(tls)
    events = wait_for(server, "server_response")
    assert one(events, "server_handshake_ok").fields["sni"] == "hil.test"
    assert one(events, "server_request").fields["sni"] == "hil.test"


def test_dhe_tls10_and_tls13(serve: ServeFn, bundles) -> None:
    server = serve("do-2016-ssl-params")
    dhe = client_context(
        bundles["founding-report"],
        ciphers="DHE-RSA-AES256-GCM-SHA384",
        maximum=ssl.TLSVersion.TLSv1_2,
    )
    with dhe.wrap_socket(socket.create_connection(server.address, timeout=5)) as tls:
        assert tls.cipher()[0] == "DHE-RSA-AES256-GCM-SHA384"  # the shipped ffdhe2048
    old = client_context(bundles["founding-report"], ciphers="ALL:@SECLEVEL=0")
    with pytest.warns(DeprecationWarning):
        old.minimum_version = ssl.TLSVersion.TLSv1
        old.maximum_version = ssl.TLSVersion.TLSv1
    with old.wrap_socket(socket.create_connection(server.address, timeout=5)) as tls:
        assert tls.version() == "TLSv1"
        assert tls.cipher()[0] == "ECDHE-RSA-AES256-SHA"
    new = client_context(bundles["founding-report"], minimum=ssl.TLSVersion.TLSv1_3)
    with (
        socket.create_connection(server.address, timeout=5) as raw,
        pytest.raises(ssl.SSLError, match="PROTOCOL_VERSION"),
    ):
        new.wrap_socket(raw)
    failed = [e for e in wait_for(server, "server_handshake_failed") if e.kind.endswith("_failed")]
    assert failed[-1].fields["reason"] == "UNSUPPORTED_PROTOCOL"


def test_openssl_s_client(serve: ServeFn, tmp_path: Path) -> None:
    server = serve("do-2016-ssl-params")
    bad = s_client(server.port, "-tls1_2", "-cipher", AXTLS_SUITES, log=tmp_path / "bad.log")
    assert bad.returncode != 0
    assert "alert handshake failure" in bad.output
    assert "SSL alert number 40" in bad.output
    failed = one(wait_for(server, "server_handshake_failed"), "server_handshake_failed")
    assert failed.fields["reason"] == "NO_SHARED_CIPHER"

    fixed = serve("do-2016-ssl-params-fixed")
    ok = s_client(fixed.port, "-tls1_2", "-cipher", AXTLS_SUITES, log=tmp_path / "ok.log")
    assert ok.returncode == 0, ok.output
    assert "Cipher is AES128-SHA256" in ok.output
    assert (
        "OCSP response: no response sent"
        in s_client(fixed.port, "-status", log=tmp_path / "ocsp.log").output
    )  # SSLUseStapling on, but nothing to staple for a self-signed certificate


def test_response_bytes_that_fit_one_record_are_served_as_builtin_does(
    tmp_path: Path, bundles
) -> None:
    """The page padded to `response_bytes`, byte for byte the builtin backend's body,
    in one record with the head (as the builtin backend's single write)."""
    profile = dataclasses.replace(load_profile("do-2016-ssl-params-fixed"), response_bytes=4096)
    records: list[int] = []

    def on_message(_c, direction, _v, content_type, _m, data) -> None:
        if direction == "read" and content_type == 256 and data[:1] == b"\x17":
            records.append(int.from_bytes(data[3:5], "big"))

    ctx = client_context(bundles["founding-report-fixed"], maximum=ssl.TLSVersion.TLSv1_2)
    ctx._msg_callback = on_message  # CPython's hook onto SSL_CTX_set_msg_callback
    with (
        ApacheServer(profile, bundles["founding-report-fixed"], "127.0.0.1", 0, tmp_path) as server,
        ctx.wrap_socket(socket.create_connection(server.address, timeout=5)) as tls,
    ):
        status, headers, body = get(tls)
    assert status == "HTTP/1.1 200 OK"
    assert headers["content-length"] == "4096"
    assert body == page_body(4096) and len(body) == 4096
    assert len(records) == 1, records


def test_keylog_and_run_directory(serve: ServeFn, bundles) -> None:
    server = serve("do-2016-ssl-params")
    ctx = client_context(bundles["founding-report"], maximum=ssl.TLSVersion.TLSv1_2)
    with ctx.wrap_socket(socket.create_connection(server.address, timeout=5)) as tls:
        get(tls)
    wait_for(server, "server_closed")
    server.stop()
    lines = [line for line in server.keylog.read_text().splitlines() if line.strip()]
    assert len(lines) == 1  # one TLS 1.2 handshake
    label, client_random, secret = lines[0].split()
    assert label == "CLIENT_RANDOM"
    assert len(client_random) == 64 and len(secret) == 96
    assert stat.S_IMODE(server.keylog.stat().st_mode) == 0o600
    for name in ("apache.conf", "apache-error.log", "apache-access.log", "server.log"):
        assert (server.run_dir / name).stat().st_size > 0, name
    assert "SSLUseStapling on" in (server.run_dir / "apache.conf").read_text()
    assert "AH00491" in (server.run_dir / "apache-error.log").read_text()  # SIGTERM seen
    assert parse_server_log(server.server_log.read_text())[-1].kind == "server_stopped"


def test_runs_unprivileged_with_its_own_private_key(serve: ServeFn) -> None:
    server = serve("do-2016-ssl-params")
    assert isinstance(server, ApacheServer) and server.pid is not None
    # Ready means listening; the child that serves may still be starting.
    deadline = time.monotonic() + 3
    while len(members := group_members(server.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(members) >= 2  # the parent and its child
    for pid in members:
        uids = Path(f"/proc/{pid}/status").read_text().split("Uid:")[1].split()[:4]
        if os.geteuid() == 0:
            assert set(uids) == {str(pwd.getpwnam("www-data").pw_uid)}
            groups = Path(f"/proc/{pid}/status").read_text().split("Groups:")[1].split("\n")[0]
            assert "0" not in groups.split()  # no supplementary root group either
    work = Path(server.config_path.read_text().split('ServerRoot "')[1].split('"')[0])
    key = (work / "key.pem").stat()
    assert stat.S_IMODE(key.st_mode) == 0o600
    assert key.st_uid == os.stat(f"/proc/{server.pid}").st_uid
    server.stop()
    assert not work.exists()  # the private copy of the key is gone


# A deadline, not a timing: a hang fails, a slow machine does not.
@pytest.mark.timeout(60)
def test_port_in_use_is_a_clear_error_and_leaves_nothing(tmp_path: Path, bundles) -> None:
    profile = load_profile("do-2016-ssl-params")
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        server = ApacheServer(profile, bundles["founding-report"], "127.0.0.1", port, tmp_path)
        with pytest.raises(PortInUseError) as info:
            server.start()
        message = str(info.value)
        assert f"cannot listen on 127.0.0.1:{port}" in message
        assert "port 0" in message
        server.stop()  # safe
        server.stop()


# A deadline, not a timing: a hang fails, a slow machine does not.
@pytest.mark.timeout(60)
def test_port_taken_under_apache_is_detected_by_apache(
    tmp_path: Path, bundles, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race our own check cannot see: apache itself fails to bind."""
    monkeypatch.setattr(apache, "_port_free", lambda bind, port: True)
    profile = load_profile("do-2016-ssl-params")
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        server = ApacheServer(profile, bundles["founding-report"], "127.0.0.1", port, tmp_path)
        with pytest.raises(PortInUseError) as info:
            server.start()
    assert "Address already in use" in str(info.value)
    assert_gone(server.pid)


def test_port_zero_retries_when_the_free_port_is_taken(
    tmp_path: Path, bundles, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        real = apache._free_port
        ports = iter([taken])
        monkeypatch.setattr(apache, "_free_port", lambda bind: next(ports, None) or real(bind))
        profile = load_profile("do-2016-ssl-params")
        with ApacheServer(profile, bundles["founding-report"], "127.0.0.1", 0, tmp_path) as server:
            assert server.port not in (0, taken)
            with socket.create_connection(server.address, timeout=5):
                pass
    assert_gone(server.pid)


def test_apache2_missing_names_the_package(tmp_path: Path, bundles) -> None:
    profile = load_profile("do-2016-ssl-params")
    server = ApacheServer(profile, bundles["founding-report"], "127.0.0.1", 0, tmp_path)
    server.apache2 = str(tmp_path / "no-such-dir" / "apache2")
    with pytest.raises(ToolMissingError, match="apt-get install apache2"):
        server.start()
    assert server.pid is None
    server.stop()


# A deadline, not a timing: a hang fails, a slow machine does not.
@pytest.mark.timeout(60)
def test_config_apache_rejects_is_a_config_error(tmp_path: Path, bundles) -> None:
    profile = dataclasses.replace(
        load_profile("do-2016-ssl-params"),
        apache_lines="SSLCipherSuite EECDH+AESGCM\nSSLMadeUpDirective on\n",
    )
    server = ApacheServer(profile, bundles["founding-report"], "127.0.0.1", 0, tmp_path)
    with pytest.raises(ConfigError) as info:
        server.start()
    assert "Invalid command 'SSLMadeUpDirective'" in str(info.value)
    assert info.value.log is not None and info.value.log.exists()
    assert server.pid is None  # rejected before anything ran


# A deadline, not a timing: a hang fails, a slow machine does not.
@pytest.mark.timeout(60)
def test_apache_that_dies_on_start_is_a_clear_error_and_leaves_its_logs(
    tmp_path: Path, bundles
) -> None:
    # `apache2 -t` accepts the config; Apache dies when it binds: as www-data it may
    # not bind a port below 1024.
    profile = load_profile("do-2016-ssl-params")
    server = ApacheServer(profile, bundles["founding-report"], "127.0.0.1", 443, tmp_path)
    with pytest.raises(ToolFailedError) as info:
        server.start()
    text = str(info.value)
    assert "could not bind to address 127.0.0.1:443" in text
    assert "port of 1024 or above" in text
    assert info.value.log is not None and info.value.log.exists()
    assert (tmp_path / "apache.conf").exists() and (tmp_path / "apache.stderr.log").exists()
    assert_gone(server.pid)
    server.stop()


def test_stop_is_repeatable_and_restart_works(tmp_path: Path, bundles) -> None:
    profile = load_profile("do-2016-ssl-params")
    with ApacheServer(profile, bundles["founding-report"], "127.0.0.1", 0, tmp_path) as server:
        assert server.port != 0
        assert server.ready_seconds is not None
        pid = server.pid
        with pytest.raises(StateError, match="state 'running'"):
            server.start()
        with socket.create_connection(server.address, timeout=5):
            pass
    assert_gone(pid)
    server.stop()
    server.stop()
    server.start()
    try:
        with socket.create_connection(server.address, timeout=5):
            pass
    finally:
        server.stop()
    assert_gone(server.pid)
    kinds = [e.kind for e in parse_server_log(server.server_log.read_text())]
    assert kinds.count("server_listening") == 1  # the second run's logs, not both
    assert kinds[-1] == "server_stopped"
