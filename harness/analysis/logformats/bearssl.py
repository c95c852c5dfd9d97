"""BearSSL debug output (ESP8266 Arduino core 2.5+ and 3.x) -> events.

Formats: `DEBUG_BSSL(...)` in `libraries/ESP8266WiFi/src/WiFiClientSecureBearSSL.cpp`
prints `BSSL:` + the message (`_connectSSL: start connection`,
`_wait_for_handshake: failed`, `_run_until: Timeout`, `Couldn't connect. Error = '<text>'`,
`Connection *will* fail, no authentication method is setup`, `CERT: <hex>`, ...);
`getLastSSLError()` maps `br_ssl_engine_last_error()` to the texts of ERROR_TEXTS, and
sketches print it as `SSL error: <text>` or `Last SSL error was: <n>`. The numbers are
BearSSL's (`bearssl_ssl.h`, `bearssl_x509.h`): 256+n a fatal alert n received, 512+n a
fatal alert n sent; -1000 is the core's own out-of-memory code.

Debug lines often arrive indented (the core prints `\\n` without `\\r`), so a line is
matched after its leading blanks.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Any

from harness.analysis.logformats.lines import stack_event
from harness.model import Direction, Event

STACK = "bearssl"

BR_ERR_RECV_FATAL_ALERT = 256
BR_ERR_SEND_FATAL_ALERT = 512
OUT_OF_MEMORY = -1000

# getLastSSLError()'s texts, by BearSSL error number (core 3.x WiFiClientSecureBearSSL.cpp).
ERROR_TEXTS: dict[int, str] = {
    OUT_OF_MEMORY: "Unable to allocate memory for SSL structures and buffers.",
    0: "OK",
    1: "Caller-provided parameter is incorrect.",
    2: "Operation requested by the caller cannot be applied with the current context state "
    "(e.g. reading data while outgoing data is waiting to be sent).",
    3: "Incoming protocol or record version is unsupported.",
    4: "Incoming record version does not match the expected version.",
    5: "Incoming record length is invalid.",
    6: "Incoming record is too large to be processed, or buffer is too small for the "
    "handshake message to send.",
    7: "Decryption found an invalid padding, or the record MAC is not correct.",
    8: "No initial entropy was provided, and none can be obtained from the OS.",
    9: "Incoming record type is unknown.",
    10: "Incoming record or message has wrong type with regards to the current engine state.",
    12: "ChangeCipherSpec message from the peer has invalid contents.",
    13: "Alert message from the peer has invalid contents (odd length).",
    14: "Incoming handshake message decoding failed.",
    15: "ServerHello contains a session ID which is larger than 32 bytes.",
    16: "Server wants to use a cipher suite that we did not claim to support. This is also "
    "reported if we tried to advertise a cipher suite that we do not support.",
    17: "Server wants to use a compression that we did not claim to support.",
    18: "Server's max fragment length does not match client's.",
    19: "Secure renegotiation failed.",
    20: "Server sent an extension type that we did not announce, or used the same extension "
    "type several times in a single ServerHello.",
    21: "Invalid Server Name Indication contents (when used by the server, this extension "
    "shall be empty).",
    22: "Invalid ServerHelloDone from the server (length is not 0).",
    23: "Internal limit exceeded (e.g. server's public key is too large).",
    24: "Finished message from peer does not match the expected value.",
    25: "Session resumption attempt with distinct version or cipher suite.",
    26: "Unsupported or invalid algorithm (ECDHE curve, signature algorithm, hash function).",
    27: "Invalid signature in ServerKeyExchange or CertificateVerify message.",
    28: "Peer's public key does not have the proper type or is not allowed for the requested "
    "operation.",
    29: "Client did not send a certificate upon request, or the client certificate could not "
    "be validated.",
    31: "I/O error or premature close on transport stream.",
    33: "Invalid value in an ASN.1 structure.",
    34: "Truncated certificate or other ASN.1 object.",
    35: "Empty certificate chain (no certificate at all).",
    36: "Decoding error: inner element extends beyond outer element size.",
    37: "Decoding error: unsupported tag class (application or private).",
    38: "Decoding error: unsupported tag value.",
    39: "Decoding error: indefinite length.",
    40: "Decoding error: extraneous element.",
    41: "Decoding error: unexpected element.",
    42: "Decoding error: expected constructed element, but is primitive.",
    43: "Decoding error: expected primitive element, but is constructed.",
    44: "Decoding error: BIT STRING length is not multiple of 8.",
    45: "Decoding error: BOOLEAN value has invalid length.",
    46: "Decoding error: value is off-limits.",
    47: "Invalid distinguished name.",
    48: "Invalid date/time representation.",
    49: "Certificate contains unsupported features that cannot be ignored.",
    50: "Key or signature size exceeds internal limits.",
    51: "Key type does not match that which was expected.",
    52: "Signature is invalid.",
    53: "Validation time is unknown.",
    54: "Certificate is expired or not yet valid.",
    55: "Issuer/Subject DN mismatch in the chain.",
    56: "Expected server name was not found in the chain.",
    57: "Unknown critical extension in certificate.",
    58: "Not a CA, or path length constraint violation.",
    59: "Key Usage extension prohibits intended usage.",
    60: "Public key found in certificate is too small.",
    62: "Chain could not be linked to a trust anchor.",
}
_CODES_BY_TEXT = {text.rstrip("."): code for code, text in ERROR_TEXTS.items()}

# BR_ERR_X509_* -> the diagnosis's short codes. 54 covers both ends of the validity
# period; 53 means the board has no clock, whose fix is the not-yet-valid one (set it).
X509_CODES: dict[int, str] = {
    35: "bad_chain",
    49: "verify_error",
    50: "unsupported_key",
    51: "unsupported_key",
    52: "bad_signature",
    53: "not_yet_valid",
    54: "expired",
    55: "bad_chain",
    56: "hostname_mismatch",
    57: "verify_error",
    58: "bad_chain",
    59: "verify_error",
    60: "unsupported_key",
    62: "untrusted",
}

# Handshake message names as a debug build may print them (`BSSL:CLIENT_HELLO ...`).
HANDSHAKE_TYPES: dict[str, tuple[int, Direction | None]] = {
    "HELLO_REQUEST": (0, Direction.S2C),
    "CLIENT_HELLO": (1, Direction.C2S),
    "SERVER_HELLO": (2, Direction.S2C),
    "NEW_SESSION_TICKET": (4, Direction.S2C),
    "CERTIFICATE": (11, None),
    "SERVER_KEY_EXCHANGE": (12, Direction.S2C),
    "CERTIFICATE_REQUEST": (13, Direction.S2C),
    "SERVER_HELLO_DONE": (14, Direction.S2C),
    "CERTIFICATE_VERIFY": (15, Direction.C2S),
    "CLIENT_KEY_EXCHANGE": (16, Direction.C2S),
    "FINISHED": (20, None),
}


def error_fields(code: int | None) -> dict[str, Any]:
    """The normalised log_error fields of a BearSSL error number."""
    if code is None:
        return {}
    fields: dict[str, Any] = {"code": code}
    if code == OUT_OF_MEMORY:
        fields["oom"] = True
    elif BR_ERR_SEND_FATAL_ALERT <= code < BR_ERR_SEND_FATAL_ALERT + 256:
        fields["alert_sent"] = code - BR_ERR_SEND_FATAL_ALERT
    elif BR_ERR_RECV_FATAL_ALERT <= code < BR_ERR_RECV_FATAL_ALERT + 256:
        fields["alert_received"] = code - BR_ERR_RECV_FATAL_ALERT
    elif code in X509_CODES:
        fields["x509"] = X509_CODES[code]
    elif 33 <= code <= 48:
        fields["x509"] = "verify_error"  # the certificate could not even be decoded
    elif code == 6:
        fields["record_too_large"] = True
    elif code == 31:
        fields["eof"] = True
    elif code in (3, 4):
        fields["protocol_version"] = True
    elif code == 18:
        fields["mfln_mismatch"] = True
    if code in ERROR_TEXTS and "message" not in fields:
        fields["message"] = ERROR_TEXTS[code]
    return fields


def _text_fields(text: str) -> dict[str, Any]:
    """Fields of a getLastSSLError() text, with its number when the text names one."""
    clean = text.strip().strip("'\"").strip()
    code = _CODES_BY_TEXT.get(clean.rstrip("."))
    fields = error_fields(code)
    fields["message"] = clean
    if code is None and clean.startswith("Unknown error code"):
        # Alerts (256+n, 512+n) have no text of their own in getLastSSLError().
        fields["unknown_code"] = True
    return fields


_COULDNT = re.compile(r"Couldn't connect\. Error = '(.*)'?\s*$")
_STATE_NAME = re.compile(r"([A-Z][A-Z_]{3,})\b\s*(.*)$")
_FUNC = re.compile(r"(\w+): (.*?)\s*$")
_SSL_ERROR = re.compile(
    r"(?i)(?:last\s+)?(?:bear)?ssl[ _]?error(?:\s+(?:was|code|is))?\s*[:=]\s*"
    r"(-?\d+)?[\s:,-]*(.*?)\s*$"
)
_GET_LAST = re.compile(r"getLastSSLError\(?\)?\s*[:=]?\s*(-?\d+)?[\s:,-]*(.*?)\s*$")
_MFLN = re.compile(r"(?i)MFLN (supported|status|negotiated)\s*[:=]?\s*(\w+)")
_TRUTHY = frozenset({"yes", "true", "1", "ok", "supported"})


class BearsslParser:
    """Stateless: every BearSSL line says what it means on its own."""

    stack = STACK

    def parse(self, t: float, text: str) -> Event | None:
        s = text.lstrip()
        if s.startswith("BSSL:"):
            return self._bssl(t, text, s[5:].strip())
        c = s[:1]
        if c in "SsLlBbgG" and (m := _SSL_ERROR.match(s) or _GET_LAST.match(s)):
            code = int(m.group(1)) if m.group(1) else None
            fields = _text_fields(m.group(2)) if m.group(2) else {}
            if code is not None:
                fields = {**fields, **error_fields(code)}
                fields.setdefault("message", m.group(2) or ERROR_TEXTS.get(code, ""))
            return _ev(t, "log_error", text, None, **fields)
        if c in "MmPp" and "MFLN" in s and (m := _MFLN.search(s)):
            return _ev(
                t, "log_mfln", text, None, supported=m.group(2).lower() in _TRUTHY, what=m.group(1)
            )
        return None

    def _bssl(self, t: float, text: str, msg: str) -> Event:
        if msg.startswith("Couldn't connect"):
            m = _COULDNT.match(msg)
            fields = _text_fields(m.group(1)) if m else {"message": msg}
            return _ev(t, "log_error", text, None, handshake_failed=True, **fields)
        if msg.startswith("Connection *will* fail"):
            return _ev(t, "log_trust", text, None, method="none", message=msg)
        if msg.startswith("Connected!"):
            return _ev(
                t, "log_state", text, None, message=msg, handshake_type=None, step="connected"
            )
        if msg.startswith("CERT:"):
            return _ev(
                t, "log_cert", text, None, section="der", key="der_hex", value=msg[5:].strip()
            )
        if m := _STATE_NAME.match(msg):
            name = m.group(1)
            if name in HANDSHAKE_TYPES:
                number, direction = HANDSHAKE_TYPES[name]
                rest = m.group(2).lower()
                if direction is None:
                    received = any(w in rest for w in ("recv", "receiv", "read", "got"))
                    direction = Direction.S2C if received else Direction.C2S
                return _ev(t, "log_state", text, direction, message=name, handshake_type=number)
        m = _FUNC.match(msg)
        func, detail = (m.group(1), m.group(2)) if m else ("", msg)
        return self._function_line(t, text, func, detail, msg)

    def _function_line(self, t: float, text: str, func: str, detail: str, msg: str) -> Event:
        low = detail.lower()
        if func == "_connectSSL" and detail.startswith("start connection"):
            # Printed just before the ClientHello is built and sent.
            return _ev(
                t,
                "log_state",
                text,
                Direction.C2S,
                message=msg,
                handshake_type=1,
                step="connect",
            )
        if func == "_wait_for_handshake":
            return _ev(t, "log_error", text, None, message=msg, handshake_failed=True)
        if "timeout" in low:
            return _ev(t, "log_error", text, None, message=msg, timeout=True)
        if "oom" in low or "allocate" in low:
            return _ev(t, "log_error", text, None, message=msg, oom=True)
        if func.startswith("probeMaxFragmentLength"):
            return _ev(t, "log_mfln", text, None, supported=False, probe_failed=True, message=msg)
        if func == "insecure_end_chain":
            if "doesn't match" in detail:
                return _ev(
                    t,
                    "log_error",
                    text,
                    None,
                    message=msg,
                    x509="untrusted",
                    fingerprint_mismatch=True,
                )
            if detail.startswith(("expected", "received")):
                key, _, value = detail.partition(" ")
                return _ev(
                    t, "log_cert", text, None, section="fingerprint", key=key, value=value.strip()
                )
            return _ev(t, "log_error", text, None, message=msg, x509="untrusted")
        if func == "connect" and "name" in low:
            return _ev(t, "log_error", text, None, message=msg, dns_failed=True)
        if func == "connect" and "tcp" in low:
            return _ev(t, "log_error", text, None, message=msg, tcp_connect_failed=True)
        return _ev(t, "log_other", text, None, function=func, message=msg)


_ev = partial(stack_event, STACK)
