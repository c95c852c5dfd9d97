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

from harness.instruments.certs import PLANS, get_plan, list_plans
from harness.model.errors import ConfigError
from harness.model.tls import BY_NAME

PROFILE_DIR = Path(__file__).resolve().parent / "profiles"

# The backends the project defines. The registry in harness.instruments.servers says which
# ones are implemented; a profile may name one that is planned (apache).
KNOWN_BACKENDS = ("builtin", "apache", "tlslite")

# DH groups a backend can serve without generating parameters (RFC 7919 PEMs shipped).
DH_GROUPS = ("ffdhe2048",)

# The TLS 1.3 suites OpenSSL 3 knows, and the ones it serves unless told otherwise
# (in its default order).
TLS13_SUITES = (
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_128_CCM_SHA256",
    "TLS_AES_128_CCM_8_SHA256",
)
TLS13_DEFAULT = TLS13_SUITES[:3]
TLS13_IDS = {
    "TLS_AES_128_GCM_SHA256": 0x1301,
    "TLS_AES_256_GCM_SHA384": 0x1302,
    "TLS_CHACHA20_POLY1305_SHA256": 0x1303,
    "TLS_AES_128_CCM_SHA256": 0x1304,
    "TLS_AES_128_CCM_8_SHA256": 0x1305,
}

# The ECDHE groups OpenSSL 3.0 serves when none are set, in its order (ssl/t1_lib.c,
# `supported_groups_default`, less the ffdhe groups, which only TLS 1.3 uses).
DEFAULT_GROUPS = ("X25519", "prime256v1", "X448", "secp521r1", "secp384r1")

# A body bigger than this is not a test of record sizes any more.
MAX_RESPONSE_BYTES = 1024 * 1024
MIN_RESPONSE_BYTES = 1024


class TlsVersion(StrEnum):
    TLS1_0 = "TLSv1.0"
    TLS1_1 = "TLSv1.1"
    TLS1_2 = "TLSv1.2"
    TLS1_3 = "TLSv1.3"

    @property
    def rank(self) -> int:
        return list(TlsVersion).index(self)

    @property
    def wire(self) -> int:
        return BY_NAME[self.value].wire

    @property
    def ssl_version(self) -> ssl.TLSVersion:
        return ssl.TLSVersion(self.wire)  # Python's values are the wire numbers


class ChainOrder(StrEnum):
    """What the server sends after its certificate (mirrors certs.ChainOrder)."""

    FULL = "full"  # leaf, then each intermediate (not the root)
    INCOMPLETE = "incomplete"  # the leaf alone: the intermediate is missing
    REVERSED = "reversed"  # leaf, then the intermediates root-side first


class SniPolicy(StrEnum):
    ANY = "any"  # serve whatever server name the client sends, or none
    STRICT = "strict"  # fatal unrecognized_name (112) unless SNI names the certificate's host


class MflnPolicy(StrEnum):
    """What the server does with a client's max_fragment_length request (RFC 6066)."""

    HONOUR = "honour"  # echo it and send records no larger (OpenSSL 1.1.1+: always)
    IGNORE = "ignore"  # no echo, full 16 KB records (servers without MFLN: tlslite-ng)


class ClientAuth(StrEnum):
    NONE = "none"
    OPTIONAL = "optional"  # CertificateRequest sent; a client without a certificate goes on
    REQUIRED = "required"  # no client certificate, no connection


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
    tls13_ciphersuites: tuple[str, ...] = ()  # empty: OpenSSL's default (TLS13_DEFAULT)
    curves: tuple[str, ...] = ()  # ECDHE groups, preferred first; empty: OpenSSL's default
    chain: ChainOrder = ChainOrder.FULL
    sni: SniPolicy = SniPolicy.ANY
    client_auth: ClientAuth = ClientAuth.NONE
    mfln: MflnPolicy = MflnPolicy.HONOUR
    response_bytes: int | None = None  # body size of a 200 response; None: the default page
    security_level: int | None = None  # OpenSSL @SECLEVEL; None: see `effective_security_level`

    @property
    def versions(self) -> tuple[TlsVersion, ...]:
        """The protocol versions served, oldest first."""
        return tuple(
            v for v in TlsVersion if self.min_protocol.rank <= v.rank <= self.max_protocol.rank
        )

    @property
    def groups(self) -> tuple[str, ...]:
        """The ECDHE groups served (OpenSSL names): `curves`, or OpenSSL's default list.
        Both backends serve exactly these; the sslyze pass checks it."""
        return self.curves or DEFAULT_GROUPS

    @property
    def effective_security_level(self) -> int | None:
        """The OpenSSL security level to serve at (None: the system's default).

        OpenSSL 3 refuses TLS 1.0 and 1.1 at level 1 and above (Debian's default is
        2). The imitated servers ran OpenSSL 1.0.2, which had no levels; level 0
        gives their behaviour back. The cipher string still decides the suites.
        """
        if self.security_level is not None:
            return self.security_level
        return 0 if self.min_protocol.rank < TlsVersion.TLS1_2.rank else None

    @property
    def cipher_string(self) -> str:
        """`ciphers` with the security level appended: what a backend hands OpenSSL."""
        level = self.effective_security_level
        return self.ciphers if level is None else f"{self.ciphers}:@SECLEVEL={level}"


def list_profiles(directory: Path = PROFILE_DIR) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.toml"))


def load_profile(name: str, directory: Path = PROFILE_DIR) -> ServerProfile:
    path = directory / f"{name}.toml"
    # By name from the catalogue only: a name with a '/' would load any file.
    if name not in list_profiles(directory):
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

    FIELDS = (
        "description",
        "source",
        "min_protocol",
        "max_protocol",
        "ciphers",
        "tls13_ciphersuites",
        "curves",
        "honor_cipher_order",
        "dh_params",
        "compression",
        "session_tickets",
        "security_level",
        "headers",
        "cert_plan",
        "chain",
        "sni",
        "client_auth",
        "mfln",
        "response_bytes",
        "backends",
        "notes",
        "apache_lines",
    )

    def profile(self) -> ServerProfile:
        for key in self.raw:
            if key not in self.FIELDS:
                raise self.fail(
                    key,
                    "unknown key",
                    self.raw[key],
                    f"remove it or use one of: {', '.join(sorted(self.FIELDS))}",
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
        level = self.security_level()
        self.check_ciphers(ciphers, level, min_v)
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
        cert_plan = self.get("cert_plan", str, fix="name a plan from harness/instruments/certs.py")
        plan = self.check_cert_plan(cert_plan)
        profile = ServerProfile(
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
            tls13_ciphersuites=self.tls13_ciphersuites(max_v),
            curves=self.curves(),
            chain=self.choice("chain", ChainOrder, ChainOrder.FULL),
            sni=self.choice("sni", SniPolicy, SniPolicy.ANY),
            client_auth=self.choice("client_auth", ClientAuth, ClientAuth.NONE),
            mfln=self.choice("mfln", MflnPolicy, MflnPolicy.HONOUR),
            response_bytes=self.response_bytes(),
            security_level=level,
        )
        self.check_against_plan(profile, plan)
        return profile

    def choice(self, key: str, enum: type[StrEnum], default: StrEnum) -> Any:
        names = ", ".join(repr(e.value) for e in enum)
        value = self.get(key, str, default=default.value, fix=f"one of {names}")
        try:
            return enum(value)
        except ValueError:
            raise self.fail(key, f"unknown {key} value", value, f"use one of {names}") from None

    def security_level(self) -> int | None:
        fix = "an OpenSSL security level 0..5 (0 serves what OpenSSL 1.0.2 served)"
        level = self.get("security_level", int, default=None, fix=fix)
        if level is not None and not 0 <= level <= 5:
            raise self.fail("security_level", "out of range", level, fix)
        return level

    def tls13_ciphersuites(self, max_v: TlsVersion) -> tuple[str, ...]:
        fix = f"a list from {', '.join(TLS13_SUITES)}"
        value = self.get("tls13_ciphersuites", list, default=[], fix=fix)
        if "tls13_ciphersuites" in self.raw and not value:
            raise self.fail("tls13_ciphersuites", "empty", value, f"{fix}, or remove the key")
        for name in value:
            if name not in TLS13_SUITES:
                raise self.fail("tls13_ciphersuites", f"unknown TLS 1.3 suite {name!r}", value, fix)
        if value and max_v is not TlsVersion.TLS1_3:
            raise self.fail(
                "tls13_ciphersuites",
                f"given, but max_protocol is {max_v.value}",
                value,
                "set max_protocol = 'TLSv1.3' or remove tls13_ciphersuites",
            )
        return tuple(value)

    def curves(self) -> tuple[str, ...]:
        fix = "a list of OpenSSL group names, e.g. ['X25519', 'prime256v1', 'secp384r1']"
        value = self.get("curves", list, default=[], fix=fix)
        for name in value:
            if not isinstance(name, str):
                raise self.fail("curves", f"expected str, got {type(name).__name__}", value, fix)
            try:
                ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).set_ecdh_curve(name)
            except ValueError:
                raise self.fail(
                    "curves",
                    f"OpenSSL does not know the group {name!r}",
                    value,
                    "check the names with `openssl ecparam -list_curves`",
                ) from None
        return tuple(value)

    def response_bytes(self) -> int | None:
        fix = f"a body size in bytes, {MIN_RESPONSE_BYTES}..{MAX_RESPONSE_BYTES}"
        value = self.get("response_bytes", int, default=None, fix=fix)
        if value is not None and not MIN_RESPONSE_BYTES <= value <= MAX_RESPONSE_BYTES:
            raise self.fail("response_bytes", "out of range", value, fix)
        return value

    def check_against_plan(self, profile: ServerProfile, plan: Any) -> None:
        """What the profile asks of its certificate plan, and suites it can serve with it."""
        needed = {ChainOrder.INCOMPLETE: 1, ChainOrder.REVERSED: 2}.get(profile.chain, 0)
        if plan.intermediates < needed:
            raise self.fail(
                "chain",
                f"{profile.chain.value!r} needs a certificate plan with at least {needed} "
                f"intermediate(s); {plan.name!r} has {plan.intermediates}",
                profile.chain.value,
                "use a CA-issued plan (ca-rsa-2048, or ca-rsa-2048-deep for 'reversed')",
            )
        if profile.client_auth is not ClientAuth.NONE and not plan.client_cert:
            raise self.fail(
                "client_auth",
                f"certificate plan {plan.name!r} makes no client certificate",
                profile.client_auth.value,
                "use a plan with client_cert=True (client-auth)",
            )
        if profile.min_protocol.rank <= TlsVersion.TLS1_2.rank:
            below_13 = [v for v in profile.versions if v is not TlsVersion.TLS1_3]
            if not any(_served_suites(profile, plan.key_type, v) for v in below_13):
                raise self.fail(
                    "ciphers",
                    f"no suite of this string can be served with the {plan.key_type.upper()} "
                    f"key of plan {plan.name!r} at {', '.join(v.value for v in below_13)}",
                    profile.ciphers,
                    "add suites for that key type (e.g. ECDHE-ECDSA-* for an ECDSA key), or "
                    "set dh_params for DHE suites",
                )

    def version(self, key: str, versions: str) -> TlsVersion:
        value = self.get(key, str, fix=f"one of {versions}")
        try:
            return TlsVersion(value)
        except ValueError:
            raise self.fail(key, "unknown TLS version", value, f"use one of {versions}") from None

    def check_ciphers(self, ciphers: str, level: int | None, min_v: TlsVersion) -> None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        if level is None and min_v.rank < TlsVersion.TLS1_2.rank:
            level = 0
        try:
            ctx.set_ciphers(ciphers if level is None else f"{ciphers}:@SECLEVEL={level}")
        except ssl.SSLError as exc:
            raise self.fail(
                "ciphers",
                "OpenSSL selects no cipher from this string",
                ciphers,
                "check the names with `openssl ciphers -v 'STRING'`",
            ) from exc

    def check_cert_plan(self, name: str) -> Any:
        if name not in PLANS:
            raise self.fail(
                "cert_plan",
                "unknown certificate plan",
                name,
                f"use one of: {', '.join(list_plans())}",
            )
        return PLANS[name]

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


def accepted_suites(profile: ServerProfile, version: TlsVersion | None = None) -> tuple[int, ...]:
    """The suites (IANA numbers, server preference order) the profile serves: OpenSSL's
    expansion of its cipher string, kept to what a server with the profile's certificate
    key and DH parameters can negotiate, for `version` (None: any version it serves).
    What a diagnosis compares the board's offer with, and what the proofs enumerate."""
    return _served_suites(profile, get_plan(profile.cert_plan).key_type, version)


def _served_suites(
    profile: ServerProfile, key_type: str, version: TlsVersion | None
) -> tuple[int, ...]:
    if version is None:
        versions = profile.versions
    else:
        versions = (version,) if version in profile.versions else ()
    out: list[int] = []
    if TlsVersion.TLS1_3 in versions:
        out += [TLS13_IDS[n] for n in profile.tls13_ciphersuites or TLS13_DEFAULT]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.set_ciphers(profile.cipher_string)
    for suite in ctx.get_ciphers():
        if suite["protocol"] == "TLSv1.3":
            continue
        if not any(suite_usable_at(suite["protocol"], v) for v in versions):
            continue
        if _servable(suite["auth"], suite["kea"], key_type, profile.dh_params is not None):
            out.append(suite["id"] & 0xFFFF)
    return tuple(out)


def suite_usable_at(suite_protocol: str, version: TlsVersion) -> bool:
    """Whether a TLS 1.2-and-below suite (OpenSSL's `protocol` of it) works at `version`:
    AEAD and SHA-256 suites need TLS 1.2; the older ones work at 1.0 to 1.2."""
    if version is TlsVersion.TLS1_3 or suite_protocol == "TLSv1.3":
        return False
    return suite_protocol != "TLSv1.2" or version is TlsVersion.TLS1_2


def _servable(auth: str, kea: str, key_type: str, has_dh: bool) -> bool:
    """Whether a server with a `key_type` certificate (and DH parameters or not) can
    negotiate a suite: no PSK/SRP callbacks, no DSA key; DHE needs parameters (OpenSSL
    has no automatic DH for Python's ssl)."""
    auth_ok = {
        "auth-rsa": key_type == "rsa",
        "auth-ecdsa": key_type == "ecdsa",
        "auth-null": True,
    }.get(auth, False)
    kea_ok = {"kx-ecdhe": True, "kx-rsa": key_type == "rsa", "kx-dhe": has_dh}.get(kea, False)
    return auth_ok and kea_ok
