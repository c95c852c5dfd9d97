"""The core release read from a log: the banner names it, the line formats bound it."""

from __future__ import annotations

import tomllib

import pytest

from harness.analysis.logformats import detect_stack, parse_serial
from harness.analysis.logformats.coreversion import parse_version, read_core
from harness.analysis.logformats.lines import read_pasted_log
from harness.model.cores import releases
from tests.samples import DATA

LOGS = DATA / "logs"


def _reading(text: str):
    lines = read_pasted_log(text)
    return read_core(parse_serial(lines, detect_stack(lines)))


def test_the_banner_names_the_release():
    r = _reading((LOGS / "esp8266-arduino-4826_as_pasted.log").read_text())
    assert (r.family, r.stack, r.version, r.how) == ("esp8266", "axtls", (2, 4, 1), "banner")
    assert "banner" in r.describe()


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("BSSL: Connection *will* fail, no authentication method is setup", (2, 5, 0), (2, 5, 0)),
        ("BSSL:_connectSSL: start connection", (2, 5, 1), None),
        ("BSSL:_connectSSL: start connection\nBSSL:_run_until: Timeout", (2, 6, 0), None),
        ("BSSL:connect: Name loopup failure", (2, 5, 1), (2, 7, 4)),
        ("BSSL:connect: Name lookup failure", (3, 0, 0), None),
        ("State:\tsending Client Hello (1)\nAlert: handshake failure", (2, 3, 0), (2, 4, 2)),
        ("[  2546][E][WiFiClientSecure.cpp:144] connect(): start_ssl_client: -1",
         (2, 0, 0), (2, 99)),
        ("[E][ssl_client.cpp:36] _handle_error(): [start_ssl_client():216]: (-9984) X509 - x",
         (1, 0, 5), (1, 0, 6)),
        ("[E][WiFiClientSecure.cpp:127] connect(): start_ssl_client: -1", (1, 0, 5), (1, 0, 6)),
    ],
)  # fmt: skip
def test_line_formats_bound_the_release(text, low, high):
    r = _reading(text)
    assert (r.how, r.low, r.high) == ("format", low, high)
    assert r.evidence and "not a banner" in r.describe()


def test_contradicting_marks_are_shown_not_merged():
    r = _reading(
        "[  2546][E][WiFiClientSecure.cpp:144] connect(): start_ssl_client: -1\n"
        "[E][ssl_client.cpp:36] _handle_error(): [start_ssl_client():216]: (-9984) X509 - x"
    )
    assert r.low == (2, 0, 0) and r.conflicts


def test_a_log_without_marks_tells_no_release():
    r = _reading("Connecting to server\nConnection failed!\n")
    assert not r.known and r.describe() == "no core release told"


def _full(core: str):
    v = parse_version(core)
    return v if v is not None and len(v) == 3 and core.count(".") == 2 and "-" not in core else None


INDEXED = [
    e
    for e in tomllib.loads((LOGS / "index.toml").read_text())["log"]
    if _full(e["core"]) is not None
]


@pytest.mark.parametrize("entry", INDEXED, ids=lambda e: e["file"])
def test_the_reading_never_excludes_the_release_the_thread_names(entry):
    r = _reading((LOGS / entry["file"]).read_text())
    if r.known:
        assert r.allows(_full(entry["core"])), r.describe()


def test_hil_diagnose_reads_the_core_while_it_streams():
    from harness.run.offline import diagnose_serial_log

    banner = diagnose_serial_log(LOGS / "esp8266-arduino-4826_as_pasted.log").core
    assert banner is not None and banner.version == (2, 4, 1)
    formats = diagnose_serial_log(LOGS / "esp8266-arduino-7801_bearssl_timeout.log").core
    assert formats is not None and (formats.how, formats.low) == ("format", (2, 6, 0))


@pytest.mark.parametrize(
    ("core", "case", "low", "high"),
    [
        ("esp32-3.x", "tls1.0-only", (3, 0, 0), None),
        ("esp32-3.x", "do-2016-ssl-params", (3, 0, 0), None),
        ("esp32-2.0.17", "tls1.0-only", (2, 0, 0), (2, 99)),
        ("esp32-2.0.17", "wrong-host", (2, 0, 0), (2, 99)),
    ],
)
def test_recorded_esp32_logs_read_as_their_release_line(core, case, low, high):
    """3.x prints the same `[%6u][L]` format as 2.0.x; its ssl_starttls_handshake() lines
    (and NetworkClientSecure.cpp) tell it apart, without a contradiction."""
    serial = (DATA / "golden" / core / case / "serial.log").read_text()
    r = _reading("\n".join(ln.split("\t", 1)[-1] for ln in serial.splitlines()))
    assert (r.family, r.low, r.high, r.conflicts) == ("esp32", low, high, ())
    allowed = [
        rel.id for rel in releases() if rel.family == "esp32" and r.allows(rel.version_tuple)
    ]
    assert allowed[-1] == core
