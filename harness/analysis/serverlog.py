"""server.log (JSON lines written by a server backend) -> events. Pure: layer 2.

Each line is one object with `t` (time.time()) and `event`; the other keys are
the event's fields. A line that is not such an object becomes a `server_other`
event carrying the line, so a damaged log still shows everything it holds.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from harness.model import Direction, Event, Source

_EVENT_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")

# Server facts that belong to one side of the conversation.
_DIRECTIONS = {
    "client_hello": Direction.C2S,
    "request": Direction.C2S,
    "response": Direction.S2C,
}


def parse_server_log(text: str) -> list[Event]:
    """Events of every non-blank line of `text`, in file order; never raises on content."""
    events: list[Event] = []
    last_t = 0.0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        event, problem = _parse_line(line)
        if event is None:
            events.append(
                Event(
                    t=last_t,  # no time of its own: keep it in place after its predecessor
                    source=Source.SERVER,
                    kind="server_other",
                    fields={"line_number": number, "problem": problem},
                    text=line,
                )
            )
            continue
        t, name, fields = event
        last_t = t
        if name == "alert":
            direction = Direction.S2C if fields.get("dir") == "sent" else Direction.C2S
        else:
            direction = _DIRECTIONS.get(name)
        events.append(
            Event(
                t=t,
                source=Source.SERVER,
                kind=f"server_{name}",
                direction=direction,
                fields=fields,
                text=line,
            )
        )
    return events


def _parse_line(line: str) -> tuple[tuple[float, str, dict[str, Any]] | None, str]:
    try:
        obj = json.loads(line)
    except ValueError as exc:
        return None, f"not JSON: {exc}"
    if not isinstance(obj, dict):
        return None, f"not a JSON object: {type(obj).__name__}"
    t = obj.get("t")
    if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t):
        return None, f"no usable 't': {t!r}"
    name = obj.get("event")
    if not isinstance(name, str) or not _EVENT_NAME.match(name):
        return None, f"no usable 'event': {name!r}"
    fields = {k: v for k, v in obj.items() if k not in ("t", "event")}
    return (float(t), name, fields), ""
