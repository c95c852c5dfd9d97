"""A bench board ran its sketch once at the flash step's boot: the analysis leaves what
came before the attempt's reset out of the timeline, and says so (harness/run/runner.py)."""

from __future__ import annotations

from pathlib import Path

from harness.run import runner
from harness.run.scenarios import load_scenario

BOOT = [
    "HIL:BOOT build=abc",
    "Connecting to 127.0.0.1",
    "Connection failed",
    "HIL:DONE connected=0 verified=0",
]


def _analyse(run_dir: Path, marks: dict[str, float]):
    scenario = load_scenario("founding-report")
    return runner._analyse(scenario, None, None, 0, run_dir, None, {}, marks)


def test_what_came_before_the_reset_is_left_out(tmp_path: Path):
    # The flash step's boot at t=100 (refused: no server yet), the attempt's at t=200.
    lines = [f"{100 + i / 10:.6f}\t{text}" for i, text in enumerate(BOOT)]
    lines += [f"{200 + i / 10:.6f}\t{text}" for i, text in enumerate(BOOT)]
    (tmp_path / "serial.log").write_text("\n".join(lines) + "\n")

    everything = _analyse(tmp_path, {})
    attempt = _analyse(tmp_path, {"attempt_start": 150.0})
    assert len(everything.timeline.events) == 2 * len(attempt.timeline.events)
    assert all(e.t >= 150 for e in attempt.timeline.events)
    claims = [ev.claim for ev in attempt.diagnosis.evidence]
    dropped = len(attempt.timeline.events)
    assert f"{dropped} events from before the attempt's reset were left out" in claims
