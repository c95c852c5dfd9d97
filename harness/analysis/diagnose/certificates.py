"""Causes about the server's certificate and how the board was told to trust it."""

from __future__ import annotations

import itertools

from harness.analysis.diagnose.engine import (
    Context,
    Finding,
    Proof,
    log_errors,
    log_text,
    rule,
    wire_alerts,
)
from harness.analysis.diagnose.priors import apply_prior
from harness.analysis.logformats.coreversion import read_core
from harness.model import Direction, Event, Fix, Source, Timeline
from harness.model.stacks import TIME_T_MAX

BAD_CERTIFICATE, UNSUPPORTED_CERTIFICATE, CERTIFICATE_EXPIRED = 42, 43, 45
CERTIFICATE_UNKNOWN, UNKNOWN_CA = 46, 48
# mbedtls_x509_crt_profile_default, which arduino-esp32's ssl_client.cpp never replaces: SHA-2
# signatures only and RSA keys of 2048 bits or more (mbedTLS 2.16.7 of ESP-IDF 3.3, which does
# not define MBEDTLS_TLS_DEFAULT_ALLOW_SHA1_IN_CERTIFICATES, and 2.28: library/x509_crt.c).
_MBEDTLS_MIN_RSA_BITS = 2048
_MBEDTLS_PROFILE_HASHES = ("sha224", "sha256", "sha384", "sha512")
_TIME_ERRORS = ("expired", "not_yet_valid", "time_unknown")
_TRUST_ERRORS = ("untrusted", "self_signed", "bad_signature", "bad_chain", "verify_error")
_BEARSSL_TIME_UNKNOWN = 53  # BR_ERR_X509_TIME_UNKNOWN: the board has no clock


def cert_wall(tl: Timeline, ctx: Context) -> Fix | None:
    """The wall behind a cipher fix on axTLS: a certificate past 2038 never verifies."""
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


_SET_CLOCK = Fix(
    "sketch",
    "Set the clock before verifying: the board counts from 1970 until SNTP runs",
    'configTime(0, 0, "pool.ntp.org"); while (time(nullptr) < 1500000000) delay(100);',
)


@rule("cert_time_invalid", priority=120)
def cert_time_invalid(tl: Timeline, ctx: Context) -> Finding | None:
    proof = Proof()
    errors = log_errors(tl, x509=_TIME_ERRORS) + log_errors(
        tl, stack="bearssl", code=_BEARSSL_TIME_UNKNOWN
    )
    if errors:
        proof.log = True
        err = errors[0]
        proof.add(
            f"The board's certificate check says: {err.fields.get('message') or err.text}", err
        )
        dates = [e for e in tl.of("log_cert") if e.fields.get("key") in ("not_before", "not_after")]
        if dates:
            proof.add("The certificate's dates as the board read them", *dates)
    alerts = wire_alerts(tl, Direction.C2S, CERTIFICATE_EXPIRED)
    if alerts:
        proof.wire = True
        proof.add("The board rejected the certificate with certificate_expired (45)", alerts[0])
    if not errors:
        proof.catalogued(tl, "cert_time_invalid")
    apply_prior(tl, proof, "cert_time_invalid")
    if not (proof.log or proof.wire or proof.likely):
        return None
    kinds = {e.fields.get("x509") for e in errors}
    no_clock = bool(kinds & {"not_yet_valid", "time_unknown"}) or any(
        e.fields.get("code") == _BEARSSL_TIME_UNKNOWN for e in errors
    )
    fixes = [_SET_CLOCK] if no_clock or tl.of("log_clock") else []
    wall = cert_wall(tl, ctx)
    if wall:
        fixes.append(wall)
    elif "expired" in kinds or alerts:
        fixes.append(Fix("certificate", "Renew the server certificate"))
    if not fixes:
        # The prior of a log with no TLS line: a pinned root that expired.
        fixes.append(
            Fix(
                "sketch",
                "Pin the root certificate the server's chain ends in today (the one pinned "
                "may have expired), and set the clock before connect()",
                "client.setCACert(root_ca_pem);  // e.g. ISRG Root X1 for Let's Encrypt",
            )
        )
    if ctx.cert_not_after is not None and ctx.cert_not_after > TIME_T_MAX:
        proof.add("The server certificate's notAfter is past 2038-01-19 (a 32-bit time_t)")
    return proof.finding(
        "cert_time_invalid",
        "The board rejected the server certificate's validity period against its own "
        "clock: either the clock was never set (the board believes it is 1970) or the "
        "certificate's dates are outside what the board can represent.",
        fixes,
    )


def _mbedtls_profile_refusals(ctx: Context) -> tuple[list[str], list[Fix]]:
    """What of the served chain mbedTLS's default profile refuses, whatever the CA: an RSA
    key under 2048 bits (BADCERT_BAD_KEY, alert unsupported_certificate) or a signature
    hash other than SHA-2 (BADCERT_BAD_MD, alert certificate_unknown)."""
    said: list[str] = []
    fixes: list[Fix] = []
    if ctx.stack != "mbedtls":
        return said, fixes
    bits = ctx.chain_min_rsa_bits
    if bits is not None and bits < _MBEDTLS_MIN_RSA_BITS:
        said.append(f"an RSA key of {bits} bits (mbedTLS's default profile wants 2048 or more)")
        fixes.append(
            Fix(
                "certificate",
                "Issue the server a key the board's mbedTLS takes: RSA of 2048 bits or more, "
                "or ECDSA P-256",
                "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr ...",
            )
        )
    weak = sorted({h for h in ctx.chain_sig_hashes or () if h not in _MBEDTLS_PROFILE_HASHES})
    if weak:
        said.append(
            f"a certificate signed with {'/'.join(h.upper() for h in weak)} (mbedTLS's default "
            "profile takes SHA-2 signatures only)"
        )
        fixes.append(
            Fix(
                "certificate",
                "Have every certificate of the chain the server sends signed with SHA-256",
                "openssl x509 -req -sha256 -in intermediate.csr -CA root.pem -CAkey root.key ...",
            )
        )
    return said, fixes


@rule("untrusted_cert", priority=130)
def untrusted_cert(tl: Timeline, ctx: Context) -> Finding | None:
    proof = Proof()
    errors = log_errors(tl, x509=_TRUST_ERRORS)
    if errors:
        proof.log = True
        err = errors[0]
        proof.add(
            f"The board's certificate check says: {err.fields.get('message') or err.text}", err
        )
    refused, profile_fixes = _mbedtls_profile_refusals(ctx)
    # mbedTLS answers a key its profile refuses with unsupported_certificate (43), which it
    # also sends for a forbidding key usage: only with such a key in the chain is it this.
    weak_key = ctx.chain_min_rsa_bits is not None and ctx.chain_min_rsa_bits < _MBEDTLS_MIN_RSA_BITS
    extra = (UNSUPPORTED_CERTIFICATE,) if ctx.stack == "mbedtls" and weak_key else ()
    alerts = wire_alerts(
        tl, Direction.C2S, UNKNOWN_CA, BAD_CERTIFICATE, CERTIFICATE_UNKNOWN, *extra
    )
    if alerts and not _name_mismatch(ctx):
        proof.wire = True
        proof.add("The board rejected the server's certificate with an alert", alerts[0])
    # A verification info line that names another reason outranks the bare code's reading.
    if not errors and not [e for e in tl.of("log_error") if e.fields.get("x509")]:
        proof.catalogued(tl, "untrusted_cert")
    if refused and (proof.wire or proof.log or proof.likely):
        proof.add(f"The server's chain has {' and '.join(refused)}")
        return proof.finding(
            "untrusted_cert",
            "The board's mbedTLS refused the server's chain for what it is, not for who "
            "signed it: its default certificate profile (arduino-esp32 never sets another) "
            "takes neither RSA keys under 2048 bits nor SHA-1 signatures, so no CA the sketch "
            "gives makes this chain verify. ESP8266 cores (axTLS, BearSSL) accept both.",
            profile_fixes,
        )
    return proof.finding(
        "untrusted_cert",
        "The board could not chain the server's certificate to a certificate it trusts: "
        "the CA it was given is not the one that signed the server's certificate (or, for "
        "a self-signed server, not that very certificate).",
        [
            Fix(
                "sketch",
                "Give the board the server's CA certificate (for a self-signed server "
                "certificate: that certificate itself)",
                "client.setCACert(ca_der, ca_der_len);  // BearSSL: setTrustAnchors(&list)",
            ),
            Fix("server", "Serve the whole chain up to that CA (SSLCertificateChainFile)"),
        ],
    )


def _esp32_trust_refusal(tl: Timeline, ctx: Context) -> tuple[Event, ...]:
    """arduino-esp32 1.0.5+ returns -1 from start_ssl_client right after its heap line when
    it has no CA, no PSK and no setInsecure() (1.0.6 ssl_client.cpp:59-63, 2.0.x 62-66):
    nothing in between, no socket, nothing on the wire. Every other way to fail prints a
    line of its own first: `Starting socket` (log_v, right after the check) before a socket
    error, `DNS Failed for` (WiFiGeneric's log_e) before a name that does not resolve. So a
    verbose log whose heap line is followed at once by the -1 proves it; so does a capture
    with no SYN."""
    if ctx.stack not in (None, "mbedtls"):
        return ()
    serial = [
        e
        for e in tl.events
        if e.source is Source.SERIAL and e.kind != "log_other" and e.fields.get("stack")
    ]
    refusals = tuple(
        cur
        for prev, cur in itertools.pairwise(serial)
        if prev.kind == "log_heap"
        and prev.fields.get("when") == "before_tls"
        and cur.kind == "log_error"
        and cur.fields.get("code") == -1
    )
    if refusals and (not ctx.wire_watched or not tl.of("tcp_syn", source=Source.WIRE)):
        return refusals
    return ()


# What a log shows of a trust method set up, or of another way a bare -1 comes about.
_TRUST_SEEN = ("insecure", "setcacert", "loading ca", "psk", "bundle", "fingerprint")
_OTHER_MINUS_ONE = ("dns failed", "errno", "opening socket", "connect to server failed")


def _esp32_bare_minus_one(tl: Timeline, ctx: Context) -> tuple[Event, ...]:
    """`start_ssl_client: -1` alone, without the verbose lines around it: in 1.0.5+ and 2.x
    a -1 with no line of its own is the no-trust return, a handshake past
    handshake_timeout (120 s by default) or a malformed PSK; a name that does not resolve
    and a socket that fails print their own error first. So the commonest reading, when
    nothing in the log shows a CA, setInsecure() or a PSK, is no trust method -- only
    likely: the paste may have left the other lines out."""
    if ctx.stack not in (None, "mbedtls"):
        return ()
    bare = [
        e
        for e in tl.of("log_error", source=Source.SERIAL)
        if e.fields.get("code") == -1 and "start_ssl_client" in str(e.fields.get("message", ""))
    ]
    if not bare:
        return ()
    stack_lines = [
        e
        for e in tl.events
        if e.source is Source.SERIAL and e.fields.get("stack") and e.kind != "log_other"
    ]
    if any(e.kind in ("log_state", "log_cipher") for e in stack_lines):
        return ()  # the verbose steps are there: the paired-heap reading decides, not this
    if any(e.fields.get("method") not in (None, "none") for e in tl.of("log_trust")):
        return ()  # the sketch says how it trusts the server
    if any(e.kind == "log_error" and e.fields.get("code") != -1 for e in stack_lines):
        return ()
    texts = [e.text.lower() for e in tl.events if e.source is Source.SERIAL]
    if any(n in t for t in texts for n in _TRUST_SEEN + _OTHER_MINUS_ONE):
        return ()
    core = read_core(tl.events)
    if core.family == "esp32" and core.high is not None and core.high < (1, 0, 5):
        return ()  # up to 1.0.4 a missing CA connected unverified: this -1 is something else
    return (bare[0],)


def _mbedtls_name_alert(tl: Timeline, ctx: Context) -> tuple[Event, ...]:
    """mbedTLS 2.x maps a verify failure to one alert: CN_MISMATCH -> bad_certificate (42),
    NOT_TRUSTED -> unknown_ca (48), anything else -> certificate_unknown (46)
    (mbedTLS 2.28.7 library/ssl_tls.c:2660-2688; the same in arduino-esp32 1.0.6's 2.16)."""
    if ctx.stack != "mbedtls":
        return ()
    return wire_alerts(tl, Direction.C2S, BAD_CERTIFICATE)


def _is_ip(host: str) -> bool:
    parts = host.split(".")
    return len(parts) == 4 and all(p.isdigit() and int(p) < 256 for p in parts)


def _name_mismatch(ctx: Context) -> bool:
    if not ctx.connect_host or ctx.cert_names is None:
        return False
    host = ctx.connect_host.lower()
    for name in ctx.cert_names:
        name = name.lower()
        if name == host or (name.startswith("*.") and host.split(".", 1)[-1] == name[2:]):
            return False
    return True


@rule("hostname_mismatch", priority=100)
def hostname_mismatch(tl: Timeline, ctx: Context) -> Finding | None:
    proof = Proof()
    errors = log_errors(tl, x509="hostname_mismatch")
    if errors:
        proof.log = True
        proof.add("The board's check says the certificate is for another name", errors[0])
    said_by_mbedtls = _mbedtls_name_alert(tl, ctx)
    if said_by_mbedtls:
        proof.wire = True
        proof.add(
            "mbedTLS answered the certificate with bad_certificate (42), the alert it sends "
            "only for a name that matches no SAN/CN (unknown_ca is its untrusted-chain alert)",
            said_by_mbedtls[0],
        )
        if ctx.connect_host and _is_ip(ctx.connect_host):
            proof.add(
                f"The board connects to the IP {ctx.connect_host!r}: mbedTLS 2.x compares it as "
                "text with the dNSName SANs, so an iPAddress SAN never matches"
            )
    elif _name_mismatch(ctx):
        alerts = wire_alerts(tl, Direction.C2S, BAD_CERTIFICATE, CERTIFICATE_UNKNOWN)
        resets = [e for e in tl.of("tcp_rst", source=Source.WIRE) if e.direction is Direction.C2S]
        seen = tl.of("certificate", source=Source.WIRE)
        if seen and (alerts or resets):
            proof.wire = True
            proof.add(
                "After the server's certificate the board ended the connection",
                seen[0],
                *(alerts or resets)[:1],
            )
        if proof.wire or proof.log:
            proof.add(
                f"The board connects to {ctx.connect_host!r}; the certificate names "
                f"{', '.join(ctx.cert_names or ()) or 'nothing usable'}"
            )
    if not errors:
        proof.catalogued(tl, "hostname_mismatch")
    return proof.finding(
        "hostname_mismatch",
        "The certificate is valid but issued for another name than the one the board "
        "connects to. Connecting by IP needs the IP in the certificate's subjectAltName; "
        "the CN alone is not checked by every stack.",
        [
            Fix(
                "certificate",
                "Issue the certificate for the name (or IP) the board uses, in subjectAltName",
                "openssl req -x509 ... -addext 'subjectAltName=DNS:host.example,IP:192.0.2.10'",
            ),
            Fix("sketch", "Or connect with the name the certificate carries"),
        ],
    )


@rule("no_trust_method", priority=30)
def no_trust_method(tl: Timeline, ctx: Context) -> Finding | None:
    proof = Proof()
    said = (
        tuple(e for e in tl.of("log_trust") if e.fields.get("method") == "none")
        + log_errors(tl, no_trust=True)
        + log_text(tl, "no authentication method is setup")
        + _esp32_trust_refusal(tl, ctx)
    )
    if said:
        proof.log = True
        proof.add("The board was given no way to trust the server", said[0])
    elif bare := _esp32_bare_minus_one(tl, ctx):
        proof.likely = True
        proof.add(
            "The board's log: start_ssl_client returned -1 with no line of its own. In "
            "arduino-esp32 1.0.5 and later that is the return for no CA, no PSK and no "
            "setInsecure() (a DNS or socket failure prints its own error first; a handshake "
            "timeout takes 120 s) -- the likely reading, not a proof: turn on verbose "
            "logging (Core Debug Level) to see the heap line right before the -1",
            bare[0],
        )
        if (core := read_core(tl.events)).known:
            proof.add(f"The log's core: {core.describe()}")
    else:
        proof.catalogued(tl, "no_trust_method")
    apply_prior(tl, proof, "no_trust_method")
    return proof.finding(
        "no_trust_method",
        "The sketch never told the TLS client how to trust the server: no CA, no "
        "fingerprint, no known key, not insecure. The connection is bound to fail before "
        "the server has a say.",
        [
            Fix(
                "sketch",
                "Give the client a trust anchor (the server's CA certificate)",
                "BearSSL::X509List cert(ca_pem); client.setTrustAnchors(&cert);  "
                "// ESP32: client.setCACert(ca_pem);",
            ),
            Fix("sketch", "Or, for a test bench only, skip the check", "client.setInsecure();"),
        ],
    )


@rule("fingerprint_mismatch", priority=110)
def fingerprint_mismatch(tl: Timeline, ctx: Context) -> Finding | None:
    proof = Proof()
    said = log_errors(tl, fingerprint_mismatch=True) + log_text(
        tl, "fingerprint mismatch", "fingerprint doesn't match", "certificate doesn't match"
    )
    if said:
        proof.log = True
        proof.add(
            "The board's log says the server's fingerprint is not the one it expects", said[0]
        )
    else:
        proof.catalogued(tl, "fingerprint_mismatch")
    apply_prior(tl, proof, "fingerprint_mismatch")
    return proof.finding(
        "fingerprint_mismatch",
        "The sketch pins a SHA-1 fingerprint that is not the server certificate's: the "
        "certificate was renewed, or the fingerprint is of another certificate in the chain.",
        [
            Fix(
                "sketch",
                "Pin the fingerprint of the certificate the server serves now (hil serve "
                "prints it), or better trust the CA instead",
                'client.setFingerprint("AA BB ...");',
            )
        ],
    )
