"""Serial lines -> events, one parser module per TLS stack, plus what every board prints.

Each line goes to the stack's parser, then the board's (boot, exceptions, resets, heap,
WiFi), then the sketch protocol (`HIL:` lines, "Connecting to ..."); a line none of them
knows becomes a `log_other` event: nothing is dropped, one line gives one event.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Protocol

from harness.analysis.logformats import axtls, bearssl, board, common, mbedtls
from harness.analysis.logformats.lines import Line, serial_event
from harness.model import Event
from harness.model.errors import ConfigError

AUTO = "auto"


class LogParser(Protocol):
    def parse(self, t: float, text: str) -> Event | None: ...


class _Axtls:
    """axTLS's parser behind a first-character gate.

    AxtlsParser tries every pattern on every line; its lines start with `State:`,
    `Alert:`, `Error`, `===` or `Verify:`, and certificate dump labels (any letter)
    come only right after a dump header, i.e. while its last event was a `log_cert`.
    Lines outside that gate would give None anyway, and a None leaves its state as it
    was, so the gate changes nothing but the time.
    """

    _FIRST = frozenset("SAEV=")

    def __init__(self) -> None:
        self._parser = axtls.AxtlsParser()
        self._in_dump = False

    def parse(self, t: float, text: str) -> Event | None:
        if not (text[:1] in self._FIRST or self._in_dump):
            return None
        event = self._parser.parse(t, text)
        if event is not None:
            self._in_dump = event.kind == "log_cert"
        return event

    def memo_state(self) -> tuple[bool, str, str]:
        """All that the next line's reading depends on (see iter_serial_events)."""
        p = self._parser
        return (self._in_dump, p._prev_kind, p._cert_section)

    def memo_restore(self, state: tuple[bool, str, str]) -> None:
        self._in_dump, self._parser._prev_kind, self._parser._cert_section = state


# Stack name -> parser factory.
STACK_PARSERS: dict[str, Callable[[], LogParser]] = {
    axtls.STACK: _Axtls,
    bearssl.STACK: bearssl.BearsslParser,
    mbedtls.STACK: mbedtls.MbedtlsParser,
}

# Substring -> (stack, weight) for detect_stack: a stack's own debug lines weigh 10,
# a board family or core version only 1 (an ESP8266 runs axTLS or BearSSL).
_SIGNS: tuple[tuple[str, str, int], ...] = (
    ("BSSL:", bearssl.STACK, 10),
    ("getLastSSLError", bearssl.STACK, 10),
    ("BearSSL:", bearssl.STACK, 3),
    ("BearSSL::", bearssl.STACK, 3),
    ("ctx: bearssl", bearssl.STACK, 3),
    ("(SSLClient)", bearssl.STACK, 5),
    ("Connection *will* fail", bearssl.STACK, 10),
    ("SSL error: ", bearssl.STACK, 2),
    ("failed to grow plain buffer", axtls.STACK, 10),
    ("ssl_client.cpp", mbedtls.STACK, 10),
    ("WiFiClientSecure.cpp:", mbedtls.STACK, 10),
    ("NetworkClientSecure.cpp:", mbedtls.STACK, 10),
    ("esp-tls", mbedtls.STACK, 10),
    ("mbedtls", mbedtls.STACK, 5),
    ("MbedTLS", mbedtls.STACK, 5),
    ("Guru Meditation", mbedtls.STACK, 1),
    ("rst:0x", mbedtls.STACK, 1),
    ("State:\tsending", axtls.STACK, 10),
    ("State: sending", axtls.STACK, 10),
    ("State:\treceiving", axtls.STACK, 10),
    ("Error: SSL error", axtls.STACK, 10),
    ("=== CERTIFICATE ISSUED", axtls.STACK, 10),
    ("Alert: ", axtls.STACK, 3),
    ("/Core:2.4.", axtls.STACK, 3),
    ("/Core:2.3.", axtls.STACK, 3),
    ("/Core:2.5.", bearssl.STACK, 3),
    ("/Core:2.6.", bearssl.STACK, 3),
    ("/Core:2.7.", bearssl.STACK, 3),
    ("/Core:3.", bearssl.STACK, 3),
)


def detect_stack(lines: Iterable[Line]) -> str | None:
    """The TLS stack whose output the lines look like (`hil diagnose --stack auto`), or
    None when nothing in them names one."""
    score = dict.fromkeys(STACK_PARSERS, 0)
    for line in lines:
        text = line.text
        for needle, stack, weight in _SIGNS:
            if needle in text:
                score[stack] += weight
    best = max(score, key=lambda s: score[s])
    return best if score[best] > 0 else None


# detect_stack_in_text stops reading once one stack has this much weight and the others
# together a tenth of it or less: a 50 MB log then costs the first chunks, not 30 passes
# over all of it. A log whose stacks are that lopsided does not turn over later.
_DECISIVE = 2000


def detect_stack_in_text(chunks: Iterable[str]) -> str | None:
    """`detect_stack` over raw text read in chunks (a big log's file): each needle is
    counted in each chunk at C speed instead of tested line by line. A needle cut by a
    chunk boundary is missed once, which a stack's many lines make up for."""
    score = dict.fromkeys(STACK_PARSERS, 0)
    for chunk in chunks:
        for needle, stack, weight in _SIGNS:
            score[stack] += weight * chunk.count(needle)
        top = max(score.values())
        if top >= _DECISIVE and 10 * (sum(score.values()) - top) <= top:
            break
    best = max(score, key=lambda s: score[s])
    return best if score[best] > 0 else None


def _stack_parser(stack: str | None) -> LogParser | None:
    if stack is None:
        return None
    factory = STACK_PARSERS.get(stack)
    if factory is None:
        raise ConfigError(
            f"no serial log parser for stack {stack!r}",
            fix=f"use one of: {', '.join([AUTO, *sorted(STACK_PARSERS)])}",
        )
    return factory()


# common.parse only matches lines with `HIL:` or `sntp` in them, or starting with
# `.`, `C` or `c` ("Connecting to", "Connection failed"), or a sketch line below;
# other lines skip it.
_COMMON_FIRST = frozenset(".Cc")
# ... and the sketch's own lines after connect() (common.py), by their start.
_SKETCH_STARTS = (
    "Server certificate",
    "ERROR: certificate",
    "request sent",
    "status:",
    "Starting connection",
    "[BOT]",
    "--->connect:",
    "Unable to connect",
    "Using fingerprint",
    "[=] Using fingerprint",
)


def parse_serial(lines: Iterable[Line] | Sequence[Line], stack: str | None) -> list[Event]:
    """Events of the lines, one each, in order. `stack` is a STACK_PARSERS name, `auto`
    (detected from the lines) or None (board and sketch lines only)."""
    if stack == AUTO:
        lines = list(lines)
        stack = detect_stack(lines)
    return list(iter_serial_events(lines, stack))


# A line read before, in the same parser state, reads the same: big logs are mostly a few
# lines repeated (a sketch retrying in a loop). The reading of a line is kept, its time
# set anew; lines longer than this are rarely repeated and are not kept.
_MEMO_TEXT_MAX = 200
_MEMO_MAX = 4096
_STABLE = "_stable_text"


def memo_text(text: str) -> str:
    """The line without the milliseconds a log puts at its start (arduino-esp32 2.x
    `[  4706][V]...`, ESP-IDF `E (4263) tag: ...`): no parser reads them, so lines that
    differ only there read alike. String operations, not a regex: this runs on every line."""
    c = text[:1]
    if c == "[":
        end = text.find("][", 1, 16)
        if end > 1 and text[1:end].lstrip(" ").isdecimal():
            return "[#" + text[end:]
    elif c in "EWIDV" and text[1:3] == " (":
        end = text.find(")", 3, 20)
        if end > 3 and text[3:end].isdecimal():
            return c + " (#" + text[end:]
    return text


# A line's reading: (event, t, text). A line read before in the same parser state gives
# the event of its first reading, shared, with its own time and text; a new line gives its
# own event and (None, None). event_of() makes the line's event: a big log's attempts that
# are diagnosed already (most of them) never need one.
Reading = tuple[Event, float | None, str | None]


def event_of(reading: Reading) -> Event:
    """The event of one line's reading (see iter_serial_readings)."""
    event, t, text = reading
    if t is None:
        return event
    # dataclasses.replace() of a frozen Event at a third of the cost: it skips __init__;
    # the fields are the same objects, never changed after creation.
    copy = _new_object(Event)
    d = event.__dict__.copy()
    d["t"], d["text"] = t, text
    _set_dict(copy, "__dict__", d)
    return copy


_new_object, _set_dict = object.__new__, object.__setattr__


def iter_serial_events(lines: Iterable[Line], stack: str | None) -> Iterator[Event]:
    """`parse_serial` one event at a time, for logs too big to hold; `stack` must be
    known (a STACK_PARSERS name or None): detection needs every line first."""
    return map(event_of, iter_serial_readings(lines, stack))


def iter_serial_readings(lines: Iterable[Line], stack: str | None) -> Iterator[Reading]:
    """Each line's Reading, in order (iter_serial_events without an event per line).

    The board, common and stack parsers are stateless but for axTLS, which says its state
    (memo_state/memo_restore), so a line's event depends only on (state, text): it is
    remembered for the next time the same line comes in the same state (bounded)."""
    stack_parser = _stack_parser(stack)
    stack_parse = stack_parser.parse if stack_parser is not None else None
    state_of = getattr(stack_parser, "memo_state", None)
    restore = getattr(stack_parser, "memo_restore", None)
    board_parse = board.BoardParser().parse
    common_parse = common.parse

    def read(t: float, text: str) -> Event:
        """A line no memo has: through the parsers."""
        event = stack_parse(t, text) if stack_parse is not None else None
        if event is None:
            event = board_parse(t, text)
        if event is None and (
            text[:1] in _COMMON_FIRST
            or "HIL:" in text
            or "sntp" in text
            or "nsecure" in text
            or text.startswith(_SKETCH_STARTS)
        ):
            event = common_parse(t, text)
        if event is None:
            event = serial_event(t, "log_other", text)
        return event

    if state_of is None:
        # A stateless stack's line reads by its text alone: the memo holds the event. A
        # loop of its own, as most lines of a big log take it.
        memo: dict[str, Event] = {}
        for t, text in lines:
            if len(text) > _MEMO_TEXT_MAX:
                yield read(t, text), None, None
                continue
            key = memo_text(text)
            seen = memo.get(key)
            if seen is not None:
                yield seen, t, text
                continue
            event = read(t, text)
            if len(memo) >= _MEMO_MAX:
                memo.clear()
            memo[key] = event
            # Its stamp-free text rides along (copied with the event): stable_text().
            event.__dict__[_STABLE] = key
            yield event, None, None
        return
    after_of: dict[tuple[object, str], tuple[Event, object]] = {}
    for t, text in lines:
        if len(text) > _MEMO_TEXT_MAX:
            yield read(t, text), None, None
            continue
        state = state_of()
        stable = memo_text(text)
        hit = after_of.get((state, stable))
        if hit is not None:
            seen, after = hit
            if restore is not None and after != state:
                restore(after)
            yield seen, t, text
            continue
        event = read(t, text)
        if len(after_of) >= _MEMO_MAX:
            after_of.clear()
        after_of[state, stable] = (event, state_of())
        event.__dict__[_STABLE] = stable
        yield event, None, None


def stable_text(e: Event) -> str:
    """memo_text(e.text), kept from the reading where the memo has it: an entry of the
    event's __dict__ outside its fields, so equality, hashing and repr never see it."""
    kept = e.__dict__.get(_STABLE)
    return kept if kept is not None else memo_text(e.text)
