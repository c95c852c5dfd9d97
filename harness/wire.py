"""tshark field text -> wire events (layer 2: pure, no processes, no files).

Input is what `tshark -T fields -E header=y -E separator=/t -E occurrence=a
-E aggregator=,` prints for `FIELDS`: one row per frame, multi-valued fields joined
by commas. A frame can hold several TLS records and a record several handshake
messages (ServerHello+Certificate+ServerKeyExchange+ServerHelloDone in one record
is OpenSSL's habit); each message and each alert gives its own event, in wire order.

tshark flattens the per-record and per-message fields into separate lists, so the
messages are matched to their records by length: a handshake record of length L
holds messages whose 4-byte header plus body add up to L. A record with no message
left for it is an encrypted handshake record tshark could not decrypt
(`encrypted_handshake`); a TLS 1.3 record it could not decrypt has no visible type at
all (`encrypted_record`).

Never raises on its input: a row that cannot be decoded is skipped and named in
`warnings`. Rows that are not TCP (the capture's UDP marker datagrams) or not on
the server port are ignored without a warning.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.model import Direction, Event, Source

FIELDS: tuple[str, ...] = (
    "frame.number",
    "frame.time_epoch",
    "ip.src",
    "ip.dst",
    "tcp.srcport",
    "tcp.dstport",
    "tcp.stream",
    "tcp.flags.syn",
    "tcp.flags.ack",
    "tcp.flags.fin",
    "tcp.flags.reset",
    "tcp.len",
    "tcp.analysis.retransmission",
    "tls.record.content_type",
    "tls.record.opaque_type",
    "tls.record.version",
    "tls.record.length",
    "tls.handshake.type",
    "tls.handshake.length",
    "tls.handshake.version",
    "tls.handshake.ciphersuite",
    "tls.handshake.extension.type",
    "tls.handshake.extensions_server_name",
    "tls.handshake.extensions.supported_version",
    "tls.alert_message.level",
    "tls.alert_message.desc",
)

# RFC 5246 section 7.2 and RFC 8446 section 6, plus the IANA TLS Alert registry
# entries from the RFCs they cite (6066, 7301, 7507).
ALERT_NAMES: Mapping[int, str] = {
    0: "close_notify",
    10: "unexpected_message",
    20: "bad_record_mac",
    21: "decryption_failed_RESERVED",
    22: "record_overflow",
    30: "decompression_failure_RESERVED",
    40: "handshake_failure",
    41: "no_certificate_RESERVED",
    42: "bad_certificate",
    43: "unsupported_certificate",
    44: "certificate_revoked",
    45: "certificate_expired",
    46: "certificate_unknown",
    47: "illegal_parameter",
    48: "unknown_ca",
    49: "access_denied",
    50: "decode_error",
    51: "decrypt_error",
    60: "export_restriction_RESERVED",
    70: "protocol_version",
    71: "insufficient_security",
    80: "internal_error",
    86: "inappropriate_fallback",
    90: "user_canceled",
    100: "no_renegotiation_RESERVED",
    109: "missing_extension",
    110: "unsupported_extension",
    111: "certificate_unobtainable_RESERVED",
    112: "unrecognized_name",
    113: "bad_certificate_status_response",
    114: "bad_certificate_hash_value_RESERVED",
    115: "unknown_psk_identity",
    116: "certificate_required",
    120: "no_application_protocol",
}

# Handshake message type -> event kind (RFC 5246 7.4, RFC 8446 4).
HANDSHAKE_KINDS: Mapping[int, str] = {
    0: "hello_request",
    1: "client_hello",
    2: "server_hello",
    4: "new_session_ticket",
    5: "end_of_early_data",
    8: "encrypted_extensions",
    11: "certificate",
    12: "server_key_exchange",
    13: "certificate_request",
    14: "server_hello_done",
    15: "certificate_verify",
    16: "client_key_exchange",
    20: "finished",
    24: "key_update",
}

CONTENT_CHANGE_CIPHER_SPEC = 20
CONTENT_ALERT = 21
CONTENT_HANDSHAKE = 22
CONTENT_APPLICATION_DATA = 23


def alert_name(description: int | None) -> str:
    if description is None:
        return "encrypted_alert"
    return ALERT_NAMES.get(description, f"unknown_alert_{description}")


@dataclass(frozen=True)
class WireAnalysis:
    """Events decoded from a capture; `partial` when the capture was cut short."""

    events: tuple[Event, ...]
    partial: bool = False
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def of_kind(self, *kinds: str) -> tuple[Event, ...]:
        return tuple(e for e in self.events if e.kind in kinds)


class _RowError(ValueError):
    pass


def decode(text: str, server_port: int) -> WireAnalysis:
    """Decode tshark field text (with or without its header line) into wire events."""
    events: list[Event] = []
    warnings: list[str] = []
    if not isinstance(text, str):
        return WireAnalysis((), False, (f"expected text, got {type(text).__name__}",))
    lines = text.splitlines()
    columns: Sequence[str] = FIELDS
    start = 0
    if lines and "frame.number" in lines[0].split("\t"):
        columns = lines[0].split("\t")
        start = 1
    for number, line in enumerate(lines[start:], start=start + 1):
        if not line.strip():
            continue
        values = line.split("\t")
        if len(values) != len(columns):
            warnings.append(
                f"line {number}: {len(values)} columns, expected {len(columns)}: {line[:80]!r}"
            )
            continue
        row = dict(zip(columns, values, strict=True))
        try:
            events.extend(_decode_row(row, server_port))
        except (_RowError, ValueError, OverflowError) as exc:
            warnings.append(f"line {number}: {exc}: {line[:80]!r}")
    return WireAnalysis(tuple(events), False, tuple(warnings))


# -- one row ---------------------------------------------------------------------------


def _ints(value: str | None) -> list[int]:
    if not value:
        return []
    return [int(v, 0) for v in value.split(",") if v.strip()]


def _int(value: str | None) -> int | None:
    found = _ints(value)
    return found[0] if found else None


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true")


def _decode_row(row: Mapping[str, str], server_port: int) -> list[Event]:
    stream = _int(row.get("tcp.stream"))
    if stream is None:
        return []  # not TCP: the capture's marker datagrams, or unrelated traffic
    t = float(row.get("frame.time_epoch") or "nan")
    if not math.isfinite(t):
        raise _RowError("no usable frame.time_epoch")
    src_port, dst_port = _int(row.get("tcp.srcport")), _int(row.get("tcp.dstport"))
    if dst_port == server_port:
        direction = Direction.C2S
    elif src_port == server_port:
        direction = Direction.S2C
    else:
        return []
    frame = _Frame(
        t=t,
        stream=stream,
        direction=direction,
        src=f"{row.get('ip.src', '')}:{src_port}",
        dst=f"{row.get('ip.dst', '')}:{dst_port}",
        number=_int(row.get("frame.number")),
    )
    retransmission = _flag(row.get("tcp.analysis.retransmission"))
    events: list[Event] = []
    syn, ack = _flag(row.get("tcp.flags.syn")), _flag(row.get("tcp.flags.ack"))
    if syn:
        kind = "tcp_synack" if ack else "tcp_syn"
        events.append(frame.event(kind, {"retransmission": retransmission}))
    events.extend(_tls_events(row, frame))
    # Data carried with FIN or RST was sent before them.
    if _flag(row.get("tcp.flags.fin")):
        events.append(frame.event("tcp_fin", {"retransmission": retransmission}))
    if _flag(row.get("tcp.flags.reset")):
        events.append(frame.event("tcp_rst", {}))
    return events


@dataclass(frozen=True)
class _Frame:
    t: float
    stream: int
    direction: Direction
    src: str
    dst: str
    number: int | None

    def event(self, kind: str, fields: dict[str, Any], summary: str = "") -> Event:
        arrow = "C->S" if self.direction is Direction.C2S else "S->C"
        text = f"#{self.number} {arrow} stream {self.stream} {summary or kind}"
        fields = {"frame": self.number, "src": self.src, "dst": self.dst, **fields}
        return Event(
            t=self.t,
            source=Source.WIRE,
            kind=kind,
            direction=self.direction,
            fields=fields,
            text=text,
            stream=self.stream,
        )


def _tls_events(row: Mapping[str, str], frame: _Frame) -> list[Event]:
    content_types = _ints(row.get("tls.record.content_type"))
    record_lengths = _ints(row.get("tls.record.length"))
    record_versions = _ints(row.get("tls.record.version"))
    hs_types = _ints(row.get("tls.handshake.type"))
    hs_lengths = _ints(row.get("tls.handshake.length"))
    levels = _ints(row.get("tls.alert_message.level"))
    descriptions = _ints(row.get("tls.alert_message.desc"))
    messages = [
        (kind, hs_lengths[i] if i < len(hs_lengths) else None) for i, kind in enumerate(hs_types)
    ]
    alerts = [(levels[i] if i < len(levels) else None, desc) for i, desc in enumerate(descriptions)]
    events: list[Event] = []
    next_message = 0
    next_alert = 0
    # A TLS 1.3 record tshark could not decrypt has an opaque type but no content
    # type; those come after the plaintext ones in a frame (RFC 8446 5.1, D.4).
    n_records = max(len(content_types), len(record_lengths), len(record_versions))
    for index in range(n_records):
        length = record_lengths[index] if index < len(record_lengths) else None
        version = record_versions[index] if index < len(record_versions) else None
        content_type = content_types[index] if index < len(content_types) else None
        if content_type is None:
            events.append(
                frame.event("encrypted_record", {"length": length}, f"encrypted {length} B")
            )
        elif content_type == CONTENT_HANDSHAKE:
            taken = _messages_in_record(messages, next_message, length)
            for kind, _ in messages[next_message : next_message + taken]:
                events.append(_handshake_event(kind, row, frame, version))
            next_message += taken
            if not taken:
                events.append(frame.event("encrypted_handshake", {"length": length}))
        elif content_type == CONTENT_CHANGE_CIPHER_SPEC:
            events.append(frame.event("change_cipher_spec", {}))
        elif content_type == CONTENT_ALERT:
            level, description = (None, None)
            if next_alert < len(alerts):
                level, description = alerts[next_alert]
                next_alert += 1
            events.append(_alert_event(frame, level, description, length))
        elif content_type == CONTENT_APPLICATION_DATA:
            events.append(frame.event("app_data", {"length": length}, f"app_data {length} B"))
        else:
            events.append(frame.event("tls_record", {"content_type": content_type}))
    # Messages or alerts tshark listed without a record to put them in (reassembly
    # across records or segments): still facts, in the order seen.
    for kind, _ in messages[next_message:]:
        events.append(_handshake_event(kind, row, frame, None))
    for level, description in alerts[next_alert:]:
        events.append(_alert_event(frame, level, description, None))
    return events


def _messages_in_record(
    messages: Sequence[tuple[int, int | None]], first: int, record_length: int | None
) -> int:
    """How many of messages[first:] the handshake record holds (at least one if any left)."""
    if first >= len(messages):
        return 0
    taken, used = 1, 4 + (messages[first][1] or 0)
    if record_length is None:
        return taken
    while first + taken < len(messages):
        size = 4 + (messages[first + taken][1] or 0)
        if used + size > record_length:
            break
        used += size
        taken += 1
    return taken


def _handshake_event(
    hs_type: int, row: Mapping[str, str], frame: _Frame, record_version: int | None
) -> Event:
    kind = HANDSHAKE_KINDS.get(hs_type, "handshake")
    if kind == "client_hello":
        suites = _ints(row.get("tls.handshake.ciphersuite"))
        sni = (row.get("tls.handshake.extensions_server_name") or "").split(",")[0] or None
        fields = {
            "version": _int(row.get("tls.handshake.version")),
            "record_version": record_version,
            "suites": suites,
            "sni": sni,
            "extensions": _ints(row.get("tls.handshake.extension.type")),
            "supported_versions": _ints(row.get("tls.handshake.extensions.supported_version")),
        }
        summary = f"ClientHello {len(suites)} suites sni={sni or '-'}"
        return frame.event(kind, fields, summary)
    if kind == "server_hello":
        version = _int(row.get("tls.handshake.version"))
        selected = _int(row.get("tls.handshake.extensions.supported_version"))
        suite = _int(row.get("tls.handshake.ciphersuite"))
        fields = {
            "version": version,
            "selected_version": selected if selected is not None else version,
            "suite": suite,
            "extensions": _ints(row.get("tls.handshake.extension.type")),
        }
        suite_text = f"0x{suite:04x}" if suite is not None else "-"
        return frame.event(kind, fields, f"ServerHello suite={suite_text}")
    if kind == "handshake":
        return frame.event(kind, {"type": hs_type}, f"handshake type {hs_type}")
    return frame.event(kind, {})


def _alert_event(
    frame: _Frame, level: int | None, description: int | None, record_length: int | None
) -> Event:
    # A plaintext alert record is exactly 2 bytes; anything longer went through a cipher.
    encrypted = record_length != 2 if record_length is not None else description is None
    name = alert_name(description)
    fields = {"level": level, "description": description, "name": name, "encrypted": encrypted}
    level_text = {1: "warning", 2: "fatal"}.get(level or 0, "?")
    return frame.event("alert", fields, f"alert {level_text} {name}")
