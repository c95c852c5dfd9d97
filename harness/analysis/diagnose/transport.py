"""Causes below or around TLS: the name, the TCP connection, memory, record sizes."""

from __future__ import annotations

import re

from harness.analysis.diagnose.engine import Context, Finding, Proof, log_errors, log_text, rule
from harness.model import Direction, Event, Fix, Source, Timeline

RECORD_OVERFLOW = 22
INVALID_RECORD = -0x7200  # MBEDTLS_ERR_SSL_INVALID_RECORD, -29184
# Where an mbedTLS error comes from reading application data, after the handshake.
_READ_PLACES = ("ssl_read", "data_to_read", "get_ssl_receive")
# arduino-esp32's log format (esp32-hal-log): its mbedTLS takes 16 KB records.
_ARDUINO_ESP32 = re.compile(
    r"\[[VDIWE]\]\[(?:ssl_client|WiFiClientSecure|NetworkClientSecure)\.cpp:"
)


def _small_buffer_read(tl: Timeline) -> tuple[Event, ...]:
    """mbedTLS returns INVALID_RECORD for a record header it refuses: an unknown type, a
    version other than the session's, a length under the cipher's minimum, or a length
    over its input buffer (2.16.0 library/ssl_tls.c:4069-4095 'bad message length';
    2.28 ssl_msg.c the same). Once the handshake is through, the server's records have a
    known type and version, so the one a sound server trips is the length: an input
    buffer cut below 16 KB (MBEDTLS_SSL_MAX_CONTENT_LEN / IN_CONTENT_LEN, as ports
    short of RAM set it). arduino-esp32 keeps the full 16 KB (esp32-arduino-lib-builder
    configs/defconfig.common:97, no asymmetric lengths: ESP-IDF's 16384), so its logs
    are left out; elsewhere this is the likely reading, not a proof."""
    reads = [
        e
        for e in tl.of("log_error", source=Source.SERIAL)
        if e.fields.get("code") == INVALID_RECORD
        and any(p in (e.text + str(e.fields.get("where", ""))) for p in _READ_PLACES)
    ]
    if not reads or any(_ARDUINO_ESP32.search(e.text) for e in tl.events[:400]):
        return ()
    return (reads[0],)


@rule("dns_failed", priority=10)
def dns_failed(tl: Timeline, ctx: Context) -> Finding | None:
    proof = Proof()
    said = log_errors(tl, dns_failed=True) + log_text(tl, "DNS Failed", "DNS lookup failed")
    if said and not tl.of("tcp_syn", source=Source.WIRE):
        proof.log = True
        proof.add("The board could not resolve the server's name", said[0])
    if not tl.of("tcp_syn", source=Source.WIRE) and not proof.log:
        proof.catalogued(tl, "dns_failed")
    return proof.finding(
        "dns_failed",
        "The board never reached the server: its name did not resolve.",
        [
            Fix("sketch", "Check the host name, or connect by IP while testing"),
            Fix("server", "Check the DNS server the board got by DHCP knows the name"),
        ],
    )


@rule("tcp_connect_failed", priority=20)
def tcp_connect_failed(tl: Timeline, ctx: Context) -> Finding | None:
    proof = Proof()
    refused = [e for e in tl.of("log_error") if e.fields.get("refused")]
    if refused:
        proof.log = True
        proof.add(f"The twin refused to connect to {refused[0].fields['refused']}", refused[0])
        return proof.finding(
            "tcp_connect_failed",
            "The twin only connects to 127.0.0.0/8 and to the addresses the run maps to its "
            "server: the sketch asked for another address (none of the host names and IP "
            "literals the harness read in its source), and no packet was sent.",
            [
                Fix("sketch", "Use the server address from hil_scenario.h (HIL_SERVER_HOST)"),
                Fix(
                    "sketch",
                    "A user's sketch: write the address it dials as a string literal (a host "
                    "name or IP) the harness can read and map, not one built at run time",
                ),
            ],
        )
    said = log_errors(tl, tcp_connect_failed=True)
    if said:
        proof.log = True
        proof.add("The board's log: the TCP connection failed", said[0])
    else:
        proof.catalogued(tl, "tcp_connect_failed")
    syns = tl.of("tcp_syn", source=Source.WIRE)
    if syns and not tl.of("tcp_synack", "client_hello", source=Source.WIRE):
        proof.wire = True
        proof.add("The board's SYN was never answered with a SYN-ACK", *syns)
        resets = [e for e in tl.of("tcp_rst", source=Source.WIRE) if e.direction is Direction.S2C]
        if resets:
            proof.add("The server side answered with RST: nothing listens on that port", *resets)
    return proof.finding(
        "tcp_connect_failed",
        "The TCP connection itself failed: no TLS was attempted.",
        [Fix("server", "Check the server listens on the address and port the sketch uses")],
    )


@rule("out_of_memory", priority=70)
def out_of_memory(tl: Timeline, ctx: Context) -> Finding | None:
    proof = Proof()
    # A heap reading is not a failure: only a failed allocation (oom) counts.
    said = log_errors(tl, oom=True) + tuple(e for e in tl.of("log_heap") if e.fields.get("oom"))
    if said:
        proof.log = True
        proof.add("The board ran out of memory during TLS", said[0])
    else:
        proof.catalogued(tl, "out_of_memory")
    return proof.finding(
        "out_of_memory",
        "TLS needs two record buffers (up to 16 KB in, plus out) and the handshake's "
        "big-number work; on an ESP8266 with ~40 KB free that often fails.",
        [
            Fix(
                "sketch",
                "Ask the server for small records and shrink the buffers (BearSSL)",
                "if (client.probeMaxFragmentLength(host, 443, 1024)) "
                "client.setBufferSizes(1024, 1024);",
            ),
            Fix("sketch", "Free heap before connecting: fewer globals, no big Strings"),
        ],
    )


@rule("record_too_large", priority=90)
def record_too_large(tl: Timeline, ctx: Context) -> Finding | None:
    proof = Proof()
    said = log_errors(tl, record_too_large=True) + log_errors(tl, alert_sent=RECORD_OVERFLOW)
    if said:
        proof.log = True
        proof.add("The board's log: a record larger than its buffer", said[0])
    elif small := _small_buffer_read(tl):
        proof.likely = True
        proof.add(
            "The board's mbedTLS refused a record after the handshake (INVALID_RECORD while "
            "reading data): with the session's type and version settled, the check a sound "
            "server trips is the record length against an input buffer cut below 16 KB "
            "(MBEDTLS_SSL_MAX_CONTENT_LEN) -- the likely reading; a corrupted record gives "
            "the same code",
            small[0],
        )
    else:
        proof.catalogued(tl, "record_too_large")
    if ctx.board_rx_buffer:
        big = [
            e
            for e in tl.of("app_data", source=Source.WIRE)
            if e.direction is Direction.S2C and (e.fields.get("length") or 0) > ctx.board_rx_buffer
        ]
        if big:
            proof.wire = True
            proof.add(
                f"The server sent a {big[0].fields['length']}-byte record; the board takes "
                f"{ctx.board_rx_buffer}",
                big[0],
            )
    hello = next(iter(tl.of("client_hello", source=Source.WIRE)), None)
    if hello is not None and (proof.wire or proof.log or proof.likely):
        mfln = hello.fields.get("max_fragment_length")
        proof.add(
            "The board asked for max_fragment_length " + (str(mfln) if mfln else "not at all"),
            hello,
        )
    return proof.finding(
        "record_too_large",
        "The server sent a TLS record bigger than the board's receive buffer. Servers send "
        "up to 16 KB per record unless the client negotiates Maximum Fragment Length, "
        "which servers without MFLN ignore (esp8266/Arduino #6711: Azure IoT Hub); "
        "OpenSSL 1.1.1+ servers (Apache, nginx) honour it.",
        [
            Fix(
                "sketch",
                "Keep the full 16 KB receive buffer, or negotiate MFLN where the server "
                "supports it",
                "client.setBufferSizes(16384, 512);",
            ),
            Fix("server", "Send smaller records (nginx: ssl_buffer_size 4k)"),
            Fix(
                "core",
                "On an mbedTLS build of your own, give the input buffer the full 16 KB",
                "#define MBEDTLS_SSL_MAX_CONTENT_LEN 16384  (ESP-IDF: "
                "CONFIG_MBEDTLS_SSL_IN_CONTENT_LEN=16384)",
            ),
        ],
    )
