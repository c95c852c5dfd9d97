"""Serial lines as text: the `serial.log` format and logs pasted into issues."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Line:
    t: float  # host wall-clock time of the line's first byte (or a sequence number)
    text: str


def read_serial_log(text: str) -> list[Line]:
    """Lines of a `serial.log` written by SerialMonitor (`<epoch>\\t<line>`)."""
    out = []
    for raw in text.splitlines():
        stamp, sep, line = raw.partition("\t")
        try:
            t = float(stamp)
        except ValueError:
            continue
        if sep:
            out.append(Line(t, line))
    return out


_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
# Arduino IDE serial monitor "Show timestamp": `12:34:56.789 -> text`.
_MONITOR_STAMP = re.compile(r"^(\d{1,2}):(\d{2}):(\d{2})\.(\d{3}) -> ?")
_FENCE = re.compile(r"^\s*(```|~~~)")

# Lines of a paste without stamps are spaced this far apart so they keep their order.
PASTE_STEP = 0.001


def read_pasted_log(text: str) -> list[Line]:
    """Lines of a log as pasted into an issue: CRLF, ANSI colours, markdown fences and
    serial-monitor timestamps are tolerated; the line order is kept."""
    out: list[Line] = []
    for i, raw in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n")):
        line = _ANSI.sub("", raw)
        if _FENCE.match(line):
            continue
        t = i * PASTE_STEP
        m = _MONITOR_STAMP.match(line)
        if m:
            h, mi, s, ms = (int(g) for g in m.groups())
            t = h * 3600 + mi * 60 + s + ms / 1000
            line = line[m.end() :]
        out.append(Line(t, line))
    while out and not out[-1].text.strip():
        out.pop()
    return out
