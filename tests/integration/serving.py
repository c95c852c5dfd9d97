"""What the server backend tests share: clients, waiting for the server's log, and the
check that nothing of a stopped server is left. The fixtures are in conftest.py."""

from __future__ import annotations

import os
import socket
import ssl
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.analysis.serverlog import parse_server_log
from harness.instruments import procs
from harness.instruments.certs import CertBundle
from harness.instruments.servers.base import ServerBase
from harness.model import Event

# The four suites axTLS (ESP8266 core 2.4.x) offers, in its order.
AXTLS_SUITES = "AES128-SHA256:AES256-SHA256:AES256-SHA:AES128-SHA"
AXTLS_IDS = [0x003C, 0x003D, 0x0035, 0x002F]
# The founding report's ssl-params.conf headers, as a client reads them (names lower-case).
FOUNDING_HEADERS = {
    "strict-transport-security": "max-age=63072000; includeSubdomains",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
}

ServeFn = Callable[[str], ServerBase]


def client_context(
    bundle: CertBundle,
    *,
    ciphers: str | None = None,
    minimum: ssl.TLSVersion | None = None,
    maximum: ssl.TLSVersion | None = None,
) -> ssl.SSLContext:
    """A client trusting `bundle`'s certificate. The founding certificate has no SAN and
    an IP for CN: the chain is checked, the name not."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(bundle.cert_pem)
    ctx.check_hostname = False
    if ciphers:
        ctx.set_ciphers(ciphers)
    if minimum:
        ctx.minimum_version = minimum
    if maximum:
        ctx.maximum_version = maximum
    return ctx


def get(tls: ssl.SSLSocket) -> tuple[str, dict[str, str], bytes]:
    """GET / on an open TLS connection: status line, headers (names lower-case), body."""
    tls.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    data = b""
    while chunk := tls.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (h.split(":", 1) for h in lines)}
    return status, headers, body


def one(events: list[Event], kind: str) -> Event:
    __tracebackhide__ = True
    found = [e for e in events if e.kind == kind]
    assert len(found) == 1, (kind, [e.kind for e in events])
    return found[0]


def wait_for(server: ServerBase, kind: str, timeout: float = 3.0) -> list[Event]:
    """The server's events once one of `kind` is there. The builtin backend writes
    server.log as things happen; the apache backend rewrites it from Apache's logs
    every 50 ms, so it may not exist yet."""
    __tracebackhide__ = True
    deadline = time.monotonic() + timeout
    while True:
        text = server.server_log.read_text() if server.server_log.exists() else ""
        events = parse_server_log(text)
        if any(e.kind == kind for e in events):
            return events
        if time.monotonic() > deadline:
            kinds = [e.kind for e in events]
            pytest.fail(f"no {kind} in {server.server_log} within {timeout} s: {kinds}")
        time.sleep(0.02)


def _tcp_queues(local_port: int, remote_port: int) -> tuple[int, int] | None:
    """(send queue, receive queue) of the 127.0.0.1 socket local_port -> remote_port."""
    want = (f"0100007F:{local_port:04X}", f"0100007F:{remote_port:04X}")
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        cols = line.split()
        if (cols[1], cols[2]) == want:
            tx, rx = cols[4].split(":")
            return int(tx, 16), int(rx, 16)
    return None


def wait_until_read(sock: socket.socket, timeout: float = 3.0) -> None:
    """Until the peer has read everything sent on `sock`: our send queue is acknowledged
    and the peer's receive queue is empty (or the peer's socket is gone). An event to
    wait on, where a sleep would only make it likely."""
    __tracebackhide__ = True
    ours, theirs = sock.getsockname()[1], sock.getpeername()[1]
    deadline = time.monotonic() + timeout
    while True:
        mine, peer = _tcp_queues(ours, theirs), _tcp_queues(theirs, ours)
        if mine is not None and mine[0] == 0 and (peer is None or peer[1] == 0):
            return
        if time.monotonic() > deadline:
            pytest.fail(f"the peer did not read what was sent within {timeout} s: {mine} {peer}")
        time.sleep(0.005)


def s_client(port: int, *args: str, log: Path | None = None) -> procs.RunResult:
    """`openssl s_client` to 127.0.0.1:`port`; stdin closed, so it ends after the handshake."""
    openssl = procs.which("openssl", package="openssl")
    return procs.run(
        [openssl, "s_client", "-connect", f"127.0.0.1:{port}", *args], timeout=10, log_path=log
    )


def group_members(pgid: int) -> list[int]:
    """The live (not zombie) processes of process group `pgid`."""
    members = []
    for path in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = path.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(path.parent.name))
    return members


def assert_gone(pid: int | None) -> None:
    """The server's process is gone, and so is every process of its group (each
    backend's process leads its own group)."""
    __tracebackhide__ = True
    assert pid is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert group_members(pid) == []
