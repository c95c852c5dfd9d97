"""SLIP framing as the ESP ROM loader speaks it: 0xC0 ends a frame, 0xDB escapes."""

from __future__ import annotations

END = 0xC0
ESC = 0xDB
ESC_END = 0xDC
ESC_ESC = 0xDD


def encode(packet: bytes) -> bytes:
    body = packet.replace(b"\xdb", b"\xdb\xdd").replace(b"\xc0", b"\xdb\xdc")
    return b"\xc0" + body + b"\xc0"


class Decoder:
    """Incremental: feed bytes as they come, get whole frames back.

    Bytes outside a frame are dropped (a real ROM ignores line noise between frames);
    an invalid escape drops the frame it is in, as the ROM does with a corrupt one.
    """

    def __init__(self) -> None:
        self._frame: bytearray | None = None
        self._escape = False
        self.dropped = 0  # bytes seen outside frames or in corrupt frames

    def feed(self, data: bytes) -> list[bytes]:
        frames: list[bytes] = []
        for b in data:
            if self._frame is None:
                if b == END:
                    self._frame = bytearray()
                else:
                    self.dropped += 1
            elif self._escape:
                self._escape = False
                if b == ESC_END:
                    self._frame.append(END)
                elif b == ESC_ESC:
                    self._frame.append(ESC)
                else:
                    self.dropped += len(self._frame) + 2
                    self._frame = None
            elif b == ESC:
                self._escape = True
            elif b == END:
                if self._frame:
                    frames.append(bytes(self._frame))
                    self._frame = None
                # An empty frame (two ENDs) is a frame start after a stray END: keep going.
                else:
                    self._frame = bytearray()
            else:
                self._frame.append(b)
        return frames
