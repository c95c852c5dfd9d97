"""A warm founding-report run on the twin, against the board's own part of it.

value: median wall time of a whole run (certs, server, build check, flash, capture,
reset, the attempt, teardown, analysis); baseline: the attempt step alone
(reset -> HIL:DONE), which is the sketch's own time (its WiFi loop's delay(500)
included). The ratio is what the harness costs around the board.
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

from harness.run.benchmarks import Figure
from harness.run.runner import BenchConfig, run_scenario
from harness.run.scenarios import load_scenario

NAME = "warm_run"


def measure(runs: int = 5) -> Figure:
    scenario = load_scenario("founding-report")
    with tempfile.TemporaryDirectory(prefix="hil-bench-") as tmp:
        config = BenchConfig(runs_dir=Path(tmp))
        run_scenario(scenario, config)  # warm-up: the build lands in the cache
        records = [run_scenario(scenario, config) for _ in range(runs)]
    return Figure(
        name="founding-report warm run",
        value=statistics.median(r.durations["total"] for r in records),
        unit="s",
        baseline="the board's attempt (reset -> HIL:DONE)",
        baseline_value=statistics.median(r.durations["attempt"] for r in records),
        runs=runs,
    )
