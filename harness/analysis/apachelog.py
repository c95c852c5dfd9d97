"""Apache httpd's error and access logs -> server events. Pure: layer 2.

The events have the kinds and field names the builtin backend's server.log gives
(harness/analysis/serverlog.py) wherever the fact is the same, so a diagnosis does not
care which backend served:

| Apache says                                          | event                     |
|------------------------------------------------------|---------------------------|
| AH00489 ... resuming normal operations               | server_listening          |
| AH01964 Connection to child N established            | server_accepted           |
| AH02041 Protocol: P, Cipher: C (a/b bits)            | server_handshake_ok       |
| AH02008/AH01996/AH02006/... + "SSL Library Error:"   | server_handshake_failed   |
| access log line                                      | server_request, server_response |
| AH02001/AH01998/AH01999 Connection closed to child N | server_closed             |
| AH00491/AH00492 caught SIGTERM/SIGWINCH ...          | server_stopped            |
| any other line at warn or above                      | server_message            |

Every connection event carries `conn` (1, 2, ... in order of acceptance), `peer`,
`peer_port` and Apache's connection `log_id`. `sni` comes from AH02645 (none sent)
and AH02043/AH02044 (the name sent). Lines of either log that cannot be read
become `server_other` events with the line and the problem, as serverlog does:
nothing here raises on content.

Facts the builtin backend logs that Apache does not: the ClientHello and the
alerts (`server_client_hello`, `server_alert`); the wire has both.

Error log times have no zone; Apache writes local time, so the backend runs it
with TZ=UTC and `tz` says which zone a pasted log was written in.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, tzinfo
from typing import Any, NamedTuple

from harness.model import Direction, Event, Source
from harness.model.suites import suite_id

# [time] [module:level] [pid P:tid T] (errno)text: [conn ID] [client IP:PORT] AHnnnnn: message
_ERROR_LINE = re.compile(
    r"\[(?P<time>[^\]]+)\] \[(?P<module>[^:\]]*):(?P<level>[a-z0-9]+)\]"
    r" \[pid (?P<pid>\d+)(?::tid (?P<tid>\d+))?\]"
    r"(?: (?P<oserror>\(\d+\)[^:\[]*):)?"
    r"(?: \[conn (?P<log_id>[^\]]*)\])?"
    r"(?: \[client (?P<client>[^\]]*)\])?"
    r" ?(?:(?P<code>AH\d{5}): )?(?P<message>.*)\Z"
)
_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S.%f", "%a %b %d %H:%M:%S.%f %Y", "%Y-%m-%d %H:%M:%S")
_LOUD = {"warn", "error", "crit", "alert", "emerg"}

_ESTABLISHED = {"AH01964"}
_HANDSHAKE_OK = re.compile(
    r"Protocol: (?P<version>\S+), Cipher: (?P<cipher>\S+) \((?P<bits>[^)]*)\)"
)
# Handshake failures, and the reason to give when no "SSL Library Error" line follows.
_HANDSHAKE_FAILED = {
    "AH02008": "HANDSHAKE_FAILED",  # SSL library error N in handshake
    "AH01996": "HTTP_REQUEST",  # HTTP spoken on HTTPS port
    "AH02006": "UNEXPECTED_EOF_WHILE_READING",  # handshake stopped: connection was closed
    "AH02007": "HANDSHAKE_INTERRUPTED",  # handshake interrupted by system
    "AH02009": "HANDSHAKE_FAILED",  # SSL handshake failed: no certificate
    "AH02261": "RENEGOTIATION_FAILED",
}
_CLOSED = re.compile(r"Connection closed to child \d+ with (?P<how>\w+) shutdown")
_SNI_NONE = {"AH02645"}  # Server name not provided via TLS extension
_SNI_NAME = re.compile(r"servername (?P<name>\S+)")  # AH02043 / AH02044
_LISTENING = {"AH00489"}
_STOPPED = {"AH00491", "AH00492", "AH00493", "AH00494"}
# error:0A0000C1:SSL routines::no shared cipher -- hint
_LIBRARY_ERROR = re.compile(
    r"SSL Library Error: error:(?P<code>[0-9A-Fa-f]+):(?P<lib>[^:]*):(?P<func>[^:]*):"
    r"(?P<reason>[^-]*?)(?: -- (?P<hint>.*))?\Z"
)

# %{usec}t %{end:usec}t %{c}L %{c}a %{remote}p %>s %B %O %{SSL_PROTOCOL}x %{SSL_CIPHER}x
# %{SSL_TLS_SNI}x "%r"  (apache_conf.ACCESS_LOG_FORMAT)
_ACCESS_LINE = re.compile(
    r"(?P<start>\d+) (?P<end>\d+) (?P<log_id>\S+) (?P<peer>\S+) (?P<peer_port>\d+|-)"
    r" (?P<status>\d+|-) (?P<body>\d+|-) (?P<sent>\d+|-)"
    r" (?P<tls_version>\S+) (?P<cipher>\S+) (?P<sni>\S+) \"(?P<request>.*)\"\Z"
)


@dataclass
class _Conn:
    key: str
    log_id: str | None
    peer: str | None = None
    peer_port: int | None = None
    accepted: float | None = None
    sni: str | None = None
    index: int = 0

    def ids(self) -> dict[str, Any]:
        return {
            "conn": self.index,
            "peer": self.peer,
            "peer_port": self.peer_port,
            "log_id": self.log_id,
        }


class _Pending(NamedTuple):
    t: float
    seq: int  # file order, for events with the same time
    kind: str
    direction: Direction | None
    conn: _Conn | None
    fields: dict[str, Any]
    text: str


@dataclass
class _Line:
    number: int
    text: str
    t: float
    module: str
    level: str
    pid: int
    tid: int | None
    log_id: str | None
    client: str | None
    code: str | None
    message: str
    oserror: str | None = None
    library_error: _Line | None = field(default=None, repr=False)


def parse_apache_logs(
    error_text: str,
    access_text: str = "",
    *,
    tz: tzinfo = UTC,
    exclude_peers: Collection[tuple[str, int]] = (),
) -> list[Event]:
    """Events of both logs in time order. `exclude_peers` drops the connections of
    those (address, port) clients (the backend's own readiness probe)."""
    builder = _Builder(exclude_peers)
    builder.error_log(error_text, tz)
    builder.access_log(access_text)
    return builder.events()


def server_log_text(events: Iterable[Event]) -> str:
    """`events` as server.log JSON lines, the builtin backend's format, for
    serverlog.parse_server_log. `server_other` lines are left out: they have no
    time of their own and the raw logs keep them."""
    lines = []
    for e in events:
        if e.kind == "server_other" or not e.kind.startswith("server_"):
            continue
        obj = {"t": e.t, "event": e.kind.removeprefix("server_"), **e.fields}
        lines.append(json.dumps(obj, separators=(",", ":")))
    return "".join(line + "\n" for line in lines)


def _parse_time(text: str, tz: tzinfo) -> float | None:
    for fmt in _TIME_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=tz).timestamp()
        except ValueError:
            continue
    return None


def _split_client(client: str | None) -> tuple[str | None, int | None]:
    if not client:
        return None, None
    host, sep, port = client.rpartition(":")
    if not sep or not port.isdigit():
        return client, None
    return host.strip("[]"), int(port)


def _reason(library_error: str) -> str:
    """OpenSSL 3 writes the reason code as lower-case words ("no shared cipher"); Python's
    ssl (the builtin backend) reports the code itself (NO_SHARED_CIPHER)."""
    return re.sub(r"[^A-Za-z0-9]+", "_", library_error.strip()).strip("_").upper()


class _Builder:
    def __init__(self, exclude_peers: Collection[tuple[str, int]]) -> None:
        self.exclude = {(str(a), int(p)) for a, p in exclude_peers}
        self.conns: dict[str, _Conn] = {}
        self.pending: list[_Pending] = []
        self.others: list[Event] = []
        self._seq = 0
        self._said: set[tuple[str | None, str]] = set()

    # ---- shared ----------------------------------------------------------------

    def conn(self, log_id: str | None, client: str | None) -> _Conn | None:
        # Apache's stock ErrorLogFormat has no connection id; the client's address and
        # port then tell connections apart.
        key = log_id or (f"client {client}" if client else None)
        if key is None:
            return None
        conn = self.conns.get(key)
        if conn is None:
            conn = self.conns[key] = _Conn(key, log_id or None)
        if conn.peer is None and client:
            conn.peer, conn.peer_port = _split_client(client)
        return conn

    def add(
        self,
        t: float,
        kind: str,
        conn: _Conn | None,
        fields: Mapping[str, Any],
        text: str,
        direction: Direction | None = None,
    ) -> None:
        self._seq += 1
        self.pending.append(_Pending(t, self._seq, kind, direction, conn, dict(fields), text))

    def other(self, t: float, number: int, log: str, problem: str, text: str) -> None:
        self.others.append(
            Event(
                t=t,
                source=Source.SERVER,
                kind="server_other",
                fields={"log": log, "line_number": number, "problem": problem},
                text=text,
            )
        )

    def events(self) -> list[Event]:
        excluded = {c.key for c in self.conns.values() if (c.peer, c.peer_port) in self.exclude}
        ordered = sorted(self.pending, key=lambda p: (p.t, p.seq))
        index = 0
        for p in ordered:
            if p.conn is not None and p.conn.key not in excluded and not p.conn.index:
                index += 1
                p.conn.index = index
        out = []
        for p in ordered:
            if p.conn is not None and p.conn.key in excluded:
                continue
            ids = p.conn.ids() if p.conn is not None else {}
            out.append(
                Event(
                    t=p.t,
                    source=Source.SERVER,
                    kind=p.kind,
                    direction=p.direction,
                    fields={**ids, **p.fields},
                    text=p.text,
                )
            )
        # An unreadable line keeps its place after the last event before it in its log.
        return sorted(out + self.others, key=lambda e: e.t)

    # ---- error log --------------------------------------------------------------

    def error_log(self, text: str, tz: tzinfo) -> None:
        lines: list[_Line] = []
        last_t = 0.0
        last_of_thread: dict[tuple[int, int | None], _Line] = {}
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.rstrip()
            if not line.strip():
                continue
            m = _ERROR_LINE.match(line)
            t = _parse_time(m["time"], tz) if m else None
            if m is None or t is None:
                problem = "not an Apache error log line" if m is None else "unreadable time"
                self.other(last_t, number, "error", problem, line)
                continue
            last_t = t
            parsed = _Line(
                number=number,
                text=line,
                t=t,
                module=m["module"],
                level=m["level"],
                pid=int(m["pid"]),
                tid=int(m["tid"]) if m["tid"] else None,
                log_id=m["log_id"],
                client=m["client"],
                code=m["code"],
                message=m["message"],
                oserror=m["oserror"],
            )
            thread = (parsed.pid, parsed.tid)
            # mod_ssl logs the OpenSSL error queue right after the line it explains, on
            # the same thread, without the connection's context.
            if parsed.message.startswith("SSL Library Error:") and not parsed.log_id:
                before = last_of_thread.get(thread)
                if before is not None and before.library_error is None:
                    before.library_error = parsed
                    continue
            last_of_thread[thread] = parsed
            lines.append(parsed)
        for parsed in lines:
            self.error_line(parsed)

    def error_line(self, ln: _Line) -> None:
        conn = self.conn(ln.log_id, ln.client)
        code, msg = ln.code or "", ln.message
        if code in _ESTABLISHED and conn is not None:
            conn.accepted = ln.t
            self.add(ln.t, "server_accepted", conn, {}, ln.text)
        elif code in _SNI_NONE and conn is not None:
            conn.sni = None
        elif conn is not None and code in ("AH02043", "AH02044") and _SNI_NAME.search(msg):
            conn.sni = _SNI_NAME.search(msg)["name"]  # type: ignore[index]
        elif conn is not None and (ok := _HANDSHAKE_OK.match(msg)):
            fields = {
                "version": ok["version"],
                "cipher": ok["cipher"],
                "cipher_id": suite_id(ok["cipher"]),
                "sni": conn.sni,
                "bits": ok["bits"],
            }
            self.add(ln.t, "server_handshake_ok", conn, fields, ln.text)
        elif code in _HANDSHAKE_FAILED and conn is not None:
            self.add(ln.t, "server_handshake_failed", conn, self.failure(ln), ln.text)
        elif conn is not None and (closed := _CLOSED.search(msg)):
            fields: dict[str, Any] = {"shutdown": closed["how"]}
            if conn.accepted is not None:
                fields["duration"] = round(ln.t - conn.accepted, 6)
            self.add(ln.t, "server_closed", conn, fields, ln.text)
        elif code in _LISTENING:
            server = msg.split(" configured", 1)[0]
            self.add(ln.t, "server_listening", None, {"server": server, "pid": ln.pid}, ln.text)
        elif code in _STOPPED:
            self.add(ln.t, "server_stopped", None, {"message": msg}, ln.text)
        elif ln.level in _LOUD or ln.library_error is not None:
            if conn is None:
                # Apache reads its config twice at start and says the same things twice.
                if (ln.code, msg) in self._said:
                    return
                self._said.add((ln.code, msg))
            fields = {"module": ln.module, "level": ln.level, "code": ln.code, "message": msg}
            if ln.library_error is not None:
                fields["library_error"] = ln.library_error.message
            self.add(ln.t, "server_message", conn, fields, ln.text)

    def failure(self, ln: _Line) -> dict[str, Any]:
        code = ln.code or ""
        reason, library, message = _HANDSHAKE_FAILED[code], None, ln.message
        if ln.library_error is not None:
            message = ln.library_error.message.removeprefix("SSL Library Error: ")
            lib = _LIBRARY_ERROR.match(ln.library_error.message)
            if lib is not None:
                reason = _reason(lib["reason"])
                library = lib["lib"].removesuffix(" routines").strip() or None
        elif code == "AH02006":
            library = "SSL"
        if ln.oserror:
            message = f"{ln.oserror}: {message}"
        conn = self.conn(ln.log_id, ln.client)
        return {
            "reason": reason,
            "library": library,
            "message": message,
            "sni": conn.sni if conn else None,
            "apache_code": code,
        }

    # ---- access log -------------------------------------------------------------

    def access_log(self, text: str) -> None:
        last_t = 0.0
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.rstrip()
            if not line.strip():
                continue
            m = _ACCESS_LINE.match(line)
            if m is None:
                self.other(
                    last_t, number, "access", "not a line of the hil access log format", line
                )
                continue
            start, end = int(m["start"]) / 1e6, int(m["end"]) / 1e6
            last_t = end
            port = m["peer_port"]
            log_id = None if m["log_id"] == "-" else m["log_id"]
            conn = self.conn(log_id, f"{m['peer']}:{port}" if port != "-" else m["peer"])

            def dash(value: str) -> str | None:
                return None if value == "-" else value

            parts = m["request"].split(" ")
            if len(parts) == 3 and parts[2].startswith("HTTP/"):
                request = {"method": parts[0], "path": parts[1], "version": parts[2]}
            else:
                request = {"method": None, "path": None, "version": None, "line": m["request"]}
            request |= {
                "tls_version": dash(m["tls_version"]),
                "cipher": dash(m["cipher"]),
                "sni": dash(m["sni"]),
            }
            self.add(start, "server_request", conn, request, line, Direction.C2S)
            status = m["status"]
            response = {
                "status": int(status) if status.isdigit() else None,
                "body_bytes": int(m["body"]) if m["body"].isdigit() else 0,
                "sent_bytes": int(m["sent"]) if m["sent"].isdigit() else None,
            }
            self.add(end, "server_response", conn, response, line, Direction.S2C)


def with_fields(event: Event, **fields: Any) -> Event:
    """`event` with `fields` added (the backend adds bind, port, profile to listening)."""
    return replace(event, fields={**event.fields, **fields})
