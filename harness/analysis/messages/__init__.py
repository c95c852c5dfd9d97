"""The message catalogue: every error code, error text and debug line the stacks print,
with where it comes from and what it means for the diagnosis (pure data, loaded once).

The `*.toml` files beside this module are written by `scripts/catalogue_from_sources.py`
from the stacks' own sources (esp8266/Arduino tags, igrr/axtls-8266, Mbed-TLS/mbedtls
tags, Debian's BearSSL and mbedTLS headers), except `arduino_esp32.toml`, made by hand from
the arduino-esp32 sources the search tool stores and from lines the cores printed in the
corpus logs. Each entry cites repository, file, tag or commit and line (or, for ESP-IDF
lines, which print no line, the corpus log it was seen in).

`cause` is a cause of harness.model.causes or "none" (the message names no cause by
itself); `confidence` is "log" (the message states the cause), "likely" (the commonest
reading; another cause gives the same message) or "none".
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from harness.model.causes import CAUSES
from harness.model.errors import ConfigError

DIR = Path(__file__).parent
CONFIDENCES = frozenset({"log", "likely", "none"})
KINDS = frozenset(
    {"error_code", "error_text", "debug_line", "alert", "log_line", "verify_info", "http_code"}
)
STACKS = frozenset({"axtls", "bearssl", "mbedtls", "any"})


@dataclass(frozen=True)
class Source:
    repo: str
    path: str
    ref: str
    line: int | None = None
    seen_in: str | None = None


@dataclass(frozen=True)
class Message:
    id: str
    stack: str
    kind: str
    text: str
    meaning: str
    cause: str  # a catalogue cause, or "none"
    confidence: str  # "log", "likely" or "none"
    sources: tuple[Source, ...]
    code: int | None = None
    name: str = ""
    alert: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def names_cause(self) -> bool:
        return self.cause != "none"

    def fields(self) -> dict[str, Any]:
        """The log_error fields a parser puts on an event this message matched."""
        out: dict[str, Any] = {"message_id": self.id}
        if self.names_cause:
            out["cause"] = self.cause
            out["cause_confidence"] = self.confidence
        return out


def _entry(raw: Mapping[str, Any], file: str) -> Message:
    where = f"{file}: {raw.get('id', '?')}"
    for key in ("id", "stack", "kind", "text", "cause", "confidence", "sources"):
        if key not in raw:
            raise ConfigError(f"message catalogue {where} has no {key!r}", fix="regenerate it")
    cause, conf = raw["cause"], raw["confidence"]
    if cause != "none" and cause not in CAUSES:
        raise ConfigError(f"message catalogue {where}: cause {cause!r} is not in the catalogue")
    if conf not in CONFIDENCES or (cause == "none") != (conf == "none"):
        raise ConfigError(
            f"message catalogue {where}: confidence {conf!r} does not fit cause {cause!r}",
            fix="a cause needs 'log' or 'likely'; 'none' goes with no cause",
        )
    if raw["stack"] not in STACKS or raw["kind"] not in KINDS:
        raise ConfigError(f"message catalogue {where}: unknown stack or kind")
    sources = tuple(Source(**s) for s in raw["sources"])
    if not sources or any(s.line is None and s.seen_in is None for s in sources):
        raise ConfigError(
            f"message catalogue {where}: every source needs a line (or the log it was seen in)"
        )
    known = {"id", "stack", "kind", "text", "meaning", "cause", "confidence", "sources"}
    known |= {"code", "name", "alert"}
    return Message(
        id=raw["id"],
        stack=raw["stack"],
        kind=raw["kind"],
        text=raw["text"],
        meaning=raw.get("meaning", ""),
        cause=cause,
        confidence=conf,
        sources=sources,
        code=raw.get("code"),
        name=raw.get("name", ""),
        alert=raw.get("alert"),
        extra={k: v for k, v in raw.items() if k not in known},
    )


class Catalogue:
    """All messages, indexed for the parsers: by id, by (stack, code), by printed text."""

    def __init__(self, messages: Iterable[Message]) -> None:
        self.messages = tuple(messages)
        self.by_id: dict[str, Message] = {}
        for m in self.messages:
            if m.id in self.by_id:
                raise ConfigError(f"message catalogue: id {m.id!r} appears twice")
            self.by_id[m.id] = m

    def __len__(self) -> int:
        return len(self.messages)

    def get(self, message_id: str) -> Message | None:
        return self.by_id.get(message_id)

    def stack(self, stack: str, *kinds: str) -> tuple[Message, ...]:
        return tuple(
            m for m in self.messages if m.stack in (stack, "any") and (not kinds or m.kind in kinds)
        )


@cache
def catalogue() -> Catalogue:
    messages: list[Message] = []
    for path in sorted(DIR.glob("*.toml")):
        try:
            data = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"message catalogue {path.name} is not TOML: {exc}") from None
        messages += [_entry(raw, path.name) for raw in data.get("message", [])]
    return Catalogue(messages)


def format_regex(text: str) -> re.Pattern[str]:
    """A printf format as a regex: %d/%s/%u/%x/%p match what they print, the rest literally."""
    parts = re.split(r"(%0?\d*[dsuxXpc]|%%)", text)
    out = []
    for part in parts:
        if re.fullmatch(r"%0?\d*[du]", part):
            out.append(r"(-?\d+)")
        elif re.fullmatch(r"%0?\d*[xX]", part):
            out.append(r"([0-9a-fA-F]+)")
        elif part in ("%s", "%p", "%c"):
            out.append(r"(.*?)")
        elif part == "%%":
            out.append("%")
        else:
            out.append(re.escape(part))
    return re.compile("".join(out))
