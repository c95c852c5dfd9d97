"""A simulated ESP8266: its ROM serial loader, esptool's flasher stub protocol, the
auto-reset wiring on EN and GPIO0, and run mode (the ROM banner, then the app's line).

It is a stand-in for a board on USB, behaving on the serial line like one as far as
esptool and the harness can tell; it runs no Xtensa code. What the chip answers is
taken from esptool (the version installed with the harness) and its serial protocol
documentation: response = 0x01, op, size, value, data + 2 status bytes (status, error);
the ROM's errors are 0x05 (invalid message) and 0x07 (bad checksum), the stub puts its
error code (0xC0..0xC9, 0xFF) in the first status byte.

Not modelled: timing of erases and writes, the efuse bits of ESP8285 parts, flash
encryption, and any RAM code other than esptool's own flasher stub (other code is
"run" by going silent until the next reset).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import struct
import threading
import zlib
from collections.abc import Callable
from enum import StrEnum
from importlib import resources
from pathlib import Path

from harness.instruments.boards.sim import image, slip
from harness.instruments.boards.sim.app import TwinApp
from harness.instruments.boards.sim.flash import SECTOR, FlashFile

log = logging.getLogger(__name__)

ROM_BAUD = 74880  # the ESP8266 ROM prints at 74880 baud with a 26 MHz crystal
APP_BAUD = 115200  # Serial.begin() of our sketches
APB_HZ = 52_000_000  # 2 x the 26 MHz crystal: esptool reads UART_CLKDIV against it
EN_RC_DELAY = 0.03  # EN rises through its RC: the chip starts this long after release

# Commands (esptool's ESPLoader.ESP_CMDS)
FLASH_BEGIN, FLASH_DATA, FLASH_END = 0x02, 0x03, 0x04
MEM_BEGIN, MEM_END, MEM_DATA = 0x05, 0x06, 0x07
SYNC, WRITE_REG, READ_REG = 0x08, 0x09, 0x0A
SPI_SET_PARAMS, SPI_ATTACH, CHANGE_BAUDRATE = 0x0B, 0x0D, 0x0F
FLASH_DEFL_BEGIN, FLASH_DEFL_DATA, FLASH_DEFL_END = 0x10, 0x11, 0x12
SPI_FLASH_MD5, GET_SECURITY_INFO = 0x13, 0x14
ERASE_FLASH, ERASE_REGION, READ_FLASH, RUN_USER_CODE = 0xD0, 0xD1, 0xD2, 0xD3

ROM_INVALID = 0x05
ROM_BAD_CHECKSUM = 0x07
STUB_BAD_DATA_LEN = 0xC0
STUB_BAD_CHECKSUM = 0xC1
STUB_BAD_BLOCKSIZE = 0xC2
STUB_NOT_IN_FLASH_MODE = 0xC6
STUB_INFLATE_ERROR = 0xC7
STUB_NOT_IMPLEMENTED = 0xFF

# Registers esptool reads on an ESP8266 (esptool/targets/esp8266.py, loader.py)
CHIP_DETECT_MAGIC_REG = 0x40001000
CHIP_MAGIC = 0xFFF0C101
OTP_MAC0, OTP_MAC1, OTP_MAC2, OTP_MAC3 = 0x3FF00050, 0x3FF00054, 0x3FF00058, 0x3FF0005C
UART_CLKDIV_REG = 0x60000014
SPI_BASE = 0x60000200
SPI_CMD, SPI_ADDR, SPI_USR2, SPI_W0 = SPI_BASE, SPI_BASE + 0x04, SPI_BASE + 0x24, SPI_BASE + 0x40
SPI_CMD_USR = 1 << 18
SPIFLASH_RDID, SPIFLASH_RDSFDP = 0x9F, 0x5A
SFDP_SIGNATURE = 0x50444653

ROM_SYNC_REPLIES = 8  # the ROM answers one SYNC with 8 responses (esptool reads 7 more)
ROM_SYNC_VALUE = 0x20120707  # any non-zero value: esptool tells the ROM from the stub by it
OHAI = b"OHAI"


class Mode(StrEnum):
    HELD = "held in reset"
    BOOTLOADER = "bootloader"
    STUB = "flasher stub"
    RUN = "run"
    HALTED = "halted"  # ran RAM code we do not model


Emit = Callable[[bytes, "int | None"], None]  # (bytes, baud they are sent at; None = autobaud)


def _known_stubs() -> dict[bytes, int]:
    """esptool's ESP8266 flasher stubs (text -> entry), from the installed esptool."""
    stubs: dict[bytes, int] = {}
    with contextlib.suppress(ModuleNotFoundError, FileNotFoundError):
        root = resources.files("esptool") / "targets" / "stub_flasher"
        for sub in root.iterdir():
            f = sub / "esp8266.json"
            if f.is_file():
                import base64

                data = json.loads(f.read_text())
                stubs[base64.b64decode(data["text"])] = data["entry"]
    return stubs


class _Transfer:
    """One FLASH_BEGIN / FLASH_DEFL_BEGIN / MEM_BEGIN sequence in progress."""

    def __init__(self, kind: int, size: int, blocks: int, blocksize: int, offset: int) -> None:
        self.kind = kind
        self.size = size
        self.blocks = blocks
        self.blocksize = blocksize
        self.offset = offset
        self.seq = 0
        self.written = 0  # bytes written so far (uncompressed)
        self.inflate = zlib.decompressobj() if kind == FLASH_DEFL_BEGIN else None


class _Read:
    """A stub READ_FLASH in progress: packets out, acks in."""

    def __init__(self, offset: int, length: int, packet: int, window: int) -> None:
        self.offset = offset
        self.length = length
        self.packet = packet
        self.window = max(1, window)
        self.sent = 0
        self.acked = 0
        self.md5 = hashlib.md5()


class Esp8266:
    """The chip. `feed()` takes bytes from the host; output goes to `emit`.

    Thread-safe: the transport's reader, the modem-line handler and the EN timer may
    call in from different threads.
    """

    def __init__(
        self,
        flash: FlashFile,
        emit: Emit,
        *,
        host_baud: Callable[[], int],
        mac: bytes = b"\x18\xfe\x34\x5a\x11\x7e",
        app_baud: int = APP_BAUD,
        app_dir: Path | None = None,
    ) -> None:
        self.flash = flash
        self._emit = emit
        self._host_baud = host_baud
        self.mac = mac
        self.app_baud = app_baud
        self.mode = Mode.HELD
        self.boots: list[tuple[Mode, str]] = []  # (mode, cause) of every start, for tests
        self._lock = threading.RLock()
        self._slip = slip.Decoder()
        self._regs: dict[int, int] = {}
        self._ram: dict[int, bytes] = {}
        self._transfer: _Transfer | None = None
        self._read: _Read | None = None
        self._pending_erase: set[int] = set()  # sectors the stub erases before writing
        self._dtr = self._rts = False
        self._en_timer: threading.Timer | None = None
        self._stubs = _known_stubs()
        self.build_id: str | None = None  # what the last run-mode boot found
        # Fault injection for tests of the flasher's retry: each number is the data
        # block of a flash transfer at which the chip goes silent once (a crash, a
        # cable pulled half-way); a reset brings it back.
        self.hang_at_blocks: list[int] = []
        # Run mode of a twin_firmware image: the twin built from the same sketch (app.py).
        self.app = TwinApp(app_dir, self._app_output) if app_dir is not None else None

    def _app_output(self, data: bytes) -> None:
        self._emit(data, self.app_baud)

    def _stop_app(self) -> None:
        if self.app is not None:
            self.app.stop()

    # -- pins ------------------------------------------------------------------------------

    def set_lines(self, *, dtr: bool, rts: bool) -> None:
        """DTR/RTS as the NodeMCU auto-reset circuit wires them: EN is pulled low when
        RTS alone is asserted, GPIO0 when DTR alone is; both or neither leave them high.

        esptool's classic sequence releases EN by asserting DTR while RTS is still
        asserted, and drops RTS a moment later (over RFC2217, 50 ms later: each line
        change waits for the server's answer). On a board the capacitor on EN holds
        it low until GPIO0 is pulled low; here the boot mode is taken from DTR at the
        moment EN is released, which is what that capacitor achieves."""
        with self._lock:
            was_low = self._rts and not self._dtr
            self._dtr, self._rts = dtr, rts
            en_low = rts and not dtr
            if en_low and not was_low:
                self._cancel_timer()
                self._stop_app()
                self.mode = Mode.HELD
            elif was_low and not en_low:
                self._cancel_timer()
                self._en_timer = threading.Timer(EN_RC_DELAY, self._en_risen, args=(dtr,))
                self._en_timer.daemon = True
                self._en_timer.start()

    def _en_risen(self, gpio0_low: bool) -> None:
        with self._lock:
            if self._rts and not self._dtr:
                return  # pulled low again before it rose
            self._en_timer = None
            self.boot(bootloader=gpio0_low, cause=2)

    def _cancel_timer(self) -> None:
        if self._en_timer is not None:
            self._en_timer.cancel()
            self._en_timer = None

    # -- starting --------------------------------------------------------------------------

    def boot(self, *, bootloader: bool, cause: int = 2) -> None:
        """A chip reset: the ROM banner at 74880 baud, then the loader or the app.
        cause: 1 = power on, 2 = external (EN), as the ROM prints it."""
        with self._lock:
            self._stop_app()
            self._transfer = self._read = None
            self._slip = slip.Decoder()
            self._regs.clear()
            self._ram.clear()
            mode = "(1,6)" if bootloader else "(3,6)"
            banner = f"\r\n ets Jan  8 2013,rst cause:{cause}, boot mode:{mode}\r\n\r\n"
            if bootloader:
                self.mode = Mode.BOOTLOADER
                self.boots.append((self.mode, f"rst cause {cause}"))
                self._emit((banner + "waiting for host\r\n").encode(), ROM_BAUD)
                return
            found = image.images(self.flash.read, self.flash.size)
            lines = [banner]
            if found:
                # What the ROM prints while it loads the image at 0x0 (eboot).
                first = found[0]
                for seg in first.segments:
                    lines.append(
                        f"load 0x{seg.addr:08x}, len {seg.length}, room 16 \r\n"
                        f"tail {seg.length % 16}\r\n"
                    )
                lines.append(f"chksum 0x{first.checksum:02x}\r\ncsum 0x{first.computed:02x}\r\n")
            self._emit("".join(lines).encode(), ROM_BAUD)
            self._run_app(found, cause=f"rst cause {cause}")

    def _run_app(self, found: list[image.Image] | None = None, *, cause: str) -> None:
        if found is None:
            found = image.images(self.flash.read, self.flash.size)
        self.mode = Mode.RUN
        self.boots.append((self.mode, cause))
        self.build_id = image.build_id(self.flash.read, found) if found else None
        if self.build_id is None or not all(img.valid for img in found):
            return
        program = image.twin_program(self.flash.read, found) if self.app is not None else None
        if program is not None and self.app is not None:
            # The twin prints its own HIL:BOOT line, from the same build id.
            self.app.start(program)
        else:
            self._emit(f"\r\nHIL:BOOT build={self.build_id}\r\n".encode(), self.app_baud)

    def close(self) -> None:
        with self._lock:
            self._cancel_timer()
            self._stop_app()

    # -- the serial line -------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        with self._lock:
            if self.mode is Mode.RUN and self.app is not None:
                self.app.write(data)  # the twin app's Serial input
                return
            if self.mode not in (Mode.BOOTLOADER, Mode.STUB):
                return  # the app (or a held chip) ignores what the host sends
            for frame in self._slip.feed(data):
                if self.mode not in (Mode.BOOTLOADER, Mode.STUB):
                    break
                self._frame(frame)

    def _send(self, packet: bytes) -> None:
        self._emit(slip.encode(packet), None)

    def _reply(self, op: int, value: int = 0, data: bytes = b"", status: int = 0, err: int = 0):
        body = data + bytes([status, err])
        self._send(struct.pack("<BBHI", 1, op, len(body), value) + body)

    def _fail(self, op: int, code: int) -> None:
        if self.mode is Mode.STUB:
            self._reply(op, status=code, err=0)
        else:
            self._reply(op, status=1, err=code)

    def _frame(self, frame: bytes) -> None:
        if self._read is not None and len(frame) == 4:
            self._read_ack(struct.unpack("<I", frame)[0])
            return
        if len(frame) < 8 or frame[0] != 0:
            return  # not a request: the ROM drops it
        _, op, size, chk = struct.unpack("<BBHI", frame[:8])
        data = frame[8:]
        if len(data) != size:
            self._fail(op, ROM_INVALID if self.mode is Mode.BOOTLOADER else STUB_BAD_DATA_LEN)
            return
        stub = self.mode is Mode.STUB
        handler = _STUB_COMMANDS.get(op) if stub else _ROM_COMMANDS.get(op)
        if handler is None:
            self._fail(op, STUB_NOT_IMPLEMENTED if stub else ROM_INVALID)
            return
        try:
            handler(self, op, data, chk)
        except (struct.error, ValueError) as exc:
            log.info("sim esp8266: bad %#04x request (%s)", op, exc)
            self._fail(op, STUB_BAD_DATA_LEN if stub else ROM_INVALID)

    # -- commands both loaders have --------------------------------------------------------

    def _sync(self, op: int, data: bytes, chk: int) -> None:
        if data != b"\x07\x07\x12\x20" + b"\x55" * 32:
            self._fail(op, ROM_INVALID)
            return
        value = 0 if self.mode is Mode.STUB else ROM_SYNC_VALUE
        for _ in range(ROM_SYNC_REPLIES):
            self._reply(op, value)

    def _read_reg(self, op: int, data: bytes, chk: int) -> None:
        (addr,) = struct.unpack("<I", data[:4])
        self._reply(op, self._register(addr))

    def _write_reg(self, op: int, data: bytes, chk: int) -> None:
        for i in range(0, len(data) - len(data) % 16, 16):
            addr, value, mask, _delay = struct.unpack("<IIII", data[i : i + 16])
            old = self._regs.get(addr, 0)
            self._regs[addr] = (old & ~mask) | (value & mask)
            if addr == SPI_CMD and value & SPI_CMD_USR:
                self._spi_user_command()
        self._reply(op)

    def _register(self, addr: int) -> int:
        mac = self.mac
        fixed = {
            CHIP_DETECT_MAGIC_REG: CHIP_MAGIC,
            # OUI 18:FE:34 is implied by MAC1 bits 16-23 = 0 (esptool's read_mac);
            # efuse bit 4 and bit 80 clear = an ESP8266EX, not an ESP8285.
            OTP_MAC0: mac[5] << 24,
            OTP_MAC1: mac[3] << 8 | mac[4],
            OTP_MAC2: 0,
            OTP_MAC3: 0,
            UART_CLKDIV_REG: round(APB_HZ / max(1, self._host_baud())),
        }
        if addr in fixed:
            return fixed[addr]
        return self._regs.get(addr, 0)

    def _spi_user_command(self) -> None:
        """esptool's run_spiflash_command: the command byte in USR2, the reply in W0."""
        command = self._regs.get(SPI_USR2, 0) & 0xFF
        addr = self._regs.get(SPI_ADDR, 0) >> 8  # 24-bit address, sent MSB first
        result = 0
        if command == SPIFLASH_RDID:
            result = self.flash.jedec_id
        elif command == SPIFLASH_RDSFDP and addr == 0:
            result = SFDP_SIGNATURE
        self._regs[SPI_W0] = result
        self._regs[SPI_CMD] = self._regs.get(SPI_CMD, 0) & ~SPI_CMD_USR

    def _mem_begin(self, op: int, data: bytes, chk: int) -> None:
        size, blocks, blocksize, offset = struct.unpack("<IIII", data[:16])
        self._transfer = _Transfer(MEM_BEGIN, size, blocks, blocksize, offset)
        self._reply(op)

    def _mem_data(self, op: int, data: bytes, chk: int) -> None:
        t = self._transfer
        if t is None or t.kind != MEM_BEGIN:
            self._fail(op, ROM_INVALID)
            return
        length, seq, _, _ = struct.unpack("<IIII", data[:16])
        block = data[16 : 16 + length]
        if len(block) != length or seq != t.seq:
            self._fail(op, ROM_INVALID)
            return
        if image.checksum(block) != chk & 0xFF:
            self._fail(op, ROM_BAD_CHECKSUM)
            return
        self._ram[t.offset + seq * t.blocksize] = block
        t.seq += 1
        self._reply(op)

    def _mem_end(self, op: int, data: bytes, chk: int) -> None:
        no_entry, entry = struct.unpack("<II", data[:8])
        t = self._transfer
        self._transfer = None
        self._reply(op)
        if no_entry:
            return
        text = self._ram_at(entry) if t is not None else None
        if text is not None and self._stubs.get(text) == entry:
            self.mode = Mode.STUB
            self.boots.append((self.mode, "MEM_END"))
            self._send(OHAI)
        else:
            log.info("sim esp8266: RAM code at %#x is not esptool's stub; halting", entry)
            self.mode = Mode.HALTED

    def _ram_at(self, entry: int) -> bytes | None:
        """The contiguous RAM upload that contains `entry` (the stub's text segment)."""
        for start in sorted(self._ram):
            chunk = bytearray(self._ram[start])
            nxt = start + len(chunk)
            while nxt in self._ram:
                chunk += self._ram[nxt]
                nxt += len(self._ram[nxt])
            if start <= entry < nxt:
                return bytes(chunk)
        return None

    # -- flash writes ----------------------------------------------------------------------

    def _flash_begin(self, op: int, data: bytes, chk: int) -> None:
        size, blocks, blocksize, offset = struct.unpack("<IIII", data[:16])
        if offset + size > self.flash.size and size:
            self._fail(op, ROM_INVALID if self.mode is Mode.BOOTLOADER else STUB_BAD_DATA_LEN)
            return
        if self.mode is Mode.BOOTLOADER:
            self._rom_erase(offset, size)
        else:
            self._pending_erase = set(range(offset // SECTOR, -(-(offset + size) // SECTOR)))
        kind = FLASH_DEFL_BEGIN if op == FLASH_DEFL_BEGIN else FLASH_BEGIN
        self._transfer = _Transfer(kind, size, blocks, blocksize, offset)
        self._reply(op)

    def _rom_erase(self, offset: int, size: int) -> None:
        """The ESP8266 ROM's FLASH_BEGIN erase, with its erase-size quirk: sectors up to
        the next 64 KB block boundary count twice. esptool's get_erase_size() sends the
        size that, erased this way, covers the image; modelled as its inverse."""
        if size == 0:
            return
        requested = -(-size // SECTOR)
        head = 16 - (offset // SECTOR) % 16
        sectors = 2 * requested if requested <= head else requested + head
        self.flash.erase(offset, min(sectors * SECTOR, self.flash.size - offset))

    def _write(self, offset: int, data: bytes) -> None:
        if self.mode is Mode.STUB:
            for sector in range(offset // SECTOR, -(-(offset + len(data)) // SECTOR)):
                if sector in self._pending_erase:
                    self.flash.erase(sector * SECTOR, SECTOR)
                    self._pending_erase.discard(sector)
        self.flash.program(offset, data)

    def _flash_data(self, op: int, data: bytes, chk: int) -> None:
        t = self._transfer
        stub = self.mode is Mode.STUB
        wanted = FLASH_DEFL_BEGIN if op == FLASH_DEFL_DATA else FLASH_BEGIN
        if t is None or t.kind != wanted:
            self._fail(op, STUB_NOT_IN_FLASH_MODE if stub else ROM_INVALID)
            return
        length, seq, _, _ = struct.unpack("<IIII", data[:16])
        block = data[16 : 16 + length]
        if len(block) != length:
            self._fail(op, STUB_BAD_DATA_LEN if stub else ROM_INVALID)
            return
        if image.checksum(block) != chk & 0xFF:
            self._fail(op, STUB_BAD_CHECKSUM if stub else ROM_BAD_CHECKSUM)
            return
        if seq != t.seq:
            self._fail(op, STUB_BAD_BLOCKSIZE if stub else ROM_INVALID)
            return
        if self.hang_at_blocks and seq == self.hang_at_blocks[0]:
            self.hang_at_blocks.pop(0)
            self.mode = Mode.HALTED
            self.boots.append((self.mode, f"hung at block {seq}"))
            return
        if t.inflate is not None:
            try:
                block = t.inflate.decompress(block)
            except zlib.error:
                self._fail(op, STUB_INFLATE_ERROR)
                return
        room = self.flash.size - (t.offset + t.written)
        self._write(t.offset + t.written, block[:room])
        t.written += len(block)
        t.seq += 1
        self._reply(op)

    def _flash_end(self, op: int, data: bytes, chk: int) -> None:
        (run_user_code,) = struct.unpack("<I", data[:4])
        self._transfer = None
        self._reply(op)
        if self.mode is Mode.BOOTLOADER:
            # The ROM leaves the loader either way: 1 jumps to the app, 0 reboots it.
            if run_user_code:
                self._run_app(cause="FLASH_END run")
            else:
                self.boot(bootloader=False, cause=2)
        elif not run_user_code:
            # The stub's reboot goes back to the ROM loader (esptool's soft_reset).
            self.mode = Mode.BOOTLOADER
            self.boots.append((self.mode, "FLASH_END reboot"))

    # -- stub-only commands ----------------------------------------------------------------

    def _md5(self, op: int, data: bytes, chk: int) -> None:
        addr, size, _, _ = struct.unpack("<IIII", data[:16])
        if addr + size > self.flash.size:
            self._fail(op, STUB_BAD_DATA_LEN)
            return
        self._reply(op, data=self.flash.md5(addr, size))

    def _ok(self, op: int, data: bytes, chk: int) -> None:
        self._reply(op)

    def _erase_flash(self, op: int, data: bytes, chk: int) -> None:
        self.flash.erase(0, self.flash.size)
        self._reply(op)

    def _erase_region(self, op: int, data: bytes, chk: int) -> None:
        offset, size = struct.unpack("<II", data[:8])
        if offset % SECTOR or size % SECTOR or offset + size > self.flash.size:
            self._fail(op, STUB_BAD_DATA_LEN)
            return
        self.flash.erase(offset, size)
        self._reply(op)

    def _run_user_code(self, op: int, data: bytes, chk: int) -> None:
        self._run_app(cause="RUN_USER_CODE")  # no reply: the stub jumps away

    def _read_flash(self, op: int, data: bytes, chk: int) -> None:
        offset, length, packet, window = struct.unpack("<IIII", data[:16])
        if offset + length > self.flash.size or packet == 0:
            self._fail(op, STUB_BAD_DATA_LEN)
            return
        self._reply(op)
        self._read = _Read(offset, length, packet, window)
        self._read_pump()

    def _read_pump(self) -> None:
        r = self._read
        assert r is not None
        while r.sent < r.length and (r.sent - r.acked) < r.window * r.packet:
            chunk = self.flash.read(r.offset + r.sent, min(r.packet, r.length - r.sent))
            r.md5.update(chunk)
            r.sent += len(chunk)
            self._send(chunk)

    def _read_ack(self, acked: int) -> None:
        r = self._read
        assert r is not None
        r.acked = acked
        if r.acked >= r.length:
            self._read = None
            self._send(r.md5.digest())
        else:
            self._read_pump()


_BOTH = {
    SYNC: Esp8266._sync,
    READ_REG: Esp8266._read_reg,
    WRITE_REG: Esp8266._write_reg,
    MEM_BEGIN: Esp8266._mem_begin,
    MEM_DATA: Esp8266._mem_data,
    MEM_END: Esp8266._mem_end,
    FLASH_BEGIN: Esp8266._flash_begin,
    FLASH_DATA: Esp8266._flash_data,
    FLASH_END: Esp8266._flash_end,
}
# The ESP8266 ROM has only these; everything else (GET_SECURITY_INFO included) draws
# status 1, error 0x05.
_ROM_COMMANDS = dict(_BOTH)
_STUB_COMMANDS = {
    **_BOTH,
    FLASH_DEFL_BEGIN: Esp8266._flash_begin,
    FLASH_DEFL_DATA: Esp8266._flash_data,
    FLASH_DEFL_END: Esp8266._flash_end,
    SPI_FLASH_MD5: Esp8266._md5,
    SPI_SET_PARAMS: Esp8266._ok,
    SPI_ATTACH: Esp8266._ok,
    CHANGE_BAUDRATE: Esp8266._ok,
    ERASE_FLASH: Esp8266._erase_flash,
    ERASE_REGION: Esp8266._erase_region,
    READ_FLASH: Esp8266._read_flash,
    RUN_USER_CODE: Esp8266._run_user_code,
}
