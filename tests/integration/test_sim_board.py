"""The simulated ESP8266 against the real esptool: on a pty (no modem lines) and over
RFC2217 (DTR/RTS reset it), with and without the flasher stub; the flash file is
compared byte for byte, and run mode prints the ROM banner then the image's line."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import serial

from harness.instruments.boards.sim import Mode, PtyLink, Rfc2217Server, SimBoard
from harness.instruments.boards.sim.image import example_firmware
from harness.instruments.boards.sim.slip import encode

BUILD = "5eed0fb00123"
RUN_USER_CODE = encode(bytes([0, 0xD3, 0, 0, 0, 0, 0, 0]))


def esptool(port: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "esptool", "--chip", "esp8266", "-p", port, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture
def firmware(tmp_path: Path) -> Path:
    path = tmp_path / "firmware.bin"
    path.write_bytes(example_firmware(BUILD) + bytes(range(256)) * 40)  # + data with 0xC0/0xDB
    return path


@pytest.fixture
def pty_board(tmp_path: Path) -> Iterator[SimBoard]:
    with SimBoard(PtyLink(tmp_path / "ttySIM"), tmp_path / "flash.bin") as board:
        yield board


@pytest.fixture
def rfc_board(tmp_path: Path) -> Iterator[SimBoard]:
    with SimBoard(Rfc2217Server(0), tmp_path / "flash.bin") as board:
        yield board


def flash_bytes(board: SimBoard, n: int) -> bytes:
    return board.flash.read(0, n)


def read_until(port: serial.Serial, marker: bytes, timeout: float = 10) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while marker not in seen and time.monotonic() < deadline:
        seen += port.read(max(1, port.in_waiting))
    return seen


@pytest.mark.parametrize("stub", [True, False], ids=["stub", "no-stub"])
def test_pty_write_flash(pty_board: SimBoard, firmware: Path, stub: bool):
    args = ["--before", "no-reset", "--after", "no-reset", *([] if stub else ["--no-stub"])]
    out = ok(esptool(pty_board.address, *args, "write-flash", "0x0", str(firmware)))
    assert "Chip type:          ESP8266EX" in out
    assert ("Hash of data verified." in out) is stub  # the ROM has no SPI_FLASH_MD5
    image = firmware.read_bytes()
    assert flash_bytes(pty_board, len(image)) == image
    # The ROM erased what esptool's erase-size workaround asked for, and no more
    # than the sector after the image: the rest of the flash is untouched.
    assert pty_board.flash.read(0x10000, 0x1000) == b"\xff" * 0x1000
    # --after no-reset leaves the stub for the ROM loader (esptool's soft_reset(True)).
    assert pty_board.chip.mode is Mode.BOOTLOADER


def test_pty_run_mode_after_the_stub_runs_user_code(pty_board: SimBoard, firmware: Path):
    ok(esptool(pty_board.address, "--before", "no-reset", "--after", "no-reset-stub",
               "write-flash", "0x0", str(firmware)))  # fmt: skip
    # No modem lines: a reader opens the port first, then sends the stub's
    # RUN_USER_CODE itself, so not one byte of the boot is lost.
    with serial.Serial(pty_board.address, 115200, timeout=0.2) as port:
        port.write(RUN_USER_CODE)
        seen = read_until(port, b"HIL:BOOT build=" + BUILD.encode() + b"\r\n")
    assert f"HIL:BOOT build={BUILD}\r\n".encode() in seen
    assert pty_board.chip.mode is Mode.RUN
    assert pty_board.chip.build_id == BUILD


def test_pty_soft_reset_from_the_rom_runs_the_app(pty_board: SimBoard, firmware: Path):
    out = ok(esptool(pty_board.address, "--before", "no-reset", "--after", "soft-reset",
                     "--no-stub", "write-flash", "0x0", str(firmware)))  # fmt: skip
    assert "Soft resetting" in out
    assert pty_board.chip.mode is Mode.RUN
    assert pty_board.chip.boots[-1] == (Mode.RUN, "FLASH_END run")


def test_pty_read_flash_through_the_stub(pty_board: SimBoard, firmware: Path, tmp_path: Path):
    ok(esptool(pty_board.address, "--before", "no-reset", "--after", "no-reset-stub",
               "write-flash", "0x0", str(firmware)))  # fmt: skip
    back = tmp_path / "back.bin"
    # 300 KB: more than the 64 packets the stub may send before esptool acks.
    ok(esptool(pty_board.address, "--before", "no-reset", "--after", "no-reset",
               "read-flash", "0x0", str(300 * 1024), str(back)))  # fmt: skip
    assert back.read_bytes() == flash_bytes(pty_board, 300 * 1024)
    assert back.read_bytes().startswith(firmware.read_bytes())


def test_pty_wrong_chip_is_named(pty_board: SimBoard):
    result = subprocess.run(
        [sys.executable, "-m", "esptool", "--chip", "esp32", "-p", pty_board.address,
         "--before", "no-reset", "chip-id"],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert result.returncode != 0
    assert "This chip is ESP8266, not ESP32" in result.stdout + result.stderr


def test_rfc2217_write_flash_reset_and_run(rfc_board: SimBoard, firmware: Path):
    # With the stub only: the ROM path is the same over a pty, and each esptool run over
    # RFC2217 costs ~20 s (pyserial's client waits 50 ms per settings change).
    out = ok(esptool(rfc_board.address, "write-flash", "0x0", str(firmware)))
    assert "Hash of data verified." in out
    assert "Hard resetting via RTS pin" in out
    image = firmware.read_bytes()
    assert flash_bytes(rfc_board, len(image)) == image
    modes = [mode for mode, cause in rfc_board.chip.boots if cause == "rst cause 2"]
    # esptool's DTR/RTS sequence reset it into the loader, its hard reset into the app.
    assert modes[0] is Mode.BOOTLOADER and modes[-1] is Mode.RUN
    # A monitor at the ROM's rate reads the banner; at 115200 the app's line.
    with serial.serial_for_url(rfc_board.address, 74880, timeout=0.2) as port:
        port.dtr = False
        port.rts = True  # EN low
        time.sleep(0.1)
        port.rts = False
        seen = read_until(port, b"csum")
        assert b" ets Jan  8 2013,rst cause:2, boot mode:(3,6)\r\n" in seen
        port.baudrate = 115200
        time.sleep(0.3)
        port.reset_input_buffer()
        port.rts = True
        time.sleep(0.1)
        port.rts = False
        seen = read_until(port, BUILD.encode() + b"\r\n")
    assert f"\r\nHIL:BOOT build={BUILD}\r\n".encode() in seen
    assert b"ets Jan" not in seen  # the banner at 74880 is noise at 115200


def test_flash_survives_a_restart(tmp_path: Path, firmware: Path):
    with SimBoard(PtyLink(tmp_path / "tty1"), tmp_path / "flash.bin") as board:
        ok(esptool(board.address, "--before", "no-reset", "--after", "no-reset",
                   "write-flash", "0x0", str(firmware)))  # fmt: skip
    with SimBoard(PtyLink(tmp_path / "tty2"), tmp_path / "flash.bin") as board:
        board.chip.boot(bootloader=False)
        assert board.chip.build_id == BUILD
    assert not (tmp_path / "tty1").exists() and not (tmp_path / "tty2").exists()


def test_cli_sim_board_serves_until_interrupted(tmp_path: Path, firmware: Path):
    link = tmp_path / "ttyCLI"
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "sim-board", "--pty", str(link),
         "--flash", str(tmp_path / "f.bin")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(5)]
        assert any(str(link) in ln for ln in lines), lines
        ok(esptool(str(link), "--before", "no-reset", "--after", "soft-reset",
                   "write-flash", "0x0", str(firmware)))  # fmt: skip
        proc.send_signal(2)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "stopped" in out
    assert not link.exists()
    assert (tmp_path / "f.bin").read_bytes().startswith(firmware.read_bytes())
