"""Board core releases as data: one TOML per release in this folder, each fact with its source.

A release (e.g. ESP8266 Arduino core 3.1.2) says which TLS stack its WiFiClientSecure
uses, the suites it offers and in which order, buffers, timeouts, what happens with
no trust method, error texts, debug lines and which APIs exist. The twin's build and
the board registry are made from these files; nothing in code asks `if version`.

Every fact key of a section must have an entry in that section's `sources` table:
a fact without a source is refused on load.

A release that ships a second TLS class beside its default one (core 2.4.2: the axTLS
`WiFiClientSecure` and `BearSSL::WiFiClientSecure`) describes it in `[extra.<stack>]`:
its own personality, tls, buffers, trust, timeouts, errors, log and api tables, each
with sources; the rest (version, source, httpclient, platformio) is the release's.
It is loaded as a CoreRelease of its own (`CoreRelease.extra`), and the twin builds
both personalities into one firmware.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from harness.model.errors import ConfigError

CORES_DIR = Path(__file__).resolve().parent

FAMILIES = ("esp8266", "esp32")
STACKS = ("axtls", "bearssl", "mbedtls")
# esp32-mbedtls3: arduino-esp32 3.x, whose twin runs mbedTLS 3 (built by `hil setup`).
PERSONALITIES = ("esp8266-axtls", "esp8266-bearssl", "esp32-mbedtls", "esp32-mbedtls3")
TLS_VERSIONS = ("TLS1.0", "TLS1.1", "TLS1.2", "TLS1.3")
TRUST_BEHAVIOURS = ("handshake-fails", "connects-unverified", "refused")


@dataclass(frozen=True)
class SourceRef:
    repo: str
    tag: str
    commit: str


@dataclass(frozen=True)
class TlsFacts:
    min_version: str
    max_version: str
    default_suites: tuple[int, ...]  # offered in this order (no signalling suites)
    less_secure_suites: tuple[int, ...]  # setCiphersLessSecure(); () = no such API
    groups: tuple[int, ...] = ()  # supported_groups to set explicitly; () = the library's
    signature_algorithms: tuple[int, ...] = ()
    extensions: tuple[int, ...] = ()  # recorded extension order (for comparison only)
    # TLS 1.0 CBC data split 1/n-1 (mbedTLS's MBEDTLS_SSL_CBC_RECORD_SPLITTING);
    # None: not a fact of this release (the library's default).
    cbc_record_splitting: bool | None = None


@dataclass(frozen=True)
class BufferFacts:
    recv: int
    xmit: int
    recv_overhead: int
    xmit_overhead: int
    mfln_lengths: tuple[int, ...]
    # The extensions of probeMaxFragmentLength's hand-made ClientHello, in order;
    # () = the layout of 2.5.0+ (signature_algorithms, supported_groups,
    # ec_point_formats, max_fragment_length), which the twin has in code.
    mfln_probe_extensions: tuple[int, ...] = ()


@dataclass(frozen=True)
class TrustFacts:
    without_method: str  # one of TRUST_BEHAVIOURS
    message: str  # what a debug build prints about it; "" = nothing


@dataclass(frozen=True)
class TimeoutFacts:
    handshake_ms: int
    after_connect_ms: int


@dataclass(frozen=True)
class ErrorFacts:
    text: Mapping[int, str]
    recv_fatal_prefix: str
    send_fatal_prefix: str
    ok_text: str
    unknown_text: str


@dataclass(frozen=True)
class LogFacts:
    level: str  # the debug level these lines need
    prefix: str
    lines: Mapping[str, str | int]  # "" = the line does not exist in this release


@dataclass(frozen=True)
class ApiFacts:
    cls: str
    default_class_is_bearssl: bool
    present: tuple[str, ...]
    absent: tuple[str, ...]
    deprecated: tuple[str, ...]


@dataclass(frozen=True)
class PlatformioFacts:
    platform: str  # e.g. "platformio/espressif8266@4.2.1"
    framework_package: str


@dataclass(frozen=True)
class CoreRelease:
    id: str  # "esp8266-3.1.2"
    family: str
    chip: str
    version: str
    stack: str
    personality: str
    release_date: str  # YYYY-MM-DD or "unknown"
    aliases: tuple[str, ...]  # board aliases, e.g. ("twin-esp8266-bearssl",)
    source: SourceRef
    tls: TlsFacts
    buffers: BufferFacts
    trust: TrustFacts
    timeouts: TimeoutFacts
    errors: ErrorFacts
    log: LogFacts
    api: ApiFacts
    httpclient_errors: Mapping[int, str]  # code -> HTTPC_ERROR_* name
    httpclient_texts: Mapping[int, str]  # code -> errorToString() text
    # The header lines of HTTPClient's GET after the request line, in order; "{hostport}"
    # is the host with ":port" unless the port is 80 or 443. Empty: not recorded (the
    # twin sends Host, User-Agent and Connection: close).
    httpclient_headers: tuple[str, ...]
    platformio: PlatformioFacts
    sources: Mapping[str, str]  # "section.key" -> where the fact comes from
    path: Path
    # The release's other TLS classes ([extra.<stack>]): same release, another stack.
    extra: tuple[CoreRelease, ...] = ()

    def personality_release(self, stack: str) -> CoreRelease | None:
        """This release's class on `stack` (the default class or an extra one)."""
        if self.stack == stack:
            return self
        return next((x for x in self.extra if x.stack == stack), None)

    @property
    def version_tuple(self) -> tuple[int, ...]:
        # A release line ("3.x"): 99 stands for any, as in the log readings' versions
        # (harness/analysis/logformats/coreversion.py), so it sorts after every 2.y.z and
        # falls in a reading "3.0.0 or later".
        return tuple(int(p) if p.isdigit() else 99 for p in self.version.split("."))

    def has_api(self, name: str) -> bool:
        return name in self.api.present


class _Reader:
    """Typed access to one TOML table; every error names the file, the key and the fix."""

    def __init__(self, path: Path, table: Mapping[str, Any], where: str = "") -> None:
        self.path = path
        self.table = table
        self.where = where

    def _err(self, key: str, problem: str, fix: str) -> ConfigError:
        name = f"{self.where}.{key}" if self.where else key
        return ConfigError(f"{self.path.name}: key {name!r}: {problem}", fix=fix)

    def get(self, key: str, kind: type | tuple[type, ...], *, example: str) -> Any:
        if key not in self.table:
            raise self._err(
                key, "missing", f"add {key} = {example} (see the other files in {CORES_DIR})"
            )
        value = self.table[key]
        # bool is an int in Python: refuse it where a number is meant.
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
            raise self._err(
                key, f"expected {_kind_name(kind)}, got {value!r}", f"write it as {key} = {example}"
            )
        return value

    def choice(self, key: str, choices: tuple[str, ...]) -> str:
        value = self.get(key, str, example=f'"{choices[0]}"')
        if value not in choices:
            raise self._err(
                key,
                f"{value!r} is not one of {', '.join(choices)}",
                f"use one of: {', '.join(choices)}",
            )
        return value

    def ints(self, key: str, *, default: tuple[int, ...] | None = None) -> tuple[int, ...]:
        if default is not None and key not in self.table:
            return default
        values = self.get(key, list, example="[0x002F, 0x0035]")
        for v in values:
            if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= 0xFFFF:
                raise self._err(key, f"{v!r} is not a 16-bit number", "list numbers such as 0xC02F")
        return tuple(values)

    def strs(self, key: str) -> tuple[str, ...]:
        values = self.get(key, list, example='["setInsecure"]')
        if not all(isinstance(v, str) for v in values):
            raise self._err(key, "expected a list of strings", f'write it as {key} = ["a", "b"]')
        return tuple(values)

    def sub(self, key: str) -> _Reader:
        return _Reader(
            self.path,
            self.get(key, dict, example="{ ... } (a table)"),
            key if not self.where else f"{self.where}.{key}",
        )

    def codes(self, key: str) -> Mapping[int, str]:
        table = self.get(key, dict, example='{ "-1" = "text" }')
        out: dict[int, str] = {}
        for code, text in table.items():
            if not re.fullmatch(r"-?\d+", code) or not isinstance(text, str):
                raise self._err(
                    f"{key}.{code}",
                    "expected a numeric code with a text",
                    f'write it as "{code}" = "text"',
                )
            out[int(code)] = text
        return MappingProxyType(out)


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(
        {
            "str": "a string",
            "int": "a number",
            "list": "a list",
            "dict": "a table",
            "bool": "true/false",
        }.get(k.__name__, k.__name__)
        for k in kinds
    )


def _sources(section: _Reader, facts: list[str], sources: dict[str, str]) -> None:
    """Every fact of the section needs a source; collect them as 'section.key'."""
    table = section.sub("sources")
    for key in facts:
        text = table.get(key, str, example='"repo@commit:file:line"')
        if not text.strip():
            raise table._err(
                key, "empty source", "say where the fact comes from, or 'unknown: why'"
            )
        sources[f"{section.where}.{key}"] = text


BUFFER_KEYS = ("recv", "xmit", "recv_overhead", "xmit_overhead", "mfln_lengths")
BUFFER_KEYS += ("mfln_probe_extensions",)  # optional

# The tables an [extra.<stack>] class replaces; the others are the release's.
EXTRA_TABLES = ("personality", "tls", "buffers", "trust", "timeouts", "errors", "log", "api")


def load_release(path: Path) -> CoreRelease:
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(
            f"{path.name}: not valid TOML: {e}", fix=f"fix the syntax of {path}"
        ) from None
    extra_tables = data.pop("extra", {})
    if not isinstance(extra_tables, dict):
        raise ConfigError(
            f"{path.name}: key 'extra': expected a table of classes",
            fix="write [extra.<stack>] tables (see esp8266-2.4.2.toml)",
        )
    release = _release(path, data, "")
    extras = []
    for stack, table in extra_tables.items():
        where = f"extra.{stack}"
        if stack not in STACKS or stack == release.stack or not isinstance(table, dict):
            raise ConfigError(
                f"{path.name}: key {where!r}: not a second stack of this release",
                fix=f"name one of {', '.join(s for s in STACKS if s != release.stack)}",
            )
        missing = [k for k in EXTRA_TABLES if k not in table]
        unknown = sorted(set(table) - set(EXTRA_TABLES))
        if missing or unknown:
            raise ConfigError(
                f"{path.name}: key {where!r}: "
                + (f"lacks {', '.join(missing)}" if missing else f"has {', '.join(unknown)}"),
                fix=f"an extra class has exactly the tables {', '.join(EXTRA_TABLES)}",
            )
        merged = {**data, **table, "stack": stack, "aliases": []}
        extras.append(_release(path, merged, where))
    return replace(release, extra=tuple(extras)) if extras else release


def _release(path: Path, data: dict[str, Any], where: str) -> CoreRelease:
    r = _Reader(path, data, where)
    sources: dict[str, str] = {}
    rid = r.get("id", str, example='"esp8266-3.1.2"')
    family = r.choice("family", FAMILIES)
    version = r.get("version", str, example='"3.1.2"')
    # x.y.z, or a release line "x.x" when the exact release of the facts is not known.
    if not re.fullmatch(r"\d+\.\d+\.\d+|\d+\.x", version):
        raise r._err(
            "version",
            f"{version!r} is not x.y.z (or a release line such as 3.x)",
            'write it as version = "3.1.2"',
        )
    if rid != f"{family}-{version}" or path.stem != rid:
        raise r._err(
            "id",
            f"{rid!r} must be '{family}-{version}' and the file name {rid}.toml",
            f"rename the file to {family}-{version}.toml and set id to match",
        )
    release_date = r.get("release_date", str, example='"2023-03-20"')
    if release_date != "unknown" and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", release_date):
        raise r._err("release_date", f"{release_date!r}", 'write YYYY-MM-DD or "unknown"')

    src = r.sub("source")
    source = SourceRef(
        src.get("repo", str, example='"esp8266/Arduino"'),
        src.get("tag", str, example='"3.1.2"'),
        src.get("commit", str, example='"<40 hex digits>"'),
    )
    if not re.fullmatch(r"[0-9a-f]{40}", source.commit):
        raise src._err(
            "commit",
            f"{source.commit!r} is not a full commit hash",
            "give the 40-digit commit of the tag",
        )
    sources["source.release_date"] = src.get(
        "release_date", str, example='"where the date comes from"'
    )

    t = r.sub("tls")
    tls = TlsFacts(
        t.choice("min_version", TLS_VERSIONS),
        t.choice("max_version", TLS_VERSIONS),
        t.ints("default_suites"),
        t.ints("less_secure_suites"),
        t.ints("groups", default=()),
        t.ints("signature_algorithms", default=()),
        t.ints("extensions", default=()),
        t.get("cbc_record_splitting", bool, example="false")
        if "cbc_record_splitting" in t.table
        else None,
    )
    if not tls.default_suites:
        raise t._err(
            "default_suites", "empty", "list the suites the core offers by default, in order"
        )
    if TLS_VERSIONS.index(tls.min_version) > TLS_VERSIONS.index(tls.max_version):
        raise t._err(
            "min_version", f"{tls.min_version} is above max_version {tls.max_version}", "swap them"
        )
    _sources(
        t,
        [
            k
            for k in (
                "min_version",
                "max_version",
                "default_suites",
                "less_secure_suites",
                "groups",
                "signature_algorithms",
                "extensions",
                "cbc_record_splitting",
            )
            if k in t.table
        ],
        sources,
    )

    b = r.sub("buffers")
    buffers = BufferFacts(
        *(
            b.get(k, int, example="16384")
            for k in ("recv", "xmit", "recv_overhead", "xmit_overhead")
        ),
        b.ints("mfln_lengths"),
        b.ints("mfln_probe_extensions", default=()),
    )
    _sources(
        b,
        [k for k in BUFFER_KEYS if k in b.table],
        sources,
    )

    tr = r.sub("trust")
    trust = TrustFacts(
        tr.choice("without_method", TRUST_BEHAVIOURS), tr.get("message", str, example='""')
    )
    _sources(tr, ["without_method", "message"], sources)

    to = r.sub("timeouts")
    timeouts = TimeoutFacts(
        to.get("handshake_ms", int, example="15000"),
        to.get("after_connect_ms", int, example="5000"),
    )
    if timeouts.handshake_ms <= 0:
        raise to._err(
            "handshake_ms", "must be positive", "give the handshake deadline in milliseconds"
        )
    _sources(to, ["handshake_ms", "after_connect_ms"], sources)

    e = r.sub("errors")
    errors = ErrorFacts(
        e.codes("text"),
        *(
            e.get(k, str, example='""')
            for k in ("recv_fatal_prefix", "send_fatal_prefix", "ok_text", "unknown_text")
        ),
    )
    _sources(
        e, ["text", "recv_fatal_prefix", "send_fatal_prefix", "ok_text", "unknown_text"], sources
    )

    lg = r.sub("log")
    lines = lg.get("lines", dict, example='{ name = "text" }')
    for k, v in lines.items():
        if not isinstance(v, (str, int)) or isinstance(v, bool):
            raise lg._err(
                f"lines.{k}",
                f"{v!r}",
                'a log line is a string ("" when absent) or a source line number',
            )
    log = LogFacts(
        lg.get("level", str, example='"SSL"'),
        lg.get("prefix", str, example='"BSSL:"'),
        MappingProxyType(dict(lines)),
    )
    _sources(lg, ["prefix", *lines], sources)

    a = r.sub("api")
    api = ApiFacts(
        a.get("class", str, example='"WiFiClientSecure"'),
        a.get("default_class_is_bearssl", bool, example="true"),
        a.strs("present"),
        a.strs("absent"),
        a.strs("deprecated"),
    )
    both = set(api.present) & set(api.absent)
    if both:
        raise a._err(
            "absent",
            f"{sorted(both)} are also listed as present",
            "list each API in one of present/absent",
        )
    if not set(api.deprecated) <= set(api.present):
        raise a._err(
            "deprecated",
            f"{sorted(set(api.deprecated) - set(api.present))} are not present",
            "a deprecated API must be present",
        )
    _sources(a, [*api.present, *api.absent, "class", "default_class_is_bearssl"], sources)

    h = r.sub("httpclient")
    httpclient_errors = h.codes("errors")
    httpclient_texts = h.codes("texts")
    _sources(h, ["errors", "texts"], sources)
    httpclient_headers: tuple[str, ...] = ()
    if "request_headers" in h.table:
        headers = h.get("request_headers", list, example='["Host: {hostport}", "..."]')
        if not all(isinstance(x, str) and x for x in headers):
            raise h._err("request_headers", "expected header lines", 'write ["Name: value"]')
        httpclient_headers = tuple(headers)
        _sources(h, ["request_headers"], sources)

    p = r.sub("platformio")
    platformio = PlatformioFacts(
        p.get("platform", str, example='"platformio/espressif8266@4.2.1"'),
        p.get(
            "framework_package",
            str,
            example='"platformio/framework-arduinoespressif8266@~3.30102.0"',
        ),
    )
    _sources(p, ["platform", "framework_package"], sources)

    personality = r.choice("personality", PERSONALITIES)
    stack = r.choice("stack", STACKS)
    if not personality.startswith(family) or stack not in personality:
        raise r._err(
            "personality",
            f"{personality!r} does not fit family {family!r} and stack {stack!r}",
            f"use {family}-{stack}",
        )
    return CoreRelease(
        id=rid,
        family=family,
        chip=r.get("chip", str, example='"ESP8266"'),
        version=version,
        stack=stack,
        personality=personality,
        release_date=release_date,
        aliases=r.strs("aliases"),
        source=source,
        tls=tls,
        buffers=buffers,
        trust=trust,
        timeouts=timeouts,
        errors=errors,
        log=log,
        api=api,
        httpclient_errors=httpclient_errors,
        httpclient_texts=httpclient_texts,
        httpclient_headers=httpclient_headers,
        platformio=platformio,
        sources=MappingProxyType(sources),
        path=path,
    )


def load_releases(folder: Path = CORES_DIR) -> tuple[CoreRelease, ...]:
    """All releases in `folder`, ordered by family then version."""
    releases = [load_release(p) for p in sorted(folder.glob("*.toml"))]
    if not releases:
        raise ConfigError(f"no core release data (*.toml) in {folder}", fix="reinstall the package")
    seen: dict[str, str] = {}
    for rel in releases:
        for alias in rel.aliases:
            if alias in seen:
                raise ConfigError(
                    f"{rel.path.name}: key 'aliases': {alias!r} is also an alias of {seen[alias]}",
                    fix="give each alias to one release only",
                )
            seen[alias] = rel.id
    return tuple(sorted(releases, key=lambda x: (x.family, x.version_tuple)))


@cache
def releases() -> tuple[CoreRelease, ...]:
    """The shipped releases (loaded once; the files are package data)."""
    return load_releases(CORES_DIR)


def versions_with_api(family: str, name: str) -> tuple[str, ...]:
    """Versions of `family` whose default class has API `name` (for error messages)."""
    return tuple(r.version for r in releases() if r.family == family and r.has_api(name))
