"""Committed sample inputs, shared by the tests (each file under tests/data names its source)."""

from pathlib import Path

from harness.logformats import parse_serial
from harness.logformats.lines import read_pasted_log

DATA = Path(__file__).parent / "data"
FOUNDING_LOG = DATA / "esp8266-arduino-4826_founding_report.log"


def founding_events():
    """The founding report's serial log (esp8266/Arduino #4807/#4826), as events."""
    return parse_serial(read_pasted_log(FOUNDING_LOG.read_text()), "axtls")
