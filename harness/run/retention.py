"""Run folders do not grow without limit: the last N runs are kept, and every run
that did not pass (its artifacts are what a failure is read from), whatever its age.
The firmware store follows: a stored build no run folder links to any more goes."""

from __future__ import annotations

import json
import logging
import shutil
import time
from pathlib import Path

log = logging.getLogger(__name__)


def _outcome(run_dir: Path) -> str | None:
    try:
        return str(json.loads((run_dir / "verdict.json").read_text())["verdict"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def prune_runs(runs_dir: Path, keep: int) -> list[Path]:
    """Delete the passed runs older than the newest `keep` runs; returns what went.

    Only folders holding a verdict.json are run folders: anything else under
    `runs_dir` (a test's folders, `hil serve`'s, a user's notes) is left alone.
    `keep` 0 keeps everything.
    """
    if keep <= 0 or not runs_dir.is_dir():
        return []
    runs = [d for d in runs_dir.iterdir() if d.is_dir() and (d / "verdict.json").is_file()]
    runs.sort(key=lambda d: ((d / "verdict.json").stat().st_mtime, d.name), reverse=True)
    removed = []
    for run_dir in runs[keep:]:
        if _outcome(run_dir) == "pass":
            shutil.rmtree(run_dir, ignore_errors=True)
            removed.append(run_dir)
    if removed:
        log.info("removed %d passed run folder(s) beyond the last %d", len(removed), keep)
    return removed


# A build is stored a moment before its run links it (flash): never take one that young.
FIRMWARE_MIN_AGE = 3600.0


def prune_firmware(cache_dir: Path, min_age: float = FIRMWARE_MIN_AGE) -> list[Path]:
    """Delete stored builds (`<cache>/firmware/<build id>/`) that no run folder links to
    (the binary's only link is the store's own) and that are older than `min_age`
    seconds. A later run of the same build stores it again from the build cache."""
    store = cache_dir / "firmware"
    if not store.is_dir():
        return []
    now = time.time()
    removed = []
    for program in store.glob("*/program"):
        try:
            st = program.stat()
        except FileNotFoundError:
            continue
        if st.st_nlink == 1 and now - st.st_mtime > min_age:
            shutil.rmtree(program.parent, ignore_errors=True)
            removed.append(program.parent)
    if removed:
        log.info("removed %d stored build(s) no run folder uses", len(removed))
    return removed
