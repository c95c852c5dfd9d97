"""Diagnosis of artifacts from elsewhere (layer 4): a serial log pasted from an issue,
a capture a user sent, or both. It reads files and runs tshark, then hands the events
to the same pure analysis a live run uses."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

from harness.analysis.attempts import LogDiagnosis, diagnose_readings
from harness.analysis.correlate import build_timeline
from harness.analysis.diagnose import Context, diagnose
from harness.analysis.logformats import (
    AUTO,
    Reading,
    detect_stack,
    detect_stack_in_text,
    event_of,
    iter_serial_events,
    iter_serial_readings,
    parse_serial,
)
from harness.analysis.logformats.coreversion import CoreReader, CoreReading
from harness.analysis.logformats.lines import (
    Line,
    iter_pasted_lines,
    iter_serial_log,
    read_pasted_log,
    read_serial_log,
)
from harness.instruments.tshark import analyze_capture, guess_server_port
from harness.model import Diagnosis, Event, Timeline
from harness.model.errors import CaptureError, ConfigError

# A harness serial.log line: `<epoch>\t<text>`.
_SERIAL_LOG_LINE = re.compile(r"^\d{9,}(?:\.\d*)?\t")


@dataclass(frozen=True)
class OfflineResult:
    stack: str | None
    timeline: Timeline | None  # None for a serial log alone: read in one pass, not held
    diagnosis: Diagnosis
    attempts: LogDiagnosis | None = None  # a serial log alone: each attempt's diagnosis
    core: CoreReading | None = None  # what a serial log tells of the core release


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError as exc:
        raise ConfigError(
            f"cannot read the {what} {path}", seen=exc.strerror or str(exc), fix="check the path"
        ) from None


class _SerialFile:
    """A serial log read line by line, as often as needed (stack detection, then
    parsing), so a log of any size is diagnosed in bounded memory."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.harness_format = False
        for raw in self._raw():
            if raw.strip():
                self.harness_format = bool(_SERIAL_LOG_LINE.match(raw))
                break

    def _raw(self) -> Iterator[str]:
        try:
            with self.path.open(encoding="utf-8", errors="replace", newline="") as f:
                yield from f
        except OSError as exc:
            raise ConfigError(
                f"cannot read the serial log {self.path}",
                seen=exc.strerror or str(exc),
                fix="check the --serial path",
            ) from None

    def chunks(self, size: int = 1 << 20) -> Iterator[str]:
        try:
            with self.path.open(encoding="utf-8", errors="replace") as f:
                while chunk := f.read(size):
                    yield chunk
        except OSError as exc:
            raise ConfigError(
                f"cannot read the serial log {self.path}",
                seen=exc.strerror or str(exc),
                fix="check the --serial path",
            ) from None

    def lines(self) -> Iterator[Line]:
        if self.harness_format:
            return iter_serial_log(self._raw())
        return iter_pasted_lines(self._raw())


def diagnose_serial_log(path: Path, stack: str = AUTO) -> OfflineResult:
    """A serial log alone, every attempt in it diagnosed; streamed, so a 50 MB log takes
    no more memory than a small one."""
    _check_file(path, "serial log", "--serial")
    log = _SerialFile(path)
    found = detect_stack_in_text(log.chunks()) if stack == AUTO else stack
    context = Context(stack=found)

    def one(events: list[Event]) -> Diagnosis:
        return diagnose(build_timeline(events, same_clock=log.harness_format), context)

    reader = CoreReader()

    def read(readings: Iterator[Reading]) -> Iterator[Reading]:
        for r in readings:
            reader.feed(event_of(r))
            yield r
            if reader.done:
                return

    readings = iter_serial_readings(log.lines(), found)
    # The rest of the lines, once the reader is done, go on through chain (in C), not
    # through this generator: most lines of a big log.
    result = diagnose_readings(chain(read(readings), readings), one)
    return OfflineResult(found, None, result.main, result, reader.reading())


def serial_log_events(path: Path, stack: str | None) -> Iterator[Event]:
    """The events of a serial log file (a harness serial.log or a paste), streamed."""
    log = _SerialFile(path)
    return iter_serial_events(log.lines(), stack)


def _check_file(path: Path, what: str, option: str) -> None:
    if path.is_dir():
        raise ConfigError(
            f"the {what} {path} is a folder", fix=f"give {option} the file itself, not its folder"
        )
    if not path.is_file():
        raise ConfigError(f"the {what} {path} does not exist", fix=f"check the {option} path")


def diagnose_files(
    *,
    serial: Path | None,
    pcap: Path | None,
    keylog: Path | None = None,
    port: int | None = None,
    stack: str = AUTO,
) -> OfflineResult:
    if serial is not None and pcap is None:
        return diagnose_serial_log(serial, stack)
    events: list[list[Event]] = []
    found_stack: str | None = None if stack == AUTO else stack
    same_clock = True
    if serial is not None:
        text = _read(serial, "serial log")
        # A harness serial.log has epoch stamps, the capture's clock; a paste has its own.
        lines = read_serial_log(text)
        if not lines:
            lines, same_clock = read_pasted_log(text), False
        if stack == AUTO:
            found_stack = detect_stack(lines)
        events.append(parse_serial(lines, found_stack))
    if pcap is not None:
        _check_file(pcap, "capture", "--pcap")
        if keylog is not None:
            _check_file(keylog, "key log", "--keylog")
        try:
            server_port = port if port is not None else guess_server_port(pcap)
            events.append(list(analyze_capture(pcap, keylog, server_port).events))
        except CaptureError as exc:
            # The file the user gave cannot be read as a capture: bad input, not the machine.
            raise ConfigError(exc.what, seen=exc.seen, fix=exc.fix, log=exc.log) from None
    timeline = build_timeline(*events, same_clock=same_clock)
    return OfflineResult(found_stack, timeline, diagnose(timeline, Context(stack=found_stack)))
