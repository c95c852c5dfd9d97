"""Serial lines as text: the `serial.log` format and logs pasted into issues."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import accumulate, islice, repeat
from typing import Any, NamedTuple

from harness.model import Direction, Event, Source


class Line(NamedTuple):
    """One serial line (immutable; a NamedTuple because a big log makes millions)."""

    t: float  # host wall-clock time of the line's first byte (or a sequence number)
    text: str


def read_serial_log(text: str) -> list[Line]:
    """Lines of a `serial.log` written by SerialMonitor (`<epoch>\\t<line>`)."""
    return list(iter_serial_log(text.splitlines()))


def iter_serial_log(raw_lines: Iterable[str]) -> Iterator[Line]:
    """`read_serial_log` one line at a time; a line that is not `<epoch>\\t<text>` is
    skipped."""
    for raw in raw_lines:
        stamp, sep, line = raw.rstrip("\r\n").partition("\t")
        try:
            t = float(stamp)
        except ValueError:
            continue
        if sep and t == t and abs(t) != float("inf"):  # NaN and inf are no times
            yield Line(t, line)


# ANSI colour/cursor sequences, and the same as GitHub shows a pasted ESC (U+241B).
_ANSI = re.compile(r"(?:\x1b|\u241b)\[[0-9;?]*[ -/]*[@-~]")
# Serial-monitor time stamps, each `h:mm:ss[.fff]` plus the monitor's separator:
# Arduino IDE "Show timestamp" `12:34:56.789 -> `, PlatformIO `--filter time`
# `12:34:56.789 > `, and bracketed tool stamps `[12:34:56.789] ` /
# `[2023-04-22 10:39:43.556] `. A bare `12:34:56 ` counts only before a log bracket.
_MONITOR_STAMP = re.compile(
    r"^(?:\[(?:\d{4}-\d\d-\d\d[ T])?(\d{1,2}):(\d\d):(\d\d)(?:[.,](\d{1,6}))?\]\s?"
    r"|(\d{1,2}):(\d\d):(\d\d)(?:[.,](\d{1,6}))?(?: ?->|\s>)\s?"
    r"|(\d{1,2}):(\d\d):(\d\d)(?:[.,](\d{1,6}))? (?=\[))"
)
_FENCE = re.compile(r"^\s*(```|~~~)")
# A reply on GitHub quotes the log it answers: `> line`, `> > line`.
# `>` must be followed by a blank (or end the line), so `>>>stack>>>` is not a quote.
_QUOTE = re.compile(r"^(?:>[ \t])+|^(?:> ?)*>$")

# A reporter's remark after a log line: `line **<== why?**`, `line <-- here`,
# `line // note`. Only after text and a blank, so `<<<stack<<<` and URLs stay whole.
_REMARK = re.compile(r"(?<=\S)[ \t]+(?:\*\*.*\*\*|(?:<=+|<-+|\u2190)[ \t].*|//[ \t].*)[ \t]*$")

# Lines of a paste without stamps are spaced this far apart so they keep their order.
PASTE_STEP = 0.001
_HALF_DAY = 12 * 3600


def _stamp(m: re.Match[str]) -> float:
    g = m.groups()
    i = 0 if g[0] is not None else 4 if g[4] is not None else 8
    h, mi, s, frac = g[i : i + 4]
    t = int(h) * 3600 + int(mi) * 60 + int(s)
    return t + int(frac) / 10 ** len(frac) if frac else float(t)


def read_pasted_log(text: str) -> list[Line]:
    """Lines of a log as pasted into an issue: CRLF, ANSI colours, markdown fences,
    quote markers, serial-monitor timestamps, remarks at line ends, NUL and invalid
    bytes are tolerated; the line order is kept (a line without a stamp comes just
    after the line before it)."""
    out = list(iter_pasted_lines(text.removeprefix("\ufeff").replace("\r\n", "\n").split("\n")))
    while out and not out[-1].text.strip():
        out.pop()
    return out


# What a serial monitor shows for line noise at a line's end: NUL, the replacement
# character of an undecodable byte, other C0 controls (a tab is text: axTLS aligns with it).
_LINE_END_NOISE = "\x00\ufffd\r\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f"


# Cleaned lines kept by their raw text (a big log repeats a few lines); bounded.
_CLEAN_MEMO_MAX = 4096
_CLEAN_MEMO_TEXT_MAX = 200
_FENCE_LINE = "\x00fence"  # the memo's mark for a fence line, which gives no Line


def _clean(line: str) -> str:
    """A line without its quote marker, ANSI colours and NULs (stamp and remark apart)."""
    if "\x00" in line:
        line = line.replace("\x00", "")
    if "\x1b" in line or "\u241b" in line:
        line = _ANSI.sub("", line)
    if line[:1] == ">" and (q := _QUOTE.match(line)):
        line = line[q.end() :]
    return line


# arduino-esp32 2.x's milliseconds before a log line's level (`[  4706][V]`): lines that
# differ only there are cleaned alike, so the memo keeps the rest of the line.
_ARDUINO_MS = re.compile(r"\[\s*\d+\](?=\[[VDIWE]\])")


def _may_have_remark(line: str) -> bool:
    """Whether _REMARK can match: each of its forms needs one of these."""
    return "**" in line or "<=" in line or "<-" in line or "\u2190" in line or "//" in line


# A block of raw lines that has none of these needs no cleaning: each line is its text
# without the line end. Checked on the block's text at once, not line by line: a noise
# character anywhere (NUL, C0 controls, U+FFFD, a pasted ESC), a line starting as a
# quote, a serial-monitor stamp or a fence, and each remark's mark.
_NOISE_CHARS = re.compile("[" + re.escape(_LINE_END_NOISE) + "\x1b\u241b\u2190]")
_ASCII_NOISE = "".join(c for c in _LINE_END_NOISE + "\x1b" if c.isascii()).encode()
_LINE_STARTS = re.compile(r"\n(?:[\d>]|\[(?:\d{1,2}:|\d{4}-)|\s*(?:```|~~~))")
_SPACED_SLASHES = re.compile(r"[ \t]//[ \t]")
# Raw lines taken at once for that check.
_BLOCK_LINES = 2048
_SKIP_MAX = 16


def _block_text(block: list[str]) -> str:
    """A block's raw lines as one text after a "\n", CRLF line ends made LF (the CR is line-end
    noise, which line-by-line cleaning cuts too; a CR anywhere else is still noise)."""
    text = "\n" + "".join(block)
    return text.replace("\r\n", "\n") if "\r" in text else text


def _noisy(text: str, lines: int) -> bool:
    """Whether a block's text ("\n" + its raw lines) has a line without its one line end,
    a noise character or a remark's mark anywhere: then its lines are cleaned one by one."""
    if text.count("\n") != lines + 1:
        return True
    if text.isascii():
        # bytes.translate drops the noise bytes at C speed: a shorter result had some.
        raw = text.encode("ascii")
        if len(raw.translate(None, _ASCII_NOISE)) != len(raw):
            return True
    elif _NOISE_CHARS.search(text):
        return True
    # A one-character `in` is a memchr; a two-character one scans far slower, so it runs
    # only on a block that has the first character at all.
    if ("*" in text and "**" in text) or ("<" in text and ("<=" in text or "<-" in text)):
        return True
    return "//" in text and _SPACED_SLASHES.search(text) is not None


def _clean_block(block: list[str]) -> list[str] | None:
    """The texts of a block of raw lines when each ends in one line end and none needs
    cleaning, else None (the caller cleans it line by line)."""
    text = _block_text(block)
    if _noisy(text, len(block)) or _LINE_STARTS.search(text):
        return None
    texts = text.split("\n")
    texts.pop()  # after the last line end
    del texts[0]  # before the first line
    return texts


def iter_pasted_lines(raw_lines: Iterable[str]) -> Iterator[Line]:
    """`read_pasted_log` one line at a time, for logs too big to hold: each raw line
    (with or without its line end) gives one Line.

    The raw lines are taken in blocks: a block none of whose lines needs cleaning (most
    of a long log) gives its lines at once, any other is cleaned line by line."""
    state = _PasteState()
    raw_iter = iter(raw_lines)
    # After a block that needed cleaning, the next ones likely do too (a paste's remarks,
    # a monitor's stamps on every line): their check is skipped, for twice as many
    # blocks each time, up to _SKIP_MAX, until a checked block is clean again.
    skip = backoff = 0
    while block := list(islice(raw_iter, _BLOCK_LINES)):
        texts = None
        if skip:
            skip -= 1
        elif not state.first:
            texts = _clean_block(block)
            if texts is None and (stamped := _stamped_block(block, state)) is not None:
                backoff = 0
                yield from stamped
                continue
            if texts is None:
                backoff = min(2 * backoff or 1, _SKIP_MAX)
                skip = backoff
            else:
                backoff = 0
        if texts is None:
            yield from _clean_lines(block, state)
            continue
        times = accumulate(repeat(PASTE_STEP, len(texts)), initial=state.prev)
        next(times)  # the time before the block
        # tuple.__new__(Line, (t, text)): the NamedTuple made in C, not by its Python __new__.
        lines = list(map(tuple.__new__, repeat(Line), zip(times, texts, strict=True)))
        state.prev = lines[-1].t
        yield from lines


# Every line of a block stamped by the Arduino IDE's serial monitor (`12:34:56.789 -> `),
# read at once: one findall over the block's text, which must find every line.
_IDE_STAMPED = re.compile(r"\n(\d{1,2}):(\d\d):(\d\d)\.(\d{3}) -> ([^\n]*)")


def _stamped_block(block: list[str], state: _PasteState) -> list[Line] | None:
    """The Lines of a block each of whose lines carries the Arduino IDE's stamp and whose
    rests need no cleaning, as _clean_lines reads them; else None."""
    text = _block_text(block)
    n = len(block)
    if text[1:2] not in _DIGITS or _noisy(text, n):
        return None
    found = _IDE_STAMPED.findall(text)
    if len(found) != n:
        return None
    out: list[Line] = []
    prev = state.prev
    for h, mi, sec, ms, rest in found:
        stamp = int(h) * 3600 + int(mi) * 60 + int(sec) + int(ms) / 1000
        if stamp < prev - _HALF_DAY:  # past midnight
            stamp += 24 * 3600
        if stamp > prev:
            prev = stamp
        out.append(_tuple_new(Line, (prev, rest)))  # Line(prev, rest), made in C
    state.prev = prev
    return out


_DIGITS = frozenset("0123456789")
_tuple_new = tuple.__new__


@dataclass
class _PasteState:
    """What reading a paste carries from line to line."""

    prev: float = -PASTE_STEP  # the last line's time
    first: bool = True  # no line given yet (a BOM may start the next)
    memo: dict[str, str] = field(default_factory=dict)  # cleaned lines by raw text


def _clean_lines(raw_lines: list[str], state: _PasteState) -> list[Line]:
    """The Lines of raw lines cleaned one by one (fences give none)."""
    out: list[Line] = []
    prev, first, memo = state.prev, state.first, state.memo
    for raw in raw_lines:
        c = raw[:1]
        if (c == "[" or c.isdigit()) and (sm := _MONITOR_STAMP.match(raw)) is not None:
            # A serial monitor's stamp first: its time, then the rest of the line read as
            # a stamp-free line would be (through the memo, its key marked \x02), but for
            # what only a line's very start can be (a fence, a quote, a second stamp).
            first = False
            stamp = _stamp(sm)
            if stamp < prev - _HALF_DAY:  # past midnight
                stamp += 24 * 3600
            prev = max(stamp, prev)
            out.append(Line(prev, _clean_rest(raw[sm.end() :], memo)))
            continue
        key, prefix = raw, ""
        if c == "[" and (ms := _ARDUINO_MS.match(raw)):
            prefix = raw[: ms.end()]
            key = "\x01" + raw[ms.end() :]  # \x01: no raw line is such a key
        seen = memo.get(key)
        if seen is not None:
            # A line without a stamp read before: only its time is new.
            if seen is _FENCE_LINE:
                continue
            prev += PASTE_STEP
            out.append(Line(prev, prefix + seen))
            continue
        line = raw.rstrip("\n").rstrip(_LINE_END_NOISE)
        if first:
            line, first = line.removeprefix("\ufeff"), False
        line = _clean(line)
        if ("``" in line or "~~" in line) and _FENCE.match(line):
            if len(raw) <= _CLEAN_MEMO_TEXT_MAX:
                memo[key] = _FENCE_LINE
            continue
        t = prev + PASTE_STEP
        m = _MONITOR_STAMP.match(line) if line[:1].isdigit() or line[:1] == "[" else None
        if m is not None:
            stamp = _stamp(m)
            if stamp < prev - _HALF_DAY:  # past midnight
                stamp += 24 * 3600
            t = max(stamp, prev)
            line = line[m.end() :]
        if _may_have_remark(line):
            line = _REMARK.sub("", line)
        if m is None and len(raw) <= _CLEAN_MEMO_TEXT_MAX and line.startswith(prefix):
            _remember(memo, key, line[len(prefix) :])
        out.append(Line(t, line))
        prev = t
    state.prev, state.first = prev, first
    return out


def _clean_rest(rest: str, memo: dict[str, str]) -> str:
    """The text of a line after its serial-monitor stamp: NULs, colours and a remark
    taken out, the line end and its noise cut."""
    key, prefix = "\x02" + rest, ""
    if rest[:1] == "[" and (ms := _ARDUINO_MS.match(rest)):
        prefix = rest[: ms.end()]
        key = "\x02" + rest[ms.end() :]
    seen = memo.get(key)
    if seen is not None:
        return prefix + seen
    line = rest.rstrip("\n").rstrip(_LINE_END_NOISE)
    if "\x00" in line:
        line = line.replace("\x00", "")
    if "\x1b" in line or "\u241b" in line:
        line = _ANSI.sub("", line)
    if _may_have_remark(line):
        line = _REMARK.sub("", line)
    if len(rest) <= _CLEAN_MEMO_TEXT_MAX and line.startswith(prefix):
        _remember(memo, key, line[len(prefix) :])
    return line


def _remember(memo: dict[str, str], key: str, cleaned: str) -> None:
    if len(memo) >= _CLEAN_MEMO_MAX:
        memo.clear()
    memo[key] = cleaned


def serial_event(
    t: float, kind: str, text: str, direction: Direction | None = None, fields: Any = None
) -> Event:
    """Event(t=t, source=SERIAL, kind=kind, direction=direction, fields=fields, text=text),
    made without the frozen dataclass's __init__ (a setattr per field): a big log makes
    one per line. The same object, field for field, as Event(...) makes."""
    e = _new(Event)
    _setattr(
        e,
        "__dict__",
        {
            "t": t,
            "source": _SERIAL,
            "kind": kind,
            "direction": direction,
            "fields": {} if fields is None else fields,
            "text": text,
            "stream": None,
        },
    )
    return e


_new = object.__new__
_setattr = object.__setattr__
_SERIAL = Source.SERIAL


def stack_event(
    stack: str, t: float, kind: str, text: str, direction: Direction | None = None, /, **fields: Any
) -> Event:
    """A serial event a stack's parser made of one line, tagged with the stack."""
    return serial_event(t, kind, text, direction, {"stack": stack, **fields})
