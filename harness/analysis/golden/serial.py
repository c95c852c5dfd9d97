"""Serial lines and decrypted text with the bench-dependent words masked (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from harness.analysis.golden.masks import DATE_PATTERNS, TEXT_MASKS

DATE = "<date>"
PORT = "<port>"


@dataclass(frozen=True)
class MaskedLine:
    text: str  # with masks in place; dates as <date>
    dates: tuple[str, ...] = ()  # the dates that <date> stands for, in order
    masks: tuple[str, ...] = ()  # names of the masks that changed the line


def mask_text(text: str, server_port: int | None) -> tuple[str, tuple[str, ...]]:
    """`text` with every TEXT_MASKS rule and the server's port applied; names of the
    rules that changed it."""
    used = []
    for rule in TEXT_MASKS:
        text, n = rule.pattern.subn(rule.replacement, text)
        if n:
            used.append(rule.name)
    if server_port:
        text, n = re.subn(rf"(?<![\d.]){int(server_port)}(?!\d)", PORT, text)
        if n:
            used.append("server port")
    return text, tuple(used)


def mask_line(line: str, server_port: int | None) -> MaskedLine:
    dates: list[str] = []
    used: list[str] = []

    def keep(m: re.Match[str]) -> str:
        dates.append(m.group(0))
        return DATE

    for pattern in DATE_PATTERNS:
        line = pattern.sub(keep, line)
    if dates:
        used.append("certificate dates")
    text, names = mask_text(line, server_port)
    return MaskedLine(text, tuple(dates), (*used, *names))


def parse_date(text: str) -> datetime | None:
    for fmt in ("%a %b %d %H:%M:%S %Y", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(" ".join(text.split()) if "-" not in text else text, fmt)
        except ValueError:
            continue
    return None


def dates_match(expected: str, got: str, shift_days: int) -> bool:
    """Equal, or `got` later by the days between the recordings (a plan dated from
    the day of issue moves with it)."""
    if expected == got:
        return True
    a, b = parse_date(expected), parse_date(got)
    if a is None or b is None:
        return False
    return (b - a).total_seconds() == shift_days * 86400
