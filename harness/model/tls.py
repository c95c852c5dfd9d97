"""The TLS protocol versions: the one table every layer names them from (wire number,
profile/OpenSSL spelling, the short form reports print, Apache's SSLProtocol word)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class ProtocolVersion:
    wire: int  # ProtocolVersion on the wire, e.g. 0x0303 (also Python's ssl.TLSVersion value)
    name: str  # what profiles and OpenSSL say: "TLSv1.2"
    short: str  # what reports print: "TLS1.2"
    apache: str  # Apache's SSLProtocol keyword: "TLSv1" for 1.0, as mod_ssl spells it


VERSIONS: tuple[ProtocolVersion, ...] = (
    ProtocolVersion(0x0300, "SSLv3", "SSL3.0", "SSLv3"),
    ProtocolVersion(0x0301, "TLSv1.0", "TLS1.0", "TLSv1"),
    ProtocolVersion(0x0302, "TLSv1.1", "TLS1.1", "TLSv1.1"),
    ProtocolVersion(0x0303, "TLSv1.2", "TLS1.2", "TLSv1.2"),
    ProtocolVersion(0x0304, "TLSv1.3", "TLS1.3", "TLSv1.3"),
)
BY_WIRE: Mapping[int, ProtocolVersion] = MappingProxyType({v.wire: v for v in VERSIONS})
BY_NAME: Mapping[str, ProtocolVersion] = MappingProxyType({v.name: v for v in VERSIONS})


def version_name(v: object) -> str:
    """The short name of a wire version ("TLS1.2"); anything else as it is."""
    if isinstance(v, int) and v in BY_WIRE:
        return BY_WIRE[v].short
    return str(v)
