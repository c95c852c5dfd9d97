"""twin-esp32-3.x (arduino-esp32 3.x on mbedTLS 3) against twelve profiles, each ending
as the real stack's recording of that profile ended (tests/data/golden/esp32-3.x), and
what 3.x changed from 2.0.17 as recorded for both.

One agent build serves every profile (harness/run/agent.py): about 40 s for the build
when the cache is cold, then a few seconds per profile. The agent dials `localhost`, so
each profile's outcome is that of its `--dnsname` recording where there is one.
"""

from __future__ import annotations

import json
import re
import tomllib

import pytest

from harness.model.cores import releases
from harness.model.matrix import CellOutcome, MatrixCell
from harness.run.matrix import resolve, run_matrix
from harness.run.runner import BenchConfig
from tests.samples import DATA

BOARD = "twin-esp32-3.x"
GOLDEN = DATA / "golden"
PROFILES = [
    "mozilla-intermediate",
    "ecdsa-p256",
    "expired",
    "rsa-4096",
    "self-signed",
    "sha1-intermediate",
    "static-rsa-only",
    "tls1.0-only",
    "wrong-host",
    "mozilla-modern",
    "client-cert-required",
    "tls1.2-only",
]
CONNECT_FAILED = re.compile(
    r"\[NetworkClientSecure\.cpp:\d+\] connect\(\): start_ssl_client: connect failed: (-?\d+)$"
)


def _recording(core: str, profile: str) -> dict:
    """The case a profile run by name compares with: its --dnsname recording, else the
    recording by IP literal (a server that fails before any certificate check)."""
    for case in (f"{profile}--dnsname", profile):
        path = GOLDEN / core / case / "case.toml"
        if path.is_file():
            return tomllib.loads(path.read_text())
    raise AssertionError(f"no recording of {profile} for {core} in {GOLDEN}")


@pytest.fixture(scope="module")
def cells(tmp_path_factory: pytest.TempPathFactory) -> dict[str, MatrixCell]:
    config = BenchConfig(runs_dir=tmp_path_factory.mktemp("esp32-3x") / "runs")
    matrix = run_matrix(resolve([], [BOARD], PROFILES, config, agent=True, workers=1), config)
    return {c.profile: c for c in matrix.cells}


def _serial(cell: MatrixCell) -> list[str]:
    assert cell.run_dir is not None
    return [ln.split("\t", 1)[-1] for ln in (cell.run_dir / "serial.log").read_text().splitlines()]


def _client_hello(cell: MatrixCell) -> dict:
    assert cell.run_dir is not None
    events = json.loads((cell.run_dir / "verdict.json").read_text())["timeline"]
    (hello,) = [e["fields"] for e in events if e["kind"] == "client_hello"]
    return hello


@pytest.mark.parametrize("profile", PROFILES)
def test_each_profile_ends_as_the_3x_recording(profile: str, cells: dict[str, MatrixCell]):
    cell = cells[profile]
    assert cell.outcome is not CellOutcome.ERROR, cell.error
    recorded = _recording("esp32-3.x", profile)
    assert (cell.outcome is CellOutcome.CONNECTED) == recorded["connected"], (profile, cell.cause)
    codes = [m.group(1) for ln in _serial(cell) if (m := CONNECT_FAILED.search(ln))]
    if recorded["connected"]:
        assert codes == []
    else:
        # The mbedTLS error the recording's lastError names, e.g. "-9984: X509 - ...".
        assert codes == [recorded["last_error"].split(":")[0]]


def test_tls_1_0_connected_on_2_0_17_and_fails_on_3x(cells: dict[str, MatrixCell]):
    """mbedTLS 3 has no TLS 1.0/1.1: recorded on both cores against the same server."""
    assert _recording("esp32-2.0.17", "tls1.0-only")["connected"] is True
    cell = cells["tls1.0-only"]
    assert cell.outcome is CellOutcome.FAILED and cell.cause == "protocol_version"
    assert any(
        "(-28288) SSL - Handshake protocol not within min/max boundaries" in ln
        for ln in _serial(cell)
    )


def test_the_3x_hello_offers_tls_1_2_only_and_no_dhe(cells: dict[str, MatrixCell]):
    by_id = {r.id: r for r in releases()}
    hello = _client_hello(cells["tls1.2-only"])
    # 2.0.17 (mbedTLS 2.28) wrote its hello in a TLS 1.0 record (its minimum version);
    # mbedTLS 3 writes TLS 1.2 in both places.
    two = bytes.fromhex((GOLDEN / "esp32-2.0.17/tls1.2-only/client_hello.hex").read_text())
    assert two[1:3] == b"\x03\x01"
    assert (hello["record_version"], hello["version"]) == (0x0303, 0x0303)
    assert hello["suites"] == [*by_id["esp32-3.x"].tls.default_suites, 0x00FF]
    dhe_rsa = {0x009F, 0x009E, 0x0039, 0x0033, 0x006B, 0x0067}
    assert dhe_rsa <= set(by_id["esp32-2.0.17"].tls.default_suites)
    assert not dhe_rsa & set(hello["suites"])
    # supported_groups before signature_algorithms, as recorded (2.0.17: the other way).
    assert hello["extensions"] == list(by_id["esp32-3.x"].tls.extensions)
    assert hello["extensions"] != list(by_id["esp32-2.0.17"].tls.extensions)


def test_the_3x_log_lines_name_the_split_handshake(cells: dict[str, MatrixCell]):
    serial = _serial(cells["wrong-host"])
    assert any(
        ln.endswith(
            "[E][ssl_client.cpp:35] _handle_error(): [ssl_starttls_handshake():297]: (-9984) "
            "X509 - Certificate verification failed, e.g. CRL, CA or signature check failed"
        )
        for ln in serial
    )
    assert any(ln.endswith("start_ssl_client(): Starting socket (domain 2)") for ln in serial)
    # 3.x's send_ssl_data writes without a log line (2.0.17 printed "Writing HTTP request").
    assert not any("Writing HTTP request" in ln for ln in _serial(cells["tls1.2-only"]))
