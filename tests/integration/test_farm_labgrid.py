"""The labgrid place path, for real: a labgrid coordinator and exporter started here on
127.0.0.1, the exporter exporting a NetworkSerialPort that is the simulated ESP8266's
RFC2217 server, a place made with labgrid-client. `hil flash` acquires the place,
flashes through it (a second flash uploads nothing) and releases it, after Ctrl-C too;
a place held by someone else, an unknown place and a coordinator that is down are
refused naming the place and the fix."""

from __future__ import annotations

import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from harness.instruments import procs
from harness.instruments.boards import farm, locks
from harness.instruments.boards.bench import load_bench, place_port
from harness.instruments.boards.sim import Mode, Rfc2217Server, SimBoard
from harness.instruments.boards.sim.image import example_firmware
from harness.model import Outcome
from harness.model.errors import ConfigError, DeadlineError, StateError, ToolFailedError
from harness.run import runner
from harness.run.runner import BenchConfig, run_scenario
from harness.run.scenarios import load_scenario
from tests.integration.hilcli import hil

pytestmark = pytest.mark.integration

PLACE = "sim-esp8266-1"
POWERED = "sim-esp8266-1-powered"  # the same board, with the exporter's power switch
BIN = Path(sys.executable).parent
DEADLINE = 30.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(what: str, ready, proc: procs.ManagedProcess | None = None) -> None:
    deadline = time.monotonic() + DEADLINE
    while not ready():
        if proc is not None:
            procs.check_running(proc, f"while waiting for {what}")
        assert time.monotonic() < deadline, f"{what}: not within {DEADLINE:.0f} s"
        time.sleep(0.1)


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass(frozen=True)
class Farm:
    coordinator: str
    sim: SimBoard
    dir: Path
    power: list[str] = field(default_factory=list)  # what the power switch was told

    def client(self, *args: str, user: str | None = None, place: str = PLACE) -> procs.RunResult:
        env = {**os.environ, "LG_USERNAME": user} if user else None
        return procs.run(
            [BIN / "labgrid-client", "-x", self.coordinator, "-p", place, *args],
            timeout=DEADLINE,
            env=env,
            log_path=self.dir / "client.log",
            append_log=True,
        )

    def holder(self, place: str = PLACE) -> str | None:
        spec = place_port(place, self.coordinator)
        with farm.CoordinatorSession(spec, "test") as session:
            return session.holder()

    def bench(
        self, tmp_path: Path, place: str = PLACE, reset: str = "dtr-rts", simulated: bool = False
    ) -> Path:
        path = tmp_path / f"bench-{place}-{reset}.toml"
        path.write_text(
            f'[labgrid]\ncoordinator = "{self.coordinator}"\n\n'
            '[[board]]\nname = "farm-1"\nchip = "esp8266"\ncores = ["3.1.2"]\n'
            f'place = "{place}"\nupload_speed = 115200\nreset = "{reset}"\n'
            f"simulated = {str(simulated).lower()}\n"
        )
        return path


def _power_switch(sim: SimBoard, told: list[str]) -> http.server.ThreadingHTTPServer:
    """A networked power switch on 127.0.0.1 (labgrid's `simplerest` model: GET
    /power/<0|1>): switching on boots the simulated board as a power-on reset does."""

    class Switch(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            value = self.path.rsplit("/", 1)[-1]
            told.append(value)
            if value == "1":
                sim.chip.boot(bootloader=False, cause=1)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(value.encode())

        def log_message(self, *args: object) -> None:  # the test's output stays quiet
            pass

    return http.server.ThreadingHTTPServer(("127.0.0.1", 0), Switch)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Farm]:
    """A coordinator, an exporter and a simulated board, all on 127.0.0.1; each stopped
    on every exit path (the context managers)."""
    base = tmp_path_factory.mktemp("farm")
    # The board already runs a firmware (a blank one makes the first flash wait out
    # its boot timeout for a HIL:BOOT line that never comes).
    seed = example_firmware("5eed00000000")
    (base / "flash.bin").write_bytes(seed + b"\xff" * (4 * 1024 * 1024 - len(seed)))
    port = _free_port()
    address = f"127.0.0.1:{port}"
    told: list[str] = []
    with (
        SimBoard(Rfc2217Server(0), base / "flash.bin") as sim,
        _power_switch(sim, told) as switch,
        procs.ManagedProcess(
            "labgrid-coordinator",
            [BIN / "labgrid-coordinator", "-l", address],
            log_path=base / "coordinator.log",
        ) as coordinator,
        procs.ManagedProcess(
            "labgrid-exporter",
            [BIN / "labgrid-exporter", "-c", address, "-n", "bench-pc", "--hostname",
             "127.0.0.1", base / "exporter.yaml"],
            log_path=base / "exporter.log",
        ) as exporter,
    ):  # fmt: skip
        threading.Thread(target=switch.serve_forever, daemon=True).start()
        sim_port = sim.address.rsplit(":", 1)[1]
        # What a farm's exporter exports for a board on its USB: here the simulated
        # board's RFC2217 server stands in for the exporter's ser2net.
        (base / "exporter.yaml").write_text(
            f"esp8266-1:\n  NetworkSerialPort:\n    host: 127.0.0.1\n    port: {sim_port}\n"
            "    speed: 115200\n"
            "  NetworkPowerPort:\n    model: simplerest\n"
            f"    host: 'http://127.0.0.1:{switch.server_port}/power/{{value}}'\n    index: 0\n"
        )
        coordinator.start(cwd=base)  # it keeps its places.yaml in its working folder
        _wait("the coordinator", lambda: _listening(port), coordinator)
        exporter.start(cwd=base)
        lab = Farm(address, sim, base, told)
        for place in (PLACE, POWERED):
            assert lab.client("create", place=place).returncode == 0
            for cls in ("NetworkSerialPort", "NetworkPowerPort")[: 1 + (place == POWERED)]:
                match = f"bench-pc/esp8266-1/{cls}"
                assert lab.client("add-match", match, place=place).returncode == 0

        def exported() -> bool:
            return lab.client("show", place=POWERED).output.count("'avail': True") == 2

        _wait("the exporter's resources", exported, exporter)
        yield lab
        switch.shutdown()
        assert lab.holder() is None, "a test left the place acquired"
        assert lab.holder(POWERED) is None, "a test left the place acquired"


@pytest.fixture
def firmware(tmp_path: Path):
    def make(build: str) -> Path:
        path = tmp_path / f"{build}.bin"
        path.write_bytes(example_firmware(build))
        return path

    return make


def test_hil_flash_through_a_place_uploads_once_and_releases(lab: Farm, firmware, tmp_path: Path):
    bin_ = firmware("fa4b0a7d1001")
    args = ["flash", "--bench", str(lab.bench(tmp_path)), "--board", "farm-1",
            "--firmware", str(bin_), "--json", "--runs-dir", str(tmp_path / "runs")]  # fmt: skip
    first = hil(*args)
    assert first.returncode == 0, first.stderr
    result = json.loads(first.stdout)
    assert result["uploaded"] is True and result["place"] == PLACE
    assert result["port"] == lab.sim.address  # the place's NetworkSerialPort
    assert lab.sim.flash.read(0, bin_.stat().st_size) == bin_.read_bytes()
    assert lab.holder() is None
    stubs = [c for m, c in lab.sim.chip.boots if m is Mode.STUB]
    second = hil(*args)
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["uploaded"] is False
    assert [c for m, c in lab.sim.chip.boots if m is Mode.STUB] == stubs  # no upload
    assert lab.sim.chip.boots[-1] == (Mode.RUN, "rst cause 2")  # reset by DTR/RTS
    assert lab.holder() is None


def test_a_scenario_runs_on_a_farm_board_holding_its_place(lab: Farm, tmp_path: Path):
    # The runner acquires the place for the whole attempt (build, flash, reset, the TLS
    # run) and releases it after; the simulated board runs the twin of the scenario's
    # own sketch, so the run is real from PlatformIO to the diagnosis.
    bench = load_bench(lab.bench(tmp_path, simulated=True))
    config = BenchConfig(runs_dir=tmp_path / "runs", bench=bench, bench_board="farm-1")
    held: list[str | None] = []
    real_attempt = runner._attempt

    def look_then_attempt(target, *args):  # the place is held while the board runs
        held.append(lab.holder())
        assert target.bench_board.port.kind == "rfc2217"  # the place's NetworkSerialPort
        return real_attempt(target, *args)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(runner, "_attempt", look_then_attempt)
        record = run_scenario(load_scenario("bearssl-trust-anchors-ok"), config)
    assert record.verdict.outcome is Outcome.PASS, record.verdict.reason
    assert record.diagnosis.connected is True
    assert record.scenario.board == "esp-esp8266-3.1.2"
    assert record.board_info["bench_board"] == "farm-1"
    assert len(held) == 1 and held[0] is not None
    assert lab.holder() is None


def test_the_places_power_switch_resets_the_board(lab: Farm, firmware, tmp_path: Path):
    bin_ = firmware("fa4b0a7d1001")  # the build the first test left
    args = ["--board", "farm-1", "--firmware", str(bin_), "--json",
            "--runs-dir", str(tmp_path / "runs")]  # fmt: skip
    first = hil("flash", "--bench", str(lab.bench(tmp_path, POWERED)), *args)
    assert first.returncode == 0, first.stderr
    del lab.power[:]
    powered = hil("flash", "--bench", str(lab.bench(tmp_path, POWERED, "place-power")), *args)
    assert powered.returncode == 0, powered.stderr
    assert json.loads(powered.stdout)["uploaded"] is False
    # labgrid's NetworkPowerDriver switched it off and on; the board came up from a
    # power-on reset and its HIL:BOOT line was read.
    assert lab.power == ["0", "1"]
    assert lab.sim.chip.boots[-1] == (Mode.RUN, "rst cause 1")
    assert lab.holder(POWERED) is None


def test_ctrl_c_releases_the_place(lab: Farm, firmware, tmp_path: Path):
    bin_ = firmware("fa4b0a7d1002")  # another build: an upload of a few seconds
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "flash", "--bench", str(lab.bench(tmp_path)),
         "--board", "farm-1", "--firmware", str(bin_), "--runs-dir", str(tmp_path / "runs")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        # The port lock is taken inside the place's session: its pid there means the
        # place is acquired and the flash under way.
        path = locks.lock_path(lab.sim.address)
        _wait("hil flash taking the port", lambda: str(proc.pid) in _read(path))
        assert lab.holder() is not None
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=DEADLINE)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert lab.holder() is None
    with locks.port_lock(lab.sim.address):
        pass


def test_a_second_ctrl_c_waits_for_the_release(lab: Farm, tmp_path: Path, monkeypatch):
    board = load_bench(lab.bench(tmp_path)).board("farm-1")
    release = farm.CoordinatorSession.release_if_mine

    def impatient(session: farm.CoordinatorSession) -> bool:
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C again, as the release starts
        return release(session)

    monkeypatch.setattr(farm.CoordinatorSession, "release_if_mine", impatient)
    with pytest.raises(KeyboardInterrupt), farm.board_session(board):
        assert lab.holder() is not None
        raise KeyboardInterrupt  # the first Ctrl-C
    assert lab.holder() is None
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_place_held_by_someone_else_is_refused(lab: Farm, firmware, tmp_path: Path):
    assert lab.client("acquire", user="alice").returncode == 0
    try:
        other = hil("flash", "--bench", str(lab.bench(tmp_path)), "--board", "farm-1",
                    "--firmware", str(firmware("fa4b0a7d1003")),
                    "--runs-dir", str(tmp_path / "runs"))  # fmt: skip
        holder = lab.holder()
    finally:
        assert lab.client("release", user="alice").returncode == 0
    assert other.returncode == 3, other.stderr
    assert holder is not None and holder.endswith("/alice")
    assert f"labgrid place {PLACE} (board farm-1, coordinator {lab.coordinator})" in other.stderr
    assert f"held by {holder}" in other.stderr
    assert "fix: wait until" in other.stderr


def test_a_place_the_coordinator_does_not_know(lab: Farm, tmp_path: Path):
    board = load_bench(lab.bench(tmp_path, place="no-such-place")).board("farm-1")
    with pytest.raises(ConfigError, match=rf"(?s)no-such-place.*knows no such place.*{PLACE}"):
        farm.acquire(board)


def test_a_place_whose_exporter_is_not_there(lab: Farm, tmp_path: Path):
    ghost = "sim-ghost"
    assert lab.client("create", place=ghost).returncode == 0
    assert lab.client("add-match", "elsewhere/esp8266-9/*", place=ghost).returncode == 0
    board = load_bench(lab.bench(tmp_path, place=ghost)).board("farm-1")
    with pytest.raises(ToolFailedError, match=r"(?s)no exporter offers.*elsewhere/esp8266-9.*"
                       r"fix: start labgrid-exporter"):  # fmt: skip
        farm.acquire(board)
    assert lab.holder(ghost) is None  # given back


def test_a_coordinator_that_is_down(tmp_path: Path):
    down = f"127.0.0.1:{_free_port()}"
    path = tmp_path / "bench.toml"
    path.write_text(
        f'[labgrid]\ncoordinator = "{down}"\n[[board]]\nname = "b"\nchip = "esp8266"\n'
        f'cores = ["3.1.2"]\nplace = "{PLACE}"\n'
    )
    board = load_bench(path).board("b")
    with pytest.raises(ToolFailedError, match=rf"(?s){PLACE}.*{down}.*not reachable.*fix: start"):
        farm.acquire(board)


def test_a_coordinator_that_never_answers(tmp_path: Path, monkeypatch):
    # A socket that listens and never speaks: the TCP connection opens, gRPC waits.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        address = f"127.0.0.1:{silent.getsockname()[1]}"
        path = tmp_path / "bench.toml"
        path.write_text(
            f'[labgrid]\ncoordinator = "{address}"\n[[board]]\nname = "b"\n'
            f'chip = "esp8266"\ncores = ["3.1.2"]\nplace = "{PLACE}"\n'
        )
        monkeypatch.setattr(farm, "CONNECT_TIMEOUT", 1.0)
        with pytest.raises(DeadlineError, match=rf"(?s){PLACE}.*{address}.*no answer within 1 s"):
            farm.acquire(load_bench(path).board("b"))


def test_place_power_needs_a_power_resource(lab: Farm, tmp_path: Path):
    board = load_bench(lab.bench(tmp_path, reset="place-power")).board("farm-1")
    with pytest.raises(ConfigError, match=r"(?s)no power resource.*NetworkSerialPort"):
        farm.acquire(board)
    assert lab.holder() is None  # the failed acquisition gave the place back


def test_your_own_stale_acquisition_is_named(lab: Farm, tmp_path: Path):
    board = load_bench(lab.bench(tmp_path)).board("farm-1")
    with farm.board_session(board) as reachable:
        assert reachable.port.text == lab.sim.address
        with pytest.raises(StateError, match=r"(?s)already acquired by you.*release"):
            farm.acquire(board)
    assert lab.holder() is None


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""
