"""A session's runs as one Markdown table (scenario x board: verdict, cause, link), for a
person at the end of a pytest session and for CI's job summary. Pure."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from harness.model import RunRecord

_MARK = {"pass": "pass", "fail": "**FAIL**", "error": "**ERROR**"}


def _link(record: RunRecord, base: Path | None) -> str:
    target = record.run_dir / "timeline.html"
    if base is not None:
        target = Path(os.path.relpath(target, base))
    return f"[{record.run_dir.name}]({target.as_posix()})"


def summary_markdown(records: Sequence[RunRecord], *, base: Path | None = None) -> str:
    """One row per run, failures first; links relative to `base` when given (the folder
    the summary is written to), so the runs folder can be moved or uploaded whole."""
    counts = {k: sum(r.verdict.outcome.value == k for r in records) for k in _MARK}
    out = [
        "## esp-tls-hil runs",
        "",
        f"{len(records)} runs: {counts['pass']} passed, {counts['fail']} failed, "
        f"{counts['error']} errors.",
        "",
        "| scenario | board | profile | verdict | cause | run |",
        "|---|---|---|---|---|---|",
    ]
    order = {"error": 0, "fail": 1, "pass": 2}
    for r in sorted(records, key=lambda r: order[r.verdict.outcome.value]):
        cause = r.diagnosis.cause or "connected"
        s = r.scenario
        verdict = _MARK[r.verdict.outcome.value]
        out.append(
            f"| {s.name} | {s.board} | {s.profile} | {verdict} | {cause} | {_link(r, base)} |"
        )
    return "\n".join(out) + "\n"
