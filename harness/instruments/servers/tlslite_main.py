"""The tlslite backend's server process: `python -E .../tlslite_main.py CONFIG.json`.

Started and stopped by `harness.instruments.servers.tlslite_backend.TlsliteServer`; not a
public entry point. The builtin server's process with tlslite-ng's TLS in place of
Python's `ssl`: the same ready line, exit codes, `server.log` events, HTTP answer and
lingering close (it imports them from builtin_main, which sits beside it on sys.path).
tlslite-ng 0.8 has no max_fragment_length (RFC 6066): it neither echoes a client's
request nor shrinks its records, which is the reason this backend exists.
"""

from __future__ import annotations

import contextlib
import socket
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import builtin_main as base  # beside this file: the script's directory is sys.path[0]
import tlslite
from tlslite import HandshakeSettings, SessionCache, TLSConnection, X509CertChain, parsePEMKey
from tlslite.constants import ECPointFormat
from tlslite.errors import TLSAbruptCloseError, TLSAlert, TLSError, TLSRemoteAlert

CLOSE_NOTIFY_WAIT = 0.2  # seconds: send close_notify, do not wait for the peer's


def settings_from(cfg: Mapping[str, Any]) -> HandshakeSettings:
    """HandshakeSettings as the parent resolved them from the profile (tlslite's names)."""
    s = HandshakeSettings()
    s.minVersion = tuple(cfg["tlslite"]["min_version"])
    s.maxVersion = tuple(cfg["tlslite"]["max_version"])
    s.cipherNames = list(cfg["tlslite"]["cipher_names"])
    s.keyExchangeNames = list(cfg["tlslite"]["key_exchange_names"])
    s.macNames = list(cfg["tlslite"]["mac_names"])
    s.eccCurves = list(cfg["tlslite"]["ecc_curves"])
    # Uncompressed points only, as OpenSSL uses. tlslite-ng's default lists the compressed
    # form first; mbedTLS 2.28 (ESP32) then sends a compressed P-521 share, which tlslite-ng
    # 0.8.2 rejects as "Invalid ECC point" (measured: esp32-2.0.17 twin, illegal_parameter).
    s.ec_point_formats = [ECPointFormat.uncompressed]
    return s.validate()


class TlsliteChildServer(base.Server):
    """builtin_main.Server with tlslite-ng for the TLS layer; the HTTP part is the same."""

    def _context(self, keylog: str | None = None) -> Any:
        # `keylog` is where OpenSSL would write; this class writes its own lines to
        # cfg["keylog"] (_keylog below), and is never pooled (run/session.py).
        del keylog
        cfg = self.cfg
        chain = X509CertChain()
        chain.parsePemList(Path(cfg["chain_pem"]).read_text(encoding="ascii"))
        self.chain = chain
        self.key = parsePEMKey(Path(cfg["key_pem"]).read_text(encoding="ascii"), private=True)
        self.settings = settings_from(cfg)
        # A client may resume by session id, but only a session it closed with
        # close_notify: tlslite-ng drops the others (README: a known difference).
        self.sessions = SessionCache()
        return None

    def _handle_inner(self, sock: socket.socket, conn: base.Conn) -> None:
        self.events.write("accepted", **conn.ids())
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(base.HANDSHAKE_TIMEOUT)
        tls = TLSConnection(sock)
        tls.closeSocket = False  # the base handler's lingering close owns the socket
        try:
            tls.handshakeServer(
                certChain=self.chain,
                privateKey=self.key,
                settings=self.settings,
                sessionCache=self.sessions,
            )
        except (TLSError, OSError) as exc:
            self._handshake_failed(conn, exc)
            self._linger(sock)
            return
        suite = tls.session.cipherSuite
        self._keylog(tls)
        self.events.write(
            "handshake_ok",
            **conn.ids(),
            version=base._version_name(tls.version[0] << 8 | tls.version[1], self.version_names),
            cipher=self.suite_names.name_of(suite),
            cipher_id=suite,
            sni=tls.session.serverName or None,
            client_cert=None,
        )
        try:
            self._http(tls, conn)  # type: ignore[arg-type]  # tls.recv/sendall as ssl's
        except (TLSError, OSError) as exc:
            self.events.write("http_error", **conn.ids(), message=str(exc) or type(exc).__name__)
        finally:
            # close_notify now, as Apache does; a board seldom answers with its own.
            sock.settimeout(CLOSE_NOTIFY_WAIT)
            with contextlib.suppress(TLSError, OSError, ValueError):
                tls.close()
            self._linger(sock)

    def _handshake_failed(self, conn: base.Conn, exc: BaseException) -> None:
        if isinstance(exc, TLSAlert):
            reason = base._alert_name(exc.description).upper()
            if isinstance(exc, TLSRemoteAlert):
                self.events.write(
                    "alert",
                    **conn.ids(),
                    dir="received",
                    level="fatal" if exc.level == 2 else "warning",
                    description=exc.description,
                    name=base._alert_name(exc.description),
                )
        elif isinstance(exc, TLSAbruptCloseError):
            reason = "UNEXPECTED_EOF_WHILE_READING"
        elif isinstance(exc, TimeoutError):
            reason = "TIMEOUT"
        elif isinstance(exc, OSError):
            reason = base._errno_name(exc)
        else:
            reason = type(exc).__name__
        self.events.write(
            "handshake_failed",
            **conn.ids(),
            reason=reason,
            library="tlslite",
            message=str(exc) or type(exc).__name__,
            sni=None,
        )

    def _linger(self, sock: socket.socket) -> None:
        base._lingering_close(sock)  # type: ignore[arg-type]  # a plain socket works

    def _keylog(self, tls: TLSConnection) -> None:
        """The NSS key log line OpenSSL writes for TLS 1.2, so tshark decrypts the capture
        (tlslite-ng has no key log of its own; its client random is an attribute)."""
        client_random = bytes(tls._clientRandom).hex()
        secret = bytes(tls.session.masterSecret).hex()
        with Path(self.cfg["keylog"]).open("a", encoding="ascii") as f:
            f.write(f"CLIENT_RANDOM {client_random} {secret}\n")


if __name__ == "__main__":
    sys.exit(base.main(sys.argv, TlsliteChildServer, {"tlslite": tlslite.__version__}))
