"""Logs with no TLS line at all: the likely cause from what is left (pure).

A sketch without the core's debug output prints only its own words ("connection failed",
a library's "Conection error"), perhaps the boot banner naming the core release, perhaps
the server it dials. The stacks' sources say which causes such a failure can have on that
core, and the issue threads say which of them people meet; from both this module gives a
prior: one cause, always at 'likely' (low) confidence, with every step of the reasoning
in the evidence. Where the evidence does not single out one cause it gives none, and the
diagnosis stays `unknown`.

The priors, strongest evidence first:

1. The boot banner names an axTLS core (ESP8266 2.3.x/2.4.x). Its `connect()` checks no
   certificate (axtls-8266 `ssl_client_new` verifies nothing; `verify()` is a separate
   call), so trust, dates and names cannot fail it; it offers four RSA-key-exchange
   AES-CBC suites and no curve (tls1.c), and servers hardened since 2016 allow only
   ECDHE/DHE: no shared cipher (esp8266/Arduino #4826, #43; Telegram's API since
   February 2020, Universal-Arduino-Telegram-Bot #139).
2. A library's or example's own failure words whose source fixes the trust set-up
   (_SKETCH_WORDS below, each with the source and the threads).
3. The boot banner names a BearSSL core (ESP8266 2.5.0 and later): `connect()` without
   setTrustAnchors/setFingerprint/setInsecure is bound to fail
   (WiFiClientSecureBearSSL.cpp `_connectSSL`: "Connection *will* fail, no
   authentication method is setup", printed only with the SSL debug level), the commonest
   failure after 2.5.0 made BearSSL the default (Universal-Arduino-Telegram-Bot #118,
   #156). A sketch that says it uses a fingerprint (`Using fingerprint '...'`, the
   HTTPSRequest example's line before setFingerprint()) has set one: then the pinned
   fingerprint no longer matches the renewed certificate (esp8266/Arduino #7394).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from harness.analysis.diagnose.engine import Proof, core_version
from harness.model import Event, Source, Timeline

# A sketch's or HTTPClient's word that the connection failed, when no TLS line says why.
FAILED_CONNECT = re.compile(r"(?i)connection failed|connection refused|error\(-1\)")


@dataclass(frozen=True)
class SketchWords:
    """A failure line a library or an example prints, and what its source tells of the
    connection it failed."""

    pattern: re.Pattern[str]
    cause: str
    who: str
    why: str
    # The words of an arduino-esp32 example: an ESP8266 boot banner says it is another sketch.
    esp32_only: bool = False


_SKETCH_WORDS: tuple[SketchWords, ...] = (
    SketchWords(
        re.compile(r"\[BOT\]Conection error"),
        "no_trust_method",
        "Universal-Arduino-Telegram-Bot (its sendGetToTelegram()/sendPostToTelegram() print "
        "'[BOT]Conection error' when client->connect() fails)",
        "its examples up to 2020 handed it a WiFiClientSecure with no CA, fingerprint or "
        "setInsecure(), which ESP8266 cores from 2.5.0 and arduino-esp32 from 1.0.5 refuse "
        "to connect; the threads settled it with client.setInsecure() or the library's "
        "Telegram root certificate (Universal-Arduino-Telegram-Bot #118, #156, #162, #228)",
    ),
    SketchWords(
        re.compile(r"Unable to connect to Telegram server"),
        "fingerprint_mismatch",
        "CTBot (CTBot.cpp's connect() prints it when the TLS connect() to api.telegram.org fails)",
        "CTBot pins the SHA-1 fingerprint of api.telegram.org's certificate "
        "(CTBotSecureConnection.h, setFingerprint()), and Telegram renews that certificate "
        "about once a year: each time every CTBot stopped connecting until the fingerprint "
        "was updated (CTBot #47 in 2020, #93 in 2022, #113 and #114 in 2023)",
    ),
    SketchWords(
        re.compile(r"^Connection failed!\s*$"),
        "cert_time_invalid",
        "arduino-esp32's WiFiClientSecure example ('Starting connection to server...', then "
        "'Connection failed!' or 'Connected to server!')",
        "the example pins the root certificate of www.howsmyssl.com's chain in test_root_ca: "
        "up to arduino-esp32 3.0.3 that was DST Root CA X3, which expired on 2021-09-30, so "
        "the unmodified example fails the certificate's dates (arduino-esp32 #10062, fixed "
        "by #10063 in July 2024 with the ISRG Root X1); a sketch made from the example "
        "fails the same way when the root it pins expired or is not the server's",
        esp32_only=True,
    ),
)
# A sketch's words that it sets the clock (NTP), which a certificate check needs.
_SETS_CLOCK = re.compile(r"(?i)\bs?ntp\b|setting time|current time|waiting for time")
# The example's line before its connect(), which the example's failure words need (another
# sketch's bare "Connection failed!" tells nothing of its trust set-up).
_EXAMPLE_START = re.compile(r"^Starting connection to server\.\.\.\s*$")


@dataclass(frozen=True)
class Prior:
    cause: str
    claims: tuple[tuple[str, tuple[Event, ...]], ...]


def _quiet_stack(serial: list[Event]) -> bool:
    """No line of a TLS stack, no error, no trust set-up but a pinned fingerprint: the
    rules that read those have nothing to read, and a prior is all there is."""
    return not any(
        e.fields.get("stack")
        or e.kind in ("log_error", "log_clock")
        or (e.kind == "log_trust" and e.fields.get("method") != "fingerprint")
        for e in serial
    )


def _sketch_words(serial: list[Event], esp8266: bool) -> tuple[SketchWords, Event] | None:
    for words in _SKETCH_WORDS:
        if words.esp32_only and esp8266:
            continue
        for i, e in enumerate(serial):
            text = e.text.strip()
            if not words.pattern.search(text):
                continue
            if words.esp32_only and not any(
                _EXAMPLE_START.match(p.text.strip()) for p in serial[max(0, i - 3) : i]
            ):
                continue
            return words, e
    return None


def no_debug_prior(tl: Timeline) -> Prior | None:
    """The likely cause of a failed connection whose log has no TLS line, or None."""
    serial = [e for e in tl.events if e.source is Source.SERIAL]
    if not serial or not _quiet_stack(serial):
        return None
    failed = [e for e in tl.of("connect_result") if not e.fields.get("connected")]
    failed += [e for e in serial if e.kind == "log_other" and FAILED_CONNECT.search(e.text)]
    if any(e.fields.get("connected") for e in tl.of("connect_result")):
        return None  # an attempt connected: a failure beside it is another story
    core = core_version(tl)
    banner = next((e for e in tl.of("log_boot") if e.fields.get("core")), None)
    words = _sketch_words(serial, banner is not None)
    quiet = (
        "the log has no TLS debug line, so this is the likely reading only -- low "
        "confidence: turn on the core's SSL debug output (or capture the handshake) to know"
    )
    if core is not None and banner is not None and (2, 3) <= core[:2] <= (2, 4):
        if not (failed or words):
            return None
        said = failed[0] if failed else words[1]  # type: ignore[index]
        return Prior(
            "no_shared_cipher",
            (
                (
                    f"The boot banner names ESP8266 core {banner.fields['core']}: axTLS, which "
                    "offers only four RSA-key-exchange AES-CBC suites and no elliptic curves, "
                    "and whose connect() checks no certificate",
                    (banner,),
                ),
                (
                    "The connection failed: the commonest cause of that era is a server that "
                    f"allows only ECDHE/DHE suites; {quiet}",
                    (said,),
                ),
            ),
        )
    if words is not None:
        w, said = words
        return Prior(
            w.cause,
            (
                (f"The log's failure line is the one {w.who} prints", (said,)),
                (f"From its source: {w.why}; {quiet}", ()),
            ),
        )
    if core is None or banner is None or core[:2] < (2, 5) or not failed:
        return None
    era = (
        f"The boot banner names ESP8266 core {banner.fields['core']}: BearSSL, whose connect() "
        "fails unless the sketch gave it a CA, a fingerprint or setInsecure()"
    )
    pinned = next((e for e in tl.of("log_trust") if e.fields.get("method") == "fingerprint"), None)
    if pinned is None and any(_SETS_CLOCK.search(e.text) for e in serial):
        # A sketch that sets the clock (the BearSSL_Validation and HTTPSRequest examples do,
        # before setTrustAnchors()) most likely checks a certificate: no trust method is
        # then no better a guess than a wrong CA or a clock still unset.
        return None
    if pinned is not None:
        return Prior(
            "fingerprint_mismatch",
            (
                (era, (banner,)),
                ("The sketch says it pins a fingerprint (setFingerprint())", (pinned,)),
                (
                    "The connection failed: a pinned fingerprint stops matching when the "
                    f"server's certificate is renewed, the commonest failure then; {quiet}",
                    (failed[0],),
                ),
            ),
        )
    return Prior(
        "no_trust_method",
        (
            (era, (banner,)),
            (
                "The connection failed and the sketch says nothing of a trust set-up: the "
                "commonest failure since 2.5.0 made BearSSL the default is no trust method at "
                f"all; {quiet}",
                (failed[0],),
            ),
        ),
    )


def apply_prior(tl: Timeline, proof: Proof, cause: str) -> None:
    """Make `cause` the likely reading when it is this log's prior (a rule calls this last,
    when nothing else proved or suggested its cause)."""
    if proof.wire or proof.log or proof.likely:
        return
    prior = no_debug_prior(tl)
    if prior is None or prior.cause != cause:
        return
    proof.likely = True
    for claim, events in prior.claims:
        proof.add(claim, *events)
