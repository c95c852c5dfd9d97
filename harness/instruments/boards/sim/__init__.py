"""A simulated ESP8266 board on a pty or an RFC2217 port: `hil sim-board`.

A stand-in for a real board on USB, so a bench file, `hil flash` or a runner can be
tried without one: the real esptool flashes it (ROM loader and flasher stub), DTR/RTS
reset it over RFC2217, and in run mode it prints the ROM banner and the flashed
image's `HIL:BOOT` line. An image built for it from a sketch (a bench board with
`simulated = true`) carries the host twin of that sketch, which it runs as its app
(app.py): the sketch's Serial and TLS connection are then real. Its flash is a file,
kept across restarts.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from pathlib import Path

from harness.instruments.boards.sim.esp8266 import Esp8266, Mode
from harness.instruments.boards.sim.flash import FlashFile
from harness.instruments.boards.sim.transports import PtyLink, Rfc2217Server
from harness.model.errors import ConfigError, StateError

log = logging.getLogger(__name__)

CHIPS = ("esp8266",)

__all__ = ["CHIPS", "Esp8266", "FlashFile", "Mode", "PtyLink", "Rfc2217Server", "SimBoard"]


def default_mac(name: str) -> bytes:
    """A stable MAC per simulated board, under Espressif's OUI 18:FE:34."""
    tail = hashlib.sha256(name.encode()).digest()[:3]
    return b"\x18\xfe\x34" + tail


class SimBoard:
    """The chip, its flash file and one transport, served by a thread until stop()."""

    def __init__(
        self,
        transport: PtyLink | Rfc2217Server,
        flash_path: Path,
        *,
        chip: str = "esp8266",
        flash_size: int = 4 * 1024 * 1024,
    ) -> None:
        if chip not in CHIPS:
            raise ConfigError(
                f"the simulated board has no chip {chip!r}", fix=f"use one of: {', '.join(CHIPS)}"
            )
        self.transport = transport
        self.flash = FlashFile(flash_path, flash_size)
        self.chip = Esp8266(
            self.flash,
            transport.write,
            host_baud=transport.host_baud,
            mac=default_mac(str(flash_path)),
            # A twin_firmware image's app runs here (written out of the flash, its log).
            app_dir=flash_path.with_name(flash_path.name + ".app"),
        )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> str:
        """What a bench file names as the port."""
        t = self.transport
        return str(t.link) if isinstance(t, PtyLink) else t.describe()

    def start(self) -> SimBoard:
        if self._thread is not None:
            raise StateError(f"{self!r}.start() when already started")
        if isinstance(self.transport, PtyLink):
            # No modem lines on a pty: power on in the bootloader (GPIO0 held low).
            self.chip.boot(bootloader=True, cause=1)
        else:
            # Over RFC2217 the lines start released: power on into the app.
            self.chip.boot(bootloader=False, cause=1)
        self._thread = threading.Thread(
            target=self.transport.serve, args=(self.chip, self._stop), name="sim-board", daemon=True
        )
        self._thread.start()
        return self

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        """Stop serving and release the port and the flash file; safe to repeat."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)  # it checks the flag every 0.1 s
        self.transport.close()
        self.chip.close()
        self.flash.close()

    def __repr__(self) -> str:
        return f"<SimBoard {self.address} {self.chip.mode}>"

    def __enter__(self) -> SimBoard:
        return self.start() if self._thread is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()
