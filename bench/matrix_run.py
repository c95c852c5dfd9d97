"""A warm 29-profile x 6-core matrix on the twin, against the same matrix the old way.

value: wall time of `hil matrix` (run_matrix, one worker per core) of tls_client on six
twin cores (ESP8266 2.4.2, 2.5.2, 2.7.4, 3.0.2, 3.1.2 and ESP32 2.0.17) against every
server profile, every cell's run directory kept; baseline: the same matrix with the twin
sleeping through its delay()s and one tshark start per cell (HIL_TWIN_REAL_TIME=1,
batch=1: the path before this work). Goal of issue 9: at most 60 s. The first matrix of
a cache builds every cell's firmware: run it once before (a warm-up here would double
the time of an already long benchmark); `runs` is ignored.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from harness.run.benchmarks import Figure, twin_real_time
from harness.run.matrix import resolve, run_matrix
from harness.run.runner import BenchConfig

NAME = "matrix"
BOARDS = [
    "twin-esp8266-2.4.2",
    "twin-esp8266-2.5.2",
    "twin-esp8266-2.7.4",
    "twin-esp8266-3.0.2",
    "twin-esp8266-3.1.2",
    "twin-esp32-2.0.17",
]


def _timed(config: BenchConfig, **options) -> float:
    req = resolve(["tls_client"], BOARDS, ["all"], config, **options)
    started = time.perf_counter()
    result = run_matrix(req, config)
    seconds = time.perf_counter() - started
    kept = sum(1 for c in result.cells if c.run_dir and (c.run_dir / "verdict.json").is_file())
    if kept != len(result.cells):
        raise RuntimeError(f"{len(result.cells) - kept} cells lost their run directory")
    return seconds


def measure(runs: int = 1) -> Figure:
    with tempfile.TemporaryDirectory(prefix="hil-bench-") as tmp:
        config = BenchConfig(runs_dir=Path(tmp), keep_runs=0)
        value = _timed(config)
        with twin_real_time():
            baseline = _timed(config, batch=1)
    return Figure(
        name="29 profiles x 6 twin cores matrix, warm",
        value=value,
        unit="s",
        baseline="the same matrix, twin sleeping through delay(), one tshark a cell (old path)",
        baseline_value=baseline,
        runs=1,
    )
