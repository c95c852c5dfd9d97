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

import hashlib
import ipaddress
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from harness.instruments.certs.exports import (
    CLIENT_HEADER_NAME,
    HEADER_NAME,
    HEADER_SYMBOL,
    PEM_HEADER_NAME,
    PEM_HEADER_SYMBOL,
    render_c_header,
    render_c_string_header,
)
from harness.instruments.certs.keys import _cached_key, _PrivateKey, _write_if_changed
from harness.instruments.certs.plans import (
    _HASHES,
    _NAME_OIDS,
    _OID_NAMES,
    _ORG,
    CLIENT_CA,
    HIL_ROOT,
    TIME_T_SAFE_END,
    CaSpec,
    CertPlan,
    ChainOrder,
    TrustAnchor,
    _day,
    _fmt,
)
from harness.model.errors import ConfigError

log = logging.getLogger(__name__)

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

    def chain_strength(self) -> tuple[int | None, tuple[str, ...]]:
        """What a stack's certificate profile looks at in the chain the server sends (leaf
        and intermediates): the smallest RSA key in bits (None without an RSA key) and the
        certificates' signature hash names, leaf first."""
        path = self.chain_pem or self.cert_pem
        certs = x509.load_pem_x509_certificates(path.read_bytes())
        rsa_bits = [
            c.public_key().key_size for c in certs if isinstance(c.public_key(), rsa.RSAPublicKey)
        ]
        # A signature without a separate hash (Ed25519) names none: left out, not "weak".
        hashes = tuple(c.signature_hash_algorithm.name for c in certs if c.signature_hash_algorithm)
        return (min(rsa_bits) if rsa_bits else None), hashes

    def san_ips(self) -> list[str]:
        """The addresses the leaf names in iPAddress SANs (none without a SAN)."""
        cert = x509.load_pem_x509_certificate(self.cert_pem.read_bytes())
        try:
            sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except x509.ExtensionNotFound:
            return []
        return [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)]

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
            fix="a bug in harness/instruments/certs/issue.py (_sign_sha1)",
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
