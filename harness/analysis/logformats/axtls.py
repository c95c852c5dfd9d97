"""axTLS debug output (ESP8266 Arduino core 2.3/2.4) -> events.

The formats are those of igrr/axtls-8266 `ssl/tls1.c` (DISPLAY_STATE,
DISPLAY_ALERT, ssl_display_error) and `ssl/x509.c` (x509_print,
x509_display_error), as quoted in shared/reference/tls-stacks.md.

axTLS prints `Alert:` for alerts it receives *and* sends; it tells them apart
only by context: `send_alert()` calls `ssl_display_error()` first, so an alert
line right after an `Error:` line is one the board sent.
"""

from __future__ import annotations

import re
from typing import Any

from harness.analysis.logformats.lines import stack_event
from harness.analysis.messages import catalogue
from harness.model import Direction, Event

STACK = "axtls"

# The message catalogue's axTLS entries (harness/analysis/messages/axtls.toml: igrr/axtls-8266
# 24af415, what cores 2.4.0-2.4.2 ship).
_CATALOGUE = catalogue()
# DISPLAY_ALERT's texts -> alert numbers; others print as `alert - (unknown N)`.
ALERT_TEXTS: dict[str, int] = {
    m.text.removeprefix("Alert: "): m.alert
    for m in _CATALOGUE.stack("axtls", "alert")
    if m.alert is not None
}
# x509_display_error's names -> the diagnosis's short codes.
_X509_SHORT = {
    "X509_VFY_ERROR_NO_TRUSTED_CERT": "untrusted",
    "X509_VFY_ERROR_BAD_SIGNATURE": "bad_signature",
    "X509_VFY_ERROR_NOT_YET_VALID": "not_yet_valid",
    "X509_VFY_ERROR_EXPIRED": "expired",
    "X509_VFY_ERROR_SELF_SIGNED": "self_signed",
    "X509_VFY_ERROR_INVALID_CHAIN": "bad_chain",
    "X509_VFY_ERROR_UNSUPPORTED_DIGEST": "unsupported_digest",
    "X509_VFY_ERROR_BASIC_CONSTRAINT": "basic_constraint",
    "X509_INVALID_PRIV_KEY": "invalid_key",
}
# `Error: <text>` lines (ssl_display_error, x509_display_error) -> their catalogue entries.
_ERROR_MESSAGES = {
    m.text.removeprefix("Error: "): m
    for m in _CATALOGUE.stack("axtls", "error_code")
    if m.text.startswith("Error: ")
}
X509_ERRORS: dict[str, str] = {
    text: _X509_SHORT[m.name] for text, m in _ERROR_MESSAGES.items() if m.name in _X509_SHORT
}

_STATE = re.compile(r"^(Error - invalid )?State:\s*(sending|receiving) (.+?) \((\d+)\)\s*$")
_ALERT = re.compile(r"^Alert: (?:alert - \(unknown (\d+)\)|(.+?))\s*$")
_SSL_ERROR = re.compile(r"^Error: SSL error (-?\d+)\s*$")
_ERROR = re.compile(r"^Error: (.+?)\s*$")
_CERT_HEADER = re.compile(r"^=== CERTIFICATE ISSUED (TO|BY) ===\s*$")
# Tabs in real output; a paste into an issue often collapsed them to spaces, or dropped
# the one tab after the longest label ("Organizational Unit (OU):MIS" in esp8266 #4826).
# Only the labels of CERT_LABELS count, and only inside a dump.
_CERT_FIELD = re.compile(r"^([A-Za-z][A-Za-z ]*(?:\([A-Z]+\))?):[\t ]*(.*?)\s*$")
_VERIFY = re.compile(r"^Verify:\s*(.*?)\s*$")

CERT_LABELS = {
    "Common Name (CN)": "CN",
    "Organization (O)": "O",
    "Organizational Unit (OU)": "OU",
    "Location (L)": "L",
    "Country (C)": "C",
    "State (ST)": "ST",
    "Basic Constraints": "basic_constraints",
    "Key Usage": "key_usage",
    "Subject Alt Name": "san",
    "Not Before": "not_before",
    "Not After": "not_after",
    "RSA bitsize": "rsa_bits",
    "Sig Type": "sig_type",
}


class AxtlsParser:
    """Stateful: an alert's direction and a dump line's section depend on earlier lines."""

    stack = STACK

    def __init__(self) -> None:
        self._prev_kind = ""
        self._cert_section = ""

    def parse(self, t: float, text: str) -> Event | None:
        """The event for one line, or None when the line is not axTLS output."""
        event = self._match(t, text)
        if event is not None:
            self._prev_kind = event.kind
            if event.kind != "log_cert":
                self._cert_section = ""
        return event

    def _ev(self, t: float, kind: str, text: str, direction=None, **fields: Any) -> Event:
        return stack_event(STACK, t, kind, text, direction, **fields)

    def _match(self, t: float, text: str) -> Event | None:
        if m := _STATE.match(text):
            invalid, way, name, num = m.groups()
            direction = Direction.C2S if way == "sending" else Direction.S2C
            return self._ev(
                t,
                "log_state",
                text,
                direction,
                message=name,
                handshake_type=int(num),
                invalid=bool(invalid),
            )
        if m := _ALERT.match(text):
            unknown, name = m.groups()
            number = int(unknown) if unknown else ALERT_TEXTS.get(name or "")
            # send_alert() prints the error before the alert it sends.
            sent = self._prev_kind == "log_error"
            direction = Direction.C2S if sent else Direction.S2C
            return self._ev(
                t,
                "log_alert",
                text,
                direction,
                description=number,
                name=(name or f"unknown {unknown}").replace(" ", "_"),
                sent_by_board=sent,
            )
        if m := _SSL_ERROR.match(text):
            code = int(m.group(1))
            return self._ev(t, "log_error", text, code=-abs(code), alert=abs(code))
        if m := _ERROR.match(text):
            message = m.group(1)
            x509 = X509_ERRORS.get(message)
            known = _ERROR_MESSAGES.get(message)
            extra = known.fields() if known is not None else {}
            return self._ev(t, "log_error", text, message=message, x509=x509, **extra)
        if m := _CERT_HEADER.match(text):
            self._cert_section = "subject" if m.group(1) == "TO" else "issuer"
            return self._ev(t, "log_cert", text, section=self._cert_section, header=True)
        if self._cert_section and (m := _CERT_FIELD.match(text)):
            label, value = m.groups()
            key = CERT_LABELS.get(label.strip())
            if key is not None:
                return self._ev(
                    t, "log_cert", text, section=self._cert_section, key=key, value=value
                )
        if self._cert_section and (m := _VERIFY.match(text)):
            return self._ev(t, "log_cert", text, section="verify", key="verify", value=m.group(1))
        return None
