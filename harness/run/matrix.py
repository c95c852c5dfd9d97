"""`hil matrix`: run sketches x boards x server profiles as one table (layer 4).

Cells of one (sketch, board) pair run one after the other in one worker, so a board's
build directory is never used by two builds at once and its firmware is built once
and reused while only the server differs; the pairs run in parallel, one worker per core.
A cell that errors stays an error cell with its run directory. Ctrl-C or SIGTERM (the
CLI turns it into KeyboardInterrupt) stops starting new cells, lets the running ones end
(each is bounded by the runner's deadlines) and keeps every finished cell.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from harness.analysis import matrix_report
from harness.instruments.boards import ALIASES, BOARDS, get_board_spec
from harness.instruments.servers.profiles import list_profiles
from harness.model import Expectation, Outcome, Scenario
from harness.model.errors import ConfigError, HilError
from harness.model.matrix import CellOutcome, MatrixCell
from harness.model.sketches import DEFAULT_SERVER_NAME
from harness.run.agent import AGENT_SKETCH
from harness.run.runner import BenchConfig, new_run_dir, run_scenario

log = logging.getLogger(__name__)

ALL = "all"
DEFAULT_CELL_TIMEOUT = 120.0


@dataclass(frozen=True)
class MatrixRequest:
    sketches: tuple[str, ...]
    boards: tuple[str, ...]
    profiles: tuple[str, ...]
    defines: Mapping[str, str] = field(default_factory=dict)
    backend: str = "builtin"
    cell_timeout: float = DEFAULT_CELL_TIMEOUT
    workers: int = 0  # 0: one per CPU core


@dataclass(frozen=True)
class MatrixResult:
    cells: tuple[MatrixCell, ...]
    directory: Path  # matrix.html, matrix.md, matrix.json and every cell's run directory
    interrupted: bool = False


def known_sketches(config: BenchConfig) -> list[str]:
    return sorted(p.name for p in config.sketches_dir.iterdir() if (p / f"{p.name}.ino").is_file())


def _expand(kind: str, asked: Sequence[str], known: Sequence[str], extra_ok=()) -> tuple[str, ...]:
    """`all` -> every known name; anything unknown is refused with the known list."""
    if not asked:
        raise ConfigError(
            f"no {kind} given", fix=f"give --{kind} NAME (or all): {', '.join(known)}"
        )
    out: list[str] = []
    for name in asked:
        names = list(known) if name == ALL else [name]
        for n in names:
            if n not in known and n not in extra_ok:
                raise ConfigError(
                    f"unknown {kind} {n!r}", fix=f"use one of: {', '.join(known)} (or all)"
                )
            if n not in out:
                out.append(n)
    return tuple(out)


def resolve(
    sketches: Sequence[str],
    boards: Sequence[str],
    profiles: Sequence[str],
    config: BenchConfig,
    *,
    agent: bool = False,
    **options,
) -> MatrixRequest:
    """Check every name before anything runs; `all` is accepted on each axis.

    With `agent`, the sketch is the agent (sketches/agent): one build and one flash per
    board, each profile's server sent over Serial at run time. On a bench board
    (config.bench_board) the cells run one at a time: they share one board.
    """
    if agent:
        if any(s != AGENT_SKETCH for s in sketches):
            raise ConfigError(
                f"--agent with --sketch {', '.join(sketches)}",
                fix="drop --sketch: with --agent every cell runs the agent sketch",
            )
        sketches = [AGENT_SKETCH]
    if config.bench_board is not None:
        options["workers"] = 1
    return MatrixRequest(
        sketches=_expand("sketch", sketches, known_sketches(config)),
        # The twins: a real board needs a bench file, which matrices do not take yet.
        boards=_expand(
            "board",
            boards,
            [name for name, spec in BOARDS.items() if spec.kind == "twin"],
            extra_ok=tuple(ALIASES),
        ),
        profiles=_expand("profile", profiles, list_profiles()),
        **options,
    )


def cell_scenario(req: MatrixRequest, sketch: str, board: str, profile: str) -> Scenario:
    return Scenario(
        name=f"{sketch}.{profile}@{board}",
        description=f"matrix cell: {sketch} on {board} against {profile}",
        sketch=sketch,
        board=board,
        profile=profile,
        expectation=Expectation(connected=True),
        backend=req.backend,
        defines=dict(req.defines),
        server_name=DEFAULT_SERVER_NAME,  # a host name: see model/sketches.py
    )


def _cell_config(config: BenchConfig, deadline: float, runs_dir: Path) -> BenchConfig:
    # The runner's own waits are the deadline's parts: boot, attempt and settle must fit.
    share = max(deadline / 3, 1.0)
    return replace(
        config,
        runs_dir=runs_dir,
        boot_timeout=min(config.boot_timeout, share),
        attempt_timeout=min(config.attempt_timeout, share),
    )


def run_cell(
    req: MatrixRequest, sketch: str, board: str, profile: str, config: BenchConfig
) -> MatrixCell:
    """One cell; an exception of any kind becomes an error cell, never a lost matrix."""
    started = time.monotonic()
    scenario = cell_scenario(req, sketch, board, profile)
    run_dir = new_run_dir(config.runs_dir, scenario.name)
    try:
        record = run_scenario(scenario, config, run_dir=run_dir)
    except (HilError, OSError, RuntimeError, ValueError) as exc:
        log.exception("matrix cell %s failed outside the runner", scenario.name)
        (run_dir / "error.txt").write_text(f"{exc}\n")
        return MatrixCell(
            sketch,
            board,
            profile,
            CellOutcome.ERROR,
            error=str(exc),
            run_dir=run_dir,
            seconds=round(time.monotonic() - started, 3),
        )
    seconds = round(time.monotonic() - started, 3)
    if seconds > req.cell_timeout:
        return MatrixCell(
            sketch,
            board,
            profile,
            CellOutcome.ERROR,
            error=f"the cell took {seconds:.0f} s, past its deadline of {req.cell_timeout:.0f} s",
            run_dir=record.run_dir,
            seconds=seconds,
        )
    if record.verdict.outcome is Outcome.ERROR:
        return MatrixCell(
            sketch,
            board,
            profile,
            CellOutcome.ERROR,
            cause=record.diagnosis.cause,
            error=record.verdict.reason,
            run_dir=record.run_dir,
            seconds=seconds,
        )
    outcome = CellOutcome.CONNECTED if record.diagnosis.connected else CellOutcome.FAILED
    return MatrixCell(
        sketch,
        board,
        profile,
        outcome,
        cause=record.diagnosis.cause,
        run_dir=record.run_dir,
        seconds=seconds,
    )


def run_matrix(
    req: MatrixRequest,
    config: BenchConfig,
    *,
    progress: Callable[[MatrixCell, int, int], None] | None = None,
    stop: threading.Event | None = None,
) -> MatrixResult:
    """Every cell of `req`; the tables are written to the matrix directory at the end,
    also after an interruption (with the unfinished cells as `not run`)."""
    for board in req.boards:
        get_board_spec(board)  # refused before anything runs
    stop = stop or threading.Event()
    directory = new_run_dir(config.runs_dir, "matrix")
    cell_config = _cell_config(config, req.cell_timeout, directory)
    total = len(req.sketches) * len(req.boards) * len(req.profiles)
    done: dict[tuple[str, str, str], MatrixCell] = {}
    lock = threading.Lock()

    def column(sketch: str, board: str) -> None:
        for profile in req.profiles:
            if stop.is_set():
                return
            cell = run_cell(req, sketch, board, profile, cell_config)
            with lock:
                done[cell.key] = cell
                count = len(done)
            if progress:
                progress(cell, count, total)

    workers = req.workers or os.cpu_count() or 1
    interrupted = False
    pool = cf.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hil-matrix")
    try:
        futures = [pool.submit(column, s, b) for s in req.sketches for b in req.boards]
        pending = set(futures)
        while pending:
            # Short waits, so Ctrl-C reaches this thread between them.
            finished, pending = cf.wait(pending, timeout=0.2)
            for f in finished:
                f.result()  # a bug in column() itself is not a cell error: raise it
    except KeyboardInterrupt:
        interrupted = True
        stop.set()
        log.warning("matrix interrupted: finishing the running cells, starting no more")
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    cells = tuple(
        done.get((s, b, p)) or MatrixCell(s, b, p, CellOutcome.NOT_RUN)
        for s in req.sketches
        for b in req.boards
        for p in req.profiles
    )
    result = MatrixResult(cells, directory, interrupted)
    write_tables(result)
    return result


def write_tables(result: MatrixResult) -> None:
    d = result.directory
    (d / "matrix.html").write_text(matrix_report.render_html(result.cells, base=d))
    (d / "matrix.md").write_text(matrix_report.render_markdown(result.cells))
    (d / "matrix.json").write_text(matrix_report.render_json_lines(result.cells))
    (d / "matrix.txt").write_text(matrix_report.render_text(result.cells))
