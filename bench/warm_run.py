"""A warm founding-report run on the twin, as a pytest session makes it, against the same
run the old ways, all in one process, alternating.

A pytest session (one per xdist worker) keeps its servers across its runs
(harness.run.session): the realistic case of a warm run is a run in a process that
ran one before. So:

- value: median wall time of a whole warm run (certs, build check, flash, reset, the
  attempt, teardown, analysis, the artifacts) borrowing the session's pooled builtin
  server, split capture and stream tshark;
- first baseline: the same run starting and stopping its own server, dumpcap and tshark
  (`run_scenario` without a session: the path of `hil run`, and of every run before
  this work);
- second baseline: that, with the twin sleeping through its delay()s
  (HIL_TWIN_REAL_TIME=1, the path before virtual time).

The three alternate, so a change of the machine's load hits all alike. The goal of
issue 9 is at most 0.25 s a warm run (it was 0.83 s with the second baseline's path).
Each run's own step times are in its verdict.json.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from harness.run.benchmarks import Figure, twin_real_time
from harness.run.runner import BenchConfig, run_scenario
from harness.run.scenarios import load_scenario
from harness.run.session import RunSession

NAME = "warm_run"


def _timed(scenario, config, session=None) -> float:
    started = time.perf_counter()
    record = run_scenario(scenario, config, session=session)
    seconds = time.perf_counter() - started
    if record.verdict.outcome.value != "pass":
        raise RuntimeError(f"a benchmark run did not pass: {record.run_dir}")
    return seconds


def measure(runs: int = 7) -> list[Figure]:
    scenario = load_scenario("founding-report")
    with tempfile.TemporaryDirectory(prefix="hil-bench-") as tmp, RunSession() as session:
        config = BenchConfig(runs_dir=Path(tmp))
        run_scenario(scenario, config)  # warm-up: the build lands in the cache
        run_scenario(scenario, config, session=session)  # ... and the session's station starts
        pooled, fresh, old = [], [], []
        for _ in range(runs):  # alternating, so a load change hits all alike
            pooled.append(_timed(scenario, config, session))
            fresh.append(_timed(scenario, config))
            with twin_real_time():
                old.append(_timed(scenario, config))
    baselines = {
        "the same run with its own server, dumpcap and tshark (hil run's path)": fresh,
        "its own server, dumpcap and tshark, twin sleeping through delay() (old path)": old,
    }
    return [
        Figure(
            name="founding-report warm run, session (pooled server, capture, tshark)",
            value=statistics.median(pooled),
            unit="s",
            baseline=baseline,
            baseline_value=statistics.median(times),
            runs=runs,
        )
        for baseline, times in baselines.items()
    ]
