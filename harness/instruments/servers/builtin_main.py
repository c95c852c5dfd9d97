"""The builtin backend's server process: `python -S -E .../builtin_main.py CONFIG.json`.

Started and stopped by `harness.instruments.servers.builtin.BuiltinServer`; not a public
entry point. It imports nothing heavy (no `cryptography`) so it starts fast: the
parent resolves the profile and certificates into CONFIG.json.

Protocol with the parent: once the socket listens, one line
`HIL-BUILTIN-READY port=N` on stdout, then stdout is closed. Every fact goes to
`server_log` as one JSON object per line with `t` (time.time()) and `event`.
Exit code 3: could not listen (address in use, ...); SIGTERM stops it (code 0).

A pooled server (CONFIG has `"control": true`, harness.instruments.servers.pool) serves
one run after another: stdout stays open, and each line on stdin,
`{"run": N, "server_log": PATH, "keylog": PATH}`, makes a new SSLContext (a fresh
session cache and ticket keys: nothing of the run before can be resumed) writing its
secrets to the new key log, moves the event log to the new file, logs `listening`
there and answers `HIL-BUILTIN-RUN N`. EOF on stdin (the parent is gone) stops it.
"""

from __future__ import annotations

import contextlib
import email.utils
import errno
import json
import os
import signal
import socket
import ssl
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# It imports nothing of the harness (and runs without site-packages), so it starts
# in a bare interpreter's time; the parent imports these from here.
READY = "HIL-BUILTIN-READY"
RUN_ACK = "HIL-BUILTIN-RUN"
EXIT_CANNOT_LISTEN = 3

# A condensed "Apache2 Ubuntu Default Page": what the founding report's server answered.
DEFAULT_PAGE = b"""<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"
 "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
<title>Apache2 Ubuntu Default Page: It works</title>
</head>
<body>
<div class="main_page">
<div class="page_header floating_element">
<span class="floating_element">Apache2 Ubuntu Default Page</span>
</div>
<div class="section_header"><div id="about"></div>It works!</div>
<p>This is the default welcome page used to test the correct operation of the
Apache2 server after installation on Ubuntu systems.</p>
</div>
</body>
</html>
"""

HANDSHAKE_TIMEOUT = 10.0  # a client that connects and says nothing (telnet) is let go
LINGER_READ = 2.0  # Apache's SECONDS_TO_LINGER: one read of a lingering close
LINGER_TOTAL = 30.0  # Apache's MAX_SECS_TO_LINGER
REQUEST_LIMIT = 64 * 1024

_CT_ALERT = 21
_CT_HANDSHAKE = 22
_HS_CLIENT_HELLO = 1


class EventLog:
    """server.log: one JSON object per line, flushed at once so a reader never waits."""

    def __init__(self, path: Path) -> None:
        self._f = path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def switch(self, path: Path) -> None:
        """Write to `path` from now on (a pooled server's next run)."""
        new = path.open("a", encoding="utf-8")
        with self._lock:
            old, self._f = self._f, new
        old.close()

    def write(self, event: str, **fields: Any) -> None:
        line = json.dumps({"t": time.time(), "event": event, **fields}, separators=(",", ":"))
        with self._lock:
            self._f.write(line + "\n")
            self._f.flush()


@dataclass
class Conn:
    """What one connection has shown so far; filled in by OpenSSL callbacks and the handler."""

    index: int
    peer: str
    peer_port: int
    sni: str | None = None
    hello_seen: bool = False
    key: int | None = None  # id() of its SSLSocket, which OpenSSL callbacks receive
    tls: ssl.SSLSocket | None = None
    started: float = field(default_factory=time.monotonic)

    def ids(self) -> dict[str, Any]:
        return {"conn": self.index, "peer": self.peer, "peer_port": self.peer_port}


class Server:
    def __init__(self, cfg: Mapping[str, Any], events: EventLog) -> None:
        self.cfg = cfg
        self.events = events
        self.suite_names = _suite_table()
        self.version_names = {int(k): v for k, v in cfg.get("version_names", {}).items()}
        self.ctx = self._context(cfg.get("keylog"))
        self._conns: dict[int, Conn] = {}
        self._lock = threading.Lock()
        self._count = 0

    def begin_run(self, server_log: Path, keylog: str | None, *, fresh: bool = True) -> None:
        """A pooled server's next run: its own key log, event log and TLS state (not
        `fresh`: between runs, only the logs move; the next run's start renews it)."""
        if fresh:
            ctx = self._context(keylog)  # before the switch: a bad context keeps the old
        else:
            ctx = self.ctx
            ctx.keylog_filename = keylog
        self.events.switch(server_log)
        self.ctx = ctx
        self._count = 0  # the run's connections are numbered from 1, as in a server of its own

    def _context(self, keylog: str | None) -> ssl.SSLContext:
        cfg = self.cfg
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ciphers = cfg.get("cipher_string")
        if ciphers is None:
            # A config from before `cipher_string`: OpenSSL 3 disables TLS 1.0 and 1.1 at
            # security level 1 and above; the imitated OpenSSL 1.0.2 had no levels.
            ciphers = cfg["ciphers"]
            if ssl.TLSVersion(cfg["min_protocol"]) < ssl.TLSVersion.TLSv1_2:
                ciphers += ":@SECLEVEL=0"
        # The security level applies to the certificates too (a 1024-bit key, a SHA-1
        # intermediate): set it before loading them.
        ctx.set_ciphers(ciphers)
        # Leaf first, then what follows it on the wire (full, incomplete or reversed chain).
        ctx.load_cert_chain(cfg.get("chain_pem") or cfg["cert_pem"], cfg["key_pem"])
        with warnings.catch_warnings():
            # TLS 1.0/1.1 are deprecated in Python; serving them is the point here.
            warnings.simplefilter("ignore", DeprecationWarning)
            # Wire numbers, which are Python's TLSVersion values.
            ctx.minimum_version = ssl.TLSVersion(cfg["min_protocol"])
            ctx.maximum_version = ssl.TLSVersion(cfg["max_protocol"])
        # The groups and TLS 1.3 suites come from the OPENSSL_CONF the parent wrote
        # (Python's ssl cannot set them); a config run without it would serve defaults.
        if cfg.get("openssl_conf") and os.environ.get("OPENSSL_CONF") != cfg["openssl_conf"]:
            raise RuntimeError(f"OPENSSL_CONF is not {cfg['openssl_conf']}: groups would be lost")
        client_auth = cfg.get("client_auth", "none")
        if client_auth != "none":
            ctx.load_verify_locations(cfg["client_ca_pem"])
            ctx.verify_mode = ssl.CERT_REQUIRED if client_auth == "required" else ssl.CERT_OPTIONAL
        if cfg["honor_cipher_order"]:
            ctx.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
        else:
            ctx.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE
        ctx.options |= ssl.OP_NO_COMPRESSION
        # A client that closes without close_notify (every ESP8266 BearSSL client, and
        # sslyze) must not cost it its session: OpenSSL 3 otherwise answers the EOF with a
        # fatal decode_error and drops the session from the cache, so the next connection
        # cannot resume. Apache's mod_ssl sets this option too.
        ctx.options |= ssl.OP_IGNORE_UNEXPECTED_EOF
        if not cfg["session_tickets"]:
            # As Apache's `SSLSessionTickets off`: no stateless tickets. TLS 1.3 still
            # sends its (stateful) tickets, which resume from the server's cache.
            ctx.options |= ssl.OP_NO_TICKET
        if cfg.get("dh_params_pem"):
            ctx.load_dh_params(cfg["dh_params_pem"])
        if keylog:
            ctx.keylog_filename = keylog
        ctx.sni_callback = self._on_sni
        # `_msg_callback` is CPython's private hook onto SSL_CTX_set_msg_callback
        # (its own test suite uses it): the only way to see the ClientHello and
        # the alerts from Python. Without it the server still serves; the log
        # then lacks `client_hello` and `alert` events.
        if hasattr(ctx, "_msg_callback"):
            ctx._msg_callback = self._on_message
        return ctx

    def _conn_of(self, sslsock: object) -> Conn | None:
        with self._lock:
            return self._conns.get(id(sslsock))

    def _on_sni(self, sslsock: ssl.SSLSocket, server_name: str | None, _: object) -> int | None:
        conn = self._conn_of(sslsock)
        if conn is not None:
            conn.sni = server_name
        names = self.cfg.get("sni_names") or []
        if self.cfg.get("sni") == "strict" and server_name not in names:
            # As nginx's `ssl_reject_handshake on`: a fatal unrecognized_name (112).
            self.events.write(
                "sni_rejected",
                **(conn.ids() if conn else {}),
                sni=server_name,
                expected=names,
            )
            return ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME
        return None

    def _on_message(
        self,
        sslsock: object,
        direction: str,
        _version: object,
        content_type: int,
        _msg_type: object,
        data: bytes,
    ) -> None:
        # An exception here would surface as the handshake's error: never raise.
        try:
            conn = self._conn_of(sslsock)
            ids = conn.ids() if conn else {}
            if content_type == _CT_HANDSHAKE and data[:1] == bytes([_HS_CLIENT_HELLO]):
                if direction == "read" and conn is not None and not conn.hello_seen:
                    conn.hello_seen = True
                    hello = parse_client_hello(data, self.suite_names, self.version_names)
                    self.events.write("client_hello", **ids, **hello)
            elif content_type == _CT_ALERT and len(data) >= 2:
                self.events.write(
                    "alert",
                    **ids,
                    dir="sent" if direction == "write" else "received",
                    level="fatal" if data[0] == 2 else "warning",
                    description=data[1],
                    name=_alert_name(data[1]),
                )
        except Exception:
            traceback.print_exc()

    def serve_forever(self, listener: socket.socket) -> None:
        while True:
            sock, (peer, peer_port, *_) = listener.accept()
            self._count += 1
            conn = Conn(self._count, peer, peer_port)
            threading.Thread(
                target=self._handle, args=(sock, conn), name=f"conn-{conn.index}", daemon=True
            ).start()

    def _handle(self, sock: socket.socket, conn: Conn) -> None:
        try:
            self._handle_inner(sock, conn)
        except Exception as exc:
            traceback.print_exc()
            self.events.write("error", **conn.ids(), message=f"{type(exc).__name__}: {exc}")
        finally:
            if conn.tls is not None:
                _lingering_close(conn.tls)
            sock.close()
            with self._lock:
                self._conns.pop(conn.key or 0, None)
            self.events.write(
                "closed", **conn.ids(), duration=round(time.monotonic() - conn.started, 6)
            )

    def _handle_inner(self, sock: socket.socket, conn: Conn) -> None:
        self.events.write("accepted", **conn.ids())
        # Without it a small response waits for the peer's delayed ACK (~40-90 ms).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(HANDSHAKE_TIMEOUT)
        tls = self.ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        conn.tls = tls
        conn.key = id(tls)
        with self._lock:
            self._conns[conn.key] = conn
        try:
            tls.do_handshake()
        except ssl.SSLError as exc:
            self.events.write(
                "handshake_failed",
                **conn.ids(),
                reason=exc.reason or type(exc).__name__,
                library=exc.library,
                message=str(exc),
                sni=conn.sni,
            )
            return
        except OSError as exc:
            reason = "TIMEOUT" if isinstance(exc, TimeoutError) else _errno_name(exc)
            self.events.write(
                "handshake_failed",
                **conn.ids(),
                reason=reason,
                library=None,
                message=str(exc) or type(exc).__name__,
                sni=conn.sni,
            )
            return
        name, _version, _bits = tls.cipher() or ("", "", 0)
        self.events.write(
            "handshake_ok",
            **conn.ids(),
            version=tls.version(),
            cipher=name,
            cipher_id=self.suite_names.id_of(name),
            sni=conn.sni,
            client_cert=_peer_subject(tls),
        )
        try:
            self._http(tls, conn)
        except OSError as exc:
            self.events.write("http_error", **conn.ids(), message=str(exc) or type(exc).__name__)
        finally:
            _close_notify(tls)

    def _http(self, tls: ssl.SSLSocket, conn: Conn) -> None:
        buf = b""
        while b"\r\n\r\n" not in buf and b"\n\n" not in buf and len(buf) < REQUEST_LIMIT:
            chunk = tls.recv(4096)
            if not chunk:
                break
            buf += chunk
        if not buf:
            return
        request_line = buf.split(b"\n", 1)[0].decode("latin-1").strip()
        parts = request_line.split()
        if len(parts) == 3:
            method, path, version = parts
            self.events.write("request", **conn.ids(), method=method, path=path, version=version)
            status = 200 if method in ("GET", "HEAD") else 405
        else:
            self.events.write(
                "request",
                **conn.ids(),
                method=None,
                path=None,
                version=None,
                line=request_line[:200],
            )
            method, status = "", 400
        payload = self._response(status, head_only=(method == "HEAD"))
        tls.sendall(payload)
        self.events.write("response", **conn.ids(), status=status, bytes=len(payload))

    def _response(self, status: int, *, head_only: bool) -> bytes:
        reason = {200: "OK", 400: "Bad Request", 405: "Method Not Allowed"}[status]
        if status == 200:
            body = page_body(self.cfg.get("response_bytes"))
        else:
            body = f"<h1>{status} {reason}</h1>\n".encode()
        headers: list[tuple[str, str]] = [
            ("Date", email.utils.formatdate(usegmt=True)),
            ("Server", "Apache"),
            *[(n, v) for n, v in self.cfg["headers"]],
            ("Accept-Ranges", "bytes"),
            ("Content-Length", str(len(body))),
            ("Vary", "Accept-Encoding"),
            ("Connection", "close"),
            ("Content-Type", "text/html"),
        ]
        if status == 405:
            headers.append(("Allow", "GET,HEAD"))
        head = f"HTTP/1.1 {status} {reason}\r\n"
        head += "".join(f"{n}: {v}\r\n" for n, v in headers) + "\r\n"
        return head.encode("latin-1") + (b"" if head_only else body)


def page_body(size: int | None) -> bytes:
    """The body of a 200 answer: the default page, padded with an HTML comment to exactly
    `size` bytes (a profile's `response_bytes`). Both backends serve these bytes; the
    builtin one in one write that OpenSSL sends as full 16 KB records (no MFLN asked,
    none applied)."""
    if size is None or size <= len(DEFAULT_PAGE):
        return DEFAULT_PAGE if size is None else DEFAULT_PAGE[:size]
    filler = size - len(DEFAULT_PAGE) - len(b"<!--  -->\n")
    if filler < 0:
        return DEFAULT_PAGE + b" " * (size - len(DEFAULT_PAGE))
    return DEFAULT_PAGE + b"<!-- " + b"x" * filler + b" -->\n"


def _peer_subject(tls: ssl.SSLSocket) -> str | None:
    """The client certificate's subject, 'O=..., CN=...', when one was verified."""
    with contextlib.suppress(ValueError, OSError):
        cert = tls.getpeercert()
        if cert:
            return ", ".join(f"{k}={v}" for rdn in cert.get("subject", ()) for k, v in rdn)
    return None


class SuiteTable:
    """IANA suite number <-> OpenSSL name, for every suite this OpenSSL knows."""

    def __init__(self, pairs: Sequence[tuple[int, str]]) -> None:
        self.by_id = dict(pairs)
        self.by_name = {name: i for i, name in pairs}
        self.by_id.setdefault(0x00FF, "TLS_EMPTY_RENEGOTIATION_INFO_SCSV")
        self.by_id.setdefault(0x5600, "TLS_FALLBACK_SCSV")

    def name_of(self, suite: int) -> str:
        return self.by_id.get(suite, f"0x{suite:04x}")

    def id_of(self, name: str) -> int | None:
        return self.by_name.get(name)


def _suite_table() -> SuiteTable:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.set_ciphers("ALL:COMPLEMENTOFALL:@SECLEVEL=0")
    return SuiteTable([(c["id"] & 0xFFFF, c["name"]) for c in ctx.get_ciphers()])


def parse_client_hello(
    msg: bytes, suites: SuiteTable, version_names: Mapping[int, str]
) -> dict[str, Any]:
    """The facts of a ClientHello handshake message (4-byte header included)."""
    body = msg[4:]
    pos = 0

    def take(n: int) -> bytes:
        nonlocal pos
        if pos + n > len(body):
            raise ValueError("truncated ClientHello")
        out = body[pos : pos + n]
        pos += n
        return out

    legacy_version = int.from_bytes(take(2), "big")
    take(32)  # random
    session_id = take(take(1)[0])
    raw_suites = take(int.from_bytes(take(2), "big"))
    offered = [int.from_bytes(raw_suites[i : i + 2], "big") for i in range(0, len(raw_suites), 2)]
    compression = list(take(take(1)[0]))
    extensions: list[int] = []
    sni: str | None = None
    versions: list[str] = []
    if pos + 2 <= len(body):
        ext_data = take(int.from_bytes(take(2), "big"))
        i = 0
        while i + 4 <= len(ext_data):
            etype = int.from_bytes(ext_data[i : i + 2], "big")
            elen = int.from_bytes(ext_data[i + 2 : i + 4], "big")
            edata = ext_data[i + 4 : i + 4 + elen]
            extensions.append(etype)
            if etype == 0 and len(edata) >= 5 and edata[2] == 0:
                sni = edata[5 : 5 + int.from_bytes(edata[3:5], "big")].decode("ascii", "replace")
            elif etype == 43 and edata:
                vs = edata[1 : 1 + edata[0]]
                versions = [
                    _version_name(int.from_bytes(vs[j : j + 2], "big"), version_names)
                    for j in range(0, len(vs) - 1, 2)
                ]
            i += 4 + elen
    return {
        "legacy_version": _version_name(legacy_version, version_names),
        "session_id_len": len(session_id),
        "offered_suites": offered,
        "offered_suite_names": [suites.name_of(s) for s in offered],
        "compression_methods": compression,
        "extensions": extensions,
        "sni": sni,
        "supported_versions": versions,
    }


def _version_name(v: int, names: Mapping[int, str]) -> str:
    return names.get(v, f"0x{v:04x}")


def _alert_name(description: int) -> str:
    try:
        return ssl.AlertDescription(description).name.removeprefix("ALERT_DESCRIPTION_").lower()
    except ValueError:
        return f"unknown_{description}"


def _errno_name(exc: OSError) -> str:
    if exc.errno is not None and exc.errno in errno.errorcode:
        return errno.errorcode[exc.errno]
    return type(exc).__name__


def _close_notify(tls: ssl.SSLSocket) -> None:
    """Send close_notify and FIN now, as Apache does; never wait for the peer's close_notify."""
    # SSLWantReadError from unwrap(): ours is sent, the peer's has not arrived; fine.
    with contextlib.suppress(OSError, ValueError):
        tls.settimeout(0)
        tls.unwrap()
    with contextlib.suppress(OSError):
        socket.socket.shutdown(tls, socket.SHUT_WR)


def _lingering_close(tls: ssl.SSLSocket) -> None:
    """Stop sending, then read and drop what the peer still sends until it closes.

    Apache does this (ap_lingering_close) after a served request, but not after a
    failed handshake: its event MPM closes an aborted connection at once, so a board's
    late records (axTLS's own unexpected_message and close_notify after the server's
    alert) draw a RST, and the close_notify reaches the wire only when it wins that
    race (measured on 2.4.71; see the apache backend). The builtin backend lingers in
    both cases, a deliberate difference: every record the board sends is on the record.
    """
    with contextlib.suppress(OSError, ValueError):
        socket.socket.shutdown(tls, socket.SHUT_WR)
        deadline = time.monotonic() + LINGER_TOTAL
        while (left := deadline - time.monotonic()) > 0:
            socket.socket.settimeout(tls, min(LINGER_READ, left))
            if not socket.socket.recv(tls, 4096):
                break
    with contextlib.suppress(OSError):
        tls.close()


def _stop(signum: int, _frame: object) -> None:
    raise SystemExit(0)


def _control(server: Server, listening: Mapping[str, Any]) -> None:
    """A pooled server's command loop (module doc); stops the server at EOF."""
    try:
        for line in sys.stdin.buffer:
            cmd = json.loads(line)
            server.begin_run(
                Path(cmd["server_log"]), cmd.get("keylog"), fresh=cmd.get("fresh", True)
            )
            server.events.write("listening", **listening)
            sys.stdout.write(f"{RUN_ACK} {int(cmd['run'])}\n")
            sys.stdout.flush()
    except Exception:
        traceback.print_exc()
    # The parent closed our stdin (or sent nonsense): nobody will use this server again.
    os.kill(os.getpid(), signal.SIGTERM)


def main(
    argv: Sequence[str],
    server_cls: type[Server] = Server,
    library: Mapping[str, str] | None = None,
) -> int:
    """Serve until SIGTERM. `server_cls` and `library` (what the `listening` event says
    serves TLS) let the tlslite backend's process reuse all of this."""
    if len(argv) != 2:
        print("usage: builtin_main.py CONFIG.json", file=sys.stderr)
        return 2
    cfg = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    events = EventLog(Path(cfg["server_log"]))
    signal.signal(signal.SIGTERM, _stop)
    server = server_cls(cfg, events)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((cfg["bind"], int(cfg["port"])))
        listener.listen(32)
    except OSError as exc:
        # Not a server event: no server ran. The parent raises PortInUseError from the
        # exit code, and a runner that falls back to another port keeps a clean server.log.
        print(
            f"cannot listen on {cfg['bind']}:{cfg['port']}: {exc.strerror or exc} "
            f"(errno {exc.errno})",
            file=sys.stderr,
        )
        return EXIT_CANNOT_LISTEN
    port = listener.getsockname()[1]
    # SIGTERM can come any time after the ready line (a test that stops the server
    # at once): everything from here on is inside the try, so `stopped` is always logged.
    listening = {
        "bind": cfg["bind"],
        "port": port,
        "profile": cfg.get("profile"),
        "pid": os.getpid(),
        **(library or {"openssl": ssl.OPENSSL_VERSION}),
        "chain": cfg.get("chain", "full"),
        "groups": cfg.get("curves") or "default",
        "tls13_ciphersuites": cfg.get("tls13_ciphersuites"),
        "sni_policy": cfg.get("sni", "any"),
        "client_auth": cfg.get("client_auth", "none"),
    }
    try:
        events.write("listening", **listening)
        sys.stdout.write(f"{READY} port={port}\n")
        sys.stdout.flush()
        if cfg.get("control"):
            threading.Thread(
                target=_control, args=(server, listening), name="control", daemon=True
            ).start()
        else:
            # The parent reads stdout only up to the ready line; anything later goes to the log.
            os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
        server.serve_forever(listener)
    except (SystemExit, KeyboardInterrupt):
        events.write("stopped")
    finally:
        listener.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
