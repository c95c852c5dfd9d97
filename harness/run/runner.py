"""Runs one scenario with the adapters and hands the artifacts to the analysis (layer 4).

Everything started here is stopped on every exit path (an ExitStack unwinds in
reverse order, each stop bounded), and every artifact stays in the run
directory, above all when the run fails.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import json
import logging
import os
import re
import shutil
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from harness.analysis import ladder, report
from harness.analysis.correlate import build_timeline
from harness.analysis.diagnose import Context, diagnose
from harness.analysis.logformats import parse_serial
from harness.analysis.logformats.lines import read_serial_log
from harness.analysis.serverlog import parse_server_log
from harness.analysis.sketch_source import (
    SketchFacts,
    ip_literal_note,
    parse_source,
    pinned_notes,
    sketch_files,
)
from harness.analysis.verdict import judge
from harness.analysis.wire import WireAnalysis
from harness.instruments.boards import (
    BOARD_KINDS,
    find_board_spec,
    get_board_spec,
    open_board,
    twin_run_values,
)
from harness.instruments.boards.base import Board, BoardSpec, BuildRequest, Firmware
from harness.instruments.boards.bench import Bench
from harness.instruments.capture import Capture, capture_target
from harness.instruments.certs import CertBundle, get_plan, make_certs
from harness.instruments.reaper import sweep_stale
from harness.instruments.serial_monitor import BITS_PER_BYTE, SerialMonitor
from harness.instruments.servers import TlsServer, start_server
from harness.instruments.servers.profiles import ServerProfile, accepted_suites, load_profile
from harness.instruments.tshark import CaptureJob, PrimedPass, analyze_capture
from harness.model import (
    Confidence,
    Event,
    Evidence,
    Expectation,
    Outcome,
    RunRecord,
    Scenario,
    Verdict,
)
from harness.model.errors import (
    ConfigError,
    DeadlineError,
    HilError,
    NetworkSafetyError,
    PortInUseError,
)
from harness.run.agent import AGENT_SKETCH, agent_header, job_payload, send_job
from harness.run.names import safe_name
from harness.run.retention import prune_firmware, prune_runs
from harness.run.runinfo import write_run_info
from harness.run.server_port import pick_port
from harness.run.session import RunSession, Station, StationPass
from harness.run.shipped import shipped_dir
from harness.run.target import Target, resolve_target

log = logging.getLogger(__name__)


# How a user's sketch's run ended (it prints no HIL:DONE), kept in the run directory.
RUN_END = "run-end.txt"
CUT_AT_DEADLINE = "Serial was never quiet long enough: the run was cut"


def _default_cache() -> Path:
    return Path(os.environ.get("HIL_CACHE_DIR", Path.home() / ".cache" / "esp-tls-hil"))


@dataclass(frozen=True)
class BenchConfig:
    """Everything a run needs to know about this bench; one frozen object handed down."""

    runs_dir: Path = field(default_factory=lambda: Path("hil-runs"))
    cache_dir: Path = field(default_factory=_default_cache)
    sketches_dir: Path = field(default_factory=lambda: shipped_dir("sketches"))
    bind: str = "127.0.0.1"
    boot_timeout: float = 20.0  # reset -> HIL:BOOT
    attempt_timeout: float = 30.0  # HIL:BOOT -> HIL:DONE (a user's sketch: -> quiet)
    # A user's sketch prints no HIL:DONE: its run ends when Serial has been quiet this
    # long with no connection open at the server (capped by attempt_timeout).
    quiet_timeout: float = 3.0
    settle_timeout: float = 2.0  # HIL:DONE -> the server saw every connection close
    keep_runs: int = 20  # run folders kept: the last N and every failed one (0: all)
    bench: Bench | None = None  # the bench file's boards (--hil-bench, HIL_BENCH)
    bench_board: str | None = None  # the bench board scenarios run on (--hil-board)
    port: str | None = None  # overrides that board's port (--hil-port)
    skip_flash: bool = False  # trust the board's firmware; still check its build id
    # A time.monotonic() instant the whole attempt must end by (a matrix cell's
    # deadline): every wait of the run is cut there and the run ends as an error.
    deadline: float | None = None


def new_run_dir(parent: Path, name: str) -> Path:
    """A directory of its own under `parent`, `<UTC stamp>-<name>`, never reused."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    base = parent / f"{stamp}-{safe_name(name)}"
    path, n = base, 1
    while True:
        try:
            path.mkdir(parents=True)
            return path.resolve()
        except FileExistsError:
            n += 1
            path = base.with_name(f"{base.name}-{n}")
        except OSError as exc:
            raise ConfigError(
                f"cannot make a run folder in {parent}",
                seen=exc.strerror or str(exc),
                fix="give a runs folder you can write (--runs-dir, ini hil_runs_dir)",
            ) from None


@contextlib.contextmanager
def _step(durations: dict[str, float], name: str) -> Iterator[None]:
    """Time a stage of the run and log it with its outcome."""
    started = time.monotonic()
    log.info("step %s ...", name)
    outcome = "failed"
    try:
        yield
        outcome = "ok"
    finally:
        durations[name] = round(time.monotonic() - started, 4)
        log.info("step %s %s in %.3f s", name, outcome, durations[name])


@dataclass(frozen=True)
class Collected:
    """What a run's attempt left for the analysis: `collect`'s result, `finish`'s input."""

    scenario: Scenario
    config: BenchConfig
    target: Target
    run_dir: Path
    profile: ServerProfile | None
    certs: CertBundle | None
    port: int
    error: HilError | None
    durations: dict[str, float]
    marks: dict[str, float]
    started: float
    interrupted: BaseException | None = None
    # tshark started ahead for this run's capture, or its station's (harness.run.session)
    primed: PrimedPass | StationPass | None = None
    facts: SketchFacts | None = None  # what a user's sketch hard-codes

    def capture_job(self) -> CaptureJob | None:
        """The capture for a batched wire analysis, when there is one to read."""
        pcap = self.run_dir / "capture.pcapng"
        port = self.port or _listening_port(self.run_dir)
        if not (pcap.exists() and port):
            return None
        return CaptureJob(pcap, self.run_dir / "keylog.txt", port, self.run_dir / "tshark.log")


def run_scenario(
    scenario: Scenario,
    config: BenchConfig,
    *,
    run_dir: Path | None = None,
    session: RunSession | None = None,
) -> RunRecord:
    """Run `scenario` once; a harness error gives an `error` verdict, never a lost run.
    With a `session`, the run borrows its pooled server, capture and tshark
    (harness.run.session); without, it starts and stops its own.

    Every run that got a run directory writes `verdict.json`: one that fails on bad
    input, one that meets a bug of ours (an `error` verdict naming it) and one cut
    short by Ctrl-C or SIGTERM (written, then the interrupt goes on up).
    """
    return finish(collect(scenario, config, run_dir=run_dir, prime=True, session=session))


def collect(
    scenario: Scenario,
    config: BenchConfig,
    *,
    run_dir: Path | None = None,
    prime: bool = False,
    session: RunSession | None = None,
) -> Collected:
    """The attempt: everything up to the analysis. Never raises for a harness error or
    an interrupt (both are kept for `finish`), so a batch can finish every run it began.
    `prime`: start the run's tshark once the server's port is known (tshark.PrimedPass),
    for a run analysed on its own; `finish` must follow, which stops it."""
    run_dir = run_dir or new_run_dir(config.runs_dir, scenario.name)
    target = Target(scenario, None, config.bind, external=False)
    try:
        target = resolve_target(
            scenario,
            bench=config.bench,
            board_name=config.bench_board,
            port=config.port,
            bind=config.bind,
        )
        scenario = target.scenario
    except HilError as exc:
        early: HilError | None = exc
    else:
        early = None
    write_run_info(scenario, target.bind, run_dir)
    durations: dict[str, float] = {}
    marks: dict[str, float] = {}
    started = time.monotonic()
    error: HilError | None = None
    interrupted: BaseException | None = None
    port = 0
    profile: ServerProfile | None = None
    certs: CertBundle | None = None
    facts: SketchFacts | None = None
    primed: list[PrimedPass | StationPass] | None = [] if prime else None
    try:
        sketch_dir = _sketch_dir(scenario, config)
        facts = _read_sketch(sketch_dir, run_dir)
        _check_frames(scenario, facts, sketch_dir)
        if early is not None:
            raise early
        # A harness killed earlier may have left a server on this scenario's port.
        sweep_stale()
        if not target.external:
            _check_local(target.bind)
        get_board_spec(scenario.board)
        profile = load_profile(scenario.profile)
        certs = _issue_certs(scenario, profile, target, config, run_dir, durations, facts)
        if certs.host != target.bind:
            write_run_info(scenario, certs.host, run_dir)  # the name the sketch was given
        with _board_session(target) as reachable:
            port = _attempt(
                reachable,
                profile,
                certs,
                config,
                run_dir,
                durations,
                marks,
                sketch_dir,
                facts,
                primed,
                session,
            )
    except HilError as exc:
        error = exc
    except KeyboardInterrupt as exc:
        error = HilError(
            "the run was interrupted (Ctrl-C or SIGTERM)",
            fix="run it again; what it recorded so far is in the run directory",
        )
        interrupted = exc
    except Exception as exc:
        log.exception("scenario %s: unexpected error", scenario.name)
        error = HilError(
            f"unexpected {type(exc).__name__} in the harness: {exc}",
            fix="a bug in esp-tls-hil: report it with this run directory",
            log=run_dir,
        )
    if error is not None:
        log.error("scenario %s: %s", scenario.name, error)
        (run_dir / "error.txt").write_text(str(error) + "\n")
    return Collected(
        scenario,
        config,
        target,
        run_dir,
        profile,
        certs,
        port,
        error,
        durations,
        marks,
        started,
        interrupted,
        primed[0] if primed else None,
        facts,
    )


def finish(collected: Collected, wire: WireAnalysis | HilError | None = None) -> RunRecord:
    """Analyse and write the artifacts; `wire` is the capture's analysis when a batch
    read it already (None: read it here). Re-raises the run's interrupt, after."""
    c = collected
    with _step(c.durations, "analyse"):
        if c.primed is not None:
            try:
                pcap = c.run_dir / "capture.pcapng"
                if wire is None and pcap.exists():
                    wire = _primed_analysis(c.primed, pcap)
            finally:
                c.primed.close()
                own_log = c.run_dir / "tshark.log"
                if c.primed.log_path != own_log and c.primed.log_path.exists():
                    # A pooled tshark logged in the session's folder: the run keeps a copy.
                    shutil.copyfile(c.primed.log_path, own_log)
        record = _analyse(
            c.scenario,
            c.profile,
            c.certs,
            c.port,
            c.run_dir,
            c.error,
            c.durations,
            c.marks,
            c.facts,
            wire,
        )
    record = replace(record, board_info=c.target.info())
    c.durations["total"] = round(time.monotonic() - c.started, 4)
    _write_artifacts(record)
    config = c.config
    if c.run_dir.parent == Path(config.runs_dir).resolve() and config.keep_runs > 0:
        prune_runs(c.run_dir.parent, config.keep_runs)
        prune_firmware(config.cache_dir)
    if c.interrupted is not None:
        raise c.interrupted
    return record


def _sketch_dir(scenario: Scenario, config: BenchConfig) -> Path:
    sketch_dir = config.sketches_dir / scenario.sketch
    if not sketch_dir.is_dir():
        raise HilError(
            f"scenario {scenario.name}: sketch folder {sketch_dir} does not exist",
            fix=(
                "check the scenario's sketch name, or point the sketches folder there "
                "(hil --sketches-dir, ini hil_sketches_dir, fixture hil_sketches_dir)"
            ),
        )
    return sketch_dir


def _check_frames(scenario: Scenario, facts: SketchFacts, sketch_dir: Path) -> None:
    """A user's sketch prints no HIL: lines and dials what it hard-codes: only a board
    whose build frames setup() and which maps addresses (the twin) can run it."""
    spec = find_board_spec(scenario.board)
    if facts.uses_scenario_header or spec is None or BOARD_KINDS[spec.kind].frames_setup:
        return
    raise ConfigError(
        f"board {spec.name} cannot run a user's sketch unchanged: its build does not frame "
        "setup() with HIL:BOOT/HIL:DONE, and it dials what the sketch hard-codes",
        seen=f"{sketch_dir} includes no hil_scenario.h",
        fix="run it on a twin board (hil boards), or make the sketch take its server "
        "from hil_scenario.h and print the HIL: lines (see sketches/)",
    )


def _read_sketch(sketch_dir: Path, run_dir: Path) -> SketchFacts:
    """What the sketch hard-codes (a user's sketch: no hil_scenario.h), kept in the run."""
    files = [
        (p.name, p.read_text(encoding="utf-8", errors="replace"))
        for p in sorted(sketch_dir.iterdir())
        if p.is_file()
    ]
    facts = parse_source(sketch_files(files))
    if not facts.uses_scenario_header:
        (run_dir / "sketch-facts.json").write_text(
            json.dumps(
                {
                    "hosts": facts.hosts,
                    "ips": facts.ips,
                    "ports": facts.ports,
                    "certificates": len(facts.certificates),
                    "fingerprints": [f"{f.algorithm}:{f.hex}" for f in facts.fingerprints],
                },
                indent=2,
            )
            + "\n"
        )
    return facts


def _primed_analysis(primed: PrimedPass | StationPass, pcap: Path) -> WireAnalysis | HilError:
    try:
        return primed.analyze(pcap)
    except HilError as exc:
        return exc


def _prime(
    primed: list[PrimedPass | StationPass] | None,
    port: int,
    run_dir: Path,
    durations: dict[str, float],
) -> None:
    """(Re)start the run's tshark for `port`; one that failed to start is only logged,
    as the analysis then starts its own and says what went wrong."""
    if primed is None:
        return
    while primed:
        primed.pop().close()
    with _step(durations, "tshark_start"):
        try:
            primed.append(PrimedPass(run_dir / "keylog.txt", port, log_path=run_dir / "tshark.log"))
        except HilError as exc:
            log.warning("tshark could not be started ahead: %s", exc)


@contextlib.contextmanager
def _board_session(target: Target) -> Iterator[Target]:
    """The target with its board reachable for the whole attempt: a bench board that names
    a labgrid place is acquired (and released on every exit path) around it."""
    if target.bench_board is None or target.bench_board.port.kind != "place":
        yield target
        return
    from harness.instruments.boards.farm import board_session  # labgrid: the [farm] extra

    with board_session(target.bench_board) as board:
        yield replace(target, bench_board=board)


def _issue_certs(
    scenario: Scenario,
    profile: ServerProfile,
    target: Target,
    config: BenchConfig,
    run_dir: Path,
    durations: dict[str, float],
    facts: SketchFacts,
) -> CertBundle:
    """The plan's certificates, issued for the name the sketch dials: the bench address
    for our sketches, the host name (or IP literal) a user's sketch hard-codes."""
    with _step(durations, "certs"):
        plan = get_plan(scenario.cert_plan or profile.cert_plan)
        host = _server_name(scenario, target, facts)
        return make_certs(plan, host, run_dir / "certs", config.cache_dir / "keys")


def _server_name(scenario: Scenario, target: Target, facts: SketchFacts) -> str:
    """The name the sketch dials: what a user's sketch hard-codes, else the scenario's
    server name (on the twin, which maps it), else the bench address."""
    if not facts.uses_scenario_header and facts.server_name:
        return facts.server_name
    if target.bench_board is not None:
        return target.bind  # a real board dials the bench address: nothing maps a name
    return scenario.server_name or target.bind


def _attempt(
    target: Target,
    profile: ServerProfile,
    certs: CertBundle,
    config: BenchConfig,
    run_dir: Path,
    durations: dict[str, float],
    marks: dict[str, float],
    sketch_dir: Path,
    facts: SketchFacts,
    primed: list[PrimedPass | StationPass] | None = None,
    session: RunSession | None = None,
) -> int:
    """Build, flash, server, capture, reset, watch; returns the server's port. With
    `primed`, the run's tshark is started as soon as the port is known and put there.

    The order of DESIGN.md: the board is flashed before the server listens, so the
    boot a real board makes to tell its running build (and the run of the sketch that
    follows it) meets no server; the attempt starts at the reset through the reader.
    """
    scenario = target.scenario
    user_sketch = not facts.uses_scenario_header
    with contextlib.ExitStack() as stack:
        board: Board = stack.enter_context(
            open_board(
                scenario.board,
                cache_dir=config.cache_dir,
                run_dir=run_dir,
                bench_board=target.bench_board,
                skip_flash=config.skip_flash,
            )
        )
        if session is not None and not _poolable(target, scenario):
            session = None  # Apache, a bench board, an external bind: a server of its own
        port = pick_port(
            config.cache_dir,
            target.scenario.name,
            target.bind,
            target.bench_board,
            ours=session.holds if session is not None else None,
        )
        with _step(durations, "build"):
            firmware = _build(target, certs, board, config, port, run_dir, sketch_dir, facts)
        _left(config, 0.0)  # a build that used the whole deadline: stop before the flash
        with _step(durations, "flash"):
            board.flash(firmware, log_path=run_dir / "build.log")
        station: Station | None = None
        with _step(durations, "server"):
            try:
                server, station = _serve(profile, certs, target, port, run_dir, session)
            except PortInUseError:
                # Taken since we picked it: a real board has the port compiled in, so build
                # and flash again (a twin's build reads it at start: the same build id).
                log.info("port %d was taken meanwhile; %s gets another", port, scenario.name)
                port = pick_port(
                    config.cache_dir, scenario.name, target.bind, target.bench_board, fresh=True
                )
                firmware = _build(target, certs, board, config, port, run_dir, sketch_dir, facts)
                board.flash(firmware, log_path=run_dir / "build.log")
                server, station = _serve(profile, certs, target, port, run_dir, session)
            if station is not None and session is not None:
                # Kept for the next run only if this one ends it cleanly (teardown).
                stack.callback(session.give_back, station)
            else:
                stack.callback(server.stop)
        if not user_sketch and _run_values(board):
            board.give_run_values(twin_run_values.environment(certs, server.port))
        if user_sketch:
            # Every address and port the sketch hard-codes is the run's server (the
            # twin reads the map at reset: no build depends on it).
            board.map_network(
                {addr: target.bind for addr in facts.addresses},
                {p: server.port for p in facts.ports if p != server.port},
            )
        elif certs.host != target.bind:
            board.map_network({certs.host: target.bind}, {})
        # Not before the server: on two cores tshark's start would slow the server's.
        if station is not None:
            if primed is not None:
                primed.append(station.wire_pass(run_dir))
        else:
            _prime(primed, server.port, run_dir, durations)
        # A station's capture cut this run's part at its start marker already.
        capture = None if station is not None else _capture(target, config, server.port, run_dir)
        if capture is not None:
            with _step(durations, "capture_start"):
                capture.start()
            stack.callback(capture.stop)
        monitor = stack.enter_context(
            SerialMonitor(board.serial_port, run_dir, baud=_baud(board, target)).open()
        )
        stack.callback(board.halt)
        with _step(durations, "attempt"):
            since = len(monitor.lines)
            if target.bench_board is not None:
                # A real board ran its sketch at the flash step's boot; what that run
                # printed or sent before this reset is not the attempt.
                marks["attempt_start"] = time.time()
            board.reset(monitor)
            with _deadline_said(config):
                monitor.expect(
                    rf"HIL:BOOT build={re.escape(firmware.build_id)}",
                    timeout=_left(config, config.boot_timeout),
                    since=since,
                )
                if scenario.sketch == AGENT_SKETCH:
                    # The agent learns the server at run time: one build for every profile.
                    send_job(monitor, _agent_job(certs, target, server.port), board=board.spec.name)
                if user_sketch:
                    quiet = _wait_quiet(monitor, server.server_log, config)
                    (run_dir / RUN_END).write_text(
                        f"serial quiet for {config.quiet_timeout:g} s\n"
                        if quiet
                        else f"{CUT_AT_DEADLINE} (--attempt-timeout {config.attempt_timeout:g} s)\n"
                    )
                else:
                    monitor.expect(r"HIL:DONE\b", timeout=_left(config, config.attempt_timeout))
        with _step(durations, "settle"):
            idle = _wait_server_idle(server.server_log, _left(config, config.settle_timeout))
        with _step(durations, "teardown"):
            board.halt()
            if station is not None:
                if not idle:
                    station.spoil("a connection was still open at the end of the run")
                monitor.close()
                station.end()  # the stop marker: the run's capture is complete
                return server.port
            # The server saw every connection close (settle): nothing more reaches the
            # wire, so dumpcap's stop (its markers and flush, the longest part) runs
            # beside the serial reader's and the server's.
            with cf.ThreadPoolExecutor(1, thread_name_prefix="hil-capture-stop") as pool:
                stopping = pool.submit(capture.stop)
                monitor.close()
                server.stop()
                stopping.result()
        return server.port


def _capture(target: Target, config: BenchConfig, port: int, run_dir: Path) -> Capture:
    where = capture_target(target.bind, port)
    bench = config.bench
    if target.external and bench is not None and bench.capture_interface != "lo":
        # The bench file knows where its boards' traffic crosses.
        where = replace(
            where, interface=bench.capture_interface, why=f"the bench file {bench.path}"
        )
    log.info("capturing on %s (%s), filter %r", where.interface, where.why, where.bpf)
    return Capture(
        run_dir / "capture.pcapng",
        interface=where.interface,
        bpf=where.bpf,
        log_path=run_dir / "dumpcap.log",
    )


def _poolable(target: Target, scenario: Scenario) -> bool:
    """A run a session's station can serve: the builtin server of a twin on loopback."""
    return (
        not target.external
        and target.bench_board is None
        and target.bind.startswith("127.")
        and RunSession.poolable(scenario.backend, "lo")
    )


def _serve(
    profile: ServerProfile,
    certs: CertBundle,
    target: Target,
    port: int,
    run_dir: Path,
    session: RunSession | None,
) -> tuple[TlsServer, Station | None]:
    """The run's server: a session's station (begun for this run) or one of its own."""
    if session is None:
        return _start(profile, target.scenario, certs, target, port, run_dir), None
    station = session.take(profile, certs, target.bind, port, run_dir)
    return station.server, station


def _agent_job(certs: CertBundle, target: Target, port: int) -> bytes:
    anchor = certs.ca_pem if certs.ca_pem is not None else certs.cert_pem
    return job_payload(host=target.bind, port=port, name=certs.host, ca_pem=anchor.read_text())


def _baud(board: Board, target: Target) -> int:
    return target.bench_board.baud if target.bench_board is not None else board.spec.baud


def _start(
    profile: ServerProfile,
    scenario: Scenario,
    certs: CertBundle,
    target: Target,
    port: int,
    run_dir: Path,
) -> TlsServer:
    return start_server(
        profile,
        scenario.backend,
        certs,
        target.bind,
        port,
        run_dir,
        allow_external=target.external,
    )


def _check_local(bind: str) -> None:
    if not bind.startswith("127."):
        raise NetworkSafetyError(
            f"bench address {bind} is outside 127.0.0.0/8",
            fix="the twin and the tests talk to 127.0.0.0/8 only; use --bind 127.0.0.1",
        )


def _build(
    target: Target,
    certs: CertBundle,
    board: Board,
    config: BenchConfig,
    port: int,
    run_dir: Path,
    sketch_dir: Path,
    facts: SketchFacts,
) -> Firmware:
    scenario = target.scenario
    if not facts.uses_scenario_header:
        # A user's sketch reads nothing of ours: its build depends on the sketch and the
        # board only, so one build serves every profile, port and certificate (the map
        # of what it dials reaches the twin at reset, not in the binary).
        header = "// generated by esp-tls-hil for a user's sketch; do not edit\n#pragma once\n"
        request = BuildRequest(sketch_dir, header, {}, frame=True)
        return board.build(request, log_path=run_dir / "build.log")
    ssid, password = "hil-bench", "hil-bench"  # the twin's WiFi takes any
    bench = target.bench_board
    if bench is not None and not bench.simulated and config.bench is not None:
        ssid, password = config.bench.wifi_credentials()
    if scenario.sketch == AGENT_SKETCH:
        # Nothing of the scenario's server goes into the agent: its build id, and so
        # the flash, stay the same for every profile.
        header = agent_header(ssid, password, scenario.defines)
        with _deadline_said(config):
            return board.build(
                BuildRequest(
                    sketch_dir=sketch_dir,
                    scenario_header=header,
                    extra_headers={},
                    timeout=_build_timeout(config),
                ),
                log_path=run_dir / "build.log",
            )
    # A twin reads port and trust at start (given in _attempt): one build serves every
    # profile and port, and so every golden case with the same switches. A board
    # compiles them in.
    run_time = _run_values(board)
    compiled = {
        "HIL_SERVER_PORT": str(port),
        # The server certificate's SHA-1, for sketches that pin it (setFingerprint).
        "HIL_CERT_SHA1": json.dumps(certs.sha1),
    }
    defines = {
        **({} if run_time else {"HIL_SCENARIO": json.dumps(scenario.name)}),
        "HIL_WIFI_SSID": json.dumps(ssid),
        "HIL_WIFI_PASSWORD": json.dumps(password),
        "HIL_SERVER_HOST": json.dumps(certs.host),
        **(twin_run_values.DEFINES if run_time else compiled),
        **scenario.defines,
    }
    if run_time:
        extra = dict(twin_run_values.HEADERS)
    else:
        # The trust anchor as DER (axTLS setCACert) and as PEM (X509List, ESP32 setCACert).
        extra = {"hil_ca_cert.h": certs.header.read_bytes()}
        if certs.ca_header_pem is not None and certs.ca_header_pem.exists():
            extra["hil_ca_cert_pem.h"] = certs.ca_header_pem.read_bytes()
    header = (
        # No scenario name in a twin's header: it would make every run another build.
        (
            "// generated by esp-tls-hil for a twin build; port and trust read at start\n"
            if run_time
            else f"// generated by esp-tls-hil for scenario {scenario.name}; do not edit\n"
        )
        + "#pragma once\n"
        + "".join(f"#define {k} {v}\n" for k, v in defines.items())
        + "".join(f'#include "{name}"\n' for name in extra)
    )
    request = BuildRequest(
        sketch_dir=sketch_dir,
        scenario_header=header,
        extra_headers=extra,
        timeout=_build_timeout(config),
    )
    with _deadline_said(config):
        return board.build(request, log_path=run_dir / "build.log")


def _run_values(board: Board) -> bool:
    """Whether a harness sketch's build for `board` takes port and trust at run time:
    the twin's does; a board (and the simulated bench board's image) compiles them in."""
    return board.spec.kind == "twin"


def _build_timeout(config: BenchConfig) -> float | None:
    """The build's share of the run's deadline (None: the tool's own default)."""
    return _left(config, 600.0) if config.deadline is not None else None


def _left(config: BenchConfig, timeout: float) -> float:
    """`timeout`, cut at the run's deadline; DeadlineError once that has passed."""
    if config.deadline is None:
        return timeout
    left = config.deadline - time.monotonic()
    if left <= 0:
        raise _past_deadline(None)
    return min(timeout, left)


def _past_deadline(cause: DeadlineError | None) -> DeadlineError:
    return DeadlineError(
        "the run passed its deadline and was stopped",
        seen=cause.what if cause is not None else "",
        fix="give the cell more time (hil matrix --cell-timeout) or see why it was slow "
        "in its run directory",
    )


@contextlib.contextmanager
def _deadline_said(config: BenchConfig) -> Iterator[None]:
    """A wait the deadline cut short says so, not only which line it missed."""
    try:
        yield
    except DeadlineError as exc:
        if config.deadline is not None and time.monotonic() >= config.deadline:
            raise _past_deadline(exc) from None
        raise


def _server_connections(server_log: Path) -> tuple[int, int]:
    """(accepted, closed) connections the server has logged so far."""
    events = parse_server_log(server_log.read_text()) if server_log.exists() else []
    accepted = sum(e.kind == "server_accepted" for e in events)
    return accepted, sum(e.kind == "server_closed" for e in events)


def _server_idle(server_log: Path) -> bool:
    accepted, closed = _server_connections(server_log)
    return closed >= accepted


def _wait_quiet(monitor: SerialMonitor, server_log: Path, config: BenchConfig) -> bool:
    """The end of a user's sketch's run: Serial quiet for `quiet_timeout` s while the
    server has no connection open (a handshake can be silent on Serial for longer).
    A sketch that never goes quiet (it prints in loop()) ends at `attempt_timeout`:
    False then."""
    deadline = time.monotonic() + _left(config, config.attempt_timeout)
    while time.monotonic() < deadline:
        if not monitor.reading or (
            monitor.quiet_for >= config.quiet_timeout and _server_idle(server_log)
        ):
            log.info("serial quiet for %.1f s: the run ends", monitor.quiet_for)
            return True
        time.sleep(0.05)
    log.warning(
        "Serial was never quiet for %.1f s within %.0f s of HIL:BOOT: the run ends "
        "at --attempt-timeout",
        config.quiet_timeout,
        config.attempt_timeout,
    )
    return False


def _wait_server_idle(server_log: Path, timeout: float) -> bool:
    """Wait until the server saw every connection close, so the capture holds the last
    FIN; False when one was still open at the timeout (or none was ever accepted)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        accepted, closed = _server_connections(server_log)
        if accepted and closed >= accepted:
            return True
        time.sleep(0.005)
    accepted, closed = _server_connections(server_log)
    if closed < accepted:
        log.warning(
            "server connections still open after %.1f s; capture may end mid-close", timeout
        )
    return closed >= accepted


# Events about the whole run, not about a connection: kept whatever their time.
_RUN_WIDE = frozenset({"server_listening"})


def _board_rx_buffer(spec: BoardSpec | None, defines: Mapping[str, str]) -> int | None:
    """The longest TLS record the board takes, where the stack's limit is modelled exactly:
    BearSSL's input buffer (the core's receive size, or a harness sketch's HIL_RECV_BUF,
    clamped as setBufferSizes() does, plus the core's overhead) less the 5-byte header:
    ssl_engine.c fails a longer encrypted record with BR_ERR_TOO_LARGE. None elsewhere
    (axTLS grows its buffer; mbedTLS's overhead is not modelled), and a user's own
    setBufferSizes() call is not read: the rule then misses, it never says wrong."""
    if spec is None or spec.core is None or spec.stack != "bearssl":
        return None
    buffers = spec.core.buffers
    try:
        recv = int(defines.get("HIL_RECV_BUF", "0")) or buffers.recv
    except ValueError:
        return None
    return max(512, min(16384, recv)) + buffers.recv_overhead - 5


def _analyse(
    scenario: Scenario,
    profile: ServerProfile | None,
    certs: CertBundle | None,
    port: int,
    run_dir: Path,
    error: HilError | None,
    durations: dict[str, float],
    marks: dict[str, float] | None = None,
    facts: SketchFacts | None = None,
    wire_read: WireAnalysis | HilError | None = None,
) -> RunRecord:
    """Turn whatever artifacts exist into a timeline, a diagnosis and a verdict; `wire_read`
    is the capture's analysis (or why it failed) when it was read already."""
    spec = find_board_spec(scenario.board)  # unknown: the error verdict says so
    stack = spec.stack if spec else None
    baud = spec.baud if spec else 115200
    events: list[list[Event]] = []
    notes: list[str] = []
    serial_log = run_dir / "serial.log"
    if serial_log.exists():
        events.append(parse_serial(read_serial_log(serial_log.read_text()), stack))
    server_log = run_dir / "server.log"
    if server_log.exists():
        server_events = parse_server_log(server_log.read_text())
        events.append(server_events)
        if not port:
            # The run stopped before _attempt returned: the server said where it listened.
            port = _listening_port(run_dir, server_events)
    pcap = run_dir / "capture.pcapng"
    wire_watched = False
    if pcap.exists() and port:
        try:
            if isinstance(wire_read, HilError):
                raise wire_read
            wire = wire_read or analyze_capture(
                pcap,
                keylog=run_dir / "keylog.txt",
                server_port=port,
                log_path=run_dir / "tshark.log",
            )
            events.append(list(wire.events))
            wire_watched = not wire.partial
            if wire.partial:
                notes.append("the capture was cut short: wire evidence is partial")
        except HilError as exc:
            notes.append(f"the capture could not be read: {exc.what}")
    start = (marks or {}).get("attempt_start")
    if start is not None:
        # A real board ran its sketch once already, at the flash step's boot: what it
        # did before the attempt's reset belongs to no attempt of this run.
        kept = [[e for e in g if e.t >= start or e.kind in _RUN_WIDE] for g in events]
        dropped = sum(map(len, events)) - sum(map(len, kept))
        if dropped:
            notes.append(f"{dropped} events from before the attempt's reset were left out")
        events = kept
    timeline = build_timeline(*events, serial_latency=BITS_PER_BYTE / baud)
    min_rsa_bits, sig_hashes = certs.chain_strength() if certs else (None, ())
    ctx = Context(
        stack=stack,
        server_suites=accepted_suites(profile) if profile else None,
        server_cipher_string=profile.ciphers if profile else None,
        # ssl.TLSVersion values are the wire numbers (0x0303 for TLS 1.2).
        server_versions=(
            (profile.min_protocol.ssl_version.value, profile.max_protocol.ssl_version.value)
            if profile
            else None
        ),
        cert_not_after=certs.not_after.timestamp() if certs else None,
        chain_min_rsa_bits=min_rsa_bits,
        chain_sig_hashes=sig_hashes or None,
        connect_host=certs.host if certs else None,
        board_rx_buffer=_board_rx_buffer(spec, scenario.defines),
        wire_watched=wire_watched,
    )
    diagnosis = diagnose(timeline, ctx)
    run_end = run_dir / RUN_END
    if run_end.exists() and run_end.read_text().startswith(CUT_AT_DEADLINE):
        notes.append(run_end.read_text().strip() + "; later attempts are not in this run")
    if facts is not None and certs is not None and not facts.uses_scenario_header:
        notes += pinned_notes(facts, certs.sha1, certs.sha256, certs.ca_sha256)
        ip_note = ip_literal_note(facts, stack, bool(certs.san_ips()))
        if ip_note:
            notes.append(ip_note)
    if notes:
        diagnosis = replace(diagnosis, evidence=diagnosis.evidence + tuple(map(Evidence, notes)))
    if error is not None:
        verdict = Verdict(
            Outcome.ERROR,
            scenario.expectation,
            Expectation(connected=diagnosis.connected, cause=diagnosis.cause),
            f"the run could not complete: {error}",
        )
        if diagnosis.confidence is Confidence.NONE:
            explanation = f"{diagnosis.explanation} The run stopped early: {error.what}"
            diagnosis = replace(diagnosis, explanation=explanation)
    else:
        verdict = judge(scenario.expectation, diagnosis)
    return RunRecord(
        scenario=scenario,
        run_dir=run_dir,
        timeline=timeline,
        diagnosis=diagnosis,
        verdict=verdict,
        durations=durations,
    )


def _listening_port(run_dir: Path, server_events: list[Event] | None = None) -> int:
    if server_events is None:
        server_log = run_dir / "server.log"
        if not server_log.exists():
            return 0
        server_events = parse_server_log(server_log.read_text())
    return next((e.fields["port"] for e in server_events if e.kind == "server_listening"), 0)


def _write_artifacts(record: RunRecord) -> None:
    # The record first: a renderer that fails must not cost the run its verdict.
    (record.run_dir / "verdict.json").write_text(report.record_json_text(record) + "\n")
    (record.run_dir / "timeline.md").write_text(report.timeline_markdown(record))
    (record.run_dir / "timeline.html").write_text(ladder.timeline_html(record))
