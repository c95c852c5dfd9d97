"""The twin's own axTLS client (harness/twin/core/axtls_*.cpp), built with g++ directly on
the core's files under AddressSanitizer and UBSan, driven by tests/integration/
axtls_driver/driver.cpp against a real OpenSSL server (Python `ssl`) or a raw socket.

Every expectation is a fact of the real axTLS (igrr/axtls-8266 24af415, core 2.4.1), as
recorded from the real library built for the host (the recordings named below, of the
esp8266-2.4.1 set) or read from its source (esp8266-axtls-FACTS.md of that set).
"""

from __future__ import annotations

import os
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.instruments import procs
from harness.instruments.boards.twin_config import core_config_header
from harness.instruments.certs import CertBundle, get_plan, make_certs
from harness.model.cores import CoreRelease, releases
from tests.integration.oneshot_tls import Record, split_records, tls_server
from tests.samples import (
    AXTLS_HELLO_SNI_HEAD,
    AXTLS_HELLO_SNI_TAIL,
    axtls_alert_lines,
    axtls_handshake_lines,
)

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
CORE = REPO / "harness" / "twin" / "core"
# The host core: common code plus the axTLS personality's folder.
CORE_DIRS = (CORE / "common", CORE / "esp8266_axtls")
INCLUDES = [f"-I{d}" for d in CORE_DIRS]
DRIVER = Path(__file__).parent / "axtls_driver" / "driver.cpp"
BUILD_DEADLINE = 900.0  # g++ with the sanitizers on two shared cores
RUN_DEADLINE = 60.0

REQUEST = (
    b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: esp-tls-hil\r\nConnection: close\r\n\r\n"
)

# connect(IPAddress, port): no server_name (recording do-2016-ssl-params-fixed--ip).
HELLO_IP_HEAD = bytes.fromhex("16030300430100003f0303")
HELLO_IP_TAIL = bytes.fromhex("000008003c003d0035002f0100000e000d000a00080601050104010201")

ALERT_HANDSHAKE_FAILURE = bytes.fromhex("15030300020228")
ALERT_UNEXPECTED_MESSAGE = bytes.fromhex("1503030002020a")

# What the core prints after a received fatal handshake_failure (recording
# do-2016-ssl-params; the founding report's lines).
AFTER_ALERT_40 = [*axtls_alert_lines("handshake failure", 40), "DRV:connected=0"]


def _release(version: str) -> CoreRelease:
    return next(r for r in releases() if r.family == "esp8266" and r.version == version)


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("axtls-driver") / "driver"
    # The common core reads the release's generated configuration, as in a twin build.
    (out.parent / "hil_core_config.h").write_text(core_config_header(_release("2.4.1")))
    sources = [*sorted(p for d in CORE_DIRS for p in d.glob("*.cpp")), DRIVER]
    cmd = [
        "g++", "-std=c++17", "-g", "-O0", "-fno-omit-frame-pointer",
        "-fsanitize=address,undefined", "-fno-sanitize-recover=undefined",
        "-Wall", "-Wextra",
        "-DHIL_TWIN", "-DHIL_PERSONALITY_AXTLS", "-DESP8266", "-DARDUINO_ESP8266_RELEASE_2_4_1",
        f"-I{out.parent}", *INCLUDES, *map(str, sources), "-lbearssl", "-o", str(out),
    ]  # fmt: skip
    procs.run(cmd, timeout=BUILD_DEADLINE, log_path=out.with_suffix(".log")).check(
        "building the axTLS driver", "read the compiler's messages in the log"
    )
    return out


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> CertBundle:
    """Self-signed RSA-2048 for 127.0.0.1, valid now and ending before 2038."""
    where = tmp_path_factory.mktemp("certs")
    return make_certs(get_plan("founding-report-fixed"), "127.0.0.1", where / "c", where / "k")


@dataclass(frozen=True)
class DriverRun:
    lines: list[str]

    def between(self, first: str, last: str) -> list[str]:
        start = self.lines.index(first)
        return self.lines[start : self.lines.index(last, start) + 1]

    def cert_dump(self) -> list[str]:
        """The setCACert dump of the one certificate (the same as the server's)."""
        return self.lines[: self.lines.index("State:\tsending Client Hello (1)")]


def run_driver(program: Path, log_dir: Path, port: int, finish, **settings: str) -> DriverRun:
    """Run the driver until it printed DRV:done; then `finish()` (the server's last word)
    while it idles in loop(), as a board does; then stop it."""
    env = {"DRV_HOST": "127.0.0.1", "DRV_PORT": str(port), "DRV_IDLE_MS": "600000", **settings}
    env["ASAN_OPTIONS"] = "abort_on_error=0:exitcode=86"
    log = log_dir / "driver.log"
    proc = procs.ManagedProcess("axtls-driver", [str(program)], log_path=log)
    try:
        proc.start(env=env)
        deadline = time.monotonic() + RUN_DEADLINE
        while "DRV:done" not in _read(log):
            assert proc.alive(), f"the driver died:\n{_read(log)[-3000:]}"
            assert time.monotonic() < deadline, f"no DRV:done:\n{_read(log)[-3000:]}"
            time.sleep(0.05)
        finish()
        assert proc.alive(), f"the driver died:\n{_read(log)[-3000:]}"
    finally:
        rc = proc.stop(grace=3.0)
    text = _read(log)
    assert "Sanitizer" not in text and "runtime error" not in text, text[-3000:]
    assert rc == 0, f"exit status {rc}:\n{text[-3000:]}"
    lines = [ln.rstrip("\r") for ln in text.splitlines() if not ln.startswith("hil-twin: ")]
    return DriverRun(lines)


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def sealed(version: int, digest: int, plain: int) -> int:
    """An axTLS CBC record's length: explicit IV from TLS 1.1 on, MAC, padding of 1-16
    bytes (recordings tls1.0-only: Finished 48, request 112; tls1.2-only: 80, 128)."""
    body = plain + digest + 1
    return (16 if version >= 0x0302 else 0) + (body + 15) // 16 * 16


SUITES = {  # OpenSSL name: (axTLS suite, MAC size)
    "AES128-SHA256": (0x3C, 32),
    "AES256-SHA256": (0x3D, 32),
    "AES256-SHA": (0x35, 20),
    "AES128-SHA": (0x2F, 20),
}
VERSIONS = {"TLSv1": 0x0301, "TLSv1.1": 0x0302, "TLSv1.2": 0x0303}
TLS_VERSIONS = {
    "TLSv1": ssl.TLSVersion.TLSv1,
    "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
}
CASES = [(v, s) for v in VERSIONS for s in SUITES if v == "TLSv1.2" or not s.endswith("SHA256")]


@pytest.mark.parametrize(("version", "suite"), CASES)
def test_each_suite_and_version_connects(
    driver: Path, certs: CertBundle, tmp_path: Path, version: str, suite: str
) -> None:
    with tls_server(certs, f"{suite}:@SECLEVEL=0", version=TLS_VERSIONS[version]) as server:
        server.start()
        before = int(time.time())
        run = run_driver(
            driver, tmp_path, server.port, server.finish,
            DRV_CA=str(certs.cert_der), DRV_SET_CLOCK="1", DRV_REQUEST="1",
        )  # fmt: skip
    assert server.error is None, server.error
    assert (server.cipher, server.version) == (suite, version)
    assert server.request == REQUEST
    assert run.between("State:\tsending Client Hello (1)", "DRV:done") == [
        *axtls_handshake_lines(run.cert_dump()),
        "DRV:connected=1",
        "DRV:verified=1",
        "DRV:status=HTTP/1.1 200 OK",
        "DRV:done",
    ]
    raw = bytes(server.client_bytes)
    hello = raw[: 5 + int.from_bytes(raw[3:5], "big")]
    assert hello[:11] == AXTLS_HELLO_SNI_HEAD and hello[43:] == AXTLS_HELLO_SNI_TAIL
    assert before <= int.from_bytes(hello[11:15], "big") <= int(time.time())  # time(NULL)
    # One record per write; the record version is the server's after its ServerHello.
    v, mac = VERSIONS[version], SUITES[suite][1]
    assert split_records(raw) == [
        Record(22, 0x0303, 85),
        Record(22, v, 262),  # ClientKeyExchange: RSA-2048 premaster
        Record(20, v, 1),
        Record(22, v, sealed(v, mac, 16)),  # Finished
        Record(23, v, sealed(v, mac, len(REQUEST))),
    ]
    # stop(): no close_notify; nothing unread, so lwIP's tcp_close sends a FIN.
    assert not server.got_close_notify
    assert server.got_eof and not server.got_rst


def test_connect_by_ip_sends_no_server_name(
    driver: Path, certs: CertBundle, tmp_path: Path
) -> None:
    with alert_server(alert=ALERT_HANDSHAKE_FAILURE, fin="after") as server:
        run = run_driver(driver, tmp_path, server.port, server.finish, DRV_BY_IP="1")
    hello = server.hello
    assert hello[:11] == HELLO_IP_HEAD and hello[43:] == HELLO_IP_TAIL
    assert hello[11:15] == bytes(4)  # time(NULL) is 0 until SNTP set the clock
    assert run.between("State:\tsending Client Hello (1)", "DRV:connected=0") == AFTER_ALERT_40


# --- a raw server: one alert, then its FIN ------------------------------------------------


class AlertServer:
    """Reads the ClientHello, then answers with `alert` (or nothing) and a FIN: after
    ALERT_GRACE seconds (`fin="after"`), in the alert's own segment (`fin="with"`,
    TCP_CORK), or when the test calls finish() (`fin="finish"`)."""

    def __init__(self, alert: bytes, fin: str) -> None:
        self.alert, self.fin = alert, fin
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.hello = b""
        self.after_alert = b""  # what the client sent after the alert, before our FIN
        self.after_fin = b""
        self.got_rst = self.got_eof = False
        self._fin_now = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="alert-server", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self.listener.settimeout(RUN_DEADLINE)
        conn, _ = self.listener.accept()
        with conn:
            conn.settimeout(RUN_DEADLINE)
            while len(self.hello) < 5 or len(self.hello) < 5 + int.from_bytes(
                self.hello[3:5], "big"
            ):
                self.hello += conn.recv(4096)
            if self.fin == "with":
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
                conn.sendall(self.alert)
                conn.shutdown(socket.SHUT_WR)  # flushes the corked alert with the FIN
            else:
                conn.sendall(self.alert)
                if self.fin == "after":
                    self._fin_now.wait(ALERT_GRACE)
                else:
                    self._fin_now.wait(RUN_DEADLINE)
                conn.settimeout(0.2)
                self.after_alert = self._drain(conn, until_quiet=True)
                conn.settimeout(RUN_DEADLINE)
                conn.shutdown(socket.SHUT_WR)
            self.after_fin = self._drain(conn, until_quiet=False)

    def _drain(self, conn: socket.socket, *, until_quiet: bool) -> bytes:
        got = b""
        while True:
            try:
                data = conn.recv(4096)
            except TimeoutError:
                if until_quiet:
                    return got
                raise
            except ConnectionResetError:
                self.got_rst = True
                return got
            if not data:
                self.got_eof = True
                return got
            got += data

    def finish(self) -> None:
        self._fin_now.set()
        self._thread.join(RUN_DEADLINE)

    def close(self) -> None:
        self._fin_now.set()
        self.listener.close()
        self._thread.join(RUN_DEADLINE)


ALERT_GRACE = 1.0


@contextmanager
def alert_server(alert: bytes, fin: str) -> Iterator[AlertServer]:
    server = AlertServer(alert, fin)
    try:
        yield server
    finally:
        server.close()


def test_alert_read_before_the_fin_is_answered(driver: Path, tmp_path: Path) -> None:
    with alert_server(ALERT_HANDSHAKE_FAILURE, fin="after") as server:
        run = run_driver(driver, tmp_path, server.port, server.finish)
    assert run.between("State:\tsending Client Hello (1)", "DRV:connected=0") == AFTER_ALERT_40
    # The client's unexpected_message, and no close_notify: ssl_free runs after the
    # core detached the socket (recording do-2016-ssl-params).
    assert server.after_alert == ALERT_UNEXPECTED_MESSAGE
    # It never closes that connection itself: lwIP answers the FIN with a RST.
    assert server.after_fin == b"" and server.got_rst and not server.got_eof


def test_alert_with_the_fin_gets_only_a_rst(driver: Path, tmp_path: Path) -> None:
    with alert_server(ALERT_HANDSHAKE_FAILURE, fin="with") as server:
        run = run_driver(driver, tmp_path, server.port, server.finish)
    # The same lines (DISPLAY_ALERT prints whether or not the write went out) ...
    assert run.between("State:\tsending Client Hello (1)", "DRV:connected=0") == AFTER_ALERT_40
    # ... but lwIP took the FIN with the alert and aborted: RST, no alert (recordings
    # mozilla-intermediate, mozilla-modern, ecdsa-p256).
    assert server.after_fin == b"" and server.got_rst


def test_handshake_gives_up_after_15_seconds(driver: Path, tmp_path: Path) -> None:
    with alert_server(b"", fin="finish") as server:
        run = run_driver(driver, tmp_path, server.port, server.finish)
    # No message for the timeout; ssl_free prints its close_notify, sends nothing.
    assert run.between("State:\tsending Client Hello (1)", "DRV:connected=0") == [
        "State:\tsending Client Hello (1)",
        "Alert: close notify",
        "DRV:connected=0",
    ]
    assert server.after_alert == b""
    assert server.after_fin == b"" and server.got_rst


def test_fingerprint_mismatch_prints_both(driver: Path, certs: CertBundle, tmp_path: Path) -> None:
    wrong = "00" * 20
    with tls_server(certs, "AES128-SHA256") as server:
        server.start()
        run = run_driver(
            driver, tmp_path, server.port, server.finish,
            DRV_FP=wrong, DRV_SET_CLOCK="1", DRV_REQUEST="1",
        )  # fmt: skip
    got = " ".join(certs.sha1[i : i + 2] for i in range(0, 40, 2)).upper()
    # ssl_match_fingerprint's unconditional printf.
    assert run.between("DRV:connected=1", "DRV:verified=0") == [
        "DRV:connected=1",
        f"cert FP: {got} ",
        f"test FP: {'00 ' * 20}",
        "DRV:verified=0",
    ]


def test_fingerprint_match(driver: Path, certs: CertBundle, tmp_path: Path) -> None:
    with tls_server(certs, "AES128-SHA256") as server:
        server.start()
        run = run_driver(
            driver, tmp_path, server.port, server.finish,
            DRV_FP=certs.sha1, DRV_SET_CLOCK="1", DRV_REQUEST="1",
        )  # fmt: skip
    assert run.between("DRV:connected=1", "DRV:verified=1") == ["DRV:connected=1", "DRV:verified=1"]


def test_certificate_request_gets_an_empty_certificate(
    driver: Path, certs: CertBundle, tmp_path: Path
) -> None:
    with tls_server(certs, "AES128-SHA256", request_cert=True) as server:
        server.start()
        run = run_driver(
            driver, tmp_path, server.port, server.finish,
            DRV_CA=str(certs.cert_der), DRV_SET_CLOCK="1", DRV_REQUEST="1",
        )  # fmt: skip
    assert server.error is None, server.error
    lines = run.between("State:\treceiving Server Hello Done (14)", "DRV:connected=1")
    assert run.lines[run.lines.index(lines[0]) - 1] == "State:\treceiving Certificate Request (13)"
    assert lines[:3] == [
        "State:\treceiving Server Hello Done (14)",
        "State:\tsending Certificate (11)",
        "State:\tsending Client Key Exchange (16)",
    ]
    records = split_records(bytes(server.client_bytes))
    assert records[1:3] == [Record(22, 0x0303, 7), Record(22, 0x0303, 262)]


def test_a_full_size_record_grows_the_buffer(
    driver: Path, certs: CertBundle, tmp_path: Path
) -> None:
    with tls_server(certs, "AES128-SHA256", body=b"x" * 20000) as server:
        server.start()
        run = run_driver(
            driver, tmp_path, server.port, server.finish,
            DRV_CA=str(certs.cert_der), DRV_SET_CLOCK="1", DRV_REQUEST="1",
        )  # fmt: skip
    # The recording large-records: the 16384-byte record (16448 with IV, MAC and
    # padding) does not fit 5840 + 1024 - 5; the buffer grows and the record is fine.
    assert run.between("DRV:verified=1", "DRV:done") == [
        "DRV:verified=1",
        "ssl->need_bytes=16448 > 6859",
        "DRV:status=HTTP/1.1 200 OK",
        "DRV:done",
    ]
    # The response was left unread: stop() makes lwIP send a RST, not a FIN.
    assert server.got_rst and not server.got_eof


def test_sanitizers_are_on(driver: Path) -> None:
    """The driver really is built with AddressSanitizer (else the tests above prove less)."""
    out = procs.run(["nm", "-C", str(driver)], timeout=60).output
    assert "__asan_init" in out and "__ubsan_handle" in out


@pytest.fixture(autouse=True)
def _no_driver_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("DRV_"):
            monkeypatch.delenv(name)


STREAM_USER = """#include <WiFiClientSecure.h>
size_t send_all(WiFiClientSecure& c, Stream& s) { return c.write(s); }
"""


@pytest.mark.parametrize(("core", "has_it"), [("2_4_1", False), ("2_4_2", True)])
def test_write_stream_exists_only_on_2_4_2(tmp_path: Path, core: str, has_it: bool) -> None:
    """WiFiClientSecure::write(Stream&) came with core 2.4.2 (esp8266-axtls-FACTS.md 14);
    a 2.4.1 sketch that calls it does not build."""
    src = tmp_path / "user.cpp"
    src.write_text(STREAM_USER)
    config = core_config_header(_release(core.replace("_", ".")))
    (tmp_path / "hil_core_config.h").write_text(config)
    result = procs.run(
        ["g++", "-std=c++17", "-fsyntax-only", f"-DARDUINO_ESP8266_RELEASE_{core}",
         "-DHIL_PERSONALITY_AXTLS", f"-I{tmp_path}", *INCLUDES, str(src)],
        timeout=120,
    )  # fmt: skip
    assert (result.returncode == 0) is has_it, result.output[-2000:]


# A server's bad first answer, the client's alert for it, and what it prints
# (ssl/tls1.c basic_read / do_handshake / send_alert at 24af415; esp8266-axtls-FACTS.md 4, 7).
BAD_ANSWERS = {
    # A record header over 16384 + 1024 - 5 bytes: record_overflow (22), "overlow" sic.
    "record-overflow": (
        bytes.fromhex("16030343fc"),
        bytes.fromhex("15030300020216"),
        ["Error: record overflow", "Alert: record overlow", "Error: record overflow"],
    ),
    # A ServerKeyExchange where the ServerHello must be: refused before its State line.
    "unexpected-handshake": (
        bytes.fromhex("16030300040c000000"),
        ALERT_UNEXPECTED_MESSAGE,
        ["Error: invalid handshake", "Alert: unexpected message", "Error: invalid handshake"],
    ),
}


@pytest.mark.parametrize("name", list(BAD_ANSWERS))
def test_bad_first_answer_draws_axtls_alert(driver: Path, tmp_path: Path, name: str) -> None:
    answer, alert, printed = BAD_ANSWERS[name]
    with alert_server(answer, fin="after") as server:
        run = run_driver(driver, tmp_path, server.port, server.finish)
    assert run.between("State:\tsending Client Hello (1)", "DRV:connected=0") == [
        "State:\tsending Client Hello (1)",
        *printed,
        "Alert: close notify",
        "DRV:connected=0",
    ]
    assert server.after_alert == alert
    assert server.after_fin == b"" and server.got_rst
