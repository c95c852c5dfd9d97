"""What the golden comparison masks, as data: every rule with the reason it is there.

A recording of a real board and a twin run differ in what is random, derived from
keys, or chosen by the bench (ports, times, addresses, the day certificates were
issued). Those bytes and words are replaced before comparing; everything else must
match byte for byte. A rule's `why` is printed with each difference it touched.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class FieldMask:
    name: str
    keep_length: bool  # the length still counts; only the content is masked
    why: str


# ClientHello fields (RFC 5246 7.4.1.2).
CLIENT_HELLO_MASKS: Mapping[str, FieldMask] = {
    "random": FieldMask(
        "random", True, "32 random bytes (axTLS puts time(NULL) in the first four)"
    ),
    "session_id": FieldMask(
        "session_id", True, "a session id offered for resumption is random, and per session"
    ),
}

# Extension type -> mask for its value; other extensions compare byte for byte.
EXTENSION_MASKS: Mapping[int, FieldMask] = {
    21: FieldMask("padding", False, "its size follows from the other fields"),
    35: FieldMask("session_ticket", False, "a ticket from an earlier session"),
    41: FieldMask("pre_shared_key", False, "a resumption identity and binder"),
    51: FieldMask("key_share", True, "ephemeral public keys"),
}

# Handshake message type -> mask for its body (after the 4-byte header).
HANDSHAKE_MASKS: Mapping[int, FieldMask] = {
    15: FieldMask("certificate_verify", True, "a signature over this session's transcript"),
    16: FieldMask(
        "client_key_exchange", True, "key material: an RSA-encrypted premaster or a public key"
    ),
    20: FieldMask("finished", True, "verify_data comes from this session's keys"),
}

SEALED = FieldMask(
    "ciphertext",
    True,
    "encrypted under this session's keys: compared by content type and length, and by "
    "plaintext where the key log decrypts it",
)


@dataclass(frozen=True)
class TextMask:
    name: str
    pattern: re.Pattern[str]
    replacement: str
    why: str


# Serial lines and decrypted application data. Order matters: the first rules take
# whole words that later, broader ones would cut up.
TEXT_MASKS: tuple[TextMask, ...] = (
    TextMask(
        "build id",
        re.compile(r"(HIL:BOOT build=)\S+"),
        r"\1<build>",
        "the firmware's build hash differs per build and per recorder",
    ),
    TextMask(
        "esp32 log time",
        re.compile(r"^\[\s*\d+\]"),
        "[<ms>]",
        "arduino-esp32's log prefix holds millis() since boot",
    ),
    TextMask(
        "heap",
        re.compile(r"(?i)(heap[^0-9]{0,40})\d+"),
        r"\1<n>",
        "free heap depends on the board and the sketch, not on the TLS stack",
    ),
    TextMask(
        "digest",
        re.compile(r"\b(?:[0-9A-Fa-f]{2}[ :]?){16,}\b"),
        "<hex>",
        "fingerprints and key bytes come from the bench's keys, issued per cache",
    ),
    TextMask(
        "ipv4 address",
        re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b"),
        "<ip>",
        "the bench's address",
    ),
)

# Certificate dates in serial lines: ctime() (axTLS x509_print) and ISO (mbedTLS).
DATE_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"\b[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}\b"),
    re.compile(r"\b\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d\b"),
)
DATE_WHY = (
    "certificate dates: equal, or apart by exactly the days between the two recordings "
    "(plans dated from the day of issue)"
)
PORT_WHY = "the server's port is chosen per run"


@dataclass(frozen=True)
class StartMarker:
    pattern: re.Pattern[str]
    why: str


# Serial lines are compared from the sketch's first line on.
SERIAL_START = StartMarker(
    re.compile(r"HIL:BOOT\b"),
    "a real board prints its boot ROM's output (74880 baud) first; the sketch starts at HIL:BOOT",
)


# The harness's framing of a run (HIL:BOOT, HIL:DONE): a recorder that ran its sketch
# without the harness printed none, so against such a golden the run's are not compared.
FRAMING = StartMarker(
    re.compile(r"^HIL:(BOOT|DONE)\b"),
    "the golden's recorder ran its sketch without the harness, which frames a run with "
    "HIL:BOOT and HIL:DONE",
)
