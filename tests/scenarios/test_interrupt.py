"""Ctrl-C or a cancelled CI job (SIGTERM) in the middle of a run: every process the run
started is stopped, and what was recorded so far stays in the run directory."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


def _processes_mentioning(*texts: str) -> list[int]:
    """Processes whose command line contains every one of `texts`."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            line = cmdline.read_bytes()
        except OSError:
            continue
        if all(t.encode() in line for t in texts):
            found.append(int(cmdline.parent.name))
    return found


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_run_leaves_nothing_running(tmp_path, sig):
    runs = tmp_path / "runs"
    hil = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "run", "founding-report", "--runs-dir", str(runs)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        # Wait until the twin runs: its binary sits in the run directory.
        deadline = time.monotonic() + 60
        while not _processes_mentioning(f"{runs}/", "flash/program"):
            assert hil.poll() is None, hil.communicate()
            assert time.monotonic() < deadline, "the run never started its twin"
            time.sleep(0.01)
        hil.send_signal(sig)
        _, err = hil.communicate(timeout=15)
    finally:
        if hil.poll() is None:
            hil.kill()
            hil.wait()
    assert hil.returncode == 130, err
    assert b"interrupted" in err
    assert [p for p in _processes_mentioning(str(runs))] == []
    (run_dir,) = runs.iterdir()
    assert (run_dir / "server.log").exists() and (run_dir / "serial.log").exists()
