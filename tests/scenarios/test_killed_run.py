"""`hil run` killed with SIGKILL: its servers, Apache's workers, the twin and
dumpcap die with it, and Apache's folder (with a copy of the private key) goes.
If its reaper was killed too, the next run clears what was left, and its
timeline shows nothing of it."""

from __future__ import annotations

import dataclasses
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.model import Outcome
from harness.run.runner import BenchConfig, run_scenario
from harness.run.scenarios import SCENARIO_DIR, load_scenario
from tests.integration.test_reaper import _alive, _descendants, _wait_dead
from tests.samples import DATA

REPO = Path(__file__).resolve().parents[2]


def _cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def _start_run(tmp_path: Path, scenario: str) -> tuple[subprocess.Popen[bytes], set[int], int]:
    """`hil run` until its twin runs; its descendants (the reaper apart) and the reaper."""
    runs = tmp_path / "runs"
    # The twin sleeps through its WiFi loop for real, so it runs long enough (~0.5 s)
    # to be seen and killed; with virtual time its whole run takes milliseconds.
    env = {**os.environ, "HIL_STATE_DIR": str(tmp_path / "state"), "HIL_TWIN_REAL_TIME": "1"}
    hil = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "run", scenario, "--runs-dir", str(runs)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=REPO,
    )
    deadline = time.monotonic() + 120
    while True:
        kids = _descendants(hil.pid)
        if any(any("flash/program" in a for a in _cmdline(p)) for p in kids):
            break
        assert hil.poll() is None, "the run ended before its twin ran"
        assert time.monotonic() < deadline, "the run never started its twin"
        time.sleep(0.01)
    (reaper,) = [p for p in kids if any("reaper_main.py" in a for a in _cmdline(p))]
    return hil, kids - {reaper}, reaper


def _apache_dirs(pids: set[int]) -> set[Path]:
    dirs = set()
    for pid in pids:
        args = _cmdline(pid)
        if "-f" in args and "apache2" in " ".join(args):
            dirs.add(Path(args[args.index("-f") + 1]).parent)
    return dirs


def _wait_removed(paths: set[Path], timeout: float) -> set[Path]:
    deadline = time.monotonic() + timeout
    while any(p.exists() for p in paths) and time.monotonic() < deadline:
        time.sleep(0.05)
    return {p for p in paths if p.exists()}


@pytest.mark.parametrize("scenario", ["founding-report", "founding-report-apache"])
def test_a_killed_run_leaves_no_process_and_no_key(tmp_path, scenario):
    hil, kids, _ = _start_run(tmp_path, scenario)
    apache = _apache_dirs(kids)
    assert bool(apache) == scenario.endswith("apache")
    hil.kill()
    hil.wait()
    assert _wait_dead(kids, 15) == set()
    assert _wait_removed(apache, 5) == set()


def test_a_run_killed_during_its_build_leaves_no_compiler(tmp_path):
    # A sketch no cache has seen (a fresh comment): PlatformIO really builds.
    sketches = tmp_path / "sketches"
    shutil.copytree(DATA / "sketches", sketches)
    ino = sketches / "silent" / "silent.ino"
    ino.write_text(ino.read_text() + f"\n// {secrets.token_hex(8)}\n")
    scenario = tmp_path / "silent-build.toml"
    text = (SCENARIO_DIR / "founding-report.toml").read_text()
    scenario.write_text(text.replace('sketch = "founding_report"', 'sketch = "silent"'))
    env = {**os.environ, "HIL_STATE_DIR": str(tmp_path / "state")}
    hil = subprocess.Popen(
        [
            *(sys.executable, "-m", "harness.cli", "run", "--scenario-file", scenario),
            *("--runs-dir", tmp_path / "runs", "--sketches-dir", sketches),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=REPO,
    )
    deadline = time.monotonic() + 120
    while True:
        kids = _descendants(hil.pid)
        # pio's scons is running: the build's grandchildren are there.
        if any(any("scons" in a for a in _cmdline(p)) for p in kids):
            break
        assert hil.poll() is None, "the run ended before its build was seen"
        assert time.monotonic() < deadline, "the build never started"
        time.sleep(0.01)
    hil.kill()
    hil.wait()
    assert _wait_dead(kids, 15) == set()


def test_the_run_after_a_killed_run_and_reaper_clears_what_was_left(tmp_path, monkeypatch):
    hil, kids, reaper = _start_run(tmp_path, "founding-report-apache")
    apache = _apache_dirs(kids)
    os.kill(reaper, signal.SIGKILL)
    hil.kill()
    hil.wait()
    time.sleep(0.5)
    # Apache drops root through setpriv, which clears the parent-death signal: it stays.
    left = _alive(kids)
    assert left and all(d.exists() for d in apache)
    monkeypatch.setenv("HIL_STATE_DIR", str(tmp_path / "state"))
    record = run_scenario(
        load_scenario("founding-report-apache"), BenchConfig(runs_dir=tmp_path / "next")
    )
    assert _alive(left) == set()
    assert _wait_removed(apache, 1) == set()
    assert record.verdict.outcome is Outcome.PASS, record.verdict.reason
    assert record.timeline.first("server_error") is None


def test_a_remembered_port_held_by_another_process_leaves_no_error_in_the_timeline(tmp_path):
    config = BenchConfig(runs_dir=tmp_path)
    first = run_scenario(load_scenario("founding-report"), config)
    port = first.timeline.first("server_listening").fields["port"]
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", port))
        holder.listen()
        record = run_scenario(load_scenario("founding-report"), dataclasses.replace(config))
    assert record.timeline.first("server_listening").fields["port"] != port
    assert record.verdict.outcome is Outcome.PASS, record.verdict.reason
    assert [e.kind for e in record.timeline.events if e.kind == "server_error"] == []
