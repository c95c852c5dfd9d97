"""One dumpcap for many runs, its stream cut into one file per run at the markers.

A pooled server's capture (harness.run.session) runs for the whole session; each run
gets its own `capture.pcapng` holding exactly the packets between its start marker
and its stop marker (both included, as in a capture of its own). The cut is made on
the stream's blocks, in the copy thread, so it is exact: the packets before the
start marker and after the stop marker are not the run's. Each part begins with the
section header and interface blocks the stream began with, so it is a valid capture
on its own. Whatever passes between runs (nothing but markers, unless something
else dials the server's port) goes to the session's own file: nothing is lost.
"""

from __future__ import annotations

import struct
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from harness.instruments.capture.pcapng import IDB, PACKET_BLOCKS, SHB


@dataclass(frozen=True)
class Part:
    """One run's file of a split capture."""

    path: Path
    size: int  # bytes
    packets: int  # packet blocks written (the markers included)


class Parts:
    """The file target of a split capture (pcapng.Sink): blocks go to the open run's
    file, else to `idle_path`. `open_at`/`close_at` name the marker nonce at which a
    part begins or ends; `wait` returns once the copy thread got there."""

    def __init__(self, idle_path: Path) -> None:
        self._idle: BinaryIO = idle_path.open("wb")
        self._headers: list[bytes] = []
        self._order = "<"
        self._cond = threading.Condition()
        self._current: BinaryIO | None = None
        self._current_path: Path | None = None
        self._size = 0
        self._packets = 0
        self._opening: tuple[bytes, Path] | None = None
        self._closing: bytes | None = None
        self._done: dict[bytes, Part | None] = {}
        self.closed = False

    # -- the copy thread's side (whole blocks, in stream order) ----------------------------

    def write(self, block: bytes) -> None:
        with self._cond:
            btype = self._type(block)
            if btype == SHB:
                self._headers = [block]
            elif btype == IDB:
                self._headers.append(block)
            packet = btype in PACKET_BLOCKS
            if packet and self._opening is not None and self._opening[0] in block:
                nonce, path = self._opening
                self._opening = None
                self._open(path)
                self._done[nonce] = None
                self._cond.notify_all()
            if self._current is not None:
                self._current.write(block)
                self._size += len(block)
                self._packets += packet
            else:
                self._idle.write(block)
            if packet and self._closing is not None and self._closing in block:
                nonce, self._closing = self._closing, None
                self._done[nonce] = self._close_current()
                self._cond.notify_all()

    def _type(self, block: bytes) -> int:
        if len(block) < 12:
            return -1
        if struct.unpack_from("<I", block)[0] == SHB:
            magic = struct.unpack_from("<I", block, 8)[0]
            self._order = "<" if magic == 0x1A2B3C4D else ">"
            return SHB
        return struct.unpack_from(self._order + "I", block)[0]

    def _open(self, path: Path) -> None:
        self._close_current()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._current = path.open("wb")
        self._current_path = path
        self._size = sum(map(len, self._headers))
        self._packets = 0
        for header in self._headers:
            self._current.write(header)

    def _close_current(self) -> Part | None:
        if self._current is None or self._current_path is None:
            return None
        self._current.close()
        part = Part(self._current_path, self._size, self._packets)
        self._current = self._current_path = None
        return part

    def flush(self) -> None:
        with self._cond:
            if self._current is not None:
                self._current.flush()
            self._idle.flush()

    def close(self) -> None:
        """The stream ended: a part still open keeps what it got (its stop marker never
        came, which `wait` reports as a failed cut)."""
        with self._cond:
            self._close_current()
            self._idle.close()
            self.closed = True
            self._cond.notify_all()

    # -- the run's side ----------------------------------------------------------------

    def open_at(self, nonce: bytes, path: Path) -> None:
        with self._cond:
            self._opening = (nonce, path)

    def close_at(self, nonce: bytes) -> None:
        with self._cond:
            self._closing = nonce

    def wait(self, nonce: bytes, timeout: float) -> tuple[bool, Part | None]:
        """(True, the part closed there or None for an opening) once the copy thread
        passed `nonce`; (False, None) at the timeout or the end of the stream."""
        with self._cond:
            self._cond.wait_for(lambda: nonce in self._done or self.closed, max(timeout, 0.0))
            if nonce not in self._done:
                return False, None
            return True, self._done.pop(nonce)
