"""The committed goldens are whole: every file of the format, a case.toml that names
its own core and profile, and a client_hello.hex that is one ClientHello record."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.analysis.golden.capture import split_records
from harness.analysis.golden.records import view
from harness.instruments.servers.profiles import list_profiles
from harness.run.golden import load_case
from tests.samples import DATA

ROOT = DATA / "golden"
FILES = {
    "capture.pcapng",
    "keylog.txt",
    "serial.log",
    "client_hello.hex",
    "server.log",
    "case.toml",
    "PROVENANCE.md",
}
GOLDENS = sorted(p for p in ROOT.glob("*/*") if p.is_dir())
PCAPNG_MAGIC = bytes.fromhex("0a0d0d0a")


def test_there_are_goldens():
    assert len(GOLDENS) >= 30


@pytest.mark.parametrize("golden", GOLDENS, ids=[f"{g.parent.name}/{g.name}" for g in GOLDENS])
def test_a_golden_is_whole(golden: Path):
    assert {p.name for p in golden.iterdir()} == FILES
    case = load_case(golden)
    assert case["core"] == golden.parent.name
    assert golden.name.split("--")[0] == case["profile"]
    assert case["profile"] in list_profiles()
    assert (golden / "capture.pcapng").read_bytes()[:4] == PCAPNG_MAGIC
    hello = bytes.fromhex((golden / "client_hello.hex").read_text().strip())
    if not hello:  # a case that fails before any packet (e.g. ESP32 with no trust method)
        assert case.get("connected") is False
        return
    records, rest = split_records(hello)
    assert len(records) == 1 and rest == b""
    assert view(records[0], str).kind == "client_hello"
