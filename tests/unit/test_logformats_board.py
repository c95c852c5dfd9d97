import pytest

from harness.analysis.logformats import parse_serial
from harness.analysis.logformats.board import BoardParser
from harness.analysis.logformats.lines import read_pasted_log
from tests.samples import DATA

LOGS = DATA / "logs"
STACKS = ["axtls", "bearssl", "mbedtls"]


def events(name: str, stack: str):
    return parse_serial(read_pasted_log((LOGS / name).read_text()), stack)


@pytest.mark.parametrize("stack", STACKS)
def test_6232_exception_28_and_stack_dump_whatever_the_stack(stack):
    evs = events("esp8266-arduino-6232_exception28.log", stack)
    exc = [e for e in evs if e.kind == "log_exception"]
    assert exc[0].fields["exception"] == 28 and exc[0].fields["kind"] == "LoadProhibited"
    parts = [e.fields["part"] for e in evs if e.kind == "log_stack"]
    assert parts[:4] == ["registers", "begin", "context", "sp"]
    assert parts.count("words") == 20


def test_7493_bearssl_context_exception_9():
    evs = events("esp8266-arduino-7493_exception9_bearssl.log", "bearssl")
    exc = next(e for e in evs if e.kind == "log_exception")
    assert exc.fields["kind"] == "LoadStoreAlignment"
    ctx = next(e for e in evs if e.fields.get("part") == "context")
    assert ctx.fields["context"] == "bearssl"


def test_9122_wdt_reset_boot_banner_and_garbage():
    evs = events("esp8266-arduino-9122_wdt_reset_boot.log", "bearssl")
    boot = [e for e in evs if e.kind == "log_boot" and e.fields.get("stage") == "banner"]
    assert [(e.fields["rst_cause"], e.fields["boot_mode"]) for e in boot] == [(4, "(3,7)")] * 2
    assert boot[0].fields["rst_reason"] == "watchdog"
    assert [e.fields["reason"] for e in evs if e.kind == "log_reset"] == ["wdt"]
    assert any(e.kind == "log_other" and "\ufffd" in e.text for e in evs)


def test_5627_esp32_rom_and_bootloader():
    evs = events("esp-idf-5627_esp32_boot.log", "mbedtls")
    reset = next(e for e in evs if e.fields.get("stage") == "reset")
    assert reset.fields["rst_reason"] == "POWERON_RESET" and reset.fields["chip"] == "esp32"
    assert reset.fields["boot_mode"] == "0x13 (SPI_FAST_FLASH_BOOT)"
    assert sum(e.kind == "log_boot" for e in evs) >= 15


def test_6247_wifi_status_and_versions():
    evs = events("esp8266-arduino-6247_wifi_connect.log", "bearssl")
    versions = next(e for e in evs if e.fields.get("stage") == "versions")
    assert versions.fields["core"] == "2.5.2-103-ga8873c23"
    assert versions.fields["bearssl"] == "89454af"
    statuses = [e.fields["status"] for e in evs if e.kind == "log_wifi"]
    assert "associated" in statuses and "got_ip" in statuses and "disconnected" in statuses
    ip = next(e for e in evs if e.fields.get("status") == "got_ip")
    assert ip.fields["ip"] == "192.168.8.113"


def test_other_board_lines():
    b = BoardParser()
    assert b.parse(0, "Soft WDT reset").fields["reason"] == "soft_wdt"
    assert (
        b.parse(0, "E (1234) task_wdt: Task watchdog got triggered.").fields["reason"] == "task_wdt"
    )
    e = b.parse(0, "last failed alloc call: 4020A1B2(16709)")
    assert e.kind == "log_heap" and e.fields["failed_alloc"] == 16709 and e.fields["oom"]
    assert b.parse(0, "Free heap: 12345").fields["free"] == 12345
    e = b.parse(0, "Backtrace: 0x4000bff0:0x3ffcd110 0x40085174:0x3ffcd1e0")
    assert e.fields["addresses"] == ["0x4000bff0", "0x40085174"]
    e = b.parse(0, "rst:0x8 (TG1WDT_SYS_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)")
    assert e.fields["watchdog"] is True
    e = b.parse(0, "[D][WiFiGeneric.cpp:342] _eventCallback(): Event: 7 - STA_GOT_IP")
    assert e.kind == "log_wifi" and e.fields["status"] == "STA_GOT_IP"
    assert b.parse(0, "just a sketch line") is None
