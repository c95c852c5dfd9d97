"""Certificates for the test server, made with `cryptography` (a layer-3 adapter).

A `CertPlan` says how a certificate is shaped (key, subject, extensions,
validity); `make_certs` turns a plan and a host into files: PEM and DER
certificate, private key, and a C header the sketch compiles in.

Determinism matters here: the header is compiled into the firmware, and the
harness skips a flash when the firmware did not change. So keys are cached and
reused, validity is either absolute or day-granular, the serial number is derived
from the plan, and RSA PKCS#1 v1.5 signatures are deterministic: the same plan,
key, host and day give the same bytes.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import logging
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from harness.errors import ConfigError

log = logging.getLogger(__name__)

_NAME_OIDS: Mapping[str, x509.ObjectIdentifier] = MappingProxyType(
    {
        "C": NameOID.COUNTRY_NAME,
        "ST": NameOID.STATE_OR_PROVINCE_NAME,
        "L": NameOID.LOCALITY_NAME,
        "O": NameOID.ORGANIZATION_NAME,
        "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
        "CN": NameOID.COMMON_NAME,
        "emailAddress": NameOID.EMAIL_ADDRESS,
    }
)

_HASHES: Mapping[str, type[hashes.HashAlgorithm]] = MappingProxyType(
    {
        "sha1": hashes.SHA1,
        "sha256": hashes.SHA256,
        "sha384": hashes.SHA384,
        "sha512": hashes.SHA512,
    }
)

_KEY_TYPES = ("rsa",)
_C_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

HEADER_NAME = "hil_ca_cert.h"
HEADER_SYMBOL = "hil_ca_cert_der"


@dataclass(frozen=True)
class CertPlan:
    """How a server certificate is made.

    Validity is absolute when `not_before` is set (notAfter = notBefore + `days`,
    as `openssl req -x509 -days N` does), otherwise relative to the day of issue:
    notBefore = that day 00:00 UTC + `start_offset_days`. Either way notAfter is
    never later than `not_after_cap`. `{host}` in subject values and SANs is
    replaced by the host the certificate is made for.
    """

    name: str
    description: str
    subject: tuple[tuple[str, str], ...]
    key_type: str = "rsa"
    key_size: int = 2048
    signature_hash: str = "sha256"
    sans: tuple[str, ...] = ()  # empty: no subjectAltName extension at all
    ca: bool = True  # self-signed, basicConstraints critical CA:TRUE, no pathLen
    not_before: datetime | None = None
    days: int = 825
    start_offset_days: int = -1
    not_after_cap: datetime | None = None

    def __post_init__(self) -> None:
        where = f"certificate plan {self.name!r}"
        if self.key_type not in _KEY_TYPES:
            raise ConfigError(
                f"{where}: key_type {self.key_type!r} is not supported",
                fix=f"use one of {', '.join(_KEY_TYPES)}",
            )
        if self.key_size < 1024 or self.key_size % 8:
            raise ConfigError(
                f"{where}: key_size {self.key_size} is not a usable RSA size",
                fix="use 1024, 2048, 3072, 4096 or 8192",
            )
        if self.signature_hash not in _HASHES:
            raise ConfigError(
                f"{where}: signature_hash {self.signature_hash!r} is not supported",
                fix=f"use one of {', '.join(_HASHES)}",
            )
        if not self.subject:
            raise ConfigError(f"{where}: empty subject", fix="give at least CN={host}")
        for attr, _ in self.subject:
            if attr not in _NAME_OIDS:
                raise ConfigError(
                    f"{where}: unknown subject attribute {attr!r}",
                    fix=f"use one of {', '.join(_NAME_OIDS)}",
                )
        for label, value in (("not_before", self.not_before), ("cap", self.not_after_cap)):
            if value is not None and value.utcoffset() != timedelta(0):
                raise ConfigError(
                    f"{where}: {label} {value!r} is not a UTC datetime",
                    fix="give datetimes with tzinfo=UTC",
                )
        if self.days <= 0:
            raise ConfigError(f"{where}: days={self.days}", fix="give a positive number of days")

    def validity(self, now: datetime | None = None) -> tuple[datetime, datetime]:
        """(notBefore, notAfter) of a certificate issued at `now` (default: the current time)."""
        if self.not_before is not None:
            start = self.not_before
        else:
            now = now or datetime.now(UTC)
            day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
            start = day + timedelta(days=self.start_offset_days)
        end = start + timedelta(days=self.days)
        if self.not_after_cap is not None:
            end = min(end, self.not_after_cap)
        return start, end


_FOUNDING_SUBJECT = (
    ("C", "JP"),
    ("ST", "Japan"),
    ("L", "Tokyo"),
    ("O", "BestMe CO."),
    ("OU", "MIS"),
    ("CN", "{host}"),
    ("emailAddress", "mis@bestme.example"),
)

PLANS: Mapping[str, CertPlan] = MappingProxyType(
    {
        p.name: p
        for p in (
            CertPlan(
                name="founding-report",
                description=(
                    "esp8266/Arduino #4807: DigitalOcean 2016 tutorial self-signed cert, "
                    "`openssl req -x509 -days 36500`; notAfter 2118 wraps to 1982 on a "
                    "32-bit time_t"
                ),
                subject=_FOUNDING_SUBJECT,
                not_before=datetime(2018, 6, 11, 10, 30, 37, tzinfo=UTC),
                days=36500,
            ),
            CertPlan(
                name="founding-report-fixed",
                description=(
                    "the founding report's certificate shape, valid now and ending before "
                    "2038-01-19 so a 32-bit time_t (axTLS) reads its dates right"
                ),
                subject=_FOUNDING_SUBJECT,
                days=825,
                start_offset_days=-1,
                not_after_cap=datetime(2038, 1, 1, tzinfo=UTC),
            ),
        )
    }
)


def get_plan(name: str) -> CertPlan:
    try:
        return PLANS[name]
    except KeyError:
        raise ConfigError(
            f"unknown certificate plan {name!r}",
            fix=f"use one of: {', '.join(sorted(PLANS))}",
        ) from None


def list_plans() -> list[str]:
    return sorted(PLANS)


@dataclass(frozen=True)
class CertBundle:
    """The files of one issued certificate and the facts a test asserts on."""

    plan: str
    host: str
    cert_pem: Path
    cert_der: Path
    key_pem: Path  # mode 0600
    header: Path  # hil_ca_cert.h
    sha1: str  # lowercase hex of the DER, no separators
    sha256: str
    serial: int
    subject: str  # "C=JP, ST=Japan, ..., CN=host, emailAddress=...", in certificate order
    not_before: datetime
    not_after: datetime

    def fingerprint(self, algorithm: str = "sha1", sep: str = ":") -> str:
        """Upper-case hex pairs joined by `sep`, the form sketches paste (`verify()`)."""
        hexed = {"sha1": self.sha1, "sha256": self.sha256}[algorithm].upper()
        return sep.join(hexed[i : i + 2] for i in range(0, len(hexed), 2))


def make_certs(
    plan: CertPlan,
    host: str,
    out_dir: Path,
    cache_dir: Path,
    *,
    now: datetime | None = None,
) -> CertBundle:
    """Issue `plan`'s certificate for `host` into `out_dir`, reusing the key cached in `cache_dir`.

    `now` only matters for plans with relative validity (tests pin the day with it).
    Files whose content did not change are not rewritten, so builds that depend
    on the header stay up to date.
    """
    if not host:
        raise ConfigError(f"make_certs({plan.name!r}): empty host", fix="give the server's host")
    key = _cached_key(plan, cache_dir)
    not_before, not_after = plan.validity(now)
    subject_values = [(attr, value.replace("{host}", host)) for attr, value in plan.subject]
    subject = x509.Name([x509.NameAttribute(_NAME_OIDS[a], v) for a, v in subject_values])
    # Written in the order `openssl x509 -text` shows it, not RFC 4514's reversed order.
    subject_text = ", ".join(f"{a}={v}" for a, v in subject_values)
    serial = _derived_serial(plan, host, not_before)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )
    # The order and content of `openssl req -x509` with the v3_ca section.
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    builder = builder.add_extension(ski, critical=False)
    builder = builder.add_extension(
        x509.AuthorityKeyIdentifier(ski.digest, None, None), critical=False
    )
    if plan.ca:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=True, path_length=None), critical=True
        )
    if plan.sans:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [_general_name(s.replace("{host}", host)) for s in plan.sans]
            ),
            critical=False,
        )
    cert = builder.sign(key, _HASHES[plan.signature_hash]())

    der = cert.public_bytes(serialization.Encoding.DER)
    pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    sha256 = hashlib.sha256(der).hexdigest()
    header = render_c_header(
        der,
        HEADER_SYMBOL,
        comment=(
            f"plan: {plan.name}",
            f"subject: {subject_text}",
            f"validity: {_fmt(not_before)} .. {_fmt(not_after)}",
            f"SHA-256: {sha256}",
        ),
    )

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "cert_pem": out_dir / "cert.pem",
        "cert_der": out_dir / "cert.der",
        "key_pem": out_dir / "key.pem",
        "header": out_dir / HEADER_NAME,
    }
    _write_if_changed(paths["cert_pem"], pem)
    _write_if_changed(paths["cert_der"], der)
    _write_if_changed(paths["key_pem"], key_pem, mode=0o600)
    _write_if_changed(paths["header"], header.encode())
    log.debug("certificate %s for %s in %s (sha256 %s)", plan.name, host, out_dir, sha256)
    return CertBundle(
        plan=plan.name,
        host=host,
        sha1=hashlib.sha1(der).hexdigest(),
        sha256=sha256,
        serial=serial,
        subject=subject_text,
        not_before=not_before,
        not_after=not_after,
        **paths,
    )


def render_c_header(der: bytes, symbol: str, *, comment: Sequence[str] = ()) -> str:
    """`der` as a C header: `static const unsigned char SYMBOL[]` and `SYMBOL_len`."""
    if not _C_IDENTIFIER.match(symbol):
        raise ConfigError(
            f"C header symbol {symbol!r} is not a C identifier",
            fix="use letters, digits and underscores, not starting with a digit",
        )
    if not der:
        raise ConfigError(f"C header {symbol}: no bytes to export", fix="pass the DER bytes")
    guard = f"{symbol.upper()}_H"
    lines = ["/* Generated by esp-tls-hil (harness/certs.py); do not edit."]
    lines += [f" * {c.replace('*/', '* /')}" for c in comment]
    lines += [" */", f"#ifndef {guard}", f"#define {guard}", ""]
    lines.append(f"static const unsigned char {symbol}[] = {{")
    for i in range(0, len(der), 12):
        lines.append("    " + " ".join(f"0x{b:02x}," for b in der[i : i + 12]))
    lines.append("};")
    lines.append(f"static const unsigned int {symbol}_len = {len(der)};")
    lines += ["", f"#endif /* {guard} */", ""]
    return "\n".join(lines)


def _fmt(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _derived_serial(plan: CertPlan, host: str, not_before: datetime) -> int:
    """A positive 63-bit serial from what makes the certificate unique: same inputs, same serial."""
    seed = f"esp-tls-hil|{plan.name}|{host}|{not_before.isoformat()}".encode()
    value = int.from_bytes(hashlib.sha256(seed).digest()[:8], "big") >> 1
    return value or 1


def _general_name(value: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(value))
    except ValueError:
        return x509.DNSName(value)


def _cached_key(plan: CertPlan, cache_dir: Path) -> rsa.RSAPrivateKey:
    """The plan's key from `cache_dir`, generated once; concurrent runs agree on one key."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"{plan.key_type}-{plan.key_size}-{plan.name}.key.pem"
    if not path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=plan.key_size)
        data = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=".key-")  # mode 0600
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            # link() fails if another run got there first; then its key is the one.
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        log.info(
            "generated %s-%s key for plan %s in %s", plan.key_type, plan.key_size, plan.name, path
        )
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"cached key {path} cannot be read",
            seen=str(exc),
            fix=f"delete {path}; the next run makes a new key",
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size != plan.key_size:
        raise ConfigError(
            f"cached key {path} is not an RSA-{plan.key_size} key",
            seen=type(key).__name__,
            fix=f"delete {path}; the next run makes a new key",
        )
    return key


def _write_if_changed(path: Path, data: bytes, *, mode: int | None = None) -> None:
    if path.exists() and path.read_bytes() == data:
        if mode is not None:
            os.chmod(path, mode)
        return
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644 if mode is None else mode)
    with os.fdopen(fd, "wb") as f:
        if mode is not None:
            # Before the first byte: a key must never be readable by others, even briefly.
            os.fchmod(f.fileno(), mode)
        f.write(data)
