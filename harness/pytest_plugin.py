"""pytest plugin (entry point `pytest11`): options, fixtures and report hooks. Thin.

    def test_founding_report(hil_run):
        record = hil_run("founding-report")
        assert record.diagnosis.cause == "no_shared_cipher"

Every field of the bench configuration is an option, an ini key and a fixture of
the same name (`hil_runs_dir`, `hil_cache_dir`, `hil_sketches_dir`, `hil_bind`,
`hil_boot_timeout`, `hil_attempt_timeout`, `hil_settle_timeout`, `hil_quiet_timeout`,
`hil_keep_runs`), so a test overrides one by parametrization. A bench of real boards
comes the same way:
`--hil-bench` (ini `hil_bench`, `$HIL_BENCH`; fixture `hil_bench_file`), `--hil-board`
(the bench board(s) the fixtures run on; with several, each test runs on each, in the
xdist group named for its board, so `-n N --dist loadgroup` gives a board one worker),
`--hil-port` and `--hil-skip-flash`. The building blocks come as factory
fixtures that stop what they started: `certs`, `tls_server`, `capture`, `serial`,
`board`, each writing into the test's own run directory (`hil_run_dir`). A failing
test's report shows the diagnosis and the timeline of every scenario it ran (and, on
a bench board, the board, the port and the core), and JUnit XML gets the verdict, the
cause, the run directory and the bench board, port and core as properties.

The plugin is loaded into every pytest session of the environment it is installed
in, so it keeps to itself: the harness (cryptography, pyserial, ...) is imported
only by a test that uses a fixture, and the SIGTERM handler is installed only for
a session that does, and put back at its end.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from harness.instruments.boards.base import Board
    from harness.instruments.capture import Capture
    from harness.instruments.certs import CertBundle
    from harness.instruments.serial_monitor import SerialMonitor
    from harness.instruments.servers import TlsServer
    from harness.model import RunRecord
    from harness.run.runner import BenchConfig
    from harness.run.session import RunSession

# The hil_board/hil_profile/hil_expect markers and their fixture live in their own module.
pytest_plugins = ["harness.pytest_markers"]

_RECORDS = pytest.StashKey[list["RunRecord"]]()
_SESSION_RECORDS = pytest.StashKey[list["RunRecord"]]()
_SUMMARY_PATH = pytest.StashKey[Path]()
SUMMARY_NAME = "hil-summary.md"


def _junit_properties(record: RunRecord) -> list[tuple[str, str]]:
    s = record.scenario
    props = [
        ("hil_scenario", s.name),
        ("hil_board", s.board),
        ("hil_profile", s.profile),
        ("hil_verdict", record.verdict.outcome.value),
    ]
    # A run on a bench board: its core (the board and the port are the test's own
    # properties, from the hil_bench fixture).
    if "core" in record.board_info:
        props.append(("hil_core", record.board_info["core"]))
    # A connected run has no cause: the property is absent, not the string "None".
    if record.diagnosis.cause is not None:
        props.append(("hil_cause", record.diagnosis.cause))
    props.append(("hil_run_dir", str(record.run_dir)))
    return props


def _parse_bool(value: str | bool) -> bool:
    if isinstance(value, bool):
        return value
    words = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
    try:
        return words[value.strip().lower()]
    except KeyError:
        raise ValueError(value) from None


_parse_bool.__name__ = "boolean (true or false)"

# name -> (help, ini default, parse); each is --hil-NAME, ini hil_NAME, fixture hil_NAME.
_OPTIONS: dict[str, tuple[str, str, Callable[[str], Any]]] = {
    "runs_dir": ("where run directories go", "hil-runs", Path),
    "cache_dir": (
        "keys and build cache (default: $HIL_CACHE_DIR or ~/.cache/esp-tls-hil)",
        "",
        Path,
    ),
    "sketches_dir": ("the sketches folder (default: the package's own)", "", Path),
    "bind": ("the bench address servers listen on (default 127.0.0.1)", "", str),
    "boot_timeout": ("seconds from reset to HIL:BOOT", "", float),
    "attempt_timeout": ("seconds from HIL:BOOT to HIL:DONE", "", float),
    "settle_timeout": ("seconds for the server to see every connection close", "", float),
    "quiet_timeout": ("a user's sketch: seconds of quiet Serial that end its run", "", float),
    "keep_runs": ("run folders kept: the last N and every failed one (0: all)", "", int),
    # The bench (fixture hil_bench_file: hil_bench is the whole configuration).
    "bench": ("the bench file of the real boards (default: $HIL_BENCH)", "", Path),
    "board": (
        "the bench board(s) the fixtures run on, comma-separated; with several, each test "
        "runs once per board, one xdist group per board (-n N --dist loadgroup)",
        "",
        str,
    ),
    "port": ("overrides the port of the bench board (--hil-board)", "", str),
    "skip_flash": (
        "trust the firmware on the board: flash nothing, still check its HIL:BOOT build id",
        "",
        _parse_bool,
    ),
    "fresh_servers": (
        "every run starts and stops its own server, capture and tshark (default: the "
        "session keeps a builtin server per port for the twin's runs, harness.run.session)",
        "",
        _parse_bool,
    ),
}
# Option names whose fixture is not hil_<name>.
_FIXTURE_NAMES = {"bench": "hil_bench_file"}
# Flags: given means true; the ini key says true or false.
_FLAGS = {"skip_flash", "fresh_servers"}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hil", "esp-tls-hil")
    for name, (help_text, default, _) in _OPTIONS.items():
        if name in _FLAGS:
            group.addoption(
                f"--hil-{name.replace('_', '-')}", action="store_true", default=None, help=help_text
            )
        else:
            group.addoption(f"--hil-{name.replace('_', '-')}", help=help_text)
        parser.addini(f"hil_{name}", help_text, default=default)


_BENCH_BOARDS = pytest.StashKey[tuple[str, ...]]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "hil_scenario(name): the scenario a test runs")
    config.stash[_BENCH_BOARDS] = _check_bench_boards(config)


def _board_names(config: pytest.Config) -> tuple[str, ...]:
    text = _option(config, "board")
    return tuple(n.strip() for n in text.split(",") if n.strip()) if text else ()


def _check_bench_boards(config: pytest.Config) -> tuple[str, ...]:
    """The bench boards chosen, checked against the bench file at the session's start,
    so a wrong name is one usage error, not an error in every test."""
    names = _board_names(config)
    if not names:
        return ()
    from harness.instruments.boards.bench import bench_path
    from harness.model.errors import HilError
    from harness.run.target import check_bench_boards

    try:
        check_bench_boards(bench_path(_option(config, "bench")), names, _option(config, "port"))
    except HilError as exc:
        raise pytest.UsageError(f"esp-tls-hil: {exc}") from None
    return names


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """With several bench boards, each test that uses the harness runs on each."""
    boards = metafunc.config.stash.get(_BENCH_BOARDS, ())
    if len(boards) < 2 or "hil_bench" not in metafunc.fixturenames:
        return
    for mark in metafunc.definition.iter_markers("parametrize"):
        names = mark.args[0] if mark.args else ()
        if isinstance(names, str):
            names = [n.strip() for n in names.split(",")]
        if "hil_board" in names:
            return  # the test parametrizes it itself
    metafunc.parametrize("hil_board", boards, ids=[f"board={b}" for b in boards])


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Each test on a bench board joins the xdist group named for that board, so with
    `-n N --dist loadgroup` one worker runs all of a board's tests and two workers
    never share a board (the port lock guards across processes as well)."""
    boards = config.stash.get(_BENCH_BOARDS, ())
    if not boards:
        return
    for item in items:
        if "hil_bench" not in getattr(item, "fixturenames", ()):
            continue
        callspec = getattr(item, "callspec", None)
        board = callspec.params.get("hil_board") if callspec is not None else None
        if board is None and len(boards) == 1:
            board = boards[0]
        if board is not None and item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(name=f"hil-board-{board}"))


def _option(config: pytest.Config, name: str) -> Any:
    """The option, else the ini key; None when neither is set (the BenchConfig default).
    `is None`, so an explicit 0 or empty value is kept."""
    value = config.getoption(f"--hil-{name.replace('_', '-')}")
    if value is None:
        value = config.getini(f"hil_{name}")
        if name == "bench" and value not in (None, ""):
            # An ini key's relative path is relative to the ini file's folder, as pytest's.
            value = str(config.rootpath / value)
        elif name == "bench":
            value = os.environ.get("HIL_BENCH", "")
    if value in (None, ""):
        return None
    parse = _OPTIONS[name][2]
    try:
        return parse(value)
    except ValueError:
        raise pytest.UsageError(
            f"--hil-{name.replace('_', '-')} / ini hil_{name}: {value!r} is not a {parse.__name__}"
        ) from None


def _terminated(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@pytest.fixture(scope="session")
def _hil_sigterm() -> Iterator[None]:
    """While a session uses the harness: a cancelled nightly job's SIGTERM becomes
    pytest's interrupt, so fixture teardown stops every server, capture and twin
    instead of orphaning them. The previous handler is put back at the end."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    if previous is not signal.SIG_DFL:
        yield  # someone else handles SIGTERM: theirs stays
        return
    signal.signal(signal.SIGTERM, _terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# Function scope, all of them: `@pytest.mark.parametrize("hil_runs_dir", ...)` gives
# a function-scoped value, which a wider fixture could not use.
@pytest.fixture
def hil_runs_dir(pytestconfig: pytest.Config) -> Path:
    runs = _option(pytestconfig, "runs_dir") or Path("hil-runs")
    return runs if runs.is_absolute() else pytestconfig.rootpath / runs


def _option_fixture(name: str):
    def fixture(pytestconfig: pytest.Config) -> Any:
        return _option(pytestconfig, name)

    fixture.__doc__ = f"{_OPTIONS[name][0]} (--hil-{name.replace('_', '-')}, ini hil_{name})"
    return pytest.fixture(fixture, name=_FIXTURE_NAMES.get(name, f"hil_{name}"))


# hil_cache_dir, hil_sketches_dir, hil_bind, hil_boot_timeout, ...: None means the default.
hil_cache_dir = _option_fixture("cache_dir")
hil_sketches_dir = _option_fixture("sketches_dir")
hil_bind = _option_fixture("bind")
hil_boot_timeout = _option_fixture("boot_timeout")
hil_attempt_timeout = _option_fixture("attempt_timeout")
hil_settle_timeout = _option_fixture("settle_timeout")
hil_quiet_timeout = _option_fixture("quiet_timeout")
hil_keep_runs = _option_fixture("keep_runs")
hil_bench_file = _option_fixture("bench")
hil_port = _option_fixture("port")
hil_skip_flash = _option_fixture("skip_flash")


@pytest.fixture
def hil_board(pytestconfig: pytest.Config) -> str | None:
    """The bench board the fixtures run on (--hil-board, ini hil_board); with several,
    each test is parametrized over them; None: the twins."""
    names = _board_names(pytestconfig)
    return names[0] if len(names) == 1 else None


@pytest.fixture
def hil_bench(
    _hil_sigterm: None,
    hil_runs_dir: Path,
    hil_cache_dir: Path | None,
    hil_sketches_dir: Path | None,
    hil_bind: str | None,
    hil_boot_timeout: float | None,
    hil_attempt_timeout: float | None,
    hil_settle_timeout: float | None,
    hil_quiet_timeout: float | None,
    hil_keep_runs: int | None,
    hil_bench_file: Path | None,
    hil_board: str | None,
    hil_port: str | None,
    hil_skip_flash: bool | None,
    request: pytest.FixtureRequest,
) -> BenchConfig:
    """The bench configuration: one frozen object, from the fixtures of its fields."""
    from harness.instruments.boards.bench import load_bench
    from harness.run.runner import BenchConfig

    bench = load_bench(hil_bench_file) if hil_bench_file is not None else None
    if hil_board is not None and bench is not None:
        board = bench.board(hil_board)
        request.node.user_properties.append(("hil_bench_board", board.name))
        request.node.user_properties.append(("hil_port", hil_port or board.port.text))

    given = {
        "cache_dir": hil_cache_dir,
        "sketches_dir": hil_sketches_dir,
        "bind": hil_bind,
        "boot_timeout": hil_boot_timeout,
        "attempt_timeout": hil_attempt_timeout,
        "settle_timeout": hil_settle_timeout,
        "quiet_timeout": hil_quiet_timeout,
        "keep_runs": hil_keep_runs,
        "bench": bench,
        "bench_board": hil_board,
        "port": hil_port,
        "skip_flash": hil_skip_flash,
    }
    return BenchConfig(runs_dir=hil_runs_dir, **{k: v for k, v in given.items() if v is not None})


@pytest.fixture
def hil_run_dir(hil_bench: BenchConfig, request: pytest.FixtureRequest) -> Path:
    """This test's own directory for the artifacts of the building-block fixtures."""
    from harness.run.runner import new_run_dir

    # A new directory for every run of the test: an earlier run's artifacts stay as
    # they were, never appended to or overwritten.
    return new_run_dir(hil_bench.runs_dir / "tests", request.node.nodeid)


@pytest.fixture(scope="session")
def hil_session(_hil_sigterm: None, pytestconfig: pytest.Config) -> Iterator[RunSession | None]:
    """The servers, captures and tshark kept across this session's runs (one per
    pytest-xdist worker), all stopped at its end; None with --hil-fresh-servers."""
    if _option(pytestconfig, "fresh_servers"):
        yield None
        return
    from harness.run.session import RunSession

    with RunSession() as session:
        yield session


@pytest.fixture
def hil_run(
    hil_bench: BenchConfig, hil_session: RunSession | None, request: pytest.FixtureRequest
) -> Callable[[str], RunRecord]:
    """Run a scenario by name; the record is returned and attached to the test's report."""
    from harness.run.runner import run_scenario
    from harness.run.scenarios import load_scenario

    def run(name: str) -> RunRecord:
        record = run_scenario(load_scenario(name), hil_bench, session=hil_session)
        request.node.stash.setdefault(_RECORDS, []).append(record)
        request.config.stash.setdefault(_SESSION_RECORDS, []).append(record)
        # user_properties, not record_property: JUnit gets them under every junit_family.
        request.node.user_properties.extend(_junit_properties(record))
        return record

    return run


@pytest.fixture
def certs(hil_bench: BenchConfig, hil_run_dir: Path) -> Callable[..., CertBundle]:
    """`certs(plan, host="127.0.0.1")`: a certificate plan's files in the run directory."""
    from harness.instruments.certs import get_plan, make_certs

    def make(plan: str, host: str = "127.0.0.1") -> CertBundle:
        return make_certs(
            get_plan(plan), host, hil_run_dir / "certs" / plan, hil_bench.cache_dir / "keys"
        )

    return make


# Each factory stops what it started through an ExitStack: every stop runs, in reverse
# order, even when an earlier one raises (that error is reported, not lost).


@pytest.fixture
def tls_server(
    hil_bench: BenchConfig, hil_run_dir: Path, certs: Callable[..., CertBundle]
) -> Iterator[Callable[..., TlsServer]]:
    """`tls_server(profile, backend="builtin", port=0)`: started, stopped after the test."""
    from harness.instruments.servers import start_server
    from harness.instruments.servers.profiles import load_profile

    with contextlib.ExitStack() as stack:
        count = 0

        def serve(profile: str, backend: str = "builtin", port: int = 0) -> TlsServer:
            nonlocal count
            loaded = load_profile(profile)
            bundle = certs(loaded.cert_plan, hil_bench.bind)
            run_dir = hil_run_dir / f"server-{count}"
            count += 1
            server = start_server(loaded, backend, bundle, hil_bench.bind, port, run_dir)
            stack.callback(server.stop)
            return server

        yield serve


@pytest.fixture
def capture(hil_bench: BenchConfig, hil_run_dir: Path) -> Iterator[Callable[[int], Capture]]:
    """`capture(port)`: dumpcap where traffic to the bench address and port crosses,
    stopped losslessly after the test (or earlier by `.stop()`).
    `harness.instruments.tshark.open_filecapture` gives the pyshark FileCapture of its file for
    packet assertions of your own."""
    from harness.instruments.capture import Capture, capture_target

    with contextlib.ExitStack() as stack:
        count = 0

        def start(port: int) -> Capture:
            nonlocal count
            target = capture_target(hil_bench.bind, port)
            cap = Capture(
                hil_run_dir / f"capture-{count}.pcapng",
                interface=target.interface,
                bpf=target.bpf,
                log_path=hil_run_dir / f"dumpcap-{count}.log",
            )
            count += 1
            stack.callback(cap.stop)
            return cap.start()

        yield start


@pytest.fixture
def serial(hil_run_dir: Path) -> Iterator[Callable[..., SerialMonitor]]:
    """`serial(port, baud=115200)`: a SerialMonitor, closed after the test."""
    from harness.instruments.serial_monitor import SerialMonitor

    with contextlib.ExitStack() as stack:
        count = 0

        def open_monitor(port: str, baud: int = 115200) -> SerialMonitor:
            nonlocal count
            mon = SerialMonitor(port, hil_run_dir / f"serial-{count}", baud=baud)
            count += 1
            stack.callback(mon.close)
            return mon.open()

        yield open_monitor


@pytest.fixture
def board(hil_bench: BenchConfig, hil_run_dir: Path) -> Iterator[Callable[[str], Board]]:
    """`board(name)`: a board to build, flash and reset; released after the test."""
    from harness.instruments.boards import open_board

    with contextlib.ExitStack() as stack:

        def open_one(name: str) -> Board:
            b = open_board(name, cache_dir=hil_bench.cache_dir, run_dir=hil_run_dir / name)
            stack.callback(b.close)
            return b

        yield open_one


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """The session's runs as one Markdown table beside the run folders, and in CI's job
    summary when `$GITHUB_STEP_SUMMARY` names one."""
    records = session.config.stash.get(_SESSION_RECORDS, [])
    if not records:
        return
    from harness.analysis import summary

    folder = records[0].run_dir.parent
    text = summary.summary_markdown(records, base=folder)
    # Each pytest-xdist worker is a session of its own: each keeps its own table
    # (hil-summary-gw0.md, ...) instead of overwriting the others'.
    worker = getattr(session.config, "workerinput", {}).get("workerid")
    path = folder / (f"{Path(SUMMARY_NAME).stem}-{worker}.md" if worker else SUMMARY_NAME)
    path.write_text(text)
    session.config.stash[_SUMMARY_PATH] = path
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        # Links in the job summary point nowhere useful; the table is what counts there.
        with open(step_summary, "a", encoding="utf-8") as out:
            out.write(summary.summary_markdown(records) + "\n")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    path = terminalreporter.config.stash.get(_SUMMARY_PATH, None)
    if path is not None:
        terminalreporter.write_line(f"hil: summary of this session's runs in {path}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    rep = yield
    if rep.when == "call" and rep.failed:
        records = item.stash.get(_RECORDS, [])
        if records:
            from harness.analysis import report

            for record in records:
                rep.sections.append(
                    (f"hil: {record.scenario.name} ({record.run_dir})", report.render_text(record))
                )
    return rep
