"""The run as a Mermaid sequence diagram, which GitHub renders inside `timeline.md`.

Packets are messages between Board and Server, Serial lines notes over the board,
server log lines notes over the server. Pure: a RunRecord in, Mermaid text out.
"""

from __future__ import annotations

import re

from harness.analysis.describe import describe
from harness.model import Direction, Event, RunRecord, Source

_LIMIT = 90  # characters of one message or note; timeline.md's table has them whole
# Characters Mermaid reads as syntax inside a message; written as its entity codes.
_ENTITY = {";": "#59;", "#": "#35;", "<": "#lt;", ">": "#gt;", ":": "#58;"}
_SPECIAL = re.compile("[;#<>:]")


def _text(s: str) -> str:
    s = " ".join(s.split())
    if len(s) > _LIMIT:
        s = s[: _LIMIT - 3] + "..."
    return _SPECIAL.sub(lambda m: _ENTITY[m.group(0)], s)


def _line(e: Event) -> str:
    if e.source is Source.WIRE:
        arrow = "-x" if e.kind in ("alert", "tcp_rst") else "->>"
        a, b = ("Board", "Server") if e.direction is Direction.C2S else ("Server", "Board")
        return f"    {a}{arrow}{b}: {_text(describe(e))}"
    if e.source is Source.SERIAL:
        return f"    Note left of Board: {_text(e.text or describe(e))}"
    return f"    Note right of Server: {_text(describe(e))}"


def sequence_diagram(record: RunRecord) -> str:
    """A fenced ```mermaid block; a certificate dump is one note, not twenty."""
    out = ["```mermaid", "sequenceDiagram", "    participant Board", "    participant Server"]
    dump = 0
    for e in record.timeline.events:
        if e.source is Source.SERIAL and e.kind == "log_cert":
            dump += 1
            continue
        if dump:
            out.append(f"    Note left of Board: certificate dump ({dump} lines)")
            dump = 0
        out.append(_line(e))
    if dump:
        out.append(f"    Note left of Board: certificate dump ({dump} lines)")
    out.append("```")
    return "\n".join(out)
