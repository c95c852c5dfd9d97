import json

from harness.cli import main
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
