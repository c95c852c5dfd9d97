"""analysis/attempts.py and offline diagnosis of a serial log alone: several attempts in
one log, each diagnosed; context carried across; memory bounded for a huge log."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.analysis.attempts import MAX_EVENTS, diagnose_attempts, split_attempts
from harness.analysis.logformats import parse_serial
from harness.analysis.logformats.lines import read_pasted_log
from harness.model import Confidence, Diagnosis
from harness.run.offline import diagnose_files
from tests.samples import DATA
from tests.unit.test_diagnose_real_logs import EXPECTED, LOGS

PASTED = (DATA / "logs" / "esp8266-arduino-4826_as_pasted.log").read_text()


def _events(text: str):
    return parse_serial(read_pasted_log(text), "axtls")


def test_a_log_with_the_report_three_times_is_three_attempts_each_diagnosed(tmp_path) -> None:
    log = tmp_path / "three.log"
    log.write_text(PASTED * 3)
    result = diagnose_files(serial=log, pcap=None)
    assert result.stack == "axtls" and result.attempts is not None
    assert [a.cause for a in result.attempts.attempts] == ["no_shared_cipher"] * 3
    assert result.diagnosis.cause == "no_shared_cipher"
    assert result.attempts.runs() == [(1, 3, "no_shared_cipher", 3)]


def test_each_attempt_has_its_own_lines_and_the_setcacert_dump_as_context() -> None:
    retry = "Connecting to 192.168.1.210\nState:\tsending Client Hello (1)\nConnection failed\n"
    dump = sum(e.kind == "log_cert" for e in _events(PASTED))
    attempts = list(split_attempts(_events(PASTED + retry)))
    assert len(attempts) == 2
    first, second = attempts
    assert first.first_line < first.last_line < second.first_line <= second.last_line
    # The certificate dump of setCACert, printed once before the first attempt, is the
    # context of both: a later attempt's diagnosis may need it.
    for a in attempts:
        assert sum(e.kind == "log_cert" for e in a.context) == dump > 15
        assert any(e.kind == "log_boot" for e in a.context)
    kinds = [e.kind for e in second.events]
    assert kinds[kinds.index("connect_start") :] == ["connect_start", "log_state", "connect_result"]
    assert not any(e.kind == "log_alert" for e in second.events)


def test_a_reboot_ends_an_attempt_and_starts_a_new_context() -> None:
    crash_then_boot = (
        "Connecting to 192.168.1.210\nState:\tsending Client Hello (1)\n"
        "Exception (28):\nepc1=0x4000bf0e epc2=0x00000000 epc3=0x00000000\n"
        "\n ets Jan  8 2013,rst cause:2, boot mode:(3,6)\n\n"
        "SDK:2.2.1(cfd48f3)/Core:2.4.1/lwIP:2.0.3(STABLE-2_0_3_RELEASE/glue:arduino-2.4.1)\n"
        "Connecting to 192.168.1.210\nConnection failed\n"
    )
    attempts = list(split_attempts(_events(crash_then_boot)))
    assert len(attempts) == 2
    assert any(e.kind == "log_exception" for e in attempts[0].events)
    assert not any(e.kind == "log_cert" for e in attempts[1].context)
    assert any(e.kind == "log_boot" for e in attempts[1].context)


def test_a_log_without_any_attempt_is_still_one() -> None:
    attempts = list(split_attempts(_events("ets Jan  8 2013,rst cause:2, boot mode:(3,6)\n")))
    assert len(attempts) == 1 and attempts[0].index == 1


def test_attempts_that_look_the_same_are_diagnosed_once() -> None:
    calls = []

    def one(events) -> Diagnosis:
        calls.append(len(events))
        return Diagnosis("unknown", Confidence.NONE, "x")

    result = diagnose_attempts(_events(PASTED * 5), one)
    # Four alike; the last also holds the log's tail ("pm open" after it).
    assert len(result.attempts) == result.count == 5 and len(calls) == 2


def test_an_attempt_that_never_ends_is_bounded() -> None:
    lines = "Connecting to x\n" + "State:\treceiving Server Hello (2)\n" * (3 * MAX_EVENTS)
    (attempt,) = split_attempts(_events(lines))
    assert len(attempt.events) <= MAX_EVENTS
    assert attempt.dropped > 0
    assert attempt.events[0].kind == "connect_start"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_cli_path_names_what_the_whole_log_reading_names(name: str) -> None:
    stack, cause, _crash = EXPECTED[name]
    result = diagnose_files(serial=LOGS / name, pcap=None)
    assert (result.stack, result.diagnosis.cause) == (stack, cause)


def test_nul_and_invalid_bytes_at_line_ends_are_tolerated(tmp_path) -> None:
    noisy = tmp_path / "noisy.log"
    noisy.write_bytes(b"".join(ln.encode() + b"\x00\xfe\xff\r\n" for ln in PASTED.splitlines()))
    result = diagnose_files(serial=noisy, pcap=None)
    assert result.diagnosis.cause == "no_shared_cipher"


def test_a_50_mb_log_is_diagnosed_in_at_most_150_mb(tmp_path) -> None:
    # In a child process: its peak resident set is what `hil diagnose` costs.
    big = tmp_path / "big.log"
    block = PASTED.encode()
    with big.open("wb") as f:
        for _ in range(50 * 1024 * 1024 // len(block) + 1):
            f.write(block)
    assert big.stat().st_size >= 50 * 1024 * 1024
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over fork and exec, so a child of a
    # big pytest process would report pytest's own peak.
    code = (
        "import json, sys; from pathlib import Path;"
        "from harness.run.offline import diagnose_files;"
        "r = diagnose_files(serial=Path(sys.argv[1]), pcap=None);"
        "hwm = [ln for ln in open('/proc/self/status') if ln.startswith('VmHWM:')][0];"
        "print(json.dumps([r.diagnosis.cause, r.attempts.count, r.attempts.lines,"
        " int(hwm.split()[1])]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(big)],
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
        check=True,
    ).stdout
    cause, attempts, lines, max_rss_kb = json.loads(out)
    assert cause == "no_shared_cipher"
    assert attempts > 20_000 and lines > 1_000_000
    assert max_rss_kb <= 150 * 1024, f"peak {max_rss_kb / 1024:.0f} MB"


def test_the_peak_is_read_from_the_kernel_in_kilobytes() -> None:
    # /proc/self/status's VmHWM is in kB: the bound above reads it so.
    hwm = [ln for ln in Path("/proc/self/status").read_text().splitlines() if "VmHWM" in ln]
    assert hwm and hwm[0].split()[2] == "kB"
