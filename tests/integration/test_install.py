"""A non-editable install works: the wheel, installed into a fresh virtual environment
outside the checkout, carries the sketches, the benchmarks and the twin, builds and
runs the founding report, and runs a benchmark."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _run(cmd: list, *, cwd: Path, env: dict[str, str] | None = None, timeout: float = 900):
    result = subprocess.run(
        [str(c) for c in cmd],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode in (0, 1), f"{cmd}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def test_a_wheel_installed_outside_the_checkout_runs_a_scenario_and_a_benchmark(tmp_path):
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", dist, REPO], cwd=tmp_path)
    (wheel,) = dist.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for shipped in (
        "harness/shipped/sketches/founding_report/founding_report.ino",
        "harness/shipped/bench/server_ready.py",
        "harness/twin/platform/platform.json",
        "harness/run/scenarios/founding-report.toml",
    ):
        assert shipped in names, shipped

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", venv], cwd=tmp_path)
    _run([venv / "bin" / "python", "-m", "pip", "install", "-q", wheel], cwd=tmp_path)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["HIL_CACHE_DIR"] = str(tmp_path / "cache")  # a cold cache: a real build
    env["PATH"] = f"{venv / 'bin'}:{env.get('PATH', '')}"
    where = _run(
        [venv / "bin" / "python", "-c", "import harness; print(harness.__file__)"],
        cwd=elsewhere,
        env=env,
    )
    assert where.stdout.strip().startswith(str(venv)), where.stdout

    hil = venv / "bin" / "hil"
    run = _run(
        [hil, "run", "founding-report", "--json", "--runs-dir", elsewhere / "runs"],
        cwd=elsewhere,
        env=env,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    record = json.loads(run.stdout)
    assert record["verdict"] == "pass", run.stderr[-2000:]
    # The cold build said what it was doing, on stderr (the alias's own board).
    assert "hil run: building founding_report for twin-esp8266-2.4.1" in run.stderr
    assert record["diagnosis"]["cause"] == "no_shared_cipher"

    bench = _run([hil, "bench", "server_ready", "--runs", "1", "--json"], cwd=elsewhere, env=env)
    figure = json.loads(bench.stdout.splitlines()[0])
    assert figure["runs"] == 1 and figure["value"] > 0
    assert "hil bench: [1/1] server_ready, 1 run(s) ..." in bench.stderr
