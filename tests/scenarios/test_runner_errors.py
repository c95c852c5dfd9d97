"""A run that cannot complete still ends cleanly: an `error` verdict that says why,
every artifact kept, every process stopped."""

from __future__ import annotations

import dataclasses
import json

from harness.model import Outcome
from harness.run.runner import BenchConfig, run_scenario
from harness.run.scenarios import load_scenario
from tests.samples import DATA, child_pids

TEST_SKETCHES = DATA / "sketches"


def test_a_board_that_never_answers_is_an_error_with_its_serial_tail(tmp_path):
    before = child_pids()
    # A sketch that never prints: no HIL:BOOT however long the wait, so no race with
    # a twin that boots before the deadline is looked at.
    config = BenchConfig(runs_dir=tmp_path, sketches_dir=TEST_SKETCHES, boot_timeout=1.0)
    scenario = dataclasses.replace(load_scenario("founding-report"), sketch="silent")
    record = run_scenario(scenario, config)
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


def test_an_unknown_board_still_writes_the_run_record(tmp_path):
    scenario = dataclasses.replace(load_scenario("founding-report"), board="no-such-board")
    record = run_scenario(scenario, BenchConfig(runs_dir=tmp_path))
    assert record.verdict.outcome is Outcome.ERROR
    assert "unknown board 'no-such-board'" in record.verdict.reason
    saved = json.loads((record.run_dir / "verdict.json").read_text())
    assert saved["verdict"] == "error" and "no-such-board" in saved["reason"]


def test_a_bug_in_the_harness_still_writes_the_run_record(tmp_path, monkeypatch):
    from harness.run import runner

    def broken(*args, **kwargs):
        raise RuntimeError("a bug of ours")

    monkeypatch.setattr(runner, "_attempt", broken)
    record = run_scenario(load_scenario("founding-report"), BenchConfig(runs_dir=tmp_path))
    assert record.verdict.outcome is Outcome.ERROR
    assert "RuntimeError in the harness: a bug of ours" in record.verdict.reason
    assert json.loads((record.run_dir / "verdict.json").read_text())["verdict"] == "error"
