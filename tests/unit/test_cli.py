import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main
from harness.model.errors import ConfigError
from harness.run.runner import new_run_dir
from harness.run.scenarios import SCENARIO_DIR
from tests.samples import FOUNDING_LOG


def test_diagnose_founding_log_json(capsys):
    assert main(["diagnose", "--serial", str(FOUNDING_LOG), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["cause"] == "no_shared_cipher"
    assert doc["confidence"] == "log only"
    assert doc["stack"] == "axtls"
    assert any("AES128-SHA256 (0x003c)" in ev["claim"] for ev in doc["evidence"])
    assert doc["fixes"][0]["where"] == "server"


def test_diagnose_text_names_the_fixes(capsys):
    assert main(["diagnose", "--serial", str(FOUNDING_LOG)]) == 0
    out = capsys.readouterr().out
    assert "Cause: no_shared_cipher" in out and "SSLCipherSuite" in out


def test_missing_file_is_a_clear_error_not_a_traceback(capsys, tmp_path):
    assert main(["diagnose", "--serial", str(tmp_path / "nope.log")]) == 2
    err = capsys.readouterr().err
    assert "nope.log" in err and "fix:" in err


def test_unknown_scenario_is_a_clear_error(capsys):
    assert main(["run", "no-such-scenario"]) == 2
    assert "unknown scenario 'no-such-scenario'" in capsys.readouterr().err


# -- names are names, files come through an option ----------------------------------------


def test_a_path_is_not_a_scenario_name_and_nothing_is_written_there(capsys, tmp_path):
    copy = tmp_path / "copy"
    (tmp_path / "copy.toml").write_text(SCENARIO_DIR.joinpath("founding-report.toml").read_text())
    assert main(["run", str(copy), "--runs-dir", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert "unknown scenario" in err and "--scenario-file" in err
    assert not copy.exists() and not (tmp_path / "runs").exists()


def test_a_relative_path_cannot_leave_the_runs_folder(capsys, tmp_path):
    runs = tmp_path / "runs"
    assert main(["run", "../scenarios/founding-report", "--runs-dir", str(runs)]) == 2
    assert list(tmp_path.iterdir()) == []


def test_run_folder_and_cache_names_are_one_safe_component(tmp_path):
    made = new_run_dir(tmp_path / "runs", "../../escape/me")
    assert made.parent == (tmp_path / "runs").resolve()
    assert ".." not in made.name and "/" not in made.name


def test_a_scenario_file_of_binary_garbage_is_bad_input(capsys, tmp_path):
    junk = tmp_path / "junk.toml"
    junk.write_bytes(bytes(range(256)) * 4)
    assert main(["run", "--scenario-file", str(junk), "--runs-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "junk.toml: not a text file" in err and "fix:" in err


def test_a_scenario_file_with_a_path_for_a_sketch_is_refused(capsys, tmp_path):
    text = SCENARIO_DIR.joinpath("founding-report.toml").read_text()
    mine = tmp_path / "mine.toml"
    mine.write_text(text.replace('sketch = "founding_report"', 'sketch = "../../etc"'))
    assert 'sketch = "../../etc"' in mine.read_text()
    assert main(["run", "--scenario-file", str(mine), "--runs-dir", str(tmp_path)]) == 2
    assert "key 'sketch'" in capsys.readouterr().err


# -- folders the user names -----------------------------------------------------------------


@pytest.mark.parametrize("option", ["--runs-dir", "--cache-dir"])
def test_a_file_where_a_folder_belongs_is_bad_input(capsys, tmp_path, option):
    afile = tmp_path / "afile"
    afile.write_text("x")
    args = ["run", "founding-report", "--runs-dir", str(tmp_path / "runs"), option, str(afile)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"{option} {afile} is a file" in err and "fix:" in err


@pytest.mark.parametrize("option", ["--runs-dir", "--cache-dir"])
def test_a_folder_that_cannot_be_made_is_bad_input(capsys, tmp_path, option):
    # /proc refuses new folders even to root: a read-only place on every Linux.
    args = ["run", "founding-report", "--runs-dir", str(tmp_path), option, "/proc/hil-runs"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"{option} /proc/hil-runs" in err and "fix:" in err


def test_certs_out_pointing_at_a_file_is_bad_input(capsys, tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert main(["certs", "founding-report", "--out", str(afile)]) == 2
    assert f"--out {afile} is a file" in capsys.readouterr().err


def test_an_unwritable_runs_folder_found_late_is_an_error_not_a_traceback(tmp_path):
    with pytest.raises(ConfigError, match="cannot make a run folder in /proc"):
        new_run_dir(Path("/proc"), "founding-report")


# -- numbers ----------------------------------------------------------------------------------


@pytest.mark.parametrize("runs", ["0", "-1", "many"])
def test_bench_runs_must_be_one_or_more(capsys, runs):
    with pytest.raises(SystemExit) as info:
        main(["bench", "--runs", runs])
    assert info.value.code == 2
    assert "--runs" in capsys.readouterr().err


def test_a_port_out_of_range_is_refused_before_tshark(capsys):
    with pytest.raises(SystemExit) as info:
        main(["diagnose", "--pcap", str(FOUNDING_LOG), "--port", "70000"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "--port" in err and "70000 is not a TCP port" in err and "tshark" not in err


def test_a_keylog_folder_is_named_as_a_folder(capsys, tmp_path):
    assert main(["diagnose", "--pcap", str(FOUNDING_LOG), "--keylog", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "is a folder" in err and "does not exist" not in err


def test_a_bench_address_off_this_machine_names_the_cli_option(capsys):
    assert main(["serve", "tls1.2-only", "--bind", "0.0.0.0"]) == 2
    err = capsys.readouterr().err
    assert "--allow-external" in err and "allow_external=True" not in err


# -- a closed stdout ----------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["profiles"], ["boards"], ["run", "--list"], ["certs"]])
def test_a_closed_stdout_ends_quietly(command):
    # `hil profiles | head -3`, with a reader that closed before hil wrote a byte.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "harness.cli", *command],
            stdin=subprocess.DEVNULL,
            stdout=write_end,
            stderr=subprocess.PIPE,
            cwd=Path(__file__).resolve().parents[2],
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert proc.stderr == b"", proc.stderr.decode()
    assert proc.returncode == 141


# -- bench boards on run and matrix ------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "founding-report", "--bench-board", "desk-a"], "--bench-board desk-a without"),
        (["run", "founding-report", "--port", "/dev/ttyUSB0"], "--port /dev/ttyUSB0 without"),
        (
            ["matrix", "--agent", "--sketch", "tls_client", "--board", "all", "--profile", "all"],
            "--agent with --sketch tls_client",
        ),
    ],
)
def test_bench_board_options_refuse_bad_combinations(capsys, tmp_path, monkeypatch, argv, message):
    monkeypatch.delenv("HIL_BENCH", raising=False)
    assert main([*argv, "--runs-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and "fix:" in err


def test_an_unknown_bench_board_lists_the_benchs(capsys, tmp_path):
    bench = tmp_path / "bench.toml"
    bench.write_text('[[board]]\nname = "desk-a"\nchip = "esp8266"\ncores = ["3.1.2"]\n'
                     'port = "/dev/null"\n')  # fmt: skip
    argv = ["run", "founding-report", "--bench", str(bench), "--bench-board", "desk-z"]
    assert main([*argv, "--runs-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no [[board]] named 'desk-z'" in err and "use one of: desk-a" in err
