"""Where a scenario's traffic can be captured: the interface it crosses and the filter."""

from __future__ import annotations

import ipaddress
import json
import logging
from dataclasses import dataclass
from typing import Any

from harness.instruments import procs
from harness.model.errors import ConfigError

log = logging.getLogger(__name__)


def bpf_for_port(port: int) -> str:
    """The capture filter for the TLS server's TCP port (the marker clause is added by Capture)."""
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise ConfigError(
            f"bpf_for_port({port!r}): not a TCP port", fix="pass the server's port, 1..65535"
        )
    return f"tcp port {port}"


_Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class CaptureTarget:
    """Where a scenario's traffic can be seen: the interface and the capture filter."""

    interface: str
    bpf: str
    why: str  # how the interface was chosen, for the log and error messages


def capture_target(server_host: str, server_port: int) -> CaptureTarget:
    """The interface the board's traffic to `server_host:server_port` crosses, and a filter.

    A loopback address (the twin) is seen on `lo`. An address of this machine (a real
    board on the bench network talking to the harness's server) is seen on the
    interface that holds it, not on `lo`, although `ip route get` says `lo` for it.
    Any other address (a server elsewhere) is seen on the interface routing to it.
    The unspecified address (a server bound to all) is seen on `any`.
    """
    port_filter = bpf_for_port(server_port)
    try:
        address = ipaddress.ip_address(server_host)
    except ValueError:
        raise ConfigError(
            f"capture_target({server_host!r}): not an IP address",
            fix="pass the address the server listens on (the harness resolves no names: "
            "test traffic stays on this machine)",
        ) from None
    if address.is_unspecified:
        return CaptureTarget("any", port_filter, f"{address} is every address: capture on any")
    host_filter = f"host {address} and {port_filter}"
    if address.is_loopback:
        return CaptureTarget("lo", host_filter, f"{address} is a loopback address")
    ip = procs.which("ip", package="iproute2")
    addrs = procs.run([ip, "-j", "addr", "show"], timeout=5).check(
        "listing this machine's addresses", "check that iproute2 works (ip -j addr show)"
    )
    owner = interface_holding(address, _json(addrs.output))
    if owner is not None:
        return CaptureTarget(owner, host_filter, f"{address} is this machine's, on {owner}")
    route = procs.run([ip, "-j", "route", "get", str(address)], timeout=5).check(
        f"finding the route to {address}", "check the address and this machine's routes"
    )
    dev = interface_routing(_json(route.output))
    if dev is None:
        raise ConfigError(
            f"no interface routes to {address}",
            seen=route.output.strip()[:300],
            fix="check the server address; `ip route get ADDRESS` must name a device",
        )
    return CaptureTarget(dev, host_filter, f"{address} is routed through {dev}")


def interface_holding(address: _Address, addrs: Any) -> str | None:
    """The interface with `address` in `ip -j addr show` output, or None."""
    for link in addrs if isinstance(addrs, list) else []:
        for info in link.get("addr_info", []) if isinstance(link, dict) else []:
            if isinstance(info, dict) and info.get("local") == str(address):
                return str(link.get("ifname")) if link.get("ifname") else None
    return None


def interface_routing(route: Any) -> str | None:
    """The device in `ip -j route get` output, or None."""
    if isinstance(route, list) and route and isinstance(route[0], dict):
        dev = route[0].get("dev")
        return str(dev) if dev else None
    return None


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None
