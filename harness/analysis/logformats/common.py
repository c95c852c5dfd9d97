"""Lines any of our sketches print, whatever the TLS stack: the `HIL:` protocol and the
sketch's own messages that reporters' sketches print too."""

from __future__ import annotations

import re

from harness.analysis.logformats.lines import serial_event
from harness.model import Event

_BOOT = re.compile(r"HIL:BOOT build=(\S+)")
_DONE = re.compile(r"HIL:DONE((?: \w+=\S+)*)")
_REFUSED = re.compile(r"HIL:REFUSED (\S+?):? (.*)")
_CONNECTING = re.compile(r"^\.*Connecting to (\S+)")
_FAILED = re.compile(r"^\.*(Connection failed|connection failed)")
_SNTP = re.compile(r"please start sntp first")
# Libraries' and examples' own words around connect() (harness/analysis/diagnose/priors.py
# reads what their sources tell of the connection): arduino-esp32's WiFiClientSecure
# example and Universal-Arduino-Telegram-Bot before it, then the latter's and CTBot's
# failures, and the ESP8266 HTTPSRequest example's fingerprint before setFingerprint().
_STARTING = re.compile(r"^(?:Starting connection to server\.\.\.|\[BOT\]Connecting to server)\s*$")
_LIBRARY_FAILED = re.compile(
    r"^(?:\[BOT\]Conection error|(?:--->connect: )?Unable to connect to Telegram server)"
)
_USING_FINGERPRINT = re.compile(
    r"^(?:\[=\] )?Using fingerprint '?[0-9A-Fa-f]{2}[ :]?[0-9A-Fa-f]{2}"
)
# A sketch's own word that it skips the certificate check (`client.setInsecure()` and
# what sketches print about it): the trust set-up, which a bare error does not show.
_INSECURE = re.compile(r"(?i)\binsecure\b|setInsecure")
# What our sketches (and many reporters') print after connect(): the chain check, the
# request written, the response's status line. The timeline needs them as facts: each
# depends on packets (the server's Finished, the response).
_VERIFIED = re.compile(r"^(Server certificate verified|ERROR: certificate verification failed)")
_REQUEST_SENT = re.compile(r"^request sent\s*$")
_STATUS = re.compile(r"^status: ?(.*)$")


def parse(t: float, text: str) -> Event | None:
    def ev(kind: str, **fields: object) -> Event:
        return serial_event(t, kind, text, None, fields)

    if m := _BOOT.search(text):
        return ev("boot", build=m.group(1))
    if m := _DONE.search(text):
        pairs = dict(p.split("=", 1) for p in m.group(1).split())
        if "connected" not in pairs:
            # The harness's frame of a user's sketch (after setup() returned): the end of
            # setup, not the sketch's word on the connection (the stack and wire say that).
            return ev("setup_done")
        return ev(
            "connect_result",
            connected=pairs.get("connected") == "1",
            verified=pairs.get("verified") == "1",
            final=True,
        )
    if m := _REFUSED.search(text):
        return ev("log_error", refused=m.group(1), message=m.group(2))
    if m := _CONNECTING.match(text):
        return ev("connect_start", host=m.group(1))
    if _FAILED.match(text) or _LIBRARY_FAILED.match(text):
        return ev("connect_result", connected=False, final=False)
    if _STARTING.match(text):
        return ev("connect_start", host=None)
    if _USING_FINGERPRINT.match(text):
        return ev("log_trust", method="fingerprint", said_by="sketch")
    if _SNTP.search(text):
        return ev("log_clock", message="clock not set")
    if _INSECURE.search(text):
        return ev("log_trust", method="insecure", said_by="sketch")
    if m := _VERIFIED.match(text):
        return ev("log_verify", verified=m.group(1).startswith("Server"))
    if _REQUEST_SENT.match(text):
        return ev("log_request")
    if m := _STATUS.match(text):
        return ev("log_http_status", status=m.group(1).strip())
    return None
