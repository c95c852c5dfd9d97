"""The board's core release read from a log (pure): the boot banner when there is one,
else what the lines' formats, texts and codes allow.

Each mark below is a fact of the cores' sources: a line a release prints, a log format
a release introduced, a text a release changed. A mark narrows the range of releases
the log can come from; the marks of one log are intersected. The banner names the
release itself; formats only bound it, and the reading says which it was.

Sources (esp8266/Arduino tags read with git; arduino-esp32 by commit):
- ESP8266 `WiFiClientSecureBearSSL.cpp`: `DEBUG_BSSL(...)` lines (prefix `BSSL:`) from
  2.5.1; 2.5.0 printed only `BSSL: Connection *will* fail...` through DEBUGV (line 887);
  `_run_until: Timeout`, `CERT: ` and `insecure_end_chain: expected/received` from 2.6.0;
  `connect: Name loopup failure` 2.5.1-2.7.4, `Name lookup failure` from 3.0.0;
  `write: no br_ssl engine to work with` from 3.1.0;
  `write: Connect/handshake not completed yet` up to 3.0.2.
- ESP8266 axTLS debug lines (`State:\\t...`, `Alert: ...`, `Error: SSL error`, the
  certificate dump) come from the default `WiFiClientSecure` of 2.3.0-2.4.2
  (igrr/axtls-8266 ssl/tls1.c; 2.5.0 made BearSSL the default, 3.0.0 removed axTLS).
- arduino-esp32 `esp32-hal-log.h`: `[L][file:line] func(): ` in 1.0.x,
  `[%6u][L][file:line] func(): ` (milliseconds first) from 2.0.0; the library became
  `NetworkClientSecure` in 3.0.0. ssl_client.cpp at 1.0.6 (adb2f819) logs `_handle_error`
  at line 36 and the heap line at 59, and WiFiClientSecure.cpp at 1.0.6 (9b95fc29) its
  `start_ssl_client: %d` at line 127 (1.0.5 prints the same, as its logs show: #5070). When 2.0.x
  began to print milliseconds is not read here, so a line without them bounds the release
  at 2.0.x, not 1.0.x.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from harness.model import Event, Source

Version = tuple[int, ...]


def parse_version(text: str) -> Version | None:
    m = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    if m is None:
        return None
    return tuple(int(g) for g in m.groups() if g is not None)


def version_text(v: Version | None) -> str:
    """(2, 0, 17) -> "2.0.17"; 99 stands for any (2.99 -> "2.x")."""
    return ".".join("x" if p == 99 else str(p) for p in v) if v else "?"


@dataclass(frozen=True)
class Mark:
    """A fact that bounds the release: a line `pattern` matches is printed by `family`
    releases `low`..`high` (inclusive; None: unbounded)."""

    family: str
    stack: str | None
    pattern: re.Pattern[str]
    low: Version | None
    high: Version | None
    why: str


def _m(family: str, stack: str | None, rx: str, low: str | None, high: str | None, why: str):
    return Mark(
        family,
        stack,
        re.compile(rx),
        parse_version(low) if low else None,
        parse_version(high) if high else None,
        why,
    )


MARKS: tuple[Mark, ...] = (
    _m("esp8266", "bearssl", r"^BSSL: Connection \*will\* fail", "2.5.0", "2.5.0",
       "'BSSL: ' with a blank is 2.5.0's DEBUGV line (2.5.1 made it DEBUG_BSSL)"),
    _m("esp8266", "bearssl", r"BSSL:(?! )", "2.5.1", None,
       "'BSSL:' debug lines (DEBUG_BSSL) exist from 2.5.1"),
    _m("esp8266", "bearssl", r"BSSL:(?:_run_until: Timeout|CERT: |insecure_end_chain: expected )",
       "2.6.0", None, "this BSSL line is new in 2.6.0"),
    _m("esp8266", "bearssl", r"BSSL:connect: Name loopup failure", "2.5.1", "2.7.4",
       "'loopup' was corrected in 3.0.0"),
    _m("esp8266", "bearssl", r"BSSL:connect: Name lookup failure", "3.0.0", None,
       "'lookup' is spelt right from 3.0.0"),
    _m("esp8266", "bearssl", r"BSSL:write: no br_ssl engine", "3.1.0", None,
       "this BSSL line is new in 3.1.0"),
    _m("esp8266", "bearssl", r"BSSL:write: Connect/handshake not completed yet", "2.5.1", "3.0.2",
       "this BSSL line was removed in 3.1.0"),
    _m("esp8266", "axtls",
       r"^(?:State:\s+(?:sending|receiving) |Error: SSL error |=== CERTIFICATE ISSUED)",
       "2.3.0", "2.4.2",
       "axTLS debug lines: the default WiFiClientSecure up to 2.4.2"),
    _m("esp32", "mbedtls", r"NetworkClientSecure\.cpp|\[NetworkClientSecure", "3.0.0", None,
       "arduino-esp32 3.0.0 renamed WiFiClientSecure to NetworkClientSecure"),
    _m("esp32", "mbedtls", r"ssl_starttls_handshake\(\)", "3.0.0", None,
       "3.x runs the handshake in ssl_starttls_handshake(), split from start_ssl_client()"),
    _m("esp32", "mbedtls",
       r"\]\[ssl_client\.cpp:\d+\] (?:_handle_error\(\): \[start_ssl_client\(\):|"
       r"start_ssl_client\(\): (?:Performing the SSL|Verifying peer|Certificate verified|"
       r"Free internal heap after|Starting socket$))",
       "1.0.0", "2.99", "start_ssl_client() does the handshake itself up to 2.x (3.x split it)"),
    _m("esp32", "mbedtls", r"\]\[WiFiClientSecure\.cpp:", "1.0.0", "2.99",
       "WiFiClientSecure.cpp logs up to 2.x (3.0.0 renamed it NetworkClientSecure)"),
    _m("esp32", "mbedtls",
       r"^\s*\[\s*\d+\]\[[VDIWE]\]\[(?:ssl_client|WiFiClientSecure|NetworkClientSecure)\.cpp:",
       "2.0.0", None,
       "milliseconds before the level: esp32-hal-log's format from 2.0.0 (3.x's too, as recorded)"),
    _m("esp32", "mbedtls", r"^\s*\[[VDIWE]\]\[(?:ssl_client|WiFiClientSecure)\.cpp:",
       "1.0.0", "2.0.99", "the level first, no milliseconds: esp32-hal-log's 1.0.x format (early "
       "2.0.x printed it too)"),
    _m("esp32", "mbedtls", r"^\s*\[E\]\[ssl_client\.cpp:36\] _handle_error", "1.0.5", "1.0.6",
       "_handle_error's log_e is line 36 of ssl_client.cpp in 1.0.5-1.0.6"),
    _m("esp32", "mbedtls", r"^\s*\[E\]\[WiFiClientSecure\.cpp:127\] connect\(\): start_ssl_client:",
       "1.0.5", "1.0.6",
       "WiFiClientSecure.cpp logs start_ssl_client's error at line 127 in 1.0.5-1.0.6"),
    _m("esp32", "mbedtls",
       r"^\s*\[V\]\[ssl_client\.cpp:59\] start_ssl_client\(\): Free internal heap",
       "1.0.5", "1.0.6",
       "the heap line is line 59 of ssl_client.cpp in 1.0.5-1.0.6"),
)  # fmt: skip


@dataclass(frozen=True)
class CoreReading:
    """What a log says of the board's core release."""

    family: str | None = None  # "esp8266" / "esp32"
    stack: str | None = None
    version: Version | None = None  # named by a banner
    low: Version | None = None  # bounds the formats allow (inclusive)
    high: Version | None = None
    evidence: tuple[str, ...] = ()
    how: str = "none"  # "banner", "format" or "none"
    conflicts: tuple[str, ...] = ()

    @property
    def known(self) -> bool:
        return self.family is not None

    def allows(self, v: Version) -> bool:
        if self.version is not None:
            return v[: len(self.version)] == self.version
        return (self.low is None or v >= self.low) and (self.high is None or v <= self.high)

    def describe(self) -> str:
        name = {"esp8266": "ESP8266 Arduino core", "esp32": "arduino-esp32"}.get(
            self.family or "", "an unknown core"
        )
        if self.version is not None:
            return f"{name} {version_text(self.version)} (the boot banner names it)"
        if self.low is None and self.high is None:
            return f"{name}, release not told" if self.family else "no core release told"
        if self.high is None:
            span = f"{version_text(self.low)} or later"
        elif self.low is None:
            span = f"{version_text(self.high)} or earlier"
        elif self.low == self.high:
            span = version_text(self.low)
        else:
            span = f"{version_text(self.low)} to {version_text(self.high)}"
        return f"{name} {span} (from the log's line formats, not a banner: the range is a bound)"

    def to_json(self) -> dict[str, object]:
        return {
            "family": self.family,
            "stack": self.stack,
            "version": version_text(self.version) if self.version else None,
            "low": version_text(self.low) if self.low else None,
            "high": version_text(self.high) if self.high else None,
            "how": self.how,
            "evidence": list(self.evidence),
            "conflicts": list(self.conflicts),
        }


def _banner_stack(v: Version) -> str:
    return "axtls" if v < (2, 5) else "bearssl"


_MAX_READ = 2000


class CoreReader:
    """Fed serial events one by one (a log of any size), it keeps only the marks seen."""

    def __init__(self) -> None:
        self._banner: tuple[str, Version, str] | None = None
        self._marks: dict[int, str] = {}  # index in MARKS -> the first line it matched
        self._read: set[str] = set()  # stack lines already read (a big log repeats them)

    def feed(self, e: Event) -> None:
        if e.source is not Source.SERIAL:
            return
        if e.kind == "log_boot" and self._banner is None:
            chip, core = e.fields.get("chip"), str(e.fields.get("core") or "")
            v = parse_version(core)
            if v is not None:
                self._banner = (str(chip or "esp8266"), v, e.text.strip())
            return
        # Every mark is a stack's own line: other lines (most of a big log) are not read,
        # nor any once a banner named the release, nor a line read before. A log's formats
        # show in its first lines: past _MAX_READ distinct stack lines, reading stops.
        text = e.text
        if (
            self._banner is not None
            or not text
            or not e.fields.get("stack")
            or text in self._read
            or len(self._read) >= _MAX_READ
        ):
            return
        self._read.add(text)
        for i, mark in enumerate(MARKS):
            if i not in self._marks and mark.pattern.search(text):
                self._marks[i] = text.strip()[:100]

    @property
    def done(self) -> bool:
        """Nothing more will change the reading: a banner, or enough lines read."""
        return self._banner is not None or len(self._read) >= _MAX_READ

    def reading(self) -> CoreReading:
        if self._banner is not None:
            family, v, line = self._banner
            return CoreReading(
                family=family,
                stack=_banner_stack(v) if family == "esp8266" else "mbedtls",
                version=v,
                evidence=(f"boot banner: {line}",),
                how="banner",
            )
        if not self._marks:
            return CoreReading()
        families = {MARKS[i].family for i in self._marks}
        # Marks of two families: a log of two boards, or a paste of mixed output; the
        # family most marks name wins, the rest are shown as conflicts.
        family = max(families, key=lambda f: sum(MARKS[i].family == f for i in self._marks))
        low: Version | None = None
        high: Version | None = None
        evidence, conflicts, stack = [], [], None
        for i in sorted(self._marks):
            mark = MARKS[i]
            said = f"{mark.why}: {self._marks[i]!r}"
            if mark.family != family:
                conflicts.append(said)
                continue
            new_low = max(x for x in (low, mark.low) if x is not None) if mark.low or low else None
            new_high = (
                min(x for x in (high, mark.high) if x is not None) if mark.high or high else None
            )
            if new_low is not None and new_high is not None and new_low > new_high:
                conflicts.append(f"{said} (contradicts the marks before it)")
                continue
            low, high, stack = new_low, new_high, stack or mark.stack
            evidence.append(said)
        return CoreReading(
            family=family,
            stack=stack,
            low=low,
            high=high,
            evidence=tuple(evidence),
            how="format",
            conflicts=tuple(conflicts),
        )


def read_core(events: Iterable[Event]) -> CoreReading:
    reader = CoreReader()
    for e in events:
        reader.feed(e)
    return reader.reading()
