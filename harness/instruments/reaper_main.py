"""The reaper: a watchdog process that stops what a harness started once the harness is gone.

`python -S -E .../reaper_main.py STATE_FILE TOKEN` is started by
`harness.instruments.reaper` the first time the harness starts a process, in a
session of its own (so killing the harness's process group spares it). It reads
its instructions from stdin, one line each:

    group PID STARTTIME   a process group the harness started (its leader's pid)
    ungroup PID           that group was stopped by the harness itself
    dir PATH              a folder to delete if the harness dies (Apache's, with a key)
    undir PATH            the harness deleted it itself

and keeps STATE_FILE (JSON) up to date with them. End of stdin means the harness
exited, however it exited (SIGKILL included: the kernel closes the pipe). Then
it stops every recorded group still led by the same process (pid and start time
checked, so a reused pid is never touched), every process whose environment
carries the harness's token (grandchildren that left the group), deletes the
recorded folders and its state file, and exits.

If the reaper itself is killed too, the state file stays; the next harness to
start a process runs `cleanup()` on it (`reaper.sweep_stale`). Nothing is ever
killed by name.

It imports only the standard library (and runs without site-packages), so the
parent can import `cleanup` and `process_start` from here.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

TOKEN_VAR = "HIL_OWNER"
TERM_GRACE = 3.0
KILL_GRACE = 2.0


def process_start(pid: int) -> int | None:
    """The start time of `pid` (clock ticks since boot), None when it does not exist."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (OSError, ValueError):
        return None
    fields = text.rsplit(")", 1)[1].split()
    if fields[0] == "Z":
        return None  # a zombie is dead, only not reaped yet
    return int(fields[19])


def _stat_fields(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, ValueError, IndexError):
        return None


def _pids() -> Iterable[int]:
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            yield int(entry)


def group_members(pgid: int) -> list[int]:
    """Live processes in process group `pgid`."""
    out = []
    for pid in _pids():
        fields = _stat_fields(pid)
        if fields is not None and fields[0] != "Z" and int(fields[2]) == pgid:
            out.append(pid)
    return out


def _carries(pid: int, marker: bytes) -> bool:
    try:
        return marker in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False


def _targets(groups: dict[int, int], token: str) -> set[int]:
    """Live processes that belong to the harness: in a recorded group whose leader (if
    still there) is the one recorded, or carrying the harness's token."""
    marker = f"{TOKEN_VAR}={token}".encode()
    ours = {pgid for pgid, start in groups.items() if process_start(pgid) in (None, start)}
    me = os.getpid()
    found = set()
    for pid in _pids():
        if pid == me:
            continue
        fields = _stat_fields(pid)
        if fields is None or fields[0] == "Z":
            continue
        if int(fields[2]) in ours or (token and _carries(pid, marker)):
            found.add(pid)
    return found


def cleanup(state: dict[str, Any]) -> list[int]:
    """Stop every process of a harness that is gone and delete its folders.

    SIGTERM first (servers log their stop, Apache stops its workers), SIGKILL for
    what is left after a grace period. Returns the pids it signalled.
    """
    groups = {int(k): int(v) for k, v in state.get("groups", {}).items()}
    token = str(state.get("token", ""))
    signalled: list[int] = []
    for sig, grace in ((signal.SIGTERM, TERM_GRACE), (signal.SIGKILL, KILL_GRACE)):
        targets = _targets(groups, token)
        if not targets:
            break
        for pid in targets:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
                signalled.append(pid)
        deadline = time.monotonic() + grace
        while _targets(groups, token) and time.monotonic() < deadline:
            time.sleep(0.05)
    for folder in state.get("dirs", []):
        shutil.rmtree(folder, ignore_errors=True)
    return signalled


class State:
    def __init__(self, path: Path, token: str, harness: int) -> None:
        self.path = path
        self.data: dict[str, Any] = {
            "token": token,
            "harness": [harness, process_start(harness)],
            "reaper": [os.getpid(), process_start(os.getpid())],
            "groups": {},
            "dirs": [],
        }
        self.save()

    def apply(self, line: str) -> None:
        verb, _, arg = line.partition(" ")
        if verb == "group":
            pid, start = arg.split()
            self.data["groups"][pid] = int(start)
        elif verb == "ungroup":
            self.data["groups"].pop(arg, None)
        elif verb == "dir":
            self.data["dirs"].append(arg)
        elif verb == "undir":
            with contextlib.suppress(ValueError):
                self.data["dirs"].remove(arg)
        else:
            return
        self.save()

    def save(self) -> None:
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        tmp.write_text(json.dumps(self.data), encoding="utf-8")
        os.replace(tmp, self.path)


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: reaper_main.py STATE_FILE TOKEN", file=sys.stderr)
        return 2
    # Ctrl-C in a terminal goes to the harness; the reaper must outlive it to clean up.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    state = State(Path(argv[1]), argv[2], os.getppid())
    print("ready", flush=True)  # the state file exists: a harness killed from now on is covered
    for raw in sys.stdin:
        state.apply(raw.strip())
    cleanup(state.data)
    state.path.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
