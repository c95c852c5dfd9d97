"""Serial ports of a bench: the USB adapters attached (pyserial's list_ports) and the
device a bench file's port names."""

from __future__ import annotations

import os
from dataclasses import dataclass

from serial.tools import list_ports

from harness.instruments.boards.bench import PORT_FORMS, PortSpec
from harness.model.errors import SerialError, StateError

# USB serial adapters found on ESP boards, by VID:PID.
ADAPTERS = {
    (0x10C4, 0xEA60): "Silicon Labs CP210x",
    (0x1A86, 0x7523): "WCH CH340",
    (0x1A86, 0x55D4): "WCH CH9102",
    (0x0403, 0x6001): "FTDI FT232R",
    (0x0403, 0x6010): "FTDI FT2232",
    (0x0403, 0x6015): "FTDI FT231X",
    (0x303A, 0x0002): "ESP32-S2 USB-CDC",
    (0x303A, 0x1001): "ESP32-S3/C3 USB-Serial/JTAG",
}


@dataclass(frozen=True)
class Adapter:
    device: str
    vid: int
    pid: int
    serial_number: str
    location: str
    kind: str  # from ADAPTERS, "" when the VID:PID is not a known ESP adapter

    def matches(self, spec: PortSpec) -> bool:
        if spec.kind == "path":
            return os.path.realpath(spec.text) == os.path.realpath(self.device)
        if spec.kind == "serial":
            return spec.serial_number == self.serial_number
        if spec.kind == "usb":
            return (spec.vid, spec.pid, spec.location) == (self.vid, self.pid, self.location)
        return False


def adapters() -> list[Adapter]:
    """USB serial ports attached now (ports without a VID are left out: not USB)."""
    found = []
    for p in list_ports.comports():
        if p.vid is None:
            continue
        found.append(
            Adapter(
                p.device,
                p.vid,
                p.pid or 0,
                p.serial_number or "",
                p.location or "",
                ADAPTERS.get((p.vid, p.pid or 0), ""),
            )
        )
    return sorted(found, key=lambda a: a.device)


def resolve(spec: PortSpec, *, board: str) -> str:
    """What pyserial and esptool open for `spec`: a device path or an rfc2217:// URL."""
    if spec.kind == "rfc2217":
        return spec.text
    if spec.kind == "place":
        # Only an acquired place has a port: farm.board_session swaps in its RFC2217 URL.
        raise StateError(
            f"board {board}: resolve() called on {spec.text}, which is not acquired",
            fix="use the board inside farm.board_session(board), which acquires the place",
        )
    if spec.kind == "path":
        if not os.path.exists(spec.text):
            raise SerialError(
                f"board {board}: port {spec.text} does not exist",
                fix="plug the board in, or correct its port in the bench file "
                "(`hil boards` lists the adapters attached)",
            )
        return spec.text
    for adapter in adapters():
        if adapter.matches(spec):
            return adapter.device
    raise SerialError(
        f"board {board}: no attached adapter matches port {spec.text}",
        fix=f"plug the board in, or name its port as {PORT_FORMS} (`hil boards` lists them)",
    )
