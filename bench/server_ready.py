"""The builtin server's start to first possible handshake, against starting a bare Python.

value: median of start_server(..., "builtin", ...) (config, exec, until it accepts
connections) for the founding report's profile; stopping is not timed. baseline:
median of `python -c pass` in the same run, the floor any Python server process pays.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from harness.instruments.certs import get_plan, make_certs
from harness.instruments.servers import start_server
from harness.instruments.servers.profiles import load_profile
from harness.run.benchmarks import Figure, median_seconds
from harness.run.runner import BenchConfig

NAME = "server_ready"


def measure(runs: int = 20) -> Figure:
    profile = load_profile("do-2016-ssl-params")
    with tempfile.TemporaryDirectory(prefix="hil-bench-") as tmp:
        base = Path(tmp)
        certs = make_certs(
            get_plan(profile.cert_plan),
            "127.0.0.1",
            base / "certs",
            BenchConfig().cache_dir / "keys",
        )
        count = iter(range(runs))
        started = []

        def start() -> None:
            run_dir = base / str(next(count))
            started.append(start_server(profile, "builtin", certs, "127.0.0.1", 0, run_dir))

        def bare_python() -> None:
            subprocess.run([sys.executable, "-c", "pass"], check=True, stdin=subprocess.DEVNULL)

        try:
            value = median_seconds(start, runs)
        finally:
            for server in started:
                server.stop()
        baseline = median_seconds(bare_python, runs)
    return Figure(
        name="builtin server start to first possible handshake",
        value=value,
        unit="s",
        baseline="python -c pass",
        baseline_value=baseline,
        runs=runs,
    )
