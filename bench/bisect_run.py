"""`hil bisect` over the six ESP8266 releases (2.4.1 .. 3.1.2), warm, against the same
bisection the old way.

value: wall time of a warm bisection of tls_client (CA trust) against do-2016-ssl-params
from 2.4.1 to 3.1.2 (it finds 2.5.2, running 4 of the 6 versions); baseline: the same
bisection with the twin sleeping through its delay()s (HIL_TWIN_REAL_TIME=1). Goal of
issue 9: at most 5 s warm.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from harness.run.benchmarks import Figure, twin_real_time
from harness.run.bisect import BisectRequest, bisect
from harness.run.runner import BenchConfig

NAME = "bisect"
REQUEST = BisectRequest(
    "tls_client", "do-2016-ssl-params", "esp8266", "2.4.1", "3.1.2", defines={"HIL_TRUST": "1"}
)


def _timed(config: BenchConfig) -> float:
    started = time.perf_counter()
    bisect(REQUEST, config)
    return time.perf_counter() - started


def measure(runs: int = 1) -> Figure:
    with tempfile.TemporaryDirectory(prefix="hil-bench-") as tmp:
        config = BenchConfig(runs_dir=Path(tmp))
        bisect(REQUEST, config)  # warm-up: every version's build lands in the cache
        new, old = [], []
        for _ in range(max(runs, 1)):
            new.append(_timed(config))
            with twin_real_time():
                old.append(_timed(config))
    return Figure(
        name="bisect over 6 ESP8266 releases, warm",
        value=statistics.median(new),
        unit="s",
        baseline="the same bisection with the twin sleeping through delay() (old path)",
        baseline_value=statistics.median(old),
        runs=max(runs, 1),
    )
