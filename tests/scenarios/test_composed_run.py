"""`hil run --board B --profile P`: the board's default sketch, end to end on the twin."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from harness.cli import main
from harness.run.golden import server_port


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


def test_one_twin_build_serves_every_profile_and_port(capsys, hil_runs_dir):
    # The twin's build of a harness sketch reads the server's port and trust at start
    # (harness/instruments/boards/twin_run_values.py): a second profile, on another
    # port and with another CA, runs the same binary, given its own values.
    run_dirs = []
    for profile, cause in (("tls1.2-only", None), ("untrusted-root", "untrusted_cert")):
        expect = ["--expect-cause", cause] if cause else []
        code, doc = _run_json(
            capsys,
            "--board",
            "twin-esp32-2.0.17",
            "--profile",
            profile,
            *expect,
            "--runs-dir",
            str(hil_runs_dir),
        )
        assert code == 0, doc["reason"]
        run_dirs.append(Path(doc["run_dir"]))
    ids = [(d / "firmware" / "build-id.txt").read_text().split()[0] for d in run_dirs]
    assert ids[0] == ids[1]
    assert "pio not run" in (run_dirs[1] / "build.log").read_text()
    values = [
        dict(line.split("=", 1) for line in (d / "twin-run-values.txt").read_text().split())
        for d in run_dirs
    ]
    assert values[0]["HIL_RUN_CA_PEM_FILE"] != values[1]["HIL_RUN_CA_PEM_FILE"]
    for d, v in zip(run_dirs, values, strict=True):
        assert v["HIL_RUN_PORT"] == str(server_port(d))
    # Started without them (by hand), the binary says which value it lacks.
    program = (run_dirs[0] / "firmware" / "build-id.txt").read_text().split()[1]
    done = subprocess.run(
        [program], capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"}
    )
    assert done.returncode == 3
    assert "HIL_RUN_CA_PEM_FILE is not set" in done.stderr
