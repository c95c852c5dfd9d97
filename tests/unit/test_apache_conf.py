"""harness/instruments/servers/apache_conf.py: a profile as httpd config text (pure)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from harness.instruments.servers.apache_conf import (
    ACCESS_LOG_FORMAT,
    MODULES,
    ApachePaths,
    original_lines,
    profile_directives,
    render_config,
    ssl_protocol,
)
from harness.instruments.servers.profiles import ClientAuth, TlsVersion, load_profile
from harness.model.errors import ConfigError

ROOT = Path("/srv/hil-apache")
PATHS = ApachePaths.under(ROOT, with_dh=True)


def live(config: str) -> list[str]:
    return [line for line in config.splitlines() if line.strip() and not line.startswith("#")]


def test_self_contained_server_part() -> None:
    config = render_config(load_profile("do-2016-ssl-params"), PATHS, bind="127.0.0.1", port=8443)
    lines = live(config)
    assert 'ServerRoot "/srv/hil-apache"' in lines
    assert 'PidFile "/srv/hil-apache/httpd.pid"' in lines
    assert "Listen 127.0.0.1:8443" in lines
    assert 'ErrorLog "/srv/hil-apache/error.log"' in lines
    for name, so in MODULES:
        assert f'LoadModule {name} "/usr/lib/apache2/modules/{so}"' in lines
    # Compiled into Debian's apache2: loading them again is an error.
    assert not any("unixd" in line or "log_config" in line for line in lines)
    assert "Include" not in config  # nothing from /etc/apache2
    assert "LogLevel warn ssl:debug" in lines
    custom = next(line for line in lines if line.startswith("LogFormat"))
    for item in ("%{usec}t", "%{SSL_PROTOCOL}x", "%{SSL_CIPHER}x", "%{SSL_TLS_SNI}x", "%{c}L"):
        assert item in custom
    assert '\\"%r\\"' in custom  # quotes inside the quoted format are escaped for Apache
    assert ACCESS_LOG_FORMAT.endswith('"%r"')
    assert 'CustomLog "/srv/hil-apache/access.log" hil' in lines
    assert 'DocumentRoot "/srv/hil-apache/htdocs"' in lines
    assert 'SSLCertificateKeyFile "/srv/hil-apache/key.pem"' in lines


def test_founding_report_keeps_its_original_lines() -> None:
    profile = load_profile("do-2016-ssl-params")
    config = render_config(profile, PATHS, bind="127.0.0.1", port=8443)
    lines = live(config)
    # Lines that apply here are live, verbatim.
    for original in (
        "SSLHonorCipherOrder On",
        'Header always set Strict-Transport-Security "max-age=63072000; includeSubdomains"',
        "Header always set X-Frame-Options DENY",
        "Header always set X-Content-Type-Options nosniff",
        "SSLCompression off",
        "SSLSessionTickets Off",
        "SSLUseStapling on",
        'SSLStaplingCache "shmcb:logs/stapling-cache(150000)"',
    ):
        assert original in lines, original
    # Lines that cannot apply are kept as comments with the reason and the replacement.
    text = config.splitlines()
    for original, replacement, why in (
        (
            "SSLProtocol All -SSLv2 -SSLv3",
            "SSLProtocol -all +TLSv1 +TLSv1.1 +TLSv1.2",
            "TLS 1.3",
        ),
        (
            "SSLCipherSuite EECDH+AESGCM:EDH+AESGCM:AES256+EECDH:AES256+EDH",
            "SSLCipherSuite EECDH+AESGCM:EDH+AESGCM:AES256+EECDH:AES256+EDH:!AESCCM:@SECLEVEL=0",
            "security level",
        ),
        (
            'SSLOpenSSLConfCmd DHParameters "/etc/ssl/certs/dhparam.pem"',
            'SSLOpenSSLConfCmd DHParameters "/srv/hil-apache/dhparams.pem"',
            "ffdhe2048",
        ),
    ):
        i = text.index(f"#   {original}")
        assert why in text[i - 1]
        assert text[i + 1] == replacement
        assert original not in lines
    assert "self-signed" in config  # the note on SSLUseStapling
    # The cipher string's comment says why the profile's string differs from the line.
    i = text.index("#   SSLCipherSuite EECDH+AESGCM:EDH+AESGCM:AES256+EECDH:AES256+EDH")
    assert "the profile's string is EECDH+AESGCM" in text[i - 1]
    # In the original order: the cipher string first, DH last of them; then the one
    # setting the original lines have none for, the curves OpenSSL 1.0.2 served.
    assert lines.index(
        "SSLCipherSuite EECDH+AESGCM:EDH+AESGCM:AES256+EECDH:AES256+EDH:!AESCCM:@SECLEVEL=0"
    ) < lines.index("SSLUseStapling on")
    after = text[text.index("# From the profile, not in its original lines.") + 1 :]
    assert after[0] == "SSLOpenSSLConfCmd Curves prime256v1:secp521r1:secp384r1"
    assert (
        lines.index(after[0])
        == lines.index('SSLOpenSSLConfCmd DHParameters "/srv/hil-apache/dhparams.pem"') + 1
    )


def test_fixed_profile_serves_its_cipher_string() -> None:
    config = render_config(
        load_profile("do-2016-ssl-params-fixed"), PATHS, bind="127.0.0.1", port=1
    )
    assert (
        "SSLCipherSuite EECDH+AESGCM:EDH+AESGCM:AES256+EECDH:AES256+EDH:!AESCCM:AES128-SHA256"
        ":@SECLEVEL=0" in live(config)
    )


def test_profile_without_original_lines() -> None:
    profile = dataclasses.replace(
        load_profile("do-2016-ssl-params"),
        apache_lines="",
        min_protocol=TlsVersion.TLS1_2,
        max_protocol=TlsVersion.TLS1_3,
        honor_cipher_order=False,
        session_tickets=True,
        dh_params=None,
        headers=(("X-Test", 'say "hi"'),),
    )
    paths = ApachePaths.under(ROOT, with_dh=False)
    lines = live(render_config(profile, paths, bind="127.0.0.2", port=443))
    assert "SSLProtocol -all +TLSv1.2 +TLSv1.3" in lines
    # No DH parameters: no DHE, as the builtin backend (Apache would make its own).
    assert "SSLCipherSuite EECDH+AESGCM:EDH+AESGCM:AES256+EECDH:AES256+EDH:!AESCCM:!kDHE" in lines
    assert "SSLHonorCipherOrder off" in lines
    assert "SSLSessionTickets on" in lines
    assert "SSLCompression off" in lines
    assert 'Header always set X-Test "say \\"hi\\""' in lines
    assert not any("DHParameters" in line for line in lines)
    assert "Listen 127.0.0.2:443" in lines


def test_ssl_protocol_ranges() -> None:
    base = load_profile("do-2016-ssl-params")
    for lo, hi, expected in (
        (TlsVersion.TLS1_0, TlsVersion.TLS1_0, "SSLProtocol -all +TLSv1"),
        (TlsVersion.TLS1_1, TlsVersion.TLS1_2, "SSLProtocol -all +TLSv1.1 +TLSv1.2"),
        (TlsVersion.TLS1_3, TlsVersion.TLS1_3, "SSLProtocol -all +TLSv1.3"),
    ):
        profile = dataclasses.replace(base, min_protocol=lo, max_protocol=hi)
        assert ssl_protocol(profile) == expected


def test_original_line_that_differs_from_the_profile_is_replaced() -> None:
    profile = dataclasses.replace(
        load_profile("do-2016-ssl-params"),
        apache_lines="SSLHonorCipherOrder Off\n# a comment\n\nSSLInsecureRenegotiation off\n",
    )
    ours = profile_directives(profile, PATHS)
    out, missing = original_lines(profile, ours)
    assert out[:3] == [
        "# not applied here: the profile says otherwise",
        "#   SSLHonorCipherOrder Off",
        "SSLHonorCipherOrder on",
    ]
    assert out[3:] == ["# a comment", "", "SSLInsecureRenegotiation off"]
    assert "SSLProtocol -all +TLSv1 +TLSv1.1 +TLSv1.2" in missing
    assert not any(line.startswith("SSLHonorCipherOrder") for line in missing)


def test_newer_profile_keys() -> None:
    """TLS 1.3 suites, curves, client certificates and the security level."""
    profile = dataclasses.replace(
        load_profile("client-cert-required"),
        tls13_ciphersuites=("TLS_AES_128_GCM_SHA256", "TLS_CHACHA20_POLY1305_SHA256"),
        curves=("X25519", "secp384r1"),
        security_level=1,
    )
    paths = ApachePaths.under(ROOT, with_dh=False, with_client_ca=True)
    lines = profile_directives(profile, paths)
    assert lines[:3] == [
        "SSLCipherSuite HIGH:!aNULL:!MD5:!kDHE:@SECLEVEL=1",
        "SSLCipherSuite TLSv1.3 TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256",
        "SSLProtocol -all +TLSv1.2 +TLSv1.3",
    ]
    assert "SSLOpenSSLConfCmd Curves X25519:secp384r1" in lines
    assert lines[-2:] == [
        "SSLVerifyClient require",
        'SSLCACertificateFile "/srv/hil-apache/client-ca.pem"',
    ]
    optional = dataclasses.replace(profile, client_auth=ClientAuth.OPTIONAL)
    assert "SSLVerifyClient optional" in profile_directives(optional, paths)
    plain = profile_directives(load_profile("tls1.2-only"), PATHS)
    assert not any("TLSv1.3" in line or "Verify" in line or "Curves" in line for line in plain)


def test_client_auth_without_a_ca_file_is_refused() -> None:
    profile = load_profile("client-cert-required")
    with pytest.raises(ConfigError, match="key 'client_auth'"):
        profile_directives(profile, ApachePaths.under(ROOT, with_dh=False))


def test_tls13_cipher_line_pairs_with_its_own_original() -> None:
    profile = dataclasses.replace(
        load_profile("mozilla-modern"),
        apache_lines="SSLCipherSuite TLSv1.3 TLS_AES_256_GCM_SHA384\nSSLCipherSuite HIGH\n",
    )
    paths = ApachePaths.under(ROOT, with_dh=False)
    out, missing = original_lines(profile, profile_directives(profile, paths))
    assert out[2] == (
        "SSLCipherSuite TLSv1.3 "
        "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
    )
    assert out[3] == (
        "# not applied here: the profile's string is ECDHE-ECDSA-AES128-GCM-SHA256: what the "
        "imitated server's OpenSSL served from this one (its notes say each difference); "
        "!kDHE: the profile has no DH parameters, and Apache on OpenSSL 3 would make its "
        "own and serve DHE"
    )
    assert out[5] == "SSLCipherSuite ECDHE-ECDSA-AES128-GCM-SHA256:!kDHE"
    assert not any(line.startswith("SSLCipherSuite") for line in missing)
