"""A harness killed with SIGKILL takes every process it started with it: direct
children, grandchildren in their group, grandchildren that left it; its private
folders go too. If its reaper was killed as well, the next harness cleans up."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from harness.instruments.reaper import sweep_stale
from harness.instruments.reaper_main import process_start

# A harness in miniature: one process tree through procs (a grandchild in the group,
# one in a session of its own, one started by procs.run that never ends) and a
# folder it asked the reaper to delete.
HARNESS = """
import sys, tempfile, threading, time
from pathlib import Path
from harness.instruments import procs
from harness.instruments.reaper import reaper

tree = procs.ManagedProcess(
    "tree", ["sh", "-c", "sleep 300 & setsid sleep 300 & sleep 300"],
    log_path=Path(sys.argv[1]) / "tree.log",
)
tree.start()
folder = Path(tempfile.mkdtemp(prefix="hil-reaper-test-", dir=sys.argv[1]))
reaper().track_dir(folder)
threading.Thread(
    target=procs.run, args=(["sh", "-c", "sleep 300 & sleep 300"],), kwargs={"timeout": 600},
    daemon=True,
).start()
print(folder, reaper().pid, flush=True)
time.sleep(600)
"""


def _descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [root]
    while todo:
        for kid in children.get(todo.pop(), []):
            found.add(kid)
            todo.append(kid)
    return found


def _alive(pids: set[int]) -> set[int]:
    return {p for p in pids if process_start(p) is not None}


def _wait_dead(pids: set[int], timeout: float) -> set[int]:
    deadline = time.monotonic() + timeout
    while _alive(pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return _alive(pids)


def _start_harness(tmp_path: Path) -> tuple[subprocess.Popen[str], Path, int, set[int]]:
    script = tmp_path / "mini_harness.py"
    script.write_text(HARNESS)
    env = {**os.environ, "HIL_STATE_DIR": str(tmp_path / "state")}
    proc = subprocess.Popen(
        [sys.executable, script, tmp_path],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert proc.stdout is not None
    folder_text, reaper_pid = proc.stdout.readline().split()
    # Every sleep has started (5 of them; sh may still be forking the last ones).
    deadline = time.monotonic() + 20
    while True:
        kids = _descendants(proc.pid) - {int(reaper_pid)}
        sleeps = [p for p in kids if b"sleep" in Path(f"/proc/{p}/cmdline").read_bytes()]
        if len(sleeps) >= 5:
            break
        assert time.monotonic() < deadline, kids
        time.sleep(0.05)
    # The setsid'd sleep leaves its parent; collect it by session as well.
    return proc, Path(folder_text), int(reaper_pid), kids


def test_a_killed_harness_leaves_no_process_and_no_private_folder(tmp_path):
    proc, folder, _, kids = _start_harness(tmp_path)
    assert folder.is_dir() and kids
    proc.kill()
    proc.wait()
    assert _wait_dead(kids, 10) == set()
    # The reaper deletes the folder, then its own state file: wait for both.
    state = tmp_path / "state"
    deadline = time.monotonic() + 5
    while (folder.exists() or list(state.glob("*.json"))) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not folder.exists()
    assert list(state.glob("*.json")) == []  # the reaper cleaned up after itself


def test_the_next_harness_clears_what_a_killed_harness_and_its_reaper_left(tmp_path):
    proc, folder, reaper_pid, kids = _start_harness(tmp_path)
    (state,) = (tmp_path / "state").glob("*.json")
    deadline = time.monotonic() + 10
    while str(folder) not in state.read_text():  # the reaper has read what it was told
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.kill(reaper_pid, signal.SIGKILL)
    proc.kill()
    proc.wait()
    time.sleep(0.5)
    # The direct child died with the harness (PR_SET_PDEATHSIG); its grandchildren did not.
    left = _alive(kids)
    assert left, "nothing was left: the test proves nothing"
    assert json.loads(state.read_text())["dirs"] == [str(folder)]
    signalled = sweep_stale(tmp_path / "state")
    assert left <= set(signalled)
    assert _wait_dead(kids, 10) == set()
    assert not folder.exists() and not state.exists()


def test_a_live_harness_is_left_alone_by_the_sweep(tmp_path):
    proc, folder, _, kids = _start_harness(tmp_path)
    try:
        assert sweep_stale(tmp_path / "state") == []
        assert _alive(kids) == kids and folder.is_dir()
    finally:
        proc.kill()
        proc.wait()
    assert _wait_dead(kids, 10) == set()
