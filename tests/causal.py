"""What the founding-report sketch on axTLS does, as order facts against the wire: the
statement the timeline's order is checked against, written from the sketch and the
stack (sketches/founding_report, tls-stacks.md), not from correlate.py's rules.

Each line the board prints from `Connecting to` on is listed with the packets of its
connection that it must follow (it reports them, or the code that prints it runs only
after them) and the ones it must precede (it is printed before the code that sends
them). `causal_violations` checks every serial line of a timeline against these, and
the board's print order, so it covers the whole run, not only the lines correlation
anchors on.
"""

from __future__ import annotations

from harness.model import Direction, Event, Source, Timeline

C2S, S2C = Direction.C2S, Direction.S2C

# Times closer than this are one stamp: correlation moves a line a microsecond off the
# packet it is bound to (correlate._EPSILON), and a packet's stamp has microseconds.
SAME_STAMP = 1e-5

# line start -> (packets it follows, packets it precedes); a packet is (kind, direction)
# and means the first of that kind in the attempt's stream.
FOUNDING_SKETCH = {
    "Connecting to": ((), (("tcp_syn", C2S),)),
    "State:\tsending Client Hello": ((("tcp_synack", S2C),), (("client_hello", C2S),)),
    "State:\treceiving Server Hello (": ((("server_hello", S2C),), (("client_key_exchange", C2S),)),
    "State:\treceiving Certificate": ((("certificate", S2C),), (("client_key_exchange", C2S),)),
    "State:\treceiving Server Hello Done": (
        (("server_hello_done", S2C),),
        (("client_key_exchange", C2S),),
    ),
    "State:\tsending Client Key Exchange": (
        (("server_hello_done", S2C),),
        (("client_key_exchange", C2S),),
    ),
    "State:\tsending Finished": ((("client_key_exchange", C2S),), (("finished", C2S),)),
    "State:\treceiving Finished": ((("finished", S2C),), (("app_data", C2S),)),
    "Server certificate verified": ((("finished", S2C),), (("app_data", C2S),)),
    "request sent": ((("finished", S2C), ("app_data", C2S)), ()),
    "status: HTTP/1.1 200 OK": ((("app_data", S2C),), (("alert", C2S),)),
    # Core 2.4.1's stop() sends no close_notify (recorded: esp8266-2.4.1/
    # do-2016-ssl-params-fixed--get): the result follows the response, nothing more.
    "HIL:DONE connected=1": ((("app_data", S2C),), ()),
    # A refused handshake: the server's alert is received. The board's own
    # unexpected_message reaches the wire only when it wins the race with the server's
    # FIN (recorded both ways), so the lines after it follow the server's alert only.
    "Alert: handshake failure": ((("alert", S2C),), ()),
    "Connection failed": ((("alert", S2C),), ()),
    "HIL:DONE connected=0": ((("alert", S2C),), ()),
}


def _first(packets: list[Event], kind: str, direction: Direction) -> Event | None:
    return next((e for e in packets if e.kind == kind and e.direction is direction), None)


def causal_violations(timeline: Timeline, facts=FOUNDING_SKETCH) -> list[str]:
    """Every break of the facts in `timeline` (empty: the order is causal). A line of the
    attempt with no fact must still keep the board's print order; lines before the
    first `Connecting to` (boot, the certificate dump) must precede its SYN."""
    events = list(timeline.events)
    position = {id(e): n for n, e in enumerate(events)}
    serial = [e for e in events if e.source is Source.SERIAL]
    wire = [e for e in events if e.source is Source.WIRE and e.stream is not None]
    problems: list[str] = []
    stamps = [e.t for e in serial]
    if stamps != sorted(stamps):
        problems.append("serial lines out of their print order")
    streams: dict[int, list[Event]] = {}
    for e in wire:
        streams.setdefault(e.stream, []).append(e)
    attempts = sorted(streams.values(), key=lambda packets: packets[0].t)
    starts = [n for n, e in enumerate(serial) if e.kind == "connect_start"]
    if len(starts) != len(attempts):
        return [f"{len(starts)} 'Connecting to' lines but {len(attempts)} TCP streams"]
    if starts and attempts:
        syn = _first(attempts[0], "tcp_syn", C2S)
        for line in serial[: starts[0]]:
            if syn is not None and position[id(line)] > position[id(syn)]:
                problems.append(f"{line.text!r} (before connecting) after the SYN")
    ends = [*starts[1:], len(serial)]
    for start, end, packets in zip(starts, ends, attempts, strict=True):
        for line in serial[start:end]:
            fact = next((f for p, f in facts.items() if line.text.startswith(p)), None)
            if fact is None:
                continue
            follows, precedes = fact
            # A packet the run does not have binds nothing (a core that sends no
            # close_notify at stop(), a refused handshake without a Finished).
            for kind, direction in follows:
                packet = _first(packets, kind, direction)
                # Sharing the packet's stamp (two records in one segment, the line printed
                # between their writes: correlation can only put it a hair before or after)
                # is no break; only a time earlier by more than that is.
                ahead = packet is not None and position[id(line)] < position[id(packet)]
                if ahead and line.t < packet.t - SAME_STAMP:
                    problems.append(f"{line.text!r} before the {kind} {direction} it follows")
            for kind, direction in precedes:
                packet = _first(packets, kind, direction)
                behind = packet is not None and position[id(line)] > position[id(packet)]
                if behind and line.t > packet.t + SAME_STAMP:
                    problems.append(f"{line.text!r} after the {kind} {direction} it causes")
    return problems
