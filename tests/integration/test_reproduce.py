"""`hil reproduce` end to end: pasted logs from public issues run on the twin of their core,
against the server their diagnosis and content call for, reach the same cause."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.run.reproduce import render_text, reproduce_log
from harness.run.runner import BenchConfig
from tests.integration.hilcli import hil
from tests.samples import DATA

LOGS = DATA / "logs"


@pytest.fixture
def config(tmp_path: Path) -> BenchConfig:
    return BenchConfig(runs_dir=tmp_path / "runs")


def test_the_founding_report_as_pasted_reproduces_on_core_2_4_1(tmp_path):
    done = hil(
        "reproduce",
        "--serial",
        str(LOGS / "esp8266-arduino-4826_as_pasted.log"),
        "--json",
        "--runs-dir",
        str(tmp_path / "runs"),
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)  # one object
    assert out["reproduced"] is True
    assert out["plan"]["board"] == "twin-esp8266-2.4.1"
    assert out["plan"]["profile"] == "do-2016-ssl-params"
    assert out["log_diagnosis"]["cause"] == out["twin_diagnosis"]["cause"] == "no_shared_cipher"
    # The twin prints the report's own lines: the dump, the ClientHello, the three alerts.
    assert out["comparison"]["similarity"] >= 0.8
    same = [row for row in out["comparison"]["rows"] if row[1] == "="]
    assert ["Alert: handshake failure", "=", "Alert: handshake failure"] in same
    assert Path(out["run_dir"], "serial.log").is_file()


@pytest.mark.parametrize(
    ("log", "board", "cause"),
    [
        ("esp8266-arduino-7843_bearssl_no_auth.log", "twin-esp8266-3.1.2", "no_trust_method"),
        (
            "arduino-esp32-5070_start_ssl_client_minus1_no_ca.log",
            "twin-esp32-1.0.6",
            "no_trust_method",
        ),
        # An untrusted chain: the twin dials the name its certificate carries (not
        # hostname_mismatch, as by the IP literal).
        ("arduino-esp32-5480_x509_verify_failed.log", "twin-esp32-1.0.6", "untrusted_cert"),
    ],
)
def test_a_bearssl_and_an_esp32_log_reproduce(config, log, board, cause):
    r = reproduce_log(LOGS / log, config)
    assert r.plan.board == board
    assert r.log_diagnosis.cause == cause
    assert r.reproduced and r.twin_diagnosis.cause == cause
    text = render_text(r)
    assert "Reproduced: yes" in text and str(r.record.run_dir) in text


def test_a_log_with_nothing_to_go_on_is_refused_before_any_run(tmp_path):
    log = tmp_path / "empty.log"
    log.write_bytes(b"")
    done = hil("reproduce", "--serial", str(log), "--runs-dir", str(tmp_path / "runs"))
    assert done.returncode == 2
    assert "does not tell which board or core" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
