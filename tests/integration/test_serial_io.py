"""SerialMonitor on real ptys (pyserial), as the twin's port and as a USB port that
vanishes and comes back (socat's pty links)."""

from __future__ import annotations

import os
import re
import time
import tty
from pathlib import Path

import pytest

from harness.analysis.logformats.lines import read_serial_log
from harness.instruments import procs
from harness.instruments.serial_monitor import SerialMonitor
from harness.model.errors import DeadlineError, StateError


@pytest.fixture
def pty_pair():
    master, slave = os.openpty()
    tty.setraw(slave)
    yield master, os.ttyname(slave)
    for fd in (master, slave):
        os.close(fd)


def test_lines_bytes_and_stamps(tmp_path: Path, pty_pair):
    master, port = pty_pair
    with SerialMonitor(port, tmp_path) as mon:
        before = time.time()
        os.write(master, b"HIL:BOOT build=abc\r\nState:\tsending Client Hello (1)\n")
        os.write(master, b"boot \xff\xfe rom\npartial")
        mon.expect(r"boot .* rom", timeout=5)
    texts = [ln.text for ln in mon.lines]
    assert texts == [
        "HIL:BOOT build=abc",
        "State:\tsending Client Hello (1)",
        "boot \ufffd\ufffd rom",
        "partial",  # kept when the monitor closes, never dropped
    ]
    assert all(before <= ln.t <= time.time() for ln in mon.lines)
    raw = (tmp_path / "serial.raw").read_bytes()
    assert (
        raw == b"HIL:BOOT build=abc\r\nState:\tsending Client Hello (1)\nboot \xff\xfe rom\npartial"
    )
    logged = read_serial_log((tmp_path / "serial.log").read_text())
    assert [ln.text for ln in logged] == texts


def test_expect_timeout_shows_tail_and_log(tmp_path: Path, pty_pair):
    master, port = pty_pair
    with SerialMonitor(port, tmp_path) as mon:
        os.write(master, b"Connecting to 127.0.0.1\nConnection failed\n")
        mon.expect("Connection failed", timeout=5)
        with pytest.raises(DeadlineError) as err:
            mon.expect(re.compile(r"HIL:DONE"), timeout=0.3)
    text = str(err.value)
    assert "'HIL:DONE'" in text and "Connection failed" in text
    assert str(tmp_path / "serial.log") in text


def test_expect_consumes_what_it_matched(tmp_path: Path, pty_pair):
    master, port = pty_pair
    with SerialMonitor(port, tmp_path) as mon:
        os.write(master, b"HIL:BOOT build=1\nHIL:DONE connected=0\n")
        mon.expect("HIL:DONE", timeout=5)
        # A second reset: the old HIL:DONE is behind the cursor and must not match.
        os.write(master, b"HIL:BOOT build=1\n")
        mon.expect("HIL:BOOT", timeout=5)
        with pytest.raises(DeadlineError):
            mon.expect("HIL:DONE", timeout=0.3)
        os.write(master, b"HIL:DONE connected=1\n")
        assert mon.expect(r"HIL:DONE connected=(\d)", timeout=5).group(1) == "1"
        assert mon.cursor == 4
        # An explicit start still finds earlier lines.
        assert mon.expect(r"connected=(\d)", timeout=0, since=0).group(1) == "0"


def test_write_reaches_the_board(tmp_path: Path, pty_pair):
    master, port = pty_pair
    with SerialMonitor(port, tmp_path) as mon:
        assert mon.write(b"AT+RST\r\n") == 8
        got = b""
        deadline = time.monotonic() + 5
        while len(got) < 8 and time.monotonic() < deadline:
            got += os.read(master, 64)
    assert got == b"AT+RST\r\n"
    with pytest.raises(StateError):
        mon.write(b"x")


def test_no_byte_lost_in_10_mb_at_921600_baud(tmp_path: Path, pty_pair):
    master, port = pty_pair
    # 10 MB of lines, with bytes that are not UTF-8 and a split multi-byte character.
    line = b"%07d " + b"x" * 50 + b" \xc3\xa9 \xff\n"
    count = 10_000_000 // len(line % 0) + 1
    payload = b"".join(line % i for i in range(count))
    with SerialMonitor(port, tmp_path, baud=921600) as mon:
        view = memoryview(payload)
        while view:
            n = os.write(master, view[:4093])  # odd chunks split characters across reads
            view = view[n:]
        mon.expect(rf"^{count - 1:07d} ", timeout=60)
    assert len(payload) >= 10_000_000
    assert (tmp_path / "serial.raw").read_bytes() == payload
    assert len(mon.lines) == count
    assert mon.lines[7].text == f"{7:07d} {'x' * 50} \u00e9 \ufffd"


def test_boot_rom_baud_74880(tmp_path: Path, pty_pair):
    master, port = pty_pair
    with SerialMonitor(port, tmp_path, baud=74880) as mon:
        os.write(master, b"\r\n ets Jan  8 2013,rst cause:2, boot mode:(3,6)\r\n")
        mon.expect("rst cause:2", timeout=5)
    assert mon.byte_time == 10 / 74880


def test_port_vanishing_and_returning_is_survived(tmp_path: Path):
    link, peer = tmp_path / "ttyUSB0", tmp_path / "board"
    cmd = [
        procs.which("socat", package="socat"),
        f"PTY,link={link},raw,echo=0",
        f"PTY,link={peer},raw,echo=0",
    ]

    def plug() -> procs.ManagedProcess:
        proc = procs.ManagedProcess("socat", cmd, log_path=tmp_path / "socat.log")
        proc.start()
        deadline = time.monotonic() + 5
        while not (link.exists() and peer.exists()):
            assert time.monotonic() < deadline, "socat made no pty links"
            time.sleep(0.01)
        return proc

    first = plug()
    try:
        with SerialMonitor(str(link), tmp_path, reopen_timeout=10) as mon:
            with peer.open("wb", buffering=0) as f:
                f.write(b"before reset\n")
            mon.expect("before reset", timeout=5)
            first.stop()  # the USB device goes away ...
            time.sleep(0.3)
            second = plug()  # ... and enumerates again under the same name
            try:
                # Like a USB-serial driver, a pty drops what arrived before it was opened.
                deadline = time.monotonic() + 10
                while mon.opens < 2:
                    assert time.monotonic() < deadline, "the monitor never reopened the port"
                    time.sleep(0.01)
                with peer.open("wb", buffering=0) as f:
                    f.write(b"after reset\n")
                mon.expect("after reset", timeout=10)
            finally:
                second.stop()
    finally:
        first.stop()
    assert [ln.text for ln in mon.lines] == ["before reset", "after reset"]
