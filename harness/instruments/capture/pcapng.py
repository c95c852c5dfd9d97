"""A pcapng byte stream cut into whole blocks, and a writer that leaves some packets out.

dumpcap's stream reaches us in pieces of any size; the ring (ring.py) and the
filler filter below both work on whole blocks. A stream that stops parsing as
pcapng is passed on as it comes (never lost).
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable, Iterator
from typing import Protocol

log = logging.getLogger(__name__)

SHB = 0x0A0D0D0A
IDB = 0x00000001
EPB = 0x00000006
PACKET_BLOCKS = frozenset({0x00000002, 0x00000003, EPB})  # PB, SPB, EPB
_BYTE_ORDER_MAGIC = 0x1A2B3C4D


class BlockSplitter:
    """Feed bytes, get whole blocks `(type, bytes)`; `(None, bytes)` once the stream
    stopped being pcapng (everything from there on, as it comes)."""

    def __init__(self, what: str) -> None:
        self.what = what  # for the log
        self.order = "<"
        self.raw = False
        self._buf = bytearray()

    def feed(self, chunk: bytes) -> Iterator[tuple[int | None, bytes]]:
        if self.raw:
            yield None, chunk
            return
        self._buf += chunk
        buf, offset = self._buf, 0
        while len(buf) - offset >= 12:
            btype = struct.unpack_from(self.order + "I", buf, offset)[0]
            if btype == SHB:
                magic = struct.unpack_from("<I", buf, offset + 8)[0]
                self.order = "<" if magic == _BYTE_ORDER_MAGIC else ">"
            blen = struct.unpack_from(self.order + "I", buf, offset + 4)[0]
            if blen < 12 or blen % 4:
                log.error("capture stream of %s is not pcapng at byte %d", self.what, offset)
                self.raw = True
                break
            if len(buf) - offset < blen:
                break
            yield btype, bytes(buf[offset : offset + blen])
            offset += blen
        del buf[:offset]
        if self.raw and buf:
            rest = bytes(buf)
            buf.clear()
            yield None, rest

    def rest(self) -> bytes:
        """A torn last block (dumpcap killed mid-write): kept, as dumpcap would."""
        rest = bytes(self._buf)
        self._buf.clear()
        return rest


class Sink(Protocol):
    def write(self, data: bytes, /) -> object: ...
    def flush(self) -> None: ...
    def close(self) -> None: ...


class PacketFilter:
    """Writes the stream to `out`, leaving out the packet blocks `drop` says are not
    the user's traffic (the harness's filler datagrams). Counts what it left out."""

    def __init__(self, out: Sink, drop: Callable[[bytes], bool], what: str) -> None:
        self._out = out
        self._drop = drop
        self._blocks = BlockSplitter(what)
        self.dropped = 0
        self.dropped_bytes = 0

    @property
    def kept(self) -> list:
        return getattr(self._out, "kept", [])

    def write(self, chunk: bytes) -> None:
        for btype, data in self._blocks.feed(chunk):
            if btype in PACKET_BLOCKS and self._drop(data):
                self.dropped += 1
                self.dropped_bytes += len(data)
                continue
            self._out.write(data)

    def flush(self) -> None:
        self._out.flush()

    def close(self) -> None:
        rest = self._blocks.rest()
        if rest:
            self._out.write(rest)
        self._out.close()
