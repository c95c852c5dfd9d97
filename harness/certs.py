"""Certificates for the test server, made with `cryptography` (a layer-3 adapter).

A `CertPlan` says how a server certificate is shaped (key, subject, extensions,
validity) and who issued it: itself (the `openssl req -x509` shape of the
founding report) or a CA chain of any depth (root -> intermediates -> leaf).
`make_certs` turns a plan and a host into files: the leaf as PEM and DER, its
private key, the chain the server serves, the trust anchor the sketch compiles in
(a C header with its DER, a C string with its PEM), each CA's key, and for plans
that ask, a client certificate.

Determinism matters here: the header is compiled into the firmware, and the
harness skips a flash when the firmware did not change. So keys are cached and
reused, validity is either absolute or day-granular, serial numbers are derived
from what makes a certificate unique, RSA PKCS#1 v1.5 signatures are
deterministic and ECDSA is signed deterministically (RFC 6979): the same plan,
keys, host and day give the same bytes.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import ipaddress
import logging
import os
import re
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

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
_OID_NAMES = {oid: name for name, oid in _NAME_OIDS.items()}

_HASHES: Mapping[str, type[hashes.HashAlgorithm]] = MappingProxyType(
    {
        "sha1": hashes.SHA1,
        "sha256": hashes.SHA256,
        "sha384": hashes.SHA384,
        "sha512": hashes.SHA512,
    }
)

_KEY_TYPES = ("rsa", "ecdsa")
_RSA_SIZES = (1024, 8192)  # inclusive range, multiples of 8
_EC_CURVES: Mapping[int, type[ec.EllipticCurve]] = MappingProxyType(
    {256: ec.SECP256R1, 384: ec.SECP384R1}
)
_C_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\Z")

HEADER_NAME = "hil_ca_cert.h"
HEADER_SYMBOL = "hil_ca_cert_der"
PEM_HEADER_NAME = "hil_ca_cert_pem.h"
PEM_HEADER_SYMBOL = "hil_ca_cert_pem"
CLIENT_HEADER_NAME = "hil_client_cert.h"

# The last notAfter a 32-bit time_t reads right (axTLS wraps on 2038-01-19):
# CA certificates end before it so that a sketch's CA never fails for its dates.
TIME_T_SAFE_END = datetime(2038, 1, 1, tzinfo=UTC)
_ORG = "esp-tls-hil"


class TrustAnchor(StrEnum):
    """Which certificate a sketch is given to trust (`setCACert`, the C header)."""

    OWN = "own"  # the plan's own root, or the self-signed certificate itself
    HIL_ROOT = "hil-root"  # the harness's standard root, which did not issue this chain


class ChainOrder(StrEnum):
    """What a server sends after its certificate (a profile's `chain`)."""

    FULL = "full"  # leaf, then each intermediate up to (not including) the root
    INCOMPLETE = "incomplete"  # the leaf alone
    REVERSED = "reversed"  # leaf, then the intermediates root-side first


def _check_key(where: str, key_type: str, key_size: int) -> None:
    if key_type not in _KEY_TYPES:
        raise ConfigError(
            f"{where}: key_type {key_type!r} is not supported",
            fix=f"use one of {', '.join(_KEY_TYPES)}",
        )
    if key_type == "rsa" and (not _RSA_SIZES[0] <= key_size <= _RSA_SIZES[1] or key_size % 8):
        raise ConfigError(
            f"{where}: key_size {key_size} is not a usable RSA size",
            fix="use 1024, 2048, 3072, 4096 or 8192",
        )
    if key_type == "ecdsa" and key_size not in _EC_CURVES:
        raise ConfigError(
            f"{where}: key_size {key_size} is not a supported ECDSA curve",
            fix="use 256 (P-256) or 384 (P-384)",
        )


def _check_hash(where: str, name: str) -> None:
    if name not in _HASHES:
        raise ConfigError(
            f"{where}: signature_hash {name!r} is not supported",
            fix=f"use one of {', '.join(_HASHES)}",
        )


def _check_label(where: str, label: str) -> None:
    if not _LABEL.match(label):
        raise ConfigError(
            f"{where}: key_label {label!r} cannot name a cache file",
            fix="use letters, digits, '.', '_' and '-'",
        )


def _check_utc(where: str, label: str, value: datetime | None) -> None:
    if value is not None and value.utcoffset() != timedelta(0):
        raise ConfigError(
            f"{where}: {label} {value!r} is not a UTC datetime",
            fix="give datetimes with tzinfo=UTC",
        )


@dataclass(frozen=True)
class CaSpec:
    """One CA certificate of a chain: the root (first) or an intermediate.

    Its key is cached as `{key_type}-{key_size}-{key_label}`: CAs with the same
    label share a key across plans, so the standard root is the same certificate
    for every plan issued on the same day. `signature_hash` is what its issuer (the
    root: itself) signs it with.
    """

    name: str  # its CN
    key_label: str
    key_type: str = "rsa"
    key_size: int = 2048
    signature_hash: str = "sha256"
    days: int = 3650
    start_offset_days: int = -400  # covers the notBefore of every leaf plan (expired: -400)
    not_after_cap: datetime | None = TIME_T_SAFE_END
    path_length: int | None = None

    def __post_init__(self) -> None:
        where = f"CA {self.name!r}"
        _check_key(where, self.key_type, self.key_size)
        _check_hash(where, self.signature_hash)
        _check_label(where, self.key_label)
        _check_utc(where, "not_after_cap", self.not_after_cap)
        if self.days <= 0:
            raise ConfigError(f"{where}: days={self.days}", fix="give a positive number of days")

    def validity(self, now: datetime | None = None) -> tuple[datetime, datetime]:
        start = _day(now) + timedelta(days=self.start_offset_days)
        end = start + timedelta(days=self.days)
        if self.not_after_cap is not None:
            end = min(end, self.not_after_cap)
        return start, end


@dataclass(frozen=True)
class CertPlan:
    """How a server certificate is made.

    Validity is absolute when `not_before` is set (notAfter = notBefore + `days`,
    as `openssl req -x509 -days N` does), otherwise relative to the day of issue:
    notBefore = that day 00:00 UTC + `start_offset_days`. `not_after`, when set,
    is notAfter itself. Either way notAfter is never later than `not_after_cap`.
    Dates before 2050 are encoded as UTCTime, from 2050 on as GeneralizedTime
    (RFC 5280 4.1.2.5). `{host}` in subject values and SANs is replaced by the host
    the certificate is made for.

    `issuers` is the chain, root first; empty means self-signed. `ca=True` gives
    the `openssl req -x509` (v3_ca) shape: SKI, AKI, basicConstraints critical
    CA:TRUE and nothing else; `ca=False` a server certificate: CA:FALSE, keyUsage,
    extendedKeyUsage serverAuth.
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
    not_after: datetime | None = None
    issuers: tuple[CaSpec, ...] = ()
    trust: TrustAnchor = TrustAnchor.OWN
    key_label: str = "leaf"  # the key cache label (see CaSpec)
    client_cert: bool = False  # also issue a client certificate (for client-auth profiles)

    def __post_init__(self) -> None:
        where = f"certificate plan {self.name!r}"
        _check_key(where, self.key_type, self.key_size)
        _check_hash(where, self.signature_hash)
        _check_label(where, self.key_label)
        if not self.subject:
            raise ConfigError(f"{where}: empty subject", fix="give at least CN={host}")
        for attr, _ in self.subject:
            if attr not in _NAME_OIDS:
                raise ConfigError(
                    f"{where}: unknown subject attribute {attr!r}",
                    fix=f"use one of {', '.join(_NAME_OIDS)}",
                )
        _check_utc(where, "not_before", self.not_before)
        _check_utc(where, "cap", self.not_after_cap)
        _check_utc(where, "not_after", self.not_after)
        if self.days <= 0:
            raise ConfigError(f"{where}: days={self.days}", fix="give a positive number of days")
        try:
            TrustAnchor(self.trust)
        except ValueError:
            raise ConfigError(
                f"{where}: trust {self.trust!r} is not a trust anchor",
                fix=f"use one of {', '.join(t.value for t in TrustAnchor)}",
            ) from None

    @property
    def intermediates(self) -> int:
        return max(len(self.issuers) - 1, 0)

    def validity(self, now: datetime | None = None) -> tuple[datetime, datetime]:
        """(notBefore, notAfter) of a certificate issued at `now` (default: the current time)."""
        if self.not_before is not None:
            start = self.not_before
        else:
            start = _day(now) + timedelta(days=self.start_offset_days)
        end = self.not_after if self.not_after is not None else start + timedelta(days=self.days)
        if self.not_after_cap is not None:
            end = min(end, self.not_after_cap)
        if end <= start:
            raise ConfigError(
                f"certificate plan {self.name!r}: notAfter {_fmt(end)} is not after "
                f"notBefore {_fmt(start)}",
                fix="move not_after later or not_before earlier",
            )
        return start, end


def _day(now: datetime | None) -> datetime:
    now = now or datetime.now(UTC)
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


# -- the catalogue ---------------------------------------------------------------------------

_FOUNDING_SUBJECT = (
    ("C", "JP"),
    ("ST", "Japan"),
    ("L", "Tokyo"),
    ("O", "BestMe CO."),
    ("OU", "MIS"),
    ("CN", "{host}"),
    ("emailAddress", "mis@bestme.example"),
)
_LEAF_SUBJECT = (("O", _ORG), ("CN", "{host}"))

HIL_ROOT = CaSpec(name="esp-tls-hil Root CA", key_label="root")
HIL_INTERMEDIATE = CaSpec(name="esp-tls-hil Intermediate CA", key_label="intermediate")
_STANDARD_CHAIN = (HIL_ROOT, HIL_INTERMEDIATE)
CLIENT_CA = CaSpec(name="esp-tls-hil Client CA", key_label="client-ca")


def _chained(name: str, description: str, **kw: Any) -> CertPlan:
    """A CA-issued server certificate: CN and SAN = the host, 398 days (the CA/B limit)."""
    args: dict[str, Any] = {
        "subject": _LEAF_SUBJECT,
        "sans": ("{host}",),
        "ca": False,
        "days": 398,
        "not_after_cap": TIME_T_SAFE_END,
        "issuers": _STANDARD_CHAIN,
    }
    args.update(kw)
    return CertPlan(name=name, description=description, **args)


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
                key_label="founding-report",
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
                not_after_cap=TIME_T_SAFE_END,
                key_label="founding-report-fixed",
            ),
            CertPlan(
                name="ubuntu-snakeoil",
                description=(
                    "Ubuntu's ssl-cert-snakeoil.pem (make-ssl-cert): self-signed, CN = the "
                    "host name, RSA 2048, SHA-256, 10 years, no subjectAltName"
                ),
                subject=(("CN", "{host}"),),
                days=3650,
            ),
            _chained("ca-rsa-2048", "root -> intermediate -> RSA 2048 leaf, SHA-256"),
            _chained("ca-rsa-1024", "root -> intermediate -> RSA 1024 leaf", key_size=1024),
            _chained("ca-rsa-4096", "root -> intermediate -> RSA 4096 leaf", key_size=4096),
            _chained(
                "ca-rsa-8192",
                "root -> intermediate -> RSA 8192 leaf (slow handshakes on a board)",
                key_size=8192,
            ),
            _chained(
                "ca-ecdsa-p256",
                "root -> intermediate -> ECDSA P-256 leaf",
                key_type="ecdsa",
                key_size=256,
            ),
            _chained(
                "ca-ecdsa-p384",
                "root -> intermediate -> ECDSA P-384 leaf",
                key_type="ecdsa",
                key_size=384,
            ),
            _chained(
                "ca-rsa-2048-deep",
                "root -> intermediate 1 -> intermediate 2 -> leaf: a chain whose order shows",
                issuers=(
                    HIL_ROOT,
                    HIL_INTERMEDIATE,
                    CaSpec(name="esp-tls-hil Intermediate CA 2", key_label="intermediate-2"),
                ),
            ),
            _chained(
                "expired",
                "CA-issued leaf whose notAfter passed 35 days ago (365 days from day -400)",
                start_offset_days=-400,
                days=365,
            ),
            _chained(
                "not-yet-valid",
                "CA-issued leaf whose notBefore is 30 days ahead",
                start_offset_days=30,
                days=365,
            ),
            _chained(
                "notafter-2050",
                (
                    "CA-issued leaf valid until 2050-01-01 (GeneralizedTime), past the "
                    "32-bit time_t wrap"
                ),
                not_after=datetime(2050, 1, 1, tzinfo=UTC),
                not_after_cap=None,
            ),
            _chained(
                "wrong-host",
                "CA-issued leaf for wrong.host.invalid, whatever host it is made for",
                subject=(("O", _ORG), ("CN", "wrong.host.invalid")),
                sans=("wrong.host.invalid",),
            ),
            CertPlan(
                name="self-signed",
                description=(
                    "`openssl req -x509` self-signed cert for the host; the sketch's CA is "
                    "the standard root, which did not issue it"
                ),
                subject=_LEAF_SUBJECT,
                sans=("{host}",),
                days=398,
                not_after_cap=TIME_T_SAFE_END,
                trust=TrustAnchor.HIL_ROOT,
            ),
            _chained(
                "untrusted-root",
                ("leaf issued by a root the sketch is not given (it gets the standard root)"),
                issuers=(CaSpec(name="esp-tls-hil Untrusted Root CA", key_label="untrusted-root"),),
                trust=TrustAnchor.HIL_ROOT,
            ),
            _chained(
                "sha1-intermediate",
                "root -> intermediate signed with SHA-1 -> leaf (SHA-256)",
                issuers=(
                    HIL_ROOT,
                    CaSpec(
                        name="esp-tls-hil SHA-1 Intermediate CA",
                        key_label="intermediate",
                        signature_hash="sha1",
                    ),
                ),
            ),
            _chained(
                "client-auth",
                "the standard chain plus a client certificate from the esp-tls-hil Client CA",
                client_cert=True,
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


# -- the result ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CertBundle:
    """The files of one issued certificate and the facts a test asserts on.

    `cert_*`, `key_pem`, `sha1`, `sha256`, `subject` and the dates are the server's
    own (leaf) certificate: what `verify(fingerprint)` pins. `ca_*` and `header`
    are the trust anchor a sketch is given (for a self-signed plan: the leaf).
    """

    plan: str
    host: str
    cert_pem: Path
    cert_der: Path
    key_pem: Path  # mode 0600
    header: Path  # hil_ca_cert.h: the trust anchor's DER
    sha1: str  # lowercase hex of the DER, no separators
    sha256: str
    serial: int
    subject: str  # "C=JP, ST=Japan, ..., CN=host, emailAddress=...", in certificate order
    not_before: datetime
    not_after: datetime
    key_type: str = "rsa"
    key_size: int = 2048
    chain_pem: Path | None = None  # leaf + intermediates, leaf side first
    chain_reversed_pem: Path | None = None  # leaf + intermediates, root side first
    ca_pem: Path | None = None  # the trust anchor
    ca_der: Path | None = None
    ca_header_pem: Path | None = None  # hil_ca_cert_pem.h: the anchor's PEM as a C string
    ca_subject: str = ""
    ca_sha1: str = ""
    ca_sha256: str = ""
    issuer_pems: tuple[Path, ...] = ()  # the chain's CA certificates, root first
    issuer_keys: tuple[Path, ...] = ()  # their keys, mode 0600
    client_ca_pem: Path | None = None
    client_cert_pem: Path | None = None
    client_cert_der: Path | None = None
    client_key_pem: Path | None = None  # mode 0600
    client_key_der: Path | None = None  # mode 0600
    client_header: Path | None = None  # hil_client_cert.h: cert and key DER arrays

    def fingerprint(self, algorithm: str = "sha1", sep: str = ":") -> str:
        """Upper-case hex pairs joined by `sep`, the form sketches paste (`verify()`)."""
        hexed = {
            "sha1": self.sha1,
            "sha256": self.sha256,
            "ca-sha1": self.ca_sha1,
            "ca-sha256": self.ca_sha256,
        }[algorithm].upper()
        return sep.join(hexed[i : i + 2] for i in range(0, len(hexed), 2))

    def served_chain(self, order: str = ChainOrder.FULL) -> Path:
        """The PEM file a server loads to send `order` (see ChainOrder) after its certificate."""
        try:
            chosen = ChainOrder(order)
        except ValueError:
            raise ConfigError(
                f"certificate chain order {order!r} is unknown",
                fix=f"use one of {', '.join(o.value for o in ChainOrder)}",
            ) from None
        path = {
            ChainOrder.FULL: self.chain_pem,
            ChainOrder.INCOMPLETE: self.cert_pem,
            ChainOrder.REVERSED: self.chain_reversed_pem,
        }[chosen]
        return path or self.cert_pem

    def files(self) -> list[tuple[str, Path]]:
        """(what, path) of every file written, for a listing."""
        named = [
            ("server certificate (PEM)", self.cert_pem),
            ("server certificate (DER)", self.cert_der),
            ("server private key", self.key_pem),
            ("chain served (leaf first)", self.chain_pem),
            ("chain reversed", self.chain_reversed_pem),
            ("CA for the sketch (PEM)", self.ca_pem),
            ("CA for the sketch (DER)", self.ca_der),
            ("CA C header (DER array)", self.header),
            ("CA C header (PEM string)", self.ca_header_pem),
        ]
        for i, (cert, key) in enumerate(zip(self.issuer_pems, self.issuer_keys, strict=True)):
            what = "root CA" if i == 0 else f"intermediate CA {i}"
            named += [(what, cert), (f"{what} key", key)]
        named += [
            ("client CA", self.client_ca_pem),
            ("client certificate (PEM)", self.client_cert_pem),
            ("client certificate (DER)", self.client_cert_der),
            ("client key (PEM)", self.client_key_pem),
            ("client key (DER)", self.client_key_der),
            ("client C header", self.client_header),
        ]
        return [(what, path) for what, path in named if path is not None]


# -- issuing ---------------------------------------------------------------------------------

_PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class _Issued:
    cert: x509.Certificate
    key: _PrivateKey


def make_certs(
    plan: CertPlan,
    host: str,
    out_dir: Path,
    cache_dir: Path,
    *,
    now: datetime | None = None,
) -> CertBundle:
    """Issue `plan`'s certificates for `host` into `out_dir`, reusing keys cached in `cache_dir`.

    `now` only matters for plans with relative validity (tests pin the day with it).
    Files whose content did not change are not rewritten, so builds that depend
    on the header stay up to date.
    """
    if not host:
        raise ConfigError(f"make_certs({plan.name!r}): empty host", fix="give the server's host")
    key = _cached_key(plan.key_type, plan.key_size, plan.key_label, cache_dir)
    issuers = _issue_chain(plan.issuers, cache_dir, now)
    not_before, not_after = plan.validity(now)
    subject_values = [(attr, value.replace("{host}", host)) for attr, value in plan.subject]
    subject = x509.Name([x509.NameAttribute(_NAME_OIDS[a], v) for a, v in subject_values])
    # Written in the order `openssl x509 -text` shows it, not RFC 4514's reversed order.
    subject_text = ", ".join(f"{a}={v}" for a, v in subject_values)
    serial = _derived_serial(plan, host, not_before)
    issuer = issuers[-1] if issuers else None
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )
    # The order and content of `openssl req -x509` with the v3_ca section.
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    builder = builder.add_extension(ski, critical=False)
    issuer_ski = ski if issuer is None else _ski(issuer.cert)
    builder = builder.add_extension(
        x509.AuthorityKeyIdentifier(issuer_ski.digest, None, None), critical=False
    )
    if plan.ca:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=True, path_length=None), critical=True
        )
    else:
        builder = _end_entity(builder, key, ExtendedKeyUsageOID.SERVER_AUTH)
    if plan.sans:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [_general_name(s.replace("{host}", host)) for s in plan.sans]
            ),
            critical=False,
        )
    cert = _sign(builder, issuer.key if issuer else key, plan.signature_hash)

    if plan.trust == TrustAnchor.HIL_ROOT:
        anchor = _issue_chain((HIL_ROOT,), cache_dir, now)[0].cert
    else:
        anchor = issuers[0].cert if issuers else cert
    der = cert.public_bytes(serialization.Encoding.DER)
    anchor_der = anchor.public_bytes(serialization.Encoding.DER)
    anchor_pem = anchor.public_bytes(serialization.Encoding.PEM)
    anchor_subject = _name_text(anchor.subject)
    anchor_sha256 = hashlib.sha256(anchor_der).hexdigest()
    anchor_comment = (
        f"plan: {plan.name}",
        f"subject: {anchor_subject}",
        f"validity: {_fmt(anchor.not_valid_before_utc)} .. {_fmt(anchor.not_valid_after_utc)}",
        f"SHA-256: {anchor_sha256}",
    )

    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Any] = {
        "cert_pem": out_dir / "cert.pem",
        "cert_der": out_dir / "cert.der",
        "key_pem": out_dir / "key.pem",
        "header": out_dir / HEADER_NAME,
        "chain_pem": out_dir / "chain.pem",
        "chain_reversed_pem": out_dir / "chain-reversed.pem",
        "ca_pem": out_dir / "ca.pem",
        "ca_der": out_dir / "ca.der",
        "ca_header_pem": out_dir / PEM_HEADER_NAME,
    }
    pem = cert.public_bytes(serialization.Encoding.PEM)
    intermediates = [i.cert.public_bytes(serialization.Encoding.PEM) for i in issuers[1:]]
    _write_if_changed(paths["cert_pem"], pem)
    _write_if_changed(paths["cert_der"], der)
    _write_if_changed(paths["key_pem"], _key_pem(key), mode=0o600)
    _write_if_changed(
        paths["header"], render_c_header(anchor_der, HEADER_SYMBOL, comment=anchor_comment).encode()
    )
    _write_if_changed(paths["chain_pem"], pem + b"".join(reversed(intermediates)))
    _write_if_changed(paths["chain_reversed_pem"], pem + b"".join(intermediates))
    _write_if_changed(paths["ca_pem"], anchor_pem)
    _write_if_changed(paths["ca_der"], anchor_der)
    _write_if_changed(
        paths["ca_header_pem"],
        render_c_string_header(
            anchor_pem.decode("ascii"), PEM_HEADER_SYMBOL, comment=anchor_comment
        ).encode(),
    )
    issuer_pems: list[Path] = []
    issuer_keys: list[Path] = []
    for i, issued in enumerate(issuers):
        cert_path, key_path = out_dir / f"ca-{i}.pem", out_dir / f"ca-{i}-key.pem"
        _write_if_changed(cert_path, issued.cert.public_bytes(serialization.Encoding.PEM))
        _write_if_changed(key_path, _key_pem(issued.key), mode=0o600)
        issuer_pems.append(cert_path)
        issuer_keys.append(key_path)
    if plan.client_cert:
        paths.update(_client_files(out_dir, cache_dir, now))
    log.debug("certificate %s for %s in %s (sha256 %s)", plan.name, host, out_dir, anchor_sha256)
    return CertBundle(
        plan=plan.name,
        host=host,
        sha1=hashlib.sha1(der).hexdigest(),
        sha256=hashlib.sha256(der).hexdigest(),
        serial=serial,
        subject=subject_text,
        not_before=not_before,
        not_after=not_after,
        key_type=plan.key_type,
        key_size=plan.key_size,
        ca_subject=anchor_subject,
        ca_sha1=hashlib.sha1(anchor_der).hexdigest(),
        ca_sha256=anchor_sha256,
        issuer_pems=tuple(issuer_pems),
        issuer_keys=tuple(issuer_keys),
        **paths,
    )


def _issue_chain(specs: Sequence[CaSpec], cache_dir: Path, now: datetime | None) -> list[_Issued]:
    """The CA certificates of `specs` (root first), each signed by the one before."""
    issued: list[_Issued] = []
    for spec in specs:
        key = _cached_key(spec.key_type, spec.key_size, spec.key_label, cache_dir)
        parent = issued[-1] if issued else None
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, _ORG),
                x509.NameAttribute(NameOID.COMMON_NAME, spec.name),
            ]
        )
        issuer_name = parent.cert.subject if parent else name
        not_before, not_after = spec.validity(now)
        ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        seed = "|".join(
            (
                "ca",
                name.rfc4514_string(),
                issuer_name.rfc4514_string(),
                spec.signature_hash,
                not_before.isoformat(),
                not_after.isoformat(),
                ski.digest.hex(),
            )
        )
        builder = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(issuer_name)
            .public_key(key.public_key())
            .serial_number(_serial_of(seed))
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(ski, critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier(
                    (_ski(parent.cert) if parent else ski).digest, None, None
                ),
                critical=False,
            )
            .add_extension(
                x509.BasicConstraints(ca=True, path_length=spec.path_length), critical=True
            )
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
        )
        cert = _sign(builder, parent.key if parent else key, spec.signature_hash)
        issued.append(_Issued(cert, key))
    return issued


def _client_files(out_dir: Path, cache_dir: Path, now: datetime | None) -> dict[str, Path]:
    """A client certificate (clientAuth) from the esp-tls-hil Client CA, for mutual TLS."""
    ca = _issue_chain((CLIENT_CA,), cache_dir, now)[0]
    key = _cached_key("rsa", 2048, "client", cache_dir)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, _ORG),
            x509.NameAttribute(NameOID.COMMON_NAME, "esp-tls-hil client"),
        ]
    )
    start = _day(now) - timedelta(days=1)
    end = min(start + timedelta(days=398), TIME_T_SAFE_END)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(_serial_of(f"client|{start.isoformat()}|{_ski(ca.cert).digest.hex()}"))
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier(_ski(ca.cert).digest, None, None), critical=False
        )
    )
    builder = _end_entity(builder, key, ExtendedKeyUsageOID.CLIENT_AUTH)
    cert = _sign(builder, ca.key, "sha256")
    cert_der = cert.public_bytes(serialization.Encoding.DER)
    key_der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    paths = {
        "client_ca_pem": out_dir / "client-ca.pem",
        "client_cert_pem": out_dir / "client.pem",
        "client_cert_der": out_dir / "client.der",
        "client_key_pem": out_dir / "client-key.pem",
        "client_key_der": out_dir / "client-key.der",
        "client_header": out_dir / CLIENT_HEADER_NAME,
    }
    _write_if_changed(paths["client_ca_pem"], ca.cert.public_bytes(serialization.Encoding.PEM))
    _write_if_changed(paths["client_cert_pem"], cert.public_bytes(serialization.Encoding.PEM))
    _write_if_changed(paths["client_cert_der"], cert_der)
    _write_if_changed(paths["client_key_pem"], _key_pem(key), mode=0o600)
    _write_if_changed(paths["client_key_der"], key_der, mode=0o600)
    header = render_c_header(
        cert_der, "hil_client_cert_der", comment=(f"subject: {_name_text(subject)}",)
    ) + render_c_header(key_der, "hil_client_key_der", comment=("the client certificate's key",))
    _write_if_changed(paths["client_header"], header.encode(), mode=0o600)
    return paths


def _end_entity(
    builder: x509.CertificateBuilder, key: _PrivateKey, usage: x509.ObjectIdentifier
) -> x509.CertificateBuilder:
    """basicConstraints CA:FALSE, keyUsage and extendedKeyUsage of a TLS end entity."""
    return (
        builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                # RSA key exchange (TLS_RSA_*) encrypts the premaster secret to this key.
                key_encipherment=isinstance(key, rsa.RSAPrivateKey),
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    )


def _sign(builder: x509.CertificateBuilder, key: _PrivateKey, hash_name: str) -> x509.Certificate:
    algorithm = _HASHES[hash_name]()
    if hash_name == "sha1":
        return _sign_sha1(builder, key)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        # RFC 6979: the same inputs give the same certificate, as RSA PKCS#1 v1.5 does.
        return builder.sign(key, algorithm, ecdsa_deterministic=True)
    return builder.sign(key, algorithm)


# sha256WithRSAEncryption and sha1WithRSAEncryption AlgorithmIdentifiers: same length.
_ALG_RSA_SHA256 = bytes.fromhex("300d06092a864886f70d01010b0500")
_ALG_RSA_SHA1 = bytes.fromhex("300d06092a864886f70d0101050500")


def _sign_sha1(builder: x509.CertificateBuilder, key: _PrivateKey) -> x509.Certificate:
    """A SHA-1 signed certificate, which `cryptography` no longer signs itself: build it
    with SHA-256, swap the signature AlgorithmIdentifier in the TBS for SHA-1's (same
    length, so no length changes) and sign that TBS with PKCS#1 v1.5 over SHA-1."""
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigError(
            "SHA-1 signatures are supported for RSA issuers only",
            seen=type(key).__name__,
            fix="give the CA that signs with sha1 an RSA key",
        )
    from cryptography.hazmat.primitives.asymmetric import padding

    tbs = builder.sign(key, hashes.SHA256()).tbs_certificate_bytes
    # TBSCertificate ::= SEQUENCE { [0] version, serialNumber, signature AlgorithmIdentifier, ...}
    pos = _der_header_len(tbs, 0)
    for _ in range(2):  # version, serialNumber
        pos += _der_element_len(tbs, pos)
    if tbs[pos : pos + len(_ALG_RSA_SHA256)] != _ALG_RSA_SHA256:
        raise ConfigError(
            "unexpected TBSCertificate layout while signing with SHA-1",
            seen=tbs[pos : pos + 16].hex(),
            fix="a bug in harness/certs.py (_sign_sha1)",
        )
    tbs = tbs[:pos] + _ALG_RSA_SHA1 + tbs[pos + len(_ALG_RSA_SHA1) :]
    signature = key.sign(tbs, padding.PKCS1v15(), hashes.SHA1())
    bit_string = b"\x03" + _der_len(len(signature) + 1) + b"\x00" + signature
    body = tbs + _ALG_RSA_SHA1 + bit_string
    return x509.load_der_x509_certificate(b"\x30" + _der_len(len(body)) + body)


def _der_len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _der_header_len(data: bytes, pos: int) -> int:
    first = data[pos + 1]
    return 2 if first < 0x80 else 2 + (first & 0x7F)


def _der_element_len(data: bytes, pos: int) -> int:
    first = data[pos + 1]
    if first < 0x80:
        return 2 + first
    n = first & 0x7F
    return 2 + n + int.from_bytes(data[pos + 2 : pos + 2 + n], "big")


def _ski(cert: x509.Certificate) -> x509.SubjectKeyIdentifier:
    return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value


def _name_text(name: x509.Name) -> str:
    return ", ".join(f"{_OID_NAMES.get(a.oid, a.oid.dotted_string)}={a.value}" for a in name)


def _key_pem(key: _PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


# -- exports ---------------------------------------------------------------------------------


def render_c_header(der: bytes, symbol: str, *, comment: Sequence[str] = ()) -> str:
    """`der` as a C header: `static const unsigned char SYMBOL[]` and `SYMBOL_len`."""
    _check_symbol(symbol)
    if not der:
        raise ConfigError(f"C header {symbol}: no bytes to export", fix="pass the DER bytes")
    lines, guard = _header_start(symbol, comment)
    lines.append(f"static const unsigned char {symbol}[] = {{")
    for i in range(0, len(der), 12):
        lines.append("    " + " ".join(f"0x{b:02x}," for b in der[i : i + 12]))
    lines.append("};")
    lines.append(f"static const unsigned int {symbol}_len = {len(der)};")
    lines += ["", f"#endif /* {guard} */", ""]
    return "\n".join(lines)


def render_c_string_header(pem: str, symbol: str, *, comment: Sequence[str] = ()) -> str:
    """`pem` as a C header: `static const char SYMBOL[]`, one string literal per line,
    the form ESP32's `WiFiClientSecure::setCACert(const char*)` takes."""
    _check_symbol(symbol)
    if not pem.strip():
        raise ConfigError(f"C header {symbol}: no PEM to export", fix="pass the PEM text")
    lines, guard = _header_start(symbol, comment)
    lines.append(f"static const char {symbol}[] =")
    body = pem.splitlines()
    for i, line in enumerate(body):
        escaped = line.replace("\\", "\\\\").replace('"', '\\"')
        lines.append(f'    "{escaped}\\n"' + (";" if i == len(body) - 1 else ""))
    lines += ["", f"#endif /* {guard} */", ""]
    return "\n".join(lines)


def _check_symbol(symbol: str) -> None:
    if not _C_IDENTIFIER.match(symbol):
        raise ConfigError(
            f"C header symbol {symbol!r} is not a C identifier",
            fix="use letters, digits and underscores, not starting with a digit",
        )


def _header_start(symbol: str, comment: Sequence[str]) -> tuple[list[str], str]:
    guard = f"{symbol.upper()}_H"
    lines = ["/* Generated by esp-tls-hil (harness/certs.py); do not edit."]
    lines += [f" * {c.replace('*/', '* /')}" for c in comment]
    lines += [" */", f"#ifndef {guard}", f"#define {guard}", ""]
    return lines, guard


def _fmt(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _derived_serial(plan: CertPlan, host: str, not_before: datetime) -> int:
    """A positive 63-bit serial from what makes the certificate unique: same inputs, same serial."""
    return _serial_of(f"esp-tls-hil|{plan.name}|{host}|{not_before.isoformat()}")


def _serial_of(seed: str) -> int:
    value = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big") >> 1
    return value or 1


def _general_name(value: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(value))
    except ValueError:
        return x509.DNSName(value)


# -- the key cache ---------------------------------------------------------------------------


def key_cache_path(key_type: str, key_size: int, label: str, cache_dir: Path) -> Path:
    """Where the key of that type, size and label is cached."""
    return cache_dir / f"{key_type}-{key_size}-{label}.key.pem"


def _cached_key(key_type: str, key_size: int, label: str, cache_dir: Path) -> _PrivateKey:
    """The key from `cache_dir`, generated once, even by concurrent test workers.

    Generation runs under an exclusive lock on a per-key lock file, so a second
    worker waits for the first one's key instead of making its own (an RSA-8192
    key takes seconds to minutes); the key file appears atomically (written to a
    temporary file, then linked into place), so a reader never sees half a key.
    """
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = key_cache_path(key_type, key_size, label, cache_dir)
    if not path.exists():
        lock_path = cache_dir / f".{path.name}.lock"
        with lock_path.open("a") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            if not path.exists():
                _generate_key(key_type, key_size, path)
                # Safe once the key is in place: a waiter on this lock re-checks the key
                # first, and a newcomer sees the key and takes no lock.
                lock_path.unlink(missing_ok=True)
    try:
        # The RSA consistency check costs seconds for an 8192-bit key, on every load; the
        # file is our own, written atomically, so a check at each load buys nothing.
        key = serialization.load_pem_private_key(
            path.read_bytes(), password=None, unsafe_skip_rsa_key_validation=True
        )
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"cached key {path} cannot be read",
            seen=str(exc),
            fix=f"delete {path}; the next run makes a new key",
        ) from None
    if key_type == "rsa":
        ok = isinstance(key, rsa.RSAPrivateKey) and key.key_size == key_size
    else:
        ok = isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size == key_size
    if not ok:
        raise ConfigError(
            f"cached key {path} is not an {key_type.upper()}-{key_size} key",
            seen=type(key).__name__,
            fix=f"delete {path}; the next run makes a new key",
        )
    return key  # type: ignore[return-value]


def _generate_key(key_type: str, key_size: int, path: Path) -> None:
    started = time.monotonic()
    key: _PrivateKey
    if key_type == "rsa":
        key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    else:
        key = ec.generate_private_key(_EC_CURVES[key_size]())
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".key-")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        # link() fails if another run got there first (no lock on some file systems);
        # then its key is the one.
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    log.info(
        "generated %s-%s key %s in %.1f s", key_type, key_size, path, time.monotonic() - started
    )


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
