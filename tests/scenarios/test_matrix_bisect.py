"""`hil matrix` and `hil bisect` on the twin: a small real matrix (2 profiles x 3 boards),
an error cell, an interrupted matrix, and bisections over the ESP8266 releases."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from harness.model.errors import ConfigError
from harness.model.matrix import CellOutcome
from harness.run.bisect import BisectRequest, bisect
from harness.run.matrix import resolve, run_matrix
from tests.integration.test_reaper import _descendants

BOARDS = ["twin-esp8266-2.4.2", "twin-esp8266-3.1.2", "twin-esp32-2.0.17"]
PROFILES = ["do-2016-ssl-params", "wrong-host"]
# The same facts as the regression catalogue (axtls-to-bearssl-ecdhe, wrong-host-name-check).
EXPECTED = {
    ("twin-esp8266-2.4.2", "do-2016-ssl-params"): ("failed", "no_shared_cipher"),
    ("twin-esp8266-3.1.2", "do-2016-ssl-params"): ("connected", None),
    ("twin-esp32-2.0.17", "do-2016-ssl-params"): ("connected", None),
    ("twin-esp8266-2.4.2", "wrong-host"): ("connected", None),
    ("twin-esp8266-3.1.2", "wrong-host"): ("failed", "hostname_mismatch"),
    ("twin-esp32-2.0.17", "wrong-host"): ("failed", "hostname_mismatch"),
}


def _hil(*args: str, runs: Path, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args, "--runs-dir", str(runs)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
        **kw,
    )


def test_matrix_json_progress_and_html(tmp_path):
    args = ["matrix", "--sketch", "tls_client", "--json"]
    args += [a for b in BOARDS for a in ("--board", b)]
    args += [a for p in PROFILES for a in ("--profile", p)]
    done = _hil(*args, runs=tmp_path)
    assert done.returncode == 0, done.stderr
    cells = [json.loads(line) for line in done.stdout.splitlines()]
    assert {(c["board"], c["profile"]): (c["outcome"], c["cause"]) for c in cells} == EXPECTED
    assert len(re.findall(r"^\[\d/6\] ", done.stderr, re.M)) == 6
    (matrix_dir,) = tmp_path.glob("*-matrix")
    page = (matrix_dir / "matrix.html").read_text()
    links = re.findall(r'href="([^"]+)"', page)
    assert len(links) == 6
    for link in links:
        assert (matrix_dir / link).is_file() and link.endswith("timeline.html")
    assert [json.loads(x) for x in (matrix_dir / "matrix.json").read_text().splitlines()] == cells


def test_error_cell_stays_with_its_run_dir_and_the_matrix_goes_on(hil_bench, tmp_path):
    bench = replace(hil_bench, runs_dir=tmp_path)
    # founding_report calls ESP8266's setCACert(der, len): it does not build for ESP32.
    req = resolve(["founding_report"], ["twin-esp32-2.0.17", "twin-esp8266-2.4.2"],
                  ["do-2016-ssl-params"], bench)  # fmt: skip
    result = run_matrix(req, bench)
    esp32, esp8266 = result.cells
    assert esp32.outcome is CellOutcome.ERROR and "build" in esp32.error
    assert (esp32.run_dir / "build.log").is_file()
    assert esp8266.outcome is CellOutcome.FAILED and esp8266.cause == "no_shared_cipher"


def test_a_cell_past_its_deadline_is_an_error(hil_bench, tmp_path):
    bench = replace(hil_bench, runs_dir=tmp_path)
    req = resolve(["tls_client"], ["twin-esp8266-3.1.2"], ["do-2016-ssl-params"], bench,
                  cell_timeout=0.001)  # fmt: skip
    (cell,) = run_matrix(req, bench).cells
    assert cell.outcome is CellOutcome.ERROR and "deadline" in cell.error
    assert (cell.run_dir / "timeline.html").is_file()


def test_a_cell_that_overruns_is_stopped_and_the_matrix_goes_on(hil_bench, tmp_path):
    """A build (a new define: PlatformIO must run, which takes longer than a second) is
    cut at the cell's deadline: its processes are stopped, the cell is an error cell
    with its run directory, and the next cell runs."""
    bench = replace(hil_bench, runs_dir=tmp_path)
    probe = {"HIL_DEADLINE_PROBE": str(time.time_ns())}
    req = resolve(["bearssl_insecure"], ["twin-esp8266-3.1.2"], ["expired", "wrong-host"],
                  bench, cell_timeout=1.0, defines=probe, workers=1)  # fmt: skip
    result = run_matrix(req, bench)
    assert [c.outcome for c in result.cells] == [CellOutcome.ERROR, CellOutcome.ERROR]
    for cell in result.cells:
        assert "deadline" in cell.error, cell.error
        assert (cell.run_dir / "verdict.json").is_file() and (cell.run_dir / "build.log").is_file()
    left = [
        " ".join(_cmdline(pid))
        for pid in _descendants(os.getpid())
        if any(tool in " ".join(_cmdline(pid)) for tool in ("platformio", "scons", "pio "))
    ]
    assert left == [], left


def _cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


@pytest.mark.parametrize(
    ("axis", "name"), [("board", "twin-esp9999"), ("profile", "nope"), ("sketch", "nope")]
)
def test_unknown_names_are_refused_before_anything_runs(hil_bench, tmp_path, axis, name):
    bench = replace(hil_bench, runs_dir=tmp_path)
    names = {"sketch": ["tls_client"], "board": ["twin-esp8266-3.1.2"], "profile": ["expired"]}
    names[axis] = [name]
    with pytest.raises(ConfigError) as err:
        resolve(names["sketch"], names["board"], names["profile"], bench)
    assert name in str(err.value) and "(or all)" in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_all_expands_every_axis(hil_bench):
    req = resolve(["tls_client"], ["all"], ["all", "expired"], hil_bench)
    assert "twin-esp32-3.x" in req.boards and len(req.boards) == 9
    assert req.profiles.count("expired") == 1 and "mozilla-modern" in req.profiles


def test_sigterm_keeps_finished_cells_and_writes_the_table(tmp_path):
    args = [
        sys.executable,
        "-m",
        "harness.cli",
        "matrix",
        "--sketch",
        "tls_client",
        "--board",
        "twin-esp8266-3.1.2",
        "--jobs",
        "1",
        "--json",
        "--runs-dir",
        str(tmp_path),
    ]
    args += [a for p in ("do-2016-ssl-params", "wrong-host", "expired") for a in ("--profile", p)]
    hil = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        line = ""
        deadline = time.monotonic() + 120
        while not line.startswith("[1/3]"):
            assert time.monotonic() < deadline, "no cell finished"
            line = hil.stderr.readline()
            assert line or hil.poll() is None
        hil.send_signal(signal.SIGTERM)
        _, err = hil.communicate(timeout=60)
    finally:
        if hil.poll() is None:
            hil.kill()
            hil.wait()
    assert hil.returncode == 130, err
    (matrix_dir,) = tmp_path.glob("*-matrix")
    cells = [json.loads(x) for x in (matrix_dir / "matrix.json").read_text().splitlines()]
    assert len(cells) == 3
    assert cells[0]["outcome"] == "connected"
    assert "not run" in [c["outcome"] for c in cells]
    assert "not run" in (matrix_dir / "matrix.txt").read_text()


def test_bisect_finds_2_5_and_names_the_suite_change(hil_bench, tmp_path):
    bench = replace(hil_bench, runs_dir=tmp_path)
    req = BisectRequest("tls_client", "do-2016-ssl-params", "esp8266", "2.4.2", "3.1.2",
                        defines={"HIL_TRUST": "1"})  # fmt: skip
    result = bisect(req, bench)
    assert result.first_changed == "2.5.2" and result.last_same == "2.4.2"
    assert [v for v, _ in result.tried] == ["2.4.2", "3.1.2", "2.7.4", "2.5.2"]
    assert result.before.diagnosis.cause == "no_shared_cipher" and result.after.diagnosis.connected
    assert result.differences[0].startswith("ClientHello suites changed from AES128-SHA256")
    assert "2.4.2 did not connect; 2.5.2 connected" in result.differences


def test_bisect_cli_no_change_and_bad_version(tmp_path):
    common = ["bisect", "--sketch", "tls_client", "--profile", "do-2016-ssl-params"]
    same = _hil(*common, "--family", "esp8266", "--good", "2.5.2", "--bad", "3.1.2", runs=tmp_path)
    assert same.returncode == 0, same.stderr
    assert "no change between 2.5.2 and 3.1.2: 2.5.2 connected, 3.1.2 connected" in same.stdout
    as_json = _hil(*common, "--family", "esp8266", "--good", "2.4.2", "--bad", "2.5.2", "--json",
                   runs=tmp_path)  # fmt: skip
    found = json.loads(as_json.stdout)
    assert (found["changed"], found["first_changed"], found["last_same"]) == (
        True,
        "2.5.2",
        "2.4.2",
    )
    assert found["before"]["outcome"] == "failed: no_shared_cipher"
    assert found["after"]["diagnosis"]["cause"] is None
    bad = _hil(*common, "--family", "esp32", "--good", "1.0.4", "--bad", "2.0.17", runs=tmp_path)
    assert bad.returncode == 2
    assert "'1.0.4'" in bad.stderr and "1.0.6, 2.0.17" in bad.stderr
