"""Rebuilding the twin after a scenario header change, against PlatformIO with nothing
to compile.

value: median time of TwinBoard.build() after hil_scenario.h changed (the sketch is
recompiled and linked; the core's objects are reused, as the core is compiled without
the project's flags); baseline: the same build with no input changed but the build-id
stamp removed, so `pio run` runs and finds nothing to do (PlatformIO's own cost).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from harness.instruments.boards import open_board
from harness.instruments.boards.base import BuildRequest
from harness.run.benchmarks import Figure

NAME = "header_rebuild"
BOARD = "twin-esp8266-bearssl"
SKETCH = Path(__file__).resolve().parents[1] / "sketches" / "bearssl_insecure"


def _header(port: int) -> str:
    return (
        '#define HIL_WIFI_SSID "hil-bench"\n#define HIL_WIFI_PASSWORD "hil-bench"\n'
        f'#define HIL_SERVER_HOST "127.0.0.1"\n#define HIL_SERVER_PORT {port}\n'
    )


def measure(runs: int = 3) -> Figure:
    rebuilds, noops = [], []
    with tempfile.TemporaryDirectory(prefix="hil-bench-") as tmp:
        root = Path(tmp)
        with open_board(BOARD, cache_dir=root / "cache", run_dir=root / "run") as board:
            log = root / "build.log"
            board.build(BuildRequest(SKETCH, _header(1000), {}), log_path=log)  # cold build
            for i in range(runs):
                started = time.perf_counter()
                fw = board.build(BuildRequest(SKETCH, _header(1001 + i), {}), log_path=log)
                rebuilds.append(time.perf_counter() - started)
                if not fw.built:
                    raise RuntimeError("a header change did not rebuild the twin")

                stamps = list((root / "cache").rglob("program.build-id"))
                for stamp in stamps:
                    stamp.unlink()
                started = time.perf_counter()
                board.build(BuildRequest(SKETCH, _header(1001 + i), {}), log_path=log)
                noops.append(time.perf_counter() - started)
    return Figure(
        name=f"{BOARD} rebuild after a hil_scenario.h change",
        value=statistics.median(rebuilds),
        unit="s",
        baseline="pio run with nothing to compile",
        baseline_value=statistics.median(noops),
        runs=runs,
    )
