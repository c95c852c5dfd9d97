"""Where the simulated board's UART goes: a pty (no modem lines) or an RFC2217 server.

Over a pty the host sets no DTR/RTS (the ioctl fails with ENOTTY, OSError 25): the
board starts in its bootloader, as if GPIO0 were held low at power-on, and leaves it
only by esptool's commands. Over RFC2217 (pyserial's PortManager, on 127.0.0.1
only) DTR and RTS reach the board's EN and GPIO0 through the auto-reset wiring.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import select
import socket
import struct
import threading
import time
import tty
from pathlib import Path

import serial
from serial import rfc2217

from harness.instruments.boards.sim.esp8266 import Esp8266
from harness.instruments.boards.sim.line import as_received
from harness.model.errors import ConfigError, NetworkSafetyError, PortInUseError

log = logging.getLogger(__name__)

TCGETS2 = 0x802C542A  # Linux: struct termios2 with the real speed, non-standard rates too
TERMIOS2 = struct.Struct("<IIIIB19sII")
WRITE_DEADLINE = 2.0  # a reader that takes nothing this long loses the bytes (as a UART)


class PtyLink:
    """A pty pair; the host opens `link` (a symlink to the slave) with pyserial."""

    def __init__(self, link: Path) -> None:
        if link.exists() and not link.is_symlink():
            raise ConfigError(
                f"--pty {link}: a file that is not a symlink is in the way",
                fix="name a new path (the simulator makes a symlink to its pty there)",
            )
        self.link = link
        self.master, self.slave = os.openpty()
        # Raw before any byte: a cooked pty would echo and turn \n into \r\n.
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        self.port = os.ttyname(self.slave)
        link.parent.mkdir(parents=True, exist_ok=True)
        tmp = link.with_name(link.name + ".new")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(self.port)
        os.replace(tmp, link)
        self._closed = threading.Event()

    def describe(self) -> str:
        return f"pty {self.port} (link {self.link})"

    def host_baud(self) -> int:
        try:
            raw = fcntl.ioctl(self.slave, TCGETS2, bytes(TERMIOS2.size))
        except OSError:
            return 0
        return TERMIOS2.unpack(raw)[-1]

    def write(self, data: bytes, baud: int | None) -> None:
        data = as_received(data, baud, self.host_baud())
        deadline = time.monotonic() + WRITE_DEADLINE
        while data and not self._closed.is_set():
            try:
                data = data[os.write(self.master, data) :]
            except BlockingIOError:
                if time.monotonic() > deadline:
                    log.info("sim pty: nobody reads %s; %d bytes lost", self.port, len(data))
                    return
                select.select([], [self.master], [], 0.05)
            except OSError:
                return

    def serve(self, chip: Esp8266, stop: threading.Event) -> None:
        while not stop.is_set() and not self._closed.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if not ready:
                continue
            try:
                data = os.read(self.master, 4096)
            except BlockingIOError:
                continue
            except OSError as exc:
                if exc.errno == errno.EIO:
                    time.sleep(0.05)  # no process has the slave open: nothing to read
                    continue
                raise
            chip.feed(data)

    def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(OSError):
            if self.link.is_symlink() and os.readlink(self.link) == self.port:
                self.link.unlink()
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):
                os.close(fd)


class _BoardSide:
    """What PortManager drives: the settings a client makes, DTR/RTS wired to the chip."""

    def __init__(self, chip: Esp8266) -> None:
        self._chip = chip
        self.baudrate = 115200
        self.bytesize = serial.EIGHTBITS
        self.parity = serial.PARITY_NONE
        self.stopbits = serial.STOPBITS_ONE
        self.xonxoff = False
        self.rtscts = False
        self.break_condition = False
        self.cts = self.dsr = self.ri = self.cd = False
        self._dtr = self._rts = False

    @property
    def dtr(self) -> bool:
        return self._dtr

    @dtr.setter
    def dtr(self, value: bool) -> None:
        self._dtr = bool(value)
        self._chip.set_lines(dtr=self._dtr, rts=self._rts)

    @property
    def rts(self) -> bool:
        return self._rts

    @rts.setter
    def rts(self, value: bool) -> None:
        self._rts = bool(value)
        self._chip.set_lines(dtr=self._dtr, rts=self._rts)

    def release(self) -> None:
        """The client went away: the adapter drops both lines at once (no reset pulse)."""
        self._dtr = self._rts = False
        self._chip.set_lines(dtr=False, rts=False)

    def reset_input_buffer(self) -> None:
        pass

    def reset_output_buffer(self) -> None:
        pass


class _Conn:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.lock = threading.Lock()

    def write(self, data: bytes) -> None:
        with self.lock:
            self.sock.sendall(data)


class Rfc2217Server:
    """One client at a time, like a serial port; bytes sent while none is connected are lost."""

    def __init__(self, port: int, bind: str = "127.0.0.1") -> None:
        if bind != "127.0.0.1":
            raise NetworkSafetyError(
                f"the simulated board serves RFC2217 on 127.0.0.1 only, not {bind}",
                fix="drop the bind address",
            )
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.sock.bind((bind, port))
        except OSError as exc:
            self.sock.close()
            raise PortInUseError(
                f"cannot listen on {bind}:{port} for RFC2217",
                seen=str(exc),
                fix="pick another --rfc2217 port (0: a free one)",
            ) from None
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self._client: tuple[_Conn, rfc2217.PortManager, _BoardSide] | None = None
        self._lock = threading.Lock()

    def describe(self) -> str:
        return f"rfc2217://127.0.0.1:{self.port}"

    def host_baud(self) -> int:
        client = self._client
        return client[2].baudrate if client else 0

    def write(self, data: bytes, baud: int | None) -> None:
        with self._lock:
            client = self._client
        if client is None:
            return
        conn, manager, side = client
        data = as_received(data, baud, side.baudrate)
        with contextlib.suppress(OSError):
            conn.write(b"".join(manager.escape(data)))

    def serve(self, chip: Esp8266, stop: threading.Event) -> None:
        self.sock.settimeout(0.1)
        while not stop.is_set():
            try:
                sock, peer = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            log.info("sim rfc2217: client %s", peer)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(0.1)
            conn = _Conn(sock)
            side = _BoardSide(chip)
            manager = rfc2217.PortManager(side, conn)
            with self._lock:
                self._client = (conn, manager, side)
            try:
                self._session(chip, conn, manager, stop)
            finally:
                with self._lock:
                    self._client = None
                side.release()
                with contextlib.suppress(OSError):
                    sock.close()

    @staticmethod
    def _session(
        chip: Esp8266, conn: _Conn, manager: rfc2217.PortManager, stop: threading.Event
    ) -> None:
        while not stop.is_set():
            try:
                data = conn.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            if not data:
                return
            payload = b"".join(manager.filter(data))
            if payload:
                chip.feed(payload)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()
