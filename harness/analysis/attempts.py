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

from harness.analysis.logformats import stable_text
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


def _starts_handshake(e: Event) -> bool:
    return (
        e.kind == "log_state"
        and e.direction is Direction.C2S
        and e.fields.get("handshake_type") == 1
    )


@dataclass
class _Open:
    """The attempt being read: its events (bounded) and what it has seen."""

    first_line: int
    head: list[Event] = field(default_factory=list)
    tail: list[Event] = field(default_factory=list)
    dropped: int = 0
    connect_started: bool = False
    hello_sent: bool = False
    ended: bool = False
    last_line: int = 0

    def add(self, e: Event, line: int) -> None:
        self.last_line = line
        if len(self.head) < MAX_EVENTS // 2:
            self.head.append(e)
            return
        self.tail.append(e)
        if len(self.tail) > MAX_EVENTS // 2:
            del self.tail[: MAX_EVENTS // 4]  # amortised: drop a quarter at a time
            self.dropped += MAX_EVENTS // 4

    @property
    def events(self) -> list[Event]:
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


def split_attempts(events: Iterable[Event]) -> Iterator[AttemptLog]:
    """The attempts of a serial log, in order. A log with no attempt in it (only a boot,
    say) is one attempt, so it is still diagnosed."""
    context: list[Event] = []
    dump: list[Event] = []  # the latest certificate dump (setCACert prints it again)
    pending: list[Event] = []  # after an attempt ended, before the next one starts
    current: _Open | None = None
    index = 0
    line = 0

    def close(attempt: _Open) -> AttemptLog:
        nonlocal index
        index += 1
        events = attempt.events
        return AttemptLog(
            index,
            attempt.first_line,
            attempt.last_line,
            tuple(context + dump),
            tuple(events),
            attempt.dropped,
        )

    def keep(bucket: list[Event], e: Event) -> None:
        bucket.append(e)
        if len(bucket) > 2 * _CONTEXT_MAX:
            del bucket[:_CONTEXT_MAX]

    for e in events:
        line += 1
        kind = e.kind
        if kind == "log_other":
            if current is not None:
                current.last_line = line
            continue
        if kind in _REBOOT_KINDS and (
            current is not None
            or dump
            or pending
            or any(c.kind not in _REBOOT_KINDS for c in context)
        ):
            # A boot prints several banner lines: only the first after other lines resets.
            if current is not None:
                yield close(current)
                current = None
            context, dump, pending = [], [], []
        hello = kind == "log_state" and _starts_handshake(e)
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
                keep(dump, e)
            elif kind in _CONTEXT_KINDS:
                keep(context, e)
            else:
                keep(pending, e)
            continue
        current.add(e, line)
        current.connect_started |= kind == "connect_start"
        current.hello_sent |= hello
        current.ended |= kind == "connect_result"
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


def _stable(e: Event) -> str:
    if e.kind == "log_heap":
        return _DIGITS.sub("#", e.text)
    return stable_text(e)


def _signature(attempt: AttemptLog) -> tuple:
    return tuple((e.kind, e.direction, _stable(e)) for e in (*attempt.context, *attempt.events))


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
    cache: dict[tuple, Diagnosis] = {}
    results: list[AttemptResult] = []
    causes: Counter[str] = Counter()
    latest: dict[str, tuple[int, Diagnosis]] = {}  # cause -> (attempt, its diagnosis)
    last: Diagnosis | None = None
    lines = 0
    count = 0
    for attempt in split_attempts(events):
        count += 1
        key = _signature(attempt)
        d = cache.get(key)
        if d is None:
            d = diagnose_one([*attempt.context, *attempt.events])
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
