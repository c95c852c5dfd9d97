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

# The serial lines of the founding report from the ClientHello on, in its order.
REPORT_LINES = [
    "State:\tsending Client Hello (1)",
    "Alert: handshake failure",
    "Error: SSL error 40",
    "Alert: unexpected message",
    "Error: SSL error 40",
    "Alert: close notify",
    "Connection failed",
]


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
