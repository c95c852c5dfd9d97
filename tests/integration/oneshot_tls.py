"""A one-connection TLS server for the twin's tests that keeps every raw byte the
client sent, and notes how the client's side of the connection ended (FIN or RST)."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from harness.instruments.certs import CertBundle

SERVER_DEADLINE = 60.0
# How long the server waits for the client's answer to its alert before its FIN: the
# builtin server and Apache close at once; this server waits so that the client's
# answer to each (alert, FIN) is seen apart.
ALERT_GRACE = 1.0


@dataclass(frozen=True)
class Record:
    type: int
    version: int
    length: int


def split_records(raw: bytes) -> list[Record]:
    """The TLS records in a byte stream, as headers (a cut-off last record included)."""
    out, pos = [], 0
    while pos + 5 <= len(raw):
        length = int.from_bytes(raw[pos + 3 : pos + 5], "big")
        out.append(Record(raw[pos], int.from_bytes(raw[pos + 1 : pos + 3], "big"), length))
        pos += 5 + length
    return out


class OneShotTlsServer:
    """Python `ssl` (OpenSSL) over a MemoryBIO on 127.0.0.1:0, one connection.

    The TLS object never owns the socket, so every byte the client sent is kept,
    including what it sends after the handshake failed (alerts) until its FIN.
    """

    def __init__(
        self,
        cert: CertBundle,
        ciphers: str,
        *,
        version: ssl.TLSVersion | None = None,
        request_cert: bool = False,
        body: bytes = b"ok\n",
    ) -> None:
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.maximum_version = version or ssl.TLSVersion.TLSv1_2
        if version is not None:
            self.ctx.minimum_version = version
        self.ctx.set_ciphers(ciphers)
        if request_cert:  # a CertificateRequest; the client may answer with no certificate
            self.ctx.verify_mode = ssl.CERT_OPTIONAL
            self.ctx.load_verify_locations(cert.cert_pem)
        self.body = body
        self.ctx.load_cert_chain(cert.cert_pem, cert.key_pem)
        self.ctx.sni_callback = self._on_sni
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.client_bytes = bytearray()
        self.failed_at: int | None = None  # len(client_bytes) when the handshake failed
        self.fin_at: int | None = None  # len(client_bytes) when the server sent its FIN
        self.error: str | None = None
        self.cipher: str | None = None
        self.version: str | None = None
        self.sni: str | None = None
        self.request = b""
        self.got_close_notify = False
        self.got_eof = False  # the client's FIN
        self.got_rst = False  # the client's RST (lwIP's abort)
        self._thread = threading.Thread(target=self._serve, name="tls-server", daemon=True)

    def _on_sni(self, _obj: object, name: str | None, _ctx: object) -> None:
        self.sni = name

    def start(self) -> None:
        self._thread.start()

    def finish(self) -> None:
        """Wait until the connection is over on the server's side."""
        self._thread.join(timeout=SERVER_DEADLINE)

    def stop(self) -> None:
        self.listener.close()
        self._thread.join(timeout=SERVER_DEADLINE)

    def _recv(self, conn: socket.socket) -> bytes:
        try:
            data = conn.recv(65536)
        except ConnectionResetError:
            self.got_rst = True
            return b""
        self.client_bytes += data
        if not data:
            self.got_eof = True
        return data

    def _serve(self) -> None:
        self.listener.settimeout(SERVER_DEADLINE)
        try:
            conn, _ = self.listener.accept()
        except OSError as exc:
            self.error = f"accept: {exc}"
            return
        with conn:
            conn.settimeout(SERVER_DEADLINE)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
            tls = self.ctx.wrap_bio(incoming, outgoing, server_side=True)
            try:
                self._handshake(conn, tls, incoming, outgoing)
                self._http(conn, tls, incoming, outgoing)
            except ssl.SSLError as exc:
                conn.sendall(outgoing.read())  # the server's alert
                self.error = str(exc)
                self.failed_at = len(self.client_bytes)
                self._after_failure(conn)
            except OSError as exc:
                self.error = self.error or f"socket: {exc}"

    def _after_failure(self, conn: socket.socket) -> None:
        """What the client answers to the alert, then to the server's FIN."""
        conn.settimeout(ALERT_GRACE)
        try:
            while self._recv(conn):
                pass
        except TimeoutError:
            pass
        conn.settimeout(SERVER_DEADLINE)
        self.fin_at = len(self.client_bytes)
        if not (self.got_eof or self.got_rst):
            conn.shutdown(socket.SHUT_WR)
            while self._recv(conn):
                pass

    def _handshake(self, conn, tls, incoming, outgoing) -> None:
        while True:
            try:
                tls.do_handshake()
                conn.sendall(outgoing.read())
                self.cipher = tls.cipher()[0]
                self.version = tls.version()
                return
            except ssl.SSLWantReadError:
                conn.sendall(outgoing.read())
                data = self._recv(conn)
                if not data:
                    raise OSError("client closed during the handshake") from None
                incoming.write(data)

    def _http(self, conn, tls, incoming, outgoing) -> None:
        while b"\r\n\r\n" not in self.request:
            try:
                self.request += tls.read(65536)
            except ssl.SSLWantReadError:
                data = self._recv(conn)
                if not data:
                    return
                incoming.write(data)
        body = self.body
        tls.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
            + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        conn.sendall(outgoing.read())
        while True:  # until the client's close_notify (if any), then its FIN or RST
            try:
                if tls.read(65536) == b"":  # a MemoryBIO SSLObject's close_notify
                    break
            except ssl.SSLWantReadError:
                data = self._recv(conn)
                if not data:
                    return
                incoming.write(data)
            except ssl.SSLZeroReturnError:
                break
        self.got_close_notify = True
        while self._recv(conn):
            pass


@contextmanager
def tls_server(cert: CertBundle, ciphers: str, **options: object) -> Iterator[OneShotTlsServer]:
    server = OneShotTlsServer(cert, ciphers, **options)  # type: ignore[arg-type]
    try:
        yield server
    finally:
        server.stop()
