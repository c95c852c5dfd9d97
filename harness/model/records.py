"""The harness's vocabulary as plain data (layer 1 of DESIGN.md): no I/O here.

Everything that flows between the layers is one of these frozen dataclasses, so
analysis can be fed from files pasted into an issue as easily as from a live run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any


class Source(StrEnum):
    WIRE = "wire"
    SERIAL = "serial"
    SERVER = "server"


class Direction(StrEnum):
    C2S = "client->server"
    S2C = "server->client"


@dataclass(frozen=True)
class Event:
    """One timestamped fact from one source.

    `t` is wall-clock seconds (`time.time()`), the clock pcap timestamps use, so
    events of different sources sort together. `fields` holds the kind's facts
    (offered suites, alert description, error code, ...), JSON-serialisable.
    """

    t: float
    source: Source
    kind: str
    direction: Direction | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)
    text: str = ""  # the serial/server line as seen, or a one-line summary of a packet
    stream: int | None = None  # TCP stream index for wire events

    def to_json(self) -> dict[str, Any]:
        return {
            "t": self.t,
            "source": str(self.source),
            "kind": self.kind,
            "direction": str(self.direction) if self.direction else None,
            "fields": dict(self.fields),
            "text": self.text,
        }


@dataclass(frozen=True)
class Attempt:
    """One connection attempt: a TCP stream on the wire and the log lines around it."""

    index: int
    start: float
    end: float
    events: tuple[Event, ...]


@dataclass(frozen=True)
class Timeline:
    events: tuple[Event, ...]
    attempts: tuple[Attempt, ...] = ()
    serial_shift: float = 0.0  # the most seconds a serial stamp was moved back (causality)

    def of(self, *kinds: str, source: Source | None = None) -> tuple[Event, ...]:
        return tuple(
            e for e in self.events if e.kind in kinds and (source is None or e.source == source)
        )

    def first(self, kind: str, source: Source | None = None) -> Event | None:
        found = self.of(kind, source=source)
        return found[0] if found else None

    @property
    def sources(self) -> frozenset[Source]:
        return frozenset(e.source for e in self.events)


class Confidence(StrEnum):
    WIRE_AND_LOG = "wire and log"
    WIRE = "wire only"
    LOG = "log only"
    # The log names the cause only as the commonest reading of an ambiguous message (a code
    # several causes share) or of the core's era when the log has no TLS line at all.
    LIKELY = "likely"
    NONE = "none"


@dataclass(frozen=True)
class Evidence:
    claim: str
    events: tuple[Event, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"claim": self.claim, "events": [e.to_json() for e in self.events]}


@dataclass(frozen=True)
class Fix:
    where: str  # "server", "sketch", "core", "certificate"
    text: str
    detail: str = ""  # a config line or a call, ready to paste

    def to_json(self) -> dict[str, str]:
        return {"where": self.where, "text": self.text, "detail": self.detail}


@dataclass(frozen=True)
class Diagnosis:
    """A cause from the fixed catalogue (or None: the run connected, or `unknown`)."""

    cause: str | None
    confidence: Confidence
    explanation: str
    evidence: tuple[Evidence, ...] = ()
    fixes: tuple[Fix, ...] = ()
    connected: bool = False
    conflicts: tuple[Evidence, ...] = ()  # what disagrees with the cause: shown, not hidden

    def to_json(self) -> dict[str, Any]:
        return {
            "cause": self.cause,
            "confidence": str(self.confidence),
            "explanation": self.explanation,
            "evidence": [e.to_json() for e in self.evidence],
            "fixes": [f.to_json() for f in self.fixes],
            "conflicts": [e.to_json() for e in self.conflicts],
        }


@dataclass(frozen=True)
class Expectation:
    connected: bool
    cause: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"connected": self.connected, "cause": self.cause}


class Outcome(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    expected: Expectation
    observed: Expectation
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": str(self.outcome),
            "expected": self.expected.to_json(),
            "observed": self.observed.to_json(),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Scenario:
    """What one run tries: sketch x board x server profile x cert plan x expectation."""

    name: str
    description: str
    sketch: str  # folder name under sketches/
    board: str  # board name, e.g. "twin-esp8266-axtls"
    profile: str  # server profile name
    expectation: Expectation
    cert_plan: str | None = None  # certificate plan name; None: the profile's
    backend: str = "builtin"
    defines: Mapping[str, str] = field(default_factory=dict)  # extra sketch config macros
    # The name a harness sketch dials (HIL_SERVER_HOST) and the certificate is issued
    # for; the twin maps it to the bench address. None: the bench address itself.
    server_name: str | None = None
    group: str = "founding report"  # one of SCENARIO_GROUPS, for `hil run --list`
    source: str = ""  # the public report it reproduces
    quote: str = ""  # a short quote from that report
    # Expected outcome per core release id ("esp8266-2.4.2"): a regression is the same
    # scenario with a different expectation on another core. Empty: `expectation` only.
    by_core: Mapping[str, Expectation] = field(default_factory=dict)

    @property
    def cores(self) -> tuple[str, ...]:
        """The core release ids this scenario names, in the file's order."""
        return tuple(self.by_core)

    def on_core(self, core_id: str, board: str) -> Scenario:
        """This scenario on `board` (the twin or a real board of `core_id`), expecting
        what the scenario expects of that core; named `<name>@<core_id>`."""
        return replace(
            self,
            name=f"{self.name}@{core_id}",
            board=board,
            expectation=self.by_core.get(core_id, self.expectation),
        )


SCENARIO_GROUPS = ("founding report", "regressions", "profiles")


@dataclass(frozen=True)
class RunRecord:
    """Everything one run produced; reporters are functions over this."""

    scenario: Scenario
    run_dir: Path
    timeline: Timeline
    diagnosis: Diagnosis
    verdict: Verdict
    durations: Mapping[str, float] = field(default_factory=dict)  # stage -> seconds
    # Where it ran, for a bench board: bench_board, port, core (empty for a twin).
    board_info: Mapping[str, str] = field(default_factory=dict)
