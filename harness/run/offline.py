"""Diagnosis of artifacts from elsewhere (layer 4): a serial log pasted from an issue,
a capture a user sent, or both. It reads files and runs tshark, then hands the events
to the same pure analysis a live run uses."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.analysis.correlate import build_timeline
from harness.analysis.diagnose import Context, diagnose
from harness.analysis.logformats import AUTO, detect_stack, parse_serial
from harness.analysis.logformats.lines import read_pasted_log, read_serial_log
from harness.instruments.tshark import analyze_capture, guess_server_port
from harness.model import Diagnosis, Event, Timeline
from harness.model.errors import ConfigError, HilError


@dataclass(frozen=True)
class OfflineResult:
    stack: str | None
    timeline: Timeline
    diagnosis: Diagnosis


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError as exc:
        raise HilError(
            f"cannot read the {what} {path}", seen=str(exc), fix="check the path"
        ) from None


def diagnose_files(
    *,
    serial: Path | None,
    pcap: Path | None,
    keylog: Path | None = None,
    port: int | None = None,
    stack: str = AUTO,
) -> OfflineResult:
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
        if keylog is not None and not keylog.is_file():
            raise ConfigError(f"key log {keylog} does not exist", fix="check the --keylog path")
        server_port = port if port is not None else guess_server_port(pcap)
        events.append(list(analyze_capture(pcap, keylog, server_port).events))
    timeline = build_timeline(*events, same_clock=same_clock)
    return OfflineResult(found_stack, timeline, diagnose(timeline, Context(stack=found_stack)))
