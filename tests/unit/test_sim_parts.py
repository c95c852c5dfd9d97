"""The simulated board's pieces: SLIP, the flash file, images, the wrong-baud line,
and the ROM's erase-size quirk against esptool's own workaround."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from esptool.targets.esp8266 import ESP8266ROM
from hypothesis import given
from hypothesis import strategies as st

from harness.instruments.boards.sim import image, slip
from harness.instruments.boards.sim.esp8266 import Esp8266, Mode
from harness.instruments.boards.sim.flash import SECTOR, FlashFile
from harness.instruments.boards.sim.line import as_received
from harness.model.errors import ConfigError


@given(st.lists(st.binary(min_size=1, max_size=64), min_size=1, max_size=5))
def test_slip_round_trip_in_any_pieces(packets: list[bytes]):
    wire = b"noise" + b"".join(slip.encode(p) for p in packets)
    dec = slip.Decoder()
    got = []
    for i in range(0, len(wire), 3):
        got += dec.feed(wire[i : i + 3])
    assert got == packets
    assert dec.dropped == len(b"noise")


def test_slip_bad_escape_drops_the_frame():
    dec = slip.Decoder()
    assert dec.feed(b"\xc0ab\xdb\x01cd\xc0" + slip.encode(b"ok")) == [b"ok"]


def test_flash_programs_like_nor(tmp_path: Path):
    f = FlashFile(tmp_path / "f.bin", 64 * 1024)
    f.program(10, b"\x0f\xf0")
    f.program(10, b"\xf0\xff")  # no erase between: bits only clear
    assert f.read(10, 2) == b"\x00\xf0"
    f.erase(12, 1)  # the whole sector
    assert f.read(0, SECTOR) == b"\xff" * SECTOR
    assert f.jedec_id >> 16 == 16  # log2(64 KB)
    f.close()
    with pytest.raises(ConfigError, match="holds 65536 bytes"):
        FlashFile(tmp_path / "f.bin", 128 * 1024)


def test_images_and_build_id():
    fw = image.example_firmware("abc123def456") + b"\xff" * 0x3000
    found = image.images(lambda o, n: fw[o : o + n], len(fw))
    assert [img.offset for img in found] == [0, 0x1000]
    assert all(img.valid for img in found)
    assert image.build_id(lambda o, n: fw[o : o + n], found) == "abc123def456"
    erased = b"\xff" * 0x2000
    assert image.images(lambda o, n: erased[o : o + n], len(erased)) == []


def test_wrong_baud_reads_noise_of_about_the_right_length():
    text = b"HIL:BOOT build=abc\r\n"
    assert as_received(text, 115200, 115200) == text
    assert as_received(text, None, 9600) == text  # the loader autobauds
    noise = as_received(text, 74880, 115200)
    assert b"HIL" not in noise and abs(len(noise) - len(text) * 115200 / 74880) <= 1
    with pytest.raises(UnicodeDecodeError):
        noise.decode()


@given(st.integers(0, 255), st.integers(1, 300))
def test_rom_erase_quirk_covers_what_esptool_sends(start_sector: int, sectors: int):
    """esptool's ESP8266ROM.get_erase_size() compensates the ROM's quirk; the simulated
    ROM must then erase every sector of the image, and at most one more."""
    erased: list[tuple[int, int]] = []

    class Flash:
        size = 4 * 1024 * 1024

        def erase(self, offset: int, length: int) -> None:
            erased.append((offset, length))

    chip = Esp8266.__new__(Esp8266)
    chip.flash = Flash()  # type: ignore[assignment]
    offset, size = start_sector * SECTOR, sectors * SECTOR
    chip._rom_erase(offset, ESP8266ROM.get_erase_size(ESP8266ROM, offset, size))
    ((at, length),) = erased
    assert at == offset and size <= length <= size + SECTOR


def test_modem_lines_select_the_boot_mode(tmp_path: Path):
    out: list[bytes] = []
    chip = Esp8266(FlashFile(tmp_path / "f.bin", 64 * 1024), lambda d, b: out.append(d),
                   host_baud=lambda: 115200)  # fmt: skip

    def settles_in(mode: Mode) -> bool:
        deadline = time.monotonic() + 5  # the EN timer is a thread: allow for a busy machine
        while chip.mode is not mode and time.monotonic() < deadline:
            time.sleep(0.01)
        return chip.mode is mode

    chip.set_lines(dtr=True, rts=True)  # pyserial's open: both asserted, no reset
    time.sleep(0.1)
    assert chip.boots == []
    chip.set_lines(dtr=False, rts=True)  # EN low
    assert chip.mode is Mode.HELD
    chip.set_lines(dtr=True, rts=True)  # esptool's classic sequence: EN up, GPIO0 down
    chip.set_lines(dtr=True, rts=False)
    assert settles_in(Mode.BOOTLOADER)
    assert b"boot mode:(1,6)" in out[-1]
    chip.set_lines(dtr=False, rts=True)  # hard reset: EN pulse with DTR released
    chip.set_lines(dtr=False, rts=False)
    assert settles_in(Mode.RUN)
    chip.close()
