"""The pasted log beside the twin's (pure): which lines of the paste the twin printed too,
aligned side by side, with a similarity figure.

Only lines a stack or the sketch's connect prints are compared (TLS states, alerts,
errors, certificate dumps, trust and clock lines, the connect result): boot ROM, WiFi
and application chatter differ between a bench and a reporter's board and say nothing
about the failure. A line matches another when they are equal once numbers, addresses
and runs of blanks are masked (`Connecting to 192.168.1.210` = `Connecting to 127.0.0.1`).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from harness.model import Event, Source

COMPARED_KINDS = frozenset(
    {
        "log_state",
        "log_alert",
        "log_error",
        "log_cert",
        "log_trust",
        "log_cipher",
        "log_verify",
        "log_clock",
        "log_mfln",
        "connect_start",
        "connect_result",
    }
)
_IP = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b")
_HEXRUN = re.compile(r"\b(?:[0-9a-fA-F]{2}[ :]){3,}[0-9a-fA-F]{2}\b")
_NUMBER = re.compile(r"-?\d+")
_ARDUINO_PREFIX = re.compile(r"^\s*(?:\[\s*\d+\])?(\[[VDIWE]\]\[[^\]:]+):\d+\]")
_BLANKS = re.compile(r"\s+")
WIDTH = 58


def compared_lines(events: Iterable[Event]) -> list[str]:
    return [
        e.text.strip()
        for e in events
        if e.source is Source.SERIAL
        and e.kind in COMPARED_KINDS
        and e.text.strip()
        and not e.text.startswith("HIL:")
    ]


def normalise(line: str) -> str:
    line = _ARDUINO_PREFIX.sub(r"\1]", line)  # file:line numbers differ between releases
    line = _IP.sub("<ip>", line)
    line = _HEXRUN.sub("<hex>", line)
    line = _NUMBER.sub("<n>", line)
    return _BLANKS.sub(" ", line).strip().lower()


@dataclass(frozen=True)
class Comparison:
    similarity: float  # 0..1: 2 * matched / (pasted + twin), over the compared lines
    matched: int
    pasted: int  # compared lines of the paste
    twin: int
    rows: tuple[tuple[str, str, str], ...]  # (pasted line, mark, twin line); mark: = ~ < >

    def side_by_side(self, width: int = WIDTH) -> str:
        def cut(s: str) -> str:
            s = s.replace("\t", " ")
            return s if len(s) <= width else s[: width - 1] + "…"

        head = f"{'pasted log':<{width}}   twin"
        return "\n".join(
            [head] + [f"{cut(a):<{width}} {mark} {cut(b)}" for a, mark, b in self.rows]
        )

    def to_json(self) -> dict[str, object]:
        return {
            "similarity": round(self.similarity, 3),
            "matched": self.matched,
            "pasted_lines": self.pasted,
            "twin_lines": self.twin,
            "rows": [list(r) for r in self.rows],
        }


def compare(pasted: list[str], twin: list[str]) -> Comparison:
    a, b = [normalise(x) for x in pasted], [normalise(x) for x in twin]
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    rows: list[tuple[str, str, str]] = []
    matched = 0
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            matched += i2 - i1
            pairs = zip(range(i1, i2), range(j1, j2), strict=True)
            rows += [(pasted[i], "=", twin[j]) for i, j in pairs]
            continue
        left, right = pasted[i1:i2], twin[j1:j2]
        for k in range(max(len(left), len(right))):
            x = left[k] if k < len(left) else ""
            y = right[k] if k < len(right) else ""
            rows.append((x, "~" if x and y else ("<" if x else ">"), y))
    total = len(pasted) + len(twin)
    return Comparison(
        similarity=2 * matched / total if total else 0.0,
        matched=matched,
        pasted=len(pasted),
        twin=len(twin),
        rows=tuple(rows),
    )
