"""Serial lines -> events, one parser module per TLS stack.

A line no parser knows becomes a `log_other` event: nothing is dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from harness.errors import ConfigError
from harness.logformats import axtls, common
from harness.logformats.lines import Line
from harness.model import Event, Source

# Stack name -> parser factory; each parser has `parse(t, text) -> Event | None`.
STACK_PARSERS: dict[str, Callable[[], axtls.AxtlsParser]] = {
    axtls.STACK: axtls.AxtlsParser,
}


def parse_serial(lines: Iterable[Line], stack: str) -> list[Event]:
    factory = STACK_PARSERS.get(stack)
    if factory is None:
        raise ConfigError(
            f"no serial log parser for stack {stack!r}",
            fix=f"use one of: {', '.join(sorted(STACK_PARSERS))}",
        )
    parser = factory()
    events = []
    for line in lines:
        event = parser.parse(line.t, line.text) or common.parse(line.t, line.text)
        if event is None:
            event = Event(t=line.t, source=Source.SERIAL, kind="log_other", text=line.text)
        events.append(event)
    return events
