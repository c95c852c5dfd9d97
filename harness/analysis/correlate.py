"""Events of all sources -> one Timeline, grouped by connection attempt (pure).

Wire events carry the kernel's capture time, serial lines the host time their
first byte arrived, server events the server's `time.time()`: one clock. But a
serial line arrives later than the board printed it (the UART at its baud rate,
a USB-serial chip's latency timer, the reader thread's wake-up), so sorting raw
stamps can put a board's "sending Client Hello" after the ClientHello itself.
The shift is estimated from causality: a line printed before a packet leaves
cannot be truly later than that packet. Serial stamps move back by the least
shift that honours every such pair, and never by less than the known byte time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from harness.model import Attempt, Direction, Event, Source, Timeline

# When two events share a stamp, the cause (what the board printed before acting)
# reads best first.
_SOURCE_ORDER = {Source.SERIAL: 0, Source.WIRE: 1, Source.SERVER: 2}

# Log lines this close to a TCP stream's first or last packet belong to its attempt.
ATTEMPT_MARGIN = 0.5

# Moved this much further than the bound, a shifted line sorts strictly first.
_EPSILON = 1e-6


@dataclass(frozen=True)
class Anchor:
    """A serial line tied to a packet: printed just before it leaves, or just after it
    arrived (or, for the board's own alerts, after it was sent)."""

    serial_kind: str
    serial_direction: Direction | None
    message: str | None  # for log_state lines (axTLS labels Finished "(16)" too: match names)
    wire_kind: str
    wire_direction: Direction = Direction.C2S


ANCHORS = (
    # The sketch prints "Connecting to ..." and then connect() sends the SYN.
    Anchor("connect_start", None, None, "tcp_syn"),
    # axTLS's DISPLAY_STATE runs before the message is written.
    Anchor("log_state", Direction.C2S, "Client Hello", "client_hello"),
    Anchor("log_state", Direction.C2S, "Client Key Exchange", "client_key_exchange"),
)

# Lines printed after their packet: a received message or alert is printed once
# parsed, and axTLS prints its own alert after send_packet().
AFTER_ANCHORS = (
    Anchor("log_state", Direction.S2C, "Server Hello", "server_hello", Direction.S2C),
    Anchor("log_alert", Direction.S2C, None, "alert", Direction.S2C),
    Anchor("log_alert", Direction.C2S, None, "alert", Direction.C2S),
)


def _pairs(anchor: Anchor, serial: list[Event], wire: list[Event]) -> list[tuple[Event, Event]]:
    """The k-th matching line with the k-th matching packet."""
    lines = [
        e
        for e in serial
        if e.kind == anchor.serial_kind
        and (anchor.serial_direction is None or e.direction is anchor.serial_direction)
        and (anchor.message is None or e.fields.get("message") == anchor.message)
    ]
    packets = [
        e for e in wire if e.kind == anchor.wire_kind and e.direction is anchor.wire_direction
    ]
    return list(zip(lines, packets, strict=False))


def serial_shift(serial: list[Event], wire: list[Event], *, at_least: float = 0.0) -> float:
    """Seconds to subtract from serial stamps so the timeline honours causality."""
    shift = at_least
    for anchor in ANCHORS:
        for line, packet in _pairs(anchor, serial, wire):
            shift = max(shift, line.t - packet.t + _EPSILON)
    return shift


def _after_receipts(serial: list[Event], wire: list[Event]) -> list[Event]:
    """The shift is one number, but a serial link's latency varies from read to read:
    after it, a line may still sit before the packet it reports. Such a line moves to
    just after its packet, and the lines after it keep their order behind it."""
    floor: dict[int, float] = {}
    for anchor in AFTER_ANCHORS:
        for line, packet in _pairs(anchor, serial, wire):
            floor[id(line)] = max(floor.get(id(line), packet.t), packet.t) + _EPSILON
    out: list[Event] = []
    last = float("-inf")
    for line in serial:
        t = max(line.t, floor.get(id(line), line.t))
        if t < last:
            t = last  # never before a line the board printed earlier
        out.append(line if t == line.t else replace(line, t=t))
        last = t
    return out


def foreign_clock_shift(serial: list[Event], wire: list[Event]) -> float:
    """For a log stamped on another clock (a paste from an issue next to a capture): the
    shift that puts the first anchored line just before its packet, or, with no anchor,
    the log's first line at the capture's first packet."""
    for anchor in ANCHORS:
        for line, packet in _pairs(anchor, serial, wire):
            return line.t - packet.t + _EPSILON
    if serial and wire:
        return serial[0].t - wire[0].t
    return 0.0


def build_timeline(
    *event_lists: Iterable[Event], serial_latency: float = 0.0, same_clock: bool = True
) -> Timeline:
    """All events on one clock, in time order. `serial_latency` is the least known delay of a
    serial stamp (one byte time at the baud rate); the causal estimate may add to it.
    `same_clock=False` when the serial stamps are not the capture's wall clock."""
    events = [e for batch in event_lists for e in batch]
    serial = [e for e in events if e.source is Source.SERIAL]
    wire = [e for e in events if e.source is Source.WIRE]
    if same_clock:
        shift = serial_shift(serial, wire, at_least=serial_latency)
    else:
        shift = foreign_clock_shift(serial, wire)
    if shift:
        serial = [replace(e, t=e.t - shift) for e in serial]
    serial = _after_receipts(serial, wire)
    events = [e for e in events if e.source is not Source.SERIAL] + serial
    # A stable sort keeps each source's own order among equal stamps.
    events.sort(key=lambda e: (e.t, _SOURCE_ORDER[e.source]))
    ordered = tuple(events)
    return Timeline(events=ordered, attempts=_attempts(ordered), serial_shift=shift)


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
