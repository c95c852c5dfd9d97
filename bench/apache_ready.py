"""The apache backend's start-to-first-possible-handshake time, against the builtin's.

value: median wall time of `start_server(..., "apache", ...)` for the founding
report's profile: work folder and config, `apache2 -t`, exec, until Apache has set
up TLS and a child accepted the readiness probe. baseline: the same call for the
builtin backend, in the same run, the two interleaved so both see the same machine.
Stopping is not timed.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from harness.instruments.certs import get_plan, make_certs
from harness.instruments.servers import start_server
from harness.instruments.servers.profiles import load_profile
from harness.run.benchmarks import Figure
from harness.run.runner import BenchConfig

NAME = "apache_ready"


def measure(runs: int = 20) -> Figure:
    profile = load_profile("do-2016-ssl-params")
    times: dict[str, list[float]] = {"apache": [], "builtin": []}
    with tempfile.TemporaryDirectory(prefix="hil-bench-") as tmp:
        base = Path(tmp)
        certs = make_certs(
            get_plan(profile.cert_plan),
            "127.0.0.1",
            base / "certs",
            BenchConfig().cache_dir / "keys",
        )
        for i in range(runs):
            for backend in times:
                started = time.perf_counter()
                server = start_server(
                    profile, backend, certs, "127.0.0.1", 0, base / f"{backend}-{i}"
                )
                times[backend].append(time.perf_counter() - started)
                server.stop()
    return Figure(
        name="apache server start to first possible handshake",
        value=statistics.median(times["apache"]),
        unit="s",
        baseline="builtin server start to ready",
        baseline_value=statistics.median(times["builtin"]),
        runs=runs,
    )
