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
from harness.model import Direction, Event

STACK = "axtls"

# DISPLAY_ALERT's texts -> alert numbers (RFC 5246). axtls-8266 names only these.
ALERT_TEXTS: dict[str, int] = {
    "close notify": 0,
    "unexpected message": 10,
    "bad record mac": 20,
    "handshake failure": 40,
    "bad certificate": 42,
    "illegal parameter": 47,
    "decode error": 50,
    "decrypt error": 51,
    "invalid version": 70,
    "no renegotiation": 100,
    "unsupported extension": 110,
}

# x509_display_error's texts -> short codes used by the diagnosis.
X509_ERRORS: dict[str, str] = {
    "Cert is not yet valid": "not_yet_valid",
    "Cert has expired": "expired",
    "No trusted cert is available": "untrusted",
    "Cert is self-signed": "self_signed",
    "Bad signature": "bad_signature",
    "Basic constraint invalid": "basic_constraint",
    "Path length constraint invalid": "path_length",
    "Certificate verify error": "verify_error",
    "Unsupported key type": "unsupported_key",
    "Invalid key usage": "key_usage",
    "Invalid certificate chain": "bad_chain",
}

_STATE = re.compile(r"^(Error - invalid )?State:\s*(sending|receiving) (.+?) \((\d+)\)\s*$")
_ALERT = re.compile(r"^Alert: (?:alert - \(unknown (\d+)\)|(.+?))\s*$")
_SSL_ERROR = re.compile(r"^Error: SSL error (-?\d+)\s*$")
_ERROR = re.compile(r"^Error: (.+?)\s*$")
_CERT_HEADER = re.compile(r"^=== CERTIFICATE ISSUED (TO|BY) ===\s*$")
# Tabs in real output; a paste into an issue often collapsed them to spaces.
_CERT_FIELD = re.compile(r"^([A-Za-z][A-Za-z ]*(?:\([A-Z]+\))?):[\t ]+(.*?)\s*$")
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
            return self._ev(t, "log_error", text, message=message, x509=x509)
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
