"""The diagnosis engine: the rule registry, what rules share, and `diagnose()` (pure).

A rule returns a Finding with the events that prove it, which sources saw it (wire,
log, both), a paragraph for a firmware engineer and concrete fixes, or None. Rules
run in priority order (the earliest cause in a connection's life first); the first
that matches names the cause. The other rules that match too, and any disagreement
between the board's log and the wire, are shown as conflicts, never hidden. A run
that connected has no cause; nothing matching gives `unknown` with what was seen.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from harness.model import Confidence, Diagnosis, Direction, Event, Evidence, Fix, Source, Timeline
from harness.model.causes import CAUSES
from harness.model.suites import suite_name


@dataclass(frozen=True)
class Context:
    """What the run knows besides the events: the board's stack and the server's setup.
    Every field is optional: a log pasted from an issue comes with none of them."""

    stack: str | None = None
    server_suites: tuple[int, ...] | None = None  # what the server accepts, IANA numbers
    server_cipher_string: str | None = None
    server_versions: tuple[int, int] | None = None  # (min, max), e.g. (0x0301, 0x0303)
    cert_not_after: float | None = None  # epoch seconds of the server certificate's notAfter
    cert_names: tuple[str, ...] | None = None  # the leaf's CN and subjectAltNames
    connect_host: str | None = None  # what the sketch connects to
    board_rx_buffer: int | None = None  # bytes of TLS record the board can take
    # The certificates the server sends (leaf, then intermediates): the smallest RSA key's
    # bits (None: no RSA key, or not known) and each one's signature hash, e.g. "sha256".
    chain_min_rsa_bits: int | None = None
    chain_sig_hashes: tuple[str, ...] | None = None
    # The board's traffic was captured: an empty wire then says nothing was sent.
    wire_watched: bool = False


@dataclass(frozen=True)
class Finding:
    cause: str
    explanation: str
    evidence: tuple[Evidence, ...]
    fixes: tuple[Fix, ...]
    from_wire: bool
    from_log: bool
    likely: bool = False  # only ambiguous log evidence: Confidence.LIKELY


Rule = Callable[[Timeline, Context], Finding | None]


@dataclass(frozen=True)
class _Registered:
    priority: int
    cause: str
    fn: Rule


_RULES: dict[str, _Registered] = {}


def rule(cause: str, *, priority: int) -> Callable[[Rule], Rule]:
    """Register a rule; a cause outside the catalogue or registered twice is a bug."""

    def register(fn: Rule) -> Rule:
        if cause not in CAUSES:
            raise ValueError(f"cause {cause!r} is not in the catalogue")
        if cause in _RULES:
            raise ValueError(f"rule for cause {cause!r} registered twice")
        _RULES[cause] = _Registered(priority, cause, fn)
        return fn

    return register


def rules() -> list[tuple[str, Rule]]:
    return [(r.cause, r.fn) for r in sorted(_RULES.values(), key=lambda r: r.priority)]


# -- what rules share -----------------------------------------------------------------------


@dataclass
class Proof:
    """Collects evidence while a rule looks at the sources."""

    evidence: list[Evidence] = field(default_factory=list)
    wire: bool = False
    log: bool = False
    likely: bool = False
    # A catalogued log line whose commonest reading is this cause: alone only the likely
    # reading, but beside wire evidence of the same cause it is the log agreeing (the
    # wire settles what the line leaves open), so the finding counts the log too.
    log_agrees: bool = False

    def add(self, claim: str, *events: Event) -> None:
        self.evidence.append(Evidence(claim, tuple(events)))

    def catalogued(self, tl: Timeline, cause: str) -> None:
        """Log lines the message catalogue maps to `cause`: 'log' ones prove it, 'likely' ones
        (a code other causes share too) only make it the likely reading."""
        for e in catalogued(tl, cause):
            said = e.fields.get("message") or e.text.strip()
            if e.fields.get("cause_confidence") == "log":
                if not self.log:
                    self.add(f"The board's log says: {said}", e)
                self.log = True
            elif not (self.log or self.likely):
                self.likely = self.log_agrees = True
                self.add(
                    f"The board's log says: {said} -- the commonest reading of this message; "
                    "other causes print it too",
                    e,
                )

    def finding(self, cause: str, explanation: str, fixes: Iterable[Fix]) -> Finding | None:
        if not (self.wire or self.log or self.likely):
            return None
        return Finding(
            cause,
            explanation,
            tuple(self.evidence),
            tuple(fixes),
            self.wire,
            self.log or (self.wire and self.log_agrees),
            likely=self.likely and not (self.wire or self.log),
        )


def suites_text(ids: Iterable[int]) -> str:
    return ", ".join(suite_name(s) for s in ids)


def after(events: tuple[Event, ...], start: Event) -> tuple[Event, ...]:
    return events[events.index(start) + 1 :]


def alert_text(e: Event) -> str:
    name = e.fields.get("name") or "?"
    level = {1: "warning", 2: "fatal"}.get(e.fields.get("level", 0), "")
    return f"{level} {name} ({e.fields.get('description')})".strip()


def wire_alerts(tl: Timeline, direction: Direction, *descriptions: int) -> tuple[Event, ...]:
    return tuple(
        e
        for e in tl.of("alert", source=Source.WIRE)
        if e.direction is direction and e.fields.get("description") in descriptions
    )


def log_alerts(tl: Timeline, direction: Direction, *descriptions: int) -> tuple[Event, ...]:
    """Alerts the board's log shows: axTLS `Alert:` lines, or a stack's error naming one."""
    key = "alert_received" if direction is Direction.S2C else "alert_sent"
    found = [
        e
        for e in tl.of("log_alert", source=Source.SERIAL)
        if e.direction is direction and e.fields.get("description") in descriptions
    ]
    found += [e for e in tl.of("log_error") if e.fields.get(key) in descriptions]
    return tuple(sorted(found, key=lambda e: e.t))


def log_errors(tl: Timeline, **match: object) -> tuple[Event, ...]:
    """log_error events whose fields equal every `match` item (a tuple value: any of)."""

    def ok(e: Event) -> bool:
        for key, want in match.items():
            got = e.fields.get(key)
            if isinstance(want, tuple | frozenset | set):
                if got not in want:
                    return False
            elif got != want:
                return False
        return True

    return tuple(e for e in tl.of("log_error") if ok(e))


def catalogued(tl: Timeline, cause: str) -> tuple[Event, ...]:
    """Serial events a parser tagged, from the message catalogue, with `cause`."""
    return tuple(
        e for e in tl.events if e.source is Source.SERIAL and e.fields.get("cause") == cause
    )


def core_version(tl: Timeline) -> tuple[int, ...] | None:
    """The ESP8266 core version the board's boot banner names (`SDK:.../Core:2.4.1/...`)."""
    for e in tl.of("log_boot", source=Source.SERIAL):
        core = str(e.fields.get("core") or "")
        if m := re.search(r"(\d+)\.(\d+)\.?(\d*)", core):
            return tuple(int(g) for g in m.groups() if g)
    return None


def log_text(tl: Timeline, *needles: str) -> tuple[Event, ...]:
    """Serial lines containing any of `needles` (case-insensitive): for messages no
    parser gives a field to."""
    lowered = tuple(n.lower() for n in needles)
    return tuple(
        e
        for e in tl.events
        if e.source is Source.SERIAL and any(n in e.text.lower() for n in lowered)
    )


def wire_hellos(tl: Timeline) -> tuple[Event, ...]:
    return tl.of("client_hello", source=Source.WIRE)


# -- the verdict on the whole timeline ------------------------------------------------------


# Log lines a stack prints once the handshake is through (BearSSL `BSSL:Connected!`,
# mbedTLS `Certificate verified.`), as parsed into log_state steps.
_CONNECTED_STEPS = frozenset({"connected", "verified"})


def connected(tl: Timeline) -> bool | None:
    """Did the board connect? The sketch's final word, else the wire, else the stack's
    log; None if nothing says."""
    finals = [e for e in tl.of("connect_result") if e.fields.get("final")]
    if finals:
        return bool(finals[-1].fields.get("connected"))
    if tl.of("app_data", source=Source.WIRE):
        return True
    if tl.of("connect_result"):
        return False
    if tl.of("client_hello", source=Source.WIRE):
        return False
    if tl.of("log_cipher") or any(
        e.fields.get("step") in _CONNECTED_STEPS for e in tl.of("log_state")
    ):
        return True
    return None


def _confidence(wire: bool, log: bool, likely: bool = False) -> Confidence:
    if wire and log:
        return Confidence.WIRE_AND_LOG
    if wire:
        return Confidence.WIRE
    if log:
        return Confidence.LOG
    if likely:
        return Confidence.LIKELY
    return Confidence.NONE


def _source_conflicts(tl: Timeline) -> list[Evidence]:
    """Where the board's own word and the wire disagree, and crashes no cause explains."""
    out = []
    crashes = tl.of("log_exception", "log_reset")
    if crashes:
        out.append(
            Evidence(
                f"The board crashed or reset ({crashes[0].text.strip() or crashes[0].kind}): "
                "read the stack dump; TLS may not be the whole story",
                crashes[:3],
            )
        )
    finals = [e for e in tl.of("connect_result") if e.fields.get("final")]
    data = tl.of("app_data", source=Source.WIRE)
    if finals and Source.WIRE in tl.sources:
        said = bool(finals[-1].fields.get("connected"))
        if said and not data:
            out.append(
                Evidence(
                    "The board says it connected, but the capture shows no application data",
                    (finals[-1],),
                )
            )
        if not said and data:
            out.append(
                Evidence(
                    "The board says it did not connect, but the capture shows application data",
                    (finals[-1], data[0]),
                )
            )
    return out


def diagnose(tl: Timeline, ctx: Context | None = None) -> Diagnosis:
    ctx = ctx or Context()
    is_connected = connected(tl)
    finals = [e for e in tl.of("connect_result") if e.fields.get("final")]
    chain_ok = bool(finals and finals[-1].fields.get("verified"))
    conflicts = _source_conflicts(tl)
    findings: list[Finding] = []
    if not (is_connected and chain_ok):
        findings = [f for _, fn in rules() if (f := fn(tl, ctx)) is not None]
    if findings:
        # A cause the evidence states beats one that is only the likely reading of a
        # message, whatever their order in a connection's life.
        strong = [f for f in findings if f.from_wire or f.from_log]
        first = strong[0] if strong else findings[0]
        conflicts += [
            Evidence(f"Rule {other.cause} matches too: {other.evidence[0].claim}", ())
            for other in findings
            if other is not first and other.evidence
        ]
        return Diagnosis(
            cause=first.cause,
            confidence=_confidence(first.from_wire, first.from_log, first.likely),
            explanation=first.explanation,
            evidence=first.evidence,
            fixes=first.fixes,
            connected=bool(is_connected),
            conflicts=tuple(conflicts),
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
            confidence=_confidence(
                bool(hello or tl.of("app_data", source=Source.WIRE)),
                bool(finals or tl.of("log_state", "log_cipher", source=Source.SERIAL)),
            ),
            explanation=f"The board connected{how}{checked}. Nothing to diagnose.",
            evidence=evidence,
            connected=True,
            conflicts=tuple(conflicts),
        )
    seen = ", ".join(sorted({e.kind for e in tl.events})) or "no events at all"
    return Diagnosis(
        cause="unknown",
        confidence=Confidence.NONE,
        explanation="No rule of the catalogue matches what was seen; the evidence is shown "
        "as it is, not guessed at.",
        evidence=(Evidence(f"seen: {seen}", tl.events[-20:]),),
        connected=bool(is_connected),
        conflicts=tuple(conflicts),
    )
