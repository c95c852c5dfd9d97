"""What a serial log tells of the board and of the server it met (pure): the core release,
the host the sketch connected to, the trust method set up, the alerts each side sent,
the certificate the board dumped, the TLS version and suite, the certificate check's
complaint. `hil reproduce` composes a twin run from it; nothing here guesses a cause.

Fed events one at a time, it keeps only the first few of each kind, so a log of any
size is read in bounded memory.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from harness.analysis.logformats.coreversion import CoreReader, CoreReading
from harness.model import Direction, Event, Source
from harness.model.stacks import STACKS
from harness.model.suites import suite_name

_URL_HOST = re.compile(r"https?://([A-Za-z0-9.-]+)(?::(\d+))?")
_HTTPCLIENT_HOST = re.compile(r"\bhost: ([A-Za-z0-9.-]+) port: (\d+)")
_HOSTBYNAME = re.compile(r"(?:request IP for|DNS Failed for):? ([A-Za-z0-9.-]+)")
_IP = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")
# A fingerprint a stack or sketch prints: 20 (SHA-1) or 32 (SHA-256) hex bytes, spaced or not.
_FINGERPRINT = re.compile(
    r"(?i)\b(expected|wanted|received|fingerprint)\b\W*((?:[0-9a-f]{2}[ :]?){19}[0-9a-f]{2}"
    r"(?:(?:[ :]?[0-9a-f]{2}){12})?)"
)
# Trust set-up as the stacks and common sketches print it.
_TRUST_TEXTS = (
    ("Skipping SSL Verification", "insecure"),
    ("setInsecure", "insecure"),
    ("insecure mode", "insecure"),
    ("Set CA Cert", "ca"),
    ("setCACert", "ca"),
    ("setTrustAnchors", "ca"),
    ("fingerprint", "fingerprint"),
    ("insecure_end_chain: Received cert FP", "fingerprint"),
)
_MAX = 8  # of each kind kept
_NAME_KEYS = frozenset({"CN", "O", "OU", "L", "C", "ST"})  # the dump's issuer names


@dataclass(frozen=True)
class CertDump:
    """The certificate a stack printed (axTLS x509_print of setCACert or of the server's
    certificate): subject and issuer names, dates as printed, key size, signature."""

    subject: tuple[tuple[str, str], ...] = ()
    issuer: tuple[tuple[str, str], ...] = ()
    not_before: str | None = None
    not_after: str | None = None
    key_bits: int | None = None
    signature: str | None = None

    @property
    def self_signed(self) -> bool:
        return bool(self.subject) and dict(self.subject).get("CN") == dict(self.issuer).get("CN")

    @property
    def date_wrapped(self) -> bool:
        """notAfter printed before notBefore: a date past 2038 in a 32-bit time_t."""
        years = [_year(d) for d in (self.not_before, self.not_after)]
        return None not in years and years[1] < years[0]  # type: ignore[operator]


def _year(ctime_text: str | None) -> int | None:
    m = re.search(r"(\d{4})\s*$", ctime_text or "")
    return int(m.group(1)) if m else None


@dataclass(frozen=True)
class LogFacts:
    stack: str | None
    core: CoreReading
    host: str | None = None
    port: int | None = None
    trust: tuple[str, ...] = ()  # "ca", "insecure", "fingerprint", "none", in order seen
    alerts_received: tuple[str, ...] = ()  # alert names, server -> board
    alerts_sent: tuple[str, ...] = ()
    cert: CertDump | None = None
    x509: tuple[str, ...] = ()  # the certificate check's reasons (expired, untrusted, ...)
    tls_version: str | None = None
    suite: str | None = None
    errors: tuple[str, ...] = ()  # the stack's error lines, first few
    clock_set: bool | None = None
    fingerprints: tuple[tuple[str, str], ...] = ()  # (what the line calls it, hex), first few

    @property
    def offered_suites(self) -> tuple[int, ...]:
        """What the board offers: its stack's default ClientHello (no log prints it)."""
        stack = STACKS.get(self.stack or "")
        return stack.offered_suites if stack is not None else ()

    @property
    def by_ip(self) -> bool | None:
        return None if self.host is None else bool(_IP.match(self.host))

    def lines(self) -> list[str]:
        """The facts as short sentences, for a report."""
        out = [f"core: {self.core.describe()}", f"stack: {self.stack or 'not recognised'}"]
        if self.host:
            out.append(
                f"server: {self.host}" + (f":{self.port}" if self.port else "")
                + (" (an IP address)" if self.by_ip else "")
            )  # fmt: skip
        if self.trust:
            out.append(f"trust set up: {', '.join(self.trust)}")
        if self.alerts_received:
            out.append(f"alerts from the server: {', '.join(self.alerts_received)}")
        if self.alerts_sent:
            out.append(f"alerts from the board: {', '.join(self.alerts_sent)}")
        if self.cert is not None:
            c = self.cert
            cn = dict(c.subject).get("CN", "?")
            out.append(
                f"certificate dumped: CN={cn}, issuer CN={dict(c.issuer).get('CN', '?')}"
                + (" (self-signed)" if c.self_signed else "")
                + (f", RSA {c.key_bits} bits" if c.key_bits else "")
                + (f", {c.signature}" if c.signature else "")
                + (f", {c.not_before} - {c.not_after}" if c.not_before or c.not_after else "")
                + (" (notAfter wrapped past 2038)" if c.date_wrapped else "")
            )
        if self.x509:
            out.append(f"certificate check: {', '.join(self.x509)}")
        if self.offered_suites:
            n = len(self.offered_suites)
            shown = ", ".join(suite_name(x) for x in self.offered_suites[:4])
            out.append(
                f"suites the board offers ({self.stack}'s default): {shown}"
                + (f" and {n - 4} more" if n > 4 else "")
            )
        for what, hexes in self.fingerprints:
            out.append(f"fingerprint ({what}): {hexes}")
        if self.tls_version or self.suite:
            out.append(f"negotiated: {self.tls_version or '?'} {self.suite or ''}".rstrip())
        if self.errors:
            out.append(f"stack errors: {'; '.join(self.errors[:3])}")
        return out

    def to_json(self) -> dict[str, object]:
        c = self.cert
        return {
            "stack": self.stack,
            "core": self.core.to_json(),
            "host": self.host,
            "port": self.port,
            "by_ip": self.by_ip,
            "trust": list(self.trust),
            "alerts_received": list(self.alerts_received),
            "alerts_sent": list(self.alerts_sent),
            "certificate": None
            if c is None
            else {
                "subject": dict(c.subject),
                "issuer": dict(c.issuer),
                "not_before": c.not_before,
                "not_after": c.not_after,
                "key_bits": c.key_bits,
                "signature": c.signature,
                "self_signed": c.self_signed,
                "date_wrapped": c.date_wrapped,
            },
            "x509": list(self.x509),
            "tls_version": self.tls_version,
            "suite": self.suite,
            "errors": list(self.errors),
            "clock_set": self.clock_set,
            "offered_suites": list(self.offered_suites),
            "fingerprints": [list(f) for f in self.fingerprints],
        }


@dataclass
class FactReader:
    """Collects LogFacts from events fed one at a time."""

    stack: str | None
    core: CoreReader = field(default_factory=CoreReader)
    host: str | None = None
    port: int | None = None
    trust: list[str] = field(default_factory=list)
    received: list[str] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)
    subject: list[tuple[str, str]] = field(default_factory=list)
    issuer: list[tuple[str, str]] = field(default_factory=list)
    cert_values: dict[str, str] = field(default_factory=dict)
    x509: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    tls_version: str | None = None
    suite: str | None = None
    clock_set: bool | None = None
    fingerprints: list[tuple[str, str]] = field(default_factory=list)

    def feed(self, e: Event) -> None:
        if e.source is not Source.SERIAL:
            return
        self.core.feed(e)
        kind, f, text = e.kind, e.fields, e.text
        if kind == "connect_start" and self.host is None:
            self.host = f.get("host")
        elif self.host is None and (m := _url_host(text)) is not None:
            self.host, self.port = m
        if kind == "log_alert":
            name = str(f.get("name") or f.get("description"))
            box = self.received if e.direction is Direction.S2C else self.sent
            if len(box) < _MAX:
                box.append(name)
        elif kind == "log_cert" and "key" in f:
            section, key, value = f.get("section"), str(f["key"]), str(f.get("value", ""))
            if section == "subject" and len(self.subject) < _MAX:
                self.subject.append((key, value))
            elif section == "issuer" and key in _NAME_KEYS and len(self.issuer) < _MAX:
                self.issuer.append((key, value))
            if key in ("not_before", "not_after", "rsa_bits", "sig_type"):
                self.cert_values.setdefault(key, value)
        elif kind == "log_error":
            if f.get("x509") and f["x509"] not in self.x509 and len(self.x509) < _MAX:
                self.x509.append(str(f["x509"]))
            if len(self.errors) < _MAX:
                self.errors.append(str(f.get("message") or text.strip())[:120])
        elif kind == "log_cipher":
            self.tls_version = self.tls_version or f.get("protocol")
            self.suite = self.suite or f.get("suite")
        elif kind == "log_clock":
            self.clock_set = "not set" not in str(f.get("message", ""))
        elif kind == "log_trust":
            self._trust(str(f.get("method") or "none"))
        elif kind == "log_state" and f.get("step") == "load_ca":
            self._trust("ca")
        if len(self.fingerprints) < _MAX and (m := _FINGERPRINT.search(text)):
            pair = (m.group(1).lower(), m.group(2).strip())
            if pair not in self.fingerprints:
                self.fingerprints.append(pair)
        if kind != "log_trust":
            for needle, method in _TRUST_TEXTS:
                if needle in text:
                    self._trust(method)
                    break

    def _trust(self, method: str) -> None:
        if method not in self.trust and len(self.trust) < _MAX:
            self.trust.append(method)

    def facts(self) -> LogFacts:
        cert = None
        if self.subject or self.cert_values:
            bits = self.cert_values.get("rsa_bits", "")
            cert = CertDump(
                subject=tuple(self.subject),
                issuer=tuple(self.issuer),
                not_before=self.cert_values.get("not_before"),
                not_after=self.cert_values.get("not_after"),
                key_bits=int(bits) if bits.isdigit() else None,
                signature=self.cert_values.get("sig_type"),
            )
        return LogFacts(
            stack=self.stack,
            core=self.core.reading(),
            host=self.host,
            port=self.port,
            trust=tuple(self.trust),
            alerts_received=tuple(self.received),
            alerts_sent=tuple(self.sent),
            cert=cert,
            x509=tuple(self.x509),
            tls_version=self.tls_version,
            suite=self.suite,
            errors=tuple(self.errors),
            clock_set=self.clock_set,
            fingerprints=tuple(self.fingerprints),
        )


def _url_host(text: str) -> tuple[str, int | None] | None:
    if "://" not in text and "host: " not in text and "request IP" not in text:
        return None
    for rx in (_HTTPCLIENT_HOST, _URL_HOST):
        if m := rx.search(text):
            port = m.group(2)
            return m.group(1), int(port) if port else None
    if m := _HOSTBYNAME.search(text):
        return m.group(1), None
    return None


def read_facts(events: Iterable[Event], stack: str | None) -> LogFacts:
    reader = FactReader(stack)
    for e in events:
        reader.feed(e)
    return reader.facts()
