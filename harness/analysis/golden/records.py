"""A client record as the items the comparison looks at (pure).

Each record becomes a kind (client_hello, finished, alert, ...) and a list of
items, each a difference id, a printable value after masking, and the mask used.
A ClientHello is taken apart field by field, so a difference names the field.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.analysis.golden.capture import TlsRecord
from harness.analysis.golden.masks import (
    CLIENT_HELLO_MASKS,
    EXTENSION_MASKS,
    HANDSHAKE_MASKS,
    SEALED,
    FieldMask,
)
from harness.analysis.wire.tables import (
    ALERT_NAMES,
    CONTENT_ALERT,
    CONTENT_APPLICATION_DATA,
    CONTENT_CHANGE_CIPHER_SPEC,
    CONTENT_HANDSHAKE,
    HANDSHAKE_KINDS,
)

CONTENT_NAMES = {
    CONTENT_CHANGE_CIPHER_SPEC: "change_cipher_spec",
    CONTENT_ALERT: "alert",
    CONTENT_HANDSHAKE: "handshake",
    CONTENT_APPLICATION_DATA: "application_data",
}

EXTENSION_NAMES = {
    0: "server_name",
    1: "max_fragment_length",
    5: "status_request",
    10: "supported_groups",
    11: "ec_point_formats",
    13: "signature_algorithms",
    16: "alpn",
    21: "padding",
    22: "encrypt_then_mac",
    23: "extended_master_secret",
    35: "session_ticket",
    41: "pre_shared_key",
    43: "supported_versions",
    45: "psk_key_exchange_modes",
    51: "key_share",
    0xFF01: "renegotiation_info",
}


@dataclass(frozen=True)
class Item:
    key: str  # the difference id when it differs, e.g. "client_hello.cipher_suites"
    value: str
    masking: str = ""  # the mask applied, with its reason


@dataclass(frozen=True)
class RecordView:
    kind: str
    items: tuple[Item, ...]


def masked(mask: FieldMask, content: bytes) -> str:
    return f"<{len(content)} bytes masked>" if mask.keep_length else "<masked>"


def _why(mask: FieldMask) -> str:
    return f"{mask.name}: {mask.why}"


def view(record: TlsRecord, text_mask) -> RecordView:  # text_mask: Callable[[str], str]
    """The record's kind and items; `text_mask` masks decrypted application data."""
    version = Item("version", f"0x{record.version:04x}")
    if record.encrypted:
        sealed = Item("length", str(len(record.body)), _why(SEALED))
        if record.plaintext is None:
            kind = f"sealed {CONTENT_NAMES.get(record.content_type, record.content_type)}"
            return RecordView(kind, (version, sealed))
        kind, items = _content(record.content_type, record.plaintext, text_mask)
        return RecordView(kind, (version, sealed, *items))
    kind, items = _content(record.content_type, record.body, text_mask)
    length = Item("length", str(len(record.body)))
    return RecordView(kind, (version, *items, length))


def _content(content_type: int, data: bytes, text_mask) -> tuple[str, list[Item]]:
    if content_type == CONTENT_HANDSHAKE:
        return _handshake(data)
    if content_type == CONTENT_ALERT and len(data) == 2:
        level = {1: "warning", 2: "fatal"}.get(data[0], str(data[0]))
        name = ALERT_NAMES.get(data[1], "unknown")
        return "alert", [Item("alert", f"{level} {name}({data[1]})")]
    if content_type == CONTENT_APPLICATION_DATA:
        text = text_mask(data.decode("latin-1"))
        return "application_data", [Item("data", repr(text), "text masks (addresses, ports)")]
    name = CONTENT_NAMES.get(content_type, f"content_type_{content_type}")
    return name, [Item("bytes", data.hex())]


def _handshake(data: bytes) -> tuple[str, list[Item]]:
    """One or more handshake messages in one record (axTLS writes one per record)."""
    kinds, items, pos = [], [], 0
    while len(data) - pos >= 4:
        msg_type = data[pos]
        length = int.from_bytes(data[pos + 1 : pos + 4], "big")
        body = data[pos + 4 : pos + 4 + length]
        name = HANDSHAKE_KINDS.get(msg_type, f"handshake_{msg_type}")
        kinds.append(name)
        if msg_type == 1:
            items += _client_hello(body)
        elif msg_type in HANDSHAKE_MASKS:
            mask = HANDSHAKE_MASKS[msg_type]
            items.append(Item(f"{name}.body", masked(mask, body), _why(mask)))
        else:
            items.append(Item(f"{name}.body", body.hex()))
        pos += 4 + length
    if pos < len(data):
        items.append(Item("handshake.fragment", data[pos:].hex()))
    return "+".join(kinds) or "handshake", items


def _client_hello(body: bytes) -> list[Item]:
    """ClientHello fields (RFC 5246 7.4.1.2); a malformed one is compared as bytes."""
    try:
        return list(_client_hello_fields(body))
    except (IndexError, ValueError):
        return [Item("client_hello.bytes", body.hex())]


def _take(data: bytes, pos: int, size_len: int) -> tuple[bytes, int]:
    size = int.from_bytes(data[pos : pos + size_len], "big")
    end = pos + size_len + size
    if end > len(data):
        raise ValueError("field runs past the message")
    return data[pos + size_len : end], end


def _client_hello_fields(body: bytes):
    if len(body) < 34:
        raise ValueError("too short")
    yield Item("client_hello.client_version", f"0x{int.from_bytes(body[:2], 'big'):04x}")
    mask = CLIENT_HELLO_MASKS["random"]
    yield Item("client_hello.random", masked(mask, body[2:34]), _why(mask))
    session, pos = _take(body, 34, 1)
    mask = CLIENT_HELLO_MASKS["session_id"]
    yield Item("client_hello.session_id", masked(mask, session), _why(mask))
    suites, pos = _take(body, pos, 2)
    yield Item(
        "client_hello.cipher_suites",
        ",".join(suites[i : i + 2].hex() for i in range(0, len(suites), 2)),
    )
    compression, pos = _take(body, pos, 1)
    yield Item("client_hello.compression", compression.hex())
    if pos == len(body):
        yield Item("client_hello.extensions", "(none)")
        return
    block, end = _take(body, pos, 2)
    if end != len(body):
        yield Item("client_hello.after_extensions", body[end:].hex())
    names, values, i = [], [], 0
    while i < len(block):
        ext_type = int.from_bytes(block[i : i + 2], "big")
        value, i = _take(block, i + 2, 2)
        name = EXTENSION_NAMES.get(ext_type, f"0x{ext_type:04x}")
        names.append(name)
        mask = EXTENSION_MASKS.get(ext_type)
        if mask is not None:
            values.append(Item(f"client_hello.ext.{name}", masked(mask, value), _why(mask)))
        else:
            values.append(Item(f"client_hello.ext.{name}", value.hex()))
    yield Item("client_hello.extensions", ",".join(names))
    yield from values
