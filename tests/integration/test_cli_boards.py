"""`hil boards` with a bench file, and the shipped example bench against a running
`hil sim-board`: what a user without a board tries first."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from tests.integration.hilcli import hil
from tests.unit.test_bench_file import EXAMPLE


def test_hil_boards_json_with_the_example_bench():
    result = hil("boards", "--bench", str(EXAMPLE), "--json")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    kinds = {row["kind"] for row in rows if "kind" in row}
    assert kinds == {"twin", "esp"}
    (bench_row,) = [row for row in rows if "bench_board" in row and "adapter" not in row]
    assert bench_row["bench_board"] == "sim-esp8266"
    assert bench_row["port"] == "rfc2217://127.0.0.1:4000"


def test_a_bad_bench_file_is_a_clear_error(tmp_path: Path):
    bad = tmp_path / "bench.toml"
    bad.write_text('[[board]]\nname = "x"\nchip = "esp8266"\ncores = ["2.4.1"]\nport = "COM3"\n')
    result = hil("boards", "--bench", str(bad))
    assert result.returncode == 2
    assert "key board[x].port" in result.stderr and "fix:" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_example_bench_with_hil_sim_board(tmp_path: Path):
    """The example's steps, on a free port instead of 4000."""
    firmware = tmp_path / "firmware.bin"
    made = hil("sim-board", "--example-firmware", str(firmware))
    assert made.returncode == 0, made.stderr
    build = re.search(r"build=(\S+)", made.stdout)[1]
    sim = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "sim-board", "--rfc2217", "0",
         "--flash", str(tmp_path / "flash.bin")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert sim.stdout is not None
        port = ""
        for _ in range(6):
            line = sim.stdout.readline()
            if line.startswith("port:"):
                port = line.split()[-1]
                break
        assert port.startswith("rfc2217://127.0.0.1:"), port
        bench = tmp_path / "bench.toml"
        bench.write_text(EXAMPLE.read_text().replace("rfc2217://127.0.0.1:4000", port))
        args = ["flash", "--bench", str(bench), "--board", "sim-esp8266", "--firmware",
                str(firmware), "--runs-dir", str(tmp_path / "runs")]  # fmt: skip
        first = hil(*args)
        assert first.returncode == 0, first.stderr
        assert "uploaded:    yes" in first.stdout and f"build id:    {build}" in first.stdout
        second = hil(*args)
        assert "uploaded:    no" in second.stdout, second.stdout + second.stderr
        sim.send_signal(2)
        sim.communicate(timeout=20)
    finally:
        if sim.poll() is None:
            sim.kill()
            sim.wait()
    assert sim.returncode == 0


def test_flashing_a_sketch_without_wifi_credentials(tmp_path: Path, monkeypatch):
    bench = tmp_path / "bench.toml"
    bench.write_text(
        '[wifi]\nssid_env = "HIL_TEST_NO_SSID"\npassword_env = "HIL_TEST_NO_PASS"\n'
        + EXAMPLE.read_text().split("[[board]]", 1)[1].join(["[[board]]", ""])
    )
    monkeypatch.delenv("HIL_TEST_NO_SSID", raising=False)
    result = hil("flash", "--bench", str(bench), "--board", "sim-esp8266", "--sketch",
                 str(tmp_path), "--runs-dir", str(tmp_path / "runs"))  # fmt: skip
    assert result.returncode == 2
    assert "HIL_TEST_NO_SSID" in result.stderr and "not set in the environment" in result.stderr
    assert "fix: export HIL_TEST_NO_SSID=" in result.stderr
