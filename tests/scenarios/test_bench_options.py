"""pytest on a bench: --hil-bench, --hil-board, --hil-port, --hil-skip-flash (each an ini
key, HIL_BENCH for the bench), one xdist group per bench board, and a failing test's
report naming the board, the port and the core. The boards are simulated boards
(`hil sim-board`, RFC2217 on 127.0.0.1) served by this process."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.instruments.boards.sim import Rfc2217Server, SimBoard
from tests.scenarios.test_bench_board_run import write_bench


def test_the_bench_options_are_options_ini_keys_and_fixtures(hil_pytester, tmp_path, monkeypatch):
    bench = write_bench(tmp_path / "bench.toml", {"desk-a": "/dev/null", "desk-b": "/dev/zero"})
    hil_pytester.makeini(
        """
        [pytest]
        hil_board = desk-b
        hil_skip_flash = true
        """
    )
    monkeypatch.setenv("HIL_BENCH", str(bench))
    hil_pytester.makepyfile(
        test_fields=f"""
        import pytest
        from pathlib import Path

        def test_from_env_ini_and_options(hil_bench, hil_bench_file, hil_board, hil_port):
            assert hil_bench_file == Path({str(bench)!r})  # HIL_BENCH
            assert hil_bench.bench is not None and hil_bench.bench.path == hil_bench_file
            assert hil_board == "desk-b" and hil_bench.bench_board == "desk-b"  # ini
            assert hil_port == "/dev/ttyACM7" and hil_bench.port == "/dev/ttyACM7"  # option
            assert hil_bench.skip_flash is True  # ini

        @pytest.mark.parametrize("hil_skip_flash", [False])
        def test_by_parametrization(hil_bench):
            assert hil_bench.skip_flash is False
        """
    )
    result = hil_pytester.runpytest_subprocess("--hil-port=/dev/ttyACM7", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_the_ini_keys_bench_path_is_relative_to_the_ini_file(hil_pytester, monkeypatch):
    monkeypatch.delenv("HIL_BENCH", raising=False)
    write_bench(hil_pytester.path / "benches.toml", {"desk-a": "/dev/null"})
    hil_pytester.makeini("[pytest]\nhil_bench = benches.toml\nhil_board = desk-a\n")
    hil_pytester.makepyfile(
        test_rel="""
        def test_it(hil_bench, hil_bench_file):
            assert hil_bench_file.is_absolute() and hil_bench.bench.board("desk-a")
        """
    )
    sub = hil_pytester.mkdir("sub")
    monkeypatch.chdir(sub)  # run from elsewhere: the ini's folder still counts
    result = hil_pytester.runpytest_subprocess(str(hil_pytester.path), "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--hil-board", "desk-z"],
            r"no \[\[board\]\] named 'desk-z'.*use one of: desk-a, desk-b",
        ),
        (["--hil-board", "desk-a", "--hil-bench", ""], "--hil-board desk-a without a bench file"),
        (
            ["--hil-board", "desk-a,desk-b", "--hil-port", "/dev/ttyUSB3"],
            "--hil-port with 2 boards",
        ),
        (["--hil-skip-flash"], None),  # a flag alone is fine
    ],
)
def test_bad_bench_options_are_one_usage_error(hil_pytester, tmp_path, monkeypatch, args, message):
    bench = write_bench(tmp_path / "bench.toml", {"desk-a": "/dev/null", "desk-b": "/dev/zero"})
    monkeypatch.setenv("HIL_BENCH", str(bench))
    if "--hil-bench" in args:
        monkeypatch.delenv("HIL_BENCH")
        args = [a for a in args if a not in ("--hil-bench", "")]
    hil_pytester.makepyfile(test_one="def test_one(hil_bench):\n    pass\n")
    result = hil_pytester.runpytest_subprocess(*args, "-p", "no:cacheprovider")
    if message is None:
        result.assert_outcomes(passed=1)
        return
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert re.search(message, result.stderr.str(), re.S), result.stderr.str()
    assert "Traceback" not in result.stderr.str()


@pytest.fixture
def two_boards(tmp_path: Path) -> Iterator[dict[str, SimBoard]]:
    with (
        SimBoard(Rfc2217Server(0), tmp_path / "flash-a.bin") as a,
        SimBoard(Rfc2217Server(0), tmp_path / "flash-b.bin") as b,
    ):
        yield {"sim-a": a, "sim-b": b}


INNER = """
import os
from pathlib import Path

def _note(request, hil_board, name):
    worker = os.environ.get("PYTEST_XDIST_WORKER", "none")
    group = request.node.get_closest_marker("xdist_group").kwargs["name"]
    Path({out!r}, f"{{name}}-{{hil_board}}").write_text(f"{{worker}} {{group}}")

def test_passes(hil_run, hil_board, request):
    record = hil_run("founding-report")
    _note(request, hil_board, "passes")
    assert record.verdict.outcome.value == "pass", record.verdict.reason

def test_fails_on_purpose(hil_run, hil_board, request):
    record = hil_run("founding-report")
    _note(request, hil_board, "fails")
    assert record.diagnosis.cause is None, "this test fails on purpose"
"""


def test_one_xdist_worker_per_board_and_reports_name_board_port_and_core(
    hil_pytester, tmp_path: Path, two_boards: dict[str, SimBoard]
):
    bench = write_bench(tmp_path / "bench.toml", {n: b.address for n, b in two_boards.items()})
    out = tmp_path / "notes"
    out.mkdir()
    hil_pytester.makepyfile(test_on_boards=INNER.format(out=str(out)))
    junit = tmp_path / "junit.xml"
    result = hil_pytester.runpytest_subprocess(
        "-n", "2", "--dist", "loadgroup", "-v", "-p", "no:cacheprovider",
        "--hil-bench", str(bench), "--hil-board", "sim-a,sim-b",
        "--hil-runs-dir", str(tmp_path / "runs"), f"--junitxml={junit}",
    )  # fmt: skip
    result.assert_outcomes(passed=2, failed=2)
    # Each test ran once per board, in that board's xdist group, so each board saw
    # exactly one worker.
    text = result.stdout.str()
    for board in two_boards:
        notes = {(out / f"{t}-{board}").read_text() for t in ("passes", "fails")}
        assert len(notes) == 1, notes
        worker, group = notes.pop().split()
        assert worker.startswith("gw") and group == f"hil-board-{board}"
    # The failure report names the board, the port and the core.
    for board, sim in two_boards.items():
        line = f"Board: {board} on port {sim.address}, core esp8266-2.4.1 (esp-esp8266-2.4.1)"
        assert line in text, text
    cases = ET.parse(junit).getroot().iter("testcase")
    failed = [c for c in cases if c.find("failure") is not None]
    assert len(failed) == 2
    for case in failed:
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        board = props["hil_bench_board"]
        assert props["hil_port"] == two_boards[board].address
        assert props["hil_core"] == "esp8266-2.4.1"
