"""What wire analysis returns: events, and the events grouped per connection attempt."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.model import Direction, Event, Source

# -- results -----------------------------------------------------------------------------


@dataclass(frozen=True)
class WireAttempt:
    """One connection attempt: the events of one TCP stream, in wire order.

    `index` counts attempts in the order their first packet was seen; `stream` is
    tshark's TCP stream number (which also counts streams the filter hid).
    """

    index: int
    stream: int
    client: str  # "ip:port" of the side that is not the server
    server: str
    start: float
    end: float
    events: tuple[Event, ...]

    def of_kind(self, *kinds: str) -> tuple[Event, ...]:
        return tuple(e for e in self.events if e.kind in kinds)

    def first(self, kind: str) -> Event | None:
        return next((e for e in self.events if e.kind == kind), None)

    @property
    def client_hello(self) -> Event | None:
        return self.first("client_hello")

    @property
    def server_hello(self) -> Event | None:
        return self.first("server_hello")

    @property
    def alerts(self) -> tuple[Event, ...]:
        return self.of_kind("alert")

    @property
    def chain(self) -> tuple[Mapping[str, Any], ...]:
        """The server's certificate chain as sent (leaf first); () when not seen."""
        for e in self.events:
            if e.kind == "certificate" and e.direction is Direction.S2C:
                return tuple(e.fields.get("chain", ()))
        return ()

    @property
    def retransmissions(self) -> int:
        return sum(1 for e in self.events if e.kind == "tcp_retransmission")

    @property
    def app_data(self) -> bool:
        """Application data went both ways: the handshake completed and was used."""
        return {e.direction for e in self.events if e.kind == "app_data"} == {
            Direction.C2S,
            Direction.S2C,
        }

    def largest_record(self, direction: Direction) -> int:
        """The longest TLS record (bytes, header excluded) sent in `direction`; 0 if none."""
        return max(
            (
                int(e.fields.get("record_length") or 0)
                for e in self.events
                if e.direction is direction and "record_length" in e.fields
            ),
            default=0,
        )


@dataclass(frozen=True)
class WireAnalysis:
    """Events decoded from a capture; `partial` when the capture was cut short."""

    events: tuple[Event, ...]
    partial: bool = False
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def of_kind(self, *kinds: str) -> tuple[Event, ...]:
        return tuple(e for e in self.events if e.kind in kinds)

    def attempts(self) -> tuple[WireAttempt, ...]:
        return group_attempts(self.events)


def group_attempts(events: Iterable[Event]) -> tuple[WireAttempt, ...]:
    """Wire events grouped per TCP stream, in the order each stream was first seen."""
    streams: dict[int, list[Event]] = {}
    for e in events:
        if e.source is Source.WIRE and e.stream is not None:
            streams.setdefault(e.stream, []).append(e)
    attempts = []
    for index, (stream, members) in enumerate(streams.items()):
        first = members[0]
        src, dst = str(first.fields.get("src", "")), str(first.fields.get("dst", ""))
        client, server = (src, dst) if first.direction is Direction.C2S else (dst, src)
        attempts.append(
            WireAttempt(
                index=index,
                stream=stream,
                client=client,
                server=server,
                start=first.t,
                end=members[-1].t,
                events=tuple(members),
            )
        )
    return tuple(attempts)
