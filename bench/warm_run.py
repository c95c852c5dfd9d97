"""A warm founding-report run on the twin, against the same run the old way.

value: median wall time of a whole warm run (certs, server, build check, flash, capture,
reset, the attempt, teardown, analysis, the artifacts); baseline: the same runs,
alternating with them, with the twin sleeping through its delay()s (HIL_TWIN_REAL_TIME=1,
the path before virtual time). The goal of issue 9 is at most 0.25 s against 0.83 s:
a ratio of 0.3 or less. Each run's own step times are in its verdict.json.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from harness.run.benchmarks import Figure, twin_real_time
from harness.run.runner import BenchConfig, run_scenario
from harness.run.scenarios import load_scenario

NAME = "warm_run"


def _timed(scenario, config) -> float:
    started = time.perf_counter()
    run_scenario(scenario, config)
    return time.perf_counter() - started


def measure(runs: int = 7) -> Figure:
    scenario = load_scenario("founding-report")
    with tempfile.TemporaryDirectory(prefix="hil-bench-") as tmp:
        config = BenchConfig(runs_dir=Path(tmp))
        run_scenario(scenario, config)  # warm-up: the build lands in the cache
        new, old = [], []
        for _ in range(runs):  # alternating, so a load change hits both alike
            new.append(_timed(scenario, config))
            with twin_real_time():
                old.append(_timed(scenario, config))
    return Figure(
        name="founding-report warm run",
        value=statistics.median(new),
        unit="s",
        baseline="the same run with the twin sleeping through delay() (old path)",
        baseline_value=statistics.median(old),
        runs=runs,
    )
