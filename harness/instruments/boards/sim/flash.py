"""The simulated board's SPI flash, kept in a file so a restarted simulator keeps it.

NOR flash semantics: erasing sets a 4 KB sector to 0xFF, programming can only clear
bits (new = old AND data), so a write without its erase shows up as corrupt data,
as on a real chip.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

from harness.model.errors import ConfigError

SECTOR = 0x1000
# JEDEC ids (manufacturer, memory type, capacity) of common parts, by size: the
# capacity byte is log2(size), which is what esptool's size detection reads.
WINBOND = 0xEF
WINBOND_TYPE = 0x40


class FlashFile:
    def __init__(self, path: Path, size: int = 4 * 1024 * 1024) -> None:
        if size & (size - 1) or not SECTOR <= size <= 16 * 1024 * 1024:
            raise ConfigError(
                f"flash size {size} is not a power of two between 4 KB and 16 MB",
                fix="give the flash size in bytes, e.g. 4194304",
            )
        self.path = path
        self.size = size
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and path.stat().st_size != size:
            raise ConfigError(
                f"flash file {path} holds {path.stat().st_size} bytes, not {size}",
                fix=f"delete {path} (its contents are lost) or give its size",
            )
        if not path.exists():
            tmp = path.with_suffix(".new")
            tmp.write_bytes(b"\xff" * size)
            os.replace(tmp, path)
        self._fd = os.open(path, os.O_RDWR)

    @property
    def jedec_id(self) -> int:
        """As esptool's flash_id() returns it: manufacturer | type << 8 | capacity << 16."""
        return WINBOND | WINBOND_TYPE << 8 | (self.size.bit_length() - 1) << 16

    def _check(self, offset: int, length: int) -> None:
        if offset < 0 or length < 0 or offset + length > self.size:
            raise ValueError(f"0x{offset:x}+{length} is outside the {self.size}-byte flash")

    def read(self, offset: int, length: int) -> bytes:
        self._check(offset, length)
        with self._lock:
            return os.pread(self._fd, length, offset)

    def erase(self, offset: int, length: int) -> None:
        """Erase whole sectors covering [offset, offset+length)."""
        start = offset - offset % SECTOR
        end = min(self.size, -(-(offset + length) // SECTOR) * SECTOR)
        self._check(start, end - start)
        with self._lock:
            os.pwrite(self._fd, b"\xff" * (end - start), start)

    def program(self, offset: int, data: bytes) -> None:
        self._check(offset, len(data))
        with self._lock:
            old = os.pread(self._fd, len(data), offset)
            new = (int.from_bytes(old, "little") & int.from_bytes(data, "little")).to_bytes(
                len(data), "little"
            )
            os.pwrite(self._fd, new, offset)

    def md5(self, offset: int, length: int) -> bytes:
        return hashlib.md5(self.read(offset, length)).digest()

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1
