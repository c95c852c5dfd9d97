"""The builtin server's start-to-ready time, against starting a bare Python.

value: median of BuiltinServer.start() (exec to accepting connections) for the
founding report's profile; baseline: median of `python -c pass` in the same run,
the floor any Python server process pays.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from harness.benchmarks import Figure, median_seconds
from harness.certs import get_plan, make_certs
from harness.runner import BenchConfig
from harness.servers import start_server
from harness.servers.profiles import load_profile

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

        def start_stop() -> None:
            server = start_server(
                profile, "builtin", certs, "127.0.0.1", 0, base / str(next(count))
            )
            server.stop()

        def bare_python() -> None:
            subprocess.run([sys.executable, "-c", "pass"], check=True, stdin=subprocess.DEVNULL)

        value = median_seconds(start_stop, runs)
        baseline = median_seconds(bare_python, runs)
    return Figure(
        name="builtin server start to ready (+stop)",
        value=value,
        unit="s",
        baseline="python -c pass",
        baseline_value=baseline,
        runs=runs,
    )
