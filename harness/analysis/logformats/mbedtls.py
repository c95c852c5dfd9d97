"""arduino-esp32 mbedTLS output (`ssl_client.cpp`, `WiFiClientSecure.cpp`, later
`NetworkClientSecure.cpp`) -> events.

Line shapes: the esp32-hal log macro `[L][file:line] func(): message` (core 1.x) and
`[  ms][L][file:line] func(): message` (core 2.x+), at every level V/D/I/W/E; errors
go through `_handle_error()` as `[start_ssl_client():273]: (-9984) X509 - ...`
(mbedtls_strerror's text). ESP-IDF `E (ms) esp-tls-mbedtls: ... returned -0x2700` lines
are read too. A log line pasted behind a sketch's own text without a newline
(`[WS-Client] setting CA certificate[E][ssl_client.cpp:45] ...`) is still found.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Any

from harness.analysis.logformats.lines import stack_event
from harness.analysis.messages import catalogue, format_regex
from harness.model import Direction, Event

STACK = "mbedtls"

# mbedTLS error numbers -> the normalised log_error fields (mbedtls/ssl.h, x509.h, net.h).
ERROR_FIELDS: dict[int, dict[str, Any]] = {
    -0x7780: {"fatal_alert": "received"},  # -30592 SSL_FATAL_ALERT_MESSAGE
    # -0x2700 X509_CERT_VERIFY_FAILED has no field here: alone it is only the likely reading
    # (catalogue: untrusted_cert, 'likely'); the verification info line, when there, says why.
    -0x7F00: {"oom": True},  # -32512 SSL_ALLOC_FAILED
    -0x2880: {"oom": True},  # -10368 X509_ALLOC_FAILED
    -0x3F80: {"oom": True},  # -16256 PK_ALLOC_FAILED
    -0x7280: {"eof": True},  # -29312 SSL_CONN_EOF
    -0x7880: {"eof": True, "close_notify": True},  # -30848 SSL_PEER_CLOSE_NOTIFY
    -0x6A00: {"record_too_large": True},  # -27136 SSL_BUFFER_TOO_SMALL
    -0x6800: {"timeout": True},  # -26624 SSL_TIMEOUT
    -0x6E80: {"protocol_version": True},  # -28288 SSL_BAD_HS_PROTOCOL_VERSION
    -0x7680: {"no_trust": True},  # -30336 SSL_CA_CHAIN_REQUIRED
    -0x0052: {"dns_failed": True},  # -82 NET_UNKNOWN_HOST
    -0x0044: {"tcp_connect_failed": True},  # -68 NET_CONNECT_FAILED
    -0x0050: {"eof": True, "reset": True},  # -80 NET_CONN_RESET
}

_CATALOGUE = catalogue()
# mbedtls_x509_crt_verify_info() texts (catalogue: mbedtls.verify.*) -> the diagnosis's codes.
_VERIFY_SHORT = {
    "MBEDTLS_X509_BADCERT_EXPIRED": "expired",
    "MBEDTLS_X509_BADCERT_FUTURE": "not_yet_valid",
    "MBEDTLS_X509_BADCERT_CN_MISMATCH": "hostname_mismatch",
    "MBEDTLS_X509_BADCERT_NOT_TRUSTED": "untrusted",
    "MBEDTLS_X509_BADCERT_MISSING": "bad_chain",
    "MBEDTLS_X509_BADCERT_BAD_KEY": "unsupported_key",
    "MBEDTLS_X509_BADCERT_BAD_PK": "unsupported_key",
    "MBEDTLS_X509_BADCERT_BAD_MD": "unsupported_hash",
}
VERIFY_INFO: tuple[tuple[str, str], ...] = tuple(
    (m.text, _VERIFY_SHORT.get(m.name, "verify_error"))
    for m in _CATALOGUE.stack("mbedtls", "verify_info")
)
# mbedtls_strerror texts ("SSL - ...", "X509 - ...") by module, to find them anywhere in a line.
_STRERROR: dict[str, list[tuple[str, int]]] = {}
for _m in _CATALOGUE.stack("mbedtls", "error_code"):
    if _m.stack == "mbedtls" and " - " in _m.text and _m.code is not None:
        _STRERROR.setdefault(_m.text.split(" - ", 1)[0], []).append((_m.text, _m.code))
_MODULE = re.compile(r"\b([A-Z][A-Z0-9_]{1,12}) - ")
# arduino-esp32 and ESP-IDF log lines that name a cause (catalogue: arduino_esp32.toml).
_LINES = tuple(
    (format_regex(m.text), m) for m in _CATALOGUE.messages if m.kind == "log_line" and m.names_cause
)

# ssl_client.cpp's verbose steps of start_ssl_client().
STEPS: tuple[tuple[str, str], ...] = (
    ("Starting socket", "socket"),
    ("Seeding the random number generator", "seed_rng"),
    ("Setting up the SSL/TLS structure", "setup"),
    ("Loading CA cert", "load_ca"),
    ("Loading CA certificate", "load_ca"),
    ("Attaching root CA cert bundle", "load_ca"),
    ("Loading CRT cert", "load_cert"),
    ("Loading private key", "load_key"),
    ("Setting up PSK", "psk"),
    ("Setting hostname for TLS session", "set_hostname"),
    ("Performing the SSL/TLS handshake", "handshake"),
    ("Verifying peer X.509 certificate", "verify"),
    ("Certificate verified", "verified"),
    ("Cleaning SSL connection", "cleanup"),
    ("Record expansion is", "record_expansion"),
)

_TLS_FILES = (
    "ssl_client",
    "WiFiClientSecure",
    "NetworkClientSecure",
    "SSLClient",
    "esp_crt_bundle",
)
# The message is the rest of the line (rstripped by _arduino): a lazy `(.*?)\s*$` tried
# the end at every character, half the parse of a line no memo has seen.
_ARDUINO = re.compile(r"(?:\[\s*(\d+)\])?\[([VDIWE])\]\[([^\]:]+):(\d+)\]\s*([\w:~]*)\(\):\s?(.*)$")
_HANDLE = re.compile(r"(?:\[(\w+)\(\):(\d+)\]:\s*)?\((-?\d+)\)\s*(.*)$")
_START_FAILED = re.compile(r"start_ssl_client:\s*(-?\d+)")
_CIPHER = re.compile(r"Protocol is (\S+)\s+Ciphersuite is (\S+)")
_HEAP = re.compile(r"Free internal heap (before|after) TLS\s+(\d+)")
_IDF = re.compile(r"([EWIDV]) \((\d+)\) ([\w-]+): (.*?)\s*$")
# Glued behind other text too ("...MAC: 08:B6:1F:3B:F4:60E (11895) esp-tls-mbedtls: ...").
_IDF_ANY = re.compile(r"(?<![A-Za-z])([EWIDV]) \((\d+)\) ([\w-]+): (.*?)\s*$")
_HEX_CODE = re.compile(r"-0x([0-9a-fA-F]{2,5})\b")
_OLD = re.compile(r"MbedTLS (?:error|message code):\s*(-?\d+)")
_RETURNED = re.compile(r"returned (-\d+)\b")


def error_fields(code: int) -> dict[str, Any]:
    message = _CATALOGUE.get(f"mbedtls.error.{code}")
    known = message.fields() if message is not None else {}
    return {"code": code, **ERROR_FIELDS.get(code, {}), **known}


def _common(a: str, b: str) -> int:
    """Characters two strings share from their start."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def verify_info(message: str) -> str | None:
    """The short code of a verification info text, also when a paste cut it short."""
    for needle, short in VERIFY_INFO:
        if needle in message:
            return short
    tail = message.rsplit("!", 1)[-1].strip()
    best = max(VERIFY_INFO, key=lambda v: _common(tail, v[0]))
    if len(tail) >= 30 and _common(tail, best[0]) >= len(tail) - 2:
        return best[1]  # the text as far as it goes, bar the paste's last character or two
    return None


def strerror_fields(line: str) -> dict[str, Any] | None:
    """Fields of an mbedtls_strerror text found anywhere in a line ("BIGNUM - Memory
    allocation failed", "Last error was: -29184 - SSL - An invalid SSL record ...")."""
    for m in _MODULE.finditer(line):
        for text, code in _STRERROR.get(m.group(1), ()):
            if line.startswith(text, m.start()):
                return {**error_fields(code), "message": text}
    return None


def line_fields(message: str) -> dict[str, Any] | None:
    """Fields of an arduino-esp32 or ESP-IDF line the catalogue says names a cause."""
    for rx, m in _LINES:
        if rx.search(message):
            return {"message": message, **m.fields()}
    return None


class MbedtlsParser:
    """Stateless: every line carries its level, file and function."""

    stack = STACK

    def parse(self, t: float, text: str) -> Event | None:
        s = text.lstrip()
        c = s[:1]
        if c == "[" or "][" in s:
            m = _ARDUINO.match(s) if c == "[" else None
            if m is None and "][" in s:
                m = _ARDUINO.search(s)
            if m is not None:
                return self._arduino(t, text, m)
            # An ESP-IDF line behind another tool's prefix (ESPHome: `[D][esp-idf:000][task]: E
            # (433556) esp-tls: ...`).
            if (m := _IDF_ANY.search(s)) is not None:
                return self._idf(t, text, m)
            return None
        if c == "!":
            info = verify_info(s)
            if info:
                return _ev(t, "log_error", text, None, x509=info, message=s.lstrip("! "))
            if m := _RETURNED.search(s):
                return _ev(t, "log_error", text, None, message=s, **error_fields(int(m.group(1))))
            return None
        if c in "EWIDV" and s[1:3] == " (" and (m := _IDF.match(s)):
            return self._idf(t, text, m)
        if c == "M" and (m := _OLD.match(s)):
            return _ev(t, "log_error", text, None, message=s, **error_fields(int(m.group(1))))
        if " - " in s and (fields := strerror_fields(s)) is not None:
            return _ev(t, "log_error", text, None, **fields)
        if "esp-" in s and (m := _IDF_ANY.search(s)) is not None:
            return self._idf(t, text, m)
        return None

    def _arduino(self, t: float, text: str, m: re.Match[str]) -> Event | None:
        _ms, level, file, _line, func, message = m.groups()
        if not file.startswith(_TLS_FILES):
            return None
        message = message.rstrip()  # what `\s*$` left out of the message
        if func.endswith("handle_error") and (h := _HANDLE.match(message)):
            where, _where_line, code, what = h.groups()
            fields = error_fields(int(code))
            return _ev(t, "log_error", text, None, message=what, where=where, level=level, **fields)
        if (f := _START_FAILED.search(message)) is not None:
            fields = error_fields(int(f.group(1)))
            return _ev(
                t, "log_error", text, None, message=message, where=func, level=level, **fields
            )
        if (h := _HEAP.search(message)) is not None:
            return _ev(
                t,
                "log_heap",
                text,
                None,
                free=int(h.group(2)),
                when=f"{h.group(1)}_tls",
            )
        if (cipher := _CIPHER.search(message)) is not None:
            return _ev(t, "log_cipher", text, None, protocol=cipher.group(1), suite=cipher.group(2))
        for needle, step in STEPS:
            if message.startswith(needle):
                if step == "handshake":
                    # Printed right before mbedtls_ssl_handshake() writes the ClientHello.
                    return _ev(
                        t,
                        "log_state",
                        text,
                        Direction.C2S,
                        message=message,
                        handshake_type=1,
                        step=step,
                    )
                return _ev(
                    t, "log_state", text, None, message=message, handshake_type=None, step=step
                )
        if message.startswith("WARNING: Skipping SSL Verification"):
            # setInsecure() (1.0.6 ssl_client.cpp:127, log_i; log_d in 2.0.x).
            return _ev(t, "log_trust", text, None, method="insecure", message=message)
        if level in "EWI" and (known := line_fields(message)) is not None:
            return _ev(t, "log_error", text, None, level=level, where=func, **known)
        if "verify peer certificate" in message or "verification info" in message:
            return _ev(
                t,
                "log_error",
                text,
                None,
                message=message,
                level=level,
                x509=verify_info(message) or "verify_error",
            )
        if level in "EW":
            fields: dict[str, Any] = {"message": message, "level": level, "where": func}
            low = message.lower()
            if "timeout" in low or "timed out" in low:
                fields["timeout"] = True
            if "connect to server failed" in low:
                fields["tcp_connect_failed"] = True
            if "no authentication" in low or "root_ca is null" in low or "no ca" in low:
                return _ev(t, "log_trust", text, None, method="none", message=message)
            return _ev(t, "log_error", text, None, **fields)
        return _ev(t, "log_other", text, None, level=level, function=func, message=message)

    def _idf(self, t: float, text: str, m: re.Match[str]) -> Event | None:
        level, _ms, tag, message = m.groups()
        if not (
            tag.startswith(("esp-tls", "mbedtls", "esp_https", "esp-x509-crt-bundle"))
            or tag == "HTTP_CLIENT"
        ):
            return None
        if level in "EWI" and (info := verify_info(message)):
            return _ev(t, "log_error", text, None, message=message, level=level, x509=info)
        if level in "EW":
            fields: dict[str, Any] = {"message": message, "level": level, "where": tag}
            if (known := line_fields(message)) is not None:
                fields.update(known)
                if known.get("cause") == "no_trust_method":
                    fields["no_trust"] = True
                if known.get("cause") == "dns_failed":
                    fields["dns_failed"] = True
            if hx := _HEX_CODE.search(message):
                fields.update(error_fields(-int(hx.group(1), 16)))
            return _ev(t, "log_error", text, None, **fields)
        return _ev(t, "log_other", text, None, level=level, function=tag, message=message)


_ev = partial(stack_event, STACK)
