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
from harness.analysis.messages import catalogue
from harness.model import Direction, Event

STACK = "bearssl"

BR_ERR_RECV_FATAL_ALERT = 256
BR_ERR_SEND_FATAL_ALERT = 512
OUT_OF_MEMORY = -1000

# getLastSSLError()'s texts by BearSSL error number, from the message catalogue (the cores'
# own tables, harness/analysis/messages/bearssl.toml).
_CATALOGUE = catalogue()
ERROR_TEXTS: dict[int, str] = {
    m.code: m.text
    for m in _CATALOGUE.stack("bearssl", "error_code")
    if m.code is not None and m.stack == "bearssl" and m.name != "default"
}
_UNKNOWN_TEXT = _CATALOGUE.by_id["bearssl.error.unknown"].text
_MESSAGES_BY_CODE = {
    m.code: m for m in _CATALOGUE.stack("bearssl", "error_code") if m.stack == "bearssl"
}
_CODES_BY_TEXT = {
    text.rstrip("."): code
    for code, text in ERROR_TEXTS.items()
    if text != _UNKNOWN_TEXT and code not in (0, 32)
}
_ALERTS = {(m.extra["direction"], m.alert): m for m in _CATALOGUE.stack("bearssl", "alert")}
# Core 3.x prefixes an alert's text with these, then prints the text of the unrelated BR_ERR
# code equal to the alert number (catalogue: bearssl.alert_prefix.*).
_RECV_PREFIX = _CATALOGUE.by_id["bearssl.alert_prefix.recv"].text
_SEND_PREFIX = _CATALOGUE.by_id["bearssl.alert_prefix.send"].text
# Alert numbers that are also X.509 error numbers: on core 3.x a bare number among these
# is either, so it names no cause without its text.
_TLS_ALERTS = frozenset(
    {
        0,
        10,
        20,
        21,
        22,
        30,
        40,
        41,
        42,
        43,
        44,
        45,
        46,
        47,
        48,
        49,
        50,
        51,
        60,
        70,
        71,
        80,
        86,
        90,
        100,
        109,
        110,
        111,
        112,
        113,
        114,
        115,
        116,
        120,
    }
)
# Debug lines that name a cause, found anywhere in a line (other libraries print BearSSL's
# lines behind their own prefixes: `SSL: Connection *will* fail...`, `(SSLClient)...`).
_DEBUG_CAUSES = tuple(
    (m.text.removeprefix("BSSL:"), m)
    for m in _CATALOGUE.stack("bearssl", "debug_line")
    if m.names_cause and "%" not in m.text
)
_TEXT_ANYWHERE = re.compile(
    "|".join(sorted((re.escape(t) for t in _CODES_BY_TEXT if len(t) > 12), key=len, reverse=True))
)

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


def error_fields(code: int | None, *, ambiguous_alert: bool = False) -> dict[str, Any]:
    """The normalised log_error fields of a BearSSL error number (as getLastSSLError() of
    cores 2.5.x-2.7.x returns it: 256+n / 512+n for alerts). `ambiguous_alert`: the number
    came without its text from a core that may be 3.x, where alert n returns n."""
    if code is None:
        return {}
    fields: dict[str, Any] = {"code": code}
    if ambiguous_alert and code in _TLS_ALERTS and code in ERROR_TEXTS:
        fields["ambiguous"] = True
        fields["message"] = (
            f"{code}: on core 3.x a received alert {code} also returns {code}; without its text "
            "the number names no cause"
        )
        return fields
    message = _MESSAGES_BY_CODE.get(code)
    if BR_ERR_RECV_FATAL_ALERT <= code < BR_ERR_SEND_FATAL_ALERT + 256 and code not in (256, 512):
        way = "sent" if code >= BR_ERR_SEND_FATAL_ALERT else "received"
        message = _ALERTS.get((way, code % 256))
    if message is not None:
        fields.update(message.fields())
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


def alert_text_fields(text: str) -> dict[str, Any] | None:
    """Fields of core 3.x's 'SSL received fatal alert - <text of BR_ERR n>': alert n."""
    for prefix, base in (
        (_RECV_PREFIX, BR_ERR_RECV_FATAL_ALERT),
        (_SEND_PREFIX, BR_ERR_SEND_FATAL_ALERT),
    ):
        if text.startswith(prefix):
            rest = text[len(prefix) :].strip().rstrip(".")
            n = _CODES_BY_TEXT.get(rest)
            if n is None:
                # 'Unknown error code.': an alert number with no BR_ERR of the same value.
                return {"message": text, "alert_unnamed": True}
            return {**error_fields(base + n), "message": text}
    return None


def _text_fields(text: str) -> dict[str, Any]:
    """Fields of a getLastSSLError() text, with its number when the text names one."""
    clean = text.strip().strip("'\"").strip()
    alert = alert_text_fields(clean)
    if alert is not None:
        return alert
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
    r"(?i)\b(?:last\s+)?(?:bear)?ssl[ _]?error(?:\s+(?:was|code|is))?\s*[:=]\s*"
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
        if "SSL" in s or "ssl" in s:
            if m := _SSL_ERROR.search(s) or _GET_LAST.search(s):
                code = int(m.group(1)) if m.group(1) else None
                said = m.group(2).split("//")[0].strip() if m.group(2) else ""
                fields = _text_fields(said) if said else {}
                if code is not None:
                    # A bare number from a sketch: on core 3.x alert n returns n, so a number
                    # that is both an alert and an X.509 code names nothing without its text.
                    numbered = error_fields(code, ambiguous_alert=not said)
                    fields = (
                        {**numbered, **fields} if fields.get("code") else {**fields, **numbered}
                    )
                    fields.setdefault("message", said or ERROR_TEXTS.get(code, ""))
                return _ev(t, "log_error", text, None, **fields)
            for said, message in _DEBUG_CAUSES:
                if said in s:
                    return _ev(t, "log_error", text, None, message=said, **message.fields())
            if m := _TEXT_ANYWHERE.search(s):
                return _ev(t, "log_error", text, None, **_text_fields(m.group(0)))
        c = s[:1]
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
        for said, message in _DEBUG_CAUSES:
            if msg.startswith(said):
                return _ev(t, "log_error", text, None, message=msg, **message.fields())
        return _ev(t, "log_other", text, None, function=func, message=msg)


_ev = partial(stack_event, STACK)
