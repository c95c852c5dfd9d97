"""`hil matrix`: run sketches x boards x server profiles as one table (layer 4).

Cells of one (sketch, board) pair run one after the other in one worker, so a board's
build directory is never used by two builds at once and a firmware built once (per
server port and certificate) is kept by its build id and reused; the pairs run in
parallel, one worker per core. A worker reads the captures of a batch of its cells with
one tshark start (`MatrixRequest.batch`); each cell keeps its own capture and run
directory. A cell's attempt is cut at its deadline (`cell_timeout`): the runner ends its
waits and stops its processes there, and the cell is an error cell with its run
directory; the matrix goes on. Ctrl-C or SIGTERM (the CLI turns it into
KeyboardInterrupt) stops starting new cells, lets the running ones end (each bounded by
its deadline), analyses every cell begun and keeps every finished cell.
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
from harness.instruments.tshark import analyze_captures
from harness.model import Expectation, Outcome, RunRecord, Scenario
from harness.model.errors import ConfigError, HilError
from harness.model.matrix import CellOutcome, MatrixCell
from harness.model.sketches import DEFAULT_SERVER_NAME
from harness.run.agent import AGENT_SKETCH
from harness.run.runner import BenchConfig, Collected, collect, finish, new_run_dir

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
    # Cells whose captures one tshark start reads (a start costs about what a warm
    # cell's attempt does); results show up a batch at a time.
    batch: int = 8


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


@dataclass(frozen=True)
class _Begun:
    """A cell whose attempt is over, waiting for its batch's wire analysis."""

    sketch: str
    board: str
    profile: str
    collected: Collected | None
    seconds: float  # the attempt's, which the deadline bounds
    error: str | None = None  # the cell failed outside the runner


def _begin(
    req: MatrixRequest, sketch: str, board: str, profile: str, config: BenchConfig
) -> _Begun:
    """The cell's attempt, cut at its deadline: the runner stops the cell's processes
    and ends its waits there, so an overrun becomes an error cell, not a stuck worker."""
    started = time.monotonic()
    scenario = cell_scenario(req, sketch, board, profile)
    run_dir = new_run_dir(config.runs_dir, scenario.name)
    try:
        collected = collect(
            scenario, replace(config, deadline=started + req.cell_timeout), run_dir=run_dir
        )
    except (HilError, OSError, RuntimeError, ValueError) as exc:
        log.exception("matrix cell %s failed outside the runner", scenario.name)
        (run_dir / "error.txt").write_text(f"{exc}\n")
        return _Begun(sketch, board, profile, None, time.monotonic() - started, str(exc))
    return _Begun(sketch, board, profile, collected, time.monotonic() - started)


def _finish_batch(req: MatrixRequest, begun: list[_Begun], work_dir: Path) -> list[MatrixCell]:
    """One tshark start for the batch's captures, then each cell's analysis and artifacts."""
    started = time.monotonic()
    jobs = {i: b.collected.capture_job() for i, b in enumerate(begun) if b.collected}
    jobs = {i: job for i, job in jobs.items() if job is not None}
    wires = dict(zip(jobs, analyze_captures(list(jobs.values()), work_dir=work_dir), strict=True))
    share = (time.monotonic() - started) / max(len(begun), 1)
    cells = []
    for i, b in enumerate(begun):
        if b.collected is None:
            cells.append(_cell(b, None, share))
            continue
        finishing = time.monotonic()
        try:
            record = finish(b.collected, wires.get(i))
        except (HilError, OSError, RuntimeError, ValueError) as exc:
            log.exception("matrix cell %s: its analysis failed", b.collected.scenario.name)
            (b.collected.run_dir / "error.txt").write_text(f"{exc}\n")
            cells.append(_cell(replace(b, error=str(exc)), None, share))
            continue
        cells.append(_cell(b, record, share + time.monotonic() - finishing, req.cell_timeout))
    return cells


def _cell(
    b: _Begun, record: RunRecord | None, analysis: float, deadline: float = 0.0
) -> MatrixCell:
    seconds = round(b.seconds + analysis, 3)
    key = (b.sketch, b.board, b.profile)
    if record is None:
        run_dir = b.collected.run_dir if b.collected else None
        return MatrixCell(*key, CellOutcome.ERROR, error=b.error, run_dir=run_dir, seconds=seconds)
    if b.seconds > deadline:
        return MatrixCell(
            *key,
            CellOutcome.ERROR,
            error=f"the cell took {b.seconds:.0f} s, past its deadline of {deadline:.0f} s",
            run_dir=record.run_dir,
            seconds=seconds,
        )
    if record.verdict.outcome is Outcome.ERROR:
        return MatrixCell(
            *key,
            CellOutcome.ERROR,
            cause=record.diagnosis.cause,
            error=record.verdict.reason,
            run_dir=record.run_dir,
            seconds=seconds,
        )
    outcome = CellOutcome.CONNECTED if record.diagnosis.connected else CellOutcome.FAILED
    return MatrixCell(
        *key, outcome, cause=record.diagnosis.cause, run_dir=record.run_dir, seconds=seconds
    )


def run_cell(
    req: MatrixRequest, sketch: str, board: str, profile: str, config: BenchConfig
) -> MatrixCell:
    """One cell on its own; an exception of any kind becomes an error cell, never a lost
    matrix."""
    return _finish_batch(req, [_begin(req, sketch, board, profile, config)], config.runs_dir)[0]


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
        begun: list[_Begun] = []
        # 1, 2, 4, ... cells a batch: the first cell shows up at once, later ones in
        # batches that make the tshark start rare.
        size = 1

        def flush() -> None:
            nonlocal size
            cells = _finish_batch(req, begun, directory)
            begun.clear()
            size = min(size * 2, max(req.batch, 1))
            for cell in cells:
                with lock:
                    done[cell.key] = cell
                    count = len(done)
                if progress:
                    progress(cell, count, total)

        try:
            for profile in req.profiles:
                if stop.is_set():
                    return
                begun.append(_begin(req, sketch, board, profile, cell_config))
                if len(begun) >= size:
                    flush()
        finally:
            # Also when stopped: every cell begun is analysed and kept.
            if begun:
                flush()

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
