"""harness/instruments/certs.py: certificate shapes, determinism, files and the C header."""

from __future__ import annotations

import ast
import hashlib
import re
import stat
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509 import verification
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, NameOID

from harness.instruments import certs
from harness.instruments.certs import (
    CaSpec,
    CertPlan,
    ChainOrder,
    TrustAnchor,
    get_plan,
    list_plans,
    make_certs,
    render_c_header,
    render_c_string_header,
)
from harness.model.errors import ConfigError

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


# -- the founding plans, byte for byte ------------------------------------------------------

# A throwaway RSA-2048 key for the golden test below, nothing else; the PEM armour is
# added at run time so that secret scanners do not flag a test fixture.
_GOLDEN_KEY_B64 = (
    "MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQD1U7VyQ8xNhZ6I"
    "sh7fdxxNe8ylwi2g/tCMWZq0Iei0EMAv37t7RWGYlXvmUolGiPM7DsnJ3dG4v8cp"
    "MvfqwVp+R+HdBERwcPUuu1tOoYWTrczPkekdt1g58yBeRncIfKaycaAVG1e63vH6"
    "Bbyaygj0Fqlztb/J4sNaQfoKMnZV6qADH7YQS5jTt0zPLUFiOPk8fRXayOHC/wsw"
    "LxaTj93hhQcqQpwkJGhM8MIMvTJJjtWlAVSaZ/T0WhhUKt00xshUmBqvcVL4oKGe"
    "I8zRZ80Y1HT74HcDI0IdTizyE5qKZ8j23K9r8dB5x9sitfednFQZAeM5f2wsC5Iv"
    "t4byktm/AgMBAAECggEADAf06AunI04gPjfuB6uBudMOcDqbnj+g3qEuUxMupFYF"
    "9tMUELGQXblHAD6f+NOSihzpjHrSZCsTi1OykNK2q2a/DuW8rX78pzQNAEgvktR9"
    "LNjNA+YP75eayMTP5ZynWCz2WtKidMmmOEq7uyOZWM8btE7/ftkeF3kQ2Bstbn0g"
    "kj4Znk4XKR3+JwJsnV3c9g9oHf7/VxBkA4w1toivjspIIPBTJ9KzUCoqhSwC+hgC"
    "twIKW7S6RfdV8vk+jk3jQ5Bx+vX9XwWTdlqPrE4DurKZk7ncte3rYe3DTn3CO4++"
    "R7DHm2rGQaGTFZWWjXQp6Hkmsm6u3qKjF816G2NSkQKBgQD/A47Yjj1m6HPMs9k6"
    "Qz7/9saIwTUGdIOUztEodLjmpirdQ5jiMsrsgtMZHnBvt0QwHIY3BUmcMfoUHaFH"
    "5gKJx2AUsZ+CcldWSkdt4zkU7kM4AsU/Xl2SCj4ZiuddUHM2JAK/fKOmnEDXScr+"
    "JW9EMBARYq7TrXXjNU+TVzn9GwKBgQD2Ro/C30VbPdmfQBTQfyhOBxPjfV8uI6a0"
    "/cjhorX7kyQWNaQkqf5Fjry/w5BztUJ1LuR3IYmPL4de/bsBMRnTENOKGdv7xkAs"
    "6ALCvpNlbmd6mO6T5Y7xPdL23hZbY4kOfOcOWJMCKqS/af1Ij2CRX2G3bZCciAXa"
    "wF/VlsXULQKBgQCUfWzjGkgUsQwkySCXNWrsvrQyE1ad8KBhuN+/j9/OpjlVZ7QR"
    "GoRgnXjwKnJMCsnQvftE9HY9VjiJGAu+guc9dPO0eQ0pdwz1+QCIswOc9XP8nFhg"
    "osEXdZFdbC12f47mmqdi+t+L93YmJhjmTcPxT487oFuudFWtvHAemm7wuwKBgQCS"
    "sJzYuhyZqFGDpavANL1RHK4gBoE2/k1B6RhKLZyv6IjKIdFPdWHbFJYgst/Ly991"
    "5SR4QSWqf+jmD8PfhduX+KHH1HdPlFqNZPSgAtvQwt4oDAevWEC4ONb77HTsonD0"
    "jDkkNmX6GGRhD0Sqf5xJesK9eylz0yGJlqR+mHvlUQKBgFAzH8eoWySQn8W3s8O3"
    "IPI0zEALjcaqwzs8io3jCglSAA/jmtKnAb5m0Fzu66ylHanYax956bg1U51qRCrK"
    "Mql8QbzNuC8sJNhDuxMktvAwYFKXthI3LEs5Meljn+79sDDXzeCfKW84FJi5RnmF"
    "D5M8L0RXd8+mWrtNYbSt0445"
)

# SHA-256 of each file the founding plans wrote before chains, ECDSA and the rest came
# in (the walking skeleton's certificate module), with the key above, host HOST and
# now = 2026-11-27 15:04:05 UTC. The founding report's tests depend on these bytes.
# A C header is hashed from its include guard on: its leading comment is prose.
GOLDEN = {
    "founding-report": {
        "cert.der": "72d523ad1f24c1ab1c58bd4588b06aaf36ec50ad52b3c84de79785ee55c5676c",
        "cert.pem": "3858746ff9ecd6bea8ce53ab0b4b456ea6923a905ed763ba2549397864f489d6",
        "key.pem": "51efb6e67f178fc9fb12fb2f81398ccb37d900f6b2856669a4704b25d4923eb1",
        "hil_ca_cert.h": "382493c6288e4cbe25ab59f40c8859badf400ec99f48f30d49b61715c646f638",
    },
    "founding-report-fixed": {
        "cert.der": "169044fb33bdc402ddff81357612b13cad384977a9485932f22174a6bc952d08",
        "cert.pem": "ec8974ff993f06958c5019e9c9c919f64c9153c5d8f5f3fbcfbbdf831a3c77c2",
        "key.pem": "51efb6e67f178fc9fb12fb2f81398ccb37d900f6b2856669a4704b25d4923eb1",
        "hil_ca_cert.h": "3146f7d9d6eb36271258a86a67bfddcafd9e98705d9d2706f63faba179b2d2f4",
    },
}
NOW = datetime(2026, 11, 27, 15, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize("plan", sorted(GOLDEN))
def test_founding_plans_are_byte_identical_to_before(tmp_path: Path, plan: str) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    armour = "-----{} PRIVATE KEY-----"
    pem = "\n".join([armour.format("BEGIN"), *_GOLDEN_KEY_B64, armour.format("END"), ""])
    (cache / f"rsa-2048-{plan}.key.pem").write_text(pem)
    make_certs(get_plan(plan), HOST, tmp_path / "out", cache, now=NOW)
    got = {f: hashlib.sha256(_data_bytes(tmp_path / "out" / f)).hexdigest() for f in GOLDEN[plan]}
    assert got == GOLDEN[plan]


def _data_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    return data[data.index(b"#ifndef") :] if path.suffix == ".h" else data


# -- chains ---------------------------------------------------------------------------------


def load_pem(path: Path | None) -> x509.Certificate:
    assert path is not None
    return x509.load_pem_x509_certificate(path.read_bytes())


def pem_blocks(path: Path | None) -> list[x509.Certificate]:
    assert path is not None
    return x509.load_pem_x509_certificates(path.read_bytes())


@pytest.fixture(scope="module")
def deep(tmp_path_factory: pytest.TempPathFactory, key_cache: Path):
    out = tmp_path_factory.mktemp("deep")
    return make_certs(get_plan("ca-rsa-2048-deep"), "hil.test", out, key_cache, now=NOW)


def test_chain_of_any_depth_links_and_verifies(deep) -> None:
    root, *intermediates = [load_pem(p) for p in deep.issuer_pems]
    leaf = load_pem(deep.cert_pem)
    assert len(intermediates) == 2
    root.verify_directly_issued_by(root)
    intermediates[0].verify_directly_issued_by(root)
    intermediates[1].verify_directly_issued_by(intermediates[0])
    leaf.verify_directly_issued_by(intermediates[1])
    # A real path validation (RFC 5280, as a browser would), trusting the root only.
    verifier = (
        verification.PolicyBuilder()
        .store(verification.Store([root]))
        .time(NOW)
        .build_server_verifier(x509.DNSName("hil.test"))
    )
    path = verifier.verify(leaf, intermediates)
    assert path[-1] == root
    for ca in (root, *intermediates):
        bc = ca.extensions.get_extension_for_class(x509.BasicConstraints)
        assert bc.critical and bc.value.ca
        assert ca.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign


def test_chain_files_order_and_the_anchor(deep) -> None:
    root, int1, int2 = [load_pem(p) for p in deep.issuer_pems]
    leaf = load_pem(deep.cert_pem)
    assert pem_blocks(deep.chain_pem) == [leaf, int2, int1]  # leaf side first
    assert pem_blocks(deep.chain_reversed_pem) == [leaf, int1, int2]
    assert deep.served_chain(ChainOrder.FULL) == deep.chain_pem
    assert deep.served_chain("incomplete") == deep.cert_pem
    assert deep.served_chain("reversed") == deep.chain_reversed_pem
    with pytest.raises(ConfigError, match="chain order 'sideways'"):
        deep.served_chain("sideways")
    # The sketch trusts the root: PEM, DER, the DER header and the PEM string header.
    assert load_pem(deep.ca_pem) == root
    assert deep.ca_der.read_bytes() == root.public_bytes(serialization.Encoding.DER)
    data, length = read_c_header(deep.header.read_text(), "hil_ca_cert_der")
    assert data == deep.ca_der.read_bytes() and length == len(data)
    assert read_c_string(deep.ca_header_pem.read_text(), "hil_ca_cert_pem") == (
        deep.ca_pem.read_text()
    )
    assert deep.ca_subject == "O=esp-tls-hil, CN=esp-tls-hil Root CA"
    assert deep.ca_sha256 == root.fingerprint(hashes.SHA256()).hex()
    assert deep.ca_sha1 == root.fingerprint(hashes.SHA1()).hex()
    # The server's own fingerprints stay the leaf's (what verify()/setFingerprint pin).
    assert deep.sha1 == leaf.fingerprint(hashes.SHA1()).hex()
    assert re.fullmatch(r"([0-9A-F]{2}:){31}[0-9A-F]{2}", deep.fingerprint("ca-sha256"))


def test_every_private_key_is_0600(deep, tmp_path: Path, key_cache: Path) -> None:
    client = make_certs(get_plan("client-auth"), "hil.test", tmp_path, key_cache, now=NOW)
    keys = [deep.key_pem, *deep.issuer_keys]
    keys += [client.client_key_pem, client.client_key_der, client.client_header]
    for path in keys:
        assert path is not None
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert len(deep.issuer_keys) == 3
    assert all(b"PRIVATE KEY" in p.read_bytes() for p in deep.issuer_keys)


def test_server_leaf_shape(deep) -> None:
    leaf = load_pem(deep.cert_pem)
    oids = [e.oid for e in leaf.extensions]
    assert oids == [
        ExtensionOID.SUBJECT_KEY_IDENTIFIER,
        ExtensionOID.AUTHORITY_KEY_IDENTIFIER,
        ExtensionOID.BASIC_CONSTRAINTS,
        ExtensionOID.KEY_USAGE,
        ExtensionOID.EXTENDED_KEY_USAGE,
        ExtensionOID.SUBJECT_ALTERNATIVE_NAME,
    ]
    assert leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.key_encipherment  # RSA key exchange
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["hil.test"]
    assert deep.subject == "O=esp-tls-hil, CN=hil.test"


def test_ca_certificates_end_before_the_32_bit_wrap(deep) -> None:
    for path in deep.issuer_pems:
        assert load_pem(path).not_valid_after_utc <= datetime(2038, 1, 1, tzinfo=UTC)


def test_standard_root_is_the_same_for_every_plan_of_a_day(tmp_path: Path, key_cache: Path):
    roots = {
        name: make_certs(get_plan(name), "hil.test", tmp_path / name, key_cache, now=NOW)
        for name in ("ca-rsa-2048", "ca-ecdsa-p256", "expired", "self-signed", "untrusted-root")
    }
    anchors = {name: b.ca_der.read_bytes() for name, b in roots.items()}
    assert len(set(anchors.values())) == 1  # one sketch binary trusts every such server
    # ... but the self-signed and untrusted-root servers were not issued by it.
    assert roots["self-signed"].issuer_pems == ()
    assert (
        load_pem(roots["self-signed"].cert_pem).issuer
        == load_pem(roots["self-signed"].cert_pem).subject
    )
    untrusted = load_pem(roots["untrusted-root"].issuer_pems[0])
    assert untrusted.subject.rfc4514_string() == "CN=esp-tls-hil Untrusted Root CA,O=esp-tls-hil"
    assert untrusted.public_bytes(serialization.Encoding.DER) != anchors["ca-rsa-2048"]


# -- keys and signatures --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("plan", "curve"), [("ca-ecdsa-p256", ec.SECP256R1), ("ca-ecdsa-p384", ec.SECP384R1)]
)
def test_ecdsa_leaf_deterministic(tmp_path: Path, key_cache: Path, plan: str, curve) -> None:
    a = make_certs(get_plan(plan), "hil.test", tmp_path / "a", key_cache, now=NOW)
    b = make_certs(get_plan(plan), "hil.test", tmp_path / "b", key_cache, now=NOW)
    key = load_pem(a.cert_pem).public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, curve)
    assert b"BEGIN EC PRIVATE KEY" in a.key_pem.read_bytes()
    assert (a.key_type, a.key_size) == ("ecdsa", curve.key_size)
    usage = load_pem(a.cert_pem).extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and not usage.key_encipherment  # no RSA key exchange
    assert a.cert_der.read_bytes() == b.cert_der.read_bytes()


def test_ecdsa_issuer_signs_deterministically(tmp_path: Path, key_cache: Path) -> None:
    plan = CertPlan(
        name="ec-chain",
        description="test",
        subject=(("CN", "{host}"),),
        ca=False,
        issuers=(CaSpec(name="EC Root", key_label="ec-root", key_type="ecdsa", key_size=384),),
        key_type="ecdsa",
        key_size=256,
        signature_hash="sha384",
    )
    a = make_certs(plan, "hil.test", tmp_path / "a", key_cache, now=NOW)
    b = make_certs(plan, "hil.test", tmp_path / "b", key_cache, now=NOW)
    assert a.cert_der.read_bytes() == b.cert_der.read_bytes()
    assert a.header.read_bytes() == b.header.read_bytes()  # the firmware does not change
    leaf = load_pem(a.cert_pem)
    assert leaf.signature_algorithm_oid == x509.SignatureAlgorithmOID.ECDSA_WITH_SHA384
    leaf.verify_directly_issued_by(load_pem(a.ca_pem))


def test_sha1_intermediate(tmp_path: Path, key_cache: Path) -> None:
    bundle = make_certs(get_plan("sha1-intermediate"), "hil.test", tmp_path, key_cache, now=NOW)
    root, intermediate = [load_pem(p) for p in bundle.issuer_pems]
    assert intermediate.signature_algorithm_oid == x509.SignatureAlgorithmOID.RSA_WITH_SHA1
    assert root.signature_algorithm_oid == x509.SignatureAlgorithmOID.RSA_WITH_SHA256
    # The hand-made SHA-1 signature is real (cryptography verifies SHA-1 no more itself).
    public = root.public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    public.verify(
        intermediate.signature,
        intermediate.tbs_certificate_bytes,
        padding.PKCS1v15(),
        hashes.SHA1(),
    )
    leaf = load_pem(bundle.cert_pem)
    assert leaf.signature_algorithm_oid == x509.SignatureAlgorithmOID.RSA_WITH_SHA256
    leaf.verify_directly_issued_by(intermediate)


def test_sha1_needs_an_rsa_issuer(tmp_path: Path, key_cache: Path) -> None:
    plan = CertPlan(
        name="ec-sha1",
        description="test",
        subject=(("CN", "x"),),
        key_type="ecdsa",
        key_size=256,
        signature_hash="sha1",
    )
    with pytest.raises(ConfigError, match="RSA issuers only"):
        make_certs(plan, "hil.test", tmp_path, key_cache, now=NOW)


@pytest.mark.parametrize("size", [1024, 4096])
def test_rsa_sizes(tmp_path: Path, key_cache: Path, size: int) -> None:
    bundle = make_certs(get_plan(f"ca-rsa-{size}"), "hil.test", tmp_path, key_cache, now=NOW)
    key = load_pem(bundle.cert_pem).public_key()
    assert isinstance(key, rsa.RSAPublicKey) and key.key_size == size


# -- validity -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("not_after", "encoded"),
    [
        (datetime(2049, 12, 31, 23, 59, 59, tzinfo=UTC), b"\x17\x0d491231235959Z"),
        (datetime(2050, 1, 1, tzinfo=UTC), b"\x18\x0f20500101000000Z"),
    ],
)
def test_utctime_before_2050_generalized_time_from_2050(
    tmp_path: Path, key_cache: Path, not_after: datetime, encoded: bytes
) -> None:
    plan = CertPlan(name="dates", description="test", subject=(("CN", "x"),), not_after=not_after)
    bundle = make_certs(plan, "hil.test", tmp_path, key_cache, now=NOW)
    assert encoded in bundle.cert_der.read_bytes()
    assert bundle.not_after == not_after


def test_notafter_2050_plan(tmp_path: Path, key_cache: Path) -> None:
    bundle = make_certs(get_plan("notafter-2050"), "hil.test", tmp_path, key_cache, now=NOW)
    assert b"\x18\x0f20500101000000Z" in bundle.cert_der.read_bytes()


def test_expired_and_not_yet_valid(tmp_path: Path, key_cache: Path) -> None:
    expired = make_certs(get_plan("expired"), "hil.test", tmp_path / "e", key_cache, now=NOW)
    future = make_certs(get_plan("not-yet-valid"), "hil.test", tmp_path / "f", key_cache, now=NOW)
    assert expired.not_after < NOW - timedelta(days=30)
    assert future.not_before > NOW + timedelta(days=29)
    with pytest.raises(ConfigError, match="not after notBefore"):
        CertPlan(
            name="x",
            description="",
            subject=(("CN", "x"),),
            not_after=datetime(2000, 1, 1, tzinfo=UTC),
        ).validity(NOW)


# -- names ----------------------------------------------------------------------------------


def test_no_san_ip_san_and_wrong_host(tmp_path: Path, key_cache: Path) -> None:
    snakeoil = make_certs(get_plan("ubuntu-snakeoil"), "hil.test", tmp_path / "s", key_cache)
    cert = load_pem(snakeoil.cert_pem)
    with pytest.raises(x509.ExtensionNotFound):
        cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert cert.subject.rfc4514_string() == "CN=hil.test"
    by_ip = make_certs(get_plan("ca-rsa-2048"), "127.0.0.1", tmp_path / "ip", key_cache)
    san = load_pem(by_ip.cert_pem).extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert [str(a) for a in san.value.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    wrong = make_certs(get_plan("wrong-host"), "hil.test", tmp_path / "w", key_cache)
    assert wrong.subject == "O=esp-tls-hil, CN=wrong.host.invalid"


# -- the client certificate -----------------------------------------------------------------


def test_client_certificate(tmp_path: Path, key_cache: Path) -> None:
    bundle = make_certs(get_plan("client-auth"), "hil.test", tmp_path, key_cache, now=NOW)
    client, ca = load_pem(bundle.client_cert_pem), load_pem(bundle.client_ca_pem)
    client.verify_directly_issued_by(ca)
    eku = client.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert bundle.client_cert_der.read_bytes() == client.public_bytes(serialization.Encoding.DER)
    text = bundle.client_header.read_text()
    assert read_c_header(text, "hil_client_cert_der")[0] == bundle.client_cert_der.read_bytes()
    assert read_c_header(text, "hil_client_key_der")[0] == bundle.client_key_der.read_bytes()
    no_client = make_certs(get_plan("ca-rsa-2048"), "hil.test", tmp_path / "n", key_cache)
    assert no_client.client_cert_pem is None


# -- the key cache --------------------------------------------------------------------------


def test_keys_cached_by_type_size_and_label(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    a = make_certs(get_plan("ca-rsa-1024"), "hil.test", tmp_path / "a", cache)
    b = make_certs(get_plan("ca-rsa-1024"), "other.test", tmp_path / "b", cache)
    assert a.key_pem.read_bytes() == b.key_pem.read_bytes()
    assert sorted(p.name for p in cache.iterdir()) == [
        "rsa-1024-leaf.key.pem",
        "rsa-2048-intermediate.key.pem",
        "rsa-2048-root.key.pem",
    ]  # no lock file left behind


def test_concurrent_workers_make_a_key_once(tmp_path: Path, monkeypatch) -> None:
    made: list[int] = []
    real = certs.keys.rsa.generate_private_key

    def counting(*args, **kwargs):
        made.append(kwargs["key_size"])
        return real(*args, **kwargs)

    monkeypatch.setattr(certs.keys.rsa, "generate_private_key", counting)
    start = threading.Barrier(6)
    keys: list[bytes] = []

    def worker(i: int) -> None:
        start.wait()
        bundle = make_certs(get_plan("ca-rsa-1024"), "hil.test", tmp_path / f"w{i}", tmp_path / "c")
        keys.append(bundle.key_pem.read_bytes())

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(keys) == 6 and len(set(keys)) == 1
    assert sorted(made) == [1024, 2048, 2048]  # leaf, root, intermediate: each once


def test_broken_cached_key_names_the_file_and_fix(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "rsa-1024-leaf.key.pem").write_text("garbage")
    with pytest.raises(ConfigError) as info:
        make_certs(get_plan("ca-rsa-1024"), "hil.test", tmp_path, cache)
    assert "rsa-1024-leaf.key.pem" in str(info.value) and "delete" in info.value.fix


# -- exports and validation -----------------------------------------------------------------


def read_c_string(text: str, symbol: str) -> str:
    """The value of `static const char SYMBOL[] = "..." "...";` in a header."""
    body = re.search(rf"static const char {symbol}\[\] =\n(.*?);\n", text, re.DOTALL)
    assert body, text[:400]
    return "".join(ast.literal_eval(line.strip()) for line in body.group(1).splitlines())


def test_c_string_header_escapes() -> None:
    text = render_c_string_header('a "quoted" \\ line\nsecond\n', "my_pem")
    assert read_c_string(text, "my_pem") == 'a "quoted" \\ line\nsecond\n'
    assert "#ifndef MY_PEM_H" in text
    with pytest.raises(ConfigError, match="no PEM"):
        render_c_string_header("  ", "my_pem")


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"key_type": "ecdsa", "key_size": 521}, "ECDSA curve"),
        ({"key_type": "dsa"}, "key_type"),
        ({"key_size": 16384}, "RSA size"),
        ({"signature_hash": "md5"}, "signature_hash"),
        ({"trust": "nobody"}, "trust anchor"),
        ({"key_label": "../escape"}, "cache file"),
        ({"not_after": datetime(2050, 1, 1)}, "UTC"),
    ],
)
def test_new_plan_validation(kwargs: dict, words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        CertPlan(name="x", description="", subject=(("CN", "x"),), **kwargs)


def test_ca_spec_validation() -> None:
    with pytest.raises(ConfigError, match="CA 'r'"):
        CaSpec(name="r", key_label="r", key_size=100)
    assert TrustAnchor("hil-root") is TrustAnchor.HIL_ROOT


def test_every_plan_issues(tmp_path: Path, key_cache: Path) -> None:
    # Every plan of the catalogue makes its files (RSA-8192 is left to the proofs: its
    # key is made once per machine in the bench's cache, not per test run).
    for name in list_plans():
        if name == "ca-rsa-8192":
            continue
        bundle = make_certs(get_plan(name), "hil.test", tmp_path / name, key_cache, now=NOW)
        assert all(path.exists() for _, path in bundle.files()), name


@pytest.mark.parametrize(
    ("plan", "min_rsa_bits", "sig_hashes"),
    [
        ("ca-rsa-1024", 1024, ("sha256", "sha256")),
        ("sha1-intermediate", 2048, ("sha256", "sha1")),
        ("ca-ecdsa-p256", 2048, ("sha256", "sha256")),  # the P-256 leaf under RSA CAs
        ("founding-report", 2048, ("sha256",)),  # self-signed: no chain file, the leaf alone
    ],
)
def test_chain_strength_is_what_the_server_sends(
    tmp_path: Path, key_cache: Path, plan: str, min_rsa_bits: int, sig_hashes: tuple
) -> None:
    bundle = make_certs(get_plan(plan), "localhost", tmp_path, key_cache, now=NOW)
    assert bundle.chain_strength() == (min_rsa_bits, sig_hashes)
