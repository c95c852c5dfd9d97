"""The host twin `twin-esp8266-axtls`, built by PlatformIO through the `hil-twin` dev
platform and run against a real Python `ssl` (OpenSSL) server on 127.0.0.1.

What the board prints on its Serial (a pty read with pyserial, as the harness reads
it) and what it puts on the wire (the server keeps every raw byte the client sent)
must be what ESP8266 core 2.4.1's axTLS does: see harness/twin/FIDELITY-esp8266-axtls.md.
"""

from __future__ import annotations

import os
import re
import struct
import time
import tty
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import serial

from harness.instruments import procs
from harness.instruments.boards import get_board_spec
from harness.instruments.boards.base import BuildRequest, Firmware
from harness.instruments.boards.twin import TwinBoard
from harness.instruments.certs import CertBundle, get_plan, make_certs
from tests.integration.oneshot_tls import OneShotTlsServer, tls_server
from tests.samples import (
    AXTLS_HELLO_SNI_HEAD,
    AXTLS_HELLO_SNI_TAIL,
    AXTLS_OFFER,
    REPORT_LINES,
    axtls_handshake_lines,
)

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
SKETCH_DIR = REPO / "sketches" / "founding_report"
ENV_NAME = "twin-esp8266-axtls"

FOUNDING_CIPHERS = "EECDH+AESGCM:EDH+AESGCM:AES256+EECDH:AES256+EDH"

RUN_DEADLINE = 30.0  # seconds from the twin's start to its HIL:DONE line


# --- certificates: the harness's own plans ----------------------------------------------


def _certs(plan: str, where: Path) -> CertBundle:
    return make_certs(get_plan(plan), "127.0.0.1", where / "certs", where / "keys")


@pytest.fixture(scope="module")
def cert_2118(tmp_path_factory: pytest.TempPathFactory) -> CertBundle:
    """The founding report's: `openssl req -x509 -days 36500` of 2018-06-11, RSA-2048,
    self-signed, CA:TRUE, no SAN; notAfter 2118 wraps on a 32-bit time_t."""
    return _certs("founding-report", tmp_path_factory.mktemp("cert2118"))


@pytest.fixture(scope="module")
def cert_now(tmp_path_factory: pytest.TempPathFactory) -> CertBundle:
    """The same shape, valid now and ending before 2038-01-19: the one axTLS can verify."""
    return _certs("founding-report-fixed", tmp_path_factory.mktemp("certnow"))


# --- building the sketch for the twin -----------------------------------------------------


@dataclass
class TwinBuilder:
    """Builds sketches/founding_report for the twin with the harness's own adapter
    (TwinBoard.build: a generated platformio.ini, `pio run`, the build cache)."""

    root: Path

    def build(
        self, *, host: str, port: int, set_clock: bool, cert: CertBundle, run_dir: Path
    ) -> Firmware:
        header = (
            "#pragma once\n"
            '#define HIL_SCENARIO "founding-report"\n'
            '#define HIL_WIFI_SSID "hil-bench"\n'
            '#define HIL_WIFI_PASSWORD "hil-bench"\n'
            f'#define HIL_SERVER_HOST "{host}"\n'
            f"#define HIL_SERVER_PORT {port}\n"
            f"#define HIL_SET_CLOCK {1 if set_clock else 0}\n"
            '#include "hil_ca_cert.h"\n'
        )
        request = BuildRequest(SKETCH_DIR, header, {"hil_ca_cert.h": cert.header.read_bytes()})
        # A run dir per test: a later build must not replace a binary under a running test.
        with TwinBoard(get_board_spec(ENV_NAME), cache_dir=self.root, run_dir=run_dir) as board:
            firmware = board.build(request, log_path=self.root / "build.log")
        assert firmware.path.is_file(), f"no program at {firmware.path}"
        return firmware


@pytest.fixture(scope="module")
def builder(tmp_path_factory: pytest.TempPathFactory) -> TwinBuilder:
    return TwinBuilder(tmp_path_factory.mktemp("twin"))


# --- the wire: the ClientHello as sent --------------------------------------------------


@dataclass(frozen=True)
class ClientHello:
    record_version: int
    client_version: int
    random: bytes
    session_id: bytes
    suites: list[int]
    compressions: bytes
    extensions: list[tuple[int, bytes]]

    def ext(self, ext_type: int) -> bytes | None:
        return next((data for t, data in self.extensions if t == ext_type), None)

    @property
    def sni(self) -> str | None:
        data = self.ext(0)
        if data is None:
            return None
        (name_len,) = struct.unpack(">H", data[3:5])
        return data[5 : 5 + name_len].decode()


def parse_client_hello(raw: bytes) -> ClientHello:
    assert raw[0] == 22, f"first record is not a handshake: {raw[:5].hex()}"
    record_version, rec_len = struct.unpack(">HH", raw[1:5])
    body = raw[5 : 5 + rec_len]
    assert body[0] == 1, "first handshake message is not a ClientHello"
    msg = body[4 : 4 + int.from_bytes(body[1:4], "big")]
    client_version = struct.unpack(">H", msg[0:2])[0]
    random = msg[2:34]
    pos = 34
    session_id = msg[pos + 1 : pos + 1 + msg[pos]]
    pos += 1 + msg[pos]
    (suites_len,) = struct.unpack(">H", msg[pos : pos + 2])
    suites = [
        struct.unpack(">H", msg[i : i + 2])[0] for i in range(pos + 2, pos + 2 + suites_len, 2)
    ]
    pos += 2 + suites_len
    compressions = msg[pos + 1 : pos + 1 + msg[pos]]
    pos += 1 + msg[pos]
    extensions = []
    if pos < len(msg):
        (ext_total,) = struct.unpack(">H", msg[pos : pos + 2])
        pos += 2
        end = pos + ext_total
        while pos < end:
            ext_type, ext_len = struct.unpack(">HH", msg[pos : pos + 4])
            extensions.append((ext_type, bytes(msg[pos + 4 : pos + 4 + ext_len])))
            pos += 4 + ext_len
    return ClientHello(
        record_version, client_version, bytes(random), bytes(session_id), suites,
        bytes(compressions), extensions,
    )  # fmt: skip


# --- running the twin on a pty, as the harness does -------------------------------------


@dataclass(frozen=True)
class TwinRun:
    text: str
    lines: list[str]
    returncode: int | None

    def between(self, first: str, last: str) -> list[str]:
        """The lines after the one equal to `first`, up to and including `last`."""
        start = self.lines.index(first)
        end = self.lines.index(last, start)
        return self.lines[start + 1 : end + 1]


@contextmanager
def serial_pty() -> Iterator[tuple[int, serial.Serial]]:
    master, slave = os.openpty()
    tty.setraw(slave)
    port = serial.Serial(os.ttyname(slave), 115200, timeout=0.1)
    os.close(slave)
    try:
        yield master, port
    finally:
        port.close()
        os.close(master)


def read_until_done(port: serial.Serial, deadline: float) -> bytes:
    buf = bytearray()
    while time.monotonic() < deadline:
        try:
            chunk = port.read(4096)
        except serial.SerialException:
            break  # the twin exited and closed its end
        buf += chunk
        if re.search(rb"HIL:DONE[^\n]*\n", buf):
            return bytes(buf)
    tail = bytes(buf[-600:]).decode(errors="replace")
    raise AssertionError(f"no HIL:DONE line within {RUN_DEADLINE:.0f} s; serial tail:\n{tail}")


def run_twin(
    program: Path,
    log_dir: Path,
    *,
    env: dict[str, str] | None = None,
    prefix: list[str] | None = None,
    while_running: Callable[[procs.ManagedProcess], None] | None = None,
) -> TwinRun:
    with serial_pty() as (master, port):
        twin = procs.ManagedProcess(
            "twin", [*(prefix or []), str(program)], log_path=log_dir / "twin.log"
        )
        try:
            twin.start(env={"HIL_SERIAL_FD": str(master), **(env or {})}, pass_fds=[master])
            raw = read_until_done(port, time.monotonic() + RUN_DEADLINE)
            if while_running is not None:
                while_running(twin)
            # A board keeps running after its sketch is done; it must still be alive.
            assert twin.alive(), "the twin exited after HIL:DONE instead of idling in loop()"
        finally:
            rc = twin.stop(grace=3.0)
    # SIGTERM (what the harness sends for a reset) ends the board at once, cleanly.
    assert rc == 0, f"the twin did not exit on SIGTERM (exit status {rc})"
    text = raw.decode(errors="replace")
    return TwinRun(text, [ln.rstrip("\r") for ln in text.split("\n")], rc)


def against_server(
    builder: TwinBuilder, cert: CertBundle, ciphers: str, *, set_clock: bool, run_dir: Path
) -> tuple[OneShotTlsServer, Firmware, TwinRun]:
    """Build the sketch for a one-shot server with `ciphers`, run the twin against it once."""
    with tls_server(cert, ciphers) as server:
        firmware = builder.build(
            host="127.0.0.1", port=server.port, set_clock=set_clock, cert=cert, run_dir=run_dir
        )
        server.start()
        # The board lives on after HIL:DONE: the server's last word (its FIN) and the
        # board's answer to it happen while it runs, so wait for the server first.
        run = run_twin(firmware.path, run_dir, while_running=lambda _twin: server.finish())
        server.stop()
    return server, firmware, run


# --- the tests --------------------------------------------------------------------------

CERT_DUMP_2118 = [
    "=== CERTIFICATE ISSUED TO ===",
    "Common Name (CN):\t\t127.0.0.1",
    "Organization (O):\t\tBestMe CO.",
    "Organizational Unit (OU):\tMIS",
    "Location (L):\t\t\tTokyo",
    "Country (C):\t\t\tJP",
    "State (ST):\t\t\tJapan",
    "Basic Constraints:\t\tcritical, CA:TRUE, pathlen:10000",
    "=== CERTIFICATE ISSUED BY ===",
    "Common Name (CN):\t\t127.0.0.1",
    "Organization (O):\t\tBestMe CO.",
    "Organizational Unit (OU):\tMIS",
    "Location (L):\t\t\tTokyo",
    "Country (C):\t\t\tJP",
    "State (ST):\t\t\tJapan",
    "Not Before:\t\t\tMon Jun 11 10:30:37 2018",
    "Not After:\t\t\tSun Apr 11 04:02:21 1982",
    "RSA bitsize:\t\t\t2048",
    "Sig Type:\t\t\tSHA256",
    "CA Cert set",
]

ALERT_RECORD_UNEXPECTED_MESSAGE = bytes.fromhex("1503030002020a")  # fatal, 10


def client_hello_bytes(raw: bytes) -> bytes:
    return raw[: 5 + int.from_bytes(raw[3:5], "big")]


def cert_dump(run: TwinRun) -> list[str]:
    """The dump of the one certificate of these tests, as setCACert printed it."""
    return run.between(".Set CA Cert", "CA Cert set")[:-1]


def test_founding_report_no_shared_cipher(
    builder: TwinBuilder, cert_2118: CertBundle, tmp_path: Path
) -> None:
    server, firmware, run = against_server(
        builder, cert_2118, FOUNDING_CIPHERS, set_clock=False, run_dir=tmp_path
    )

    # Serial: the report's log, line for line, in its order.
    assert run.lines[1] == f"HIL:BOOT build={firmware.build_id}"
    assert run.lines[2] == ".Set CA Cert"  # one dot from the WiFi loop, as in the report
    assert run.between(".Set CA Cert", "CA Cert set") == CERT_DUMP_2118
    assert run.between("Connecting to 127.0.0.1", "Connection failed") == REPORT_LINES
    assert "HIL:DONE connected=0 verified=0" in run.lines

    # Wire, board -> server: the axTLS ClientHello, byte for byte but the random.
    raw = client_hello_bytes(bytes(server.client_bytes))
    assert raw[:11] == AXTLS_HELLO_SNI_HEAD
    assert raw[11 + 32 :] == AXTLS_HELLO_SNI_TAIL
    hello = parse_client_hello(raw)
    assert hello.suites == AXTLS_OFFER
    assert server.sni == "127.0.0.1"
    # time(NULL) in the first 4 bytes: 0 on core 2.4.x until SNTP set the clock.
    assert hello.random[:4] == bytes(4)
    assert len(set(hello.random[4:])) > 8  # the rest is random

    # Server -> board: no shared cipher, answered with the fatal handshake_failure.
    assert server.error is not None and "NO_SHARED_CIPHER" in server.error
    # Board -> server after that alert: its own fatal unexpected_message, and nothing
    # else: ssl_free's close_notify finds the socket already detached.
    assert server.failed_at is not None and server.fin_at is not None
    assert bytes(server.client_bytes[server.failed_at : server.fin_at]) == (
        ALERT_RECORD_UNEXPECTED_MESSAGE
    )
    # The board never closes that connection itself; lwIP answers the server's FIN
    # with a RST (ClientContext::_recv -> abort()).
    assert server.client_bytes[server.fin_at :] == b""
    assert server.got_rst and not server.got_eof


def test_aes128_sha256_connects_and_verifies(
    builder: TwinBuilder, cert_now: CertBundle, tmp_path: Path
) -> None:
    before = int(time.time())
    server, _firmware, run = against_server(
        builder, cert_now, FOUNDING_CIPHERS + ":AES128-SHA256", set_clock=True, run_dir=tmp_path
    )

    assert server.error is None
    assert server.cipher == "AES128-SHA256"  # 0x003c, the board's first choice
    assert server.version == "TLSv1.2"
    hello = parse_client_hello(bytes(server.client_bytes))
    assert hello.suites == AXTLS_OFFER
    # time(NULL), the wall clock once SNTP set it, in the first 4 bytes.
    assert before <= struct.unpack(">I", hello.random[:4])[0] <= int(time.time())
    # The server's certificate is dumped (SSL_DISPLAY_CERTS) as it arrives.
    assert run.between("Connecting to 127.0.0.1", "Server certificate verified") == [
        *axtls_handshake_lines(cert_dump(run)),
        "Server certificate verified",
    ]
    assert server.request.startswith(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    # stop(): the socket is detached and closed; no close_notify, nothing printed.
    assert run.between("request sent", "HIL:DONE connected=1 verified=1") == [
        "status: HTTP/1.1 200 OK",
        "HIL:DONE connected=1 verified=1",
    ]
    assert not server.got_close_notify
    # Nothing was left unread when it closed: lwIP's tcp_close sends a FIN.
    assert server.got_eof and not server.got_rst


def test_2118_certificate_with_clock_set_has_expired(
    builder: TwinBuilder, cert_2118: CertBundle, tmp_path: Path
) -> None:
    server, _firmware, run = against_server(
        builder, cert_2118, FOUNDING_CIPHERS + ":AES128-SHA256", set_clock=True, run_dir=tmp_path
    )

    assert server.cipher == "AES128-SHA256"
    # notAfter 2118 wrapped to 1982 on the 32-bit time_t: "expired" with SNTP time.
    # ssl_verify_cert prints the chain with x509_verify's verdict for each, then the
    # core prints the error (as in the recording esp8266-2.4.1/expired).
    assert run.between("State:\treceiving Finished (16)", "HIL:DONE connected=1 verified=0") == [
        *CERT_DUMP_2118[:-1],
        "Verify:\t\t\t\tCert has expired",
        "Error: Cert has expired",
        "ERROR: certificate verification failed!",
        "request sent",
        "status: HTTP/1.1 200 OK",
        "HIL:DONE connected=1 verified=0",
    ]


def _tcp_active_opens(pid: int) -> int:
    """Tcp ActiveOpens of the network namespace `pid` lives in: one per SYN it sent."""
    lines = Path(f"/proc/{pid}/net/snmp").read_text().splitlines()
    tcp = [ln.split() for ln in lines if ln.startswith("Tcp:")]
    return int(tcp[1][tcp[0].index("ActiveOpens")])


# The twin alone in a fresh network namespace with only `lo`, where 192.168.1.0/24 is
# routed to `lo`: a connect() there would send a SYN (counted) that can never leave.
ISOLATED = [
    "unshare",
    "--net",
    "sh",
    "-c",
    'ip link set lo up && ip route add 192.168.1.0/24 dev lo && exec "$0"',
]


def test_refuses_address_outside_loopback_before_any_packet(
    builder: TwinBuilder, cert_2118: CertBundle, tmp_path: Path
) -> None:
    firmware = builder.build(
        host="192.168.1.210", port=443, set_clock=False, cert=cert_2118,
        run_dir=tmp_path,
    )  # fmt: skip
    opens: list[int] = []
    run = run_twin(
        firmware.path,
        tmp_path,
        prefix=ISOLATED,
        while_running=lambda twin: opens.append(_tcp_active_opens(twin.pid or 0)),
    )
    assert run.between("Connecting to 192.168.1.210", "Connection failed") == [
        "HIL:REFUSED 192.168.1.210: the twin only connects to 127.0.0.0/8 "
        "(map it with HIL_ADDR_MAP)",
        "Connection failed",
    ]
    assert "HIL:DONE connected=0 verified=0" in run.lines
    assert opens == [0], "the twin sent a SYN for a refused address"
    assert "REFUSED 192.168.1.210" in (tmp_path / "twin.log").read_text()

    # Control: the same address mapped onto 127.0.0.1 (nothing listens there on port
    # 443 in that namespace) is attempted, and the counter sees its SYN.
    control = tmp_path / "control"
    control.mkdir()
    opens.clear()
    mapped = run_twin(
        firmware.path,
        control,
        prefix=ISOLATED,
        env={"HIL_ADDR_MAP": "192.168.1.210=127.0.0.1"},
        while_running=lambda twin: opens.append(_tcp_active_opens(twin.pid or 0)),
    )
    assert not any(ln.startswith("HIL:REFUSED") for ln in mapped.lines)
    assert "Connection failed" in mapped.lines
    assert opens == [1]


def test_mapped_target_outside_loopback_is_refused(
    builder: TwinBuilder, cert_2118: CertBundle, tmp_path: Path
) -> None:
    firmware = builder.build(
        host="192.168.1.210", port=443, set_clock=False, cert=cert_2118,
        run_dir=tmp_path,
    )  # fmt: skip
    run = run_twin(
        firmware.path, tmp_path, prefix=ISOLATED, env={"HIL_ADDR_MAP": "192.168.1.210=10.1.2.3"}
    )
    assert (
        "HIL:REFUSED 10.1.2.3: the twin only connects to 127.0.0.0/8 (map it with HIL_ADDR_MAP)"
        in run.lines
    )
    assert "HIL:DONE connected=0 verified=0" in run.lines
