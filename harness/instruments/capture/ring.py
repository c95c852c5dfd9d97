"""A ring of pcapng files cut from dumpcap's stream at block boundaries, each file a
valid capture on its own (dumpcap's own ring cannot write to a pipe)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from harness.instruments.capture.pcapng import IDB, PACKET_BLOCKS, SHB, BlockSplitter
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


class _RingFiles:
    """A pcapng stream cut into files at block boundaries (see the module doc)."""

    def __init__(self, base: Path, ring: Ring) -> None:
        self.base = base
        self.ring = ring
        self.kept: list[Path] = []
        self._blocks = BlockSplitter(str(base))
        self._header: list[bytes] = []  # blocks before the first packet, and later IDBs
        self._seen_packet = False
        self._out: BinaryIO | None = None
        self._out_size = 0
        self._out_packets = 0
        self._count = 0

    def path(self, n: int) -> Path:
        return self.base.with_name(f"{self.base.stem}_{n:05d}{self.base.suffix}")

    def write(self, chunk: bytes) -> None:
        for btype, data in self._blocks.feed(chunk):
            if btype is None:
                self._emit(data)  # the stream stopped parsing as pcapng: copied as it comes
            else:
                self._block(btype, data)

    def _block(self, btype: int, block: bytes) -> None:
        if btype == SHB:
            self._header, self._seen_packet = [block], False
        elif btype in PACKET_BLOCKS:
            self._seen_packet = True
            if self._out_packets and self._out_size >= self.ring.file_bytes:
                self._next_file()
            self._out_packets += 1
        elif btype == IDB or not self._seen_packet:
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
        rest = self._blocks.rest()
        if rest:
            self._emit(rest)  # a torn last block: kept, as dumpcap would
        if self._out is not None:
            self._out.close()
