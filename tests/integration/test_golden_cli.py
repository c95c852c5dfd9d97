"""`hil golden record` and `hil golden check` on a real twin run, and on bad input."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main
from harness.run.runner import BenchConfig, run_scenario
from harness.run.scenarios import load_scenario
from tests.samples import DATA

AXTLS_GOLDEN = DATA / "golden" / "esp8266-2.4.1" / "do-2016-ssl-params"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One twin run of the founding report for every test here."""
    bench = BenchConfig(runs_dir=tmp_path_factory.mktemp("runs"))
    record = run_scenario(load_scenario("founding-report"), bench)
    assert record.verdict.outcome.value == "pass", record.verdict.reason
    return record.run_dir


@pytest.fixture
def golden(run_dir: Path, tmp_path: Path, capsys) -> Path:
    dest = tmp_path / "golden"
    assert main(["golden", "record", str(run_dir), str(dest)]) == 0
    assert str(dest) in capsys.readouterr().out
    return dest


def check_json(capsys, run: Path, golden: Path) -> tuple[int, dict]:
    code = main(["golden", "check", str(run), str(golden), "--json"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out) if captured.out else {"err": captured.err}


def test_record_writes_the_golden_format(golden: Path, run_dir: Path):
    names = sorted(p.name for p in golden.iterdir())
    assert names == [
        "PROVENANCE.md",
        "capture.pcapng",
        "case.toml",
        "client_hello.hex",
        "keylog.txt",
        "serial.log",
        "server.log",
    ]
    case = (golden / "case.toml").read_text()
    for line in (
        'core = "esp8266-2.4.1"',
        'stack = "axtls"',
        'profile = "do-2016-ssl-params"',
        'backend = "builtin"',
        'sketch = "founding_report"',
        "connected = false",
        'cause = "no_shared_cipher"',
        'HIL_SET_CLOCK = "0"',
    ):
        assert line in case
    provenance = (golden / "PROVENANCE.md").read_text()
    assert "board `twin-esp8266-2.4.1`" in provenance and "esp-tls-hil 0.1.0" in provenance
    hello = bytes.fromhex((golden / "client_hello.hex").read_text().strip())
    assert hello[:1] == b"\x16" and hello[5] == 1  # a handshake record with a ClientHello
    # Only the server's connection is kept: no dumpcap flush packets.
    assert (golden / "capture.pcapng").stat().st_size < 8192
    assert (golden / "serial.log").read_bytes() == (run_dir / "serial.log").read_bytes()


def test_a_run_matches_its_own_recording(capsys, run_dir: Path, golden: Path):
    code, doc = check_json(capsys, run_dir, golden)
    assert code == 0, doc
    assert doc["differences"] == [] and doc["matches"] is True
    # The ClientHello, and the board's unexpected_message when it wins its race with the
    # server's FIN (core 2.4.1 sends no close_notify).
    assert doc["compared"]["client records"] in (1, 2)
    assert main(["golden", "check", str(run_dir), str(golden)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "MATCH"


def test_a_tampered_serial_line_is_the_one_difference(capsys, run_dir: Path, golden: Path):
    serial = golden / "serial.log"
    serial.write_text(
        serial.read_text().replace("Alert: handshake failure", "Alert: bad record mac")
    )
    code, doc = check_json(capsys, run_dir, golden)
    assert code == 1
    (d,) = doc["differences"]
    assert (d["id"], d["expected"], d["got"], d["known"]) == (
        "serial.changed",
        "Alert: bad record mac",
        "Alert: handshake failure",
        "",
    )
    assert d["where"].startswith("serial, golden line ")


def test_a_tampered_cipher_suite_in_the_capture_is_the_one_difference(
    capsys, run_dir: Path, golden: Path
):
    pcap = golden / "capture.pcapng"
    data = pcap.read_bytes()
    offer = bytes.fromhex("0008003c003d0035002f")
    assert data.count(offer) == 1
    pcap.write_bytes(data.replace(offer, bytes.fromhex("0008003c003d0035000a")))
    code, doc = check_json(capsys, run_dir, golden)
    assert code == 1
    (d,) = doc["differences"]
    assert (d["id"], d["expected"], d["got"]) == (
        "client_hello.cipher_suites",
        "003c,003d,0035,000a",
        "003c,003d,0035,002f",
    )
    assert d["where"] == "connection 1, client record 0 (client_hello)"


def test_the_table_lists_known_differences_against_a_real_axtls_golden(capsys, run_dir: Path):
    """The twin against the recording of the real axTLS: what differs is printed, and
    what the personality's FIDELITY file lists (the board's races) is marked known."""
    code = main(["golden", "check", str(run_dir), str(AXTLS_GOLDEN)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.splitlines()[-1].startswith("MATCH")
    # Rows and the legend under the table ("known:  <id>: <why>") alike.
    assert all(
        line.startswith(("known ", "known:")) for line in out.splitlines() if "record." in line
    )


# -- bad input and a broken environment -------------------------------------------------------


def _error(capsys, *args: str) -> tuple[int, str]:
    code = main(["golden", *args])
    return code, capsys.readouterr().err


def test_a_golden_of_another_core_is_refused(capsys, run_dir: Path, tmp_path: Path):
    other = tmp_path / "esp8266-3.1.2"
    shutil.copytree(AXTLS_GOLDEN, other)
    case = other / "case.toml"
    case.write_text(case.read_text().replace('core = "esp8266-2.4.1"', 'core = "esp8266-3.1.2"'))
    code, err = _error(capsys, "check", str(run_dir), str(other))
    assert code == 2
    assert (
        "recorded on core esp8266-3.1.2" in err
        and "twin-esp8266-2.4.1 is core esp8266-2.4.1" in err
    )


def test_a_golden_recorded_dialing_a_name_is_refused_for_a_run_by_address(
    capsys, run_dir: Path, tmp_path: Path
):
    """A name and an address take different paths (SNI, the certificate's name check):
    a run that dialed 127.0.0.1 says nothing about a recording that dialed localhost."""
    named = tmp_path / "by-name"
    shutil.copytree(AXTLS_GOLDEN, named)
    case = named / "case.toml"
    text = case.read_text()
    assert 'host = "127.0.0.1"' in text
    case.write_text(text.replace('host = "127.0.0.1"', 'host = "localhost"'))
    code, err = _error(capsys, "check", str(run_dir), str(named))
    assert code == 2
    assert "recorded dialing 'localhost', the run dialed '127.0.0.1'" in err and "fix:" in err


def test_a_golden_of_another_profile_is_refused(capsys, run_dir: Path):
    code, err = _error(
        capsys, "check", str(run_dir), str(DATA / "golden/esp8266-2.4.1/tls1.2-only")
    )
    assert code == 2 and "profile 'tls1.2-only'" in err and "--profile" in err


def test_a_directory_that_is_not_a_run_is_refused(capsys, tmp_path: Path):
    code, err = _error(capsys, "check", str(tmp_path), str(AXTLS_GOLDEN))
    assert code == 2 and "is not a run directory" in err and "fix:" in err


def test_a_golden_without_its_serial_log_is_refused(capsys, run_dir: Path, golden: Path):
    (golden / "serial.log").unlink()
    code, err = _error(capsys, "check", str(run_dir), str(golden))
    assert code == 2 and "lacks serial.log" in err


def test_a_truncated_capture_is_refused(capsys, run_dir: Path, golden: Path):
    pcap = golden / "capture.pcapng"
    data = pcap.read_bytes()
    pcap.write_bytes(data[: len(data) // 2])
    code, err = _error(capsys, "check", str(run_dir), str(golden))
    assert code == 2 and "cut short" in err and "record it again" in err


def test_a_corrupt_capture_is_refused(capsys, run_dir: Path, golden: Path):
    (golden / "capture.pcapng").write_bytes(b"this is not a capture at all\n" * 10)
    code, err = _error(capsys, "check", str(run_dir), str(golden))
    assert code == 2 and "not a pcap or pcapng file" in err


def test_recording_over_an_existing_golden_is_refused(capsys, run_dir: Path, golden: Path):
    before = sorted(p.name for p in golden.iterdir())
    code, err = _error(capsys, "record", str(run_dir), str(golden))
    assert code == 2 and "exists and is not an empty directory" in err
    assert sorted(p.name for p in golden.iterdir()) == before


def test_without_tshark_the_environment_is_at_fault(run_dir: Path, golden: Path, tmp_path: Path):
    env = {**os.environ, "PATH": str(tmp_path)}  # no tshark on it
    done = subprocess.run(
        [sys.executable, "-m", "harness.cli", "golden", "check", str(run_dir), str(golden)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 3, done.stderr
    assert "tshark" in done.stderr and "Traceback" not in done.stderr
