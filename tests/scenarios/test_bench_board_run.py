"""The runner on a bench board, end to end, with the simulated board (`hil sim-board`).

What is real: the build (PlatformIO, the twin of ESP8266 core 2.4.1 from the scenario's
own sketch), the ESP8266 image, the upload (esptool into the simulated flash over
RFC2217), flash skipping by the HIL:BOOT build id, the DTR/RTS reset through the serial
reader that owns the port, the serial reader, the server, the capture and the TLS
connection. What is simulated: the chip, which runs the twin in place of Xtensa code
(harness/instruments/boards/sim/app.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.instruments.boards.bench import load_bench
from harness.instruments.boards.sim import Mode, Rfc2217Server, SimBoard
from harness.instruments.boards.sim.image import example_firmware
from harness.model import Outcome
from harness.run.runner import BenchConfig, run_scenario
from harness.run.scenarios import load_scenario


def write_bench(path: Path, boards: dict[str, str], core: str = "2.4.1", **extra: str) -> Path:
    """A bench file of simulated ESP8266 boards on one core: name -> port."""
    lines = []
    for name, port in boards.items():
        lines += ["[[board]]", f'name = "{name}"', 'chip = "esp8266"', f'cores = ["{core}"]',
                  f'port = "{port}"', "simulated = true"]  # fmt: skip
        lines += [f"{k} = {v}" for k, v in extra.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[SimBoard]:
    with SimBoard(Rfc2217Server(0), tmp_path / "flash.bin") as board:
        yield board


def _uploads(sim: SimBoard) -> int:
    return sum(mode is Mode.STUB for mode, _ in sim.chip.boots)


def test_a_scenario_runs_on_a_bench_board_and_flashes_only_once(sim: SimBoard, tmp_path: Path):
    bench = load_bench(write_bench(tmp_path / "bench.toml", {"sim-1": sim.address}))
    config = BenchConfig(runs_dir=tmp_path / "runs", bench=bench, bench_board="sim-1")

    first = run_scenario(load_scenario("founding-report"), config)
    assert first.verdict.outcome is Outcome.PASS, first.verdict.reason
    assert first.diagnosis.cause == "no_shared_cipher"
    # The twin scenario ran on the real board of its core, and the record says where.
    assert first.scenario.board == "esp-esp8266-2.4.1"
    assert first.board_info == {
        "bench_board": "sim-1",
        "port": sim.address,
        "core": "esp8266-2.4.1",
    }
    assert _uploads(sim) == 1
    # The wire saw the board's ClientHello: the TLS connection was real.
    kinds = {e.kind for e in first.timeline.events if e.source.value == "wire"}
    assert "client_hello" in kinds
    # The reset went through the reader: its log holds the boot from the ROM banner's
    # bytes (74880 baud, noise at 115200) to HIL:DONE, and not one byte of esptool's.
    raw = (first.run_dir / "serial.raw").read_bytes()
    build = (first.run_dir / "firmware" / "build-id.txt").read_text().split()[0]
    assert raw.index(f"HIL:BOOT build={build}".encode()) < raw.index(b"HIL:DONE")
    assert b"OHAI" not in raw and b"\xc0\x01\x08" not in raw

    second = run_scenario(load_scenario("founding-report"), config)
    assert second.verdict.outcome is Outcome.PASS, second.verdict.reason
    assert _uploads(sim) == 1  # the board ran that build already: nothing uploaded
    assert sim.chip.boots[-1] == (Mode.RUN, "rst cause 2")  # reset by DTR/RTS
    # The board's app (the twin) runs until the board stops, and not a moment longer.
    assert sim.chip.app is not None and sim.chip.app.running()
    pid = sim.chip.app.pid
    sim.stop()
    assert pid is not None and not sim.chip.app.running()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_skip_flash_names_both_builds_when_the_board_runs_another(sim: SimBoard, tmp_path: Path):
    sim.flash.erase(0, 0x10000)
    sim.flash.program(0, example_firmware("0ther0build0"))  # flashed by someone else
    bench = load_bench(write_bench(tmp_path / "bench.toml", {"sim-1": sim.address}))
    config = BenchConfig(
        runs_dir=tmp_path / "runs", bench=bench, bench_board="sim-1", skip_flash=True
    )
    record = run_scenario(load_scenario("founding-report"), config)
    assert record.verdict.outcome is Outcome.ERROR
    error = (record.run_dir / "error.txt").read_text()
    build = (record.run_dir / "firmware" / "build-id.txt").read_text().split()[0]
    assert (
        f"board sim-1 on {sim.address} runs build 0ther0build0, but this run's firmware "
        f"is build {build}, and --hil-skip-flash trusts the board"
    ) in error
    assert "fix: drop --hil-skip-flash" in error
    assert _uploads(sim) == 0


def test_a_port_that_never_answers(tmp_path: Path):
    master, slave = os.openpty()  # a port nobody answers on: nothing behind the pty
    try:
        link = tmp_path / "ttyMUTE"
        link.symlink_to(os.ttyname(slave))
        bench = load_bench(write_bench(tmp_path / "bench.toml", {"mute": str(link)}))
        config = BenchConfig(
            runs_dir=tmp_path / "runs", bench=bench, bench_board="mute", skip_flash=True
        )
        record = run_scenario(load_scenario("founding-report"), config)
    finally:
        os.close(master)
        os.close(slave)
    assert record.verdict.outcome is Outcome.ERROR
    error = (record.run_dir / "error.txt").read_text()
    assert f"board mute on {link} printed no 'HIL:BOOT build=' line" in error
    assert "seen: nothing at all" in error and "fix:" in error


def test_a_real_board_needs_the_wifi_credentials_the_bench_file_names(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("HIL_TEST_SSID", raising=False)
    path = tmp_path / "bench.toml"
    path.write_text(
        '[wifi]\nssid_env = "HIL_TEST_SSID"\npassword_env = "HIL_TEST_PASSWORD"\n'
        '[[board]]\nname = "desk"\nchip = "esp8266"\ncores = ["2.4.1"]\nport = "/dev/null"\n'
    )
    config = BenchConfig(runs_dir=tmp_path / "runs", bench=load_bench(path), bench_board="desk")
    record = run_scenario(load_scenario("founding-report"), config)
    assert record.verdict.outcome is Outcome.ERROR
    error = (record.run_dir / "error.txt").read_text()
    assert "[wifi] names HIL_TEST_SSID" in error and "export HIL_TEST_SSID=" in error
    assert not (record.run_dir / "build.log").exists()  # refused before any build
