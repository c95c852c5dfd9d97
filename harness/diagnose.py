"""Timeline -> Diagnosis: a catalogue of causes, each a rule over the timeline (pure).

A rule returns a Finding with the events that prove it, how sure it is (which
sources agree), a paragraph for a firmware engineer and concrete fixes, or None.
The first rule that matches names the cause; a run that connected has none; no
rule matching gives `unknown` with what was seen, never a guess.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from harness.model import Confidence, Diagnosis, Direction, Event, Evidence, Fix, Source, Timeline
from harness.stacks import STACKS, TIME_T_MAX
from harness.suites import suite_name

ALERT_HANDSHAKE_FAILURE = 40

# The catalogue of DESIGN.md ("Diagnosis"); a cause outside it is a bug, not a finding.
CAUSES = frozenset(
    {
        "no_shared_cipher",
        "protocol_version",
        "untrusted_cert",
        "hostname_mismatch",
        "cert_time_invalid",
        "sni_required",
        "record_too_large",
        "dns_failed",
        "tcp_connect_failed",
        "handshake_timeout",
        "out_of_memory",
        "no_trust_method",
        "fingerprint_mismatch",
        "unknown",
    }
)


@dataclass(frozen=True)
class Context:
    """What the run knows besides the events: the board's stack and the server's setup."""

    stack: str | None = None
    server_suites: tuple[int, ...] | None = None  # what the server accepts, IANA numbers
    server_cipher_string: str | None = None
    cert_not_after: float | None = None  # epoch seconds of the server certificate's notAfter


@dataclass(frozen=True)
class Finding:
    cause: str
    explanation: str
    evidence: tuple[Evidence, ...]
    fixes: tuple[Fix, ...]
    from_wire: bool
    from_log: bool


Rule = Callable[[Timeline, Context], Finding | None]
RULES: dict[str, Rule] = {}


def rule(cause: str) -> Callable[[Rule], Rule]:
    """Register a rule; a second rule for one cause is a programming error."""

    def register(fn: Rule) -> Rule:
        if cause not in CAUSES:
            raise ValueError(f"cause {cause!r} is not in the catalogue")
        if cause in RULES:
            raise ValueError(f"rule for cause {cause!r} registered twice")
        RULES[cause] = fn
        return fn

    return register


def _confidence(wire: bool, log: bool) -> Confidence:
    if wire and log:
        return Confidence.WIRE_AND_LOG
    if wire:
        return Confidence.WIRE
    if log:
        return Confidence.LOG
    return Confidence.NONE


def _suites(ids: tuple[int, ...] | list[int]) -> str:
    return ", ".join(suite_name(s) for s in ids)


def _after(events: tuple[Event, ...], start: Event) -> tuple[Event, ...]:
    i = events.index(start)
    return events[i + 1 :]


def _alert_text(e: Event) -> str:
    name = e.fields.get("name") or "?"
    level = {1: "warning", 2: "fatal"}.get(e.fields.get("level", 0), "")
    return f"{level} {name} ({e.fields.get('description')})".strip()


@dataclass
class _Proof:
    """Collects evidence while a rule looks at the two sources."""

    evidence: list[Evidence] = field(default_factory=list)
    wire: bool = False
    log: bool = False

    def add(self, claim: str, *events: Event) -> None:
        self.evidence.append(Evidence(claim, tuple(events)))


# -- no_shared_cipher -----------------------------------------------------------------------


def _wire_no_cipher(tl: Timeline, ctx: Context, proof: _Proof) -> bool:
    wire = tl.of("client_hello", "server_hello", "alert", "tcp_fin", "tcp_rst", source=Source.WIRE)
    for hello in (e for e in wire if e.kind == "client_hello"):
        later = [e for e in _after(wire, hello) if e.stream == hello.stream]
        if any(e.kind == "server_hello" for e in later):
            continue
        refusal = next(
            (
                e
                for e in later
                if e.kind == "alert"
                and e.direction is Direction.S2C
                and e.fields.get("description") == ALERT_HANDSHAKE_FAILURE
            ),
            None,
        )
        if refusal is None:
            continue
        offered = list(hello.fields.get("suites", []))
        if ctx.server_suites is not None and set(offered) & set(ctx.server_suites):
            # A suite in common: the handshake_failure has another reason.
            continue
        proof.wire = True
        proof.add(f"The board offered {len(offered)} cipher suites: {_suites(offered)}", hello)
        if ctx.server_suites is not None:
            proof.add(
                f"The server accepts {len(ctx.server_suites)}: {_suites(ctx.server_suites)}"
                " -- none in common"
            )
        ms = (refusal.t - hello.t) * 1000
        proof.add(
            f"The server answered the ClientHello {ms:.1f} ms later with a "
            f"{_alert_text(refusal)} alert, server -> client, and no ServerHello",
            refusal,
        )
        own = [e for e in later if e.kind == "alert" and e.direction is Direction.C2S]
        if own:
            proof.add(
                "Then the board sent "
                + ", ".join(_alert_text(e) for e in own)
                + ", client -> server: its own clean-up, not a second fault",
                *own,
            )
        return True
    return False


def _log_no_cipher(tl: Timeline, proof: _Proof) -> bool:
    serial = tl.of("log_state", "log_alert", source=Source.SERIAL)
    for hello in serial:
        if hello.kind != "log_state" or hello.fields.get("handshake_type") != 1:
            continue
        for e in _after(serial, hello):
            if e.kind == "log_state" and e.direction is Direction.S2C:
                break  # the server answered with a handshake message
            if (
                e.kind == "log_alert"
                and e.direction is Direction.S2C
                and e.fields.get("description") == ALERT_HANDSHAKE_FAILURE
            ):
                proof.log = True
                proof.add(
                    "The board's log: it sent its ClientHello, then received a "
                    "handshake_failure alert before any ServerHello",
                    hello,
                    e,
                )
                return True
    return False


@rule("no_shared_cipher")
def no_shared_cipher(tl: Timeline, ctx: Context) -> Finding | None:
    proof = _Proof()
    _wire_no_cipher(tl, ctx, proof)
    _log_no_cipher(tl, proof)
    server = [
        e
        for e in tl.of("server_handshake_failed", source=Source.SERVER)
        if "NO_SHARED_CIPHER" in str(e.fields.get("reason", "")).upper()
    ]
    if not (proof.wire or proof.log or server):
        return None
    if server:
        proof.add("The server logged: no shared cipher", server[0])
    stack = STACKS.get(ctx.stack or "")
    if stack is not None and not proof.wire:
        proof.add(f"{stack.title} offers only {_suites(stack.offered_suites)}: the likely offer")
    if ctx.server_cipher_string is not None:
        proof.add(f"The server's cipher string: {ctx.server_cipher_string}")
    else:
        proof.add(
            "The server's cipher string is not known here: look it up (Apache "
            "SSLCipherSuite, nginx ssl_ciphers); if it allows none of the offered suites, "
            "this is the cause"
        )
    fixes = _no_cipher_fixes(tl, ctx)
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
    return Finding(
        "no_shared_cipher",
        explanation,
        tuple(proof.evidence),
        fixes,
        from_wire=proof.wire or bool(server),
        from_log=proof.log,
    )


def _no_cipher_fixes(tl: Timeline, ctx: Context) -> tuple[Fix, ...]:
    stack = STACKS.get(ctx.stack or "")
    fixes: list[Fix] = []
    if stack is not None:
        first = suite_name(stack.offered_suites[0]).split(" ")[0]
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
        wall = _cert_wall(tl, ctx)
        if wall:
            fixes.append(wall)
    return tuple(fixes)


def _cert_wall(tl: Timeline, ctx: Context) -> Fix | None:
    """The next wall after the cipher fix: a certificate past 2038 never verifies on axTLS."""
    wrapped = any(
        e.fields.get("key") == "not_after" and _year(str(e.fields.get("value"))) < 2000
        for e in tl.of("log_cert")
    )
    late = ctx.cert_not_after is not None and ctx.cert_not_after > TIME_T_MAX
    if not (wrapped or late):
        return None
    return Fix(
        "certificate",
        "Then issue a server certificate that ends before 2038-01-19 and set the clock "
        "(configTime) before verifyCertChain: axTLS keeps dates in a 32-bit time_t, so this "
        "notAfter wraps to the past (1982 for 2118-05-18): 'not yet valid' without SNTP, "
        "'expired' with it",
        "openssl req -x509 -days 3650 ...   (and in the sketch: configTime(0, 0, "
        '"pool.ntp.org") and wait for time(nullptr) > 1500000000)',
    )


def _year(ctime_text: str) -> int:
    # ctime(): "Sun Apr 11 04:02:21 1982"
    tail = ctime_text.strip().split(" ")[-1]
    return int(tail) if tail.isdigit() else 9999


# -- certificate checks the board reports ----------------------------------------------------

_TIME_ERRORS = {"expired", "not_yet_valid"}
_TRUST_ERRORS = {"untrusted", "self_signed", "bad_signature", "bad_chain"}


@rule("cert_time_invalid")
def cert_time_invalid(tl: Timeline, ctx: Context) -> Finding | None:
    errors = [e for e in tl.of("log_error") if e.fields.get("x509") in _TIME_ERRORS]
    if not errors:
        return None
    err = errors[0]
    proof = _Proof(log=True)
    proof.add(f"The board's certificate check says: {err.fields.get('message')}", err)
    dates = [e for e in tl.of("log_cert") if e.fields.get("key") in ("not_before", "not_after")]
    if dates:
        proof.add("The certificate's dates as the board read them", *dates)
    clock_unset = (
        not any(e.kind == "log_clock" for e in tl.events)
        and err.fields.get("x509") == "not_yet_valid"
    )
    fixes = []
    if err.fields.get("x509") == "not_yet_valid" or clock_unset:
        fixes.append(
            Fix(
                "sketch",
                "Set the clock before verifying: the board counts from 1970 until SNTP runs",
                'configTime(0, 0, "pool.ntp.org"); while (time(nullptr) < 1500000000) delay(100);',
            )
        )
    wall = _cert_wall(tl, ctx)
    if wall:
        fixes.append(wall)
    elif err.fields.get("x509") == "expired":
        fixes.append(Fix("certificate", "Renew the server certificate", ""))
    return Finding(
        "cert_time_invalid",
        "The handshake worked, but the board rejected the server certificate's validity "
        "period against its own clock: either the clock was never set (the board believes "
        "it is 1970) or the certificate's dates are outside what the board can represent.",
        tuple(proof.evidence),
        tuple(fixes),
        from_wire=False,
        from_log=True,
    )


@rule("untrusted_cert")
def untrusted_cert(tl: Timeline, ctx: Context) -> Finding | None:
    errors = [e for e in tl.of("log_error") if e.fields.get("x509") in _TRUST_ERRORS]
    if not errors:
        return None
    proof = _Proof(log=True)
    proof.add(f"The board's certificate check says: {errors[0].fields.get('message')}", errors[0])
    return Finding(
        "untrusted_cert",
        "The board could not chain the server's certificate to a certificate it trusts.",
        tuple(proof.evidence),
        (
            Fix(
                "sketch",
                "Give the board the server's CA certificate (for a self-signed server "
                "certificate: that certificate itself)",
                "client.setCACert(ca_der, ca_der_len);",
            ),
        ),
        from_wire=False,
        from_log=True,
    )


@rule("tcp_connect_failed")
def tcp_connect_failed(tl: Timeline, ctx: Context) -> Finding | None:
    refused = [e for e in tl.of("log_error") if e.fields.get("refused")]
    if refused:
        proof = _Proof(log=True)
        proof.add(f"The twin refused to connect to {refused[0].fields['refused']}", refused[0])
        return Finding(
            "tcp_connect_failed",
            "The twin only connects to 127.0.0.0/8: the sketch asked for another address.",
            tuple(proof.evidence),
            (Fix("sketch", "Use the server address from hil_scenario.h (HIL_SERVER_HOST)"),),
            from_wire=False,
            from_log=True,
        )
    syns = tl.of("tcp_syn", source=Source.WIRE)
    if syns and not tl.of("tcp_synack", "client_hello", source=Source.WIRE):
        proof = _Proof(wire=True)
        proof.add("The board's SYN was never answered with a SYN-ACK", *syns)
        resets = tl.of("tcp_rst", source=Source.WIRE)
        if resets:
            proof.add("The server side answered with RST: nothing listens on that port", *resets)
        return Finding(
            "tcp_connect_failed",
            "The TCP connection itself failed: no TLS was attempted.",
            tuple(proof.evidence),
            (Fix("server", "Check the server listens on the address and port the sketch uses"),),
            from_wire=True,
            from_log=False,
        )
    return None


# -- the verdict on the whole timeline ------------------------------------------------------


def connected(tl: Timeline) -> bool | None:
    """Did the board connect? The sketch's final word, else the wire; None if unknown."""
    finals = [e for e in tl.of("connect_result") if e.fields.get("final")]
    if finals:
        return bool(finals[-1].fields.get("connected"))
    if tl.of("app_data", source=Source.WIRE):
        return True
    if tl.of("connect_result"):
        return False
    if tl.of("client_hello", source=Source.WIRE):
        return False
    return None


def diagnose(tl: Timeline, ctx: Context | None = None) -> Diagnosis:
    ctx = ctx or Context()
    is_connected = connected(tl)
    verified = [e for e in tl.of("connect_result") if e.fields.get("final")]
    chain_ok = bool(verified and verified[-1].fields.get("verified"))
    if not (is_connected and chain_ok):
        for _cause, fn in RULES.items():
            finding = fn(tl, ctx)
            if finding is not None:
                return Diagnosis(
                    cause=finding.cause,
                    confidence=_confidence(finding.from_wire, finding.from_log),
                    explanation=finding.explanation,
                    evidence=finding.evidence,
                    fixes=finding.fixes,
                    connected=bool(is_connected),
                )
    if is_connected:
        hello = tl.first("server_hello", source=Source.WIRE)
        how = (
            f" with {suite_name(hello.fields['suite'])}"
            if hello and "suite" in hello.fields
            else ""
        )
        checked = ", and the board verified the certificate chain" if chain_ok else ""
        evidence = (Evidence(f"The server chose{how or ' a suite'}", (hello,)),) if hello else ()
        return Diagnosis(
            cause=None,
            confidence=_confidence(bool(hello), bool(verified)),
            explanation=f"The board connected{how}{checked}. Nothing to diagnose.",
            evidence=evidence,
            connected=True,
        )
    seen = ", ".join(sorted({e.kind for e in tl.events})) or "no events at all"
    return Diagnosis(
        cause="unknown",
        confidence=Confidence.NONE,
        explanation="No rule of the catalogue matches what was seen; the evidence is shown "
        "as it is, not guessed at.",
        evidence=(Evidence(f"seen: {seen}", tl.events[-20:]),),
        connected=bool(is_connected),
    )
