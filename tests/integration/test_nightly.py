"""ci/nightly.sh, the nightly's entry point for any CI system, on the shipped example
bench: the matrix it gives ci/nightly.yml, pytest's exit code passed through (5, no test
ran, is a failure), the JUnit report where the workflow uploads it, and a missing bench
file refused before anything runs."""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "harness/instruments/boards/sim/example-bench.toml"


def nightly(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [ROOT / "ci/nightly.sh", *args],
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
        cwd=ROOT,
    )


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
