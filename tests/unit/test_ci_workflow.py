"""ci/nightly.yml's structure: what a self-hosted runner needs from it (labels per board
kind, a concurrency guard, a matrix over the bench's boards, artifacts and the job
summary) and that every command and path it names exists here. (ci/nightly.sh itself
runs in tests/integration/test_nightly.py.)"""

from __future__ import annotations

import os
import re
from pathlib import Path

import yaml

from harness.instruments.boards.bench import CHIPS
from harness.pytest_plugin import SUMMARY_NAME

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = yaml.safe_load((ROOT / "ci/nightly.yml").read_text())
JOBS = WORKFLOW["jobs"]


def steps(job: str, key: str) -> list[dict]:
    return [s for s in JOBS[job]["steps"] if key in s]


def test_runs_nightly_and_by_hand_one_at_a_time():
    triggers = WORKFLOW[True]  # YAML 1.1 reads the key `on` as true
    assert "schedule" in triggers and "workflow_dispatch" in triggers
    guard = WORKFLOW["concurrency"]
    assert guard["group"] and guard["cancel-in-progress"] is False
    board_guard = JOBS["board"]["concurrency"]
    assert "matrix.board.name" in board_guard["group"]
    assert board_guard["cancel-in-progress"] is False


def test_board_jobs_run_on_runners_labelled_with_the_board_kind():
    board = JOBS["board"]
    assert board["runs-on"][:2] == ["self-hosted", "hil"]
    assert board["runs-on"][2] == "${{ matrix.board.chip }}"
    assert board["strategy"]["matrix"]["board"] == "${{ fromJSON(needs.boards.outputs.matrix) }}"
    assert board["strategy"]["fail-fast"] is False
    # The matrix comes from the runner's bench file, read by ci/nightly.sh --matrix.
    listing = JOBS["boards"]
    (step,) = [s for s in listing["steps"] if s.get("id") == "list"]
    assert 'ci/nightly.sh "$HIL_BENCH" --matrix' in step["run"]
    assert listing["outputs"]["matrix"] == "${{ steps.list.outputs.matrix }}"
    # The twins stand in only when the runner has no bench.
    assert JOBS["twins"]["if"] == "needs.boards.outputs.matrix == '[]'"
    assert board["if"] == "needs.boards.outputs.matrix != '[]'"
    assert set(CHIPS) == {"esp8266", "esp32"}  # the labels the guide tells runners to have


def test_every_script_it_runs_exists_and_is_executable():
    named = set()
    for job in JOBS.values():
        for step in job["steps"]:
            named |= set(re.findall(r"\b((?:ci|scripts)/[\w.-]+)", step.get("run", "")))
    assert named == {"ci/nightly.sh", "scripts/dev.sh"}
    for path in named:
        assert os.access(ROOT / path, os.X_OK), path


def test_artifacts_hold_what_the_runs_write_even_when_they_fail():
    (run,) = [s for s in steps("board", "run") if "ci/nightly.sh" in s["run"]]
    out = re.search(r"--out (\S+)", run["run"])[1]
    (upload,) = steps("board", "uses")[1:]
    assert upload["uses"] == "actions/upload-artifact@v4" and upload["if"] == "always()"
    paths = upload["with"]["path"].splitlines()
    board_dir = f"{out}/${{{{ matrix.board.name }}}}"
    assert paths == [f"{board_dir}/runs/", f"{board_dir}/junit.xml"]
    # ci/nightly.sh writes DIR/NAME/runs and DIR/NAME/junit.xml
    script = (ROOT / "ci/nightly.sh").read_text()
    assert '--junitxml="$dir/junit.xml" --hil-runs-dir="$dir/runs"' in script
    assert 'dir="$out/$name"' in script
    (twin_run,) = [s for s in steps("twins", "run") if "dev.sh" in s["run"]]
    (twin_upload,) = steps("twins", "uses")[1:]
    for path in twin_upload["with"]["path"].splitlines():
        assert path.rstrip("/") in twin_run["run"]


def test_the_job_summary_gets_the_sessions_summary():
    (note,) = [s for s in steps("board", "run") if SUMMARY_NAME in s["run"]]
    assert note["if"] == "always()"
    assert "runs/hil-summary.md" in note["run"] and "$GITHUB_STEP_SUMMARY" in note["run"]
    # The pytest plugin itself appends the table to $GITHUB_STEP_SUMMARY.
    plugin = (ROOT / "harness/pytest_plugin.py").read_text()
    assert 'os.environ.get("GITHUB_STEP_SUMMARY")' in plugin
