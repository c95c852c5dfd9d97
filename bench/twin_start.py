"""The twin's start: from reset() to the first line on its Serial, against a shell that
writes one line to the same pty (the cost of starting any process on this machine).

value: median time from TwinBoard.reset() to the first complete serial line of the
founding-report sketch on twin-esp8266-bearssl (a process start, the core's boot, the
sketch's first println); baseline: the same measure for `sh -c 'echo'` started the same
way (ManagedProcess, the same pty, the same reader).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import serial

from harness.instruments import procs
from harness.instruments.boards import open_board
from harness.instruments.boards.base import BuildRequest
from harness.run.benchmarks import Figure

NAME = "twin_start"
BOARD = "twin-esp8266-bearssl"
SKETCH = Path(__file__).resolve().parents[1] / "sketches" / "bearssl_insecure"
HEADER = (
    '#define HIL_WIFI_SSID "hil-bench"\n#define HIL_WIFI_PASSWORD "hil-bench"\n'
    '#define HIL_SERVER_HOST "127.0.0.1"\n#define HIL_SERVER_PORT 9\n'
)
DEADLINE = 10.0


def _first_line(port: serial.Serial, started: float) -> float:
    """Seconds from `started` until a non-empty line has arrived on `port`."""
    buf = b""
    while time.perf_counter() - started < DEADLINE:
        buf += port.read(256)
        if any(line.strip() for line in buf.split(b"\n")[:-1]):
            return time.perf_counter() - started
    raise TimeoutError(f"no serial line within {DEADLINE} s")


def measure(runs: int = 10) -> Figure:
    twin_times, shell_times = [], []
    with tempfile.TemporaryDirectory(prefix="hil-bench-") as tmp:
        root = Path(tmp)
        with open_board(BOARD, cache_dir=root / "cache", run_dir=root / "run") as board:
            firmware = board.build(BuildRequest(SKETCH, HEADER, {}), log_path=root / "build.log")
            board.flash(firmware, log_path=root / "flash.log")
            with serial.Serial(board.serial_port, 115200, timeout=0.01) as port:
                master = board._master  # the pty's other end, as the twin gets it
                for _ in range(runs):
                    port.reset_input_buffer()
                    started = time.perf_counter()
                    board.reset()
                    twin_times.append(_first_line(port, started))
                    board.halt()

                    port.reset_input_buffer()
                    shell = procs.ManagedProcess(
                        "bench shell",
                        ["/bin/sh", "-c", 'echo HIL:BOOT >&"$HIL_SERIAL_FD"; sleep 5'],
                        log_path=root / "shell.log",
                    )
                    started = time.perf_counter()
                    shell.start(env={"HIL_SERIAL_FD": str(master)}, pass_fds=[master])
                    try:
                        shell_times.append(_first_line(port, started))
                    finally:
                        shell.stop(grace=1.0)
    return Figure(
        name=f"{BOARD} reset -> first serial line",
        value=statistics.median(twin_times),
        unit="s",
        baseline="a shell writing one line to the same pty",
        baseline_value=statistics.median(shell_times),
        runs=runs,
    )
