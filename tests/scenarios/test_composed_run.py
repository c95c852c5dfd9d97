"""`hil run --board B --profile P`: the board's default sketch, end to end on the twin."""

from __future__ import annotations

import json

from harness.cli import main


def _run_json(capsys, *args: str) -> tuple[int, dict]:
    code = main(["run", *args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_default_https_get_connects_and_verifies(capsys, hil_runs_dir):
    code, doc = _run_json(
        capsys,
        "--board",
        "twin-esp8266-axtls",
        "--profile",
        "do-2016-ssl-params-fixed",
        "--runs-dir",
        str(hil_runs_dir),
    )
    assert code == 0, doc["reason"]
    assert (
        doc["scenario"] == "twin-esp8266-axtls--do-2016-ssl-params-fixed--https_get_esp8266_axtls"
    )
    assert (doc["verdict"], doc["observed"]) == ("pass", {"connected": True, "cause": None})
    serial = [e["text"] for e in doc["timeline"] if e["source"] == "serial"]
    assert "Server certificate verified" in serial
    assert "status: HTTP/1.1 200 OK" in serial


def test_an_expected_cause_is_judged_like_a_scenario_files(capsys, hil_runs_dir):
    code, doc = _run_json(
        capsys,
        "--board",
        "twin-esp8266-axtls",
        "--profile",
        "do-2016-ssl-params",
        "--expect-cause",
        "no_shared_cipher",
        "--runs-dir",
        str(hil_runs_dir),
    )
    assert code == 0, doc["reason"]
    assert doc["expected"] == {"connected": False, "cause": "no_shared_cipher"}
    assert doc["observed"]["cause"] == "no_shared_cipher"
