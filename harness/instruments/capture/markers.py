"""The start and stop markers (dumpcap.py's module doc says why): a UDP port of our
own on 127.0.0.1, a datagram with a random nonce, and the filler that pushes it out
of the kernel's ring block at once. The filler is the harness's, never the user's
traffic: `is_filler` lets the file writer leave it out."""

from __future__ import annotations

import secrets
import socket
from collections.abc import Callable

MARKER_PREFIX = b"HIL-CAPTURE-MARK:"
FILLER_PREFIX = b"HIL-CAPTURE-FILL:"
# libpcap 1.10 uses 256 KiB ring blocks for TPACKET_V3; 5 x 60000 bytes after the
# nonce always overflow the block holding it. Loopback's MTU (65536) keeps each
# datagram one packet.
_FILLER_COUNT = 5
_FILLER_SIZE = 60_000


def is_filler(block: bytes) -> bool:
    """A packet block (or packet) of the markers' filler datagrams."""
    return FILLER_PREFIX in block


class Markers:
    """The marker socket: open() before dumpcap starts, close() after it stopped."""

    def __init__(self) -> None:
        self._sock: socket.socket | None = None

    @property
    def port(self) -> int | None:
        return self._sock.getsockname()[1] if self._sock else None

    def open(self) -> None:
        # Our own port receives the markers, so no other traffic can look like them.
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        # The datagrams only need to be seen on the wire; a small receive buffer lets
        # the kernel drop them after capture instead of holding megabytes.
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self._sock.bind(("127.0.0.1", 0))

    def widen(self, bpf: str) -> str:
        """The caller's filter, widened to let the markers through ("" captures all)."""
        user = bpf.strip()
        if self._sock is None or not user:
            return user
        return f"({user}) or (udp and dst host 127.0.0.1 and dst port {self.port})"

    def send(self, *, filler: bool, before: Callable[[bytes], None]) -> bytes:
        """Send a marker (and its filler); returns its nonce. `before(nonce)` is called
        first, so whoever watches the stream is looking before it can pass."""
        assert self._sock is not None, "Markers.send() before open()"
        nonce = secrets.token_hex(16).encode()
        before(nonce)
        dest = ("127.0.0.1", self.port)
        self._sock.sendto(MARKER_PREFIX + nonce, dest)
        if filler:
            pad = FILLER_PREFIX + bytes(_FILLER_SIZE - len(FILLER_PREFIX))
            for _ in range(_FILLER_COUNT):
                self._sock.sendto(pad, dest)
        return nonce

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
