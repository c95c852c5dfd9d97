"""Which twin run would explain a pasted log: the core release, the server profile (and
certificate plan), the sketch and its settings. Each choice says why.

The core comes from what the log tells of it (banner, line formats); the server from the
cause the log's diagnosis names and what the log shows of the server (its certificate
dump, alerts, the host the sketch used); the sketch from the texts the log shows the
sketch printing. Choices are tables below, not code paths per log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from harness.analysis.logformats.coreversion import Version, version_text
from harness.analysis.logformats.logfacts import LogFacts
from harness.model import Diagnosis
from harness.model.cores import CoreRelease, releases
from harness.model.errors import ConfigError
from harness.model.sketches import DEFAULT_SERVER_NAME

# The server that most often explains a cause in the reports, and the sketch settings that
# make the twin meet it the way the board did. (profile, why, defines)
SERVER_FOR_CAUSE: dict[str, tuple[str, str, dict[str, str]]] = {
    "no_shared_cipher": (
        "do-2016-ssl-params",
        "a server that allows only ECDHE/DHE suites (DigitalOcean's 2016 ssl-params.conf, "
        "the hardened set-up of the founding report)",
        {},
    ),
    "protocol_version": (
        "tls1.3-only",
        "a server that speaks only TLS 1.3, which no modelled core does",
        {},
    ),
    "untrusted_cert": (
        "untrusted-root",
        "a server whose chain ends at a CA the board was not given",
        {"HIL_TRUST": "1"},
    ),
    "hostname_mismatch": (
        "wrong-host",
        "a certificate issued for another name than the one the board connects to",
        {"HIL_TRUST": "1"},
    ),
    "cert_time_invalid": (
        "expired",
        "a certificate outside its validity dates",
        {"HIL_TRUST": "1"},
    ),
    "sni_required": (
        "sni-strict",
        "a server that refuses a ClientHello without its name (the board connects by IP)",
        {"HIL_CONNECT_BY_IP": "1"},
    ),
    "record_too_large": (
        "large-records",
        "a server that sends 16 KB records to a board with a small receive buffer",
        {"HIL_RECV_BUF": "512"},
    ),
    "no_trust_method": (
        "mozilla-intermediate",
        "an ordinary modern server; the sketch sets no CA, fingerprint or insecure mode",
        {"HIL_TRUST": "0"},
    ),
}
# Causes a certificate's name would hide: by the IP literal, mbedTLS 2.x (-9984) and BearSSL
# (error 56) fail the name check of a certificate whose only SAN is an iPAddress, and the
# twin's run would show hostname_mismatch before the chain or the dates are judged. For
# these the twin dials a host name the certificate carries as a dNSName SAN, so the chain
# (an untrusted root, an expired leaf) is the only thing wrong, as in the log.
NAME_MUST_MATCH = frozenset({"untrusted_cert", "cert_time_invalid"})
# Causes the twin cannot stage: the reason, for the report.
NOT_ON_THE_TWIN = {
    "out_of_memory": "the twin runs on the host, with memory to spare",
    "dns_failed": "the twin connects only to 127.0.0.0/8 by address; no name is looked up",
    "tcp_connect_failed": "the harness's server always listens where the twin connects",
    "fingerprint_mismatch": "no shipped sketch pins a wrong fingerprint on every core",
    "handshake_timeout": "the twin runs at the host's speed: the seconds of big-number work "
    "a board spends on a large key are not reproduced",
}
# Sketches a reproduction may use, with the core families each is written for.
SKETCHES: dict[str, tuple[str, ...]] = {
    "tls_client": ("esp8266", "esp32"),
    "founding_report": ("esp8266",),
}
_PRINTED = re.compile(r'Serial\.print(?:ln)?\("([^"\\]{4,})')
_STACK_FAMILY = {"axtls": "esp8266", "bearssl": "esp8266", "mbedtls": "esp32"}


@dataclass(frozen=True)
class Choice:
    value: str
    why: str


@dataclass(frozen=True)
class Plan:
    core: Choice  # a core release id, "esp8266-2.4.1"
    board: str  # the twin of that release
    profile: Choice
    sketch: Choice
    cert_plan: Choice | None = None
    defines: dict[str, str] = field(default_factory=dict)
    server_name: Choice | None = None  # the host name the twin dials; None: the address

    def to_json(self) -> dict[str, object]:
        return {
            "core": self.core.value,
            "core_why": self.core.why,
            "board": self.board,
            "profile": self.profile.value,
            "profile_why": self.profile.why,
            "cert_plan": self.cert_plan.value if self.cert_plan else None,
            "cert_plan_why": self.cert_plan.why if self.cert_plan else None,
            "sketch": self.sketch.value,
            "sketch_why": self.sketch.why,
            "defines": dict(self.defines),
            "server_name": self.server_name.value if self.server_name else None,
            "server_name_why": self.server_name.why if self.server_name else None,
        }


def _modelled(family: str | None = None) -> list[CoreRelease]:
    found = [r for r in releases() if family is None or r.family == family]
    return sorted(found, key=lambda r: (r.family, r.version_tuple))


def _list() -> str:
    return ", ".join(r.id for r in _modelled())


def choose_core(facts: LogFacts, override: str | None = None) -> Choice:
    """The modelled core release the log's board ran, or the one nearest to it."""
    if override is not None:
        for r in _modelled():
            if override in (r.id, r.version, f"twin-{r.id}"):
                return Choice(r.id, f"given with --core {override}")
        raise ConfigError(
            f"--core {override!r} is not a modelled core release",
            seen=f"modelled: {_list()}",
            fix="give one of those ids (hil boards lists their twins)",
        )
    reading = facts.core
    family = reading.family or _STACK_FAMILY.get(facts.stack or "")
    stack = facts.stack or reading.stack
    if family is None:
        raise ConfigError(
            "the log does not tell which board or core it comes from",
            seen="no boot banner with a core version, no TLS stack line (axTLS State:/Alert:, "
            "BearSSL BSSL:, arduino-esp32 [E][ssl_client.cpp:..]), no line format of a core",
            fix=f"pass --core with one of: {_list()}",
        )
    same = [r for r in _modelled(family) if stack is None or r.stack == stack]
    if reading.version is not None:
        v = reading.version
        exact = [r for r in same if r.version_tuple[: len(v)] == v]
        if exact:
            return Choice(exact[-1].id, f"the boot banner names {version_text(v)}")
        near = [r for r in same if r.version_tuple[:2] == v[:2]]
        if near:
            best = min(near, key=lambda r: _distance(r.version_tuple, v))
            return Choice(
                best.id,
                f"the boot banner names {version_text(v)}, not modelled; {best.version} is "
                "the nearest modelled release of the same line",
            )
        raise ConfigError(
            f"the log's core {family} {version_text(v)}"
            + (f" with {stack}" if stack else "")
            + " is not a modelled release",
            seen=f"modelled: {_list()}",
            fix="pass --core with the nearest of those to run its twin anyway",
        )
    allowed = [r for r in same if reading.allows(r.version_tuple)]
    if allowed:
        best = allowed[-1]
        why = (
            f"the log's lines allow {reading.describe()}; {best.version} is the newest "
            "modelled release among them"
            if reading.how == "format"
            else f"the log shows the {stack} stack but names no release; {best.version} is "
            "the newest modelled release with it"
        )
        return Choice(best.id, why)
    raise ConfigError(
        f"no modelled core release fits the log ({reading.describe()})",
        seen=f"modelled: {_list()}",
        fix="pass --core with one of those to run its twin anyway",
    )


def _distance(a: Version, b: Version) -> tuple[int, ...]:
    n = max(len(a), len(b))
    pa, pb = a + (0,) * (n - len(a)), b + (0,) * (n - len(b))
    return tuple(abs(x - y) for x, y in zip(pa, pb, strict=True))


def _printed(sketches_dir: Path, name: str) -> tuple[str, ...]:
    texts: list[str] = []
    for ino in sorted((sketches_dir / name).glob("*.ino")):
        texts += _PRINTED.findall(ino.read_text(errors="replace"))
    return tuple(t.strip() for t in texts if not t.startswith("HIL:") and t.strip())


def choose_sketch(log_texts: list[str], family: str, sketches_dir: Path) -> Choice:
    """The shipped sketch whose own printed texts the log shows most (ties: the general
    tls_client)."""
    best, best_hits = "tls_client", -1
    for name, families in SKETCHES.items():
        if family not in families or not (sketches_dir / name).is_dir():
            continue
        hits = sum(any(t in line for line in log_texts) for t in _printed(sketches_dir, name))
        if hits > best_hits:
            best, best_hits = name, hits
    if best_hits > 0:
        return Choice(best, f"the log shows {best_hits} of the texts this sketch prints")
    return Choice(best, "the general TLS client sketch: the log shows no sketch's own texts")


def check_stageable(diagnosis: Diagnosis, profile: str | None) -> None:
    """A cause the twin cannot stage is said before anything else is chosen."""
    cause = diagnosis.cause
    if profile is None and cause in NOT_ON_THE_TWIN:
        raise ConfigError(
            f"the log's cause, {cause}, cannot be staged on the twin",
            seen=NOT_ON_THE_TWIN[cause],
            fix="reproduce it on a real board, or pass --profile P to run the twin anyway",
        )


def choose_server(
    diagnosis: Diagnosis, facts: LogFacts, profile: str | None
) -> tuple[Choice, Choice | None, dict[str, str]]:
    """(profile, certificate plan or None for the profile's own, sketch settings)."""
    cause = diagnosis.cause
    defines: dict[str, str] = {}
    if profile is not None:
        chosen = Choice(profile, f"given with --profile {profile}")
    elif cause in SERVER_FOR_CAUSE:
        name, why, defines = SERVER_FOR_CAUSE[cause]
        defines = dict(defines)
        if cause == "cert_time_invalid" and "not_yet_valid" in facts.x509:
            name, why = "not-yet-valid", "a certificate whose validity starts in the future"
        chosen = Choice(name, f"the log's cause is {cause}: {why}")
    elif cause in NOT_ON_THE_TWIN:
        raise ConfigError(
            f"the log's cause, {cause}, cannot be staged on the twin",
            seen=NOT_ON_THE_TWIN[cause],
            fix="reproduce it on a real board, or pass --profile P to run the twin anyway",
        )
    else:
        said = "connected" if cause is None else cause
        raise ConfigError(
            f"the log names no cause to reproduce (its diagnosis: {said})",
            seen="; ".join(facts.lines()),
            fix="pass --profile P (hil profiles lists them) to run the twin against a server "
            "anyway, or paste more of the log (the TLS debug lines)",
        )
    if "HIL_TRUST" not in defines:
        trust = facts.trust[0] if facts.trust else None
        defines["HIL_TRUST"] = {"ca": "1", "insecure": "2", "none": "0"}.get(trust or "", "1")
    return chosen, _cert_plan(chosen.value, facts), defines


def choose_server_name(diagnosis: Diagnosis, defines: dict[str, str]) -> Choice | None:
    """The host name the twin dials, where the log's cause needs the certificate's name to
    match (NAME_MUST_MATCH); None keeps the bench address (and a sketch told to connect by
    IP keeps it too)."""
    if diagnosis.cause not in NAME_MUST_MATCH or defines.get("HIL_CONNECT_BY_IP") == "1":
        return None
    return Choice(
        DEFAULT_SERVER_NAME,
        f"the certificate names {DEFAULT_SERVER_NAME} in a dNSName SAN and the twin dials it: "
        "by the IP literal the name check would fail first (hostname_mismatch) and hide the "
        f"{diagnosis.cause} the log shows",
    )


def _cert_plan(profile: str, facts: LogFacts) -> Choice | None:
    """A certificate plan of the key size the log's certificate dump shows, where the
    profile's own plan is the plain RSA-2048 one."""
    c = facts.cert
    if c is None or c.key_bits in (None, 2048) or profile.startswith("do-2016"):
        return None
    plan = f"ca-rsa-{c.key_bits}"
    return Choice(plan, f"the log's certificate dump shows an RSA-{c.key_bits} key")
