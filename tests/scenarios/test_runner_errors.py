"""A run that cannot complete still ends cleanly: an `error` verdict that says why,
every artifact kept, every process stopped."""

from __future__ import annotations

import dataclasses
import json

from harness.model import Outcome
from harness.run.runner import BenchConfig, run_scenario
from harness.run.scenarios import load_scenario
from tests.samples import child_pids


def test_a_board_that_never_answers_is_an_error_with_its_serial_tail(tmp_path):
    before = child_pids()
    # No board boots in zero seconds: the deadline path, as with a board that never answers.
    config = dataclasses.replace(BenchConfig(runs_dir=tmp_path), boot_timeout=0.0)
    record = run_scenario(load_scenario("founding-report"), config)
    assert record.verdict.outcome is Outcome.ERROR
    reason = record.verdict.reason
    assert "HIL:BOOT build=" in reason and "serial.log" in reason
    assert (record.run_dir / "error.txt").read_text().startswith(reason.split(": ", 1)[1][:40])
    for name in ("server.log", "build.log", "capture.pcapng", "timeline.md", "verdict.json"):
        assert (record.run_dir / name).exists(), name
    assert json.loads((record.run_dir / "verdict.json").read_text())["verdict"] == "error"
    assert child_pids() == before


def test_a_bench_address_off_this_machine_is_refused_before_anything_starts(tmp_path):
    before = child_pids()
    config = BenchConfig(runs_dir=tmp_path, bind="192.168.1.210")
    record = run_scenario(load_scenario("founding-report"), config)
    assert record.verdict.outcome is Outcome.ERROR
    assert "outside 127.0.0.0/8" in record.verdict.reason
    assert not (record.run_dir / "server.log").exists()
    assert child_pids() == before


def test_a_run_cut_short_after_the_capture_started_still_reads_the_capture(tmp_path):
    before = child_pids()
    # Booted, but gone quiet before its result: the wire is still analysed.
    config = dataclasses.replace(BenchConfig(runs_dir=tmp_path), attempt_timeout=0.0)
    record = run_scenario(load_scenario("founding-report"), config)
    assert record.verdict.outcome is Outcome.ERROR
    assert "HIL:DONE" in record.verdict.reason
    assert (record.run_dir / "tshark.log").exists()  # the capture was decoded
    assert record.timeline.first("server_listening") is not None
    assert child_pids() == before
