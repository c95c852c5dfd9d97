"""Who serves `mfln = "ignore"`: tlslite only; builtin and apache refuse it by name, and
tlslite refuses what it would serve otherwise than the profile says. Pure: nothing starts."""

from __future__ import annotations

import dataclasses

import pytest

from harness.instruments.servers import apache, builtin
from harness.instruments.servers.profiles import MflnPolicy, TlsVersion, load_profile
from harness.instruments.servers.tlslite_backend import served_suites, tlslite_settings
from harness.model.errors import ConfigError


@pytest.mark.parametrize("check", [builtin.check_supported, apache.check_supported])
def test_openssl_backends_refuse_ignore_and_name_tlslite(check) -> None:
    profile = load_profile("mfln-ignored")
    with pytest.raises(ConfigError) as info:
        check(profile, None)  # refused on the profile alone, before the certificates
    assert "key 'mfln'" in info.value.what and "'ignore'" in info.value.what
    assert "tlslite" in info.value.fix


def test_mfln_ignored_profile_maps_to_the_same_suites_in_tlslite() -> None:
    profile = load_profile("mfln-ignored")
    assert profile.mfln is MflnPolicy.IGNORE and profile.backends == ("tlslite",)
    settings = tlslite_settings(profile)
    assert settings["min_version"] == settings["max_version"] == [3, 3]
    # Every suite a modelled core offers is there: axTLS's four RSA ones, BearSSL's and
    # mbedTLS's ECDHE-RSA-AES-GCM.
    served = served_suites(profile, settings)  # type: ignore[arg-type]
    assert {0x002F, 0x0035, 0x003C, 0x003D, 0xC02F, 0xC030} <= set(served)


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"mfln": MflnPolicy.HONOUR}, "mfln"),
        ({"max_protocol": TlsVersion.TLS1_3}, "max_protocol"),
        ({"session_tickets": True}, "session_tickets"),
        ({"honor_cipher_order": False}, "honor_cipher_order"),
        ({"dh_params": "ffdhe2048"}, "dh_params"),
        # OpenSSL's order, not tlslite's: same suites, refused all the same.
        ({"ciphers": "AES128-SHA:ECDHE-RSA-AES128-GCM-SHA256"}, "ciphers"),
    ],
)
def test_tlslite_refuses_what_it_would_serve_otherwise(change: dict, key: str) -> None:
    profile = dataclasses.replace(load_profile("mfln-ignored"), **change)
    with pytest.raises(ConfigError) as info:
        tlslite_settings(profile)
    assert f"key {key!r}" in info.value.what
    assert info.value.fix
