"""harness/certs.py: certificate shapes, determinism, files and the C header."""

from __future__ import annotations

import re
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtensionOID, NameOID

from harness.certs import CertPlan, get_plan, list_plans, make_certs, render_c_header
from harness.errors import ConfigError

HOST = "192.168.1.210"


@pytest.fixture(scope="module")
def key_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # One key per plan for the whole module: RSA generation is the slow part.
    return tmp_path_factory.mktemp("key-cache")


@pytest.fixture(scope="module")
def founding(tmp_path_factory: pytest.TempPathFactory, key_cache: Path):
    out = tmp_path_factory.mktemp("founding")
    bundle = make_certs(get_plan("founding-report"), HOST, out, key_cache)
    return bundle, x509.load_der_x509_certificate(bundle.cert_der.read_bytes())


def read_c_header(text: str, symbol: str) -> tuple[bytes, int]:
    """The bytes and the declared length of `symbol` in a header from render_c_header."""
    array = re.search(rf"static const unsigned char {symbol}\[\] = \{{(.*?)\}};", text, re.DOTALL)
    length = re.search(rf"static const unsigned int {symbol}_len = (\d+);", text)
    assert array and length, text[:400]
    data = bytes(int(h, 16) for h in re.findall(r"0x([0-9a-fA-F]{2})", array.group(1)))
    return data, int(length.group(1))


def test_founding_report_key_and_signature(founding) -> None:
    _, cert = founding
    key = cert.public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    assert key.key_size == 2048
    assert cert.signature_algorithm_oid == x509.SignatureAlgorithmOID.RSA_WITH_SHA256
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA256)
    assert cert.version is x509.Version.v3


def test_founding_report_subject_is_issuer(founding) -> None:
    _, cert = founding
    assert cert.subject == cert.issuer
    got = [(a.oid, a.value) for a in cert.subject]
    assert got == [
        (NameOID.COUNTRY_NAME, "JP"),
        (NameOID.STATE_OR_PROVINCE_NAME, "Japan"),
        (NameOID.LOCALITY_NAME, "Tokyo"),
        (NameOID.ORGANIZATION_NAME, "BestMe CO."),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, "MIS"),
        (NameOID.COMMON_NAME, HOST),
        (NameOID.EMAIL_ADDRESS, "mis@bestme.example"),
    ]
    # Self-signed for real: the signature verifies with its own key.
    cert.verify_directly_issued_by(cert)


def test_founding_report_extensions(founding) -> None:
    _, cert = founding
    oids = [e.oid for e in cert.extensions]
    assert oids == [
        ExtensionOID.SUBJECT_KEY_IDENTIFIER,
        ExtensionOID.AUTHORITY_KEY_IDENTIFIER,
        ExtensionOID.BASIC_CONSTRAINTS,
    ]
    ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    assert aki.authority_cert_issuer is None and aki.authority_cert_serial_number is None
    bc = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical
    assert bc.value.ca is True and bc.value.path_length is None
    with pytest.raises(x509.ExtensionNotFound):
        cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)


def test_founding_report_dates_and_generalized_time(founding) -> None:
    bundle, cert = founding
    assert cert.not_valid_before_utc == datetime(2018, 6, 11, 10, 30, 37, tzinfo=UTC)
    assert cert.not_valid_after_utc == datetime(2118, 5, 18, 10, 30, 37, tzinfo=UTC)
    der = bundle.cert_der.read_bytes()
    # Validity encodings: UTCTime (tag 0x17, 13 bytes) then GeneralizedTime (tag 0x18, 15 bytes).
    assert b"\x17\x0d180611103037Z" in der
    assert b"\x18\x0f21180518103037Z" in der


def test_fixed_plan_is_valid_now_and_ends_before_2038(tmp_path: Path, key_cache: Path) -> None:
    now = datetime(2026, 11, 27, 15, 4, 5, tzinfo=UTC)
    bundle = make_certs(get_plan("founding-report-fixed"), HOST, tmp_path, key_cache, now=now)
    cert = x509.load_pem_x509_certificate(bundle.cert_pem.read_bytes())
    assert cert.not_valid_before_utc == datetime(2026, 11, 26, tzinfo=UTC)
    assert cert.not_valid_before_utc < now < cert.not_valid_after_utc
    assert cert.not_valid_after_utc <= datetime(2038, 1, 1, tzinfo=UTC)
    end = cert.not_valid_after_utc.strftime("%y%m%d%H%M%SZ").encode()
    assert b"\x17\x0d261126000000Z\x17\x0d" + end in bundle.cert_der.read_bytes()  # UTCTime
    late = make_certs(
        get_plan("founding-report-fixed"),
        HOST,
        tmp_path / "late",
        key_cache,
        now=datetime(2037, 6, 1, tzinfo=UTC),
    )
    assert late.not_after == datetime(2038, 1, 1, tzinfo=UTC)


def test_same_inputs_same_bytes(tmp_path: Path, key_cache: Path) -> None:
    plan = get_plan("founding-report-fixed")
    morning = datetime(2026, 11, 27, 0, 0, 1, tzinfo=UTC)
    evening = datetime(2026, 11, 27, 23, 59, 59, tzinfo=UTC)
    a = make_certs(plan, HOST, tmp_path / "a", key_cache, now=morning)
    header_mtime = a.header.stat().st_mtime_ns
    b = make_certs(plan, HOST, tmp_path / "b", key_cache, now=evening)
    again = make_certs(plan, HOST, tmp_path / "a", key_cache, now=evening)
    assert a.cert_der.read_bytes() == b.cert_der.read_bytes()
    assert a.header.read_text() == b.header.read_text()
    assert a.key_pem.read_bytes() == b.key_pem.read_bytes()
    assert (a.sha256, a.serial) == (b.sha256, b.serial)
    assert again.header.stat().st_mtime_ns == header_mtime  # unchanged file not rewritten
    next_day = make_certs(
        plan, HOST, tmp_path / "c", key_cache, now=datetime(2026, 11, 28, 1, tzinfo=UTC)
    )
    assert next_day.sha256 != a.sha256
    assert next_day.serial != a.serial


def test_key_is_cached_per_plan(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    a = make_certs(get_plan("founding-report"), HOST, tmp_path / "a", cache)
    b = make_certs(get_plan("founding-report"), "127.0.0.1", tmp_path / "b", cache)
    c = make_certs(get_plan("founding-report-fixed"), HOST, tmp_path / "c", cache)
    assert a.key_pem.read_bytes() == b.key_pem.read_bytes()
    assert a.key_pem.read_bytes() != c.key_pem.read_bytes()
    assert sorted(p.name for p in cache.iterdir()) == [
        "rsa-2048-founding-report-fixed.key.pem",
        "rsa-2048-founding-report.key.pem",
    ]
    for p in cache.iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o600


def test_key_file_mode_0600_even_if_it_existed(tmp_path: Path, key_cache: Path) -> None:
    (tmp_path / "key.pem").write_text("old")
    (tmp_path / "key.pem").chmod(0o644)
    bundle = make_certs(get_plan("founding-report"), HOST, tmp_path, key_cache)
    assert stat.S_IMODE(bundle.key_pem.stat().st_mode) == 0o600
    assert b"PRIVATE KEY" in bundle.key_pem.read_bytes()


def test_header_parses_back_to_the_der(founding) -> None:
    bundle, _ = founding
    text = bundle.header.read_text()
    der = bundle.cert_der.read_bytes()
    data, length = read_c_header(text, "hil_ca_cert_der")
    assert data == der
    assert length == len(der)
    assert text.count("#ifndef HIL_CA_CERT_DER_H") == 1
    assert "#define HIL_CA_CERT_DER_H" in text and "#endif" in text
    assert "plan: founding-report" in text
    assert f"CN={HOST}" in text
    assert "2018-06-11 10:30:37 UTC .. 2118-05-18 10:30:37 UTC" in text
    assert bundle.sha256 in text


def test_fingerprints(founding) -> None:
    bundle, cert = founding
    assert bundle.sha256 == cert.fingerprint(hashes.SHA256()).hex()
    assert bundle.sha1 == cert.fingerprint(hashes.SHA1()).hex()
    assert re.fullmatch(r"([0-9A-F]{2} ){19}[0-9A-F]{2}", bundle.fingerprint("sha1", " "))


def test_render_any_der_under_any_symbol() -> None:
    text = render_c_header(b"\x30\x03\x02\x01\x05", "my_root_ca", comment=("a note */ here",))
    assert read_c_header(text, "my_root_ca") == (b"\x30\x03\x02\x01\x05", 5)
    assert "#ifndef MY_ROOT_CA_H" in text
    assert "a note * / here" in text  # a comment cannot end the comment block


@pytest.mark.parametrize("symbol", ["", "1abc", "has-dash", "a b"])
def test_render_refuses_bad_symbol(symbol: str) -> None:
    with pytest.raises(ConfigError, match="not a C identifier"):
        render_c_header(b"\x30\x00", symbol)


def test_unknown_plan_names_the_known_ones() -> None:
    with pytest.raises(ConfigError) as info:
        get_plan("nope")
    assert "founding-report" in str(info.value)
    assert {"founding-report", "founding-report-fixed"} <= set(list_plans())


def test_plan_validation() -> None:
    with pytest.raises(ConfigError, match="key_type"):
        CertPlan(name="x", description="", subject=(("CN", "{host}"),), key_type="ec")
    with pytest.raises(ConfigError, match="subject attribute"):
        CertPlan(name="x", description="", subject=(("XX", "y"),))
    with pytest.raises(ConfigError, match="UTC"):
        CertPlan(name="x", description="", subject=(("CN", "h"),), not_before=datetime(2020, 1, 1))


def test_sans_when_a_plan_asks(tmp_path: Path) -> None:
    plan = CertPlan(
        name="with-san",
        description="test",
        subject=(("CN", "{host}"),),
        sans=("{host}", "localhost"),
        key_size=1024,
    )
    bundle = make_certs(plan, "127.0.0.1", tmp_path, tmp_path / "cache")
    cert = x509.load_pem_x509_certificate(bundle.cert_pem.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
