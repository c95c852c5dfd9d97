"""What the simulated ROM finds in flash: the ESP8266 images at 0x0 and the build id.

The ESP8266 Arduino core writes one file at 0x0: eboot (a "version 1" image: magic
0xE9, segment count, flash mode, size/frequency, entry point, then segments of
address, length, data, and a checksum padded to 16 bytes), and the sketch's image at
the next 4 KB boundary in the same format. Our sketches print `HIL:BOOT build=<id>`
from one string literal, so the id is found in the image bytes.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

from harness.instruments.boards.firmware import build_id_in

MAGIC = 0xE9
CHECKSUM_SEED = 0xEF
MAX_SEGMENTS = 16


@dataclass(frozen=True)
class Segment:
    addr: int
    length: int
    offset: int  # where its data sits in flash


@dataclass(frozen=True)
class Image:
    offset: int
    end: int  # first byte after the checksum padding
    entry: int
    segments: tuple[Segment, ...]
    checksum: int  # stored
    computed: int  # over the segment data

    @property
    def valid(self) -> bool:
        return self.checksum == self.computed


def checksum(data: bytes, state: int = CHECKSUM_SEED) -> int:
    for b in data:
        state ^= b
    return state


def parse_image(read: Callable[[int, int], bytes], offset: int, limit: int) -> Image | None:
    """The v1 image at `offset`, or None when there is none (erased or foreign data)."""
    if offset + 8 > limit:
        return None
    magic, count, _mode, _size_freq, entry = struct.unpack("<BBBBI", read(offset, 8))
    if magic != MAGIC or not 0 < count <= MAX_SEGMENTS:
        return None
    pos = offset + 8
    segments = []
    state = CHECKSUM_SEED
    for _ in range(count):
        if pos + 8 > limit:
            return None
        addr, length = struct.unpack("<II", read(pos, 8))
        if pos + 8 + length > limit:
            return None
        segments.append(Segment(addr, length, pos + 8))
        state = checksum(read(pos + 8, length), state)
        pos += 8 + length
    end = (pos // 16 + 1) * 16  # the checksum is the last byte of a 16-byte block
    if end > limit:
        return None
    return Image(offset, end, entry, tuple(segments), read(end - 1, 1)[0], state)


def images(read: Callable[[int, int], bytes], limit: int) -> list[Image]:
    """Eboot at 0x0 and the images that follow it, each at the next 4 KB boundary."""
    found: list[Image] = []
    offset = 0
    while offset < limit and len(found) < 4:
        img = parse_image(read, offset, limit)
        if img is None:
            break
        found.append(img)
        offset = -(-img.end // 0x1000) * 0x1000
    return found


def build_id(read: Callable[[int, int], bytes], found: list[Image]) -> str | None:
    """The id in the `HIL:BOOT build=` string of the images, if they carry one."""
    for img in found:
        found_id = build_id_in(read(img.offset, img.end - img.offset))
        if found_id is not None:
            return found_id
    return None


def build_image(segments: list[tuple[int, bytes]], entry: int) -> bytes:
    """A v1 image (what esptool's elf2image writes for ESP8266): for tests and examples."""
    out = bytearray(struct.pack("<BBBBI", MAGIC, len(segments), 0, 0x40, entry))
    state = CHECKSUM_SEED
    for addr, data in segments:
        data = data + b"\x00" * (-len(data) % 4)
        out += struct.pack("<II", addr, len(data)) + data
        state = checksum(data, state)
    out += b"\x00" * (15 - len(out) % 16) + bytes([state])
    return bytes(out)


def example_firmware(build: str) -> bytes:
    """An Arduino-shaped firmware: a tiny eboot at 0x0 and an app at 0x1000 whose data
    holds `HIL:BOOT build=<build>`. It runs on the simulated board only."""
    eboot = build_image([(0x4010F000, b"\x00" * 64)], 0x4010F000)
    app = build_image(
        [
            (0x40100000, b"\x00" * 256),
            (0x3FFE8000, b"HIL:BOOT build=" + build.encode() + b"\x00"),
        ],
        0x40100004,
    )
    return eboot + b"\xff" * (0x1000 - len(eboot)) + app


# A segment whose data starts with this carries a host program: the twin of the same
# sketch, which the simulator runs in place of the Xtensa code it cannot execute.
TWIN_MAGIC = b"HIL:TWIN-PROGRAM\x00"
TWIN_ADDR = 0x40200000  # the ESP8266's flash-mapped code: where an app's code sits


def twin_firmware(build: str, program: bytes) -> bytes:
    """An Arduino-shaped firmware for the simulated board: eboot at 0x0 and an app at
    0x1000 whose data holds `HIL:BOOT build=<build>` and whose code segment is the host
    twin built from the same sketch (`TWIN_MAGIC`, its length, its bytes)."""
    eboot = build_image([(0x4010F000, b"\x00" * 64)], 0x4010F000)
    app = build_image(
        [
            (0x3FFE8000, b"HIL:BOOT build=" + build.encode() + b"\x00"),
            (TWIN_ADDR, TWIN_MAGIC + struct.pack("<I", len(program)) + program),
        ],
        TWIN_ADDR,
    )
    return eboot + b"\xff" * (0x1000 - len(eboot)) + app


def twin_program(read: Callable[[int, int], bytes], found: list[Image]) -> bytes | None:
    """The host program a `twin_firmware` image carries, or None."""
    for img in found:
        for seg in img.segments:
            head = read(seg.offset, min(seg.length, len(TWIN_MAGIC) + 4))
            if head.startswith(TWIN_MAGIC) and len(head) == len(TWIN_MAGIC) + 4:
                (size,) = struct.unpack("<I", head[len(TWIN_MAGIC) :])
                if size <= seg.length - len(head):
                    return read(seg.offset + len(head), size)
    return None
