"""pytest plugin (entry point `pytest11`): options, fixtures and report hooks. Thin.

    def test_founding_report(hil_run):
        record = hil_run("founding-report")
        assert record.diagnosis.cause == "no_shared_cipher"

Each option has a fixture of the same name (`hil_runs_dir`, `hil_cache_dir`), so a
test can override it by parametrization. The building blocks come as factory
fixtures that stop what they started: `certs`, `tls_server`, `capture`, `serial`,
`board`, each writing into the test's own run directory (`hil_run_dir`). A
failing test's report shows the diagnosis and the timeline of every scenario it
ran, and JUnit XML gets the verdict, the cause and the run directory as properties.
"""

from __future__ import annotations

import os
import re
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness.analysis import report, summary
from harness.instruments.boards import open_board
from harness.instruments.boards.base import Board
from harness.instruments.capture import Capture, capture_target
from harness.instruments.certs import CertBundle, get_plan, make_certs
from harness.instruments.serial_monitor import SerialMonitor
from harness.instruments.servers import TlsServer, start_server
from harness.instruments.servers.profiles import load_profile
from harness.model import RunRecord
from harness.run.runner import BenchConfig, new_run_dir, run_scenario
from harness.run.scenarios import load_scenario

_RECORDS = pytest.StashKey[list[RunRecord]]()
_SESSION_RECORDS = pytest.StashKey[list[RunRecord]]()
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
    # A connected run has no cause: the property is absent, not the string "None".
    if record.diagnosis.cause is not None:
        props.append(("hil_cause", record.diagnosis.cause))
    props.append(("hil_run_dir", str(record.run_dir)))
    return props


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hil", "esp-tls-hil")
    group.addoption("--hil-runs-dir", help="where run directories go (default: hil-runs)")
    group.addoption("--hil-cache-dir", help="keys and build cache (default: ~/.cache/esp-tls-hil)")
    parser.addini("hil_runs_dir", "where run directories go", default="hil-runs")
    parser.addini("hil_cache_dir", "keys and build cache", default="")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "hil_scenario(name): the scenario a test runs")
    # A cancelled nightly job gets SIGTERM: turn it into pytest's interrupt, so fixture
    # teardown stops every server, capture and twin instead of orphaning them.
    if (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    ):
        signal.signal(signal.SIGTERM, _terminated)


def _terminated(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _option(config: pytest.Config, name: str) -> str:
    # An explicit option wins over the ini key; `is None`, so an empty value is kept.
    value = config.getoption(f"--hil-{name.replace('_', '-')}")
    return value if value is not None else config.getini(f"hil_{name}")


@pytest.fixture(scope="session")
def hil_runs_dir(pytestconfig: pytest.Config) -> Path:
    runs = Path(_option(pytestconfig, "runs_dir"))
    return runs if runs.is_absolute() else pytestconfig.rootpath / runs


@pytest.fixture(scope="session")
def hil_cache_dir(pytestconfig: pytest.Config) -> Path | None:
    cache = _option(pytestconfig, "cache_dir")
    return Path(cache) if cache else None


@pytest.fixture(scope="session")
def hil_bench(hil_runs_dir: Path, hil_cache_dir: Path | None) -> BenchConfig:
    """The bench configuration, one frozen object for every run of the session."""
    extra = {"cache_dir": hil_cache_dir} if hil_cache_dir is not None else {}
    return BenchConfig(runs_dir=hil_runs_dir, **extra)


@pytest.fixture
def hil_run_dir(hil_bench: BenchConfig, request: pytest.FixtureRequest) -> Path:
    """This test's own directory for the artifacts of the building-block fixtures."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)[-120:]
    # A new directory for every run of the test: an earlier run's artifacts stay as
    # they were, never appended to or overwritten.
    return new_run_dir(hil_bench.runs_dir / "tests", name)


@pytest.fixture
def hil_run(hil_bench: BenchConfig, request: pytest.FixtureRequest) -> Callable[[str], RunRecord]:
    """Run a scenario by name; the record is returned and attached to the test's report."""

    def run(name: str) -> RunRecord:
        record = run_scenario(load_scenario(name), hil_bench)
        request.node.stash.setdefault(_RECORDS, []).append(record)
        request.config.stash.setdefault(_SESSION_RECORDS, []).append(record)
        # user_properties, not record_property: JUnit gets them under every junit_family.
        request.node.user_properties.extend(_junit_properties(record))
        return record

    return run


@pytest.fixture
def certs(hil_bench: BenchConfig, hil_run_dir: Path) -> Callable[..., CertBundle]:
    """`certs(plan, host="127.0.0.1")`: a certificate plan's files in the run directory."""

    def make(plan: str, host: str = "127.0.0.1") -> CertBundle:
        return make_certs(
            get_plan(plan), host, hil_run_dir / "certs" / plan, hil_bench.cache_dir / "keys"
        )

    return make


@pytest.fixture
def tls_server(
    hil_bench: BenchConfig, hil_run_dir: Path, certs: Callable[..., CertBundle]
) -> Iterator[Callable[..., TlsServer]]:
    """`tls_server(profile, backend="builtin", port=0)`: started, stopped after the test."""
    started: list[TlsServer] = []

    def serve(profile: str, backend: str = "builtin", port: int = 0) -> TlsServer:
        loaded = load_profile(profile)
        bundle = certs(loaded.cert_plan, hil_bench.bind)
        run_dir = hil_run_dir / f"server-{len(started)}"
        server = start_server(loaded, backend, bundle, hil_bench.bind, port, run_dir)
        started.append(server)
        return server

    yield serve
    for server in reversed(started):
        server.stop()


@pytest.fixture
def capture(hil_bench: BenchConfig, hil_run_dir: Path) -> Iterator[Callable[[int], Capture]]:
    """`capture(port)`: dumpcap where traffic to the bench address and port crosses,
    stopped losslessly after the test (or earlier by `.stop()`).
    `harness.instruments.tshark.open_filecapture` gives the pyshark FileCapture of its file for
    packet assertions of your own."""
    started: list[Capture] = []

    def start(port: int) -> Capture:
        target = capture_target(hil_bench.bind, port)
        cap = Capture(
            hil_run_dir / f"capture-{len(started)}.pcapng",
            interface=target.interface,
            bpf=target.bpf,
            log_path=hil_run_dir / f"dumpcap-{len(started)}.log",
        )
        started.append(cap)
        return cap.start()

    yield start
    for cap in reversed(started):
        cap.stop()


@pytest.fixture
def serial(hil_run_dir: Path) -> Iterator[Callable[..., SerialMonitor]]:
    """`serial(port, baud=115200)`: a SerialMonitor, closed after the test."""
    opened: list[SerialMonitor] = []

    def open_monitor(port: str, baud: int = 115200) -> SerialMonitor:
        mon = SerialMonitor(port, hil_run_dir / f"serial-{len(opened)}", baud=baud)
        opened.append(mon)
        return mon.open()

    yield open_monitor
    for mon in reversed(opened):
        mon.close()


@pytest.fixture
def board(hil_bench: BenchConfig, hil_run_dir: Path) -> Iterator[Callable[[str], Board]]:
    """`board(name)`: a board to build, flash and reset; released after the test."""
    opened: list[Board] = []

    def open_one(name: str) -> Board:
        b = open_board(name, cache_dir=hil_bench.cache_dir, run_dir=hil_run_dir / name)
        opened.append(b)
        return b

    yield open_one
    for b in reversed(opened):
        b.close()


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """The session's runs as one Markdown table beside the run folders, and in CI's job
    summary when `$GITHUB_STEP_SUMMARY` names one."""
    records = session.config.stash.get(_SESSION_RECORDS, [])
    if not records:
        return
    folder = records[0].run_dir.parent
    text = summary.summary_markdown(records, base=folder)
    path = folder / SUMMARY_NAME
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
        for record in item.stash.get(_RECORDS, []):
            rep.sections.append(
                (f"hil: {record.scenario.name} ({record.run_dir})", report.render_text(record))
            )
    return rep
