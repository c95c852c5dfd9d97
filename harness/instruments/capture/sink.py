"""The thread that copies dumpcap's pipe into the capture file, and sees the start and
stop markers go by (dumpcap.py's module doc says why a pipe and markers)."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable

from harness.instruments.capture.pcapng import PacketFilter


class PipeSink(threading.Thread):
    """Copies dumpcap's stdout into the capture file and spots marker nonces passing by."""

    def __init__(self, fd: int, out: PacketFilter, name: str) -> None:
        super().__init__(name=name, daemon=True)
        self._fd = fd  # our own dup: closing the Popen pipe elsewhere cannot pull it away
        self._out = out
        self._cond = threading.Condition()
        self._tail = b""
        self._wanted: set[bytes] = set()
        self._seen: set[bytes] = set()
        self.size = 0
        self.eof = False
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while chunk := os.read(self._fd, 1 << 20):
                self._out.write(chunk)
                self._out.flush()
                with self._cond:
                    window = self._tail + chunk
                    for nonce in list(self._wanted):
                        if nonce in window:
                            self._wanted.discard(nonce)
                            self._seen.add(nonce)
                    self._tail = window[-64:]
                    self.size += len(chunk)
                    self._cond.notify_all()
        except BaseException as exc:  # reported by Capture.stop(), never swallowed
            self.error = exc
        finally:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            with self._cond:
                self.eof = True
                self._cond.notify_all()

    def want(self, nonce: bytes) -> None:
        with self._cond:
            self._wanted.add(nonce)

    def _wait(self, ready: Callable[[], bool], timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(ready, timeout=max(timeout, 0.0))

    def wait_data(self, timeout: float) -> bool:
        """True once dumpcap wrote its file header; False on EOF or timeout."""
        self._wait(lambda: self.size > 0 or self.eof, timeout)
        return self.size > 0

    def wait_nonce(self, nonce: bytes, timeout: float) -> bool:
        """True once `nonce` went through the pipe; False on EOF or timeout."""
        self._wait(lambda: nonce in self._seen or self.eof, timeout)
        with self._cond:
            return nonce in self._seen

    def wait_eof(self, timeout: float) -> bool:
        return self._wait(lambda: self.eof, timeout)
