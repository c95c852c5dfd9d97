"""Events of all sources -> one Timeline, grouped by connection attempt (pure).

Wire events carry the kernel's capture time, serial lines the host time their
first byte arrived, server events the server's `time.time()`: one clock, so a
sort is enough. A serial line is stamped at least one byte-time after the board
printed it; `serial_latency` moves serial stamps back by that known amount.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from harness.model import Attempt, Event, Source, Timeline

# When two events share a stamp, the cause (what the board printed before acting)
# reads best first.
_SOURCE_ORDER = {Source.SERIAL: 0, Source.WIRE: 1, Source.SERVER: 2}

# Log lines this close to a TCP stream's first or last packet belong to its attempt.
ATTEMPT_MARGIN = 0.5


def build_timeline(*event_lists: Iterable[Event], serial_latency: float = 0.0) -> Timeline:
    events: list[Event] = []
    for batch in event_lists:
        for event in batch:
            if serial_latency and event.source is Source.SERIAL:
                event = replace(event, t=event.t - serial_latency)
            events.append(event)
    # A stable sort keeps each source's own order among equal stamps.
    events.sort(key=lambda e: (e.t, _SOURCE_ORDER[e.source]))
    ordered = tuple(events)
    return Timeline(events=ordered, attempts=_attempts(ordered))


def _attempts(events: tuple[Event, ...]) -> tuple[Attempt, ...]:
    streams: dict[int, list[Event]] = {}
    for event in events:
        if event.source is Source.WIRE and event.stream is not None:
            streams.setdefault(event.stream, []).append(event)
    if not streams:
        return _attempts_from_log(events)
    attempts = []
    for index, stream in enumerate(sorted(streams, key=lambda s: streams[s][0].t)):
        wire = streams[stream]
        start, end = wire[0].t, wire[-1].t
        members = tuple(
            e
            for e in events
            if (e.source is Source.WIRE and e.stream == stream)
            or (
                e.source is not Source.WIRE
                and start - ATTEMPT_MARGIN <= e.t <= end + ATTEMPT_MARGIN
            )
        )
        attempts.append(Attempt(index=index, start=start, end=end, events=members))
    return tuple(attempts)


def _attempts_from_log(events: tuple[Event, ...]) -> tuple[Attempt, ...]:
    """Without a capture, an attempt runs from `Connecting to` to its result."""
    attempts: list[Attempt] = []
    current: list[Event] = []
    for event in events:
        if event.kind == "connect_start" and current:
            attempts.append(_close(len(attempts), current))
            current = []
        current.append(event)
    if current:
        attempts.append(_close(len(attempts), current))
    return tuple(attempts)


def _close(index: int, events: list[Event]) -> Attempt:
    return Attempt(index=index, start=events[0].t, end=events[-1].t, events=tuple(events))
