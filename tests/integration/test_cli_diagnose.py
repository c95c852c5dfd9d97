"""`hil diagnose` on a capture (tshark), alone and with a log pasted on its own clock."""

from __future__ import annotations

import json

from harness.cli import main
from tests.samples import DATA, FOUNDING_LOG

WIRE = DATA / "wire"


def run_json(capsys, *args: str) -> dict:
    assert main(["diagnose", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_capture_alone_gives_the_cause_from_the_wire(capsys):
    doc = run_json(capsys, "--pcap", str(WIRE / "tls12_no_shared_cipher.pcapng"))
    assert (doc["cause"], doc["confidence"]) == ("no_shared_cipher", "wire only")
    assert doc["evidence"][0]["claim"].startswith(
        "The board offered 5 cipher suites: AES128-SHA256"
    )
    assert set(doc) >= {"cause", "confidence", "stack", "evidence", "fixes", "explanation"}


def test_capture_and_pasted_log_agree(capsys):
    doc = run_json(
        capsys,
        "--pcap",
        str(WIRE / "tls12_no_shared_cipher.pcapng"),
        "--keylog",
        str(WIRE / "tls12_no_shared_cipher.keylog"),
        "--serial",
        str(FOUNDING_LOG),
    )
    assert (doc["cause"], doc["confidence"], doc["stack"]) == (
        "no_shared_cipher",
        "wire and log",
        "axtls",
    )


def test_a_connection_that_worked_has_no_cause(capsys):
    doc = run_json(
        capsys,
        "--pcap",
        str(WIRE / "tls12_ok.pcapng"),
        "--port",
        (WIRE / "tls12_ok.port").read_text().strip(),
    )
    assert doc["cause"] is None


def test_a_file_that_is_no_capture_is_a_clear_error(capsys, tmp_path):
    junk = tmp_path / "junk.pcapng"
    junk.write_text("not a capture\n")
    assert main(["diagnose", "--pcap", str(junk)]) == 2
    err = capsys.readouterr().err
    assert "junk.pcapng" in err and "fix:" in err


def test_nothing_to_read_is_a_clear_error(capsys):
    assert main(["diagnose"]) == 2
    assert "--serial FILE, --pcap FILE or both" in capsys.readouterr().err
