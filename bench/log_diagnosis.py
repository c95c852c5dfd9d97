"""`hil diagnose --serial` on two 50 MB logs, against reading the same logs' lines.

value: lines per second of the whole offline diagnosis of a serial log alone (read in
chunks, stack detected, lines cleaned of paste noise, parsed, cut into attempts, each
attempt diagnosed) over a 50 MB log none of whose lines repeats: arduino-esp32 2.x lines
(the verbose handshake of arduino-esp32 #5710, the -9984 of #6060) whose milliseconds
never repeat, whose heap figures change and between which the sketch prints an attempt
counter. The name gives the same for the founding report as pasted in esp8266/Arduino
#4826 repeated to 50 MB, each diagnosis's peak memory (VmHWM of a child process that does
only that), its lines per CPU second beside the reading's, and the load average while it
ran (2 cores shared: wall figures move with it, CPU-time figures much less).
baseline: the all-different log's lines read and stripped, in the same run. The goal is
200,000 lines/s or more, in at most 150 MB (the memory bound is a test:
tests/unit/test_attempts.py).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness.run.benchmarks import Figure, median_seconds

NAME = "log_diagnosis"
SIZE = 50 * 1024 * 1024
LOGS = Path(__file__).resolve().parent.parent / "tests" / "data" / "logs"
PASTED = LOGS / "esp8266-arduino-4826_as_pasted.log"
# The real lines the all-different log is made of, their milliseconds taken off.
ESP32_SOURCES = (
    "arduino-esp32-5710_verbose_handshake.log",
    "arduino-esp32-6060_x509_9984_selfsigned.log",
)

# In a child: the diagnosis alone, its wall time and its peak resident set.
_CHILD = (
    "import json, sys, time; from pathlib import Path;"
    "from harness.run.offline import diagnose_serial_log;"
    "t0, c0 = time.perf_counter(), time.process_time();"
    "r = diagnose_serial_log(Path(sys.argv[1]));"
    "s, c = time.perf_counter() - t0, time.process_time() - c0;"
    "hwm = [ln for ln in open('/proc/self/status') if ln.startswith('VmHWM:')][0];"
    "print(json.dumps([s, r.attempts.lines, r.diagnosis.cause, int(hwm.split()[1]) // 1024, c]))"
)


def write_repeated_paste(path: Path, size: int = SIZE) -> None:
    block = PASTED.read_bytes()
    path.write_bytes(block * (size // len(block) + 1))


def write_all_different(path: Path, size: int = SIZE) -> None:
    """arduino-esp32 2.x lines, each with its own milliseconds, heap figures that change
    and an attempt counter: no two lines of the file are the same."""
    template = []
    for name in ESP32_SOURCES:
        for line in (LOGS / name).read_text().splitlines():
            if line.startswith("[") and "][" in line:
                template.append(line[line.index("][") + 1 :])
    ms, attempt = 4706, 0
    with path.open("w") as f:
        while f.tell() < size:
            attempt += 1
            chunk = []
            for rest in template:
                ms += 3 + attempt % 7
                if "heap" in rest:
                    rest = rest.rsplit(" ", 1)[0] + f" {150000 + (attempt * 37) % 60000}"
                chunk.append(f"[{ms:6d}]{rest}\n")
            chunk.append(f"attempt {attempt} failed, retrying in {attempt % 5 + 1} s\n")
            f.write("".join(chunk))


def _child_run(log: Path) -> tuple[float, int, str, int, float]:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(log)],
        capture_output=True,
        text=True,
        timeout=900,
        stdin=subprocess.DEVNULL,
        check=True,
    ).stdout
    seconds, lines, cause, peak_mb, cpu = json.loads(out)
    return seconds, lines, cause, peak_mb, cpu


def _diagnosis(log: Path, runs: int) -> tuple[float, int, int, float]:
    """(lines/s, lines, peak MB, lines per CPU second) of the median of `runs` child runs."""
    results = [_child_run(log) for _ in range(runs)]
    seconds = statistics.median(r[0] for r in results)
    cpu = statistics.median(r[4] for r in results)
    lines = results[0][1]
    return lines / seconds, lines, max(r[3] for r in results), lines / cpu


def measure(runs: int = 3) -> Figure:
    with tempfile.TemporaryDirectory(prefix="hil-bench-") as tmp:
        unique, repeated = Path(tmp) / "all-different.log", Path(tmp) / "repeated.log"
        write_all_different(unique)
        write_repeated_paste(repeated)
        load = os.getloadavg()[0]
        value, lines, peak, cpu = _diagnosis(unique, runs)
        rep_value, rep_lines, rep_peak, rep_cpu = _diagnosis(repeated, runs)
        load = max(load, os.getloadavg()[0])

        def read_lines() -> None:
            with unique.open(encoding="utf-8", errors="replace", newline="") as f:
                for raw in f:
                    raw.rstrip("\r\n")

        base = lines / median_seconds(read_lines, runs)
        started = time.process_time()
        read_lines()
        base_cpu = lines / (time.process_time() - started)
    return Figure(
        name=f"offline diagnosis of a {SIZE >> 20} MB log of all-different arduino-esp32 lines "
        f"({lines} lines, peak {peak} MB, {cpu:.0f} lines per CPU second against "
        f"{base_cpu:.0f} reading); the founding paste repeated to {SIZE >> 20} MB: "
        f"{rep_value:.0f} lines/s ({rep_lines} lines, peak {rep_peak} MB, {rep_cpu:.0f} lines "
        f"per CPU second); load average up to {load:.1f} on {os.cpu_count()} cores (on a "
        "busy machine the CPU-time figures are the ones to compare)",
        value=value,
        unit="lines/s",
        baseline="reading and stripping the all-different log's lines",
        baseline_value=base,
        runs=runs,
    )


if __name__ == "__main__":
    print(measure())
