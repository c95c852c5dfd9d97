"""Run folders: the last N runs stay, every run that did not pass stays, nothing else
under the runs folder is touched."""

from __future__ import annotations

import json
import os

from harness.run.retention import prune_firmware, prune_runs


def _run(runs, name, verdict, age):
    d = runs / name
    d.mkdir(parents=True)
    (d / "verdict.json").write_text(json.dumps({"verdict": verdict}))
    os.utime(d / "verdict.json", (1_700_000_000 - age, 1_700_000_000 - age))
    return d


def test_the_last_runs_and_every_failed_one_stay(tmp_path):
    old_pass = [_run(tmp_path, f"old-pass-{i}", "pass", 100 + i) for i in range(3)]
    old_fail = _run(tmp_path, "old-fail", "fail", 200)
    old_error = _run(tmp_path, "old-error", "error", 300)
    recent = [_run(tmp_path, f"new-{i}", "pass", i) for i in range(2)]
    other = tmp_path / "tests"
    other.mkdir()
    (tmp_path / "notes.txt").write_text("mine")

    removed = prune_runs(tmp_path, keep=2)

    assert sorted(removed) == sorted(old_pass)
    left = {p.name for p in tmp_path.iterdir()}
    assert left == {"old-fail", "old-error", "new-0", "new-1", "tests", "notes.txt"}
    assert old_fail.is_dir() and old_error.is_dir() and all(r.is_dir() for r in recent)


def test_keep_zero_keeps_everything(tmp_path):
    runs = [_run(tmp_path, f"r{i}", "pass", i) for i in range(5)]
    assert prune_runs(tmp_path, keep=0) == []
    assert all(r.is_dir() for r in runs)


def test_a_folder_without_a_readable_verdict_is_not_a_run(tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "verdict.json").write_text("{not json")
    os.utime(broken / "verdict.json", (1_000_000_000, 1_000_000_000))  # the oldest
    newest = _run(tmp_path, "new", "pass", 0)
    assert prune_runs(tmp_path, keep=1) == []
    assert broken.is_dir() and newest.is_dir()


def _stored(cache, build_id, age):
    program = cache / "firmware" / build_id / "program"
    program.parent.mkdir(parents=True)
    program.write_bytes(b"\x7fELF")
    os.utime(program, (1_700_000_000 - age, 1_700_000_000 - age))
    return program


def test_a_stored_build_no_run_links_to_goes_once_old(tmp_path):
    unused = _stored(tmp_path, "aaaa", 0)
    linked = _stored(tmp_path, "bbbb", 0)
    os.link(linked, tmp_path / "a-run-folder-link")
    young = tmp_path / "firmware" / "cccc" / "program"
    young.parent.mkdir(parents=True)
    young.write_bytes(b"\x7fELF")  # stored just now, its run about to link it

    removed = prune_firmware(tmp_path)

    assert removed == [unused.parent]
    assert not unused.parent.exists() and linked.exists() and young.exists()
