"""Flash only when needed, against the simulated board: `hil flash` twice (the second
uploads nothing), DTR/RTS reset over RFC2217, a pty without modem lines, the serial
reader paused during the upload, a port lock across processes, and the bad inputs:
a missing port, a held port, the wrong chip, an upload failing half-way, no HIL:BOOT."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.instruments.boards import locks
from harness.instruments.boards.bench import load_bench
from harness.instruments.boards.flasher import flash_if_needed
from harness.instruments.boards.sim import Mode, PtyLink, Rfc2217Server, SimBoard
from harness.instruments.boards.sim.image import example_firmware
from harness.instruments.serial_monitor import SerialMonitor
from harness.model.errors import ConfigError, DeadlineError, SerialError, ToolFailedError
from tests.integration.hilcli import hil

BUILD = "f1a5b0a7d123"


def bench_file(tmp_path: Path, port: str, **extra: str) -> Path:
    fields = {"chip": '"esp8266"', "cores": '["3.1.2"]', "reset": '"dtr-rts"', **extra}
    lines = [f"{k} = {v}" for k, v in fields.items()]
    path = tmp_path / "bench.toml"
    path.write_text(
        '[[board]]\nname = "sim"\n'
        f'port = "{port}"\nupload_speed = 115200\n' + "\n".join(lines) + "\n"
    )
    return path


@pytest.fixture
def firmware(tmp_path: Path) -> Path:
    path = tmp_path / "firmware.bin"
    path.write_bytes(example_firmware(BUILD))
    return path


@pytest.fixture
def rfc_board(tmp_path: Path) -> Iterator[SimBoard]:
    with SimBoard(Rfc2217Server(0), tmp_path / "flash.bin") as board:
        yield board


def test_hil_flash_twice_uploads_once(rfc_board: SimBoard, firmware: Path, tmp_path: Path):
    bench = bench_file(tmp_path, rfc_board.address)
    args = ["flash", "--bench", str(bench), "--board", "sim", "--firmware", str(firmware),
            "--json", "--runs-dir", str(tmp_path / "runs")]  # fmt: skip
    first = hil(*args)
    assert first.returncode == 0, first.stderr
    result = json.loads(first.stdout)
    assert result["uploaded"] is True and result["build_id"] == BUILD
    assert result["port"] == rfc_board.address
    assert rfc_board.flash.read(0, firmware.stat().st_size) == firmware.read_bytes()
    uploads = [c for m, c in rfc_board.chip.boots if m is Mode.STUB]
    second = hil(*args)
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["uploaded"] is False
    # The second run reset the board (DTR/RTS) and read its build; no stub came up.
    assert [c for m, c in rfc_board.chip.boots if m is Mode.STUB] == uploads
    assert rfc_board.chip.boots[-1] == (Mode.RUN, "rst cause 2")


def test_the_reader_pauses_while_esptool_owns_the_port(
    rfc_board: SimBoard, firmware: Path, tmp_path: Path
):
    board = load_bench(bench_file(tmp_path, rfc_board.address)).board("sim")
    with SerialMonitor(rfc_board.address, tmp_path / "mon") as mon:
        result = flash_if_needed(board, firmware, log_path=tmp_path / "flash.log", monitor=mon)
        assert result.uploaded
        assert mon.pauses == 1 and mon.opens == 2
        rfc_board.chip.boot(bootloader=False)  # the next boot reaches the reader again
        mon.expect(f"HIL:BOOT build={BUILD}", timeout=10)
    # Not one byte of esptool's SLIP exchange went to the reader's log: no SYNC
    # response, no stub greeting (the noise of the 74880-baud banner is all >= 0x80).
    raw = (tmp_path / "mon" / "serial.raw").read_bytes()
    assert b"\xc0\x01\x08" not in raw and b"OHAI" not in raw
    assert f"HIL:BOOT build={BUILD}".encode() in raw


def test_a_port_without_modem_lines(tmp_path: Path, firmware: Path):
    with SimBoard(PtyLink(tmp_path / "ttySIM"), tmp_path / "flash.bin") as sim:
        board = load_bench(bench_file(tmp_path, sim.address, reset='"none"')).board("sim")
        result = flash_if_needed(board, firmware, log_path=tmp_path / "f.log", boot_timeout=3)
        assert result.uploaded and result.build_id == BUILD
        assert sim.chip.mode is Mode.RUN and sim.chip.boots[-1] == (Mode.RUN, "RUN_USER_CODE")


def test_a_held_port_names_its_holder(rfc_board: SimBoard, firmware: Path, tmp_path: Path):
    bench = bench_file(tmp_path, rfc_board.address)
    with locks.port_lock(rfc_board.address):
        other = hil("flash", "--bench", str(bench), "--board", "sim", "--firmware", str(firmware),
                    "--runs-dir", str(tmp_path / "runs"))  # fmt: skip
    assert other.returncode == 3  # the machine's state, not the input: exit 3
    assert f"port {rfc_board.address} is in use by pid {os.getpid()}" in other.stderr
    assert "pytest" in other.stderr  # the holder's command line
    with locks.port_lock(rfc_board.address):
        pass  # and it is free again


def test_interrupted_flash_leaves_nothing_locked(
    rfc_board: SimBoard, firmware: Path, tmp_path: Path
):
    bench = bench_file(tmp_path, rfc_board.address)
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "flash", "--bench", str(bench), "--board", "sim",
         "--firmware", str(firmware), "--runs-dir", str(tmp_path / "runs")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        path = locks.lock_path(rfc_board.address)
        import time

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and str(proc.pid) not in _read(path):
            time.sleep(0.05)
        assert str(proc.pid) in _read(path), "hil flash never took the lock"
        proc.send_signal(2)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    with locks.port_lock(rfc_board.address):
        pass


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def test_a_missing_port(tmp_path: Path, firmware: Path):
    board = load_bench(bench_file(tmp_path, str(tmp_path / "ttyGONE"))).board("sim")
    with pytest.raises(SerialError, match=r"port .*ttyGONE does not exist(.|\n)*fix: plug"):
        flash_if_needed(board, firmware, log_path=tmp_path / "f.log")


def test_the_wrong_chip(rfc_board: SimBoard, firmware: Path, tmp_path: Path):
    board = load_bench(
        bench_file(tmp_path, rfc_board.address, chip='"esp32"', cores='["2.0.17"]')
    ).board("sim")
    with pytest.raises(
        ConfigError, match="found an ESP8266, but the bench file says chip = 'esp32'"
    ):
        flash_if_needed(board, firmware, log_path=tmp_path / "f.log", boot_timeout=1)


def test_an_upload_failing_half_way_is_retried_once(tmp_path: Path, firmware: Path):
    """On a pty, with a reset command (here: a signal to this process that resets the
    simulated board into its loader, as a GPIO-driving script would on a bench)."""
    with SimBoard(PtyLink(tmp_path / "ttySIM"), tmp_path / "flash.bin") as sim:
        previous = signal.signal(signal.SIGUSR2, lambda *_: sim.chip.boot(bootloader=True))
        try:
            command = f'["kill", "-USR2", "{os.getpid()}"]'
            bench = bench_file(tmp_path, sim.address, reset='"command"', reset_command=command)
            board = load_bench(bench).board("sim")
            big = tmp_path / "big.bin"
            big.write_bytes(example_firmware(BUILD) + os.urandom(200_000))  # many blocks
            sim.chip.hang_at_blocks = [3]
            result = flash_if_needed(board, big, log_path=tmp_path / "f.log", boot_timeout=3)
            assert result.uploaded and result.attempts == 2
            assert sim.flash.read(0, big.stat().st_size) == big.read_bytes()
            sim.chip.hang_at_blocks = [2, 2]
            big.write_bytes(example_firmware("0ther0build0") + os.urandom(200_000))
            with pytest.raises(
                ToolFailedError, match=r"could not flash big.bin(.|\n)*2 attempts"
            ) as info:
                flash_if_needed(board, big, log_path=tmp_path / "g.log", boot_timeout=1)
            assert "seen:" in str(info.value)  # esptool's own output
        finally:
            signal.signal(signal.SIGUSR2, previous)


def test_a_board_that_never_prints_hil_boot(tmp_path: Path, firmware: Path):
    with SimBoard(PtyLink(tmp_path / "ttySIM"), tmp_path / "flash.bin") as sim:
        bench = bench_file(tmp_path, sim.address, baud="9600", reset='"none"')
        board = load_bench(bench).board("sim")
        with pytest.raises(DeadlineError) as info:
            flash_if_needed(board, firmware, log_path=tmp_path / "f.log", boot_timeout=1)
        assert sim.chip.build_id == BUILD  # it runs the firmware, at 115200
    message = str(info.value)
    assert "printed no 'HIL:BOOT build=' line" in message and sim.address in message
    assert "try baud = 115200" in message and "bytes, the last:" in message
