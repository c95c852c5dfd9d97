"""SerialMonitor: one reader per serial port (pyserial), nothing lost.

Raw bytes go to `serial.raw` as they arrive; lines are decoded incrementally with
replacement (boot ROM output is not UTF-8), stamped with the host wall clock when
their first byte arrived, and written to `serial.log` as `<epoch>\t<line>`.
`expect()` waits for a pattern with a deadline and shows the buffer tail when it
does not come; like pexpect's, it consumes what it read: the next `expect()` looks
only after the line that matched, so after a second reset an old `HIL:DONE` does not
match again. `write()` sends bytes to the board. The port may vanish (USB
re-enumeration after a reset): the reader reopens it until it returns or the
monitor is closed.
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import logging
import re
import threading
import time
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path

import serial

from harness.analysis.logformats.lines import Line
from harness.model.errors import DeadlineError, SerialError, StateError

log = logging.getLogger(__name__)

# Bits per byte on the wire (start + 8 data + stop): the time a byte takes at a baud rate.
BITS_PER_BYTE = 10


def set_modem_lines(ser: serial.SerialBase, *, dtr: bool, rts: bool) -> bool:
    """Set DTR and RTS; False when the port has no modem lines (a pty, some adapters:
    the ioctl fails with ENOTTY or EINVAL). Other errors go up."""
    try:
        ser.dtr = dtr
        ser.rts = rts
    except OSError as exc:
        if exc.errno in (errno.ENOTTY, errno.EINVAL):
            return False
        raise
    return True


class MonitorState(StrEnum):
    IDLE = "idle"
    OPEN = "open"
    CLOSED = "closed"


class SerialMonitor:
    """Reads one port in a thread; `lines` and `expect()` are safe from other threads."""

    def __init__(
        self,
        port: str,
        run_dir: Path,
        *,
        baud: int = 115200,
        reopen_timeout: float = 10.0,
    ) -> None:
        self.port = port
        self.baud = baud
        self.run_dir = run_dir
        self.raw_path = run_dir / "serial.raw"
        self.log_path = run_dir / "serial.log"
        self.reopen_timeout = reopen_timeout
        self.state = MonitorState.IDLE
        self._lines: list[Line] = []
        self._cursor = 0  # index of the first line the next expect() looks at
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ser: serial.Serial | None = None
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._partial = ""
        self._partial_t = 0.0
        self._last_byte = time.monotonic()  # when the last byte came (or the monitor opened)
        self._error: BaseException | None = None
        self.opens = 0  # times the port was opened: >1 after it vanished and came back
        self._pause = threading.Event()
        self._released = threading.Event()
        self._resumed = threading.Event()
        self.pauses = 0  # times the port was handed to another user (a flasher)
        self._raw = None
        self._log = None

    def __repr__(self) -> str:
        return f"<SerialMonitor {self.port} {self.state}>"

    @property
    def byte_time(self) -> float:
        """Seconds one byte takes on the line: the known latency of a stamp."""
        return BITS_PER_BYTE / self.baud

    def open(self) -> SerialMonitor:
        if self.state is not MonitorState.IDLE:
            raise StateError(f"{self!r}.open() in state '{self.state}': expected idle")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._last_byte = time.monotonic()
        self._ser = self._open_port(deadline=time.monotonic() + self.reopen_timeout)
        self._raw = self.raw_path.open("ab", buffering=0)
        self._log = self.log_path.open("a", encoding="utf-8", buffering=1)
        self.state = MonitorState.OPEN
        self._thread = threading.Thread(target=self._read_loop, name=f"serial:{self.port}")
        self._thread.daemon = True
        self._thread.start()
        return self

    def _open_port(self, deadline: float) -> serial.Serial:
        last: Exception | None = None
        while True:
            try:
                # exclusive: a second reader on the same port would steal bytes.
                # serial_for_url: a device path, or rfc2217:// for a board on a remote bench.
                ser = serial.serial_for_url(self.port, self.baud, timeout=0.05, exclusive=True)
                self.opens += 1
                return ser
            except (serial.SerialException, OSError) as exc:
                last = exc
            if time.monotonic() > deadline or self._stop.is_set():
                raise SerialError(
                    f"cannot open serial port {self.port}",
                    seen=str(last),
                    fix="check the board is plugged in and no other program "
                    "(a serial monitor, pio device monitor) holds the port",
                )
            time.sleep(0.1)

    @contextlib.contextmanager
    def paused(self, timeout: float = 5.0) -> Iterator[None]:
        """Release the port for another user (esptool) and take it back after, on every
        path; on return the reader holds the port again (or has stopped with an error).
        Bytes the board sends meanwhile go to that user, not to this log."""
        if self.state is not MonitorState.OPEN:
            raise StateError(f"{self!r}.paused() in state '{self.state}': expected open")
        self._released.clear()
        self._resumed.clear()
        self._pause.set()
        try:
            if not self._released.wait(timeout):
                raise DeadlineError(
                    f"{self.port}: the serial reader did not release the port",
                    seen=f"within {timeout:.1f} s",
                    fix="report this: the reader thread is stuck",
                )
            yield
        finally:
            self._pause.clear()
            self._resumed.wait(self.reopen_timeout + 1)

    def _hand_over(self) -> serial.Serial | None:
        """Close the port while paused, then reopen it (None: stopped meanwhile)."""
        self._close_port()
        self.pauses += 1
        self._released.set()
        while self._pause.is_set() and not self._stop.is_set():
            time.sleep(0.02)
        try:
            if self._stop.is_set():
                return None
            self._ser = self._open_port(deadline=time.monotonic() + self.reopen_timeout)
        except SerialError as err:
            self._error = err
            return None
        finally:
            self._resumed.set()
        return self._ser

    def _read_loop(self) -> None:
        ser = self._ser
        while not self._stop.is_set():
            if self._pause.is_set():
                ser = self._hand_over()
                if ser is None:
                    break
                continue
            try:
                assert ser is not None  # set by open() before the thread starts
                data = ser.read(max(1, ser.in_waiting))
            except (serial.SerialException, OSError, TypeError) as exc:
                # The port vanished (USB reset, or the pty's other end closed).
                log.info("serial %s lost (%s); reopening", self.port, exc)
                self._close_port()
                if self._stop.is_set():
                    break
                try:
                    ser = self._ser = self._open_port(
                        deadline=time.monotonic() + self.reopen_timeout
                    )
                except SerialError as err:
                    self._error = err
                    break
                continue
            if data:
                self._feed(data, time.time())
        self._drain(ser)
        self._flush_partial()
        with self._cond:
            self._cond.notify_all()

    def _drain(self, ser: serial.Serial | None) -> None:
        """At close: what the port still holds is read too (the read that close()
        cancelled may have left bytes behind)."""
        if ser is None or not self._stop.is_set():
            return
        for _ in range(64):  # bounded: a board that never stops talking ends it anyway
            try:
                waiting = ser.in_waiting
                # The first read may only take close()'s cancel and return nothing.
                data = ser.read(waiting) if waiting else b""
            except (serial.SerialException, OSError, TypeError):
                return
            if data:
                self._feed(data, time.time())
            elif not waiting:
                return

    def _feed(self, data: bytes, now: float) -> None:
        assert self._raw is not None and self._log is not None
        self._raw.write(data)
        self._last_byte = time.monotonic()
        text = self._decoder.decode(data)
        new: list[Line] = []
        while text:
            if not self._partial:
                self._partial_t = now
            nl = text.find("\n")
            if nl < 0:
                self._partial += text
                break
            self._partial += text[:nl]
            text = text[nl + 1 :]
            new.append(Line(self._partial_t, self._partial.rstrip("\r")))
            self._partial = ""
        if new:
            self._log.writelines(f"{ln.t:.6f}\t{ln.text}\n" for ln in new)
            with self._cond:
                self._lines.extend(new)
                self._cond.notify_all()

    def _flush_partial(self) -> None:
        tail = self._partial + self._decoder.decode(b"", final=True)
        if tail and self._log is not None:
            line = Line(self._partial_t or time.time(), tail.rstrip("\r"))
            self._log.write(f"{line.t:.6f}\t{line.text}\n")
            with self._cond:
                self._lines.append(line)
        self._partial = ""

    def _close_port(self) -> None:
        if self._ser is not None:
            with contextlib.suppress(serial.SerialException, OSError):
                self._ser.close()
            self._ser = None

    @property
    def lines(self) -> list[Line]:
        with self._cond:
            return list(self._lines)

    def tail(self, n: int = 20) -> str:
        with self._cond:
            chunk = self._lines[-n:]
            partial = self._partial
        text = "\n".join(ln.text for ln in chunk)
        return text + (f"\n{partial}" if partial else "")

    @property
    def quiet_for(self) -> float:
        """Seconds since the last byte arrived (since the monitor opened, before any)."""
        return time.monotonic() - self._last_byte

    @property
    def reading(self) -> bool:
        """The reader still runs: more bytes may come."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def cursor(self) -> int:
        """Index of the first line the next `expect()` looks at."""
        with self._cond:
            return self._cursor

    def expect(
        self, pattern: str | re.Pattern[str], timeout: float, *, since: int | None = None
    ) -> re.Match:
        """Wait until a line after the last match (or from index `since`) matches, and
        consume every line up to it; DeadlineError with the tail if none does in time."""
        __tracebackhide__ = True
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        with self._cond:
            index = self._cursor if since is None else since
            while True:
                while index < len(self._lines):
                    m = regex.search(self._lines[index].text)
                    index += 1
                    if m:
                        self._cursor = index
                        return m
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._thread is None or not self._thread.is_alive():
                    break
                self._cond.wait(min(remaining, 0.2))
        why = f"reader stopped: {self._error}" if self._error else f"within {timeout:.1f} s"
        raise DeadlineError(
            f"{self.port}: no line matching {regex.pattern!r} {why}",
            seen=f"last lines:\n{self.tail()}",
            fix="check the sketch prints it and the board runs the expected firmware",
            log=self.log_path,
        )

    def write(self, data: bytes) -> int:
        """Send `data` to the board (its Serial input); returns the bytes written."""
        ser = self._ser
        if self.state is not MonitorState.OPEN or ser is None:
            raise StateError(
                f"{self!r}.write() in state '{self.state}': expected open with the port present",
                fix="open() the monitor first; after the port vanished, wait until it is back",
            )
        try:
            written = ser.write(data)
            ser.flush()
        except (serial.SerialException, OSError) as exc:
            raise SerialError(
                f"cannot write to serial port {self.port}",
                seen=str(exc),
                fix="check the board is still plugged in",
            ) from None
        return int(written or 0)

    def set_lines(self, *, dtr: bool, rts: bool) -> bool:
        """Drive the modem lines through the handle the reader owns, so a reset never
        closes the port and not one byte of the boot is lost. False when the port has
        none (a pty, some adapters: the ioctl fails with ENOTTY or EINVAL)."""
        ser = self._ser
        if self.state is not MonitorState.OPEN or ser is None:
            raise StateError(
                f"{self!r}.set_lines() in state '{self.state}': expected open with the port "
                "present",
                fix="open() the monitor first; after the port vanished, wait until it is back",
            )
        try:
            return set_modem_lines(ser, dtr=dtr, rts=rts)
        except (OSError, serial.SerialException) as exc:
            raise SerialError(
                f"cannot set DTR/RTS on serial port {self.port}",
                seen=str(exc),
                fix="check the board is still plugged in",
            ) from None

    def close(self) -> None:
        """Stop the reader and keep every byte read so far; safe to repeat."""
        if self.state is MonitorState.CLOSED:
            return
        self._stop.set()
        ser = self._ser
        if ser is not None and hasattr(ser, "cancel_read"):
            # The reader waits up to its read timeout (50 ms) otherwise; it reads what
            # the port still holds before it ends (_drain).
            with contextlib.suppress(serial.SerialException, OSError, TypeError):
                ser.cancel_read()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._close_port()
        for f in (self._raw, self._log):
            if f is not None:
                f.close()
        self.state = MonitorState.CLOSED

    def __enter__(self) -> SerialMonitor:
        return self.open() if self.state is MonitorState.IDLE else self

    def __exit__(self, *exc: object) -> None:
        self.close()
