"""What the boards' TLS stacks do, as data (pure): the facts of
shared/reference/tls-stacks.md that the diagnosis and reports rely on."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Stack:
    name: str
    title: str  # how a firmware engineer knows it
    offered_suites: tuple[int, ...]  # default ClientHello suites, in order
    dates_32bit: bool  # certificate dates go through a 32-bit time_t
    source: str


AXTLS = Stack(
    name="axtls",
    title="axTLS (ESP8266 Arduino core 2.3/2.4)",
    # ssl/tls1.c of igrr/axtls-8266 at 24af415, the order of send_client_hello().
    offered_suites=(0x003C, 0x003D, 0x0035, 0x002F),
    dates_32bit=True,
    source="igrr/axtls-8266 24af415 ssl/tls1.c, ssl/tls1_clnt.c, ssl/x509.c",
)

STACKS: dict[str, Stack] = {AXTLS.name: AXTLS}

# 2038-01-19 03:14:07 UTC: the last second a signed 32-bit time_t can hold.
TIME_T_MAX = 2**31 - 1
