"""Serial log parsing throughput, against the floor of touching each line once.

value: lines per second of `parse_serial` over 100,000 lines made of the committed
real logs (tests/data), each stack's logs parsed with that stack's parser;
baseline: the same text through a bare `str.splitlines` and one compiled regex
`match` per line, in the same run. The goal is 100,000 lines/s or more.
"""

from __future__ import annotations

import re
from pathlib import Path

from harness.analysis.logformats import parse_serial
from harness.analysis.logformats.lines import Line, read_pasted_log
from harness.run.benchmarks import Figure, median_seconds

NAME = "log_parsing"
LINES = 100_000
DATA = Path(__file__).resolve().parent.parent / "tests" / "data"

# Which committed logs are which stack's; board-only logs go with every stack.
_LOGS = {
    "axtls": ["esp8266-arduino-4826_founding_report.log"],
    "bearssl": [
        "logs/esp8266-arduino-7801_bearssl_timeout.log",
        "logs/esp8266-arduino-7843_bearssl_no_auth.log",
        "logs/esp8266-arduino-6247_bearssl_server_handshake.log",
        "logs/esp8266-arduino-6247_wifi_connect.log",
        "logs/esp8266-arduino-7493_exception9_bearssl.log",
        "logs/esp8266-arduino-9122_wdt_reset_boot.log",
    ],
    "mbedtls": [
        "logs/arduino-esp32-5480_x509_verify_failed.log",
        "logs/arduino-esp32-5710_verbose_handshake.log",
        "logs/arduino-esp32-7511_invalid_record_panic.log",
        "logs/arduinowebsockets-649_x509_verify_failed.log",
        "logs/pubsubclient-794_verified_then_panic.log",
        "logs/esp-idf-5627_esp32_boot.log",
    ],
}
_BASELINE_RX = re.compile(r"(?:BSSL:|\[\s*\d*\]?\[[VDIWE]\]|State:|Alert:|Error:)(.*)")


def corpus(total: int = LINES) -> dict[str, list[Line]]:
    """`total` lines split evenly over the stacks, each stack's logs repeated in order."""
    per_stack = total // len(_LOGS)
    out = {}
    for stack, names in _LOGS.items():
        sample = [ln.text for name in names for ln in read_pasted_log((DATA / name).read_text())]
        texts = (sample * (per_stack // len(sample) + 1))[:per_stack]
        out[stack] = [Line(i * 0.001, text) for i, text in enumerate(texts)]
    return out


def measure(runs: int = 5) -> Figure:
    stacks = corpus()
    count = sum(len(lines) for lines in stacks.values())
    joined = "\n".join(ln.text for lines in stacks.values() for ln in lines)

    def parse_all() -> None:
        for stack, lines in stacks.items():
            parse_serial(lines, stack)

    def baseline() -> None:
        match = _BASELINE_RX.match
        for text in joined.splitlines():
            match(text)

    value = count / median_seconds(parse_all, runs)
    base = count / median_seconds(baseline, runs)
    return Figure(
        name=f"parse_serial over {count} real-log lines",
        value=value,
        unit="lines/s",
        baseline="str.splitlines + one regex match per line",
        baseline_value=base,
        runs=runs,
    )


if __name__ == "__main__":
    print(measure())
