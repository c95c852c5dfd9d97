"""Causes that end the handshake before any certificate is judged."""

from __future__ import annotations

from harness.analysis.diagnose.certificates import cert_wall
from harness.analysis.diagnose.engine import (
    Context,
    Finding,
    Proof,
    after,
    alert_text,
    log_alerts,
    log_errors,
    log_text,
    rule,
    suites_text,
    wire_alerts,
    wire_hellos,
)
from harness.analysis.diagnose.priors import apply_prior
from harness.model import Direction, Fix, Source, Timeline
from harness.model.stacks import STACKS
from harness.model.suites import suite_name
from harness.model.tls import version_name

HANDSHAKE_FAILURE = 40
PROTOCOL_VERSION = 70
UNRECOGNIZED_NAME = 112
# Stacks whose debug output names every handshake message received (axTLS's
# DISPLAY_STATES), so no such line before an alert means no ServerHello came first.
_STATES_SHOWN = frozenset({"axtls"})
# A board waits this long for the server before the timeout rule calls it silence.
SILENCE = 4.0


# -- no_shared_cipher -----------------------------------------------------------------------


def _wire_no_cipher(tl: Timeline, ctx: Context, proof: Proof) -> None:
    wire = tl.of("client_hello", "server_hello", "alert", source=Source.WIRE)
    for hello in (e for e in wire if e.kind == "client_hello"):
        later = [e for e in after(wire, hello) if e.stream == hello.stream]
        if any(e.kind == "server_hello" for e in later):
            continue
        refusal = next(
            (
                e
                for e in later
                if e.kind == "alert"
                and e.direction is Direction.S2C
                and e.fields.get("description") == HANDSHAKE_FAILURE
            ),
            None,
        )
        if refusal is None:
            continue
        offered = list(hello.fields.get("suites", []))
        if ctx.server_suites is not None and set(offered) & set(ctx.server_suites):
            continue  # a suite in common: the handshake_failure has another reason
        proof.wire = True
        proof.add(f"The board offered {len(offered)} cipher suites: {suites_text(offered)}", hello)
        if ctx.server_suites is not None:
            proof.add(
                f"The server accepts {len(ctx.server_suites)}: {suites_text(ctx.server_suites)}"
                " -- none in common"
            )
        ms = (refusal.t - hello.t) * 1000
        proof.add(
            f"The server answered the ClientHello {ms:.1f} ms later with a "
            f"{alert_text(refusal)} alert, server -> client, and no ServerHello",
            refusal,
        )
        own = [e for e in later if e.kind == "alert" and e.direction is Direction.C2S]
        if own:
            proof.add(
                "Then the board sent "
                + ", ".join(alert_text(e) for e in own)
                + ", client -> server: its own clean-up, not a second fault",
                *own,
            )
        return


def _log_no_cipher(tl: Timeline, proof: Proof) -> None:
    serial = tl.of("log_state", "log_alert", "log_error", source=Source.SERIAL)
    # Events hold dicts, so no set of them: identity is what matters here.
    received = {id(e) for e in log_alerts(tl, Direction.S2C, HANDSHAKE_FAILURE)}
    for e in serial:
        if e.kind == "log_state" and e.direction is Direction.S2C:
            return  # the server answered with a handshake message: not this cause
        if id(e) in received:
            hello = next((s for s in serial if s.fields.get("handshake_type") == 1), None)
            if hello is not None and hello.fields.get("stack") in _STATES_SHOWN:
                proof.log = True
                proof.add(
                    "The board's log: it sent its ClientHello, then received a "
                    "handshake_failure alert before any ServerHello",
                    hello,
                    e,
                )
                return
            # A stack that prints no handshake states (BearSSL's codes, mbedTLS's) does not
            # show when the alert came: before the ServerHello it is this cause; later, a
            # server that wants a client certificate sends the same alert.
            proof.likely = True
            proof.add(
                "The board's log: it received a handshake_failure alert; the log does not "
                "show whether before the ServerHello (no suite in common) or later (a server "
                "that wants a client certificate sends it too) -- the likely reading",
                e,
            )
            return


@rule("no_shared_cipher", priority=50)
def no_shared_cipher(tl: Timeline, ctx: Context) -> Finding | None:
    proof = Proof()
    _wire_no_cipher(tl, ctx, proof)
    _log_no_cipher(tl, proof)
    server = [
        e
        for e in tl.of("server_handshake_failed", source=Source.SERVER)
        if "NO_SHARED_CIPHER" in str(e.fields.get("reason", "")).upper()
    ]
    if server:
        proof.wire = True  # the server saw the ClientHello: the wire side of the story
        proof.add("The server logged: no shared cipher", server[0])
    if not (proof.wire or proof.log):
        proof.catalogued(tl, "no_shared_cipher")
    apply_prior(tl, proof, "no_shared_cipher")
    if not (proof.wire or proof.log or proof.likely):
        return None
    stack = STACKS.get(ctx.stack or "")
    if stack is not None and not wire_hellos(tl):
        proof.add(
            f"{stack.title} offers only {suites_text(stack.offered_suites)}: the likely offer"
        )
    if ctx.server_cipher_string is not None:
        proof.add(f"The server's cipher string: {ctx.server_cipher_string}")
    else:
        proof.add(
            "The server's cipher string is not known here: look it up (Apache "
            "SSLCipherSuite, nginx ssl_ciphers); if it allows none of the offered suites, "
            "this is the cause"
        )
    explanation = (
        "The board and the server have no cipher suite in common, so the server ends the "
        "handshake with a fatal handshake_failure alert right after the ClientHello. "
        "Nothing about certificates, clocks or the board's code was reached yet."
    )
    if stack is not None and stack.name == "axtls":
        explanation += (
            " axTLS (ESP8266 core 2.3/2.4) only speaks four RSA-key-exchange AES-CBC suites "
            "and no elliptic curves, while hardened server configurations since about 2016 "
            "allow only ECDHE/DHE suites. The alerts the board sends afterwards "
            "(unexpected_message, close_notify) are axTLS tidying up."
        )
    return proof.finding("no_shared_cipher", explanation, _no_cipher_fixes(tl, ctx))


def _no_cipher_fixes(tl: Timeline, ctx: Context) -> list[Fix]:
    stack = STACKS.get(ctx.stack or "")
    offered = next((h.fields.get("suites") for h in wire_hellos(tl)), None)
    if offered is None and stack is not None:
        offered = stack.offered_suites
    fixes: list[Fix] = []
    if offered:
        first = suite_name(offered[0]).split(" ")[0]
        base = ctx.server_cipher_string or "<your cipher string>"
        fixes.append(
            Fix(
                "server",
                f"Allow one suite the board offers, e.g. {first}, at the end of the "
                "server's cipher list (the strong suites stay preferred)",
                f"SSLCipherSuite {base}:{first}",
            )
        )
    if stack is not None and stack.name == "axtls":
        fixes.append(
            Fix(
                "core",
                "Or move the board to ESP8266 Arduino core 2.5.0 or later: BearSSL speaks "
                "ECDHE-RSA-AES-GCM (axTLS was removed in 3.0.0)",
                "platformio.ini: a platform-espressif8266 release with Arduino core >= 2.5.0",
            )
        )
        wall = cert_wall(tl, ctx)
        if wall:
            fixes.append(wall)
    return fixes


# -- protocol_version -----------------------------------------------------------------------


@rule("protocol_version", priority=40)
def protocol_version(tl: Timeline, ctx: Context) -> Finding | None:
    proof = Proof()
    alerts = wire_alerts(tl, Direction.S2C, PROTOCOL_VERSION)
    hello = next(iter(wire_hellos(tl)), None)
    if alerts:
        proof.wire = True
        offer = ""
        if hello is not None:
            versions = hello.fields.get("supported_versions") or [hello.fields.get("version")]
            offer = ", ".join(version_name(v) for v in versions if v is not None)
        proof.add(
            f"The server refused the board's protocol version ({offer or 'see ClientHello'}) "
            "with a protocol_version (70) alert",
            *(x for x in (hello, alerts[0]) if x is not None),
        )
    logged = log_alerts(tl, Direction.S2C, PROTOCOL_VERSION) + log_errors(tl, protocol_version=True)
    if logged:
        proof.log = True
        proof.add("The board's log reports a protocol version the two sides do not share", *logged)
    server = [
        e
        for e in tl.of("server_handshake_failed", source=Source.SERVER)
        if "VERSION" in str(e.fields.get("reason", "")).upper()
    ]
    if server:
        proof.wire = True
        proof.add(f"The server logged: {server[0].fields.get('reason')}", server[0])
    if not logged:
        proof.catalogued(tl, "protocol_version")
    if ctx.server_versions:
        low, high = ctx.server_versions
        proof.add(f"The server speaks {version_name(low)} to {version_name(high)}")
    return proof.finding(
        "protocol_version",
        "The board and the server have no TLS version in common. Boards of this era speak "
        "TLS 1.0 to 1.2 (none speaks TLS 1.3 in these cores); a server set to TLS 1.3 only, "
        "or an old board against a server that dropped TLS 1.0/1.1, ends here.",
        [
            Fix(
                "server",
                "Allow TLS 1.2 on the server",
                "SSLProtocol -all +TLSv1.2 +TLSv1.3",
            ),
            Fix(
                "sketch",
                "On BearSSL, make sure the sketch does not narrow the versions",
                "client.setSSLVersion(BR_TLS12, BR_TLS12);",
            ),
        ],
    )


# -- sni_required ---------------------------------------------------------------------------


@rule("sni_required", priority=60)
def sni_required(tl: Timeline, ctx: Context) -> Finding | None:
    proof = Proof()
    alerts = wire_alerts(tl, Direction.S2C, UNRECOGNIZED_NAME)
    if alerts:
        proof.wire = True
        hello = next(iter(wire_hellos(tl)), None)
        sni = hello.fields.get("sni") if hello is not None else None
        said = f"with SNI {sni!r}" if sni else "without SNI"
        proof.add(
            f"The board's ClientHello went {said}; the server answered unrecognized_name (112)",
            *(x for x in (hello, alerts[0]) if x is not None),
        )
    logged = log_alerts(tl, Direction.S2C, UNRECOGNIZED_NAME)
    if logged:
        proof.log = True
        proof.add(
            "The board's log shows alert 112 (axTLS prints it as 'unknown 112'): unrecognized_name",
            *logged,
        )
    else:
        proof.catalogued(tl, "sni_required")
    return proof.finding(
        "sni_required",
        "The server wants to know which site the board asks for (SNI) and did not get a "
        "name it serves. Connecting by IP address, or with IPAddress, sends no usable name.",
        [
            Fix(
                "sketch",
                "Connect with the host name the server serves, so it goes out as SNI",
                'client.connect("your.host.name", 443);',
            ),
            Fix(
                "server",
                "Or give the server a default virtual host for requests without SNI",
                "SSLStrictSNIVHostCheck off",
            ),
        ],
    )


# -- handshake_timeout ----------------------------------------------------------------------


@rule("handshake_timeout", priority=80)
def handshake_timeout(tl: Timeline, ctx: Context) -> Finding | None:
    proof = Proof()
    logged = log_errors(tl, timeout=True) + log_text(tl, "_run_until: Timeout")
    if logged:
        proof.log = True
        proof.add("The board's log reports a timeout during the handshake", logged[0])
    else:
        proof.catalogued(tl, "handshake_timeout")
    for hello in wire_hellos(tl):
        stream = [e for e in tl.events if e.source is Source.WIRE and e.stream == hello.stream]
        done = [e for e in stream if e.kind in ("finished", "encrypted_handshake", "app_data")]
        if done:
            continue
        last = stream[-1]
        if last.t - hello.t >= SILENCE or (
            last.kind in ("tcp_fin", "tcp_rst") and last.direction is Direction.C2S and logged
        ):
            proof.wire = True
            proof.add(
                f"The handshake did not finish: {(last.t - hello.t):.1f} s after the "
                "ClientHello the connection ended",
                hello,
                last,
            )
            break
    big = [
        e
        for e in tl.of("certificate", source=Source.WIRE)
        if any((c.get("key_bits") or 0) >= 4096 for c in e.fields.get("chain", []))
    ]
    if big:
        proof.add("The server's certificate carries an RSA key of 4096 bits or more", big[0])
    return proof.finding(
        "handshake_timeout",
        "The handshake took longer than the board waits. On an ESP8266 an RSA-4096/8192 "
        "key exchange takes seconds; a slow or silent server does the same.",
        [
            Fix("sketch", "Wait longer for the handshake", "client.setTimeout(15000);"),
            Fix(
                "certificate",
                "Use an RSA-2048 or ECDSA P-256 server key: much faster on the board",
                "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 ...",
            ),
        ],
    )
