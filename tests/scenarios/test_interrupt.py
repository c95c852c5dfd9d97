"""Ctrl-C or a cancelled CI job (SIGTERM) in the middle of a run: every process the run
started is stopped, and what was recorded so far stays in the run directory."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.run.scenarios import SCENARIO_DIR
from tests.samples import DATA


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
    # A board that never answers, and a deadline far away: the signal always comes in
    # the middle of the run. (With the founding report's sketch, a run could finish
    # between seeing the twin and signalling it, and exit 0.)
    scenario = tmp_path / "silent-board.toml"
    text = (SCENARIO_DIR / "founding-report.toml").read_text()
    scenario.write_text(text.replace('sketch = "founding_report"', 'sketch = "silent"'))
    assert 'sketch = "silent"' in scenario.read_text()
    hil = subprocess.Popen(
        [
            *(sys.executable, "-m", "harness.cli", "run", "--scenario-file", str(scenario)),
            *("--runs-dir", str(runs), "--sketches-dir", str(DATA / "sketches")),
            *("--boot-timeout", "600"),
        ],
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
    verdict = json.loads((run_dir / "verdict.json").read_text())
    assert verdict["verdict"] == "error" and "interrupted" in verdict["reason"]
