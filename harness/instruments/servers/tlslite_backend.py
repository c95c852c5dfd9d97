"""The `tlslite` backend: a profile served by tlslite-ng (pure Python TLS) in a child process.

It exists for one behaviour neither OpenSSL backend can show: a server that ignores a
client's max_fragment_length request (RFC 6066). OpenSSL 1.1.1+ always honours it;
tlslite-ng 0.8 has no MFLN, so it echoes nothing and sends records of up to 16384
bytes, as the servers of esp8266/Arduino #6711 (Azure IoT Hub) did. Measured here
with `openssl s_client -maxfraglen 512 -msg`: no extension in the ServerHello, the
Certificate in one 791-byte record, the answer in 16384-byte records. (GnuTLS 3.7.9's
gnutls-serv is no substitute: it echoes MFLN 512 and splits its handshake, then sends
its HTTP answer in one 16 KB record, which s_client rejects as record_overflow.)

The process is builtin's (same lifecycle, ready line, events; `tlslite_main.py`). The
profile is resolved here into tlslite's names, and anything tlslite would serve
differently is refused, never served approximately.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from harness.instruments.servers.base import check_certs_fit, profile_where
from harness.instruments.servers.builtin import BuiltinServer
from harness.instruments.servers.profiles import (
    ClientAuth,
    MflnPolicy,
    ServerProfile,
    SniPolicy,
    TlsVersion,
    accepted_suites,
)
from harness.model.errors import ConfigError

if TYPE_CHECKING:
    from harness.instruments.certs import CertBundle

CHILD = Path(__file__).resolve().with_name("tlslite_main.py")

# OpenSSL's group names (a profile's) -> tlslite's.
GROUPS = {
    "X25519": "x25519",
    "X448": "x448",
    "prime256v1": "secp256r1",
    "secp384r1": "secp384r1",
    "secp521r1": "secp521r1",
}
# tlslite's names of each part of a suite, and the table of its CipherSuite that lists
# the suites having it. By name: importing tlslite takes half a second, so only a run
# that uses this backend pays it.
CIPHERS = {
    "chacha20-poly1305": "chacha20Suites",
    "aes256gcm": "aes256GcmSuites",
    "aes128gcm": "aes128GcmSuites",
    "aes256ccm": "aes256CcmSuites",
    "aes128ccm": "aes128CcmSuites",
    "aes256ccm_8": "aes256Ccm_8Suites",
    "aes128ccm_8": "aes128Ccm_8Suites",
    "aes256": "aes256Suites",
    "aes128": "aes128Suites",
    "3des": "tripleDESSuites",
}
KEY_EXCHANGES = {"ecdhe_rsa": "ecdheCertSuites", "rsa": "certSuites"}
MACS = {
    "aead": "aeadSuites",
    "sha384": "sha384Suites",
    "sha256": "sha256Suites",
    "sha": "shaSuites",
}


def _refuse(profile: ServerProfile, key: str, value: object, seen: str) -> ConfigError:
    return ConfigError(
        f"{profile_where(profile)}: key {key!r}: the tlslite backend cannot serve {value!r}",
        seen=seen,
        fix="serve this profile with the builtin backend (tlslite is only for mfln = 'ignore')",
    )


def _names(table: dict[str, str], suites: tuple[int, ...]) -> list[str]:
    from tlslite.constants import CipherSuite

    return [
        name for name, attr in table.items() if any(s in getattr(CipherSuite, attr) for s in suites)
    ]


def tlslite_settings(profile: ServerProfile) -> dict[str, object]:
    """The profile in tlslite-ng's terms; a ConfigError for what it would serve otherwise."""
    if profile.mfln is not MflnPolicy.IGNORE:
        raise _refuse(
            profile, "mfln", profile.mfln.value, "tlslite-ng 0.8 has no max_fragment_length"
        )
    if profile.max_protocol is TlsVersion.TLS1_3:
        raise _refuse(
            profile, "max_protocol", "TLSv1.3", "its TLS 1.3 suites and groups are not mapped"
        )
    if profile.dh_params is not None:
        raise _refuse(profile, "dh_params", profile.dh_params, "its DHE groups are not mapped")
    if profile.client_auth is not ClientAuth.NONE:
        raise _refuse(profile, "client_auth", profile.client_auth.value, "not mapped")
    if profile.sni is not SniPolicy.ANY:
        raise _refuse(profile, "sni", profile.sni.value, "tlslite-ng sends no unrecognized_name")
    if profile.session_tickets:
        raise _refuse(profile, "session_tickets", True, "tlslite-ng sends no TLS 1.2 tickets")
    if not profile.honor_cipher_order:
        raise _refuse(
            profile, "honor_cipher_order", False, "tlslite-ng always picks in its own order"
        )
    unknown = [g for g in profile.groups if g not in GROUPS]
    if unknown:
        raise _refuse(profile, "curves", unknown, f"tlslite's groups here: {', '.join(GROUPS)}")
    wanted = accepted_suites(profile)
    names = {
        "cipher_names": _names(CIPHERS, wanted),
        "key_exchange_names": _names(KEY_EXCHANGES, wanted),
        "mac_names": _names(MACS, wanted),
    }
    served = served_suites(profile, names)
    if served != wanted:
        raise ConfigError(
            f"{profile_where(profile)}: key 'ciphers': tlslite-ng would serve other suites "
            "than the profile's cipher string",
            seen=(
                f"profile (OpenSSL, in order): {', '.join(f'0x{s:04x}' for s in wanted)}; "
                f"tlslite-ng with {names}: {', '.join(f'0x{s:04x}' for s in served)}"
            ),
            fix="list the suites tlslite serves, in its order (ECDHE-RSA first, then RSA)",
        )
    return {
        **names,
        "min_version": [3, profile.min_protocol.wire & 0xFF],
        "max_version": [3, profile.max_protocol.wire & 0xFF],
        "ecc_curves": [GROUPS[g] for g in profile.groups],
    }


def served_suites(profile: ServerProfile, names: dict[str, list[str]]) -> tuple[int, ...]:
    """What tlslite-ng's server offers with these names, in its order (tlsconnection.py:
    ECDHE suites before RSA key exchange), at the profile's highest version."""
    from tlslite import HandshakeSettings
    from tlslite.constants import CipherSuite

    s = HandshakeSettings()
    s.cipherNames = names["cipher_names"]
    s.keyExchangeNames = names["key_exchange_names"]
    s.macNames = names["mac_names"]
    version = (3, profile.max_protocol.wire & 0xFF)
    return tuple(CipherSuite.getEcdheCertSuites(s, version) + CipherSuite.getCertSuites(s, version))


class TlsliteServer(BuiltinServer):
    """Serves an `mfln = "ignore"` profile with tlslite-ng in a child process."""

    name = "tlslite"

    @staticmethod
    def _check_supported(profile: ServerProfile, certs: CertBundle) -> None:
        tlslite_settings(profile)
        check_certs_fit(profile, certs)

    def _config(self) -> dict[str, object]:
        return {**super()._config(), "tlslite": tlslite_settings(self.profile)}

    def _command(self) -> list[str | Path]:
        # With site-packages (tlslite-ng); -E: no PYTHON* variables of the caller.
        return [sys.executable, "-E", CHILD, self.config_path]

    def _child_env(self) -> dict[str, str]:
        return {}
