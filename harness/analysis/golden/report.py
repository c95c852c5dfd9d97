"""The result of a golden comparison as data, and its table (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class Difference:
    id: str  # stable key, e.g. "client_hello.extensions", "tcp.flags", "serial.changed"
    what: str  # one line a person reads
    where: str  # "connection 1, client record 0 (client_hello)", "serial line 12"
    expected: str  # the golden's value, masked
    got: str  # the run's value, masked
    masking: str = ""  # the masks applied to this item, with their reasons
    known: str = ""  # the known-differences entry that covers it, if any

    def to_json(self) -> dict[str, str]:
        return {
            "id": self.id,
            "what": self.what,
            "where": self.where,
            "expected": self.expected,
            "got": self.got,
            "masking": self.masking,
            "known": self.known,
        }


@dataclass(frozen=True)
class GoldenReport:
    golden: str  # the golden's directory (or name)
    run: str  # the run's directory
    differences: tuple[Difference, ...]
    compared: dict[str, int] = field(default_factory=dict)  # what -> how many were compared
    notes: tuple[str, ...] = ()

    @property
    def failing(self) -> tuple[Difference, ...]:
        return tuple(d for d in self.differences if not d.known)

    @property
    def matches(self) -> bool:
        return not self.failing

    def with_differences(self, differences: tuple[Difference, ...]) -> GoldenReport:
        return replace(self, differences=differences)

    def to_json(self) -> dict[str, Any]:
        return {
            "golden": self.golden,
            "run": self.run,
            "matches": self.matches,
            "failing": len(self.failing),
            "known": len(self.differences) - len(self.failing),
            "compared": dict(self.compared),
            "notes": list(self.notes),
            "differences": [d.to_json() for d in self.differences],
        }


def _escaped(text: str) -> str:
    return text.replace("\n", "\\n").replace("\t", "\\t")


def _cell(text: str, width: int) -> str:
    text = _escaped(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def _detail(label: str, value: str) -> list[str]:
    """A long value in full, one line per line of it, indented under its label."""
    first, *rest = value.split("\n")
    return [f"    {label + ':':<9} {first}"] + [f"    {'':<9} {line}" for line in rest]


def render_table(report: GoldenReport, width: int = 56) -> str:
    """The differences as a table: status, id, where, expected, got; then the masks."""
    compared = ", ".join(f"{n} {what}" for what, n in report.compared.items())
    lines = [f"golden: {report.golden}", f"run:    {report.run}", f"compared: {compared}"]
    lines += [f"note: {n}" for n in report.notes]
    if not report.differences:
        lines.append("no differences")
    else:
        rows = [("status", "id", "where", "expected", "got")] + [
            (
                "known" if d.known else "DIFF",
                d.id,
                d.where,
                _cell(d.expected, width),
                _cell(d.got, width),
            )
            for d in report.differences
        ]
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        for r in rows:
            lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
        for d in report.differences:
            if max(len(_escaped(d.expected)), len(_escaped(d.got))) > width:
                lines.append(f"  {d.id} at {d.where}:")
                lines += _detail("expected", d.expected) + _detail("got", d.got)
        masks = sorted({d.masking for d in report.differences if d.masking})
        lines += [f"masked: {m}" for m in masks]
        lines += [f"known:  {d.id}: {d.known}" for d in report.differences if d.known]
    verdict = "MATCH" if report.matches else f"MISMATCH: {len(report.failing)} difference(s)"
    known = len(report.differences) - len(report.failing)
    lines.append(verdict + (f" ({known} known)" if known else ""))
    return "\n".join(lines)
