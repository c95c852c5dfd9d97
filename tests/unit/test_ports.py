"""USB serial adapters as pyserial lists them, and the bench file's port forms matched
against them (no adapter is attached here: pyserial's own ListPortInfo records stand in
for the ones a bench has)."""

from __future__ import annotations

import pytest
from serial.tools.list_ports_common import ListPortInfo

from harness.instruments.boards import ports
from harness.instruments.boards.bench import parse_port
from harness.model.errors import SerialError


def info(device: str, vid: int | None, pid: int | None, serial: str, location: str):
    p = ListPortInfo(device, skip_link_detection=True)
    p.vid, p.pid, p.serial_number, p.location = vid, pid, serial, location
    return p


@pytest.fixture
def attached(monkeypatch):
    found = [
        info("/dev/ttyUSB0", 0x10C4, 0xEA60, "0001", "1-1.2"),
        info("/dev/ttyUSB1", 0x1A86, 0x7523, "", "1-1.3"),
        info("/dev/ttyACM0", 0x303A, 0x1001, "F4:12:FA:00:11:22", "1-1.4"),
        info("/dev/ttyS0", None, None, "", ""),  # not USB
    ]
    monkeypatch.setattr(ports.list_ports, "comports", lambda: found)


def test_adapters_are_named_by_vid_pid(attached):
    got = {a.device: a.kind for a in ports.adapters()}
    assert got == {
        "/dev/ttyACM0": "ESP32-S3/C3 USB-Serial/JTAG",
        "/dev/ttyUSB0": "Silicon Labs CP210x",
        "/dev/ttyUSB1": "WCH CH340",
    }


@pytest.mark.parametrize(
    ("text", "device"),
    [
        ("serial:F4:12:FA:00:11:22", "/dev/ttyACM0"),
        ("usb:1a86:7523@1-1.3", "/dev/ttyUSB1"),
        ("rfc2217://127.0.0.1:4000", "rfc2217://127.0.0.1:4000"),
    ],
)
def test_bench_ports_resolve(attached, text: str, device: str):
    assert ports.resolve(parse_port(text, "here"), board="b") == device


def test_an_absent_adapter_is_named_with_the_fix(attached):
    with pytest.raises(SerialError, match=r"board b: no attached adapter matches port serial:XYZ"):
        ports.resolve(parse_port("serial:XYZ", "here"), board="b")
