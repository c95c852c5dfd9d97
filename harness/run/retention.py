"""Run folders do not grow without limit: the last N runs are kept, and every run
that did not pass (its artifacts are what a failure is read from), whatever its age."""

from __future__ import annotations

import json
import logging
import shutil
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
