"""What every board prints whatever the TLS stack: boot ROM banners, exceptions and
stack dumps, watchdog resets, heap and WiFi status lines -> events.

Formats: the ESP8266 boot ROM (` ets Jan  8 2013,rst cause:2, boot mode:(3,6)`) and
the Arduino core's postmortem (`Exception (28):`, `>>>stack>>>`, `Soft WDT reset`,
`last failed alloc call`); the ESP32 ROM (`rst:0x1 (POWERON_RESET),boot:0x13 ...`),
the ESP-IDF panic handler (`Guru Meditation Error: Core  1 panic'ed (...)`,
`Backtrace:`) and log lines (`E (1234) tag: ...`, `[D][WiFiGeneric.cpp:342] ...`);
the SDK's WiFi chatter (`scandone`, `state: 0 -> 2 (b0)`, `wifi evt: 3`).

A line is dispatched on its first non-blank character to the few patterns that
can start with it, so a line costs one dict lookup and a regex or two.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from harness.analysis.logformats.lines import serial_event
from harness.model import Event

# ESP8266 ROM `rst cause:` numbers (Espressif, "ESP8266 reset causes and common fatal
# exception causes").
ESP8266_RST_CAUSES = {
    0: "unknown",
    1: "power_on",
    2: "external",
    3: "software",
    4: "watchdog",
    5: "deep_sleep",
    6: "external",
}

# Xtensa EXCCAUSE numbers as the ESP8266 core prints them (`Exception (n):`).
EXCEPTION_CAUSES = {
    0: "IllegalInstruction",
    1: "Syscall",
    2: "InstructionFetchError",
    3: "LoadStoreError",
    4: "Level1Interrupt",
    5: "Alloca",
    6: "IntegerDivideByZero",
    8: "Privileged",
    9: "LoadStoreAlignment",
    12: "InstrPIFDataError",
    13: "LoadStorePIFDataError",
    14: "InstrPIFAddrError",
    15: "LoadStorePIFAddrError",
    16: "InstTLBMiss",
    17: "InstTLBMultiHit",
    18: "InstFetchPrivilege",
    20: "InstFetchProhibited",
    24: "LoadStoreTLBMiss",
    25: "LoadStoreTLBMultiHit",
    26: "LoadStorePrivilege",
    28: "LoadProhibited",
    29: "StoreProhibited",
}

# ESP32 ROM reset reasons that mean a watchdog bit.
_WATCHDOG_RESETS = frozenset(
    {
        "TG0WDT_SYS_RESET",
        "TG1WDT_SYS_RESET",
        "RTCWDT_SYS_RESET",
        "RTCWDT_CPU_RESET",
        "RTCWDT_RTC_RESET",
        "TGWDT_CPU_RESET",
        "RTCWDT_BROWN_OUT_RESET",
        "TG0WDT_CPU_RESET",
        "TG1WDT_CPU_RESET",
        "SUPER_WDT_RESET",
    }
)

Handler = Callable[[float, str, re.Match[str]], Event]


def _ev(t: float, kind: str, text: str, /, **fields: Any) -> Event:
    return serial_event(t, kind, text, None, fields)


def _int(value: str | None, base: int = 10) -> int | None:
    try:
        return int(value, base) if value is not None else None
    except ValueError:
        return None


# -- handlers ----------------------------------------------------------------------------------


def _esp8266_banner(t: float, text: str, m: re.Match[str]) -> Event:
    cause = _int(m.group(1))
    return _ev(
        t,
        "log_boot",
        text,
        chip="esp8266",
        stage="banner",
        rst_cause=cause,
        rst_reason=ESP8266_RST_CAUSES.get(cause or 0, "unknown"),
        boot_mode=m.group(2),
    )


def _esp32_banner(t: float, text: str, m: re.Match[str]) -> Event:
    return _ev(t, "log_boot", text, chip="esp32", stage="banner", rom=m.group(1))


def _esp32_rst(t: float, text: str, m: re.Match[str]) -> Event:
    reason = m.group(2)
    return _ev(
        t,
        "log_boot",
        text,
        chip="esp32",
        stage="reset",
        rst_cause=_int(m.group(1), 16),
        rst_reason=reason,
        boot_mode=m.group(3),
        watchdog=reason in _WATCHDOG_RESETS,
    )


def _boot_stage(stage: str, chip: str | None = None) -> Handler:
    def handle(t: float, text: str, m: re.Match[str]) -> Event:
        fields: dict[str, Any] = {"stage": stage}
        if chip:
            fields["chip"] = chip
        return _ev(t, "log_boot", text, **fields)

    return handle


def _versions(t: float, text: str, m: re.Match[str]) -> Event:
    parts = dict(
        p.split(":", 1) for p in m.group(0).strip().split("/") if ":" in p and p.split(":", 1)[0]
    )
    core = parts.get("Core", "")
    return _ev(
        t,
        "log_boot",
        text,
        chip="esp8266",
        stage="versions",
        sdk=parts.get("SDK"),
        core=core.split("=", 1)[0] or None,
        bearssl=parts.get("BearSSL"),
    )


def _exception(t: float, text: str, m: re.Match[str]) -> Event:
    number = int(m.group(1))
    return _ev(
        t,
        "log_exception",
        text,
        chip="esp8266",
        exception=number,
        kind=m.group(2) or EXCEPTION_CAUSES.get(number, f"cause {number}"),
    )


def _guru(t: float, text: str, m: re.Match[str]) -> Event:
    kind = m.group(2)
    return _ev(
        t,
        "log_exception",
        text,
        chip="esp32",
        exception=kind,
        kind=kind,
        core=int(m.group(1)),
        watchdog="wdt" in kind.lower(),
    )


def _abort(t: float, text: str, m: re.Match[str]) -> Event:
    return _ev(t, "log_exception", text, exception="abort", kind="abort", message=text.strip())


def _debug_exception(t: float, text: str, m: re.Match[str]) -> Event:
    reason = m.group(1).strip()
    kind = "stack_overflow" if "canary" in reason.lower() else "debug_exception"
    return _ev(t, "log_exception", text, exception=kind, kind=kind, message=reason)


def _stack(part: str) -> Handler:
    def handle(t: float, text: str, m: re.Match[str]) -> Event:
        return _ev(t, "log_stack", text, part=part)

    return handle


def _registers(t: float, text: str, m: re.Match[str]) -> Event:
    regs = {k.lower(): v for k, v in re.findall(r"(\w+)\s*[=:]\s*(0x[0-9a-fA-F]+)", text)}
    return _ev(t, "log_stack", text, part="registers", registers=regs)


def _ctx(t: float, text: str, m: re.Match[str]) -> Event:
    return _ev(t, "log_stack", text, part="context", context=m.group(1))


def _backtrace(t: float, text: str, m: re.Match[str]) -> Event:
    addresses = re.findall(r"0x[0-9a-fA-F]{8}", m.group(1))[::2]
    return _ev(t, "log_stack", text, part="backtrace", addresses=addresses)


def _decoded(t: float, text: str, m: re.Match[str]) -> Event:
    return _ev(t, "log_stack", text, part="decoded", address=m.group(1), function=m.group(2))


def _reset(reason: str) -> Handler:
    def handle(t: float, text: str, m: re.Match[str]) -> Event:
        return _ev(t, "log_reset", text, reason=reason)

    return handle


def _failed_alloc(t: float, text: str, m: re.Match[str]) -> Event:
    return _ev(t, "log_heap", text, failed_alloc=int(m.group(2)), caller=m.group(1), oom=True)


def _wifi(status: str) -> Handler:
    def handle(t: float, text: str, m: re.Match[str]) -> Event:
        return _ev(t, "log_wifi", text, status=status, **{k: v for k, v in m.groupdict().items()})

    return handle


def _idf_log(t: float, text: str, m: re.Match[str]) -> Event | None:
    """ESP-IDF `L (ms) tag: message` lines: boot, watchdog and WiFi tags; others are not
    the board's (a stack parser or log_other has them)."""
    level, _ms, tag, message = m.groups()
    if _APP_CONNECT.search(message):
        # ESP-IDF examples' own words (http_request, tcp_client): the TCP connect failed.
        return _ev(t, "log_error", text, tcp_connect_failed=True, message=message, level=level)
    if tag == "task_wdt" and "watchdog got triggered" in message.lower():
        return _ev(t, "log_reset", text, reason="task_wdt", message=message)
    if tag.startswith("boot") or tag in ("cpu_start", "heap_init", "spi_flash"):
        return _ev(t, "log_boot", text, chip="esp32", stage=tag, level=level, message=message)
    if tag == "wifi" or tag.startswith("wifi"):
        return _ev(t, "log_wifi", text, status=message.split(",")[0].strip(), level=level)
    return None


def _arduino_log(t: float, text: str, m: re.Match[str]) -> Event | None:
    """arduino-esp32 `[ms][L][file:line] func(): message` lines about WiFi; the rest are
    not the board's (the mbedtls parser or log_other has them)."""
    _ts, level, file, message = m.groups()
    if not file.startswith(("WiFiGeneric", "WiFiSTA", "WiFi.", "STA.")):
        return None
    if ev := _ARDUINO_EVENT.search(message):
        return _ev(t, "log_wifi", text, status=ev.group(2), event=int(ev.group(1)))
    if ip := _STA_IP.search(message):
        return _ev(t, "log_wifi", text, status="got_ip", ip=ip.group(1))
    return _ev(t, "log_wifi", text, status=message.strip(), level=level)


def _dns_error(t: float, text: str, m: re.Match[str]) -> Event:
    # ESP8266WiFiGeneric's `[hostByName] Host: <name> lookup error: <err_t>!` (catalogue:
    # esp8266.dns.lookup_error.*): the name did not resolve.
    return _ev(
        t,
        "log_error",
        text,
        dns_failed=True,
        host=m.group(1),
        message=text.strip(),
        message_id="esp8266.dns.lookup_error",
    )


def _http_error(t: float, text: str, m: re.Match[str]) -> Event:
    # ESP8266HTTPClient's returnError line (catalogue: esp8266.http.*): a code, no cause by
    # itself (-1 is whatever made connect() fail).
    return _ev(t, "log_http", text, code=int(m.group(1)), message=m.group(2).strip())


def _tls_heap(t: float, text: str, m: re.Match[str]) -> Event:
    # axTLS's `failed to grow plain buffer` and an allocator's `<file>.c:<n> realloc <n>
    # failed` (catalogue: axtls.printf.*): the heap could not give what TLS asked for.
    return _ev(t, "log_heap", text, oom=True, message=text.strip())


def _tls_need(t: float, text: str, m: re.Match[str]) -> Event:
    return _ev(t, "log_heap", text, needed=int(m.group(1)), available=int(m.group(2)))


def _app_connect_failed(t: float, text: str, m: re.Match[str]) -> Event:
    return _ev(t, "log_error", text, tcp_connect_failed=True, message=text.strip())


_ARDUINO_EVENT = re.compile(r"Event: (\d+) - (\w+)")
_STA_IP = re.compile(r"STA IP: ([\d.]+)")

# First non-blank character -> (pattern, handler) pairs tried in order.
_TABLE: dict[str, tuple[tuple[re.Pattern[str], Callable[..., Event | None]], ...]] = {}


def _add(first: str, pattern: str, handler: Callable[..., Event | None]) -> None:
    rx = re.compile(pattern)
    for c in first:
        _TABLE[c] = (*_TABLE.get(c, ()), (rx, handler))


_add(
    "e", r"ets Jan\s+8 2013,\s*rst cause:\s*(\d+),\s*boot mode:\s*(\(\d+,\s*\d+\))", _esp8266_banner
)
_add("e", r"ets (\w{3}\s+\d+ \d{4} \d\d:\d\d:\d\d)", _esp32_banner)
_add("e", r"epc1=0x", _registers)
_add("e", r"entry 0x[0-9a-fA-F]+", _boot_stage("entry"))
_add("r", r"rst:\s*0x([0-9a-fA-F]+)\s*\((\w+)\),\s*boot:\s*(\S+(?: \(\w+\))?)", _esp32_rst)
_add("r", r"rst cause:\s*(\d+),\s*boot mode:\s*(\(\d+,\s*\d+\))", _esp8266_banner)
_add("r", r"reconnect\s*$", _wifi("reconnect"))
_add("r", r"rm \d+\s*$", _wifi("removed"))
_add("l", r"load[ :]0x[0-9a-fA-F]+,\s*len[ :]?\d+", _boot_stage("load"))
_add("l", r"last failed alloc call: (\w+)\((\d+)\)", _failed_alloc)
_add("t", r"tail \d+\s*$", _boot_stage("load", "esp8266"))
_add("c", r"c(?:hk)?sum 0x[0-9a-fA-F]+\s*$", _boot_stage("load", "esp8266"))
_add("c", r"ctx: (\w+)", _ctx)
_add("c", r"configsip:|clk_drv:", _boot_stage("rom", "esp32"))
_add("c", r"cnt\s*$", _wifi("associating"))
_add("c", r"connected with (?P<ssid>.*), channel (?P<channel>\d+)", _wifi("associated"))
_add("v", r"v[0-9a-f]{8}\s*$", _boot_stage("load", "esp8266"))
_add("~", r"~ld\s*$", _boot_stage("load", "esp8266"))
_add("h", r"ho \d+ tail \d+ room \d+", _boot_stage("load", "esp32"))
_add("m", r"mode:\s*\w+, clock div:\s*\d+", _boot_stage("rom", "esp32"))
_add("m", r"mode : (?P<mode>\w+)", _wifi("mode"))
_add("E", r"Exception \((\d+)\):?()", _exception)
_add("E", r"EXCVADDR\s*:", _registers)
_add("E", r"ELF file SHA256:", _stack("elf"))
_add("F", r"Fatal exception \(?(\d+)\)?\s*\(?(\w*?)(?:Cause)?\)?:", _exception)
_add(">", r">>>stack>>>", _stack("begin"))
_add("<", r"<<<stack<<<", _stack("end"))
_add("s", r"sp: [0-9a-f]+ end: [0-9a-f]+", _stack("sp"))
_add("s", r"scandone\s*$", _wifi("scan_done"))
_add("s", r"state: (?P<old>\d+) -> (?P<new>\d+)", _wifi("state"))
_add("S", r"Soft WDT reset", _reset("soft_wdt"))
_add("S", r"SDK:[^/\s]+(?:/[\w.]+:[^/\s]*)+", _versions)
_add("S", r"STA disconnect: (?P<reason>\d+)", _wifi("disconnected"))
_add("w", r"wdt reset", _reset("wdt"))
_add("w", r"wifi evt: (?P<event>\d+)", _wifi("event"))
_add("G", r"Guru Meditation Error: Core\s+(\d+) panic'ed \(([^)]*)\)", _guru)
_add("B", r"Backtrace:\s*((?:0x[0-9a-fA-F]+:0x[0-9a-fA-F]+\s*)+)", _backtrace)
_add("B", r"Brownout detector was triggered", _reset("brownout"))
_add("C", r"Core\s+\d+ register dump:", _stack("registers"))
_add("-", r"-+ CUT HERE FOR EXCEPTION DECODER", _stack("cut"))
_add("P", r"PC\s+:\s*0x", _registers)
_add("P", r"Panic ", _reset("panic"))
_add("A", r"A\d+\s+:\s*0x", _registers)
_add("A", r"Abort called", _abort)
_add("a", r"abort\(\) was called", _abort)
_add("a", r"add \d+\s*$", _wifi("associating"))
_add("a", r"aid \d+\s*$", _wifi("associating"))
_add("D", r"Debug exception reason: (.*)", _debug_exception)
_add("d", r"dhcp client start", _wifi("dhcp_start"))
_add("i", r"ip:(?P<ip>[\d.]+),mask:", _wifi("got_ip"))
_add("U", r"User exception \(panic/abort/assert\)", _reset("panic"))
_add("R", r"Rebooting\.\.\.", _reset("reboot"))
_add("p", r"pm open", _wifi("power_save"))
_add("W", r"WiFi connected", _wifi("connected"))
_add("0", r"(0x[0-9a-fA-F]{8}): (\S+)", _decoded)
for _hex in "0123456789abcdef":
    _add(_hex, r"[0-9a-f]{8}:\s+[0-9a-f]{8}(?:\s+[0-9a-f]{8}){0,3}\s*(?:<|$)", _stack("words"))
_add("EWIDV", r"([EWIDV]) \((\d+)\) ([\w-]+): (.*)", _idf_log)
_add(
    "[",
    r"(?:\[\s*(\d+)\])?\[([VDIWE])\]\[([^\]:]+):\d+\]\s*[\w:~]*\(\):\s?(.*)",
    _arduino_log,
)

_APP_CONNECT = re.compile(r"socket connect failed errno=\d+|Socket unable to connect: errno \d+")
_add("[", r"\[hostByName\] Host: (.*?) lookup error", _dns_error)
_add("[", r"\[HTTP-Client\]\[returnError\] error\((-?\d+)\): (.*)", _http_error)
_add("f", r"failed to grow plain buffer", _tls_heap)
_add("s", r"ssl->need_bytes=(\d+) > (\d+)", _tls_need)
_add("c", r"[\w/]+\.c:\d+ (?:re|m|c)alloc \d+ failed", _tls_heap)

_HEAP = re.compile(r"(?i)\bfree\s*(?:internal\s*)?heap\b\D{0,24}?(\d+)")


def _gate(entries: tuple[tuple[re.Pattern[str], object], ...]) -> re.Pattern[str] | None:
    """One regex matching where any of a first character's patterns does: a line none of
    them matches (most lines of a big log) costs one match, not one per pattern. None when
    a pattern carries flags an alternation cannot hold."""
    if any(rx.flags & ~re.UNICODE or rx.pattern.startswith("(?") for rx, _ in entries):
        return None
    return re.compile("|".join(f"(?:{rx.pattern})" for rx, _ in entries))


_GATES = {c: _gate(entries) for c, entries in _TABLE.items()}


class BoardParser:
    """Stateless: every board line stands alone."""

    def parse(self, t: float, text: str) -> Event | None:
        # Sketches print progress dots without a newline, so the board's line may follow.
        s = text.lstrip(" \t.")
        if not s:
            return None
        first = s[0]
        gate = _GATES.get(first)
        entries = _TABLE.get(first, ()) if gate is None or gate.match(s) else ()
        for rx, handler in entries:
            m = rx.match(s)
            if m is not None:
                event = handler(t, text, m)
                if event is not None:
                    return event
        if ("eap" in s or "EAP" in s) and (h := _HEAP.search(s)):
            return _ev(t, "log_heap", text, free=int(h.group(1)))
        return None
