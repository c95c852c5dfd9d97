"""Server profiles: named TLS server configurations kept as data, one TOML file each.

A profile says what a server does (protocols, ciphers, DH, headers, which
certificate plan), never how a backend does it. Files live in `profiles/` next
to this module; the file name is the profile's name. Loading validates every
key, so a typo fails at load time with the file, the key and the fix, not as a
mysterious handshake later.
"""

from __future__ import annotations

import ssl
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from harness.errors import ConfigError

PROFILE_DIR = Path(__file__).resolve().parent / "profiles"

# The backends the project defines. The registry in harness.servers says which
# ones are implemented; a profile may name one that is planned (apache).
KNOWN_BACKENDS = ("builtin", "apache")

# DH groups a backend can serve without generating parameters (RFC 7919 PEMs shipped).
DH_GROUPS = ("ffdhe2048",)


class TlsVersion(StrEnum):
    TLS1_0 = "TLSv1.0"
    TLS1_1 = "TLSv1.1"
    TLS1_2 = "TLSv1.2"
    TLS1_3 = "TLSv1.3"

    @property
    def rank(self) -> int:
        return list(TlsVersion).index(self)

    @property
    def ssl_version(self) -> ssl.TLSVersion:
        return {
            TlsVersion.TLS1_0: ssl.TLSVersion.TLSv1,
            TlsVersion.TLS1_1: ssl.TLSVersion.TLSv1_1,
            TlsVersion.TLS1_2: ssl.TLSVersion.TLSv1_2,
            TlsVersion.TLS1_3: ssl.TLSVersion.TLSv1_3,
        }[self]


@dataclass(frozen=True)
class ServerProfile:
    name: str
    description: str
    source: str  # what configuration it imitates, and where that is published
    min_protocol: TlsVersion
    max_protocol: TlsVersion
    ciphers: str  # OpenSSL cipher string for TLS 1.2 and below
    honor_cipher_order: bool
    dh_params: str | None  # a name from DH_GROUPS, or None for no DHE
    compression: bool  # always False: OpenSSL 3 has no TLS compression to offer
    session_tickets: bool
    headers: tuple[tuple[str, str], ...]  # extra HTTP response headers, in order
    cert_plan: str
    backends: tuple[str, ...]
    notes: str = ""
    apache_lines: str = ""  # the original Apache config lines, for the apache backend
    path: Path | None = None  # the TOML it was loaded from


def list_profiles(directory: Path = PROFILE_DIR) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.toml"))


def load_profile(name: str, directory: Path = PROFILE_DIR) -> ServerProfile:
    path = directory / f"{name}.toml"
    if not path.is_file():
        raise ConfigError(
            f"unknown server profile {name!r}",
            seen=f"no {path}",
            fix=f"use one of: {', '.join(list_profiles(directory)) or '(none)'}",
        )
    return load_profile_file(path)


def load_profile_file(path: Path) -> ServerProfile:
    """Read and validate one profile TOML; every problem is a ConfigError naming file and key."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read", seen=str(exc), fix="check the path") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML", seen=str(exc), fix="fix the syntax") from None
    return _Validator(path, raw).profile()


_Check = Callable[[Any], Any]


class _Validator:
    def __init__(self, path: Path, raw: Mapping[str, Any]) -> None:
        self.path = path
        self.raw = raw

    def fail(self, key: str, problem: str, seen: Any, fix: str) -> ConfigError:
        return ConfigError(f"{self.path}: key {key!r}: {problem}", seen=repr(seen), fix=fix)

    def get(self, key: str, kind: type | tuple[type, ...], *, default: Any = ..., fix: str) -> Any:
        if key not in self.raw:
            if default is ...:
                raise self.fail(key, "missing", "(absent)", fix)
            return default
        value = self.raw[key]
        # bool is an int in Python; a TOML `true` must not pass for a number, or the reverse.
        wrong_bool = isinstance(value, bool) != (kind is bool)
        if not isinstance(value, kind) or wrong_bool:
            name = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            raise self.fail(key, f"expected {name}, got {type(value).__name__}", value, fix)
        return value

    def profile(self) -> ServerProfile:
        fields = {
            "description",
            "source",
            "min_protocol",
            "max_protocol",
            "ciphers",
            "honor_cipher_order",
            "dh_params",
            "compression",
            "session_tickets",
            "headers",
            "cert_plan",
            "backends",
            "notes",
            "apache_lines",
        }
        for key in self.raw:
            if key not in fields:
                raise self.fail(
                    key,
                    "unknown key",
                    self.raw[key],
                    f"remove it or use one of: {', '.join(sorted(fields))}",
                )
        versions = ", ".join(v.value for v in TlsVersion)
        min_v = self.version("min_protocol", versions)
        max_v = self.version("max_protocol", versions)
        if min_v.rank > max_v.rank:
            raise self.fail(
                "max_protocol",
                f"lower than min_protocol {min_v.value}",
                max_v.value,
                "swap them or widen the range",
            )
        ciphers = self.get("ciphers", str, fix="an OpenSSL cipher string, e.g. 'ECDHE+AESGCM'")
        self.check_ciphers(ciphers)
        dh = self.get("dh_params", str, default=None, fix=f"one of {', '.join(DH_GROUPS)}")
        if dh is not None and dh not in DH_GROUPS:
            raise self.fail(
                "dh_params", "unknown DH group", dh, f"use one of {', '.join(DH_GROUPS)}"
            )
        if self.get("compression", bool, default=False, fix="compression = false"):
            raise self.fail(
                "compression",
                "TLS compression cannot be served (OpenSSL 3 removed it; CRIME)",
                True,
                "set compression = false",
            )
        cert_plan = self.get("cert_plan", str, fix="name a plan from harness/certs.py")
        self.check_cert_plan(cert_plan)
        return ServerProfile(
            name=self.path.stem,
            description=self.get("description", str, fix="one line saying what this imitates"),
            source=self.get("source", str, fix="where the imitated configuration is published"),
            min_protocol=min_v,
            max_protocol=max_v,
            ciphers=ciphers,
            honor_cipher_order=self.get("honor_cipher_order", bool, fix="true or false"),
            dh_params=dh,
            compression=False,
            session_tickets=self.get("session_tickets", bool, fix="true or false"),
            headers=self.headers(),
            cert_plan=cert_plan,
            backends=self.backends(),
            notes=self.get("notes", str, default="", fix="a string"),
            apache_lines=self.get("apache_lines", str, default="", fix="a multi-line string"),
            path=self.path,
        )

    def version(self, key: str, versions: str) -> TlsVersion:
        value = self.get(key, str, fix=f"one of {versions}")
        try:
            return TlsVersion(value)
        except ValueError:
            raise self.fail(key, "unknown TLS version", value, f"use one of {versions}") from None

    def check_ciphers(self, ciphers: str) -> None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        try:
            ctx.set_ciphers(ciphers)
        except ssl.SSLError as exc:
            raise self.fail(
                "ciphers",
                "OpenSSL selects no cipher from this string",
                ciphers,
                "check the names with `openssl ciphers -v 'STRING'`",
            ) from exc

    def check_cert_plan(self, name: str) -> None:
        # Imported here: the builtin server's child process loads profiles too and
        # should not pay for importing `cryptography`.
        from harness.certs import list_plans

        if name not in list_plans():
            raise self.fail(
                "cert_plan",
                "unknown certificate plan",
                name,
                f"use one of: {', '.join(list_plans())}",
            )

    def headers(self) -> tuple[tuple[str, str], ...]:
        table = self.get("headers", dict, default={}, fix="a [headers] table of Name = 'value'")
        out = []
        for name, value in table.items():
            if not isinstance(value, str):
                raise self.fail(f"headers.{name}", "expected str", value, "quote the value")
            if not name.replace("-", "").isalnum() or "\n" in value or "\r" in value:
                raise self.fail(
                    f"headers.{name}",
                    "not a valid HTTP header",
                    f"{name}: {value}",
                    "use a token name (letters, digits, '-') and a one-line value",
                )
            out.append((name, value))
        return tuple(out)

    def backends(self) -> tuple[str, ...]:
        fix = f"a list from {', '.join(KNOWN_BACKENDS)}"
        value = self.get("backends", list, fix=fix)
        if not value:
            raise self.fail("backends", "empty", value, fix)
        for b in value:
            if b not in KNOWN_BACKENDS:
                raise self.fail("backends", f"unknown backend {b!r}", value, fix)
        return tuple(value)


def accepted_suites(profile: ServerProfile) -> tuple[int, ...]:
    """The suites (IANA numbers, server preference order) OpenSSL's expansion of the
    profile's cipher string allows for its protocol versions: what a diagnosis compares
    the board's offer with."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ciphers = profile.ciphers
    if profile.min_protocol.rank < TlsVersion.TLS1_2.rank:
        ciphers += ":@SECLEVEL=0"  # as the builtin backend serves it
    ctx.set_ciphers(ciphers)
    with_tls13 = profile.max_protocol is TlsVersion.TLS1_3
    return tuple(
        c["id"] & 0xFFFF for c in ctx.get_ciphers() if with_tls13 or c["protocol"] != "TLSv1.3"
    )
