"""The twin `twin-esp8266-axtls` against the builtin server, compared with what the real
axTLS did in the same cases: recordings of igrr/axtls-8266 24af415 built for the host and
driven as ESP8266 core 2.4.1 drives it (the esp8266-2.4.1 set: <case>/client_hello.hex,
capture.pcapng, serial.log). The facts taken from each recording are stated below with
its name. The run goes through the harness (PlatformIO build, pty serial, dumpcap); the
wire is read back with tshark.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from harness.instruments import procs
from harness.run.runner import BenchConfig, run_scenario
from harness.run.scenarios import load_scenario
from tests.samples import (
    AXTLS_HELLO_SNI_HEAD,
    AXTLS_HELLO_SNI_TAIL,
    REPORT_LINES,
    axtls_alert_lines,
    axtls_handshake_lines,
)

HELLO_HEAD = AXTLS_HELLO_SNI_HEAD.hex()
HELLO_TAIL = AXTLS_HELLO_SNI_TAIL.hex()
STATES_OK = axtls_handshake_lines([])


@dataclass(frozen=True)
class Recorded:
    profile: str
    clock: bool  # the sketch set the clock (configTime) first
    # Serial lines from "Connecting to 127.0.0.1" to "HIL:DONE ...", certificate dumps
    # left out (lines of x509_print), in order.
    lines: list[str]
    # The client's records (type, version, length) after the ClientHello; a tuple of
    # choices where the recording set shows a race (alert before or after the FIN).
    records: list[tuple[int, int, int]] = field(default_factory=list)
    alert_race: bool = False


CASES = {
    # Founding report: clock unset, alert 40; the recording has the client's alert 10,
    # others of the set (mozilla-intermediate, ecdsa-p256) show it lost to the FIN.
    "do-2016-ssl-params": Recorded(
        "do-2016-ssl-params",
        clock=False,
        lines=[*REPORT_LINES, "HIL:DONE connected=0 verified=0"],
        records=[(21, 0x0303, 2)],
        alert_race=True,
    ),
    # mozilla-modern: TLS 1.3 only; OpenSSL's protocol_version alert prints as
    # "invalid version" (recording mozilla-modern).
    "mozilla-modern": Recorded(
        "mozilla-modern",
        clock=True,
        lines=[
            *axtls_alert_lines("invalid version", 70),
            "Connection failed",
            "HIL:DONE connected=0 verified=0",
        ],
        records=[(21, 0x0303, 2)],
        alert_race=True,
    ),
    # tls1.0-only: TLS 1.0 with AES256-SHA; records carry 0x0301 after the ServerHello;
    # no explicit IV: Finished 48, the request 112 (recording tls1.0-only).
    "tls1.0-only": Recorded(
        "tls1.0-only",
        clock=True,
        lines=[
            *STATES_OK,
            "Server certificate verified",
            "request sent",
            "status: HTTP/1.1 200 OK",
            "HIL:DONE connected=1 verified=1",
        ],
        records=[(22, 0x0301, 262), (20, 0x0301, 1), (22, 0x0301, 48), (23, 0x0301, 112)],
    ),
    # expired: the leaf expired, the intermediate fine; ssl_verify_cert dumps the chain
    # with a Verify line for each (recording expired).
    "expired": Recorded(
        "expired",
        clock=True,
        lines=[
            *STATES_OK,
            "Verify:\t\t\t\tCert has expired",
            "Verify:\t\t\t\tCertificate verify successful",
            "Error: Cert has expired",
            "ERROR: certificate verification failed!",
            "request sent",
            "status: HTTP/1.1 200 OK",
            "HIL:DONE connected=1 verified=0",
        ],
        records=[(22, 0x0303, 262), (20, 0x0303, 1), (22, 0x0303, 80), (23, 0x0303, 128)],
    ),
    # large-records: a 16384-byte record grows axTLS's buffer (recording large-records).
    "large-records": Recorded(
        "large-records",
        clock=True,
        lines=[
            *STATES_OK,
            "Server certificate verified",
            "request sent",
            "ssl->need_bytes=16448 > 6859",
            "status: HTTP/1.1 200 OK",
            "HIL:DONE connected=1 verified=1",
        ],
        records=[(22, 0x0303, 262), (20, 0x0303, 1), (22, 0x0303, 80), (23, 0x0303, 128)],
    ),
}

DUMP_PREFIXES = (
    "=== CERTIFICATE ISSUED",
    "Common Name (CN):",
    "Organization (O):",
    "Organizational Unit (OU):",
    "Location (L):",
    "Country (C):",
    "State (ST):",
    "Basic Constraints:",
    "Key Usage:",
    "Subject Alt Name:",
    "Not Before:",
    "Not After:",
    "RSA bitsize:",
    "Sig Type:",
)


def serial_lines(run_dir: Path) -> list[str]:
    text = (run_dir / "serial.log").read_text(errors="replace")
    return [ln.split("\t", 1)[1] if "\t" in ln else ln for ln in text.splitlines()]


@dataclass(frozen=True)
class Segment:
    from_client: bool
    flags: str
    records: list[tuple[int, int, int]]
    payload: str


def client_connection(run_dir: Path) -> list[Segment]:
    """The segments of the connection that carried the ClientHello, in order."""
    out = procs.run(
        [
            "tshark", "-r", str(run_dir / "capture.pcapng"), "-T", "fields",
            "-e", "tcp.srcport", "-e", "tcp.dstport", "-e", "tcp.flags.str",
            "-e", "tls.record.content_type", "-e", "tls.record.version",
            "-e", "tls.record.length", "-e", "tls.handshake.type", "-e", "tcp.payload",
        ],
        timeout=120,
        log_path=run_dir / "test-tshark.log",
    ).check("tshark on the run's capture", "look at the log")  # fmt: skip
    rows = [ln.split("\t") for ln in out.output.splitlines() if ln.count("\t") == 7]
    client = next(r[0] for r in rows if r[6].split(",")[0] == "1")
    segments = []
    for src, dst, flags, types, versions, lengths, _hs, payload in rows:
        if client not in (src, dst):
            continue
        records = []
        if types:
            records = [
                (int(t), int(v, 16), int(n))
                for t, v, n in zip(
                    types.split(","), versions.split(","), lengths.split(","), strict=True
                )
            ]
        segments.append(Segment(src == client, flags.replace("\u00b7", ""), records, payload))
    return segments


@pytest.fixture
def run_case(hil_bench: BenchConfig, tmp_path: Path):
    def run(name: str, case: Recorded) -> Path:
        (tmp_path / f"{name}.toml").write_text(
            f'description = "the recording {name} of the real axTLS, on the twin"\n'
            'source = "esp8266-2.4.1 recordings of igrr/axtls-8266 24af415"\n'
            'sketch = "founding_report"\nboard = "twin-esp8266-axtls"\n'
            f'profile = "{case.profile}"\nbackend = "builtin"\n'
            f"[expect]\nconnected = {'false' if 'connected=0' in case.lines[-1] else 'true'}\n"
            "[defines]\n"
            f'HIL_SET_CLOCK = "{1 if case.clock else 0}"\n'
        )
        record = run_scenario(load_scenario(name, tmp_path), hil_bench)
        assert (record.run_dir / "serial.log").is_file(), record.verdict.reason
        return record.run_dir

    return run


@pytest.mark.parametrize("name", list(CASES))
def test_twin_does_what_the_recording_shows(run_case, name: str) -> None:
    case = CASES[name]
    run_dir = run_case(name, case)

    lines = serial_lines(run_dir)
    start = lines.index("Connecting to 127.0.0.1")
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("HIL:DONE"))
    shown = [ln for ln in lines[start + 1 : end + 1] if not ln.startswith(DUMP_PREFIXES)]
    assert shown == case.lines

    segments = client_connection(run_dir)
    hello = next(s for s in segments if s.from_client and s.records).payload.replace(":", "")
    assert hello[:22] == HELLO_HEAD and hello[86:] == HELLO_TAIL
    time_field = int(hello[22:30], 16)
    assert (time_field == 0) is not case.clock  # time(NULL): 0 until SNTP set the clock

    sent = [r for s in segments if s.from_client for r in s.records][1:]
    if case.alert_race:
        assert sent in ([], case.records)
    else:
        assert sent == case.records
    # The board never sends a close_notify (21 with 2 bytes plain would be 0x0303,2; an
    # encrypted one longer): no alert record at all after its last expected record.
    assert not [r for r in sent[len(case.records) :] if r[0] == 21]
    # How it ends: after a failed handshake the board keeps the connection until the
    # server's FIN, answered with a RST; after stop() a FIN (nothing unread) or a RST.
    flags = [s.flags for s in segments if s.from_client and ("F" in s.flags or "R" in s.flags)]
    if "connected=0" in case.lines[-1]:
        assert flags and all("F" not in f for f in flags) and "R" in flags[-1]
    else:
        assert flags
