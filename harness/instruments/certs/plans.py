"""Certificate plans as data: how a server certificate is shaped and who issues it,
and the catalogue of named plans (validated on construction)."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from harness.model.errors import ConfigError

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
_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\Z")


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


def _fmt(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


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
# An all-ECDSA chain, as the public CAs issue one (a P-384 root and intermediate over a
# P-256 leaf): what Mozilla's "modern" configuration means by an ECDSA certificate.
HIL_EC_ROOT = CaSpec(
    name="esp-tls-hil ECDSA Root CA",
    key_label="ec-root",
    key_type="ecdsa",
    key_size=384,
    signature_hash="sha384",
)
HIL_EC_INTERMEDIATE = CaSpec(
    name="esp-tls-hil ECDSA Intermediate CA",
    key_label="ec-intermediate",
    key_type="ecdsa",
    key_size=384,
    signature_hash="sha384",
)


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
                "ca-ecdsa-p256-ecdsa-chain",
                "ECDSA P-384 root -> ECDSA P-384 intermediate -> ECDSA P-256 leaf (SHA-384)",
                key_type="ecdsa",
                key_size=256,
                signature_hash="sha384",
                issuers=(HIL_EC_ROOT, HIL_EC_INTERMEDIATE),
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
