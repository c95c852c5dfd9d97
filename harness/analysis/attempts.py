"""A serial log cut into connection attempts, each diagnosed on its own, in bounded
memory (pure).

People paste logs with many attempts (a sketch that retries every few seconds), or
attach megabytes of them. Each attempt gets its own diagnosis; a reboot, a sketch's
"Connecting to ..." or a second ClientHello starts the next one. What a later attempt
needs from before it (the boot banner with the core version, the certificate dump of
`setCACert`, the trust set-up, the clock) is kept as context; lines no parser knows are
counted, not kept. Attempts that look the same are diagnosed once.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from harness.analysis.logformats import Reading, event_of, stable_text
from harness.model import Confidence, Diagnosis, Direction, Event

# Kinds that describe the set-up an attempt runs in, kept across attempts.
_CONTEXT_KINDS = frozenset({"boot", "log_boot", "log_trust", "log_clock", "log_mfln"})
# A reboot: the context starts anew.
_REBOOT_KINDS = frozenset({"log_reset", "log_boot", "boot"})
# What a stack prints after the sketch's "Connection failed" still belongs to the attempt.
_AFTER_END_KINDS = frozenset({"log_alert", "log_error", "connect_result"})
# An attempt holds at most this many events: its first and its last half (a log that
# loops inside one attempt must not grow without bound). Real attempts have far fewer.
MAX_EVENTS = 4000
_CONTEXT_MAX = 400


_C2S = Direction.C2S
# Kinds that count, cut, start or end an attempt; a line of any other kind (or a
# log_state that sends no ClientHello) in an open attempt that has not ended is only added.
_CUTTING_KINDS = _REBOOT_KINDS | {"log_other", "connect_start", "connect_result"}


def _hello(e: Event) -> bool:
    """A ClientHello sent (a log_state event's): the start of a handshake."""
    return e.direction is _C2S and e.fields.get("handshake_type") == 1


@dataclass
class _Open:
    """The attempt being read: its lines' readings (bounded) and what it has seen."""

    first_line: int
    head: list[Reading] = field(default_factory=list)
    tail: list[Reading] = field(default_factory=list)
    dropped: int = 0
    connect_started: bool = False
    hello_sent: bool = False
    ended: bool = False
    last_line: int = 0

    def add(self, r: Reading, line: int) -> None:
        self.last_line = line
        if len(self.head) < MAX_EVENTS // 2:
            self.head.append(r)
            return
        self.tail.append(r)
        if len(self.tail) > MAX_EVENTS // 2:
            del self.tail[: MAX_EVENTS // 4]  # amortised: drop a quarter at a time
            self.dropped += MAX_EVENTS // 4

    @property
    def readings(self) -> list[Reading]:
        return self.head + self.tail


class AttemptLog(NamedTuple):
    """One attempt's events with the context before it; lines are 1-based. (Immutable; a
    NamedTuple, as Line, because a big log has tens of thousands.)"""

    index: int
    first_line: int
    last_line: int
    context: tuple[Event, ...]
    events: tuple[Event, ...]
    dropped: int = 0  # events left out of the middle of a very long attempt


class _AttemptReadings(NamedTuple):
    """An AttemptLog whose context and events are still the lines' readings: most
    attempts of a big log are diagnosed already and never need their events made."""

    index: int
    first_line: int
    last_line: int
    context: tuple[Reading, ...]
    readings: tuple[Reading, ...]
    dropped: int

    def log(self) -> AttemptLog:
        return AttemptLog(
            self.index,
            self.first_line,
            self.last_line,
            tuple(map(event_of, self.context)),
            tuple(map(event_of, self.readings)),
            self.dropped,
        )


def split_attempts(events: Iterable[Event]) -> Iterator[AttemptLog]:
    """The attempts of a serial log, in order. A log with no attempt in it (only a boot,
    say) is one attempt, so it is still diagnosed."""
    for attempt in _split_readings((e, None, None) for e in events):
        yield attempt.log()


def _split_readings(readings: Iterable[Reading]) -> Iterator[_AttemptReadings]:
    """split_attempts over the lines' readings: what cuts the attempts (kind, direction,
    fields) is the same in a line's event and in the reading it shares."""
    context: list[Reading] = []
    dump: list[Reading] = []  # the latest certificate dump (setCACert prints it again)
    pending: list[Reading] = []  # after an attempt ended, before the next one starts
    current: _Open | None = None
    index = 0
    line = 0

    def close(attempt: _Open) -> _AttemptReadings:
        nonlocal index
        index += 1
        return _AttemptReadings(
            index,
            attempt.first_line,
            attempt.last_line,
            tuple(context + dump),
            tuple(attempt.readings),
            attempt.dropped,
        )

    def keep(bucket: list[Reading], r: Reading) -> None:
        bucket.append(r)
        if len(bucket) > 2 * _CONTEXT_MAX:
            del bucket[:_CONTEXT_MAX]

    half = MAX_EVENTS // 2
    for line, r in enumerate(readings, 1):
        e = r[0]
        kind = e.kind
        if (
            current is not None
            and not current.ended
            and kind not in _CUTTING_KINDS
            and len(current.head) < half
            and not (kind == "log_state" and _hello(e))
        ):
            # Most lines: one more of the open attempt's, all that the rest below does
            # with it.
            current.head.append(r)
            current.last_line = line
            continue
        if kind == "log_other":
            if current is not None:
                current.last_line = line
            continue
        if kind in _REBOOT_KINDS and (
            current is not None
            or dump
            or pending
            or any(c[0].kind not in _REBOOT_KINDS for c in context)
        ):
            # A boot prints several banner lines: only the first after other lines resets.
            if current is not None:
                yield close(current)
                current = None
            context, dump, pending = [], [], []
        hello = kind == "log_state" and _hello(e)
        starts = hello or kind == "connect_start"
        if starts and current is not None:
            # "Connecting to" then its ClientHello is one attempt; anything else after
            # a ClientHello, an end or a second "Connecting to" is the next one.
            same = hello and current.connect_started and not (current.hello_sent or current.ended)
            if not same:
                yield close(current)
                current = None
        if current is None and (starts or kind == "connect_result"):
            current = _Open(first_line=line)
            for p in pending:
                current.add(p, line)
            pending = []
        if current is None or (current.ended and kind not in _AFTER_END_KINDS):
            if kind == "log_cert":
                if e.fields.get("header") and e.fields.get("section") == "subject":
                    dump = []  # a new dump begins ("=== CERTIFICATE ISSUED TO ===")
                keep(dump, r)
            elif kind in _CONTEXT_KINDS:
                keep(context, r)
            else:
                keep(pending, r)
            continue
        if len(current.head) < half:  # current.add(r, line), inlined: most lines
            current.head.append(r)
            current.last_line = line
        else:
            current.add(r, line)
        if kind == "connect_start":
            current.connect_started = True
        elif kind == "connect_result":
            current.ended = True
        current.hello_sent |= hello
    if current is not None:
        for p in pending:
            current.add(p, line)
        yield close(current)
    elif index == 0:
        # Nothing started an attempt: the whole log is one, diagnosed as it is.
        first = _Open(first_line=1, last_line=line)
        for p in pending:
            first.add(p, line)
        yield close(first)


class AttemptResult(NamedTuple):
    """One attempt's outcome: its cause, not its whole diagnosis, so ten thousand of
    them stay small (the diagnoses that speak for the log are kept whole). A NamedTuple,
    as AttemptLog."""

    index: int
    first_line: int
    last_line: int
    cause: str | None
    confidence: Confidence
    dropped: int = 0


@dataclass(frozen=True)
class LogDiagnosis:
    """Every attempt's cause, and the diagnosis that speaks for the log."""

    attempts: tuple[AttemptResult, ...]  # the first and the latest, up to `keep`
    main: Diagnosis
    lines: int
    count: int  # attempts in the log, kept or not

    def runs(self) -> list[tuple[int, int, str | None, int]]:
        """Consecutive attempts with the same cause as (first, last, cause, count)."""
        out: list[tuple[int, int, str | None, int]] = []
        for a in self.attempts:
            if out and out[-1][2] == a.cause:
                first, _, _, n = out[-1]
                out[-1] = (first, a.index, a.cause, n + 1)
            else:
                out.append((a.index, a.index, a.cause, 1))
        return out


# What differs between two runs of the same attempt without changing its diagnosis: the
# milliseconds at a line's start (memo_text), and the heap a line reports.
_DIGITS = re.compile(r"\d+")


_SIGNED = "_attempt_signature"  # a reading's part of the signature, kept in its event


def _signed(r: Reading) -> tuple:
    """A line's part of its attempt's signature: (kind, direction, text without the
    milliseconds). A heap line's figures are taken out too; its line's text is read, as
    the milliseconds' padding may differ from the shared event's. Any other line's part
    is its shared event's, kept in that event (outside its fields, as stable_text)."""
    e, _, text = r
    d = e.__dict__
    part = d.get(_SIGNED)
    if part is not None:
        return part
    if e.kind == "log_heap":
        return (e.kind, e.direction, _DIGITS.sub("#", e.text if text is None else text))
    part = d[_SIGNED] = (e.kind, e.direction, stable_text(e))
    return part


def _signature(attempt: _AttemptReadings) -> tuple:
    # A part kept in its event is taken without a call (a part is a non-empty tuple).
    return tuple(
        [r[0].__dict__.get(_SIGNED) or _signed(r) for r in (*attempt.context, *attempt.readings)]
    )


_CACHE_MAX = 256


def diagnose_attempts(
    events: Iterable[Event],
    diagnose_one: Callable[[list[Event]], Diagnosis],
    *,
    keep: int = 10_000,
) -> LogDiagnosis:
    """Diagnose each attempt with `diagnose_one` (events -> Diagnosis). Attempts with
    the same events (by kind, direction and text, but for a line's milliseconds and the
    heap it reports) share one diagnosis; at most `keep`
    results are held (the first half and the latest), so a huge log stays bounded.

    The log's own diagnosis is the commonest named cause of its failed attempts (the
    latest on a tie); with none named, the last attempt's."""
    return diagnose_readings(((e, None, None) for e in events), diagnose_one, keep=keep)


def diagnose_readings(
    readings: Iterable[Reading],
    diagnose_one: Callable[[list[Event]], Diagnosis],
    *,
    keep: int = 10_000,
) -> LogDiagnosis:
    """diagnose_attempts over the lines' readings (logformats.iter_serial_readings): an
    attempt's events are made only when its diagnosis is not known yet."""
    cache: dict[tuple, Diagnosis] = {}
    results: list[AttemptResult] = []
    causes: Counter[str] = Counter()
    latest: dict[str, tuple[int, Diagnosis]] = {}  # cause -> (attempt, its diagnosis)
    last: Diagnosis | None = None
    lines = 0
    count = 0
    for attempt in _split_readings(readings):
        count += 1
        key = _signature(attempt)
        d = cache.get(key)
        if d is None:
            d = diagnose_one([*map(event_of, attempt.context), *map(event_of, attempt.readings)])
            if len(cache) < _CACHE_MAX:
                cache[key] = d
        if len(results) >= keep:
            del results[keep // 2]  # keep the first half and the most recent
        results.append(
            AttemptResult(
                attempt.index,
                attempt.first_line,
                attempt.last_line,
                d.cause,
                d.confidence,
                attempt.dropped,
            )
        )
        lines = attempt.last_line
        last = d
        if d.cause not in (None, "unknown"):
            causes[d.cause] += 1
            latest[d.cause] = (count, d)
    if last is None:
        raise ValueError("split_attempts yields at least one attempt")
    if causes:
        top = max(causes.values())
        best = max((c for c, n in causes.items() if n == top), key=lambda c: latest[c][0])
        main = latest[best][1]
    else:
        main = last
    return LogDiagnosis(tuple(results), main, lines, count)
