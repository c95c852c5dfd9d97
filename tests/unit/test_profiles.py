"""instruments/servers/profiles.py: the shipped profiles load; bad files say file, key and fix."""

from __future__ import annotations

import ssl
import tomllib
from pathlib import Path

import pytest

from harness.instruments.certs import get_plan
from harness.instruments.servers.profiles import (
    PROFILE_DIR,
    MflnPolicy,
    TlsVersion,
    accepted_suites,
    list_profiles,
    load_profile,
    load_profile_file,
)
from harness.model.errors import ConfigError

FOUNDING_CIPHERS = "EECDH+AESGCM:EDH+AESGCM:AES256+EECDH:AES256+EDH"
FOUNDING_HEADERS = (
    ("Strict-Transport-Security", "max-age=63072000; includeSubdomains"),
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
)

GOOD = """\
description = "a test profile"
source = "nowhere"
min_protocol = "TLSv1.2"
max_protocol = "TLSv1.2"
ciphers = "ECDHE+AESGCM"
honor_cipher_order = true
dh_params = "ffdhe2048"
compression = false
session_tickets = false
cert_plan = "founding-report"
backends = ["builtin"]

[headers]
X-Test = "1"
"""


def test_shipped_profiles_listed() -> None:
    assert {"do-2016-ssl-params", "do-2016-ssl-params-fixed"} <= set(list_profiles())


def test_founding_report_profile() -> None:
    p = load_profile("do-2016-ssl-params")
    assert p.name == "do-2016-ssl-params"
    # What OpenSSL 1.0.2 made of the original string: no AES-CCM (new in 1.1.0), and its
    # curves (no X25519/X448, P-256 first).
    assert p.ciphers == FOUNDING_CIPHERS + ":!AESCCM"
    assert p.groups == ("prime256v1", "secp521r1", "secp384r1")
    assert (p.min_protocol, p.max_protocol) == (TlsVersion.TLS1_0, TlsVersion.TLS1_2)
    assert p.honor_cipher_order is True
    assert p.dh_params == "ffdhe2048"
    assert p.compression is False and p.session_tickets is False
    assert p.headers == FOUNDING_HEADERS
    assert p.cert_plan == "founding-report"
    assert "builtin" in p.backends
    assert f"SSLCipherSuite {FOUNDING_CIPHERS}\n" in p.apache_lines
    assert "SSLHonorCipherOrder On" in p.apache_lines
    assert "TLS 1.3" in p.notes
    assert p.path == PROFILE_DIR / "do-2016-ssl-params.toml"


def test_fixed_profile_differs_only_by_the_fixes() -> None:
    base = load_profile("do-2016-ssl-params")
    fixed = load_profile("do-2016-ssl-params-fixed")
    assert fixed.ciphers == base.ciphers + ":AES128-SHA256"
    assert fixed.cert_plan == "founding-report-fixed"
    same = ("min_protocol", "max_protocol", "honor_cipher_order", "dh_params", "headers", "curves")
    for name in same:
        assert getattr(fixed, name) == getattr(base, name), name


def test_founding_cipher_string_has_no_axtls_suite() -> None:
    # The heart of the founding report, checked against this machine's OpenSSL.
    axtls = {"AES128-SHA256", "AES256-SHA256", "AES256-SHA", "AES128-SHA"}
    for name, expect in (
        ("do-2016-ssl-params", set()),
        ("do-2016-ssl-params-fixed", {"AES128-SHA256"}),
    ):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.set_ciphers(load_profile(name).ciphers)
        served = {c["name"] for c in ctx.get_ciphers()}
        assert served & axtls == expect, name


def test_every_shipped_file_is_valid_toml_with_known_keys() -> None:
    for path in sorted(PROFILE_DIR.glob("*.toml")):
        tomllib.loads(path.read_text())
        assert load_profile_file(path).name == path.stem


def test_good_minimal_profile(tmp_path: Path) -> None:
    path = tmp_path / "mini.toml"
    path.write_text(GOOD)
    p = load_profile_file(path)
    assert p.name == "mini"
    assert p.headers == (("X-Test", "1"),)
    assert p.apache_lines == "" and p.notes == ""


def test_unknown_profile_lists_known(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_profile("nope")
    assert "do-2016-ssl-params" in str(info.value)


@pytest.mark.parametrize(
    ("replace", "with_", "key", "words"),
    [
        ('source = "nowhere"', 'source = "nowhere"\ncolour = "red"', "colour", "unknown key"),
        ("honor_cipher_order = true", 'honor_cipher_order = "yes"', "honor_cipher_order", "bool"),
        ("session_tickets = false", "session_tickets = 0", "session_tickets", "bool"),
        ('ciphers = "ECDHE+AESGCM"', 'ciphers = "NOT-A-CIPHER"', "ciphers", "no cipher"),
        ('ciphers = "ECDHE+AESGCM"', "ciphers = 5", "ciphers", "str"),
        ('cert_plan = "founding-report"', 'cert_plan = "nope"', "cert_plan", "unknown"),
        ('min_protocol = "TLSv1.2"', 'min_protocol = "TLS1.2"', "min_protocol", "unknown TLS"),
        ('max_protocol = "TLSv1.2"', 'max_protocol = "TLSv1.1"', "max_protocol", "lower"),
        ('dh_params = "ffdhe2048"', 'dh_params = "dh1024"', "dh_params", "unknown DH"),
        ("compression = false", "compression = true", "compression", "compression"),
        ('backends = ["builtin"]', 'backends = ["nginx"]', "backends", "unknown backend"),
        ('backends = ["builtin"]', "backends = []", "backends", "empty"),
        ('backends = ["builtin"]', 'backends = "builtin"', "backends", "list"),
        ('description = "a test profile"\n', "", "description", "missing"),
        ('X-Test = "1"', "X-Test = 1", "headers.X-Test", "str"),
        ('X-Test = "1"', '"Bad Header" = "1"', "headers.Bad Header", "not a valid HTTP"),
    ],
)
def test_bad_input_names_file_key_and_fix(
    tmp_path: Path, replace: str, with_: str, key: str, words: str
) -> None:
    assert replace in GOOD
    path = tmp_path / "bad.toml"
    path.write_text(GOOD.replace(replace, with_, 1))
    with pytest.raises(ConfigError) as info:
        load_profile_file(path)
    err = info.value
    assert str(path) in err.what
    assert f"key {key!r}" in err.what
    assert words in str(err)
    assert err.fix


def test_not_toml_names_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("ciphers = [unclosed\n")
    with pytest.raises(ConfigError) as info:
        load_profile_file(path)
    assert str(path) in str(info.value) and "TOML" in str(info.value)


def test_accepted_suites_of_the_founding_profiles():
    from harness.instruments.servers.profiles import accepted_suites, load_profile

    axtls = {0x003C, 0x003D, 0x0035, 0x002F}
    strict = accepted_suites(load_profile("do-2016-ssl-params"))
    assert strict and not set(strict) & axtls
    assert 0xC030 in strict and 0x1301 not in strict  # no TLS 1.3 in a 2016 Apache
    fixed = accepted_suites(load_profile("do-2016-ssl-params-fixed"))
    assert set(fixed) & axtls == {0x003C}


# -- the catalogue --------------------------------------------------------------------------

CATALOGUE = {
    "do-2016-ssl-params",
    "do-2016-ssl-params-fixed",
    "ubuntu-1604-default-ssl",
    "mozilla-old",
    "mozilla-intermediate-5.7",
    "mozilla-intermediate",
    "mozilla-modern",
    "static-rsa-only",
    "tls1.0-only",
    "tls1.1-only",
    "tls1.2-only",
    "tls1.3-only",
    "ecdsa-p256",
    "ecdsa-p384",
    "rsa-1024",
    "rsa-4096",
    "rsa-8192",
    "expired",
    "not-yet-valid",
    "notafter-2050",
    "wrong-host",
    "self-signed",
    "untrusted-root",
    "incomplete-chain",
    "reversed-chain",
    "sha1-intermediate",
    "sni-strict",
    "client-cert-required",
    "large-records",
}


def test_catalogue_is_complete_and_described() -> None:
    assert set(list_profiles()) >= CATALOGUE
    for name in list_profiles():
        p = load_profile(name)
        assert p.description and "\n" not in p.description, name
        assert p.source.strip(), name
        # The embedded default serves every profile but one that ignores MFLN (OpenSSL
        # cannot): that one is tlslite's alone.
        assert ("builtin" in p.backends) is (p.mfln is MflnPolicy.HONOUR), name


def test_what_the_new_profiles_say() -> None:
    from harness.instruments.servers.profiles import ChainOrder, ClientAuth, SniPolicy

    assert load_profile("incomplete-chain").chain is ChainOrder.INCOMPLETE
    assert load_profile("reversed-chain").chain is ChainOrder.REVERSED
    assert load_profile("sni-strict").sni is SniPolicy.STRICT
    assert load_profile("client-cert-required").client_auth is ClientAuth.REQUIRED
    assert load_profile("large-records").response_bytes == 16384
    assert load_profile("mozilla-modern").versions == (TlsVersion.TLS1_3,)
    assert load_profile("tls1.1-only").versions == (TlsVersion.TLS1_1,)
    assert load_profile("sha1-intermediate").cipher_string.endswith(":@SECLEVEL=0")
    assert load_profile("tls1.2-only").cipher_string == "HIGH:!aNULL:!MD5"  # system level

    # 5.7 intermediate has DHE, 6.0 has not.
    def dhe(name: str) -> list[str]:
        return [c for c in load_profile(name).ciphers.split(":") if c.startswith("DHE-")]

    assert dhe("mozilla-intermediate-5.7") and not dhe("mozilla-intermediate")
    assert load_profile("mozilla-intermediate").dh_params is None


def test_accepted_suites_by_version_key_type_and_dh() -> None:
    from harness.instruments.servers.profiles import accepted_suites

    old = load_profile("mozilla-old")
    tls10 = accepted_suites(old, TlsVersion.TLS1_0)
    assert 0xC013 in tls10 and 0x002F in tls10  # ECDHE-RSA-AES128-SHA, AES128-SHA
    assert 0xC02F not in tls10  # AES-GCM needs TLS 1.2
    assert 0xC02B not in accepted_suites(old)  # an ECDSA suite, an RSA certificate
    assert accepted_suites(old, TlsVersion.TLS1_3) == (0x1302, 0x1303, 0x1301)
    assert 0x000A not in accepted_suites(old)  # 3DES: not in this OpenSSL at all
    ecdsa = accepted_suites(load_profile("ecdsa-p256"))
    assert ecdsa and all((s >> 8) == 0xC0 or (s >> 8) == 0xCC for s in ecdsa)
    assert 0xC02B in ecdsa and 0xC02F not in ecdsa
    # HIGH lists DHE suites, but without DH parameters the server cannot choose them.
    assert 0x009E not in accepted_suites(load_profile("tls1.2-only"))
    assert 0x009E in accepted_suites(load_profile("ubuntu-1604-default-ssl"))
    assert accepted_suites(load_profile("tls1.0-only"), TlsVersion.TLS1_2) == ()
    modern = load_profile("mozilla-modern")
    assert accepted_suites(modern) == (0x1301, 0x1302, 0x1303)  # its own order
    static = accepted_suites(load_profile("static-rsa-only"))
    assert {0x003C, 0x003D, 0x0035, 0x002F} <= set(static)


GOOD_CHAIN = GOOD.replace('cert_plan = "founding-report"', 'cert_plan = "ca-rsa-2048"')


@pytest.mark.parametrize(
    ("text", "replace", "with_", "key", "words"),
    [
        (GOOD, "backends", 'chain = "sideways"\nbackends', "chain", "unknown chain"),
        (GOOD, "backends", "chain = 1\nbackends", "chain", "expected str"),
        (GOOD, "backends", 'chain = "incomplete"\nbackends', "chain", "at least 1"),
        (GOOD_CHAIN, "backends", 'chain = "reversed"\nbackends', "chain", "at least 2"),
        (GOOD, "backends", 'sni = "maybe"\nbackends', "sni", "unknown sni"),
        (GOOD, "backends", 'client_auth = "required"\nbackends', "client_auth", "client cert"),
        (GOOD, "backends", 'client_auth = "always"\nbackends', "client_auth", "unknown"),
        (GOOD, "backends", "response_bytes = 10\nbackends", "response_bytes", "out of range"),
        (GOOD, "backends", "response_bytes = true\nbackends", "response_bytes", "expected int"),
        (GOOD, "backends", "security_level = 9\nbackends", "security_level", "out of range"),
        (GOOD, "backends", 'curves = ["P-999"]\nbackends', "curves", "does not know"),
        (GOOD, "backends", 'curves = "X25519"\nbackends', "curves", "expected list"),
        (
            GOOD,
            "backends",
            'tls13_ciphersuites = ["TLS_AES_128_GCM_SHA256"]\nbackends',
            "tls13_ciphersuites",
            "max_protocol is TLSv1.2",
        ),
        (
            GOOD.replace('max_protocol = "TLSv1.2"', 'max_protocol = "TLSv1.3"'),
            "backends",
            'tls13_ciphersuites = ["TLS_FAKE"]\nbackends',
            "tls13_ciphersuites",
            "unknown TLS 1.3 suite",
        ),
        (
            GOOD,
            'ciphers = "ECDHE+AESGCM"',
            'ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256"',
            "ciphers",
            "no suite of this string can be served with the RSA key",
        ),
        (
            GOOD.replace('dh_params = "ffdhe2048"\n', ""),
            'ciphers = "ECDHE+AESGCM"',
            'ciphers = "DHE-RSA-AES128-GCM-SHA256"',
            "ciphers",
            "set dh_params",
        ),
    ],
)
def test_new_keys_bad_input_names_file_key_and_fix(
    tmp_path: Path, text: str, replace: str, with_: str, key: str, words: str
) -> None:
    assert replace in text
    path = tmp_path / "bad.toml"
    path.write_text(text.replace(replace, with_, 1))
    with pytest.raises(ConfigError) as info:
        load_profile_file(path)
    err = info.value
    assert str(path) in err.what
    assert f"key {key!r}" in err.what
    assert words in str(err)
    assert err.fix


# What Apache 2.4.18 on OpenSSL 1.0.2 served from the DigitalOcean string with an RSA
# key, in its order: 1.0.2's expansion (no AES-CCM, added in 1.1.0) kept to RSA
# authentication, and the curves of its automatic ECDH (no X25519/X448, added in 1.1.0;
# P-256 preferred), restricted to the NIST prime curves (profile notes).
OPENSSL_102_FOUNDING_SUITES = [
    0xC030,  # ECDHE-RSA-AES256-GCM-SHA384
    0xC02F,  # ECDHE-RSA-AES128-GCM-SHA256
    0x009F,  # DHE-RSA-AES256-GCM-SHA384
    0x009E,  # DHE-RSA-AES128-GCM-SHA256
    0xC028,  # ECDHE-RSA-AES256-SHA384
    0xC014,  # ECDHE-RSA-AES256-SHA
    0x006B,  # DHE-RSA-AES256-SHA256
    0x0039,  # DHE-RSA-AES256-SHA
]
OPENSSL_102_GROUPS = ("prime256v1", "secp521r1", "secp384r1")
# Mozilla's tls_curves (5.7, 5.8 and 6.0 less X25519MLKEM768, which OpenSSL 3.0 lacks).
MOZILLA_GROUPS = ("X25519", "prime256v1", "secp384r1")


def test_the_2016_profiles_serve_what_the_2016_server_served() -> None:
    base = load_profile("do-2016-ssl-params")
    fixed = load_profile("do-2016-ssl-params-fixed")
    assert list(accepted_suites(base)) == OPENSSL_102_FOUNDING_SUITES
    assert list(accepted_suites(fixed)) == [*OPENSSL_102_FOUNDING_SUITES, 0x003C]
    # The AES-256-CBC suites come at TLS 1.0 and 1.1 too; the GCM ones only at 1.2.
    assert set(accepted_suites(base, TlsVersion.TLS1_0)) == {0xC014, 0x0039}
    for name in ("do-2016-ssl-params", "do-2016-ssl-params-fixed", "ubuntu-1604-default-ssl"):
        assert load_profile(name).groups == OPENSSL_102_GROUPS, name
    assert "AES-GCM only" not in base.description and "AES-256-CBC" in base.description


def test_mozilla_profiles_serve_mozillas_groups_and_modern_an_ecdsa_chain() -> None:
    for name in (
        "mozilla-old",
        "mozilla-intermediate",
        "mozilla-intermediate-5.7",
        "mozilla-modern",
    ):
        assert load_profile(name).groups == MOZILLA_GROUPS, name
    plan = get_plan(load_profile("mozilla-modern").cert_plan)
    assert (plan.key_type, plan.key_size) == ("ecdsa", 256)
    assert plan.issuers and all(ca.key_type == "ecdsa" for ca in plan.issuers)


def test_mozilla_old_claims_no_suite_it_does_not_serve() -> None:
    old = load_profile("mozilla-old")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.set_ciphers("ALL:COMPLEMENTOFALL:@SECLEVEL=0")
    triple_des = {c["id"] & 0xFFFF for c in ctx.get_ciphers() if "3DES" in c["description"]}
    assert not triple_des & set(accepted_suites(old))  # this OpenSSL has none to serve
    assert "adds CBC, static-RSA and 3DES" not in old.description
    assert "3DES suite cannot be served" in old.description
