"""Run mode of the simulated board for a `twin_firmware` image: the app is the host twin.

The simulator runs no Xtensa code. An image made by `image.twin_firmware` carries, as
its code segment, the host twin built by PlatformIO from the same sketch for the same
core; at each boot into run mode the simulator writes that program out of its flash
and runs it with its Serial on a socket pair, whose other end is the simulated UART:
what the twin prints goes to the host at the app's baud rate, what the host sends
reaches the twin's Serial input. A reset (EN low, a new boot, the loader) stops it.

What is real on the path through it: the build (PlatformIO), the upload (esptool into
the simulated flash), the build id check, the DTR/RTS reset, the serial reader, and the
TLS connection (the twin's real BearSSL/mbedTLS against the harness's server on
127.0.0.1). What is simulated: the chip that runs the sketch.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import select
import signal
import socket
import threading
from collections.abc import Callable
from pathlib import Path

from harness.instruments import procs

log = logging.getLogger(__name__)

STOP_GRACE = 2.0  # SIGTERM, then SIGKILL: the twin exits at once on SIGTERM


class TwinApp:
    """The twin program as the board's app: start() at a boot, stop() at a reset."""

    def __init__(self, workdir: Path, emit: Callable[[bytes], None]) -> None:
        self.workdir = workdir
        self._emit = emit
        self._proc: procs.ManagedProcess | None = None
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.starts = 0

    def __repr__(self) -> str:
        return f"<TwinApp {self.workdir} running={self.running()}>"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def running(self) -> bool:
        return self._proc is not None and self._proc.alive()

    def _program(self, program: bytes) -> Path:
        """The program as an executable file, written once per content."""
        digest = hashlib.sha256(program).hexdigest()[:16]
        path = self.workdir / f"app-{digest}"
        if not path.is_file():
            self.workdir.mkdir(parents=True, exist_ok=True)
            for old in self.workdir.glob("app-*"):
                old.unlink(missing_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}")
            tmp.write_bytes(program)
            tmp.chmod(0o755)
            os.replace(tmp, path)
        return path

    def start(self, program: bytes) -> None:
        self.stop()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._proc = procs.ManagedProcess(
                "simulated board app (twin)",
                [self._program(program)],
                log_path=self.workdir / "app.log",
            )
            self._proc.start(
                env={"HIL_SERIAL_FD": str(theirs.fileno())}, pass_fds=[theirs.fileno()]
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self.starts += 1
        self._sock = ours
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._pump, args=(ours, self._stop), name="sim-app", daemon=True
        )
        self._thread.start()

    def _pump(self, sock: socket.socket, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                ready, _, _ = select.select([sock], [], [], 0.1)
                if not ready:
                    continue
                data = sock.recv(4096)
            except (OSError, ValueError):
                return
            if not data:
                return  # the twin exited
            self._emit(data)

    def write(self, data: bytes) -> None:
        """The host's bytes to the app's Serial input (lost when no app runs, as on a UART)."""
        sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.sendall(data)

    def stop(self) -> None:
        """Stop the twin and its pump; safe to repeat, on every path."""
        self._stop.set()
        if self._proc is not None:
            self._proc.stop(sig=signal.SIGTERM, grace=STOP_GRACE)
            self._proc = None
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)
        self._thread = None
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
            self._sock = None
