"""Known differences of a twin personality, as machine-readable data (pure).

They live in the personality's FIDELITY file, next to the prose that explains
them, in fenced blocks whose info string is `toml golden-known`:

    ```toml golden-known
    [[known]]
    id = "client_hello.extensions"     # the Difference id it covers
    personality = "esp8266-axtls"
    fidelity = "2"                     # the numbered entry of the file that explains it
    why = "BearSSL orders the extensions its own way"
    expected = "^server_name,signature_algorithms$"   # optional: regex on the golden's value
    got = "renegotiation_info"                         # optional: regex on the run's value
    race = true                                        # optional: a race, seen in some runs only
    ```

A difference one of them covers is reported as known and does not fail; any other
difference fails, so a new one cannot slip in unlisted.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, replace

from harness.analysis.golden.report import Difference, GoldenReport
from harness.model.errors import ConfigError

_BLOCK = re.compile(r"^```toml golden-known[ \t]*\n(.*?)^```", re.M | re.S)
_KEYS = {
    "id": str,
    "personality": str,
    "fidelity": str,
    "why": str,
    "expected": str,
    "got": str,
    "race": bool,
}
_REQUIRED = ("id", "personality", "fidelity", "why")


@dataclass(frozen=True)
class KnownDifference:
    id: str
    personality: str
    fidelity: str
    why: str
    expected: re.Pattern[str] | None = None
    got: re.Pattern[str] | None = None
    # A race (the real board shows it in some runs only): no run need show it, so it is
    # not held to "every known difference still occurs".
    race: bool = False

    def covers(self, d: Difference) -> bool:
        return (
            d.id == self.id
            and (self.expected is None or bool(self.expected.search(d.expected)))
            and (self.got is None or bool(self.got.search(d.got)))
        )

    @property
    def label(self) -> str:
        return f"FIDELITY {self.fidelity}: {self.why}"


def parse_known(markdown: str, source: str) -> tuple[KnownDifference, ...]:
    """Every `toml golden-known` block of `markdown`; `source` names the file in errors."""
    out = []
    for n, block in enumerate(_BLOCK.findall(markdown), 1):
        try:
            data = tomllib.loads(block)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(
                f"{source}: known-differences block {n} is not valid TOML",
                seen=str(exc),
                fix="fix the block's syntax",
            ) from None
        extra = set(data) - {"known"}
        if extra or not isinstance(data.get("known", []), list):
            raise ConfigError(
                f"{source}: known-differences block {n} must hold [[known]] tables only",
                seen=", ".join(sorted(extra)) or repr(data.get("known")),
                fix="write each entry as [[known]] with id, personality, fidelity, why",
            )
        out += [_entry(raw, source, n) for raw in data.get("known", [])]
    return tuple(out)


def _entry(raw: dict[str, object], source: str, block: int) -> KnownDifference:
    where = f"{source}: known-differences block {block}, entry {raw.get('id', '?')!r}"
    for key, value in raw.items():
        if key not in _KEYS:
            raise ConfigError(f"{where}: unknown key {key!r}", fix=f"use only {', '.join(_KEYS)}")
        if not isinstance(value, _KEYS[key]):
            kind = "true or false" if _KEYS[key] is bool else "a string"
            raise ConfigError(f"{where}: {key} must be {kind}", seen=repr(value))
    for key in _REQUIRED:
        if not raw.get(key):
            raise ConfigError(f"{where}: missing {key!r}", fix=f'add {key} = "..."')
    patterns = {}
    for key in ("expected", "got"):
        if key in raw:
            try:
                patterns[key] = re.compile(str(raw[key]))
            except re.error as exc:
                raise ConfigError(
                    f"{where}: {key} is not a regular expression", seen=str(exc)
                ) from None
    return KnownDifference(
        id=str(raw["id"]),
        personality=str(raw["personality"]),
        fidelity=str(raw["fidelity"]),
        why=str(raw["why"]),
        race=bool(raw.get("race", False)),
        **patterns,
    )


def classify(
    report: GoldenReport, known: Iterable[KnownDifference], personality: str
) -> GoldenReport:
    """Mark each difference a known entry of `personality` covers."""
    mine = [k for k in known if k.personality == personality]

    def mark(d: Difference) -> Difference:
        hit = next((k for k in mine if k.covers(d)), None)
        return replace(d, known=hit.label) if hit else d

    return report.with_differences(tuple(mark(d) for d in report.differences))
