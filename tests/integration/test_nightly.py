"""ci/nightly.sh, the nightly's entry point for any CI system, on the shipped example
bench: the matrix it gives ci/nightly.yml, pytest's exit code passed through (5, no test
ran, is a failure), the JUnit report where the workflow uploads it, and a missing bench
file refused before anything runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "harness/instruments/boards/sim/example-bench.toml"


def nightly(*args: str, timeout: float = 250) -> subprocess.CompletedProcess:
    """Run ci/nightly.sh in a session of its own: at the deadline the whole group (its
    pytest, that pytest's runs) is stopped, not only the script."""
    proc = subprocess.Popen(
        [ROOT / "ci/nightly.sh", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
        cwd=ROOT,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        pytest.fail(f"ci/nightly.sh {' '.join(args)} passed {timeout:.0f} s:\n{err[-3000:]}")
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_the_matrix_is_the_bench_files_boards_and_no_other(tmp_path: Path):
    result = nightly(str(EXAMPLE), "--matrix", "--no-setup")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [{"name": "sim-esp8266", "chip": "esp8266"}]
    result = nightly(str(EXAMPLE), "--board", "nope", "--out", str(tmp_path), "--no-setup")
    assert result.returncode == 2
    assert "has no board nope (it has: sim-esp8266" in result.stderr


def test_pytests_exit_code_comes_through(tmp_path: Path):
    # No test matches: pytest says 5, and so must the nightly (a run that ran nothing
    # is not green).
    result = nightly(str(EXAMPLE), "--out", str(tmp_path), "--", "-k", "no_test_is_named_so")
    assert result.returncode == 5, result.stderr
    assert "board sim-esp8266 (esp8266)" in result.stderr
    assert "board sim-esp8266: pytest exit code 5" in result.stderr
    junit = ET.parse(tmp_path / "sim-esp8266" / "junit.xml").getroot()
    assert junit.find("testsuite").get("tests") == "0"


def test_a_missing_bench_file_is_named(tmp_path: Path):
    result = nightly(str(tmp_path / "nowhere.toml"), "--board", "x")
    assert result.returncode == 2
    assert f"bench file {tmp_path / 'nowhere.toml'} does not exist" in result.stderr
    assert "fix:" in result.stderr


def test_a_scenario_runs_on_the_benchs_board_as_the_nightly_runs_it(tmp_path: Path):
    # The whole path a runner takes, on the simulated board: nightly.sh -> pytest with the
    # bench and board as ini keys -> the scenario on the board (build, upload, reset,
    # TLS run) -> JUnit naming board, port and core, and the run kept under --out.
    from harness.instruments.boards.sim import Rfc2217Server, SimBoard

    with SimBoard(Rfc2217Server(0), tmp_path / "flash.bin") as sim:
        bench = tmp_path / "bench.toml"
        bench.write_text(
            '[[board]]\nname = "desk-1"\nchip = "esp8266"\ncores = ["2.4.1"]\n'
            f'port = "{sim.address}"\nsimulated = true\n'
        )
        out = tmp_path / "out"
        only = "test_founding_report_fails_with_no_shared_cipher"
        result = nightly(str(bench), "--out", str(out), "--no-setup", "--", "-k", only)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    junit = ET.parse(out / "desk-1" / "junit.xml").getroot()
    case = junit.find(".//testcase")
    props = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert props["hil_bench_board"] == "desk-1"
    assert props["hil_port"] == sim.address
    assert props["hil_core"] == "esp8266-2.4.1"
    assert props["hil_cause"] == "no_shared_cipher"
    assert list((out / "desk-1" / "runs").glob("*founding-report*"))
