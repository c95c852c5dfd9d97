"""`hil run --board B --profile P`: the board's default sketch, end to end on the twin."""

from __future__ import annotations

import json

import pytest

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


# The BearSSL and arduino-esp32 defaults, on one core each: a profile that connects (by
# the name `localhost`, the certificate's dNSName SAN) and one whose self-signed
# certificate the profile's CA does not sign. The failures are the recorded ones:
# tests/data/golden/esp8266-3.1.2/self-signed (BearSSL error 62) and
# esp32-2.0.17/self-signed--dnsname (mbedTLS -9984).
@pytest.mark.parametrize(
    ("board", "sketch", "profile", "cause"),
    [
        ("twin-esp8266-3.1.2", "https_get_esp8266_bearssl", "mozilla-intermediate", None),
        ("twin-esp8266-3.1.2", "https_get_esp8266_bearssl", "self-signed", "untrusted_cert"),
        ("twin-esp32-2.0.17", "https_get_esp32", "mozilla-intermediate", None),
        ("twin-esp32-2.0.17", "https_get_esp32", "self-signed", "untrusted_cert"),
    ],
)
def test_the_family_default_sketch_connects_or_fails_with_its_cause(
    capsys, hil_runs_dir, board, sketch, profile, cause
):
    expect = ["--expect-cause", cause] if cause else []
    code, doc = _run_json(
        capsys,
        "--board",
        board,
        "--profile",
        profile,
        *expect,
        "--runs-dir",
        str(hil_runs_dir),
    )
    assert code == 0, doc["reason"]
    assert doc["scenario"] == f"{board}--{profile}--{sketch}"
    assert doc["observed"] == {"connected": cause is None, "cause": cause}
    serial = [e["text"] for e in doc["timeline"] if e["source"] == "serial"]
    if cause is None:
        assert "status: HTTP/1.1 200 OK" in serial
        assert "HIL:DONE connected=1 verified=1" in serial
    else:
        assert "HIL:DONE connected=0 verified=0" in serial
