"""Server certificates from their DER bytes: the facts a diagnosis needs of each one."""

from __future__ import annotations

import datetime
from typing import Any

# -- certificates ------------------------------------------------------------------------


def describe_certificate(der_hex: str) -> dict[str, Any]:
    """One certificate's facts from its DER bytes as tshark prints them (hex, maybe `:`)."""
    try:
        der = bytes.fromhex(der_hex.replace(":", ""))
    except ValueError as exc:
        return {"error": f"not hex: {exc}", "size": None}
    try:
        return _certificate_facts(der)
    except Exception as exc:  # any parse failure is a fact to report, not a crash
        return {"error": f"{type(exc).__name__}: {exc}", "size": len(der)}


def _certificate_facts(der: bytes) -> dict[str, Any]:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

    cert = x509.load_der_x509_certificate(der)
    not_before, not_after = cert.not_valid_before_utc, cert.not_valid_after_utc
    key = cert.public_key()
    key_type, key_bits, curve = type(key).__name__, None, None
    if isinstance(key, rsa.RSAPublicKey):
        key_type, key_bits = "RSA", key.key_size
    elif isinstance(key, ec.EllipticCurvePublicKey):
        key_type, key_bits, curve = "EC", key.key_size, key.curve.name
    elif isinstance(key, dsa.DSAPublicKey):
        key_type, key_bits = "DSA", key.key_size
    elif isinstance(key, ed25519.Ed25519PublicKey):
        key_type, key_bits = "Ed25519", 256
    elif isinstance(key, ed448.Ed448PublicKey):
        key_type, key_bits = "Ed448", 456
    subject, issuer = cert.subject.rfc4514_string(), cert.issuer.rfc4514_string()
    return {
        "subject": subject,
        "issuer": issuer,
        "self_issued": subject == issuer,
        "serial": f"{cert.serial_number:x}",
        "not_before": not_before.isoformat(),
        "not_after": not_after.isoformat(),
        "not_before_epoch": _epoch(not_before),
        "not_after_epoch": _epoch(not_after),
        "key_type": key_type,
        "key_bits": key_bits,
        "curve": curve,
        "signature_algorithm": _oid_name(cert.signature_algorithm_oid),
        "san": _san(cert),
        "size": len(der),
    }


def _epoch(when: datetime.datetime) -> int:
    return int(when.timestamp())


def _oid_name(oid: Any) -> str:
    name = getattr(oid, "_name", None)
    return name if isinstance(name, str) and name != "Unknown OID" else oid.dotted_string


def _san(cert: Any) -> list[str]:
    from cryptography import x509

    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    names = [f"DNS:{n}" for n in ext.value.get_values_for_type(x509.DNSName)]
    names += [f"IP:{n}" for n in ext.value.get_values_for_type(x509.IPAddress)]
    return names
