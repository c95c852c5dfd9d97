"""The agent sketch on the twin: one build for N profiles, each ending as the per-profile
tls_client run of that profile ends; and a garbled job is a clear error."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from harness.instruments.boards import open_board
from harness.instruments.boards.base import BuildRequest
from harness.instruments.boards.sim import Mode, Rfc2217Server, SimBoard
from harness.instruments.serial_monitor import SerialMonitor
from harness.model.matrix import CellOutcome
from harness.run.agent import AGENT_SKETCH, AgentError, agent_header, job_payload, send_job
from harness.run.matrix import resolve, run_matrix
from harness.run.runner import BenchConfig
from tests.integration.hilcli import hil
from tests.scenarios.test_bench_board_run import write_bench

BOARD = "twin-esp8266-3.1.2"
# Four profiles that end four different ways on BearSSL (connected, no shared protocol,
# a host name the certificate does not carry, a certificate out of its dates).
PROFILES = ["do-2016-ssl-params", "tls1.3-only", "wrong-host", "expired"]


def _build_id(run_dir: Path) -> str:
    return (run_dir / "firmware" / "build-id.txt").read_text().split()[0]


def test_one_agent_build_runs_every_profile_as_its_own_build_would(tmp_path: Path):
    config = BenchConfig(runs_dir=tmp_path / "runs")
    agent = run_matrix(resolve([], [BOARD], PROFILES, config, agent=True, workers=1), config)
    plain = run_matrix(resolve(["tls_client"], [BOARD], PROFILES, config, workers=1), config)

    agent_cells = {c.profile: c for c in agent.cells}
    plain_cells = {c.profile: c for c in plain.cells}
    for profile in PROFILES:
        a, p = agent_cells[profile], plain_cells[profile]
        assert a.outcome is not CellOutcome.ERROR, (profile, a.error)
        assert (a.outcome, a.cause) == (p.outcome, p.cause), profile
    # The profiles really differ, so the comparison says something.
    assert len({(c.outcome, c.cause) for c in agent.cells}) == len(PROFILES)
    # One firmware for all of them, built at most once (the cache may hold it already).
    # On the twin the per-profile runs share one build too (it reads port and trust at
    # start); a real board's per-profile builds compile them in, one per profile.
    runs = [agent_cells[p].run_dir for p in PROFILES]
    assert len({_build_id(r) for r in runs}) == 1
    built = [r for r in runs if "pio not run" not in (r / "build.log").read_text()]
    assert len(built) <= 1, built
    assert len({_build_id(plain_cells[p].run_dir) for p in PROFILES}) == 1
    # Each run told the agent its own server, by the host name its certificate names
    # (a twin's matrix cell dials localhost: BearSSL matches dNSName SANs only).
    for profile in PROFILES:
        log = (agent_cells[profile].run_dir / "serial.log").read_text()
        assert re.search(r"HIL:AGENT job host=127\.0\.0\.1 port=\d+ name=localhost", log)


@pytest.fixture
def agent_monitor(tmp_path: Path):
    """The agent built and running on the twin, its Serial read by a monitor."""
    config = BenchConfig(runs_dir=tmp_path)
    header = agent_header("hil-bench", "hil-bench", {})  # as the runner's: one build
    with open_board(BOARD, cache_dir=config.cache_dir, run_dir=tmp_path / "board") as board:
        firmware = board.build(
            BuildRequest(config.sketches_dir / AGENT_SKETCH, header, {}),
            log_path=tmp_path / "build.log",
        )
        board.flash(firmware, log_path=tmp_path / "build.log")
        with SerialMonitor(board.serial_port, tmp_path / "serial") as monitor:
            board.reset(monitor)
            monitor.expect(f"HIL:BOOT build={firmware.build_id}", timeout=20)
            yield monitor
            board.halt()


PAYLOAD = job_payload(
    host="127.0.0.1",
    port=9,
    name="127.0.0.1",
    ca_pem="-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
)


def test_garbage_before_the_job_is_a_clear_error(agent_monitor: SerialMonitor):
    agent_monitor.write(b"\x00\xffnoise")  # a glitch on the line, before the job frame
    with pytest.raises(AgentError, match="the agent on board b1 refused its job") as info:
        send_job(agent_monitor, PAYLOAD, board="b1")
    text = str(info.value)
    assert "bad job line (expected 'HIL:JOB <length> <crc32>')" in text
    assert "fix: bytes were lost or garbled on the serial line" in text
    agent_monitor.expect(r"HIL:DONE connected=0 agent_error=1", timeout=5)


def test_a_wrong_checksum_is_refused_by_the_agent(agent_monitor: SerialMonitor):
    agent_monitor.expect(r"HIL:AGENT ready", timeout=10)
    agent_monitor.write(f"HIL:JOB {len(PAYLOAD)} 0badc0de\n".encode() + PAYLOAD)
    reply = agent_monitor.expect(r"HIL:AGENT error (.*)", timeout=10)
    assert reply[1].startswith("job checksum mismatch: crc32 ")
    assert reply[1].endswith("the line says 0badc0de")


def test_a_job_over_the_agents_limit_is_refused_before_sending(agent_monitor: SerialMonitor):
    big = PAYLOAD + b"x" * 5000
    with pytest.raises(AgentError, match=r"agent job of \d+ bytes for board b1, which takes 4096"):
        send_job(agent_monitor, big, board="b1")


def test_a_bench_board_runs_the_agent_matrix_after_one_flash(tmp_path: Path):
    """`hil matrix --agent` on a simulated bench board: one upload for every profile."""
    profiles = {
        "do-2016-ssl-params": ("connected", None),
        "tls1.3-only": ("failed", "protocol_version"),
        "wrong-host": ("failed", "hostname_mismatch"),
    }
    with SimBoard(Rfc2217Server(0), tmp_path / "flash.bin") as sim:
        bench = write_bench(tmp_path / "bench.toml", {"sim-1": sim.address}, core="3.1.2")
        args = ["matrix", "--agent", "--board", BOARD, "--json", "--bench", str(bench),
                "--bench-board", "sim-1", "--runs-dir", str(tmp_path / "runs")]  # fmt: skip
        done = hil(*args, *(a for p in profiles for a in ("--profile", p)), timeout=600)
        uploads = sum(mode is Mode.STUB for mode, _ in sim.chip.boots)
    assert done.returncode == 0, done.stderr
    cells = [json.loads(line) for line in done.stdout.splitlines()]
    assert {c["profile"]: (c["outcome"], c["cause"]) for c in cells} == profiles
    assert uploads == 1
    run_dirs = [Path(c["run_dir"]) for c in cells]
    assert len({_build_id(r) for r in run_dirs}) == 1
    for run_dir in run_dirs:
        saved = json.loads((run_dir / "verdict.json").read_text())
        assert saved["board_info"] == {
            "bench_board": "sim-1",
            "port": sim.address,
            "core": "esp8266-3.1.2",
        }
