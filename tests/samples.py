"""Committed sample inputs, shared by the tests (each file under tests/data names its source)."""

from pathlib import Path

from harness.analysis.logformats import parse_serial
from harness.analysis.logformats.lines import read_pasted_log

DATA = Path(__file__).parent / "data"
FOUNDING_LOG = DATA / "esp8266-arduino-4826_founding_report.log"


def founding_events():
    """The founding report's serial log (esp8266/Arduino #4807/#4826), as events."""
    return parse_serial(read_pasted_log(FOUNDING_LOG.read_text()), "axtls")


# The axTLS offer of core 2.4.x, in its order (tls-stacks.md).
AXTLS_OFFER = [0x003C, 0x003D, 0x0035, 0x002F]


def axtls_alert_lines(text: str, number: int) -> list[str]:
    """What core 2.4.x prints from its ClientHello on when the server answers with a
    fatal alert: the alert, send_alert's own, the core's error, ssl_free's close_notify."""
    return [
        "State:\tsending Client Hello (1)",
        f"Alert: {text}",
        f"Error: SSL error {number}",
        "Alert: unexpected message",
        f"Error: SSL error {number}",
        "Alert: close notify",
    ]


# The serial lines of the founding report from the ClientHello on, in its order.
REPORT_LINES = [*axtls_alert_lines("handshake failure", 40), "Connection failed"]


def axtls_handshake_lines(cert_dump: list[str]) -> list[str]:
    """axTLS's state lines of a successful handshake, the server's certificates dumped
    after the Certificate message (recordings of the esp8266-2.4.1 set)."""
    return [
        "State:\tsending Client Hello (1)",
        "State:\treceiving Server Hello (2)",
        "State:\treceiving Certificate (11)",
        *cert_dump,
        "State:\treceiving Server Hello Done (14)",
        "State:\tsending Client Key Exchange (16)",
        "State:\tsending Finished (16)",
        "State:\treceiving Finished (16)",
    ]


# axTLS's ClientHello for connect("127.0.0.1", port) but its 32-byte random, from the
# recordings (client_hello.hex of every case of the esp8266-2.4.1 set; igrr/axtls-8266
# 24af415 built for the host): record and client version TLS 1.2, handshake length in
# one byte, no session id, the four suites, null compression, signature_algorithms
# (SHA-512 ... SHA-1 with RSA), then server_name.
AXTLS_HELLO_SNI_HEAD = bytes.fromhex("1603030055010000510303")
AXTLS_HELLO_SNI_TAIL = bytes.fromhex(
    "000008003c003d0035002f01000020000d000a000806010501040102010000000e000c0000093132372e302e302e31"
)


def wire_events(record, kind: str) -> list:
    """A run record's wire events of one kind, in time order."""
    from harness.model import Source

    return [e for e in record.timeline.events if e.source is Source.WIRE and e.kind == kind]


def child_pids() -> set[int]:
    """Live children of this process: what a test may leave behind by mistake. The
    harness's reaper (a watchdog that lives as long as the process) is not one."""
    import os

    from harness.instruments.reaper import reaper

    me = str(os.getpid())
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # fields[0] is the state, fields[1] the parent pid; zombies are already dead.
        if fields[1] == me and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found - {reaper().pid}
