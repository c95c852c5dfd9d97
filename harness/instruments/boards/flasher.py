"""Flash a real board only when needed: reset it, read `HIL:BOOT build=`, and upload
with esptool only when that id differs from the firmware's.

The port is locked for the whole sequence (locks.port_lock), a serial reader given
to us is paused while esptool owns the port (try/finally), a port without modem
lines (a pty, some adapters) is driven by esptool's own commands instead of DTR/RTS,
and every failure names the port and the fix.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import serial

from harness.instruments import procs
from harness.instruments.boards import locks, ports
from harness.instruments.boards.bench import BenchBoard
from harness.instruments.boards.firmware import BOOT_LINE, firmware_build_id
from harness.instruments.serial_monitor import SerialMonitor, set_modem_lines
from harness.model.errors import ConfigError, DeadlineError, SerialError, ToolFailedError

log = logging.getLogger(__name__)

ESPTOOL_TIMEOUT = 300.0
RESET_HOLD = 0.1  # EN held low, as esptool's hard reset
# The flasher stub's RUN_USER_CODE (0xD3), SLIP-framed: how a port without modem lines
# leaves the stub for the app once the reader is listening.
RUN_USER_CODE = b"\xc0\x00\xd3\x00\x00\x00\x00\x00\x00\xc0"
CHIP_NAMES = {"esp8266": "ESP8266", "esp32": "ESP32"}
_WRONG_CHIP = re.compile(r"This chip is (\S+), not (\S+)")


@dataclass(frozen=True)
class BootRead:
    build_id: str | None
    seen: bytes
    modem_lines: bool


@dataclass(frozen=True)
class FlashResult:
    board: str
    port: str
    uploaded: bool
    build_id: str
    seconds: float
    attempts: int = 0

    def to_json(self) -> dict:
        return {
            "board": self.board,
            "port": self.port,
            "uploaded": self.uploaded,
            "build_id": self.build_id,
            "seconds": round(self.seconds, 3),
            "attempts": self.attempts,
        }


SetLines = Callable[..., bool]  # set_lines(dtr=..., rts=...) -> False without modem lines


def serial_lines(ser: serial.SerialBase) -> SetLines:
    """set_lines over a pyserial handle of our own (the flasher's short-lived one)."""

    def set_lines(*, dtr: bool, rts: bool) -> bool:
        return set_modem_lines(ser, dtr=dtr, rts=rts)

    return set_lines


def pulse_en(set_lines: SetLines) -> bool:
    """esptool's hard reset (EN low via RTS, GPIO0 high); False when the port has no
    modem lines."""
    if not set_lines(dtr=False, rts=True):
        return False
    time.sleep(RESET_HOLD)
    set_lines(dtr=False, rts=False)
    return True


def run_reset_command(board: BenchBoard, log_path: Path | None) -> None:
    procs.run(
        list(board.reset_command),
        timeout=30,
        log_path=log_path or Path("/dev/null"),
        append_log=True,
    ).check(f"reset command of board {board.name}", fix="run it by hand and fix it")


def read_boot(
    port: str,
    board: BenchBoard,
    *,
    timeout: float,
    kick: bytes = b"",
    log_path: Path | None = None,
) -> BootRead:
    """Open the port, reset the board its way, and read until the HIL:BOOT line or
    the deadline. `kick` is written once the reader is open (RUN_USER_CODE)."""
    try:
        ser = serial.serial_for_url(port, board.baud, timeout=0.05, exclusive=True)
    except (serial.SerialException, OSError) as exc:
        raise SerialError(
            f"board {board.name}: cannot open port {port}",
            seen=str(exc),
            fix="check the board is plugged in and no other program holds the port",
        ) from None
    with ser:
        # esptool may reset the board itself only through working DTR/RTS lines; with
        # reset = "none" or "command", or a port without them, the board must already
        # be in its loader and the app is started by RUN_USER_CODE.
        modem = board.reset == "dtr-rts"
        if kick:
            ser.write(kick)
        elif board.reset == "dtr-rts":
            modem = pulse_en(serial_lines(ser))
        elif board.reset == "command":
            run_reset_command(board, log_path)
        seen = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            seen += ser.read(max(1, ser.in_waiting))
            m = BOOT_LINE.search(seen)
            if m and seen[m.end() :].find(b"\n") >= 0:
                return BootRead(m.group(1).decode(), seen, modem)
        return BootRead(None, seen, modem)


def reset_through(monitor: SerialMonitor, board: BenchBoard, *, log_path: Path | None) -> None:
    """Reset the board its way while `monitor` keeps the port: the DTR/RTS pulse goes
    through the reader's own handle, so every byte of the boot reaches its log."""
    if board.reset == "dtr-rts":
        if not pulse_en(monitor.set_lines):
            raise ConfigError(
                f"board {board.name}: port {monitor.port} has no modem lines, so "
                'reset = "dtr-rts" cannot reset it',
                fix=f'set reset = "command" with a reset_command for board {board.name} '
                "in the bench file (a USB hub power cycle, a relay)",
            )
    elif board.reset == "command":
        run_reset_command(board, log_path)
    else:
        # reset = "none": a board held in its loader starts the app on RUN_USER_CODE; a
        # running one ignores it, and the wait for HIL:BOOT says so.
        monitor.write(RUN_USER_CODE)


def _no_boot_error(board: BenchBoard, port: str, boot: BootRead, timeout: float) -> DeadlineError:
    tail = boot.seen[-160:]
    garbled = sum(b >= 0x80 for b in tail) > len(tail) // 4
    hint = (
        f"the bytes look like a wrong baud rate: try baud = 115200 for board {board.name} "
        "in the bench file (the ESP8266 ROM itself prints at 74880)"
        if garbled
        else "check the board runs a sketch that prints HIL:BOOT build=<id> at start, "
        f"and that baud = {board.baud} is what it prints at"
    )
    return DeadlineError(
        f"board {board.name} on {port} printed no 'HIL:BOOT build=' line within {timeout:.0f} s",
        seen=f"{len(boot.seen)} bytes, the last: {tail!r}" if boot.seen else "nothing at all",
        fix=hint,
    )


def _esptool(
    port: str, board: BenchBoard, firmware: Path, *, modem: bool, log_path: Path
) -> procs.RunResult:
    return procs.run(
        [
            sys.executable,
            "-m",
            "esptool",
            "--chip",
            board.chip,
            "-p",
            port,
            "-b",
            str(board.upload_speed),
            "--before",
            "default-reset" if modem else "no-reset",
            # Without modem lines the app is started by RUN_USER_CODE once the reader
            # listens, so not one byte of its boot is lost.
            "--after",
            "hard-reset" if modem else "no-reset-stub",
            "write-flash",
            "0x0",
            str(firmware),
        ],
        timeout=ESPTOOL_TIMEOUT,
        log_path=log_path,
        append_log=True,
    )


def upload(port: str, board: BenchBoard, firmware: Path, *, modem: bool, log_path: Path) -> int:
    """esptool write-flash with one retry; returns the attempts it took. Before the
    retry a board esptool cannot reset itself is reset by its command."""
    for attempt in (1, 2):
        if attempt == 2 and not modem and board.reset == "command":
            run_reset_command(board, log_path)
        result = _esptool(port, board, firmware, modem=modem, log_path=log_path)
        if result.returncode == 0:
            return attempt
        output = result.output
        wrong = _WRONG_CHIP.search(output)
        if wrong:
            raise ConfigError(
                f"board {board.name} on {port}: esptool found an {wrong[1]}, but the bench "
                f"file says chip = {board.chip!r}",
                fix=f"set chip = {wrong[1].lower()!r} for board {board.name} in the bench "
                "file, or check that the port is the right board's",
                log=log_path,
            )
        log.info("esptool attempt %d on %s failed; %s", attempt, port, "retrying" * (attempt == 1))
    tail = "\n".join(output.splitlines()[-15:])
    raise ToolFailedError(
        f"board {board.name}: esptool could not flash {firmware.name} to {port} (2 attempts)",
        seen=tail,
        fix="check the cable and the port; a board without auto-reset needs GPIO0 held low "
        'at reset (or reset = "command" in the bench file)',
        log=log_path,
    )


@contextlib.contextmanager
def _paused(monitor: SerialMonitor | None) -> Iterator[None]:
    if monitor is None:
        yield
    else:
        with monitor.paused():
            yield


@contextlib.contextmanager
def _lock(port: str, take: bool) -> Iterator[None]:
    if not take:
        yield
        return
    with locks.port_lock(port):
        yield


def check_running(
    board: BenchBoard,
    build_id: str,
    *,
    log_path: Path,
    boot_timeout: float = 5.0,
    take_lock: bool = True,
) -> FlashResult:
    """Skip-flash mode: reset, read the running build id and upload nothing; an error
    that names both builds when the board runs another one."""
    start = time.monotonic()
    port = ports.resolve(board.port, board=board.name)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with _lock(port, take_lock):
        boot = read_boot(port, board, timeout=boot_timeout, log_path=log_path)
    if boot.build_id is None:
        raise _no_boot_error(board, port, boot, boot_timeout)
    if boot.build_id != build_id:
        raise ConfigError(
            f"board {board.name} on {port} runs build {boot.build_id}, but this run's "
            f"firmware is build {build_id}, and --hil-skip-flash trusts the board",
            fix="drop --hil-skip-flash (ini hil_skip_flash) so the harness flashes it, or "
            f"flash it first: hil flash --board {board.name} --firmware <that build's .bin>",
        )
    return FlashResult(board.name, port, False, build_id, time.monotonic() - start)


def flash_if_needed(
    board: BenchBoard,
    firmware: Path,
    *,
    log_path: Path,
    build_id: str | None = None,
    monitor: SerialMonitor | None = None,
    boot_timeout: float = 5.0,
    take_lock: bool = True,
) -> FlashResult:
    """Reset, read the running build id, upload only when it differs, then check the
    board boots the new build. The port is locked (unless the caller holds its lock:
    take_lock=False) and `monitor` paused throughout."""
    start = time.monotonic()
    wanted = build_id or firmware_build_id(firmware)
    port = ports.resolve(board.port, board=board.name)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with _lock(port, take_lock), _paused(monitor):
        before = read_boot(port, board, timeout=boot_timeout, log_path=log_path)
        if before.build_id == wanted:
            return FlashResult(board.name, port, False, wanted, time.monotonic() - start)
        attempts = upload(port, board, firmware, modem=before.modem_lines, log_path=log_path)
        after = read_boot(
            port,
            board,
            timeout=boot_timeout,
            kick=b"" if before.modem_lines else RUN_USER_CODE,
            log_path=log_path,
        )
        if after.build_id != wanted:
            if after.build_id is not None:
                raise ToolFailedError(
                    f"board {board.name} on {port} booted build {after.build_id} after "
                    f"flashing {wanted}",
                    fix="check the flash offset and that the firmware is this board's",
                    log=log_path,
                )
            raise _no_boot_error(board, port, after, boot_timeout)
        return FlashResult(board.name, port, True, wanted, time.monotonic() - start, attempts)
