"""Events of all sources -> one Timeline, grouped by connection attempt (pure).

Wire events carry the kernel's capture time, serial lines the host time their
first byte arrived, server events the server's `time.time()`: one clock. But a
serial line arrives later than the board printed it (the UART at its baud rate,
a USB-serial chip's latency timer, the reader thread's wake-up, a pty read in
bursts), and by a different amount from read to read: the certificate dump and
"Connecting to" arrive in one read, late; lines after the handshake come almost
at once. One shift for every line is wrong for all but one of them.

So each line gets its own bounds from causality: it was printed after every
packet it reports or depends on (a received message, the server's Finished
before "verified", the response before "status: ..."), and before every packet it
causes ("sending Client Hello" before the ClientHello). The board prints in
order, so each line's bounds also hold its neighbours: a line is no earlier than
the lines before it and no later than the lines after it. Within its bounds a
line keeps its stamp less the known byte time (the least shift); outside them it
moves to the nearest bound.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from harness.model import Attempt, Direction, Event, Source, Timeline

# When two events share a stamp, the cause (what the board printed before acting)
# reads best first.
_SOURCE_ORDER = {Source.SERIAL: 0, Source.WIRE: 1, Source.SERVER: 2}

# Log lines this close to a TCP stream's first or last packet belong to its attempt.
ATTEMPT_MARGIN = 0.5

# A line bound by a packet sits this far on the right side of it, so it sorts there.
_EPSILON = 1e-6

_INF = float("inf")


@dataclass(frozen=True)
class Anchor:
    """A serial line tied to a packet: the k-th matching line to the k-th matching packet.
    `before`: the line was printed before the packet left (it causes it); otherwise after
    the packet (it reports it, or the board could not print it before the packet came)."""

    serial_kind: str
    serial_direction: Direction | None
    message: str | None  # for log_state lines (axTLS labels Finished "(16)" too: match names)
    wire_kind: str
    wire_direction: Direction = Direction.C2S
    before: bool = True


_C2S, _S2C = Direction.C2S, Direction.S2C

ANCHORS = (
    # The sketch prints "Connecting to ..." and then connect() sends the SYN.
    Anchor("connect_start", None, None, "tcp_syn"),
    # axTLS's DISPLAY_STATE runs before the message is written.
    Anchor("log_state", _C2S, "Client Hello", "client_hello"),
    Anchor("log_state", _C2S, "Client Key Exchange", "client_key_exchange"),
    Anchor("log_state", _C2S, "Finished", "finished"),
)

AFTER_ANCHORS = (
    # The ClientHello goes out once connect() has the TCP connection.
    Anchor("log_state", _C2S, "Client Hello", "tcp_synack", _S2C, before=False),
    # A received message or alert is printed once parsed.
    Anchor("log_state", _S2C, "Server Hello", "server_hello", _S2C, before=False),
    Anchor("log_state", _S2C, "Certificate", "certificate", _S2C, before=False),
    Anchor("log_state", _S2C, "Server Hello Done", "server_hello_done", _S2C, before=False),
    Anchor("log_state", _S2C, "Finished", "finished", _S2C, before=False),
    Anchor("log_alert", _S2C, None, "alert", _S2C, before=False),
    # axTLS prints its own alert after send_packet().
    Anchor("log_alert", _C2S, None, "alert", _C2S, before=False),
    # axTLS writes the ClientKeyExchange (and ChangeCipherSpec) before it prints the
    # Finished state line.
    Anchor("log_state", _C2S, "Finished", "client_key_exchange", _C2S, before=False),
)

# Kinds of C2S wire events that are the board's own TLS or TCP acts, not the kernel's
# later bookkeeping (ACKs, retransmissions, the FIN of a closed socket).
_BOARD_RECORDS = frozenset(
    {
        "client_hello",
        "client_key_exchange",
        "certificate",
        "certificate_verify",
        "change_cipher_spec",
        "finished",
        "encrypted_handshake",
        "app_data",
        "alert",
    }
)


def _lines_of(anchor: Anchor, serial: Sequence[Event]) -> list[int]:
    return [
        i
        for i, e in enumerate(serial)
        if e.kind == anchor.serial_kind
        and (anchor.serial_direction is None or e.direction is anchor.serial_direction)
        and (anchor.message is None or e.fields.get("message") == anchor.message)
    ]


def _packets_of(anchor: Anchor, wire: Sequence[Event]) -> list[Event]:
    return [e for e in wire if e.kind == anchor.wire_kind and e.direction is anchor.wire_direction]


def _pairs(
    anchor: Anchor, serial: Sequence[Event], wire: Sequence[Event]
) -> list[tuple[int, Event]]:
    """The k-th matching line (its index in `serial`) with the k-th matching packet."""
    return list(zip(_lines_of(anchor, serial), _packets_of(anchor, wire), strict=False))


def causal_bounds(
    serial: Sequence[Event], wire: Sequence[Event]
) -> tuple[list[float], list[float]]:
    """For each serial line (in print order), the earliest and latest time it can have
    been printed, from the packets it depends on or causes and from the lines around it."""
    lo = [-_INF] * len(serial)
    hi = [_INF] * len(serial)
    for anchor in ANCHORS:
        for i, packet in _pairs(anchor, serial, wire):
            hi[i] = min(hi[i], packet.t - _EPSILON)
    for anchor in AFTER_ANCHORS:
        for i, packet in _pairs(anchor, serial, wire):
            lo[i] = max(lo[i], packet.t + _EPSILON)
    for i, after, before in _attempt_bounds(serial, wire):
        if after is not None and after > -_INF:
            lo[i] = max(lo[i], after + _EPSILON)
        if before is not None:
            hi[i] = min(hi[i], before - _EPSILON)
    # Printed in order: no line before the bound of an earlier one, none after a later one's.
    for i in range(1, len(lo)):
        lo[i] = max(lo[i], lo[i - 1])
    for i in range(len(hi) - 2, -1, -1):
        hi[i] = min(hi[i], hi[i + 1])
    return lo, hi


def _attempt_bounds(
    serial: Sequence[Event], wire: Sequence[Event]
) -> list[tuple[int, float | None, float | None]]:
    """Bounds of the lines a sketch prints around its request, within their attempt:
    (line index, after this packet, before this packet).

    Attempt k is the k-th `Connecting to` and the k-th TCP stream; without one stream
    per attempt the pairing is unknown and nothing is bound. Within it:
    - "verified" needs the server's Finished (connect() returned) and comes before the
      request is written; "request sent" follows the request;
    - "status: ..." follows the response, and comes before whatever the board sends next
      (its close_notify at stop());
    - a connect result ("Connection failed", `HIL:DONE`) follows the board's last record
      of the attempt (its alerts, its close_notify).
    """
    starts = [i for i, e in enumerate(serial) if e.kind == "connect_start"]
    streams: dict[int, list[Event]] = {}
    for e in wire:
        if e.stream is not None:
            streams.setdefault(e.stream, []).append(e)
    if not starts or len(streams) != len(starts):
        return []
    ordered = sorted(streams.values(), key=lambda packets: packets[0].t)
    out: list[tuple[int, float | None, float | None]] = []
    for start, end, packets in zip(starts, [*starts[1:], len(serial)], ordered, strict=True):
        own = [e for e in packets if e.direction is _C2S and e.kind in _BOARD_RECORDS]
        finished = _first(packets, "finished", _S2C)
        request = _first(packets, "app_data", _C2S)
        response = _first(packets, "app_data", _S2C)
        after_response = [e for e in own if response is not None and e.t > response.t]
        for i in range(start, end):
            kind = serial[i].kind
            if kind == "log_verify":
                out.append((i, _t(finished), _t(request)))
            elif kind == "log_request":
                out.append((i, max(_t(finished) or -_INF, _t(request) or -_INF), None))
            elif kind == "log_http_status":
                out.append((i, _t(response), after_response[0].t if after_response else None))
            elif kind == "connect_result" and own:
                out.append((i, own[-1].t, None))
    return out


def _first(packets: Sequence[Event], kind: str, direction: Direction) -> Event | None:
    return next((e for e in packets if e.kind == kind and e.direction is direction), None)


def _t(event: Event | None) -> float | None:
    return None if event is None else event.t


def place_serial(
    serial: Sequence[Event], wire: Sequence[Event], *, base_shift: float
) -> tuple[list[Event], float]:
    """Serial lines moved to their place: stamp less `base_shift`, kept within their
    bounds. Returns the lines and the largest shift any of them got."""
    lo, hi = causal_bounds(serial, wire)
    out: list[Event] = []
    largest = base_shift
    last = -_INF
    for e, low, high in zip(serial, lo, hi, strict=True):
        t = max(min(e.t - base_shift, high), low, last)  # bounds that disagree: after wins
        last = t
        if t < e.t - base_shift:
            largest = max(largest, e.t - t)
        out.append(e if t == e.t else replace(e, t=t))
    return out, largest


def foreign_clock_shift(serial: Sequence[Event], wire: Sequence[Event]) -> float:
    """For a log stamped on another clock (a paste from an issue next to a capture): the
    shift that puts the first anchored line just before its packet, or, with no anchor,
    the log's first line at the capture's first packet."""
    for anchor in ANCHORS:
        for i, packet in _pairs(anchor, serial, wire):
            return serial[i].t - packet.t + _EPSILON
    if serial and wire:
        return serial[0].t - wire[0].t
    return 0.0


def build_timeline(
    *event_lists: Iterable[Event], serial_latency: float = 0.0, same_clock: bool = True
) -> Timeline:
    """All events on one clock, in time order. `serial_latency` is the least known delay of a
    serial stamp (one byte time at the baud rate); a line's bounds may move it further.
    `same_clock=False` when the serial stamps are not the capture's wall clock."""
    events = [e for batch in event_lists for e in batch]
    serial = [e for e in events if e.source is Source.SERIAL]
    wire = [e for e in events if e.source is Source.WIRE]
    base = serial_latency if same_clock else foreign_clock_shift(serial, wire)
    serial, shift = place_serial(serial, wire, base_shift=base)
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
