"""Default sketches as data: what `hil run --board B --profile P` builds without --sketch.

Keyed by the board's core family and TLS stack, because the sketch is written
against that stack's API (axTLS's setCACert(DER) + verifyCertChain, BearSSL's
X509List trust anchors, arduino-esp32's PEM setCACert). Each is an HTTPS GET that
trusts the profile's CA, verifies, and reads the status line.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from harness.model.errors import ConfigError

# The name a twin's composed, matrix and bisect runs give a harness sketch to dial
# (HIL_SERVER_HOST): "localhost" resolves to 127.0.0.1 on the twin as on any host, and
# the certificate carries it as a dNSName SAN (the arduino-esp32 recordings by name used
# it too). By the IP literal, BearSSL and mbedTLS 2.x fail every CA-verified connect to
# a certificate whose only SAN is an iPAddress.
DEFAULT_SERVER_NAME = "localhost"

DEFAULT_SKETCHES: Mapping[tuple[str, str], str] = MappingProxyType(
    {
        ("esp8266", "axtls"): "https_get_esp8266_axtls",
        ("esp8266", "bearssl"): "https_get_esp8266_bearssl",
        ("esp32", "mbedtls"): "https_get_esp32",
    }
)


def core_family(core: str) -> str:
    """ "esp8266-2.4.1" -> "esp8266"."""
    return core.partition("-")[0]


def default_sketch(board: str, core: str, stack: str) -> str:
    key = (core_family(core), stack)
    try:
        return DEFAULT_SKETCHES[key]
    except KeyError:
        known = ", ".join(f"{f}/{s}" for f, s in DEFAULT_SKETCHES)
        raise ConfigError(
            f"board {board} ({core or 'no core'}, {stack}) has no default sketch",
            seen=f"default sketches exist for {known}",
            fix="pass --sketch DIR, or add the family/stack to harness/model/sketches.py",
        ) from None
