"""Many goldens at once (layer 4): each case run on its twin and compared, in parallel.

A golden comparison is a build (the sketch compiled with the case's switches; the twin
reads the port and certificate at start, so cases that differ only in those share one
build), a run of about a second and a comparison; most of it is the compiler or
waiting. Running a few cases side by side keeps both cores of a small machine busy.
Each case has its own run directory, server port and board; builds of one board and
sketch take turns (the board's build lock), so the cases are dealt out board by board
in turn, and workers seldom wait for each other's lock.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path

from harness.analysis.golden import GoldenReport
from harness.model import Outcome
from harness.model.errors import HilError
from harness.run.golden import check, load_case, scenario_for_case
from harness.run.runner import BenchConfig, new_run_dir, run_scenario

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CaseResult:
    """One golden's case: the comparison, or why there is none."""

    golden: Path
    board: str
    run_dir: Path | None
    report: GoldenReport | None
    error: str  # empty when there is a report
    seconds: float


def _interleaved(cases: Sequence[tuple[Path, str]]) -> list[tuple[Path, str]]:
    """Board by board in turn: a, b, c, a, b, c, ... (each board's cases in order)."""
    by_board: dict[str, list[tuple[Path, str]]] = {}
    for case in cases:
        by_board.setdefault(case[1], []).append(case)
    rounds = zip_longest(*by_board.values())
    return [case for batch in rounds for case in batch if case is not None]


def run_case(golden: Path, board: str, config: BenchConfig, runs_dir: Path) -> CaseResult:
    """Run `golden`'s case on `board` and compare; a harness error is a result too."""
    started = time.monotonic()
    run_dir = None
    try:
        scenario = scenario_for_case(load_case(golden), board, golden.name)
        # A folder of its own, outside config.runs_dir: no other run prunes it meanwhile.
        run_dir = new_run_dir(runs_dir, scenario.name)
        record = run_scenario(scenario, config, run_dir=run_dir)
        if record.verdict.outcome is Outcome.ERROR:
            return CaseResult(
                golden, board, run_dir, None, record.verdict.reason, time.monotonic() - started
            )
        report = check(run_dir, golden)
    except HilError as exc:
        return CaseResult(golden, board, run_dir, None, str(exc), time.monotonic() - started)
    return CaseResult(golden, board, run_dir, report, "", time.monotonic() - started)


def run_cases(
    cases: Iterable[tuple[Path, str]],
    config: BenchConfig,
    runs_dir: Path,
    *,
    workers: int = 2,
) -> dict[Path, CaseResult]:
    """Every (golden, board) case run and compared, `workers` at a time."""
    order = _interleaved(list(cases))
    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="golden")
    try:
        futures = [
            pool.submit(run_case, golden, board, config, runs_dir) for golden, board in order
        ]
        results = [f.result() for f in futures]
    finally:
        # On Ctrl-C the cases not started are dropped; those running end within their
        # own deadlines (every step of a run has one).
        pool.shutdown(wait=True, cancel_futures=True)
    for r in results:
        log.info("golden %s on %s: %.1f s", r.golden, r.board, r.seconds)
    return {r.golden: r for r in results}
