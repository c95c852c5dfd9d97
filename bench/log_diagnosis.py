"""`hil diagnose --serial` on a big log, against reading that log's lines.

value: lines per second of the whole offline diagnosis of a serial log alone (read in
chunks, stack detected, lines cleaned of paste noise, parsed, cut into attempts, each
attempt diagnosed) over a log made of the founding report as pasted in esp8266/Arduino
#4826, repeated to about 20 MB; baseline: the same file's lines read and stripped, in
the same run. The goal is 200,000 lines/s or more, in at most 150 MB (the memory bound
is a test: tests/unit/test_attempts.py).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from harness.run.benchmarks import Figure, median_seconds
from harness.run.offline import diagnose_serial_log

NAME = "log_diagnosis"
SIZE = 20 * 1024 * 1024
SAMPLE = (
    Path(__file__).resolve().parent.parent
    / "tests"
    / "data"
    / "logs"
    / "esp8266-arduino-4826_as_pasted.log"
)


def measure(runs: int = 3) -> Figure:
    block = SAMPLE.read_bytes()
    with tempfile.TemporaryDirectory(prefix="hil-bench-") as tmp:
        log = Path(tmp) / "big.log"
        log.write_bytes(block * (SIZE // len(block) + 1))
        with log.open(encoding="utf-8", errors="replace") as f:
            lines = sum(1 for _ in f)

        def read_lines() -> None:
            with log.open(encoding="utf-8", errors="replace", newline="") as f:
                for raw in f:
                    raw.rstrip("\r\n")

        value = lines / median_seconds(lambda: diagnose_serial_log(log), runs)
        base = lines / median_seconds(read_lines, runs)
    return Figure(
        name=f"offline diagnosis of a {SIZE >> 20} MB serial log ({lines} lines)",
        value=value,
        unit="lines/s",
        baseline="reading and stripping the same lines",
        baseline_value=base,
        runs=runs,
    )


if __name__ == "__main__":
    print(measure())
