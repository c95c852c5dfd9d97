"""A ring of pcapng files cut from dumpcap's stream at block boundaries, each file a
valid capture on its own (dumpcap's own ring cannot write to a pipe)."""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from harness.model.errors import ConfigError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Ring:
    """Keep at most `files` files of about `file_bytes` each (a file ends at a packet
    boundary, so it may pass the size by one packet)."""

    file_bytes: int
    files: int

    def __post_init__(self) -> None:
        if self.file_bytes < 1 << 16 or self.files < 2:
            raise ConfigError(
                f"Ring({self.file_bytes}, {self.files}): too small",
                fix="use files of at least 64 KiB and at least 2 files",
            )


_SHB = 0x0A0D0D0A
_IDB = 0x00000001
_PACKET_BLOCKS = frozenset({0x00000002, 0x00000003, 0x00000006})  # PB, SPB, EPB
_BYTE_ORDER_MAGIC = 0x1A2B3C4D


class _RingFiles:
    """A pcapng stream cut into files at block boundaries (see the module doc)."""

    def __init__(self, base: Path, ring: Ring) -> None:
        self.base = base
        self.ring = ring
        self.kept: list[Path] = []
        self._buf = bytearray()
        self._order = "<"
        self._header: list[bytes] = []  # blocks before the first packet, and later IDBs
        self._seen_packet = False
        self._out: BinaryIO | None = None
        self._out_size = 0
        self._out_packets = 0
        self._count = 0
        self._raw = False  # the stream stopped parsing as pcapng: copied as it comes

    def path(self, n: int) -> Path:
        return self.base.with_name(f"{self.base.stem}_{n:05d}{self.base.suffix}")

    def write(self, chunk: bytes) -> None:
        if self._raw:
            self._emit(chunk)
            return
        self._buf += chunk
        buf, offset = self._buf, 0
        while len(buf) - offset >= 12:
            btype = struct.unpack_from(self._order + "I", buf, offset)[0]
            if btype == _SHB:
                magic = struct.unpack_from("<I", buf, offset + 8)[0]
                self._order = "<" if magic == _BYTE_ORDER_MAGIC else ">"
            blen = struct.unpack_from(self._order + "I", buf, offset + 4)[0]
            if blen < 12 or blen % 4:
                log.error("capture stream of %s is not pcapng at byte %d", self.base, offset)
                self._raw = True
                break
            if len(buf) - offset < blen:
                break
            self._block(btype, bytes(buf[offset : offset + blen]))
            offset += blen
        del buf[:offset]
        if self._raw and buf:
            self._emit(bytes(buf))
            buf.clear()

    def _block(self, btype: int, block: bytes) -> None:
        if btype == _SHB:
            self._header, self._seen_packet = [block], False
        elif btype in _PACKET_BLOCKS:
            self._seen_packet = True
            if self._out_packets and self._out_size >= self.ring.file_bytes:
                self._next_file()
            self._out_packets += 1
        elif btype == _IDB or not self._seen_packet:
            self._header.append(block)
        self._emit(block)

    def _emit(self, data: bytes) -> None:
        if self._out is None:
            self._next_file(replay=False)
        assert self._out is not None
        self._out.write(data)
        self._out_size += len(data)

    def _next_file(self, *, replay: bool = True) -> None:
        if self._out is not None:
            self._out.close()
        self._count += 1
        path = self.path(self._count)
        self._out = path.open("wb")
        self._out_size = self._out_packets = 0
        self.kept.append(path)
        while len(self.kept) > self.ring.files:
            self.kept.pop(0).unlink(missing_ok=True)
        if replay:
            for block in self._header:
                self._out.write(block)
                self._out_size += len(block)

    def flush(self) -> None:
        if self._out is not None:
            self._out.flush()

    def close(self) -> None:
        if self._buf and self._out is not None:
            self._out.write(bytes(self._buf))  # a torn last block: kept, as dumpcap would
        self._buf.clear()
        if self._out is not None:
            self._out.close()
