"""The tshark fields the decoder reads, and the TLS numbers it names (pure data)."""

from __future__ import annotations

from collections.abc import Mapping

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
    "tcp.seq",
    "tcp.len",
    "tcp.window_size",
    "tcp.analysis.retransmission",
    "tcp.analysis.zero_window",
    "tls.record.content_type",
    "tls.record.opaque_type",
    "tls.record.version",
    "tls.record.length",
    "tls.handshake.type",
    "tls.handshake.length",
    "tls.handshake.reassembled_in",
    "tls.handshake.version",
    "tls.handshake.ciphersuite",
    "tls.handshake.extensions_length",
    "tls.handshake.extension.type",
    "tls.handshake.extension.len",
    "tls.handshake.extensions_server_name",
    "tls.handshake.max_fragment_length",
    "tls.handshake.extensions_supported_group",
    "tls.handshake.extensions_ec_point_format",
    "tls.handshake.sig_hash_alg",
    "tls.handshake.extensions.supported_version",
    "tls.handshake.certificate",
    "tls.handshake.server_named_curve",
    "tls.handshake.p_len",
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

# IANA TLS Supported Groups (RFC 8422, 7919, 8446) as OpenSSL and the ESP stacks use them.
GROUP_NAMES: Mapping[int, str] = {
    19: "secp192r1",
    21: "secp224r1",
    23: "secp256r1",
    24: "secp384r1",
    25: "secp521r1",
    26: "brainpoolP256r1",
    27: "brainpoolP384r1",
    28: "brainpoolP512r1",
    29: "x25519",
    30: "x448",
    256: "ffdhe2048",
    257: "ffdhe3072",
    258: "ffdhe4096",
    259: "ffdhe6144",
    260: "ffdhe8192",
}

# RFC 6066 section 4: max_fragment_length codes -> bytes.
MAX_FRAGMENT_BYTES: Mapping[int, int] = {1: 512, 2: 1024, 3: 2048, 4: 4096}

CONTENT_CHANGE_CIPHER_SPEC = 20
CONTENT_ALERT = 21
CONTENT_HANDSHAKE = 22
CONTENT_APPLICATION_DATA = 23

_SEALED_OVERHEAD = 17
_HS_CLIENT_HELLO = 1
_HS_SERVER_HELLO = 2
_HS_CERTIFICATE = 11
_HS_SERVER_KEY_EXCHANGE = 12
_HS_CERTIFICATE_REQUEST = 13
_HS_CERTIFICATE_VERIFY = 15


def alert_name(description: int | None) -> str:
    if description is None:
        return "encrypted_alert"
    return ALERT_NAMES.get(description, f"unknown_alert_{description}")


def group_name(group: int | None) -> str | None:
    if group is None:
        return None
    return GROUP_NAMES.get(group, f"group_0x{group:04x}")
